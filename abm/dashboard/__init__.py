"""The dashboard: ``python -m abm.dashboard [--port P]`` (or ``make dashboard``).

A Solara page on http://127.0.0.1:P (8765 by default) to choose a scenario, size, months,
seed and key parameters, run the model with a progress bar, read the headline numbers and
series, compare two scenarios, download a run's tables and copy the command line that
reproduces it byte for byte. Its front-end assets come from the ``solara-assets`` package
(pinned to Solara's exact version), so it renders with no internet.

Importing this package pins the BLAS/OpenMP thread pools like ``python -m abm`` does (before
NumPy loads), so a run on the dashboard writes the same bytes as the command line.
"""

import abm.__main__  # noqa: F401  (pins the thread pools first)
from abm.dashboard.controls import CONTROL_KEYS, CONTROLS, MISSING, Control
from abm.dashboard.runs import RunSpec, execute, make_spec

__all__ = [
    "CONTROLS",
    "CONTROL_KEYS",
    "MISSING",
    "Control",
    "RunSpec",
    "execute",
    "main",
    "make_spec",
]


def main(argv=None) -> int:
    """Serve the dashboard (see :mod:`abm.dashboard.__main__`)."""
    from abm.dashboard.__main__ import main as _main

    return _main(argv)
