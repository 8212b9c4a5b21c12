"""End to end: build every figure at small size from a real sweep, twice, byte for byte."""

from __future__ import annotations

import hashlib
import json

import pytest

from analysis.figures import FIGURES

from .conftest import REPO, run_module

SCENARIOS = "baseline,open_weights_surge,export_controls,sovereign_cloud"
SMALL = ("--size", "small", "--seeds", "2", "--months", "24", "--scenarios", SCENARIOS,
         "--sobol-n", "4", "--draws", "2")
MIN_BYTES = 5 * 1024


def _digests(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.mark.slow
def test_every_figure_is_built_and_a_second_build_is_byte_identical(tmp_path):
    cache, first, second = tmp_path / "cache", tmp_path / "first", tmp_path / "second"
    proc = run_module("analysis.figures", *SMALL, "--launcher", "joblib", "--jobs", "2",
                      "--cache", str(cache), "--out", str(first), cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]

    stems = [f.stem for f in FIGURES]
    assert len([f for f in FIGURES if isinstance(f.id, int)]) == 10
    for stem in stems:
        png, pdf = first / f"{stem}.png", first / f"{stem}.pdf"
        assert png.stat().st_size > MIN_BYTES, png
        assert pdf.stat().st_size > MIN_BYTES, pdf
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        head = pdf.read_bytes()
        assert head[:5] == b"%PDF-" and b"CreationDate" not in head

    manifest = json.loads((first / "figures.json").read_text())
    records = {str(r["id"]): r for r in manifest["figures"]}
    assert set(records) == {str(f.id) for f in FIGURES}
    for record in manifest["figures"]:
        for meta in record["files"].values():
            data = (first / meta["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == meta["sha256"]
        assert record["seeds"] == ([0] if record["experiment"] == "sobol" else [0, 1])
        assert record["experiment"] in ("sobol", "scenario_draws")
        unc = record["uncertainty"]
        if record["experiment"] == "sobol":
            assert "plausible ranges" in unc["covers"] and unc["draws"] == 0
        else:  # every scenario figure: 2 posterior draws x 2 seeds, the file's hash
            assert unc["covers"] == "posterior draws x seeds"
            assert (unc["draws"], unc["seeds"], unc["runs_per_scenario"]) == (2, 2, 4)
            assert unc["posterior"]["sha256"] == hashlib.sha256(
                (REPO / "abm/calibration/posterior.parquet").read_bytes()).hexdigest()
            assert unc["band_drawn"] == (record["name"] not in (
                "fig04_access", "fig08_scenario_changes"))
            assert {r["draw"] for r in record["runs"]} == set(
                unc["posterior"]["draws_used"])
        assert record["config"] == f"conf/experiment/{record['experiment']}.yaml"
        assert record["runs"], record["name"]
        for run in record["runs"]:  # every run behind a figure is a complete run in the cache
            manifest_path = cache / run["run"] / "manifest.json"
            assert json.loads(manifest_path.read_text())["config_hash"] == run["config_hash"]
    assert len(records["1"]["runs"]) == 16                 # 4 scenarios x 2 draws x 2 seeds
    assert records["3"]["scenarios"] == ["baseline", "open_weights_surge", "export_controls"]
    assert records["10"]["scenarios"] == ["baseline", "sovereign_cloud"]
    assert len(records["9"]["runs"]) == 4 * (len(records["9"]["notes"]["indices"]
                                                 ["hhi_revenue"]) + 2)
    assert str(tmp_path) not in (first / "figures.json").read_text()  # no absolute paths

    # second build: cached runs, another directory, a fresh process -> identical bytes
    proc2 = run_module("analysis.figures", *SMALL, "--cache", str(cache), "--out",
                       str(second), "--overview", str(tmp_path / "overview.png"),
                       cwd=REPO, timeout=600)
    assert proc2.returncode == 0, proc2.stderr[-4000:]
    assert "reusing" in proc2.stderr and "running" not in proc2.stderr
    assert _digests(first) == _digests(second)
    assert (tmp_path / "overview.png").read_bytes() == (first / "overview.png").read_bytes()
