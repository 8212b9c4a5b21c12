"""What theory predicts each scenario does to its headline outcome, and a test of it.

Every scenario in ``conf/scenario/`` encodes a claim from the seed essays. :data:`DIRECTIONS`
writes down, for each, the headline outcome the claim is about and the sign of its change
against the baseline that the mechanism behind it predicts (with the reason).
:func:`evaluate` takes runs of each scenario and the baseline on the same seeds (common random
numbers), takes the per-seed difference of the outcome's mean over a late window, and calls
the prediction *confirmed* when the mean difference has the predicted sign and is larger than
twice its standard error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

Tables = dict[str, pd.DataFrame]


def _global(column: str) -> Callable[[Tables], pd.Series]:
    return lambda t: t["global"].set_index("month")[column]


def _dependence_abroad(t: Tables) -> pd.Series:
    """Population-weighted dependence ratio of the nations other than the United States."""
    n = t["nations"]
    n = n[n["nation"] != "United States"]
    w = n["population"]
    return (n["dependence_ratio"] * w).groupby(n["month"]).sum() / w.groupby(n["month"]).sum()


def _controlled_capacity_share(t: Tables) -> pd.Series:
    """Share of the world's AI compute in nations under export controls (tiers 2 and 3)."""
    n = t["nations"]
    controlled = n["capacity_h100e"].where(n["export_tier"] > 1, 0.0)
    return controlled.groupby(n["month"]).sum() / n.groupby("month")["capacity_h100e"].sum()


def _custom_silicon_revenue_share(t: Tables) -> pd.Series:
    from abm import calibration

    owners = set(calibration.providers().query("custom_silicon")["provider"])
    p = t["providers"]
    mine = p["revenue_share"].where(p["provider"].isin(owners), 0.0)
    return mine.groupby(p["month"]).sum()


@dataclass(frozen=True)
class Direction:
    """The predicted sign (+1 or -1) of a scenario's effect on ``outcome`` and why."""

    scenario: str
    outcome: str
    sign: int
    reason: str
    measure: Callable[[Tables], pd.Series]


DIRECTIONS: tuple[Direction, ...] = (
    Direction("open_weights_surge", "markup_lerner", -1,
              "closer open-weight substitutes hosted near cost raise every closed seller's "
              "own-price elasticity, so Nash-Bertrand markups fall (seed 000)",
              _global("markup_lerner")),
    Direction("closed_frontier", "markup_lerner", +1,
              "without open weights the outside option is weaker and markups rise (seed 000)",
              _global("markup_lerner")),
    Direction("export_controls", "controlled_capacity_share", -1,
              "a standing tier-2 cap and weaker domestic chips keep compute out of controlled "
              "nations (seeds 000, 001)", _controlled_capacity_share),
    Direction("energy_shock", "price_frontier", +1,
              "dearer electricity raises the long-run marginal cost of serving a token and "
              "Nash-Bertrand prices pass cost through, so frontier tokens cost more (seeds "
              "001, 002: energy becomes the bottleneck). Not the H100e rental price: the "
              "rental market clears on labs' training budgets against spare capacity, well "
              "above the asks, and the spare capacity the shock frees offsets its cost",
              _global("price_frontier")),
    Direction("test_time_compute_boom", "tokens_total", +1,
              "more tokens per query multiply token demand (seed 004)", _global("tokens_total")),
    Direction("custom_silicon", "custom_silicon_revenue_share", +1,
              "cheaper in-house chips lower their owners' costs and prices, so they win share "
              "(seed 002)", _custom_silicon_revenue_share),
    Direction("sovereign_cloud", "dependence_abroad", -1,
              "localisation, subsidies for domestic capacity and a tariff on foreign serving "
              "move nations' tokens home (seeds 000, 002)", _dependence_abroad),
    Direction("efficiency_breakthrough", "price_constant_capability", -1,
              "faster serving efficiency and hardware gains cut the cost, and so the price, of a "
              "given capability (seeds 001, 004)", _global("price_constant_capability")),
    Direction("early_monopoly", "hhi_revenue", +1,
              "scale economies, late open weights and scarce outside capital let the leaders "
              "pull away (seed 000)", _global("hhi_revenue")),
)


@dataclass(frozen=True)
class DirectionResult:
    scenario: str
    outcome: str
    sign: int
    differences: list[float]
    mean: float
    standard_error: float
    confirmed: bool


def window_mean(series: pd.Series, months: int, window: int) -> float:
    """Mean of ``series`` over the last ``window`` of ``months`` months."""
    return float(series[series.index >= months - window].mean())


def evaluate(direction: Direction, scenario_runs: list[Tables], baseline_runs: list[Tables],
             months: int, window: int) -> DirectionResult:
    """Paired differences of the outcome (scenario minus baseline, same seeds)."""
    diffs = np.array([window_mean(direction.measure(s), months, window)
                      - window_mean(direction.measure(b), months, window)
                      for s, b in zip(scenario_runs, baseline_runs, strict=True)])
    mean = float(diffs.mean())
    se = float(diffs.std(ddof=1) / math.sqrt(diffs.size)) if diffs.size > 1 else math.inf
    confirmed = bool(np.sign(mean) == direction.sign and abs(mean) > 2.0 * se)
    return DirectionResult(direction.scenario, direction.outcome, direction.sign,
                           diffs.tolist(), mean, se, confirmed)
