"""Morris screening (analysis.screening) on a test function whose influential inputs are
known, and over the model's parameter table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import screening
from analysis.screening import TOY, morris_screening, ranged_parameters, ranking, toy
from analysis.sensitivity import Problem


def test_morris_ranks_the_toy_inputs_in_their_known_order():
    res = morris_screening(TOY, toy, r=20, seed=1)
    y1 = res.indices[res.indices["output"] == "y1"].set_index("parameter")
    # a is linear with slope 10 over its range: every elementary effect is exactly 10
    assert y1.loc["a", "mu_star"] == pytest.approx(10.0)
    assert y1.loc["a", "sigma"] == pytest.approx(0.0, abs=1e-9)
    assert y1.loc["a", "mu_star"] > y1.loc["b", "mu_star"] > y1.loc["c", "mu_star"] > 0
    assert y1.loc["b", "sigma"] > 0  # quadratic: effects depend on where they are taken
    assert y1.loc["d", "mu_star"] == 0 and y1.loc["e", "mu_star"] == 0
    y2 = res.indices[res.indices["output"] == "y2"].set_index("parameter")
    assert y2.loc["e", "mu_star"] == pytest.approx(3.0)
    assert (y2.drop("e")["mu_star"] == 0).all()
    rank = res.ranking()
    assert list(rank["parameter"][:2]) == ["a", "e"]  # each tops one output
    assert rank.set_index("parameter").loc["d", "score"] == 0
    assert list(ranking(res.indices, ["y1"])["parameter"][:3]) == ["a", "b", "c"]


def test_the_design_has_r_trajectories_of_k_plus_1_runs_and_is_seeded():
    x = screening.morris_sample(TOY, 4, seed=3)
    assert x.shape == (4 * (TOY.num_vars + 1), TOY.num_vars)
    assert np.array_equal(x, screening.morris_sample(TOY, 4, seed=3))
    assert not np.array_equal(x, screening.morris_sample(TOY, 4, seed=4))


def test_integer_parameters_are_rounded_for_the_runs_only():
    p = Problem(("n", "x"), ((0.0, 10.0), (0.0, 1.0)), (True, False))
    x = screening.morris_sample(p, 3, seed=0)
    run = screening.run_values(p, x)
    assert np.all(run[:, 0] == np.rint(run[:, 0])) and np.array_equal(run[:, 1], x[:, 1])


@pytest.mark.parametrize("kwargs, message", [({"r": 1}, "r \\(Morris trajectories\\)"),
                                             ({"r": 4, "levels": 3}, "even integer")])
def test_bad_designs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        screening.morris_sample(TOY, **kwargs)


def test_a_non_finite_output_is_named():
    x = screening.morris_sample(TOY, 2, seed=0)
    y = pd.DataFrame({"ok": np.arange(len(x), dtype=float), "bad": np.nan})
    with pytest.raises(ValueError, match="'bad' is not finite"):
        screening.analyze(TOY, x, y)
    with pytest.warns(UserWarning, match="left out: bad"):
        res = morris_screening(TOY, lambda rows: y, r=2, seed=0)
    assert set(res.indices["output"]) == {"ok"}


def test_every_parameter_with_a_range_is_screened():
    from abm.config import parameter_table

    keys = ranged_parameters()
    table = parameter_table()
    numeric = table[table["type"].isin(["float", "int"]) & table["low"].notna()
                    & table["high"].notna() & (table["low"] < table["high"])]
    assert keys == [f"{g}.{n}" for g, n in zip(numeric["group"], numeric["name"],
                                                strict=True)]
    assert len(keys) > 50 and "demand.elasticity" in keys
    Problem.from_parameters(keys)  # every one of them can be sampled
