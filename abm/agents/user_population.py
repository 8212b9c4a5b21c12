"""A nation's users: demand segments (income group x use-case x localised flag) as arrays."""

from __future__ import annotations

import mesa
import numpy as np

from abm.economy import paths
from abm.economy.income import quantile_group_means

REFERENCE_INCOME = 12_000.0  # $/person/yr at which need per person is 1 (normalisation)


class UserPopulation(mesa.Agent):
    """All users of one nation, held as NumPy arrays (never one object per person).

    Segment arrays have shape (income groups, use-cases, 2): the last axis splits demand
    that data-localisation confines to domestic regions (1) from the rest (0).

    Attributes
    ----------
    population : (G,) people per income group.
    income : (G,) mean income per group, $/person/yr.
    need_weight : (G,) relative token need, ``population * (income / 12,000) ** income_elasticity``.
    """

    def __init__(self, model: mesa.Model, nation, row, n_groups: int,
                 income_elasticity: float) -> None:
        super().__init__(model)
        self.nation = nation
        self.population = np.full(n_groups, float(row.population_m) * 1e6 / n_groups)
        self.income = quantile_group_means([float(row.gdp_pc_usd)], [float(row.income_gini)],
                                           n_groups)[0]
        self.need_weight = self.population * (self.income / REFERENCE_INCOME) ** income_elasticity
        self.log_shock = 0.0

    def step(self) -> None:
        """Draw this month's demand shock (AR(1) in logs, from the model's RNG)."""
        d = self.model.cfg.demand
        self.log_shock = (d.shock_persistence * self.log_shock
                          + d.shock_sd * float(self.model.rng.standard_normal()))

    def segments(self, month: int, usecase_share: np.ndarray, test_time: np.ndarray,
                 carve: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Reference demand (M tokens/month at 1 $/M), budget ($/month) and population.

        Need per use-case is ``model.usecase_weight`` (calibrated so that month-0 token shares
        match ``usecases.csv``); ``usecase_share`` (U,) splits budgets and people across
        use-cases, ``test_time`` (U,) is this month's
        tokens-per-query multiplier, ``carve`` (U,) the share of each use-case that startups
        intermediate in this nation (their users pay the startups instead).
        """
        cfg = self.model.cfg.demand
        growth = paths.declining_growth_index(month, cfg.growth_initial, cfg.growth_final)
        loc = self.nation.localisation_share
        split = np.array([1.0 - loc, loc])
        keep = 1.0 - carve  # (U,)
        need = keep * self.model.usecase_weight * test_time
        ref = (self.model.demand_scale * growth * np.exp(self.log_shock)
               * self.need_weight[:, None, None] * need[None, :, None]
               * split[None, None, :])
        keep = keep * usecase_share
        budget_share = cfg.budget_share * paths.compounding(month, cfg.budget_share_growth)
        budget = (min(budget_share, 1.0) * self.income[:, None, None] / 12.0
                  * self.population[:, None, None] * keep[None, :, None]
                  * split[None, None, :])
        pop = (self.population[:, None, None] * usecase_share[None, :, None]
               * split[None, None, :])
        return ref, budget, pop

    def total_need(self, month: int, usecase_share: np.ndarray,
                   test_time: np.ndarray) -> np.ndarray:
        """Reference demand per use-case before any carve-out (U,), M tokens/month at 1 $/M."""
        cfg = self.model.cfg.demand
        growth = paths.declining_growth_index(month, cfg.growth_initial, cfg.growth_final)
        return (self.model.demand_scale * growth * np.exp(self.log_shock)
                * self.need_weight.sum() * self.model.usecase_weight * test_time)
