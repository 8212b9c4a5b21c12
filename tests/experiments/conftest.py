"""Helpers for the experiment-layer tests: run ``python -m abm`` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "conf"
SMALL = ("months=6", "size=small")
TABLE_FILES = ("global.parquet", "nations.parquet", "providers.parquet", "markets.parquet")


def abm_env() -> dict[str, str]:
    env = dict(os.environ)
    env["ABM_PROGRESS"] = "0"
    env.pop("HYDRA_FULL_ERROR", None)
    return env


def run_abm(*args: str, cwd: Path, timeout: float = 120,
            module: str = "abm", python: str | None = None) -> subprocess.CompletedProcess:
    """``python -m abm ARGS`` from ``cwd`` (so stray outputs land in the test's tmp dir)."""
    return subprocess.run([python or sys.executable, "-m", module, *args], cwd=cwd,
                          env=abm_env(), capture_output=True, text=True, timeout=timeout)


def manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def complete_manifests(root: Path) -> list[Path]:
    """Run directories under ``root`` whose manifest says complete."""
    out = []
    for path in root.rglob("manifest.json"):
        try:
            if json.loads(path.read_text()).get("status") == "complete":
                out.append(path.parent)
        except ValueError:
            continue
    return sorted(out)


@pytest.fixture
def run_in(tmp_path):
    def _run(*args: str, **kwargs) -> subprocess.CompletedProcess:
        return run_abm(*args, cwd=tmp_path, **kwargs)

    return _run


def run_main(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``abm.app.main(ARGS)`` in this process from ``cwd`` (fast; for commands the preflight
    refuses, which return before Hydra starts), as a CompletedProcess with stderr."""
    import contextlib
    import io

    from abm.app import main

    err, out = io.StringIO(), io.StringIO()
    old = Path.cwd()
    code = 0
    saved_env = {k: os.environ.get(k) for k in ("ABM_SWEEP_TOTAL", "ABM_PREFLIGHT_JOBS")}
    os.chdir(cwd)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    finally:
        os.chdir(old)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return subprocess.CompletedProcess(["abm", *args], code, out.getvalue(), err.getvalue())


@pytest.fixture
def refuse_in(tmp_path):
    """Like ``run_in``, in process: only for commands that must be refused."""
    def _run(*args: str) -> subprocess.CompletedProcess:
        return run_main(*args, cwd=tmp_path)

    return _run
