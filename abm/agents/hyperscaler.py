"""Cloud providers (hyperscalers, Chinese clouds, neoclouds, sovereign clouds).

Each holds data-centre sites (compute in H100e and power in MW, by region), a build pipeline,
cash, and the models it serves in four tiers (frontier, mid, small and a hosted open-weight
model). It prices its closed tiers by partial adjustment toward the Nash-Bertrand best
response (mechanism 8), invests revenue in capacity that arrives after the build lead time and
needs chips and power (mechanisms 6, 7, 11), and, if it is a frontier lab, funds training runs
that keep its models at the frontier (mechanisms 1, 3).
"""

from __future__ import annotations

import mesa
import numpy as np

from abm.economy import paths

TIER_NAMES = ("frontier", "mid", "small", "open")
N_TIERS = len(TIER_NAMES)
OPEN = 3
OPEN_HOST_KINDS = ("neocloud", "sovereign")


class Hyperscaler(mesa.Agent):
    """A provider of inference capacity.

    Attributes
    ----------
    site_nation : (K,) nation index of each site (one region per nation).
    compute : (K,) installed H100e per site.
    power_mw : (K,) IT power of the installed fleet per site, MW.
    pipeline_compute, pipeline_power : (L, K) builds arriving in 1..L months.
    tier_alloc : (K, 4) share of each site's compute given to each tier.
    ask : (K, 4) posted prices, $/M tokens.
    level : capability of its best model in frontier-months (see :meth:`model_level`).
    cash : $ (negative = drawn on credit).
    """

    def __init__(self, model: mesa.Model, row, sites: np.ndarray, compute: np.ndarray,
                 initial_kw_per_h100e: float, lead_months: int, initial_alloc: np.ndarray,
                 initial_ask: np.ndarray, training_cost_scale: float = 1.0) -> None:
        super().__init__(model)
        self.name: str = row.provider
        self.kind: str = row.kind
        self.home: int = int(row.home_index)
        self.frontier_lab = bool(row.frontier_lab)
        self.custom_silicon = bool(row.custom_silicon)
        # Capability of its best model in frontier-months (January 2025 frontier = 0). Labs
        # raise it by training; others license a model ``lag_offset`` behind the frontier.
        self.level = -float(row.frontier_lag_months)
        self.lag_offset = float(row.frontier_lag_months)
        # A run's capability reaches users gradually over the next interval (staged
        # releases, post-training): level moves from run_start_level to run_target_level.
        self.run_start_level = self.run_target_level = self.level
        self.site_nation = np.asarray(sites, dtype=np.int64)
        k = self.site_nation.size
        self.compute = np.asarray(compute, dtype=float).copy()
        self.power_mw = self.compute * initial_kw_per_h100e / 1000.0
        # Book value of the fleet, $: installed at January-2025 replacement cost.
        self.book_value = float(self.compute.sum()) * model.cfg.supply.capex_per_h100e_usd
        self.pipeline_book = np.zeros(lead_months)
        self.pipeline_compute = np.zeros((lead_months, k))
        self.pipeline_power = np.zeros((lead_months, k))
        # Neoclouds and sovereign clouds have no frontier lab of their own: while open
        # weights exist they are the competitive fringe that hosts them (near cost).
        self.open_host = self.kind in OPEN_HOST_KINDS and model.cfg.open_source.enabled
        self.tier_alloc = np.broadcast_to(initial_alloc, (k, N_TIERS)).copy()
        if self.open_host:
            self.tier_alloc[:] = np.eye(N_TIERS)[OPEN]
        self.training_cost_scale = training_cost_scale
        self.appeal = 0.0
        self.ask = np.tile(initial_ask, (k, 1)).astype(float)
        self.cash = 0.0
        self.distress = 0
        self.training_fund = 0.0
        self.training_spend = 0.0
        self.months_since_run = 0
        tr = model.cfg.training
        # Frontier labs start mid-way through the run that produced their January-2025 model.
        n = int(tr.run_interval_months)
        self.training_schedule: list[float] = (
            [tr.frontier_run_cost_usd * training_cost_scale / n] * n
            if self.frontier_lab else [])
        self.revenue = 0.0
        self.revenue_history: list[float] = []
        self.tokens_history: list[float] = []
        self.capex = 0.0
        self.profit = 0.0
        self.fleet_cost = 0.0
        self.utilisation = np.full((k, N_TIERS), model.cfg.supply.target_utilisation)
        self.tokens = np.zeros((k, N_TIERS))
        self.tier_compute_demand = np.zeros((k, N_TIERS))
        self.markup: np.ndarray | None = None  # ask / marginal cost, set on first post
        self.last_price = self.ask.copy()
        self.best_response = self.ask.copy()

    # -- capacity ---------------------------------------------------------------------------
    def commission(self) -> None:
        """Depreciate the fleet and bring this month's finished builds online."""
        life = self.model.cfg.supply.hardware_life_months
        retired_mw = self.power_mw / life
        self.compute *= 1.0 - 1.0 / life
        self.power_mw -= retired_mw
        self.model.release_power(self.site_nation, retired_mw)
        self.compute += self.pipeline_compute[0]
        self.power_mw += self.pipeline_power[0]
        self.book_value += self.pipeline_book[0]
        self.pipeline_book = np.roll(self.pipeline_book, -1)
        self.pipeline_book[-1] = 0.0
        self.pipeline_compute = np.roll(self.pipeline_compute, -1, axis=0)
        self.pipeline_power = np.roll(self.pipeline_power, -1, axis=0)
        self.pipeline_compute[-1] = 0.0
        self.pipeline_power[-1] = 0.0

    def kw_per_h100e(self) -> np.ndarray:
        """Vintage-weighted IT power per H100e at each site, kW."""
        return np.divide(self.power_mw * 1000.0, self.compute,
                         out=np.full_like(self.compute, self.model.kw_per_h100e_new),
                         where=self.compute > 0)

    def custom_silicon_ready(self) -> bool:
        return (self.custom_silicon
                and self.model.month >= self.model.cfg.supply.custom_silicon_lead_months)

    def reallocate(self) -> None:
        """Move fungible compute toward the tiers that earn most per H100e-hour.

        Multiplicative-weights step: each tier's share grows with its revenue per H100e-hour
        (clearing price over H100e-hours per M tokens) relative to the site average, so a
        tier whose capacity binds (scarcity premium) draws compute from slack ones.
        """
        if self.open_host:
            return
        value = self.last_price / self.model.gpu_hours[None, :]  # $ per H100e-hour
        open_ok = self.model.cfg.open_source.enabled and self.model.open_quality > 0
        if not open_ok:
            value[:, OPEN] = 0.0
        mean = (self.tier_alloc * value).sum(axis=1, keepdims=True)
        ratio = np.divide(value, mean, out=np.ones_like(value), where=mean > 0)
        alloc = self.tier_alloc * np.clip(ratio, 0.5, 2.0) ** 0.5
        alloc = np.maximum(alloc, 0.02)  # keep every tier on offer
        if not open_ok:
            alloc[:, OPEN] = 0.0
        self.tier_alloc = alloc / alloc.sum(axis=1, keepdims=True)

    # -- quality ----------------------------------------------------------------------------
    def tier_quality(self) -> np.ndarray:
        """Quality of its four tiers relative to the best model on the market (= 1)."""
        t = self.model.cfg.tiers
        lag = self.model.frontier_level - self.model_level()
        lags = np.array([lag, lag + t.mid_lag_months, lag + t.small_lag_months, 0.0])
        q = paths.relative_quality(lags, t.quality_decay_per_year)
        q[OPEN] = self.model.open_quality
        return q

    def model_level(self) -> float:
        """Capability of its best model, frontier-months."""
        if self.frontier_lab:
            return self.level
        return self.model.frontier_level - self.lag_offset

    # -- pricing ----------------------------------------------------------------------------
    def post_asks(self, marginal_cost: np.ndarray) -> np.ndarray:
        """This month's asks, $/M tokens: marginal cost times the provider's markups.

        Markups, not price levels, are what adjust slowly, so falling costs pass through to
        asks at once (the first call turns the January-2025 list prices into markups).
        """
        if self.markup is None:
            self.markup = self.ask / marginal_cost
        floor = np.ones(N_TIERS)
        floor[OPEN] = 1.0 + self.model.cfg.supply.open_weights_markup
        self.markup = np.maximum(self.markup, floor[None, :])
        self.ask = marginal_cost * self.markup
        return self.ask

    def set_prices(self, best_response: np.ndarray, marginal_cost: np.ndarray,
                   clearing_price: np.ndarray) -> None:
        """Partially adjust markups toward this month's target (log scale).

        The target of a closed tier is the Nash-Bertrand best response or, where capacity
        bound, the market-clearing price if higher (a capacity-constrained firm posts the price
        that sells its capacity). Hosted open weights target cost plus the hosting margin, or
        the clearing price where hosting capacity bound.
        """
        s = self.model.cfg.supply
        lam = s.price_adjustment
        target = np.maximum(best_response, marginal_cost)
        target[:, OPEN] = marginal_cost[:, OPEN] * (1.0 + s.open_weights_markup)
        self.best_response = target.copy()
        binding = clearing_price > self.ask * (1 + 1e-9)
        target = np.where(binding, np.maximum(target, clearing_price), target)
        self.markup = np.exp((1 - lam) * np.log(self.markup)
                             + lam * np.log(target / marginal_cost))

    # -- money ------------------------------------------------------------------------------
    def settle(self, revenue: float, tokens: np.ndarray, capacity: np.ndarray,
               fleet_cost: float, cash_cost: float, compute_demand: np.ndarray) -> None:
        """Book a month of sales. ``fleet_cost``: economic cost of the whole fleet ($, incl.
        hardware amortisation); ``cash_cost``: its cash part (energy and opex)."""
        self.revenue = revenue
        self.tokens = tokens
        self.utilisation = np.divide(tokens, capacity, out=np.zeros_like(tokens),
                                     where=capacity > 0)
        self.fleet_cost = fleet_cost
        self.profit = revenue - fleet_cost - self.training_spend
        self.cash += revenue - cash_cost
        self.tier_compute_demand = compute_demand
        self.revenue_history.append(revenue)
        self.tokens_history.append(float(tokens.sum()))

    def train(self) -> None:
        """Frontier labs fund a training run every interval if they can; others keep their lag.

        A funded run brings the lab's models back to the frontier; its cost is spent over the
        next interval (training compute spend).
        """
        tr = self.model.cfg.training
        self.months_since_run += 1
        phase = min(1.0, self.months_since_run / tr.run_interval_months)
        self.level = max(self.level, self.run_start_level
                         + phase * (self.run_target_level - self.run_start_level))
        self.training_spend = self.training_schedule.pop(0) if self.training_schedule else 0.0
        if not self.frontier_lab:
            return
        outside = (tr.external_capital_usd * self.training_cost_scale
                   * paths.compounding(self.model.month, tr.external_capital_growth))
        credit = self.model.cfg.supply.external_finance_months * max(self.revenue, 0.0)
        internal = min(tr.budget_share * max(self.revenue, 0.0),
                       max(0.0, self.cash + credit))
        self.cash -= internal
        self.training_fund += outside / 12.0 + internal
        if self.months_since_run < tr.run_interval_months:
            return
        # It aims at the historical trend of run costs and spends what its fund allows;
        # capability follows log training compute (see ``capability_level``).
        potential = (tr.frontier_run_cost_usd * self.training_cost_scale
                     * paths.compounding(self.model.month, tr.run_cost_growth))
        cost = min(potential, self.training_fund)
        if cost <= 0:
            return
        self.training_fund -= cost
        n = int(tr.run_interval_months)
        spread = [cost / n] * n
        self.training_schedule = [a + b for a, b in
                                  zip(spread, [*self.training_schedule, *[0.0] * n],
                                      strict=False)]
        self.run_start_level = self.level
        self.run_target_level = max(self.level, self.model.capability_level(cost))
        self.months_since_run = 0

    def stagger_training(self, phase: float) -> None:
        """Start ``phase`` (0-1) of the way through the current run, so labs' runs interleave."""
        n = int(self.model.cfg.training.run_interval_months)
        done = round(phase * n)
        self.months_since_run = done
        self.training_schedule = self.training_schedule[done:]

    # -- investment -------------------------------------------------------------------------
    def chip_bids(self) -> tuple[np.ndarray, np.ndarray]:
        """H100e wanted per site and the most it pays per H100e, $.

        Plans capacity for ``target_utilisation`` of expected demand when today's orders arrive,
        extrapolating its own trailing 12-month token growth; the bid price is the present
        value of the margin an H100e earns over its life, capped at 3x the vendor price.
        """
        s = self.model.cfg.supply
        lead = self.pipeline_compute.shape[0]
        hist = self.tokens_history
        if len(hist) >= 13 and hist[-13] > 0:
            growth = (hist[-1] / hist[-13]) if hist[-1] > 0 else 1.0
        else:
            growth = self.model.expected_growth
        growth = float(np.clip(growth, 1.0, 8.0))
        # Demand at its unconstrained price, not just what scarce capacity let it sell: a
        # clearing price above the Nash-Bertrand best response reveals demand rationed by
        # price (own-price elasticity ~2).
        scarcity = np.clip(self.last_price / self.best_response, 1.0, 2.0) ** 2
        busy = (self.tier_compute_demand * scarcity).sum(axis=1)  # H100e-hours per month
        needed = busy / 730.0 * growth ** (lead / 12.0) / s.target_utilisation
        planned = self.compute * (1 - lead / s.hardware_life_months) + self.pipeline_compute.sum(0)
        want = np.maximum(0.0, needed - planned)
        tokens = self.tokens.sum()
        margin_per_hour = (self.revenue - self.fleet_cost) / max(self.compute.sum() * 730, 1e-9)
        value = self.model.capex_per_h100e_now + max(margin_per_hour, 0.0) * 730 * 12
        bid = min(value, 3.0 * self.model.vendor_price_now) if tokens > 0 else \
            self.model.vendor_price_now
        # Reinvest a multiple of revenue (or spend cash in hand, e.g. an entrant's launch
        # capital), as far as cash plus the credit line (months of revenue) allows: debt
        # never exceeds the credit line.
        revenue = max(self.revenue, 0.0)
        budget = max(0.0, min(max(s.reinvestment_rate * revenue, self.cash),
                              self.cash + s.external_finance_months * revenue))
        # Budget at the expected installed cost: last month's chip price plus the building.
        m = self.model
        chip = m.chip_price if np.isfinite(getattr(m, "chip_price", np.nan)) \
            else m.vendor_price_now
        unit_cost = chip + max(m.capex_per_h100e_now - m.vendor_price_now, 0.0)
        cost = want.sum() * unit_cost
        if cost > budget:
            want *= budget / cost
        return want, np.full(want.shape, bid)

    def amortise(self) -> float:
        """This month's depreciation of the installed fleet's book value, $."""
        amount = self.book_value / self.model.cfg.supply.hardware_life_months
        self.book_value -= amount
        return amount

    def order(self, h100e: np.ndarray, power_mw: np.ndarray, spend: float,
              book_cost: float) -> None:
        """Put chips bought this month into the build pipeline (they arrive after the lead).

        ``spend``: what the provider pays, $ (net of subsidies); ``book_cost``: the full cost
        that enters the fleet's book value (inference compute spend counts all of it).
        """
        self.pipeline_compute[-1] += h100e
        self.pipeline_power[-1] += power_mw
        self.pipeline_book[-1] += book_cost
        self.capex = spend
        self.cash -= spend
