"""Helpers for the analysis tests: small experiments in a private cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def env(**extra: str) -> dict[str, str]:
    out = dict(os.environ)
    out["ABM_PROGRESS"] = "0"
    out.pop("HYDRA_FULL_ERROR", None)
    out.update(extra)
    return out


def run_module(module: str, *args: str, cwd: Path, timeout: float = 600,
               **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env(**extra_env),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def small_sweep(tmp_path_factory):
    """The scenarios experiment at a toy size: 2 scenarios x 2 seeds x 3 months (cached)."""
    from analysis.experiments import Options, run_experiment

    cache = tmp_path_factory.mktemp("cache")
    options = Options(size="small", months=3, seeds=2,
                      scenarios=("baseline", "sovereign_cloud"), cache_dir=cache,
                      verbose=False)
    return run_experiment("scenarios", options), options
