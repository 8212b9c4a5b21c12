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
    """Output of one run: tidy tables keyed by name (see :data:`TABLES`), and the config."""

    tables: dict[str, pd.DataFrame]
    config: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


def run(cfg: Any, progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Validate ``cfg``, simulate ``cfg.months`` months from seed ``cfg.seed``, return tables.

    ``progress(done, total)`` is called after every month when given.
    """
    from abm.model import ComputeEconomy

    cfg = validate(cfg)
    model = ComputeEconomy(cfg)
    for _ in range(cfg.months):
        model.step()
        if progress is not None:
            progress(model.month, cfg.months)
    return RunResult(tables=model.tables(), config=to_dict(cfg), timings=model.timings())
