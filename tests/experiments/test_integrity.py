"""Issue 9, kind 5: sweep directories, file integrity, collection, one writer per directory."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.app import subdir_name
from abm.collect import collect, write_summary
from abm.collect import main as collect_main
from abm.config import RunConfig, validate
from abm.outputs import (
    OUTPUT_FILES,
    RunDirBusy,
    execute,
    read_manifest,
    verify_run,
    write_manifest,
)
from abm.run import RunResult

from .conftest import abm_env, manifest


def fake_run(cfg, progress=None) -> RunResult:
    """A stand-in for the model: small deterministic tables (no simulation)."""
    months = np.arange(cfg.months)
    rng = np.random.default_rng(cfg.seed)
    tables = {
        "global": pd.DataFrame({"month": months, "hhi_revenue": rng.uniform(0, 1e4, cfg.months),
                                "price_usd_mtok": rng.uniform(0, 10, cfg.months)}),
        "nations": pd.DataFrame({"month": months, "nation": "A"}),
        "providers": pd.DataFrame({"month": months, "provider": "P"}),
        "markets": pd.DataFrame({"month": months, "market": "M"}),
    }
    return RunResult(tables=tables, config={})


def make_sweep(root, elasticities=(0.8, 0.9, 1.1)) -> list:
    dirs = []
    for i, e in enumerate(elasticities):
        cfg = RunConfig()
        cfg.months, cfg.seed = 12, i
        cfg.demand.elasticity = e
        run_dir = root / f"demand.elasticity={e},seed={i}"
        execute(validate(cfg), run_dir, [f"demand.elasticity={e}", f"seed={i}"],
                run_fn=fake_run)
        dirs.append(run_dir)
    return dirs


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    make_sweep(root)
    return root


# ----------------------------------------------------------------------------- integrity


@pytest.mark.slow
def test_every_same_size_byte_flip_in_any_file_is_collected_as_corrupt(sweep, tmp_path):
    """200 random one-byte flips (the issue's experiment): never collected as complete with
    changed values, never a crash of the whole collection."""
    flip_experiment(sweep, tmp_path, 200, seed=2025)


def test_byte_flips_are_collected_as_corrupt(sweep, tmp_path):
    """The same experiment, 25 flips (for make test-fast)."""
    flip_experiment(sweep, tmp_path, 25, seed=9)


def flip_experiment(sweep, tmp_path, flips: int, seed: int) -> None:
    import shutil

    work = tmp_path / "sweep"
    shutil.copytree(sweep, work)
    runs = sorted(p.parent for p in work.rglob("manifest.json"))
    rng = np.random.default_rng(seed)
    for _ in range(flips):
        run_dir = runs[int(rng.integers(len(runs)))]
        name = OUTPUT_FILES[int(rng.integers(len(OUTPUT_FILES)))]
        path = run_dir / name
        data = bytearray(path.read_bytes())
        pos = int(rng.integers(len(data)))
        old = data[pos]
        data[pos] = (old + int(rng.integers(1, 256))) % 256
        path.write_bytes(bytes(data))
        try:
            summary = collect(work)
            statuses = summary.drop_duplicates("run_id").set_index("run_id")["status"]
            flipped = run_dir.relative_to(work).as_posix()
            assert statuses[flipped] == "corrupt"
            assert (statuses.drop(flipped) == "complete").all()
            assert name in summary.set_index("run_id").loc[[flipped], "error"].iloc[0]
            assert summary[summary["status"] == "corrupt"]["month"].isna().all()
        finally:
            data[pos] = old
            path.write_bytes(bytes(data))
    assert (collect(work).drop_duplicates("run_id")["status"] == "complete").all()


def test_a_corrupt_manifest_never_crashes_the_collection(sweep, tmp_path):
    import shutil

    work = tmp_path / "sweep"
    shutil.copytree(sweep, work)
    path = sorted(work.rglob("manifest.json"))[0]
    original = path.read_bytes()
    rng = np.random.default_rng(7)
    for _ in range(50):
        data = bytearray(original)
        pos = int(rng.integers(len(data)))
        data[pos] = (data[pos] + int(rng.integers(1, 256))) % 256
        path.write_bytes(bytes(data))
        summary = collect(work)  # must not raise
        assert summary["run_id"].nunique() == 3
    path.write_bytes(original)


def test_verify_run_names_the_file(sweep, tmp_path):
    import shutil

    work = tmp_path / "one"
    run = sorted(sweep.iterdir())[0]
    shutil.copytree(run, work)
    assert verify_run(work) == ("complete", "")
    (work / "config.yaml").write_text((work / "config.yaml").read_text().replace("0.8", "0.9"))
    assert verify_run(work) == ("corrupt", "config.yaml does not match its sha256 in the "
                                           "manifest")
    (work / "nations.parquet").unlink()
    assert verify_run(work)[0] == "incomplete"


def test_collect_main_reports_corrupt_runs(sweep, tmp_path, capsys):
    import shutil

    work = tmp_path / "sweep"
    shutil.copytree(sweep, work)
    path = sorted(work.rglob("global.parquet"))[0]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert collect_main([str(work)]) == 0
    assert "2 complete, 0 failed, 1 corrupt" in capsys.readouterr().out


# ----------------------------------------------------------------------------- typed columns


def test_a_killed_run_keeps_numeric_override_columns_numeric(sweep, tmp_path):
    import shutil

    work = tmp_path / "sweep"
    shutil.copytree(sweep, work)
    killed = work / "demand.elasticity=1.2,seed=9"
    write_manifest(killed, {"status": "running", "seed": 9, "scenario": "baseline",
                            "overrides": ["demand.elasticity=1.2", "seed=9", "months=12",
                                          "open_source.enabled=false"]})
    failed = work / "demand.elasticity=2,seed=8"
    write_manifest(failed, {"status": "failed", "seed": 8, "error": "boom",
                            "overrides": ["demand.elasticity=2", "seed=8"]})
    summary = collect(work)
    runs = summary.drop_duplicates("run_id").set_index("run_id")
    assert runs.loc["demand.elasticity=1.2,seed=9", "demand.elasticity"] == 1.2
    assert runs.loc["demand.elasticity=2,seed=8", "demand.elasticity"] == 2
    write_summary(summary, tmp_path / "summary.parquet")
    back = pd.read_parquet(tmp_path / "summary.parquet")
    assert back["demand.elasticity"].dtype == np.float64
    assert sorted(back.drop_duplicates("run_id")["demand.elasticity"]) == [0.8, 0.9, 1.1,
                                                                           1.2, 2.0]
    assert back["open_source.enabled"].dtype == "boolean"


def test_mixed_kinds_still_become_strings(tmp_path):
    frame = pd.DataFrame({"run_id": ["a", "b"], "x": [1, "one"]})
    write_summary(frame, tmp_path / "s.parquet")
    assert pd.read_parquet(tmp_path / "s.parquet")["x"].tolist() == ["1", "one"]


# ----------------------------------------------------------------------------- subdirectories


def test_subdir_names_are_injective_on_the_issue_example():
    assert subdir_name("scenario.name=a/b") != subdir_name("scenario.name=a_b")
    assert subdir_name("data_dir=/d/a/b") == "data_dir=%2Fd%2Fa%2Fb"
    assert subdir_name("x=a%2Fb") != subdir_name("x=a/b")
    assert subdir_name("scenario=baseline,seed=0") == "scenario=baseline,seed=0"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab/_%2F\0.="), max_size=200),
       st.text(alphabet=st.sampled_from("ab/_%2F\0.="), max_size=200))
def test_subdir_names_are_injective(a, b):
    name = subdir_name(a)
    assert "/" not in name and "\0" not in name and name not in (".", "..")
    assert len(name) <= 120
    if a != b:
        assert subdir_name(a) != subdir_name(b)


def test_a_sweep_over_paths_gets_one_directory_per_value(tmp_path):
    from omegaconf import OmegaConf

    from abm.preflight import PreflightError, preflight

    for name in ("a", "a_b", "a/b"):
        (tmp_path / name).mkdir(parents=True, exist_ok=True)
    args = [f"data_dir={tmp_path}/a/b,{tmp_path}/a_b", "size=small", "months=1",
            f"hydra.sweep.dir={tmp_path}/sweep"]
    assert preflight(args, True).total == 2  # two distinct subdirectories
    # the naming the issue found ('/' -> '_') maps both to one directory: refused
    OmegaConf.register_new_resolver("abm_subdir", lambda s: s.replace("/", "_"), replace=True)
    try:
        with pytest.raises(PreflightError, match="would write to the same directory"):
            preflight(args, True)
    finally:
        OmegaConf.register_new_resolver("abm_subdir", subdir_name, replace=True)


# ----------------------------------------------------------------------------- one writer


def test_a_second_run_into_a_busy_directory_is_refused(tmp_path):
    cfg = validate(RunConfig(months=3))
    started, release = threading.Event(), threading.Event()

    def slow(cfg, progress=None):
        started.set()
        assert release.wait(30)
        return fake_run(cfg)

    result: dict = {}
    first = threading.Thread(target=lambda: result.update(
        m=execute(cfg, tmp_path / "run", ["seed=0"], run_fn=slow)))
    first.start()
    try:
        assert started.wait(30)
        other = validate(RunConfig(months=3, seed=1))
        with pytest.raises(RunDirBusy, match="another run is writing"):
            execute(other, tmp_path / "run", ["seed=1"], run_fn=fake_run)
        assert read_manifest(tmp_path / "run")["status"] == "running"  # untouched
    finally:
        release.set()
        first.join(30)
    assert result["m"]["status"] == "complete"
    m = read_manifest(tmp_path / "run")
    assert m["status"] == "complete" and m["seed"] == 0
    # once it is free, the directory can be used again
    assert execute(other, tmp_path / "run", ["seed=1"], run_fn=fake_run)["seed"] == 1


@pytest.mark.slow
def test_a_cli_run_into_a_directory_another_process_is_writing_is_refused(tmp_path):
    """The command line against a directory whose lock another process (this test, standing
    in for a run in progress) holds: it stops, says why, and touches nothing."""
    from abm.outputs import run_dir_lock

    run_dir = tmp_path / "run"
    write_manifest(run_dir, {"status": "running", "seed": 0, "overrides": ["seed=0"]})
    before = (run_dir / "manifest.json").read_bytes()
    with run_dir_lock(run_dir):
        proc = subprocess.run([sys.executable, "-m", "abm", "size=small", "months=1",
                               "seed=1", f"hydra.run.dir={run_dir}"], cwd=tmp_path,
                              env=abm_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "another run is writing into this directory" in proc.stderr
    assert (run_dir / "manifest.json").read_bytes() == before
    assert not list(run_dir.glob("*.parquet"))
    # released: the same command now runs
    proc = subprocess.run([sys.executable, "-m", "abm", "size=small", "months=1", "seed=1",
                           f"hydra.run.dir={run_dir}"], cwd=tmp_path, env=abm_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert manifest(run_dir)["status"] == "complete" and manifest(run_dir)["seed"] == 1
