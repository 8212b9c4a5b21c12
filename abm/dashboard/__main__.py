"""``python -m abm.dashboard [--port P] [--out DIR]``: serve the dashboard on 127.0.0.1.

Runs Solara's server (production mode, no browser opened, no version check or telemetry:
nothing leaves the machine) on the loopback interface only. The runs it makes go to
``--out`` (default ``outputs/dashboard``), one directory per run, each with the usual tables
and manifest.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def solara_args(port: int) -> list[str]:
    """The ``solara run`` command line for the dashboard page."""
    return ["run", "abm.dashboard.app:Page", "--host", HOST, "--port", str(port),
            "--production", "--no-open", "--no-check-version", "--log-level-uvicorn",
            "warning"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m abm.dashboard",
        description="Serve the compute-abm dashboard on http://127.0.0.1:PORT (loopback only).")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--out", default="outputs/dashboard",
                        help="directory for the dashboard's runs (default outputs/dashboard)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be in 0..65535, got {args.port}")
    os.environ["ABM_DASHBOARD_OUT"] = os.path.abspath(args.out)
    # Solara reads these when it is imported: no telemetry, nothing fetched from the web.
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ.setdefault("ABM_PROGRESS", "0")
    check_assets()
    from solara.__main__ import cli

    print(f"abm.dashboard: serving on http://{HOST}:{args.port} (Ctrl-C stops it); runs go to "
          f"{os.environ['ABM_DASHBOARD_OUT']}", file=sys.stderr, flush=True)
    cli(solara_args(args.port))  # returns only when the server stops
    return 0


def check_assets() -> None:
    """Refuse to start when the bundled front-end assets do not match Solara's version:
    Solara would then fetch them from a CDN, and offline the page would stay blank."""
    from importlib import metadata

    try:
        solara_v = metadata.version("solara")
        assets_v = metadata.version("solara-assets")
    except metadata.PackageNotFoundError as exc:
        raise SystemExit(f"abm.dashboard: {exc.name} is not installed; run `make setup` "
                         "(pip install -e .)") from None
    if solara_v != assets_v:
        raise SystemExit(f"abm.dashboard: solara {solara_v} and solara-assets {assets_v} "
                         "differ; pin both to the same version (pyproject.toml) so the page "
                         "renders offline")


if __name__ == "__main__":
    raise SystemExit(main())
