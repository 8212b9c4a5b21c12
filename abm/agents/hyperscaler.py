"""Cloud providers (hyperscalers, Chinese clouds, neoclouds, sovereign clouds).

A provider owns data-centre sites, held for all providers at once in the model's
:class:`~abm.economy.fleet.Fleet` (its sites are ``fleet.provider == index``). The agent holds
what is the provider's own: its identity, its appeal to users (the provider nest's ``delta``,
calibrated to revenue shares), its finances (cash, credit), its expectations, and, for a
frontier lab, its training runs and the capability of its models. Its decisions:

- which tiers it serves and at what capability (frontier, mid and small models of its own lab
  or licensed a lag behind the frontier, and hosted open weights);
- how much to train: a frontier lab starts a run every interval, aiming at the historical
  growth of run costs (Cottier et al. 2024) and spending what its fund allows; its models'
  capability follows the effective compute of its recent training (:mod:`abm.economy.frontier`);
- how much it can invest: cash plus credit against the expected value of its fleet
  (a loan-to-value constraint; Kiyotaki and Moore 1997), so a provider that keeps losing money
  loses its credit (the investment rule itself is in :mod:`abm.economy.capital`).
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from abm.economy import frontier, paths

TIER_NAMES = ("frontier", "mid", "small", "open")
N_TIERS = len(TIER_NAMES)
FRONTIER, MID, SMALL, OPEN = range(N_TIERS)
OPEN_HOST_KINDS = ("neocloud", "sovereign")


class Hyperscaler(mesa.Agent):
    """A provider of inference capacity (see the module docstring).

    Attributes
    ----------
    index : position in the model's provider list (= ``fleet.provider`` of its sites).
    level : capability of its best model, frontier-months (January-2025 frontier = 0).
    appeal : log choice weight of its nest (delta_f of the nested logit).
    cash : $ of the serving business (negative = borrowed at the cost of capital plus the
        finance premium); a lab's training is paid from its separate ``training_fund``.
    expected_growth : expected yearly growth of the compute its users demand.
    """

    def __init__(self, model: mesa.Model, row, *, index: int, training_cost_scale: float = 1.0,
                 appeal: float = 0.0) -> None:
        super().__init__(model)
        self.index = int(index)
        self.name: str = row.provider
        self.kind: str = row.kind
        self.home: int = int(row.home_index)
        self.frontier_lab = bool(row.frontier_lab)
        self.custom_silicon = bool(row.custom_silicon)
        self.lag_offset = float(row.frontier_lag_months)
        self.open_host = self.kind in OPEN_HOST_KINDS
        self.training_cost_scale = float(training_cost_scale)
        self.appeal = float(appeal)
        self.level = -self.lag_offset
        self.months_since_run = 0
        self.run_budget = 0.0  # $ per month of the current run
        self.compute_window: list[float] = []  # effective H100e-hours of recent months
        self.training_fund = 0.0
        self.training_spend = 0.0
        self.training_h100e = 0.0
        self.cash = 0.0
        self.distress = 0
        self.expected_growth = 1.0
        # this month's accounts, $
        self.revenue = 0.0
        self.rental_income = 0.0
        self.energy_cost = 0.0
        self.opex = 0.0
        self.depreciation = 0.0
        self.interest = 0.0
        self.capex = 0.0
        self.profit = 0.0
        self.credit_limit = 0.0
        self.collateral = 0.0
        self.reserve = 0.0  # $ of cash above which profits are paid out (Jensen 1986)
        self.operating_floor = 0.0  # $ of cash kept for operations, never invested
        self.ebit_window: list[float] = []  # operating profit of recent months, $

    # -- models and tiers -------------------------------------------------------------------
    def offered_tiers(self, open_available: bool) -> np.ndarray:
        """Which of the four tiers it serves (4,) bool.

        Neoclouds and sovereign clouds have no model of their own: they are the competitive
        fringe that hosts open weights (and serve nothing when there are none).
        """
        mask = np.array([not self.open_host] * 3 + [open_available])
        return mask

    def model_level(self, frontier_level: float) -> float:
        """Capability of its best model (frontier-months): its own lab's, or licensed a lag
        behind the frontier."""
        return self.level if self.frontier_lab else frontier_level - self.lag_offset

    def tier_levels(self, frontier_level: float, open_level: float | None, mid_lag: float,
                    small_lag: float) -> np.ndarray:
        """Capability of its four tiers (4,), frontier-months; the open tier is the best
        open-weight release (-inf when there is none)."""
        top = self.model_level(frontier_level)
        open_ = -math.inf if open_level is None else open_level
        return np.array([top, top - mid_lag, top - small_lag, open_])

    # -- training -----------------------------------------------------------------------------
    def seed_training(self, window: np.ndarray, run_budget: float, months_into_run: int) -> None:
        """Start with the effective compute of its last months of training (oldest first) and
        part-way through a run of ``run_budget`` $ per month."""
        self.compute_window = [float(c) for c in window]
        self.run_budget = float(run_budget)
        self.months_since_run = int(months_into_run)

    def plan_training(self, month: int, cfg, market_growth: float = math.inf) -> float:
        """This month's training budget, $ (zero for providers that are not labs).

        Spending is episodic: every ``run_interval_months`` a lab starts a run that aims at the
        trend of run costs (``frontier_run_cost_usd`` growing at ``run_cost_growth``,
        Cottier et al. 2024) and spends what its fund allows, evenly over the run. The fund
        grows by outside capital (``external_capital_usd`` a year, its growth slowing from
        ``external_capital_growth`` to ``external_capital_growth_final``, and never faster
        than the inference market's revenue since January 2025, ``market_growth``: investors
        fund training on the prospects of the market it serves) and a share of last month's
        revenue.
        """
        if not self.frontier_lab:
            return 0.0
        tr = cfg.training
        n = int(tr.run_interval_months)
        growth = min(paths.declining_growth_index(month, tr.external_capital_growth,
                                                  tr.external_capital_growth_final),
                     market_growth)
        outside = tr.external_capital_usd * self.training_cost_scale * growth / 12.0
        # The fund is earmarked for training: outside capital goes into it directly, the
        # revenue share comes out of cash. Training is paid from it, not from cash.
        internal = tr.budget_share * max(self.revenue, 0.0)
        self.cash -= internal
        self.training_fund += outside + internal
        self.months_since_run += 1
        if self.months_since_run >= n:
            potential = (tr.frontier_run_cost_usd * self.training_cost_scale * n / 12.0
                         * paths.compounding(month, tr.run_cost_growth))
            budget = max(0.0, min(potential, self.training_fund))
            self.training_fund -= budget
            self.run_budget = budget / n
            self.months_since_run = 0
        return self.run_budget

    def receive_training(self, h100e: float, spend: float, hours: float,
                         algorithmic_index: float, cfg, reference_compute: float) -> None:
        """Book the H100e rented this month and update the capability of its models.

        A model is trained on the lab's last ``run_interval_months`` of effective compute
        (H100e-hours times the algorithmic-efficiency index), so capability moves with the
        compute it buys, without the jump of a finished run (:mod:`abm.economy.frontier`).
        """
        self.training_h100e = float(h100e)
        self.training_spend = float(spend)
        if not self.frontier_lab:
            return
        tr = cfg.training
        self.compute_window.append(h100e * hours * algorithmic_index)
        del self.compute_window[:-int(tr.run_interval_months)]
        level = float(frontier.capability_level(sum(self.compute_window) / reference_compute,
                                                tr.compute_growth, tr.algorithmic_progress))
        # Capability is not forgotten when spending pauses.
        self.level = max(self.level, level)

    # -- money ------------------------------------------------------------------------------
    def settle(self, *, revenue: float, rental_income: float, energy: float, opex: float,
               depreciation: float, capital_rate_month: float) -> None:
        """Book a month: profit against full cost, cash against cash costs.

        Profit is revenue (tokens and rented compute) minus energy, opex, the depreciation of
        its actual vintages, interest on what it borrowed and its training spend.
        """
        self.revenue = float(revenue)
        self.rental_income = float(rental_income)
        self.energy_cost = float(energy)
        self.opex = float(opex)
        self.depreciation = float(depreciation)
        self.interest = max(-self.cash, 0.0) * capital_rate_month
        self.profit = (self.revenue + self.rental_income - self.energy_cost - self.opex
                       - self.depreciation - self.interest - self.training_spend)
        self.cash += (self.revenue + self.rental_income - self.energy_cost - self.opex
                      - self.interest)

    @property
    def operating_profit(self) -> float:
        """Earnings before interest and training (EBIT of its fleet), $ this month: revenue
        and rental income less energy, opex and the depreciation of its vintages."""
        return (self.revenue + self.rental_income - self.energy_cost - self.opex
                - self.depreciation)

    def pay_out(self, buffer_months: float, committed: float = 0.0,
                operating_months: float = 0.0) -> float:
        """Pay cash above ``buffer_months`` of revenue and the ``committed`` cost of chips for
        the shells it is building (while it meets its covenant) to shareholders: free cash
        flow is paid out (Jensen 1986), so a loss-making provider cannot live off past
        profits. Returns the payout, $."""
        self.reserve = buffer_months * max(self.revenue + self.rental_income, 0.0)
        self.operating_floor = operating_months * max(self.energy_cost + self.opex
                                                      + self.interest, 0.0)
        # a provider in breach of its covenant halts its projects rather than fund them
        keep = max(committed, 0.0) if self.meets_covenant else 0.0
        payout = max(0.0, self.cash - self.reserve - keep)
        self.cash -= payout
        return payout

    def restructure(self) -> float:
        """Chapter 11 reorganisation: creditors write its debt down to what the fleet can
        carry (its collateral) in exchange for equity, so interest cannot compound without
        bound on a fleet worth less than the debt (Gilson, John and Lang 1990). Returns the
        debt written off, $."""
        written_off = max(0.0, -self.cash - self.collateral)
        self.cash += written_off
        self.distress = 0
        return written_off

    def update_credit(self, fleet_value: float, loan_to_value: float,
                      covenant_months: int) -> None:
        """Debt capacity against the expected value of its fleet; track distress.

        Lenders lend up to ``loan_to_value`` of the fleet's value (its collateral). New
        borrowing also needs earnings: a provider whose operating profit (EBIT) over the last
        ``covenant_months`` is negative breaches its interest-cover covenant and may not draw
        more, though its existing debt is not called (Chava and Roberts 2008). ``distress``
        counts the months its debt exceeds the collateral.
        """
        self.ebit_window.append(self.operating_profit)
        del self.ebit_window[:-int(covenant_months)]
        self.collateral = loan_to_value * max(fleet_value, 0.0)
        debt = max(-self.cash, 0.0)
        self.credit_limit = (self.collateral if self.meets_covenant
                             else min(self.collateral, debt))
        self.distress = self.distress + 1 if debt > self.collateral else 0

    @property
    def meets_covenant(self) -> bool:
        """Its operating profit over the covenant window is not negative."""
        return sum(self.ebit_window) >= 0.0

    @property
    def available_funds(self) -> float:
        """What it can spend on investment now, $: cash above its operating floor plus
        unused credit. The floor is ``supply.operating_cash_months`` of cash operating costs
        (energy, opex, interest), set by :meth:`pay_out`. It is not the payout reserve
        (``supply.cash_buffer_months`` of revenue): with the reserve as the floor, a provider
        whose revenue rose with scarcity prices could not invest, so scarcity persisted
        and raised the reserve further (in 404 of the 1,100 full Morris runs no chip was
        bought in January 2025). A provider in breach of its covenant (operating losses over
        ``supply.covenant_months``) invests nothing."""
        if not self.meets_covenant:  # in breach it halts its projects (as in pay_out)
            return 0.0
        return max(0.0, self.cash - self.operating_floor + self.credit_limit)

    def pay_capex(self, amount: float) -> None:
        self.capex += float(amount)
        self.cash -= float(amount)

    def update_expectations(self, observed_growth: float, weight: float) -> None:
        """Adaptive expectations (Nerlove 1958) of the yearly growth of its users' demand."""
        if observed_growth > 0 and math.isfinite(observed_growth):
            self.expected_growth = math.exp((1 - weight) * math.log(self.expected_growth)
                                            + weight * math.log(observed_growth))
