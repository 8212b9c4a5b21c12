"""ComputeEconomy: the monthly economy of AI inference as a Mesa model.

One ``step()`` is one month, a one-way pipeline of stages (ARCHITECTURE.md), each in its
own module:

1. technology (:mod:`abm.economy.technology`): labs advance their models, open-weight labs
   release, nations adapt policy; the month's exogenous :class:`MonthState`;
2. training (:mod:`abm.economy.training`): labs rent compute for their runs from the fleets;
3. exchange (:mod:`abm.economy.exchange`): books from agents, :func:`abm.market.clear`,
   prices and quantities back (markups move toward Nash-Bertrand, tiers toward demand);
4. accounts (:mod:`abm.economy.accounts`): each provider's month against full cost;
5. entry and exit of startups (:mod:`abm.economy.entry`);
6. capital (:mod:`abm.economy.capital`): Tobin's-q shell orders, the chip market, credit;
7. recorder and invariants; neocloud entry and exit; time passes (vintages age).
"""

from __future__ import annotations

import math
import time
from typing import Any

import mesa
import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from abm import calibration
from abm.agents import Hyperscaler, Nation, OpenSourceLab, Startup, UserPopulation
from abm.agents.user_population import draw_shocks
from abm.config import validate
from abm.economy import accounts, capital, entry, exchange, frontier, technology, training
from abm.economy.calibrate import calibrate
from abm.economy.chips import clear_chip_market
from abm.economy.demand import DemandAdjustment
from abm.economy.setup import Geography, OutsideFleet, UseCases, initial_fleet
from abm.invariants import check_step
from abm.market import clear
from abm.recorder import Recorder
from abm.threads import RUN_THREADS

US = "United States"


class ComputeEconomy(mesa.Model):
    """The compute economy, built from a validated config; a pure function of (config, seed).

    Parameters
    ----------
    cfg : RunConfig (or anything :func:`abm.config.validate` accepts)
    rng : int or numpy.random.SeedSequence, optional
        Overrides ``cfg.seed``. Every random draw derives from it: the synthetic world (if any)
        from one child stream, the model's ``rng`` from another.
    """

    def __init__(self, cfg: Any, rng: int | np.random.SeedSequence | None = None) -> None:
        cfg = validate(cfg)
        seq = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(
            cfg.seed if rng is None else int(rng))
        world_seq, model_seq = seq.spawn(2)
        super().__init__(rng=model_seq)
        # One scan of the loaded BLAS/OpenMP libraries per model, not one per month (a scan
        # reads /proc/self/maps: ~3 ms, 5% of a default-size run when repeated every step).
        self._thread_pools = ThreadpoolController()
        with self._thread_pools.limit(limits=RUN_THREADS):  # the same bits on any machine
            self._setup(cfg, world_seq)

    def _setup(self, cfg: Any, world_seq: np.random.SeedSequence) -> None:
        self.cfg, self.month = cfg, 0
        self._timings = {"agents": 0.0, "clearing": 0.0, "metrics": 0.0}
        size = cfg.size
        self.world = calibration.world(
            size.name, nations_subset=list(size.nations) or None, synthetic=size.synthetic,
            n_nations=size.synthetic_nations, n_providers=size.synthetic_providers,
            seed=int(world_seq.generate_state(1)[0]), data_dir=cfg.data_dir)
        self.geo = Geography.from_table(self.world.nations, cfg)
        self.uc = UseCases.from_table(self.world.usecases)
        self._build_agents()
        self.startup_entries = self.startup_exits = 0
        self.provider_entries = self.provider_exits = 0
        self.debt_written_off = 0.0  # $, cumulative (entry.restructure)
        self.frontier_levels: list[float] = []
        lag = cfg.open_source.lag_months
        self.open_level = -lag if cfg.open_source.enabled else None
        self.chip_price = np.array([cfg.chips.vendor_price_usd,
                                    cfg.chips.vendor_price_usd / cfg.chips.domestic_chip_perf])
        n_sites = self.fleet.n_sites
        self.expectations = capital.Expectations(
            np.zeros(n_sites), np.zeros(n_sites), self.chip_price.copy(),
            np.full(n_sites, cfg.supply.target_utilisation))
        self.provider_demand: np.ndarray | None = None
        self.demand_adjustment = DemandAdjustment()
        self.market_revenue: list[float] = []  # the inference market's revenue, by month
        self.dependence = np.zeros(self.geo.n)
        self.initial_installed = float(self.fleet.installed.sum())
        self.state = self.month_state(0)
        self.reference_compute = self._stagger_training()
        self.state = self.month_state(0)
        calibrate(self, self.state)
        self.recorder = Recorder(self)
        #: last month's clearing price over ask per (site, tier): the next warm start
        self.last_price_ratio: np.ndarray | None = None
        self.last_result = None
        self.last_books = None

    # ------------------------------------------------------------------ construction
    def _build_agents(self) -> None:
        cfg, pol, nat = self.cfg, self.cfg.policy, self.world.nations
        self.nation_index = {n: i for i, n in enumerate(self.geo.names)}
        self.nations, self.users = [], []
        for i, row in enumerate(nat.itertuples(index=False)):
            target = row.nation != US
            nation = Nation(self, i, row, tariff=pol.tariff if target else 0.0,
                            subsidy=pol.subsidy if target else 0.0,
                            localisation_share=float(row.localisation_share)
                            + (pol.localisation_share if target else 0.0))
            self.nations.append(nation)
            self.users.append(UserPopulation(self, nation, row, cfg.size.income_groups,
                                             cfg.demand.income_elasticity,
                                             cfg.demand.subsistence_usd))
        prov = self.world.providers.copy()
        sites = self.world.provider_sites
        largest = (sites.sort_values("capacity_share", ascending=False, kind="stable")
                   .drop_duplicates("provider").set_index("provider")["nation"])
        prov["home_index"] = [self.nation_index.get(h, self.nation_index[largest[p]])
                              for h, p in zip(prov["home"], prov["provider"], strict=True)]
        share = prov["cloud_share"].to_numpy(float)
        self.providers = []
        for i, row in enumerate(prov.itertuples(index=False)):
            p = Hyperscaler(self, row, index=i,
                            training_cost_scale=float(np.sqrt(share[i] / share.max())))
            p.cloud_share = float(row.cloud_share)
            self.providers.append(p)
        self.fleet = initial_fleet(cfg, self.world, self.geo,
                                   {p.name: i for i, p in enumerate(self.providers)})
        self.outside = OutsideFleet.build(cfg, self.world, self.geo)
        self.open_labs = []
        if cfg.open_source.enabled:
            labs = self.world.open_labs
            interval = int(cfg.open_source.release_interval_months)
            for j, row in enumerate(labs.itertuples(index=False)):
                home = self.nation_index.get(row.home, int(np.argmax(self.geo.population)))
                self.open_labs.append(OpenSourceLab(
                    self, row, home=home, lag_months=cfg.open_source.lag_months,
                    release_interval=interval, phase=j * max(1, interval // len(labs)),
                    funding_growth=cfg.open_source.funding_growth,
                    funding_growth_final=cfg.training.external_capital_growth_final))
        if cfg.startups.enabled:
            weight = self.geo.population * self.geo.gdp_pc
            for u in range(self.uc.n):
                for _ in range(int(cfg.startups.initial_per_usecase)):
                    Startup(self, entry.draw(self.rng, weight), u)

    def _stagger_training(self) -> float:
        """Labs start with a window of past training at the historical trend and part-way
        through their current run; return the effective compute behind the January-2025
        frontier (capability level 0): the largest lab's window."""
        tr, s = self.cfg.training, self.cfg.supply
        n = int(tr.run_interval_months)
        cost = self.site_costs(self.state)
        per_hour = float(np.average(cost.per_hour, weights=np.maximum(self.fleet.installed,
                                                                       1e-12)))
        ago = np.arange(n, 0, -1)  # months before January 2025, oldest first
        # Budgets grew at the run-cost trend, H100e-hours got cheaper with price-performance
        # and each bought more effective compute as algorithms improved.
        window = (tr.frontier_run_cost_usd / 12.0 * tr.run_cost_growth ** (-ago / 12.0)
                  / (per_hour * s.hardware_price_performance_growth ** (ago / 12.0))
                  * tr.algorithmic_progress ** (-ago / 12.0))  # effective H100e-hours
        labs = [p for p in self.providers if p.frontier_lab]
        for j, p in enumerate(labs):
            done = round(n * j / max(len(labs), 1))
            budget = p.training_cost_scale * tr.frontier_run_cost_usd / 12.0 \
                * tr.run_cost_growth ** (-done / 12.0)
            p.seed_training(window * p.training_cost_scale, budget, done)
        reference = float(window.sum())
        for p in labs:
            p.level = float(frontier.capability_level(sum(p.compute_window) / reference,
                                                      tr.compute_growth, tr.algorithmic_progress))
        return reference

    # ------------------------------------------------------------------ helpers
    def month_state(self, month: int) -> technology.MonthState:
        """The exogenous state of ``month`` at today's capability levels."""
        level = max([p.level for p in self.providers if p.frontier_lab], default=0.0)
        return technology.month_state(self.cfg, month, self.geo.electricity, self.uc.exposure,
                                      level, self.open_level)

    def site_costs(self, state) -> exchange.SiteCosts:
        s = self.cfg.supply
        installed = np.bincount(self.fleet.provider, weights=self.fleet.installed,
                                minlength=len(self.providers))
        # scale relative to a provider with ``scale_reference_share`` of the initial fleet
        reference = self.initial_installed * s.scale_reference_share \
            if hasattr(self, "initial_installed") else None
        size = np.ones(len(self.providers)) if reference is None else \
            np.maximum(installed, 1e-9) / max(reference, 1e-9)
        subsidy = np.array([n.subsidy for n in self.nations])
        return exchange.site_costs(self.cfg, state, self.fleet, self.providers, self.chip_price,
                                   subsidy, size ** (-s.scale_economy))

    def need_per_usecase(self, state) -> np.ndarray:
        """Reference demand per unit of need weight, by use-case (U,): adoption, use per
        adopter, test-time compute and the tasks that today's frontier capability opens."""
        capability = self.cfg.demand.capability_demand_growth ** (state.frontier_level / 12.0)
        return (self.usecase_weight * state.adoption * state.use_per_adopter
                * state.test_time * capability * self.demand_adjustment.multiplier)

    def frontier_level_at(self, month: float) -> float:
        """The realised frontier's capability at ``month`` (before month 0: the trend)."""
        if month < 0 or not self.frontier_levels:
            return float(month)
        return self.frontier_levels[min(int(month), len(self.frontier_levels) - 1)]

    @property
    def market_growth(self) -> float:
        """The inference market's revenue over the last year against January 2025 (inf
        before the first month is cleared, or when January 2025 traded nothing)."""
        if not self.market_revenue or self.market_revenue[0] <= 0:
            return math.inf
        return float(np.mean(self.market_revenue[-12:]) / self.market_revenue[0])

    @property
    def open_quality(self) -> float:
        """Quality of the best open-weight model relative to the frontier (0 if none)."""
        if self.open_level is None:
            return 0.0
        return float(frontier.relative_quality(self.state.open_quality_lag,
                                               self.cfg.tiers.quality_decay_per_year))

    # ------------------------------------------------------------------ the month
    def _begin_month(self) -> technology.MonthState:
        cfg, m = self.cfg, self.month
        growth = self.market_growth  # (a property over the revenue history: once a month)
        for p in self.providers:
            p.plan_training(m, cfg, growth)
        state = self.month_state(m)
        self.frontier_levels.append(state.frontier_level)
        for lab in self.open_labs:
            level = lab.release(m, self.frontier_level_at)
            if level is not None and (self.open_level is None or level > self.open_level):
                self.open_level = level
        draw_shocks(self.users, self.rng, cfg.demand.shock_sd, cfg.demand.shock_persistence)
        domestic = np.bincount(self.fleet.nation, weights=self.fleet.shells
                               + self.fleet.shell_pipeline.sum(axis=0), minlength=self.geo.n)
        for n in self.nations:
            n.adapt_policy(cfg.policy, domestic[n.index] > 0)
        return self.month_state(m)

    def step(self) -> None:
        """Advance one month (every BLAS/OpenMP pool on one thread: :mod:`abm.threads`)."""
        with self._thread_pools.limit(limits=RUN_THREADS):
            self._advance()

    def _advance(self) -> None:
        cfg = self.cfg
        t0 = time.perf_counter()
        self.state = state = self._begin_month()
        cost = self.site_costs(state)
        rental = training.rent_training(self, state, cost.per_hour, self.serving_need)
        demand, layout = exchange.build_demand(
            cfg, state, self.geo, self.uc, self.users, self.nations,
            list(self.agents_by_type.get(Startup, [])), self.need_per_usecase(state),
            self.open_quality)
        in_supply = {"clearing": 0.0}  # the clearing core's demand at the asks (choice terms)
        supply, offers = exchange.build_supply(cfg, state, self.fleet, self.providers, cost,
                                               self.site_utilisation(), cfg.demand.nesting,
                                               demand, timings=in_supply)
        self.demand_book = demand
        t1 = time.perf_counter()
        warm = exchange.warm_start(self.last_price_ratio, offers, supply.ask)
        result = clear(supply, demand, warm_start=warm, tol=cfg.market.tolerance,
                       max_rounds=int(cfg.market.max_rounds))
        t2 = time.perf_counter()
        self.outcome = outcome = exchange.settle(cfg, result, supply, demand, offers, self.fleet,
                                                 len(self.providers), self.geo.n)
        self.last_price_ratio = exchange.price_ratio(outcome, offers.ask)
        self.dependence = outcome.dependence
        for n, d in zip(self.nations, outcome.dependence, strict=True):
            n.dependence_ratio = float(d)
        self.serving_need = outcome.demand_h100e / cfg.supply.target_utilisation
        self.market_revenue.append(float(result.offer_revenue.sum()))
        d = cfg.demand
        self.demand_adjustment.update(result.class_effective_price,
                                      outcome.class_tokens,
                                      self.geo.n * self.uc.n * 2, d.elasticity,
                                      d.long_run_elasticity, d.adjustment_speed)
        books = accounts.settle_providers(self, state, outcome, cost, rental)
        entry.startups(self, result, layout)
        invested = capital.invest(self, state, outcome, cost, rental, self._clear_chips)
        t3 = time.perf_counter()
        self.recorder.record(state, result, supply, demand, offers, layout, outcome, rental,
                             books, invested, cost)
        self.last_result, self.last_books = result, (supply, demand)
        check_step(self, result, supply, demand)
        t4 = time.perf_counter()
        entry.restructure(self)
        entry.neoclouds(self, state)
        self._time_passes()
        t5 = time.perf_counter()
        self._timings["agents"] += (t1 - t0) + (t3 - t2) + (t5 - t4) - in_supply["clearing"]
        self._timings["clearing"] += (t2 - t1) + in_supply["clearing"]
        self._timings["metrics"] += t4 - t3
        self.month += 1

    def site_utilisation(self) -> np.ndarray:
        """Expected serving utilisation per site: it sets the latency a site advertises."""
        return self.expectations.utilisation

    def _clear_chips(self, want: np.ndarray, bid: np.ndarray, nation: np.ndarray):
        """The month's chip market; the outside owners buy their share at its price."""
        ch, state = self.cfg.chips, self.state
        modelled = 1.0 - self.outside.share_of_output
        alloc = clear_chip_market(
            want, bid, nation, self.geo.export_tier, supply_h100e=state.chip_output * modelled,
            vendor_price=state.chip_list_price, supply_elasticity=ch.supply_price_elasticity,
            export_controls=ch.export_controls,
            tier2_cap_month=ch.tier2_cap_h100e_per_year / 12.0 if state.tier2_cap_active
            else None, domestic_share=ch.domestic_chip_supply_share,
            domestic_perf=ch.domestic_chip_perf)
        domestic = alloc.price_domestic if np.isfinite(alloc.price_domestic) else \
            state.chip_list_price / ch.domestic_chip_perf
        self.chip_price = np.array([alloc.price_controlled, domestic])
        # The owners outside the token market (Meta, xAI, ...) buy like the modelled ones:
        # their share of the month's purchases.
        self.outside_purchase = float(alloc.h100e.sum() * self.outside.share_of_output
                                      / modelled)
        self.chip_output_sold = float(alloc.h100e.sum()) + self.outside_purchase
        return alloc

    def _time_passes(self) -> None:
        """End of the month: vintages age and arrive, shells finish, grids grow."""
        self.fleet.advance()
        self.outside.advance(self.outside_purchase, self.state.kw_per_h100e_new)
        for n in self.nations:
            n.grow_grid()

    # ------------------------------------------------------------------ outputs
    def tables(self) -> dict[str, pd.DataFrame]:
        """The recorded tables: ``global``, ``nations``, ``providers``, ``markets``."""
        return self.recorder.tables()

    def timings(self) -> dict[str, float]:
        """Seconds spent so far in agents, clearing and metrics.

        ``clearing`` is the clearing core's work: :func:`abm.market.clear` and the demand at
        the asks that splits each site's capacity across tiers (it builds the choice terms
        the clearing reuses); ``agents`` is every other stage (the books, settlement,
        accounts, entry, capital, and after the recorder restructuring, neocloud entry and
        exit and the month's ageing); ``metrics`` is the recorder and the invariant checks.
        The three add up to the whole of every step.
        """
        return dict(self._timings)
