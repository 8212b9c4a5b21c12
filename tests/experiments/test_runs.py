"""Single runs: outputs, manifest, skip-on-rerun, byte-identical determinism, failures."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from abm.app import CONF_DIR
from abm.collect import load_run
from abm.config import to_dict, validate
from abm.outputs import OUTPUT_FILES, config_hash, execute, is_complete, read_manifest

from .conftest import SMALL, TABLE_FILES, manifest, run_abm

MANIFEST_FIELDS = {"seed", "scenario", "size", "overrides", "config_hash", "versions", "git",
                   "wall_time_s", "status", "files"}


@pytest.fixture(scope="module")
def single_run(tmp_path_factory):
    """One real small run through the CLI, then the same command again."""
    base = tmp_path_factory.mktemp("single")
    run_dir = base / "run"
    args = (*SMALL, "seed=3", f"hydra.run.dir={run_dir}")
    first = run_abm(*args, cwd=base)
    stamps = {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir() if p.is_file()}
    second = run_abm(*args, cwd=base)
    return run_dir, first, second, stamps


@pytest.mark.slow
def test_single_run_writes_every_file_and_a_complete_manifest(single_run):
    run_dir, first, _, _ = single_run
    assert first.returncode == 0, first.stderr
    for name in (*TABLE_FILES, "config.yaml", "manifest.json"):
        assert (run_dir / name).is_file(), name
    m = manifest(run_dir)
    assert MANIFEST_FIELDS <= set(m)
    assert m["status"] == "complete" and m["seed"] == 3 and m["size"] == "small"
    assert m["scenario"] == "baseline"
    assert "seed=3" in m["overrides"] and "months=6" in m["overrides"]
    assert {"python", "numpy", "scipy", "pandas", "mesa", "hydra-core", "pyarrow"} <= set(
        m["versions"])
    assert set(m["git"]) == {"commit", "dirty"} and m["git"]["commit"]
    assert m["wall_time_s"] >= 0
    assert set(m["files"]) == set(OUTPUT_FILES)
    for name, meta in m["files"].items():
        assert hashlib.sha256((run_dir / name).read_bytes()).hexdigest() == meta["sha256"]
    assert not list(run_dir.glob("*.tmp")) and not list(run_dir.glob(".*.tmp"))
    tables = load_run(run_dir)
    assert set(tables) == {"global", "nations", "providers", "markets"}
    assert len(tables["global"]) > 0 and "month" in tables["global"].columns
    assert tables["global"]["month"].nunique() == 6


@pytest.mark.slow
def test_rerun_into_the_same_dir_is_skipped(single_run):
    run_dir, _, second, stamps = single_run
    assert second.returncode == 0, second.stderr
    assert "skipping complete run" in second.stderr
    after = {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir() if p.is_file()
             and p.name in stamps and not p.name.endswith(".log")}
    assert after == {k: v for k, v in stamps.items() if k in after}
    assert manifest(run_dir)["status"] == "complete"


def _small_config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return validate(compose(config_name="config", overrides=[*SMALL, *overrides]))


@pytest.mark.slow
def test_same_config_and_seed_give_byte_identical_tables(single_run, tmp_path):
    """A second fresh CLI run of the same config and seed, in another directory."""
    run_dir, first, _, _ = single_run
    assert first.returncode == 0, first.stderr
    other = tmp_path / "again"
    proc = run_abm("seed=3", *SMALL, f"hydra.run.dir={other}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "skipping" not in proc.stderr
    for name in (*TABLE_FILES, "config.yaml"):
        assert (other / name).read_bytes() == (run_dir / name).read_bytes(), name
    assert manifest(other)["config_hash"] == manifest(run_dir)["config_hash"]
    # ... and the hash is that of the config composed in-process (order of overrides aside)
    assert config_hash(to_dict(_small_config("seed=3"))) == manifest(run_dir)["config_hash"]


class _Boom(RuntimeError):
    pass


@pytest.mark.slow
def test_a_failing_run_leaves_a_failed_manifest_and_nothing_complete(single_run, tmp_path):
    """A run that fails (here: a model stand-in that raises) over an earlier complete run."""
    import shutil

    run_dir, *_ = single_run
    target = tmp_path / "run"
    shutil.copytree(run_dir, target)
    cfg = _small_config("seed=3", "demand.elasticity=1.5")  # another config: must recompute

    def explode(cfg, progress=None):
        if progress is not None:
            progress(1, cfg.months)
        raise _Boom("model exploded")

    with pytest.raises(_Boom):
        execute(cfg, target, run_fn=explode)
    m = read_manifest(target)
    assert m["status"] == "failed" and "model exploded" in m["error"]
    assert not is_complete(target)
    assert not list(target.glob("*.parquet"))


def test_load_run_refuses_incomplete_runs(tmp_path):
    (tmp_path / "manifest.json").write_text('{"status": "running"}')
    with pytest.raises(ValueError, match="running"):
        load_run(tmp_path)
    assert load_run(tmp_path, require_complete=False) == {}


@pytest.mark.slow
def test_tables_have_the_documented_keys(single_run):
    run_dir, first, _, _ = single_run
    assert first.returncode == 0, first.stderr
    tables = load_run(run_dir)
    assert {"month", "nation"} <= set(tables["nations"].columns)
    assert {"month", "provider"} <= set(tables["providers"].columns)
    assert isinstance(tables["markets"], pd.DataFrame)
