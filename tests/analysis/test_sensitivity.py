"""The Sobol code path, checked on the Ishigami function before it is trusted on the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abm.config import parameter_table
from analysis.sensitivity import (
    ISHIGAMI,
    Problem,
    analyze,
    evaluate_ishigami,
    ishigami_indices,
    rows_per_sample,
    saltelli_sample,
    sobol_indices,
)

# published values for a = 7, b = 0.1 (e.g. Saltelli et al. 2008; SALib's docs)
S1_KNOWN = [0.3139, 0.4424, 0.0]
ST_KNOWN = [0.5576, 0.4424, 0.2437]


def test_analytic_ishigami_indices_match_the_published_values():
    s1, st = ishigami_indices()
    np.testing.assert_allclose(s1, S1_KNOWN, atol=5e-4)
    np.testing.assert_allclose(st, ST_KNOWN, atol=5e-4)


def test_sobol_indices_recover_ishigami_through_the_model_code_path():
    """sobol_indices is what analysis.experiments.run_sobol calls for the model."""
    result = sobol_indices(ISHIGAMI, evaluate_ishigami, n=4096, seed=3)
    idx = result.indices
    assert list(idx["parameter"]) == ["x1", "x2", "x3"]
    assert len(result.samples) == 4096 * rows_per_sample(ISHIGAMI)
    np.testing.assert_allclose(idx["S1"], S1_KNOWN, atol=0.05)
    np.testing.assert_allclose(idx["ST"], ST_KNOWN, atol=0.05)
    # the bootstrap intervals are tight and cover the truth
    assert (idx["S1_conf"] < 0.05).all() and (idx["ST_conf"] < 0.05).all()
    assert (np.abs(idx["ST"] - ST_KNOWN) <= idx["ST_conf"] + 0.01).all()
    # ordering that a reader would take from the figure
    assert idx["ST"].iloc[0] > idx["ST"].iloc[1] > idx["ST"].iloc[2]


def test_the_same_seed_gives_the_same_indices_and_samples():
    a = sobol_indices(ISHIGAMI, evaluate_ishigami, n=256, seed=11)
    b = sobol_indices(ISHIGAMI, evaluate_ishigami, n=256, seed=11)
    np.testing.assert_array_equal(a.samples, b.samples)
    pd.testing.assert_frame_equal(a.indices, b.indices)


def test_problem_from_parameters_uses_the_plausible_ranges_and_rounds_integers():
    problem = Problem.from_parameters(["demand.elasticity", "supply.build_lead_months"])
    table = parameter_table().set_index(["group", "name"])
    expected = tuple((float(table.loc[key, "low"]), float(table.loc[key, "high"]))
                     for key in (("demand", "elasticity"), ("supply", "build_lead_months")))
    assert problem.bounds == expected
    assert problem.integer == (False, True)
    x = saltelli_sample(problem, 8, seed=0)
    assert x.shape == (8 * 4, 2)
    low, high = expected[0]
    assert np.all((x[:, 0] >= low) & (x[:, 0] <= high))
    assert np.all(x[:, 1] == np.rint(x[:, 1])) and np.all((x[:, 1] >= 12) & (x[:, 1] <= 24))


@pytest.mark.parametrize("keys, message", [
    (["demand.nope"], "not a parameter"),
    (["open_source.enabled"], "cannot be sampled"),
    (["energy.price_shock_month"], "no plausible range"),
])
def test_problem_from_parameters_rejects_what_cannot_be_sampled(keys, message):
    with pytest.raises(ValueError, match=message):
        Problem.from_parameters(keys)


def test_analyze_refuses_an_incomplete_evaluation_and_handles_constant_outputs():
    x = saltelli_sample(ISHIGAMI, 16, seed=0)
    y = pd.DataFrame({"y": evaluate_ishigami(x)["ishigami"], "flat": 1.0})
    with pytest.raises(ValueError, match="multiple of"):
        analyze(ISHIGAMI, y.iloc[:-1], seed=0)
    out = analyze(ISHIGAMI, y, seed=0)
    flat = out[out["output"] == "flat"]
    assert (flat[["S1", "ST"]] == 0).all().all()
