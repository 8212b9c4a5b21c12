"""Figure bands over posterior draws x seeds (issue 10, item 4): which draws, which runs,
what the band covers, the checks before any run, and the cache."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from analysis import bands as bd
from analysis import experiments as ex
from analysis import figures
from analysis.experiments import ExperimentError, Options
from analysis.loading import quarterly
from analysis.sobol_sweeper import read_samples

PARAMS = ["open_source.lag_months", "demand.income_elasticity"]


def _posterior(path, n=10, shuffle=True):
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"draw": np.arange(n), PARAMS[0]: 3.0 + np.arange(n) / n,
                       PARAMS[1]: 0.5 + rng.uniform(0, 0.3, n)})
    if shuffle:
        df = df.iloc[rng.permutation(n)]
    df.to_parquet(path, index=False)
    return path


def test_the_draws_are_evenly_spaced_through_the_chain_and_the_same_every_time(tmp_path):
    post = bd.read_posterior(_posterior(tmp_path / "p.parquet"))
    assert list(post.draws["draw"]) == list(range(10))        # sorted by draw
    picked = bd.select_draws(post, 3)
    assert list(picked["draw"]) == [1, 5, 8]                   # floor((i + 1/2) 10 / 3)
    assert picked.equals(bd.select_draws(bd.read_posterior(tmp_path / "p.parquet"), 3))
    assert list(bd.select_draws(post, 10)["draw"]) == list(range(10))
    assert list(bd.select_draws(post, 1)["draw"]) == [5]
    assert post.sha256 == hashlib.sha256((tmp_path / "p.parquet").read_bytes()).hexdigest()
    # the packaged posterior: 1,000 draws, the default K = 10 takes 50, 150, ..., 950
    packaged = bd.read_posterior()
    assert list(bd.select_draws(packaged, bd.default_draws())["draw"]) == list(
        range(50, 1000, 100))


@pytest.mark.parametrize("k, message", [
    (-1, "--draws must be >= 0"), (11, "--draws must be between 0 and 10"),
    (2.5, "--draws must be a whole number")])
def test_a_bad_number_of_draws_names_the_option_and_the_allowed_values(tmp_path, k, message):
    post = bd.read_posterior(_posterior(tmp_path / "p.parquet"))
    with pytest.raises(ExperimentError, match=message) as err:
        bd.select_draws(post, k)
    if k == 11:
        assert "p.parquet" in str(err.value)


def _bad_files(tmp_path):
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1 not really a parquet file")
    no_draw = tmp_path / "no_draw.parquet"
    pd.DataFrame({PARAMS[0]: [3.0]}).to_parquet(no_draw)
    unknown = tmp_path / "unknown.parquet"
    pd.DataFrame({"draw": [0], "demand.no_such_thing": [1.0]}).to_parquet(unknown)
    nan = tmp_path / "nan.parquet"
    pd.DataFrame({"draw": [0, 1], PARAMS[0]: [3.0, np.nan]}).to_parquet(nan)
    outside = tmp_path / "outside.parquet"  # open_source.lag_months: plausible 3-22
    pd.DataFrame({"draw": [0, 1], PARAMS[0]: [3.0, 40.0]}).to_parquet(outside)
    huge = tmp_path / "huge.parquet"  # ids beyond int64 would all cast to one id
    pd.DataFrame({"draw": [1e20, 2e20], PARAMS[0]: [3.0, 4.0]}).to_parquet(huge)
    text = tmp_path / "text.parquet"
    pd.DataFrame({"draw": [0, 1], PARAMS[0]: ["3", "4"]}).to_parquet(text)
    flags = tmp_path / "flags.parquet"
    pd.DataFrame({"draw": [0, 1], PARAMS[0]: [True, False]}).to_parquet(flags)
    return [(tmp_path / "missing.parquet", "does not exist"),
            (corrupt, "not a readable Parquet file"), (no_draw, "no 'draw' column"),
            (unknown, "not a parameter"), (nan, "row 1"),
            (outside, r"row 1: 40.0 lies outside its plausible range \[3, 22\]"),
            (huge, "magnitude at most 2"), (text, "holds (object|str) values"),
            (flags, "holds bool values")]


def test_a_missing_or_damaged_posterior_file_is_named(tmp_path):
    for path, message in _bad_files(tmp_path):
        with pytest.raises(ExperimentError, match=message) as err:
            bd.read_posterior(path)
        assert str(path) in str(err.value)


def test_bad_draws_or_posterior_stop_the_build_before_any_run(tmp_path, monkeypatch, capsys):
    def ran(*args, **kwargs):
        raise AssertionError("a sweep started")

    for name in ("ensure", "run_rows", "run_sobol"):
        monkeypatch.setattr(ex, name, ran)
    common = ["--size", "small", "--months", "3", "--seeds", "1", "--cache",
              str(tmp_path / "cache"), "--out", str(tmp_path / "out"), "--quiet"]
    cases = [(["--draws", "-1"], "--draws must be >= 0"),
             (["--draws", "1001"], "--draws must be between 0 and 1000"),
             (["--draws", "2", "--posterior", str(tmp_path / "missing.parquet")],
              "missing.parquet does not exist"),
             (["--draws", "0", "--posterior", str(tmp_path / "any.parquet")],
              "with --draws 0 the figures use no posterior")]
    for args, message in cases:
        assert figures.main([*common, *args]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_sweep_is_scenarios_x_draws_x_seeds_and_scenarios_keep_their_settings(tmp_path):
    post = bd.read_posterior(_posterior(tmp_path / "p.parquet"))
    options = Options(size="small", months=3, seeds=2, cache_dir=tmp_path / "cache",
                      scenarios=("baseline", "open_weights_surge"), verbose=False)
    exp, plan, band = bd.prepare(options, 3, post)
    assert exp.name == "scenario_draws" and exp.expected_runs == 2 * 3 * 2 == len(plan)
    assert plan.groupby(["scenario", "draw", "seed"]).size().eq(1).all()
    assert sorted(plan["draw"].unique()) == [1, 5, 8]
    assert (band.covers, band.draws, band.seeds, band.runs) == (
        "posterior draws x seeds", 3, 2, 6)
    assert band.posterior["fixed_by_scenario"] == {"open_weights_surge": [PARAMS[0]]}
    path = tmp_path / "samples.csv"
    path.write_bytes(exp.samples)
    names, rows = read_samples(path)
    assert names == ["scenario", *PARAMS, "seed"]
    table = pd.DataFrame([v for _, v in rows], columns=names)
    drawn = post.draws.set_index("draw")
    for (_, want), (_, got) in zip(plan.iterrows(), table.iterrows(), strict=True):
        assert got["scenario"] == want["scenario"] and int(got["seed"]) == want["seed"]
        assert float(got[PARAMS[1]]) == drawn.loc[want["draw"], PARAMS[1]]
        lag = 2.0 if want["scenario"] == "open_weights_surge" else drawn.loc[want["draw"],
                                                                            PARAMS[0]]
        assert float(got[PARAMS[0]]) == lag   # the scenario's own lag wins over the draw
    # the rows, hence the cache key, follow the posterior file
    other = bd.read_posterior(_posterior(tmp_path / "q.parquet", n=12))
    assert bd.prepare(options, 3, other)[0].hash != exp.hash


def test_the_band_is_a_student_t_interval_over_seeds_or_a_range_over_draws_x_seeds():
    df = pd.DataFrame({"g": ["a"] * 5, "v": [1.0, 2.0, 3.0, 4.0, 10.0]})
    seeds = bd.Band(draws=0, seeds=5).stats(df, "g", "v").iloc[0]
    post = bd.Band(draws=5, seeds=1).stats(df, "g", "v").iloc[0]
    assert seeds["mean"] == post["mean"] == 4.0 and post["n"] == 5
    assert np.isclose(post["lo"], np.quantile(df["v"], 0.025))
    assert np.isclose(post["hi"], np.quantile(df["v"], 0.975))
    assert seeds["lo"] < 1.0 and post["lo"] > 1.0   # a CI of the mean is another thing
    assert bd.Band(draws=0, seeds=5).record()["covers"] == "seeds"


@pytest.mark.slow
def test_figures_band_over_draws_x_seeds_records_it_and_reuse_the_cache(tmp_path, capsys):
    cache = tmp_path / "cache"
    options = Options(size="small", months=12, seeds=1, cache_dir=cache,
                      scenarios=("baseline", "open_weights_surge"), verbose=True)
    only = [1, 7, 3]
    seeds_only = figures.build(options, tmp_path / "k0", only, draws=0)
    first = figures.build(options, tmp_path / "first", only, draws=2)
    capsys.readouterr()
    second = figures.build(options, tmp_path / "second", only, draws=2)
    err = capsys.readouterr().err
    assert "reusing 4 cached runs" in err and "running" not in err

    for name in ("figures.json", "fig01_concentration.png", "fig07_inference_share.pdf"):
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" /
                                                            name).read_bytes()
    assert first == second
    rec = {r["id"]: r for r in first["figures"]}
    assert {r["id"]: r for r in seeds_only["figures"]}[1]["uncertainty"]["covers"] == "seeds"
    for fid in only:
        unc = rec[fid]["uncertainty"]
        assert unc["covers"] == "posterior draws x seeds" and unc["draws"] == 2
        assert unc["seeds"] == 1 and unc["time_series"] == (fid != 3)
        assert len(rec[fid]["runs"]) == 2 * 2 * 1   # scenarios x draws x seeds
    assert first["options"]["draws"] == 2

    # the sweep behind them: scenarios x draws x seeds, and its band spans the draws
    exp, plan, band = bd.plan_for(options, 2)
    assert exp.is_complete() and len(plan) == exp.expected_runs == 4
    world = bd.load(exp, plan, options)[0]
    assert world.groupby(["scenario", "draw", "seed"])["run_id"].nunique().eq(1).all()
    grid = bd.plan_for(options, 0)[0]
    base = bd.load(grid, None, options)[0]
    widths = {}
    for metric in ("hhi_revenue", "open_weight_share", "rent_share"):
        post = band.stats(quarterly(world, [metric], by=figures.RUN_KEYS),
                          ["scenario", "t"], metric)
        alone = bd.Band(0, 1).stats(quarterly(base, [metric], by=figures.RUN_KEYS),
                                    ["scenario", "t"], metric)
        assert (post["hi"] - post["lo"] >= alone["hi"] - alone["lo"] - 1e-12).all()
        widths[metric] = float((post["hi"] - post["lo"]).max())
    assert widths["hhi_revenue"] > 0.0   # the draws move concentration: the band shows it
    manifest = json.loads((tmp_path / "first" / "figures.json").read_text())
    assert manifest["figures"][0]["uncertainty"]["posterior"]["draws_used"] == [250, 750]
