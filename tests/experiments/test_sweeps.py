"""Multiruns with the joblib launcher, resuming a killed sweep, and the collector."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from abm.collect import collect, horizon
from abm.collect import main as collect_main

from .conftest import SMALL, abm_env, complete_manifests, manifest, run_abm

JOBLIB = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
pytestmark = pytest.mark.slow  # real sweeps of the model in subprocesses


def test_joblib_multirun_gives_four_complete_runs_and_a_summary(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    proc = run_abm("--multirun", "scenario=baseline,open_weights_surge", "seed=0,1", *SMALL,
                   *JOBLIB, f"hydra.sweep.dir={sweep}", cwd=tmp_path, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = complete_manifests(sweep)
    assert len(runs) == 4
    assert {(manifest(r)["scenario"], manifest(r)["seed"]) for r in runs} == {
        ("baseline", 0), ("baseline", 1), ("open_weights_surge", 0), ("open_weights_surge", 1)}
    assert "[4/4] done" in proc.stderr  # sweep-level progress lines

    summary = collect(sweep)
    assert summary["run_id"].nunique() == 4
    assert (summary["status"] == "complete").all()
    assert {"run_id", "scenario", "seed", "status", "month"} <= set(summary.columns)
    assert summary.groupby("run_id")["month"].nunique().eq(6).all()
    assert len(horizon(summary)) == 4

    # the joblib workers' tables equal those of a plain single run of the same config
    single = tmp_path / "single"
    alone = run_abm("scenario=baseline", "seed=1", *SMALL, f"hydra.run.dir={single}",
                    cwd=tmp_path)
    assert alone.returncode == 0, alone.stderr
    swept = sweep / "months=6,scenario=baseline,seed=1,size=small"
    for name in ("global.parquet", "nations.parquet", "providers.parquet", "markets.parquet"):
        assert (swept / name).read_bytes() == (single / name).read_bytes(), name

    assert collect_main([str(sweep)]) == 0
    assert "4 complete, 0 failed" in capsys.readouterr().out
    on_disk = pd.read_parquet(sweep / "summary.parquet")
    assert on_disk["run_id"].nunique() == 4


def _wait_for(predicate, timeout: float, poll: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(poll)
    return False


def test_a_killed_sweep_resumes_without_redoing_complete_runs(tmp_path):
    sweep = tmp_path / "sweep"
    args = [sys.executable, "-m", "abm", "--multirun", "scenario=baseline,closed_frontier",
            "seed=0,1,2", *SMALL, "hydra/launcher=joblib", "hydra.launcher.n_jobs=1",
            f"hydra.sweep.dir={sweep}"]
    proc = subprocess.Popen(args, cwd=tmp_path, env=abm_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        started = _wait_for(lambda: len(complete_manifests(sweep)) >= 2, timeout=120)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher and its joblib workers
        proc.wait(timeout=30)
    assert started, "the sweep never completed a run"
    done_before = complete_manifests(sweep)
    assert 2 <= len(done_before) < 6, "the sweep finished before it could be killed"
    stamps = {d: (d / "manifest.json").stat().st_mtime_ns for d in done_before}

    killed = collect(sweep)  # the collector copes with a half-finished sweep
    statuses = killed.drop_duplicates("run_id")["status"]
    assert (statuses == "complete").sum() == len(done_before)

    again = run_abm(*args[3:], cwd=tmp_path, timeout=180)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(complete_manifests(sweep)) == 6
    assert again.stderr.count("skipping complete run") == len(done_before)
    for run_dir, stamp in stamps.items():
        assert (run_dir / "manifest.json").stat().st_mtime_ns == stamp, run_dir
    summary = collect(sweep)
    assert summary["run_id"].nunique() == 6 and (summary["status"] == "complete").all()


def test_basic_launcher_sweep_and_a_failed_run_in_the_collector(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_abm("-m", "seed=0", "months=2", "size=small", f"hydra.sweep.dir={sweep}",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (sweep / "months=2,seed=0,size=small" / "manifest.json").is_file()
    bad = sweep / "months=2,seed=1,size=small"
    bad.mkdir()
    (bad / "manifest.json").write_text(
        '{"status": "failed", "error": "RuntimeError: boom", "scenario": "baseline", '
        '"seed": 1, "overrides": ["seed=1", "months=2", "size=small"]}')
    summary = collect(sweep)
    runs = summary.drop_duplicates("run_id").set_index("run_id")
    assert runs.loc["months=2,seed=1,size=small", "status"] == "failed"
    assert "boom" in runs.loc["months=2,seed=1,size=small", "error"]
    assert runs.loc["months=2,seed=0,size=small", "status"] == "complete"
    failed_rows = summary[summary["status"] == "failed"]
    assert len(failed_rows) == 1 and failed_rows["month"].isna().all()
    assert int(failed_rows["seed"].iloc[0]) == 1
    assert (summary.loc[summary["status"] == "complete", "months"] == 2).all()
