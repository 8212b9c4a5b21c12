"""Issue 9, kind 8: the thread setting cannot change a run's tables; bad ABM_THREADS refused."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from abm.config import RunConfig, validate
from abm.outputs import parquet_bytes
from abm.run import run
from abm.threads import RUN_THREADS, ThreadSettingError, abm_threads, pinned

from .conftest import REPO, abm_env, manifest, run_abm

# The default world for six months: big enough that OpenBLAS splits its reductions over
# threads (the small world is not), so unpinned runs differ between one and two threads.
MONTHS = 6


def _digests(result) -> dict[str, str]:
    return {k: hashlib.sha256(parquet_bytes(v)).hexdigest() for k, v in result.tables.items()}


def _config() -> RunConfig:
    cfg = RunConfig()
    cfg.months = MONTHS
    return validate(cfg)


def test_run_gives_identical_tables_whatever_the_threads_outside_say(monkeypatch):
    cfg = _config()
    monkeypatch.setenv("ABM_THREADS", "2")
    with threadpool_limits(limits=2):  # as an unpinned Python session on two cores
        two = run(cfg)
        assert {p["num_threads"] for p in threadpool_info()} == {2}  # restored afterwards
    monkeypatch.delenv("ABM_THREADS")
    with threadpool_limits(limits=1):
        one = run(cfg)
    assert _digests(two) == _digests(one)
    assert two.threads["run_threads"] == RUN_THREADS == 1
    assert two.threads["pools"] and all(p.endswith(":1") for p in two.threads["pools"])


RUN_CODE = ("from abm.run import run\ncfg = RunConfig()\n"
            f"cfg.months = {MONTHS}\ntables = run(cfg).tables\n")
# the Mesa model stepped by hand, as in a notebook: the model pins its own pools
STEP_CODE = ("from abm.model import ComputeEconomy\ncfg = RunConfig()\n"
             f"cfg.months = {MONTHS}\nm = ComputeEconomy(cfg)\n"
             f"for _ in range({MONTHS}):\n    m.step()\ntables = m.tables()\n")


@pytest.mark.slow
@pytest.mark.parametrize("how", [RUN_CODE, STEP_CODE], ids=["run", "mesa_step"])
def test_run_from_python_is_identical_under_any_thread_environment(how):
    code = ("import hashlib\nfrom abm.config import RunConfig\nfrom abm.outputs import "
            "parquet_bytes\n" + how + "print(sorted((k, hashlib.sha256("
            "parquet_bytes(v)).hexdigest()) for k, v in tables.items()))\n")
    outputs = []
    for threads in ("1", "2"):
        env = abm_env()
        env.update({"OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
                    "ABM_THREADS": threads})
        proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]


def test_pinned_restores_the_environment_and_the_pools(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with threadpool_limits(limits=2):
        with pinned() as info:
            import os

            assert os.environ["OMP_NUM_THREADS"] == "1"
            assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
            assert all(p["num_threads"] == 1 for p in threadpool_info())
            assert info["run_threads"] == 1
        assert os.environ["OMP_NUM_THREADS"] == "7"
        assert "OPENBLAS_NUM_THREADS" not in os.environ
        assert all(p["num_threads"] == 2 for p in threadpool_info())


@pytest.mark.parametrize("value", ["two", "1.5", "0", "-2", "1e3", " ", "+2", "1_0",
                                   "\u0663", "99999999", "1025"])
def test_abm_threads_must_be_a_positive_integer(value):
    if not value.strip():
        assert abm_threads({"ABM_THREADS": value}) == 1  # empty means unset
        return
    with pytest.raises(ThreadSettingError,
                       match=r"ABM_THREADS=.*whole number from 1 to 1024 .*plain digits"):
        abm_threads({"ABM_THREADS": value})


@pytest.mark.parametrize(("value", "threads"), [("1", 1), (" 2 ", 2), ("1024", 1024)])
def test_abm_threads_accepts_plain_digits_up_to_the_cap(value, threads):
    assert abm_threads({"ABM_THREADS": value}) == threads


def test_run_refuses_an_invalid_abm_threads(monkeypatch):
    monkeypatch.setenv("ABM_THREADS", "0")
    with pytest.raises(ThreadSettingError, match="ABM_THREADS"):
        run(_config())


def test_the_cli_refuses_an_invalid_abm_threads_before_any_work(tmp_path):
    env = abm_env()
    env["ABM_THREADS"] = "two"
    proc = subprocess.run([sys.executable, "-m", "abm", "months=1", "size=small",
                           f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "ABM_THREADS='two'" in proc.stderr and "whole number from 1 to 1024" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_the_manifest_records_the_thread_setting(tmp_path):
    proc = run_abm("months=1", "size=small", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    threads = manifest(tmp_path / "run")["threads"]
    assert threads["run_threads"] == 1
    assert "ABM_THREADS" in threads
    assert threads["pools"] and all(p.endswith(":1") for p in threads["pools"])
