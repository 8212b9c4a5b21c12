"""``python -m abm.dashboard``: loopback only, and its offline assets match Solara."""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

from abm.dashboard import __main__ as dash_main

from ..experiments.conftest import REPO, run_abm


def test_serves_on_loopback_only():
    args = dash_main.solara_args(8765)
    assert args[args.index("--host") + 1] == "127.0.0.1"
    assert "--production" in args and "--no-open" in args and "--no-check-version" in args
    assert args[1] == "abm.dashboard.app:Page"


def test_solara_and_its_assets_are_pinned_to_one_version():
    pyproject = (REPO / "pyproject.toml").read_text()
    pins = dict(re.findall(r'"(solara|solara-assets)==([0-9.]+)"', pyproject))
    assert pins["solara"] == pins["solara-assets"], pins
    assert metadata.version("solara") == pins["solara"]
    assert metadata.version("solara-assets") == pins["solara-assets"]
    # the bundled front-end files Solara serves instead of fetching them from a CDN
    cdn = Path(sys.prefix) / "share" / "solara" / "cdn"
    assert cdn.is_dir() and any(cdn.rglob("*.js"))


def test_mismatched_assets_refuse_to_start(monkeypatch):
    real = metadata.version
    monkeypatch.setattr(metadata, "version",
                        lambda name: "0.0.1" if name == "solara-assets" else real(name))
    with pytest.raises(SystemExit, match=r"solara-assets 0\.0\.1"):
        dash_main.check_assets()


def test_help_and_bad_port(tmp_path):
    proc = run_abm("--help", cwd=tmp_path, module="abm.dashboard")
    assert proc.returncode == 0 and "--port" in proc.stdout and "127.0.0.1" in proc.stdout
    proc = run_abm("--port", "70000", cwd=tmp_path, module="abm.dashboard")
    assert proc.returncode == 2 and "--port must be in 0..65535" in proc.stderr
