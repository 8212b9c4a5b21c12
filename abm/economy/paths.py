"""Exogenous paths over model time (month 0 = January 2025).

Each path is a function of the month alone, so a run of N months is a prefix of a longer run
with the same config.
"""

from __future__ import annotations

import math

MONTHS_PER_YEAR = 12.0
HORIZON_YEARS = 11.0  # January 2025 to December 2035: where growth reaches its final rate


def years(month: float) -> float:
    """Years elapsed since January 2025."""
    return month / MONTHS_PER_YEAR


def declining_growth_index(month: float, growth_initial: float, growth_final: float) -> float:
    """Cumulative growth since month 0 (1 at month 0) of a quantity whose growth slows.

    The yearly log-growth rate falls linearly from ``log(growth_initial)`` to
    ``log(growth_final)`` over :data:`HORIZON_YEARS`, then stays there. Used for use per
    adopter, accelerator output and software efficiency.
    """
    y = years(month)
    g0, g1 = math.log(growth_initial), math.log(growth_final)
    span = min(y, HORIZON_YEARS)
    integral = g0 * span + (g1 - g0) * span**2 / (2 * HORIZON_YEARS)
    return math.exp(integral + g1 * max(0.0, y - HORIZON_YEARS))


#: Share of its final log value the test-time multiplier reaches at ``saturation_years``
#: (an exponential approach reaches 95% after three time constants).
SATURATION_SHARE = 0.95


def growth_rate(month: float, growth_initial: float, growth_final: float) -> float:
    """The yearly growth factor at ``month`` of :func:`declining_growth_index`."""
    y = min(years(month), HORIZON_YEARS)
    g0, g1 = math.log(growth_initial), math.log(growth_final)
    return math.exp(g0 + (g1 - g0) * y / HORIZON_YEARS)


def test_time_multiplier(month: float, final: float, saturation_years: float,
                         exposure: float) -> float:
    """Tokens per query relative to January 2025 for a use-case with this exposure (0-1).

    The log multiplier approaches ``exposure * log(final)`` exponentially, fastest at the
    start (reasoning models spread through 2025), reaching :data:`SATURATION_SHARE` of it
    at ``saturation_years``.
    """
    rate = -math.log(1.0 - SATURATION_SHARE) / saturation_years
    frac = 1.0 - math.exp(-rate * years(month))
    return math.exp(exposure * frac * math.log(final))


def compounding(month: float, per_year: float) -> float:
    """``per_year ** years``: e.g. hardware perf per watt, price-performance."""
    return per_year ** years(month)


def bass_adoption(month: float, initial: float, innovation: float, imitation: float) -> float:
    """Share of people who have adopted, from a Bass (1969) diffusion through ``initial``.

    ``F(tau) = (1 - exp(-(p+q) tau)) / (1 + (q/p) exp(-(p+q) tau))`` with ``p`` the
    coefficient of innovation and ``q`` of imitation (per year); the curve is shifted so that
    ``F = initial`` at month 0. With ``p = 0`` it is the logistic of pure imitation; with
    ``p = q = 0`` adoption stays at ``initial``.
    """
    p, q, a0 = innovation, imitation, initial
    t = years(month)
    if p <= 0.0 and q <= 0.0:
        return a0
    if p <= 0.0:
        return 1.0 / (1.0 + (1.0 - a0) / a0 * math.exp(-q * t))
    # exp(-(p+q) tau0) for F(tau0) = a0
    x0 = (1.0 - a0) / (1.0 + a0 * q / p)
    x = x0 * math.exp(-(p + q) * t)
    return (1.0 - x) / (1.0 + (q / p) * x)
