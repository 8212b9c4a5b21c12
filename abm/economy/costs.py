"""What a token costs to serve (mechanism 3) and what a fleet draws (mechanisms 4, 15).

Compute is counted in H100-equivalents (H100e): units of H100 serving throughput. Newer
hardware delivers more H100e per dollar and per watt, so a site's power per H100e is tracked
by vintage while the capital cost of an H100e-hour is priced at the *replacement* cost of
today's hardware.

Marginal cost is **long-run marginal cost** (ECONOMICS.md), what API gross margins measure:

    c = (R_K + energy + opex) * g / u*,   R_K = (i + delta) * P_K / 8,760

with ``R_K`` the Hall-Jorgenson (1967) rental rate of an H100e-hour at the replacement price
``P_K`` (chip plus data-centre shell), ``i`` the cost of capital, ``delta`` economic
depreciation (obsolescence as price-performance improves), ``g`` H100e-hours per M tokens and
``u*`` the target utilisation.
"""

from __future__ import annotations

import numpy as np

HOURS_PER_MONTH = 730.0
HOURS_PER_YEAR = 8760.0


def capital_rental_per_hour(replacement_price, cost_of_capital: float,
                            economic_depreciation: float) -> np.ndarray:
    """Hall-Jorgenson rental rate of an H100e-hour, $: ``(i + delta) * P_K / 8,760``.

    Parameters
    ----------
    replacement_price : float or array
        ``P_K``, $ per H100e installed (chip plus shell).
    cost_of_capital : float
        ``i``, per year.
    economic_depreciation : float
        ``delta``, per year.
    """
    return (cost_of_capital + economic_depreciation) * np.asarray(replacement_price,
                                                                  dtype=float) / HOURS_PER_YEAR


def energy_cost_per_h100e_hour(kw_per_h100e, pue: float, price_usd_kwh) -> np.ndarray:
    """Electricity cost of an H100e-hour at full load, $."""
    return np.asarray(kw_per_h100e) * pue * np.asarray(price_usd_kwh)


def cost_per_h100e_hour(rental, energy, opex_share: float, scale_factor=1.0) -> np.ndarray:
    """Full cost of one H100e-hour at full load, $: capital rental, opex and energy.

    Opex (staff, networking, software) is ``opex_share`` of the capital rental, times the
    provider's scale factor (scale economies).
    """
    return (np.asarray(rental) * (1.0 + opex_share * np.asarray(scale_factor))
            + np.asarray(energy))


def cost_per_mtok(gpu_hours_per_mtok, cost_per_hour, utilisation: float) -> np.ndarray:
    """Long-run marginal cost of serving 1 M tokens, $/M tokens.

    ``cost_per_hour * gpu_hours_per_mtok / utilisation``: idle capacity at the planning
    utilisation is paid for by the tokens that are sold.
    """
    return np.asarray(gpu_hours_per_mtok) * np.asarray(cost_per_hour) / utilisation


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
