"""analysis.estimate and analysis.discover end to end on the real model at a toy setting
(a handful of small runs per stage, through the same code as the presets), and their
checks of bad settings."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis import estimate as est
from analysis.experiments import ExperimentError, Options

# Toy settings: Morris over 3 parameters (r = 2: 8 runs), a 6-point design over 2
# parameters, the estimate and 2 posterior draws at 1 seed through March 2026.
TINY = {
    "morris": {"parameters": ["demand.elasticity", "open_source.lag_months",
                              "supply.software_efficiency_growth"],
               "levels": 4, "sample_seed": 1, "size": "small", "months": 13, "r": 2},
    "estimate": {"moments": ["open_weight_share", "h100_rental", "inference_share"],
                 "held_out": ["h100_rental_2026_03"],
                 "parameters": ["open_source.lag_months", "demand.elasticity"],
                 "design_seed": 3, "size": "small", "points": 6, "seeds": 1,
                 "mcmc": {"seed": 0, "steps": 120, "burn": 60, "draws": 40}},
    "posterior": {"size": "small", "months": 15, "draws": 2, "seeds": 1},
    "discover": {"parameters": ["open_source.lag_months", "demand.elasticity"],
                 "design_seed": 1, "min_coverage": 0.5, "peel_alpha": 0.1, "mass_min": 0.1,
                 "size": "small", "months": 72, "points": 8},
}


def _tiny(name: str, experiment: str) -> dict:
    """Stands in for :func:`analysis.estimate.preset` (the real presets are checked in
    test_presets_are_complete)."""
    return json.loads(json.dumps(TINY[experiment]))


@pytest.mark.slow
def test_estimate_runs_end_to_end_writes_its_contract_files_and_resumes(tmp_path,
                                                                        monkeypatch):
    monkeypatch.setattr(est, "preset", _tiny)
    options = Options(cache_dir=tmp_path / "cache", verbose=False)
    packaged = (est.CALIBRATION_DIR / "estimated.csv").read_bytes()
    # the small preset's estimates go beside its report, never over the packaged ones
    rep = est.run(options, "small", tmp_path / "out")
    calib = tmp_path / "out" / "calibration"
    assert (est.CALIBRATION_DIR / "estimated.csv").read_bytes() == packaged

    table = pd.read_csv(calib / "estimated.csv")
    assert list(table.columns) == list(est.ESTIMATED_COLUMNS)
    assert list(table["parameter"]) == TINY["estimate"]["parameters"]
    assert (table["low"] <= table["estimate"]).all() and (table["estimate"]
                                                          <= table["high"]).all()
    assert set(table["moments"]) == {";".join(TINY["estimate"]["moments"])}
    post = pd.read_parquet(calib / "posterior.parquet")
    assert list(post.columns) == ["draw", *TINY["estimate"]["parameters"]]
    assert len(post) == TINY["estimate"]["mcmc"]["draws"]

    # the report: fit moment by moment, identification, the hindcast with its interval
    text = est.format_report(rep)
    for m in [*TINY["estimate"]["moments"], "h100_rental_2026_03"]:
        assert m in text
    pred = rep.predictive.set_index("moment")
    assert not pred.loc["h100_rental_2026_03", "used_in_fit"]
    assert pred.loc["h100_rental_2026_03", "low"] <= pred.loc["h100_rental_2026_03", "high"]
    assert list(rep.fit.result.identification.columns) == TINY["estimate"]["parameters"]
    assert list(rep.fit.result.identification.index) == TINY["estimate"]["moments"]

    manifest = json.loads((tmp_path / "out" / "figures.json").read_text())
    ids = [f["id"] for f in manifest["figures"]]
    assert ids == ["morris", "posterior", "identification", "fit", "bands"]
    bands = manifest["figures"][4]["notes"]
    assert (bands["draws"], bands["seeds"]) == (2, 1)  # says which bands, how many draws
    ranked = manifest["figures"][0]["notes"]["ranked"]
    assert sorted(r["parameter"] for r in ranked) == sorted(TINY["morris"]["parameters"])
    assert [r["rank"] for r in ranked] == [1, 2, 3]
    assert str(tmp_path) not in (tmp_path / "out" / "figures.json").read_text()

    # a second run reuses every cached run and writes the same bytes
    before = {p.name: p.read_bytes() for p in calib.iterdir()}
    est.run(options, "small", tmp_path / "out2", calib)
    assert {p.name: p.read_bytes() for p in calib.iterdir()} == before
    assert (tmp_path / "out" / "estimate.json").read_bytes() == \
        (tmp_path / "out2" / "estimate.json").read_bytes()


@pytest.mark.slow
def test_discover_finds_boxes_or_says_why_and_writes_a_figure_each(tmp_path, monkeypatch):
    from analysis import discover
    from analysis import outcomes as oc

    monkeypatch.setattr(est, "preset", _tiny)
    options = Options(cache_dir=tmp_path / "cache", verbose=False)
    d = discover.run(options, "small")
    figures = discover.write(d, tmp_path / "out")
    assert len(d.inputs) == TINY["discover"]["points"]
    assert list(d.inputs.columns) == TINY["discover"]["parameters"]
    assert set(d.boxes) == set(oc.CONDITIONS)
    for name in oc.CONDITIONS:  # every run reaches 2030: every condition is decided
        assert np.isfinite(d.outcomes[oc.CONDITIONS[name][0]]).all(), name
    assert [f["id"] for f in figures] == list(oc.CONDITIONS)
    for f in figures:
        assert (tmp_path / "out" / f["files"]["png"]["file"]).stat().st_size > 1000
    text = discover.format_report(d)
    assert all(name in text for name in oc.CONDITIONS)


def test_presets_are_complete():
    for experiment, keys in {"morris": ("size", "months", "r"),
                             "estimate": ("size", "points", "seeds", "moments", "held_out"),
                             "posterior": ("size", "months", "draws", "seeds"),
                             "discover": ("size", "months", "points")}.items():
        for name in est.PRESETS:
            s = est.preset(name, experiment)
            assert all(k in s for k in keys), (experiment, name)
    full = est.preset("full", "discover")
    assert full["points"] >= 1000  # the Latin hypercube of at least 1,000 runs
    s = est.preset("full", "estimate")
    est.check_moments(s["moments"], s["held_out"], est.targets_table())


def test_bad_settings_are_refused_before_any_run():
    table = est.targets_table()
    with pytest.raises(ExperimentError, match="preset must be one of full, small"):
        est.preset("huge", "estimate")
    with pytest.raises(ExperimentError, match=r"'inference_share_change' .* is not a 2024-2025"):
        est.check_moments(["inference_share_change"], [], table)
    with pytest.raises(ExperimentError, match="both fitted and held out"):
        est.check_moments(["h100_rental"], ["h100_rental"], table)
    with pytest.raises(ExperimentError, match=r"comes from holdout\.csv"):
        est.check_moments(["h100_rental_2026_03"], [], table)
    with pytest.raises(ExperimentError, match="'nope' is in no targets table"):
        est.check_moments(["nope"], [], table)


def test_a_rows_experiment_is_keyed_by_its_rows_not_by_its_settings_or_comments(
        tmp_path, monkeypatch):
    from analysis import experiments as ex

    text = ("# @package _global_\n# a comment\ndefaults:\n  - override /hydra/sweeper: "
            "abm_sobol\nmonths: 13\nhydra:\n  sweeper:\n    samples: null\n    settings:\n"
            "      presets: {small: {points: 4}}\n")
    path = tmp_path / "rowsexp.yaml"
    monkeypatch.setattr(ex, "experiment_file", lambda name: path)
    options = Options(cache_dir=tmp_path / "cache", verbose=False)

    def key(rows, body=None):
        path.write_text(body or text)
        return ex.prepare_rows("rowsexp", options, ["demand.elasticity", "seed"], rows,
                               [False, True]).hash

    rows = [[0.1, 0], [0.2, 1]]
    base = key(rows)
    assert key(rows, text.replace("points: 4", "points: 8")) == base     # settings
    assert key(rows, text.replace("# a comment", "# another")) == base   # comments
    assert key([[0.1, 0], [0.3, 1]]) != base                             # rows
    assert key(rows, text.replace("months: 13", "months: 14")) != base   # the runs' config
    with pytest.raises(ExperimentError, match="no rows to run"):
        key([])
    path.write_text("months: 13\n")
    with pytest.raises(ExperimentError, match="selects the abm_sobol sweeper"):
        ex.prepare_rows("rowsexp", options, ["seed"], [[0]])


def test_new_estimates_change_no_run_hash(tmp_path, monkeypatch):
    """estimated.csv sits beside the calibration tables but is no table: rewriting it keeps
    every run's config hash and every experiment's code hash."""
    from abm import calibration as cal
    from abm.calibration import sources
    from analysis import experiments as ex

    assert "estimated.csv" not in sources.packaged_tables()
    assert "estimated.csv" not in sources.fingerprint()["tables"]
    assert not any(name.endswith("estimated.csv") for name, _ in ex._code_files())
    with pytest.raises(sources.DataDirError, match="not a calibration table"):
        (tmp_path / "estimated.csv").write_text("parameter\n")
        cal.clear_cache()
        sources.data_files(tmp_path)


@pytest.mark.parametrize("module, command", [("analysis.estimate", "sklearn"),
                                             ("analysis.discover", "ema_workbench")])
def test_a_study_without_its_extras_is_refused_before_any_run(module, command, monkeypatch,
                                                              capsys):
    """Without the `estimate` extras the study stops at once, naming what is missing and how
    to install it (they are imported only at the fit / PRIM stage, minutes in)."""
    import importlib
    import importlib.util

    missing = command
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == missing else real(name, *a))
    study = importlib.import_module(module)
    ran = []
    monkeypatch.setattr(study, "run", lambda *a, **k: ran.append(a))
    assert study.main(["--quiet"]) == 2
    assert ran == []
    err = capsys.readouterr().err
    assert missing in err and "make setup-estimate" in err



def test_a_moment_and_a_headline_outcome_of_one_name_stay_apart(monkeypatch):
    """``open_weight_share`` is both the 2025 validation moment and a headline outcome over
    the final 12 months: one run's record keeps both (the horizon value once replaced the
    2025 moment in the screening, the fit and the report), and a clash is refused."""
    from abm.config import RunConfig, validate
    from abm.run import run
    from analysis import outcomes as oc

    cfg = RunConfig()
    cfg.months = 36  # 2025-2027
    cfg.size.name = "small"
    tables = run(validate(cfg)).tables
    g = tables["global"]
    share = {y: float(g.loc[g["year"] == y, "open_weight_share"].mean())
             for y in (2025, 2026, 2027)}
    assert len({round(v, 6) for v in share.values()}) == 3  # the years differ
    record = oc.all_outcomes(tables, years=[2026])
    assert "open_weight_share" in oc.HEADLINE
    assert record["open_weight_share"] == pytest.approx(share[2025], rel=1e-12)
    assert record[f"open_weight_share@{oc.FINAL}"] == pytest.approx(share[2027], rel=1e-12)
    assert record["open_weight_share@2026"] == pytest.approx(share[2026], rel=1e-12)
    monkeypatch.setattr(oc, "conditions", lambda t: {"open_weight_share": 1.0})
    with pytest.raises(ValueError, match="defined twice"):
        oc.all_outcomes(tables)
