"""Exogenous paths over model time (month 0 = January 2025).

Each path is a function of the month alone, so a run of N months is a prefix of a longer run
with the same config.
"""

from __future__ import annotations

import math

import numpy as np

MONTHS_PER_YEAR = 12.0
HORIZON_YEARS = 11.0  # January 2025 to December 2035: where growth reaches its final rate


def years(month: int) -> float:
    """Years elapsed since January 2025."""
    return month / MONTHS_PER_YEAR


def declining_growth_index(month: int, growth_initial: float, growth_final: float) -> float:
    """Cumulative growth since month 0 (1 at month 0) of a quantity whose growth slows.

    The yearly log-growth rate falls linearly from ``log(growth_initial)`` to
    ``log(growth_final)`` over :data:`HORIZON_YEARS`, then stays there. Used for queries,
    accelerator output and software efficiency.
    """
    y = years(month)
    g0, g1 = math.log(growth_initial), math.log(growth_final)
    span = min(y, HORIZON_YEARS)
    integral = g0 * span + (g1 - g0) * span**2 / (2 * HORIZON_YEARS)
    return math.exp(integral + g1 * max(0.0, y - HORIZON_YEARS))


def test_time_multiplier(month: int, final: float, saturation_years: float,
                         exposure: float) -> float:
    """Tokens per query relative to January 2025 for a use-case with this exposure (0-1).

    Log-linear growth to ``final ** exposure`` over ``saturation_years``.
    """
    frac = min(1.0, years(month) / saturation_years)
    return math.exp(exposure * frac * math.log(final))


def compounding(month: int, per_year: float) -> float:
    """``per_year ** years``: e.g. hardware perf per watt, software throughput."""
    return per_year ** years(month)


def frontier_compute_per_token(training_compute_ratio: float) -> float:
    """Compute per token of a frontier model relative to January 2025.

    Per-query compute scales as the square root of training compute (Hoffmann et al. 2022,
    Chinchilla-optimal): ``training_compute_ratio`` is the model's training compute over the
    January-2025 frontier's.
    """
    return math.sqrt(max(training_compute_ratio, 1e-12))


def relative_quality(lag_months, decay_per_year: float):
    """Capability relative to the frontier of a model ``lag_months`` behind it, in (0, 1]."""
    return np.exp(-decay_per_year * np.asarray(lag_months, dtype=float) / MONTHS_PER_YEAR)
