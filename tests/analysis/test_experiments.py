"""Experiments: resolving options, hashing, caching and the loading API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import experiments
from analysis.experiments import ExperimentError, Options, prepare, run_experiment
from analysis.figures import lorenz_points
from analysis.loading import final_months, load_sweep, mean_ci, scenario_summary


def test_the_default_options_are_the_full_experiments(tmp_path):
    exp = prepare("scenarios", Options(cache_dir=tmp_path))
    assert exp.spec["size"] == "default" and exp.spec["months"] == 132
    assert exp.seeds == tuple(range(10))
    assert len(exp.scenarios) == 10 and exp.expected_runs == 100
    sobol = prepare("sobol", Options(cache_dir=tmp_path))
    k = len(sobol.sobol["parameters"])
    assert k >= 6 and sobol.sobol["n"] == 128 and sobol.expected_runs == 128 * (k + 2)
    assert {"hhi_revenue", "rent_share", "gini_access"} == set(sobol.sobol["outputs"])


def test_options_change_the_hash_and_the_directory(tmp_path):
    small = prepare("scenarios", Options(size="small", months=6, seeds=2, cache_dir=tmp_path))
    assert small.seeds == (0, 1)
    assert small.directory.parent == tmp_path.resolve()
    assert small.directory.name == f"scenarios-{small.hash[:12]}"
    assert "seed=0,1" in small.overrides and "size=small" in small.overrides
    again = prepare("scenarios", Options(size="small", months=6, seeds=2, cache_dir=tmp_path,
                                         launcher="joblib", jobs=2))
    assert again.hash == small.hash  # the launcher does not change results
    longer = prepare("scenarios", Options(size="small", months=7, seeds=2, cache_dir=tmp_path))
    assert longer.hash != small.hash


def test_a_code_change_changes_the_hash(tmp_path, monkeypatch):
    before = prepare("scenarios", Options(size="small", months=6, cache_dir=tmp_path))
    monkeypatch.setattr(experiments, "code_hash", lambda: "0" * 64)
    after = prepare("scenarios", Options(size="small", months=6, cache_dir=tmp_path))
    assert after.hash != before.hash and after.directory != before.directory


def test_the_code_hash_covers_the_model_and_the_run_configs():
    files = [rel for rel, _ in experiments._code_files()]
    assert "abm/model.py" in files and "abm/calibration/parameters.csv" in files
    assert "conf/scenario/baseline.yaml" in files and "conf/size/small.yaml" in files
    assert not any(f.startswith("conf/experiment/") for f in files)  # hashed per experiment


@pytest.mark.parametrize("kwargs, message", [
    ({"size": "huge"}, "size must be"),
    ({"seeds": 0}, "seeds must be"),
    ({"launcher": "mpi"}, "launcher must be"),
])
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(ExperimentError, match=message):
        Options(**kwargs)


def test_unknown_experiments_and_scenarios_are_refused(tmp_path):
    with pytest.raises(ExperimentError, match="no experiment 'nope'"):
        prepare("nope", Options(cache_dir=tmp_path))
    with pytest.raises(ExperimentError, match="unknown scenario"):
        prepare("scenarios", Options(scenarios=("atlantis",), cache_dir=tmp_path))


@pytest.mark.slow
def test_a_finished_experiment_is_reused_without_running(small_sweep, monkeypatch):
    exp, options = small_sweep
    assert exp.is_complete()
    assert len(exp.runs()) == 4

    def boom(*args, **kwargs):
        raise AssertionError("the cached experiment was run again")

    monkeypatch.setattr(experiments.subprocess, "run", boom)
    again = run_experiment("scenarios", options)
    assert again.directory == exp.directory


@pytest.mark.slow
def test_load_sweep_gives_tidy_tables_with_the_run_identity(small_sweep):
    exp, _ = small_sweep
    world = load_sweep(exp.directory)
    assert world["run_id"].nunique() == 4
    assert set(world["scenario"]) == {"baseline", "sovereign_cloud"}
    assert world.groupby("run_id")["month"].nunique().eq(3).all()
    nations = load_sweep(exp.directory, "nations")
    assert list(nations.columns[:3]) == ["run_id", "scenario", "seed"]
    assert nations.groupby("run_id")["nation"].nunique().eq(5).all()
    assert nations["seed"].dtype == np.int64
    providers = load_sweep(exp.directory, "providers")
    assert {"provider", "revenue", "scenario", "seed"} <= set(providers.columns)
    with pytest.raises(ValueError, match="table must be"):
        load_sweep(exp.directory, "people")


@pytest.mark.slow
def test_scenario_summary_compares_final_years_with_baseline(small_sweep):
    exp, _ = small_sweep
    world = load_sweep(exp.directory)
    summary = scenario_summary(world, ["rent_share", "gini_access"], months=2)
    base = summary[summary["scenario"] == "baseline"]
    assert (base["change_pct"] == 0).all() and (base["n"] == 2).all()
    last = final_months(world, 2)
    expected = last[last["scenario"] == "sovereign_cloud"].groupby("seed")["rent_share"].mean()
    got = summary[(summary["scenario"] == "sovereign_cloud")
                  & (summary["metric"] == "rent_share")]
    assert got["mean"].item() == pytest.approx(expected.mean())
    assert (summary["lo"] <= summary["mean"]).all() and (summary["mean"] <= summary["hi"]).all()


def test_mean_ci_is_a_student_t_interval():
    df = pd.DataFrame({"g": ["a"] * 4 + ["b"], "v": [1.0, 2.0, 3.0, 4.0, 5.0]})
    out = mean_ci(df, "g", "v").set_index("g")
    half = 3.182446305284263 * np.std([1, 2, 3, 4], ddof=1) / 2  # t(0.975, 3)
    assert out.loc["a", "mean"] == 2.5
    assert out.loc["a", "hi"] - out.loc["a", "mean"] == pytest.approx(half)
    assert out.loc["b", "lo"] == out.loc["b", "hi"] == 5.0  # one seed: no interval


def test_lorenz_points_and_gini():
    x, y, gini = lorenz_points(np.array([3.0, 1.0]), np.array([1.0, 1.0]))
    np.testing.assert_allclose(x, [0, 0.5, 1])
    np.testing.assert_allclose(y, [0, 0.25, 1])
    assert gini == pytest.approx(0.25)
    assert lorenz_points(np.ones(4), np.arange(1.0, 5.0))[2] == pytest.approx(0.0)
