"""The month's exogenous state: technology, prices of inputs, demand paths (first stage).

:func:`month_state` turns the config and the month into a frozen :class:`MonthState` that
every later stage reads: hardware price-performance and power per H100e, the serving-efficiency
index of the cost-quality frontier (:mod:`abm.economy.frontier`), electricity prices with any
shock, the adoption and test-time-compute paths of demand, accelerator output and the export
rules in force. Nothing in it depends on agents except the two capability levels passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from abm.economy import frontier, paths


@dataclass(frozen=True)
class MonthState:
    """Exogenous state of one month (month 0 = January 2025).

    Attributes
    ----------
    month : int
    price_performance : H100e per $ of new accelerators, relative to January 2025.
    perf_per_watt : H100e per watt of new accelerators, relative to January 2025.
    price_performance_growth, perf_per_watt_growth : their yearly growth this month.
    kw_per_h100e_new : IT kW per H100e of this month's accelerators.
    chip_list_price : vendor list price, $ per H100e.
    shell_cost_per_kw : $ per kW (IT) of a data-centre shell and host equipment.
    efficiency : serving-efficiency index ``E_t`` of the cost-quality frontier.
    kappa : growth of compute per token per frontier-month (1/month).
    frontier_level, open_level : capability of the best closed model and of the best
        open-weight model (frontier-months; ``open_level`` None when there is none).
    electricity : (N,) $/kWh by nation, shock included.
    test_time : (U,) tokens per query by use-case relative to January 2025.
    adoption : share of people using AI (Bass diffusion).
    use_per_adopter : use per adopter at constant prices, relative to January 2025.
    budget_share : share of supernumerary income a segment may spend on tokens.
    chip_output : world accelerator output at the list price, H100e/month.
    tier2_cap_active : whether the tier-2 export cap is in force this month.
    cost_of_capital, economic_depreciation : per year.
    algorithmic_index : effective compute per unit of physical compute vs January 2025.
    """

    month: int
    price_performance: float
    perf_per_watt: float
    price_performance_growth: float
    perf_per_watt_growth: float
    kw_per_h100e_new: float
    chip_list_price: float
    shell_cost_per_kw: float
    efficiency: float
    kappa: float
    frontier_level: float
    open_level: float | None
    electricity: np.ndarray
    test_time: np.ndarray
    adoption: float
    use_per_adopter: float
    budget_share: float
    chip_output: float
    tier2_cap_active: bool
    cost_of_capital: float
    economic_depreciation: float
    algorithmic_index: float

    @property
    def year(self) -> int:
        """The calendar year."""
        return 2025 + self.month // 12

    @property
    def monthly_discount(self) -> float:
        """``1 / (1 + i)`` per month for the yearly cost of capital ``i``."""
        return (1.0 + self.cost_of_capital) ** (-1.0 / 12.0)

    def compute_per_mtok(self, level, g0: float):
        """H100e-hours per M tokens of models at capability ``level`` this month."""
        return frontier.compute_per_mtok(level, g0, self.kappa, self.efficiency)

    @property
    def open_quality_lag(self) -> float:
        """How far the best open-weight model trails the frontier (months; inf if none)."""
        if self.open_level is None:
            return math.inf
        return max(0.0, self.frontier_level - self.open_level)


def month_state(cfg, month: int, base_electricity: np.ndarray, exposure: np.ndarray,
                frontier_level: float, open_level: float | None) -> MonthState:
    """Build the exogenous state of ``month`` from the config.

    Parameters
    ----------
    cfg : RunConfig
    month : int
    base_electricity : (N,) industrial electricity price by nation before any shock, $/kWh.
    exposure : (U,) exposure of each use-case to test-time compute (0-1).
    frontier_level, open_level : capability levels (frontier-months) set by the labs.
    """
    s, d, ch, tr = cfg.supply, cfg.demand, cfg.chips, cfg.training
    pp = paths.declining_growth_index(month, s.hardware_price_performance_growth,
                                      s.hardware_growth_final)
    ppw = paths.declining_growth_index(month, s.hardware_perf_per_watt_growth,
                                       s.hardware_growth_final)
    algorithmic = paths.declining_growth_index(month, tr.algorithmic_progress,
                                               tr.algorithmic_progress_final)
    software = paths.declining_growth_index(month, s.software_efficiency_growth,
                                            s.software_efficiency_growth_final)
    shock = cfg.energy.price_shock if month >= cfg.energy.price_shock_month else 1.0
    test_time = np.array([paths.test_time_multiplier(month, d.test_time_multiplier_final,
                                                     d.test_time_saturation_years, e)
                          for e in exposure])
    units = paths.declining_growth_index(month, ch.supply_growth, ch.supply_growth_final)
    return MonthState(
        month=int(month),
        price_performance=pp,
        perf_per_watt=ppw,
        price_performance_growth=paths.growth_rate(month, s.hardware_price_performance_growth,
                                                   s.hardware_growth_final),
        perf_per_watt_growth=paths.growth_rate(month, s.hardware_perf_per_watt_growth,
                                               s.hardware_growth_final),
        kw_per_h100e_new=s.h100e_kw / ppw,
        chip_list_price=ch.vendor_price_usd / pp,
        shell_cost_per_kw=s.build_cost_usd_per_kw,
        efficiency=software * math.sqrt(algorithmic),
        kappa=frontier.kappa(tr.compute_growth, tr.algorithmic_progress),
        frontier_level=float(frontier_level),
        open_level=None if open_level is None else float(open_level),
        electricity=np.asarray(base_electricity, dtype=float) * shock,
        test_time=test_time,
        adoption=paths.bass_adoption(month, d.adoption_month0, d.adoption_innovation,
                                     d.adoption_imitation),
        use_per_adopter=paths.declining_growth_index(month, d.growth_initial, d.growth_final),
        budget_share=min(1.0, d.budget_share * paths.compounding(month, d.budget_share_growth)),
        chip_output=ch.supply_h100e_month0 * units * pp,
        tier2_cap_active=bool(ch.export_controls) and month < ch.tier2_cap_end_month,
        cost_of_capital=s.cost_of_capital,
        economic_depreciation=s.economic_depreciation,
        algorithmic_index=algorithmic,
    )
