"""Paper figures, experiments, estimation and scenario discovery on top of the model (see
README, "Figures and notebooks", "Estimating the parameters", "Scenario discovery"):

- ``python -m analysis.figures`` builds every figure, banded over posterior draws x seeds
  (:mod:`analysis.bands`);
- ``python -m analysis.estimate`` (:mod:`analysis.estimate`) screens every ranged parameter
  (:mod:`analysis.screening`), estimates the identified ones (:mod:`analysis.emulator`) and
  hindcasts 2026;
- ``python -m analysis.discover`` (:mod:`analysis.discover`) finds the PRIM boxes
  (:mod:`analysis.prim`) of the divide conditions (:mod:`analysis.outcomes`);
- ``python -m analysis.sobol_study`` (:mod:`analysis.sobol_study`) runs Sobol with n doubling
  until stable, by year, with second-order indices (:mod:`analysis.sobol_convergence`).

The submodules load on first use (``analysis.estimate`` and ``analysis.discover`` need the
``estimate`` extras: scikit-learn, emcee, EMA workbench).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["bands", "discover", "emulator", "estimate", "experiments", "figures", "outcomes",
           "prim", "screening", "sensitivity", "sobol_convergence", "sobol_study"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f"analysis.{name}")
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
