"""Sobol convergence by doubling n, and second-order indices, on the Ishigami function
(whose indices are known in closed form)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.sensitivity import ISHIGAMI, evaluate_ishigami, ishigami_indices
from analysis.sobol_convergence import converge, second_order


def test_doubling_stops_once_the_indices_settle_and_they_settle_on_the_truth():
    calls = []

    def evaluate(x):
        calls.append(len(x))
        return evaluate_ishigami(x)

    res = converge(ISHIGAMI, evaluate, n0=64, n_max=2 ** 14, tol=0.05, seed=3)
    assert res.converged
    h = res.history
    assert list(h["n"]) == [64 * 2 ** i for i in range(len(h))]      # n doubles
    assert calls == list(h["runs"]) == [n * (3 + 2) for n in h["n"]]
    assert np.isnan(h["max_change"].iloc[0]) and h["max_change"].iloc[-1] < 0.05
    assert (h["max_change"].iloc[1:-1] >= 0.05).all()                  # stops at the first
    s1, st = ishigami_indices()
    final = res.final.indices.set_index("parameter")
    assert np.allclose(final["S1"].to_numpy(), s1, atol=0.1)
    assert np.allclose(final["ST"].to_numpy(), st, atol=0.1)
    assert set(res.indices()["n"]) == set(h["n"])


def test_without_convergence_it_stops_at_n_max_and_says_so():
    res = converge(ISHIGAMI, evaluate_ishigami, n0=4, n_max=16, tol=1e-6, seed=0)
    assert list(res.history["n"]) == [4, 8, 16] and not res.converged


def test_the_change_over_years_is_one_table():
    def evaluate(x):  # the same outcome "at two years": the second amplifies x2
        y = evaluate_ishigami(x)["ishigami"].to_numpy()
        return pd.DataFrame({"y@2027": y, "y@2035": y + 20 * np.sin(x[:, 1])})

    res = converge(ISHIGAMI, evaluate, n0=256, n_max=4096, seed=1)
    idx = res.final.indices.set_index(["output", "parameter"])
    assert idx.loc[("y@2035", "x2"), "S1"] > idx.loc[("y@2027", "x2"), "S1"] + 0.2


def test_second_order_finds_the_one_interaction():
    # Ishigami's only interaction is x1 x3: S13 = V13 / V (0.2437 for a=7, b=0.1)
    pi = math.pi
    v13 = 0.1 ** 2 * pi ** 8 * (1 / 18 - 1 / 50)
    var = 0.5 * (1 + 0.1 * pi ** 4 / 5) ** 2 + 49 / 8 + v13
    s2 = second_order(ISHIGAMI, evaluate_ishigami, 2048, seed=2).set_index(
        ["parameter_1", "parameter_2"])["S2"]
    assert len(s2) == 3
    assert s2[("x1", "x3")] == pytest.approx(v13 / var, abs=0.08)
    assert abs(s2[("x1", "x2")]) < 0.08 and abs(s2[("x2", "x3")]) < 0.08


@pytest.mark.parametrize("kwargs, message", [({"n0": 1, "n_max": 8}, "n0 must be"),
                                             ({"n0": 16, "n_max": 8}, "n_max .* >= n0"),
                                             ({"n0": 4, "n_max": 8, "tol": 0}, "tol")])
def test_bad_sizes_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        converge(ISHIGAMI, evaluate_ishigami, **kwargs)


@pytest.mark.slow
def test_the_study_runs_the_model_through_cached_rows_sweeps(tmp_path, monkeypatch):
    import json

    from analysis import estimate as est
    from analysis import sobol_study
    from analysis.experiments import Options

    tiny = {"parameters": ["demand.elasticity", "open_source.lag_months"], "years": [2025],
            "tol": 0.05, "sample_seed": 1, "second_order_top": 2, "size": "small",
            "months": 13, "n0": 2, "n_max": 4, "n_second": 2}
    monkeypatch.setattr(est, "preset", lambda name, experiment: dict(tiny))
    options = Options(cache_dir=tmp_path / "cache", verbose=False)
    st = sobol_study.run(options, "small")
    assert list(st.convergence.history["n"]) == [2, 4]
    assert st.outputs == [f"{o}@2025" for o in sobol_study.oc.HEADLINE]
    assert sorted(st.top) == sorted(tiny["parameters"]) and len(st.s2) == 6  # 1 pair x 6
    assert [e.expected_runs for e in st.experiments] == [2 * 4, 4 * 4, 2 * 6]
    figures = sobol_study.write(st, tmp_path / "out")
    assert [f["id"] for f in figures] == ["convergence", "by_year", "second_order"]
    assert json.loads((tmp_path / "out" / "figures.json").read_text())["figures"]
    # a second study reuses every run
    again = sobol_study.run(options, "small")
    assert [e.key for e in again.experiments] == [e.key for e in st.experiments]
    pd.testing.assert_frame_equal(again.s2, st.s2)
