"""Cost of serving a token (mechanism 3) and of running a fleet, and its energy (mechanism 15).

Compute is counted in H100-equivalents (H100e): units of H100 serving throughput. Newer
hardware delivers more H100e per dollar and per watt, so a site's power per H100e is tracked
by vintage (its ``power_mw`` stock over its ``compute`` stock) while capital cost per H100e is
the current replacement cost.
"""

from __future__ import annotations

import numpy as np

HOURS_PER_MONTH = 730.0
HOURS_PER_YEAR = 8760.0


def hardware_cost_per_h100e_hour(capex_per_h100e: float, life_months: float,
                                 price_performance: float, custom_saving=0.0) -> np.ndarray:
    """Capital cost of an H100e-hour, $ (straight-line over its life at replacement cost)."""
    return (capex_per_h100e / price_performance / (life_months * HOURS_PER_MONTH)
            * (1.0 - np.asarray(custom_saving, dtype=float)))


def energy_cost_per_h100e_hour(kw_per_h100e, pue: float, price_usd_kwh) -> np.ndarray:
    """Electricity cost of an H100e-hour at full load, $."""
    return np.asarray(kw_per_h100e) * pue * np.asarray(price_usd_kwh)


def cost_per_mtok(gpu_hours_per_mtok, hardware_hour, energy_hour, opex_share: float,
                  scale_factor, utilisation: float) -> np.ndarray:
    """Full cost of serving 1 M tokens, $/M tokens, at the planning utilisation.

    ``(hardware * (1 + opex * scale_factor) + energy) / utilisation`` per H100e-hour, times
    H100e-hours per M tokens: idle capacity is paid for by the tokens that are sold.
    """
    per_hour = (np.asarray(hardware_hour) * (1.0 + opex_share * np.asarray(scale_factor))
                + np.asarray(energy_hour))
    return np.asarray(gpu_hours_per_mtok) * per_hour / utilisation


def fleet_energy_twh_per_year(power_mw, pue: float, utilisation, idle_share: float
                              ) -> np.ndarray:
    """Annualised electricity of data-centre sites, TWh/yr.

    Idle capacity still draws ``idle_share`` of full power.
    """
    load = idle_share + (1.0 - idle_share) * np.clip(np.asarray(utilisation), 0.0, 1.0)
    return np.asarray(power_mw) * pue * load * HOURS_PER_YEAR / 1e6


def queueing_latency_ms(utilisation, latency_at_half: float) -> np.ndarray:
    """Serving latency, ms, rising as utilisation nears 1 (M/M/1: u / (1 - u))."""
    u = np.clip(np.asarray(utilisation, dtype=float), 0.0, 0.98)
    return latency_at_half * u / (1.0 - u)
