"""Run the model: a pure function of (config, seed) returning its output tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from abm.config import to_dict, validate

TABLES = ("global", "nations", "providers", "markets")


@dataclass
class RunResult:
    """Output of one run: tidy tables keyed by name (see :data:`TABLES`), and the config.

    ``threads`` records the thread setting the run used (see :func:`abm.threads.describe`).
    """

    tables: dict[str, pd.DataFrame]
    config: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    threads: dict[str, Any] = field(default_factory=dict)


def run(cfg: Any, progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Validate ``cfg``, simulate ``cfg.months`` months from seed ``cfg.seed``, return tables.

    Every BLAS/OpenMP pool runs on one thread while the model runs (:func:`abm.threads.pinned`),
    so the tables are the same whatever ``$ABM_THREADS`` or ``$OMP_NUM_THREADS`` say.
    ``progress(done, total)`` is called after every month when given.

    Raises
    ------
    abm.config.ConfigError
        If the config is invalid (before any work).
    abm.threads.ThreadSettingError
        If ``$ABM_THREADS`` is set to anything but a whole number from 1 to 1024 in plain digits.
    """
    from abm.model import ComputeEconomy  # loads the BLAS libraries before they are limited
    from abm.threads import abm_threads, pinned

    cfg = validate(cfg)
    abm_threads()
    with pinned() as threads:
        model = ComputeEconomy(cfg)
        for _ in range(cfg.months):
            model.step()
            if progress is not None:
                progress(model.month, cfg.months)
        tables = model.tables()
    return RunResult(tables=tables, config=to_dict(cfg), timings=model.timings(),
                     threads=threads)
