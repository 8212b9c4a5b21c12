"""ComputeEconomy: the monthly economy of AI inference as a Mesa model.

One ``step()`` is one month, shaped like HARK's market (reap, mill, sow):

1. agents act: labs release open weights, nations grow grids and adapt policy, users draw
   demand shocks, providers commission builds, train and reallocate compute across tiers;
2. the model gathers their offers and demand into a :class:`SupplyBook` and a
   :class:`DemandBook` and the pure clearing core :func:`abm.market.clear` sets prices;
3. providers, startups and nations receive quantities and money; providers re-price toward the
   Nash-Bertrand best response and bid for chips, which the double auction allocates under
   export controls and grid limits; startups enter and exit;
4. metrics are recorded and invariants checked (a violation raises with month and quantity).
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import mesa
import numpy as np
import pandas as pd

from abm import calibration
from abm.agents import Hyperscaler, Nation, OpenSourceLab, Startup, UserPopulation
from abm.agents.hyperscaler import N_TIERS, OPEN
from abm.config import validate
from abm.economy import costs, paths
from abm.economy.chips import clear_chip_market
from abm.economy.geography import latency_matrix_ms
from abm.invariants import check_step
from abm.market import ClearingResult, DemandBook, SupplyBook, clear
from abm.market.pricing import nash_bertrand_price
from abm.recorder import Recorder

US = "United States"
UNCONSTRAINED = 1e18  # capacity used when calibrating demand, M tokens/month


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
        self.cfg = cfg
        self.month = 0
        self._timings = {"agents": 0.0, "clearing": 0.0, "metrics": 0.0}
        size = cfg.size
        self.world = calibration.world(
            size.name, nations_subset=list(size.nations) or None, synthetic=size.synthetic,
            n_nations=size.synthetic_nations, n_providers=size.synthetic_providers,
            seed=int(world_seq.generate_state(1)[0]), data_dir=cfg.data_dir)
        self._build_geography()
        self._build_usecases()
        self._build_agents()
        self.open_level: float | None = None  # capability of the best open model
        self.frontier_level = 0.0
        self.frontier_levels: list[float] = []  # realised frontier, by month
        self.startup_exits = 0
        self.startup_entries = 0
        self.provider_entries = 0
        self.provider_exits = 0
        self.expected_growth = cfg.demand.growth_initial
        if cfg.open_source.enabled:
            # Open-weight models already existed in January 2025 (one release lag behind).
            self.register_open_release(float(-cfg.open_source.lag_months))
        self._update_paths()
        self._calibrate()
        self.recorder = Recorder(self)
        self.last_result: ClearingResult | None = None

    # ------------------------------------------------------------------ construction
    def _build_geography(self) -> None:
        nat = self.world.nations
        self.nation_names = nat["nation"].tolist()
        self.nation_index = {n: i for i, n in enumerate(self.nation_names)}
        self.n_nations = len(nat)
        self.latency_ms = latency_matrix_ms(nat["lat"], nat["lon"], nat["lat"], nat["lon"])
        self.region_nation = np.arange(self.n_nations)
        self.population = nat["population_m"].to_numpy(float) * 1e6
        self.dc_twh_2024 = nat["dc_twh_2024"].to_numpy(float)
        self.export_tier = nat["export_tier"].to_numpy(int)
        us = self.nation_index.get(US)
        self.is_policy_target = np.ones(self.n_nations, bool)
        if us is not None:
            self.is_policy_target[us] = False

    def _build_usecases(self) -> None:
        uc = self.world.usecases
        self.usecase_names = uc["usecase"].tolist()
        self.n_usecases = len(uc)
        self.usecase_share = uc["token_share"].to_numpy(float)
        self.usecase_share = self.usecase_share / self.usecase_share.sum()
        self.usecase_tolerance = uc["latency_tolerance_ms"].to_numpy(float)
        self.usecase_latency_cost = uc["latency_cost"].to_numpy(float)
        self.usecase_threshold = uc["quality_threshold"].to_numpy(float)
        self.usecase_quality_cost = uc["quality_cost"].to_numpy(float)
        self.usecase_exposure = uc["test_time_exposure"].to_numpy(float)

    def _build_agents(self) -> None:
        cfg = self.cfg
        pol = cfg.policy
        nat = self.world.nations
        self.nations: list[Nation] = []
        self.users: list[UserPopulation] = []
        for i, row in enumerate(nat.itertuples(index=False)):
            target = bool(self.is_policy_target[i])
            nation = Nation(self, i, row,
                            localisation_share=float(row.localisation_share)
                            + (pol.localisation_share if target else 0.0),
                            tariff=pol.tariff if target else 0.0,
                            subsidy=pol.subsidy if target else 0.0)
            self.nations.append(nation)
            self.users.append(UserPopulation(self, nation, row, cfg.size.income_groups,
                                             cfg.demand.income_elasticity))
        if cfg.open_source.enabled:
            labs = self.world.open_labs
            for j, row in enumerate(labs.itertuples(index=False)):
                interval = int(cfg.open_source.release_interval_months)
                OpenSourceLab(self, row, lag_months=cfg.open_source.lag_months,
                              release_interval=interval, phase=j * max(1, interval // len(labs)))
        if cfg.startups.enabled:
            spend_weight = self.population * self.world.nations["gdp_pc_usd"].to_numpy(float)
            for u in range(self.n_usecases):
                for _ in range(int(cfg.startups.initial_per_usecase)):
                    Startup(self, self._draw_nation(spend_weight), u)

    def _draw_nation(self, weight: np.ndarray) -> int:
        p = weight / weight.sum()
        return int(self.rng.choice(len(p), p=p))

    def _make_providers(self, site_compute: list[np.ndarray] | None,
                        site_alloc: list[np.ndarray] | None) -> None:
        """Create the providers from the calibration tables.

        ``site_compute[i]`` (K_i,) is provider i's installed H100e per site and
        ``site_alloc[i]`` (K_i, 4) its split across tiers; without them every site gets one
        H100e split evenly (used only to calibrate demand with unconstrained capacity).
        """
        s = self.cfg.supply
        prov = self.world.providers.copy()
        sites = self.world.provider_sites
        # A provider homed outside a subset world counts its largest site as home.
        largest = (sites.sort_values("capacity_share", ascending=False, kind="stable")
                   .drop_duplicates("provider").set_index("provider")["nation"])
        prov["home_index"] = [self.nation_index.get(h, self.nation_index[largest[p]])
                              for h, p in zip(prov["home"], prov["provider"], strict=True)]
        share = prov["cloud_share"].to_numpy(float)
        self.provider_target_share = share / share.sum()
        lead = int(s.build_lead_months)
        t = self.cfg.tiers
        initial_ask = np.array([t.frontier_price, t.mid_price, t.small_price, t.small_price])
        old = {p.name: p for p in getattr(self, "providers", [])}
        self.providers = []
        for i, row in enumerate(prov.itertuples(index=False)):
            mine = sites[sites["provider"] == row.provider]
            idx = mine["nation"].map(self.nation_index).to_numpy(int)
            compute = np.ones(idx.size) if site_compute is None else site_compute[i]
            alloc = np.full((idx.size, N_TIERS), 1.0 / N_TIERS) if site_alloc is None \
                else site_alloc[i]
            p = Hyperscaler(self, row, idx, compute, initial_kw_per_h100e=s.h100e_kw,
                            lead_months=lead, initial_alloc=alloc, initial_ask=initial_ask,
                            training_cost_scale=float(np.sqrt(share[i] / share.max())))
            p.appeal = old[row.provider].appeal if row.provider in old else 0.0
            if row.provider in old:
                old[row.provider].remove()
            self.providers.append(p)

    def _calibrate(self) -> None:
        """Calibrate month 0: demand levels, provider appeal, and where the fleet sits.

        With unconstrained capacity at list prices, iterate until (a) world tokens equal
        ``tokens_month0`` and each use-case's tokens its share in ``usecases.csv``, and (b) each
        provider's revenue share equals its cloud share (a BLP-style contraction on the logit
        appeal). Then install at every (provider, site) the H100e that serve its month-0 demand
        at the target utilisation, split across tiers as that demand splits.
        """
        self.demand_scale = 1.0
        self.usecase_weight = self.usecase_share.copy()
        self.initial_world_h100e = None
        self._make_providers(None, None)
        target = self.cfg.demand.tokens_month0
        n_prov = len(self.providers)
        gpu_h = self.gpu_hours
        for _ in range(12):
            supply, demand, offer_index = self._books(unconstrained=True)
            res = clear(supply, demand, tol=self.cfg.market.tolerance,
                        max_rounds=int(self.cfg.market.max_rounds))
            seg_uc = self._segment_usecase(demand)
            tok_uc = np.bincount(seg_uc, weights=res.segment_tokens, minlength=self.n_usecases)
            self.usecase_weight = self.usecase_weight * np.divide(
                target * self.usecase_share, tok_uc, out=np.ones(self.n_usecases),
                where=tok_uc > 0)
            rev = np.bincount(offer_index[:, 0], weights=res.offer_revenue, minlength=n_prov)
            rev_share = rev / rev.sum()
            for p, want, got in zip(self.providers, self.provider_target_share, rev_share,
                                    strict=True):
                if got > 0:
                    p.appeal += float(np.log(want / got))
        busy = res.offer_tokens * gpu_h[offer_index[:, 2]] / costs.HOURS_PER_MONTH
        site_compute, site_alloc = [], []
        for i, p in enumerate(self.providers):
            mine = offer_index[:, 0] == i
            tier_busy = np.zeros((p.site_nation.size, N_TIERS))
            np.add.at(tier_busy, (offer_index[mine, 1], offer_index[mine, 2]), busy[mine])
            total = tier_busy.sum(axis=1)
            site_compute.append(total / self.cfg.supply.target_utilisation)
            site_alloc.append(np.where(total[:, None] > 0,
                                       tier_busy / np.where(total > 0, total, 1.0)[:, None],
                                       1.0 / N_TIERS))
        self._make_providers(site_compute, site_alloc)
        self.initial_world_h100e = float(sum(p.compute.sum() for p in self.providers))
        self._fill_pipelines()
        labs = [p for p in self.providers if p.frontier_lab]
        for j, p in enumerate(labs):
            p.stagger_training(j / max(len(labs), 1))
        for p, alloc in zip(self.providers, site_alloc, strict=True):
            p.tier_compute_demand = (p.compute * self.cfg.supply.target_utilisation
                                     * costs.HOURS_PER_MONTH)[:, None] * alloc

    def _fill_pipelines(self) -> None:
        """Builds ordered before January 2025 that are still under construction.

        The chip output of the ``lead`` months before month 0 (the supply path run backwards)
        is in the pipeline, split among providers and sites like the installed fleet.
        """
        ch, s = self.cfg.chips, self.cfg.supply
        lead = int(s.build_lead_months)
        growth = ch.supply_growth * s.hardware_perf_per_watt_growth
        ordered = ch.supply_h100e_month0 * growth ** ((np.arange(lead) - lead) / 12.0)
        for p in self.providers:
            share = p.compute / self.initial_world_h100e
            p.pipeline_compute += ordered[:, None] * share[None, :]
            p.pipeline_power += p.pipeline_compute * s.h100e_kw / 1000.0
            p.pipeline_book += ordered * share.sum() * s.capex_per_h100e_usd

    def _segment_usecase(self, demand: DemandBook) -> np.ndarray:
        """Use-case index of every segment of a demand book built by :meth:`_books`."""
        return self.class_usecase[demand.segment_class]

    # ------------------------------------------------------------------ paths
    def _update_paths(self) -> None:
        cfg, m = self.cfg, self.month
        s = cfg.supply
        self.perf_per_watt = paths.compounding(m, s.hardware_perf_per_watt_growth)
        self.software_efficiency = paths.declining_growth_index(
            m, s.software_efficiency_growth, s.software_efficiency_growth_final)
        self.kw_per_h100e_new = s.h100e_kw / self.perf_per_watt
        self.capex_per_h100e_now = s.capex_per_h100e_usd / self.perf_per_watt
        self.vendor_price_now = cfg.chips.vendor_price_usd / self.perf_per_watt
        self.frontier_compute = self._compute_per_token(self.frontier_level)
        shock = cfg.energy.price_shock if m >= cfg.energy.price_shock_month else 1.0
        self.electricity = np.array([n.electricity_usd_kwh for n in self.nations]) * shock
        self.test_time = np.array([
            paths.test_time_multiplier(m, cfg.demand.test_time_multiplier_final,
                                       cfg.demand.test_time_saturation_years, e)
            for e in self.usecase_exposure])
        decay = cfg.tiers.quality_decay_per_year
        providers = getattr(self, "providers", [])
        # The realised frontier: how far the best lab trails the potential frontier path.
        labs = [p.level for p in providers if p.frontier_lab]
        self.frontier_level = max(labs, default=0.0)
        if len(self.frontier_levels) <= m:
            self.frontier_levels.append(self.frontier_level)
        else:
            self.frontier_levels[m] = self.frontier_level
        if self.open_level is None or not cfg.open_source.enabled:
            self.open_quality = 0.0
        else:
            open_lag = max(0.0, self.frontier_level - self.open_level)
            self.open_quality = float(paths.relative_quality(open_lag, decay))
        self.gpu_hours = self._gpu_hours()

    def release_power(self, nations: np.ndarray, it_mw: np.ndarray) -> None:
        """Retired servers hand their grid connection back (facility MW = IT MW x PUE)."""
        for n, mw in zip(nations, it_mw * self.cfg.supply.pue, strict=True):
            self.nations[n].grid_headroom_mw += float(mw)

    def capability_level(self, run_cost_usd: float) -> float:
        """Capability, frontier-months, of a model trained with ``run_cost_usd`` this month.

        Capability grows with log training compute: spending the January-2025 frontier run
        cost grown at the historical rate of run costs (and bought at this month's hardware
        price-performance) lands exactly on the historical frontier path (level = month).
        """
        tr = self.cfg.training
        compute_ratio = run_cost_usd * self.perf_per_watt / tr.frontier_run_cost_usd
        pace = np.log(tr.run_cost_growth * self.cfg.supply.hardware_perf_per_watt_growth)
        return float(12.0 * np.log(max(compute_ratio, 1e-12)) / pace)

    def _compute_per_token(self, level: float) -> float:
        """Compute per token of a model at capability ``level`` relative to January 2025:
        the square root of its training compute (Chinchilla-optimal)."""
        pace = np.log(self.cfg.training.run_cost_growth
                      * self.cfg.supply.hardware_perf_per_watt_growth)
        return paths.frontier_compute_per_token(float(np.exp(pace * level / 12.0)))

    def frontier_level_at(self, month: float) -> float:
        """The realised frontier's capability at ``month`` (before month 0: the trend)."""
        if month < 0 or not self.frontier_levels:
            return float(month)
        return self.frontier_levels[min(int(month), len(self.frontier_levels) - 1)]

    def register_open_release(self, level: float) -> None:
        """An open-weight release of capability ``level`` (frontier-months)."""
        if self.open_level is None or level > self.open_level:
            self.open_level = level

    def _gpu_hours(self) -> np.ndarray:
        """H100e-hours per M tokens for the four tiers this month."""
        t = self.cfg.tiers
        # An open model is as big as the frontier model it matches.
        open_compute = self._compute_per_token(
            self.frontier_level if self.open_level is None else self.open_level)
        return np.array([t.frontier_gpu_hours_per_mtok * self.frontier_compute,
                         t.mid_gpu_hours_per_mtok, t.small_gpu_hours_per_mtok,
                         t.frontier_gpu_hours_per_mtok * self.cfg.open_source.gpu_hours_multiplier
                         * open_compute]) / self.software_efficiency

    # ------------------------------------------------------------------ books
    def _offer_costs(self, p: Hyperscaler, gpu_h: np.ndarray, scale: float) -> np.ndarray:
        s = self.cfg.supply
        saving = s.custom_silicon_saving if p.custom_silicon_ready() else 0.0
        hw = costs.hardware_cost_per_h100e_hour(s.capex_per_h100e_usd, s.hardware_life_months,
                                                self.perf_per_watt, saving)
        energy = costs.energy_cost_per_h100e_hour(p.kw_per_h100e(), s.pue,
                                                  self.electricity[p.site_nation])
        return costs.cost_per_mtok(gpu_h[None, :], hw, energy[:, None], s.opex_share, scale,
                                   s.target_utilisation)

    def _scale_factor(self, p: Hyperscaler) -> float:
        """Opex multiplier from scale economies, 1 for a provider with 10% of the initial
        world fleet."""
        if self.initial_world_h100e is None:
            return 1.0
        size = max(p.compute.sum(), 1e-9) / max(self.initial_world_h100e / 10.0, 1e-9)
        return size ** (-self.cfg.supply.scale_economy)

    def _books(self, unconstrained: bool = False
               ) -> tuple[SupplyBook, DemandBook, np.ndarray]:
        """Gather every provider's offers and every population's and startup's demand.

        Returns the books and an (O, 3) index of (provider, site, tier 0-3) per offer.
        """
        cfg = self.cfg
        gpu_h = self.gpu_hours
        parts = []
        for i, p in enumerate(self.providers):
            k = p.site_nation.size
            mc = self._offer_costs(p, gpu_h, self._scale_factor(p))
            p.post_asks(mc)
            cap = (p.compute[:, None] * costs.HOURS_PER_MONTH * cfg.supply.max_utilisation
                   * p.tier_alloc / gpu_h[None, :])
            if unconstrained:
                cap = np.full_like(cap, UNCONSTRAINED)
            quality = np.broadcast_to(p.tier_quality(), (k, N_TIERS))
            latency = costs.queueing_latency_ms(p.utilisation * cfg.supply.max_utilisation,
                                                cfg.supply.queue_latency_ms)
            site, tier = np.meshgrid(np.arange(k), np.arange(N_TIERS), indexing="ij")
            parts.append(dict(provider=np.full(k * N_TIERS, i), site=site.ravel(),
                              tier=tier.ravel(), region=np.repeat(p.site_nation, N_TIERS),
                              capacity=cap.ravel(), mc=mc.ravel(), ask=p.ask.ravel(),
                              quality=quality.ravel(), latency=latency.ravel(),
                              appeal=np.full(k * N_TIERS, p.appeal)))
            p.marginal_cost = mc
        cat = {key: np.concatenate([d[key] for d in parts]) for key in parts[0]}
        keep = np.ones(cat["tier"].shape, bool)
        if self.open_quality <= 0:
            keep &= cat["tier"] != OPEN
        cat = {key: v[keep] for key, v in cat.items()}
        is_open = cat["tier"] == OPEN
        supply = SupplyBook(
            provider=cat["provider"], region=cat["region"],
            tier=np.where(is_open, 1, cat["tier"]), open_weights=is_open,
            capacity=cat["capacity"], marginal_cost=cat["mc"], ask=cat["ask"],
            quality=cat["quality"], latency_ms=cat["latency"], appeal=cat["appeal"])
        offer_index = np.stack([cat["provider"], cat["site"], cat["tier"]], axis=1)
        return supply, self._demand_book(), offer_index

    def _demand_book(self) -> DemandBook:
        cfg = self.cfg
        n_u = self.n_usecases
        startups = list(self.agents_by_type.get(Startup, []))
        present = np.zeros((self.n_nations, n_u), int)
        for s in startups:
            present[s.nation, s.usecase] += 1
        carve = np.where(present > 0, cfg.startups.demand_share, 0.0)
        refs, budgets, pops = [], [], []
        for n, up in enumerate(self.users):
            ref, bud, pop = up.segments(self.month, self.usecase_share, self.test_time,
                                        carve[n])
            refs.append(ref)
            budgets.append(bud)
            pops.append(pop)
        g = self.cfg.size.income_groups
        ref = np.stack(refs)  # (N, G, U, 2)
        budget = np.stack(budgets)
        pop = np.stack(pops)
        n_user_classes = self.n_nations * n_u * 2
        cls = (np.arange(self.n_nations)[:, None, None, None] * n_u * 2
               + np.arange(n_u)[None, None, :, None] * 2
               + np.arange(2)[None, None, None, :])
        cls = np.broadcast_to(cls, ref.shape).ravel()
        # startups: one class and one segment each
        s_ref, s_nat, s_uc, s_only = [], [], [], []
        for s in startups:
            need = self.users[s.nation].total_need(self.month, self.usecase_share,
                                                   self.test_time)[s.usecase]
            loc = self.nations[s.nation].localisation_share
            s_ref.append(need * (1 - loc) * carve[s.nation, s.usecase]
                         / present[s.nation, s.usecase])
            s_nat.append(s.nation)
            s_uc.append(s.usecase)
            s_only.append(s.self_hosting and self.open_quality > 0)
        self.startup_list = startups
        n_s = len(startups)
        s_uc_arr = np.asarray(s_uc, int)
        uc_of_class = np.concatenate([np.tile(np.repeat(np.arange(n_u), 2), self.n_nations),
                                      s_uc_arr])
        self.class_usecase = uc_of_class
        nat_of_class = np.concatenate([np.repeat(np.arange(self.n_nations), n_u * 2),
                                       np.asarray(s_nat, int)])
        alpha = np.concatenate([np.full(n_user_classes, cfg.demand.choice_sensitivity),
                                np.full(n_s, cfg.startups.router_sensitivity)])
        localised = np.concatenate([np.tile([False, True], self.n_nations * n_u),
                                    np.zeros(n_s, bool)])
        only = np.concatenate([np.zeros(n_user_classes, bool), np.asarray(s_only, bool)])
        self.segment_nation = np.concatenate([
            np.repeat(np.arange(self.n_nations), g * n_u * 2), np.asarray(s_nat, int)])
        self.segment_group = np.concatenate([
            np.tile(np.repeat(np.arange(g), n_u * 2), self.n_nations), np.full(n_s, -1)])
        self.n_user_segments = ref.size
        tariffs = np.array([n.tariff for n in self.nations])
        return DemandBook(
            segment_class=np.concatenate([cls, n_user_classes + np.arange(n_s)]),
            reference_demand=np.concatenate([ref.ravel(), np.asarray(s_ref, float)]),
            budget=np.concatenate([budget.ravel(), np.full(n_s, np.inf)]),
            population=np.concatenate([pop.ravel(), np.zeros(n_s)]),
            class_nation=nat_of_class,
            choice_sensitivity=alpha,
            elasticity=np.full(nat_of_class.size, cfg.demand.elasticity),
            latency_tolerance_ms=self.usecase_tolerance[uc_of_class],
            latency_cost=self.usecase_latency_cost[uc_of_class],
            quality_threshold=self.usecase_threshold[uc_of_class],
            quality_cost=self.usecase_quality_cost[uc_of_class],
            localised=localised,
            latency_matrix_ms=self.latency_ms,
            region_nation=self.region_nation,
            tariff=tariffs,
            open_weights_only=only,
        )

    # ------------------------------------------------------------------ the month
    def step(self) -> None:
        """Advance one month."""
        t0 = time.perf_counter()
        self._update_paths()
        labs = self.agents_by_type.get(OpenSourceLab)
        if labs is not None:
            labs.do("step")
        self._update_paths()  # open quality after this month's releases
        for group in (Nation, UserPopulation):
            self.agents_by_type[group].do("step")
        for p in self.providers:
            p.commission()
            p.train()
            p.reallocate()
        supply, demand, offer_index = self._books()
        t1 = time.perf_counter()
        warm = self._warm_start(offer_index)
        result = clear(supply, demand, warm_start=warm, tol=self.cfg.market.tolerance,
                       max_rounds=int(self.cfg.market.max_rounds))
        t2 = time.perf_counter()
        self._sow(result, supply, demand, offer_index)
        self._invest(offer_index)
        self._startups_step(result, demand)
        t3 = time.perf_counter()
        self.recorder.record(result, supply, demand, offer_index)
        check_step(self, result, supply, demand)
        t4 = time.perf_counter()
        self._neocloud_entry_exit()  # changes the provider set: after this month's records
        self._timings["agents"] += (t1 - t0) + (t3 - t2)
        self._timings["clearing"] += t2 - t1
        self._timings["metrics"] += t4 - t3
        self.last_result = result
        self.month += 1

    def _warm_start(self, offer_index: np.ndarray) -> np.ndarray | None:
        if self.last_result is None:
            return None
        warm = np.empty(offer_index.shape[0])
        for i, p in enumerate(self.providers):
            mine = offer_index[:, 0] == i
            prem = getattr(p, "premium", np.zeros_like(p.ask))
            warm[mine] = (p.ask + prem)[offer_index[mine, 1], offer_index[mine, 2]]
        return warm

    def _sow(self, result: ClearingResult, supply: SupplyBook, demand: DemandBook,
             offer_index: np.ndarray) -> None:
        """Hand prices and quantities back to providers, nations and startups."""
        s = self.cfg.supply
        gpu_h = self.gpu_hours
        # Nash-Bertrand targets for next month's asks, one vectorised call for all offers.
        best = nash_bertrand_price(result, supply, demand, max_lerner=s.max_lerner)
        hw_base = costs.hardware_cost_per_h100e_hour(s.capex_per_h100e_usd,
                                                     s.hardware_life_months, self.perf_per_watt)
        for i, p in enumerate(self.providers):
            mine = offer_index[:, 0] == i
            site, tier = offer_index[mine, 1], offer_index[mine, 2]
            shape = (p.site_nation.size, N_TIERS)
            tokens = np.zeros(shape)
            cap = np.zeros(shape)
            br = p.ask.copy()
            prem = np.zeros(shape)
            tokens[site, tier] = result.offer_tokens[mine]
            cap[site, tier] = supply.capacity[mine]
            br[site, tier] = best[mine]
            prem[site, tier] = result.scarcity_premium[mine]
            clearing_price = p.ask.copy()
            clearing_price[site, tier] = result.price[mine]
            p.last_price = clearing_price
            revenue = float(result.offer_revenue[mine].sum())
            saving = s.custom_silicon_saving if p.custom_silicon_ready() else 0.0
            hw_hour = hw_base * (1 - saving)
            energy_hour = costs.energy_cost_per_h100e_hour(
                p.kw_per_h100e(), s.pue, self.electricity[p.site_nation])
            util = self._site_utilisation(p, tokens, gpu_h)
            load = s.idle_power_share + (1 - s.idle_power_share) * util
            hours = p.compute * costs.HOURS_PER_MONTH
            energy_cost = float((hours * energy_hour * load).sum())
            opex = float((hours * hw_hour * s.opex_share * self._scale_factor(p)).sum())
            amortisation = p.amortise()
            fleet_cost = amortisation + energy_cost + opex
            p.settle(revenue, tokens, cap, fleet_cost, energy_cost + opex,
                     tokens * gpu_h[None, :])
            p.set_prices(br, p.marginal_cost, clearing_price)
            p.premium = prem
            p.site_util = util
        # nations: dependence ratio = share of their tokens served from abroad
        foreign = self.region_nation[supply.region][None, :] != demand.class_nation[:, None]
        cls_tokens = result.class_offer_tokens.sum(axis=1)
        cls_foreign = (result.class_offer_tokens * foreign).sum(axis=1)
        nat_tokens = np.bincount(demand.class_nation, weights=cls_tokens,
                                 minlength=self.n_nations)
        nat_foreign = np.bincount(demand.class_nation, weights=cls_foreign,
                                  minlength=self.n_nations)
        dep = np.divide(nat_foreign, nat_tokens, out=np.zeros(self.n_nations),
                        where=nat_tokens > 0)
        for n, d in zip(self.nations, dep, strict=True):
            n.dependence_ratio = float(d)
        self.dependence = dep

    def _site_utilisation(self, p: Hyperscaler, tokens: np.ndarray,
                          gpu_h: np.ndarray) -> np.ndarray:
        busy = (tokens * gpu_h[None, :]).sum(axis=1) / costs.HOURS_PER_MONTH
        return np.divide(busy, p.compute, out=np.zeros_like(busy), where=p.compute > 0)

    def _invest(self, offer_index: np.ndarray) -> None:
        """Providers bid for this month's chips; winners start builds (power permitting)."""
        cfg = self.cfg
        ch, s = cfg.chips, cfg.supply
        bids = [p.chip_bids() for p in self.providers]
        qty = np.concatenate([b[0] for b in bids])
        price = np.concatenate([b[1] for b in bids])
        nation = np.concatenate([p.site_nation for p in self.providers])
        owner = np.concatenate([np.full(p.site_nation.size, i)
                                for i, p in enumerate(self.providers)])
        # Grid head-room caps what can be built in each nation.
        mw_per_h100e = self.kw_per_h100e_new * s.pue / 1000.0
        want_mw = np.bincount(nation, weights=qty * mw_per_h100e, minlength=self.n_nations)
        headroom = np.array([n.grid_headroom_mw for n in self.nations])
        scale = np.minimum(1.0, np.divide(headroom, want_mw, out=np.ones(self.n_nations),
                                          where=want_mw > 0))
        qty = qty * scale[nation]
        # Unit output grows on its path, each unit delivers more H100e, and the vendor
        # expands output when last month's chip price ran above its list price.
        price_signal = 1.0
        if np.isfinite(getattr(self, "chip_price", np.nan)):
            price_signal = float(np.clip(self.chip_price / self.vendor_price_now, 0.5, 3.0))
        supply_now = (ch.supply_h100e_month0
                      * paths.declining_growth_index(self.month, ch.supply_growth,
                                                     ch.supply_growth_final)
                      * self.perf_per_watt * price_signal ** ch.supply_price_elasticity)
        self.chip_supply_now = supply_now
        subsidy = np.array([n.subsidy for n in self.nations])[nation]
        # A capex subsidy lets a buyer outbid others by the share the state pays.
        price = price / (1.0 - subsidy)
        alloc = clear_chip_market(
            qty, price, nation, self.export_tier, supply_h100e=supply_now,
            vendor_price=self.vendor_price_now, export_controls=ch.export_controls,
            tier2_cap_month=ch.tier2_cap_h100e_per_year / 12.0,
            domestic_share=ch.domestic_chip_supply_share, domestic_perf=ch.domestic_chip_perf)
        self.chip_price = alloc.price_controlled
        self.chips_sold = float(alloc.h100e.sum())
        self.chips_by_tier = np.bincount(self.export_tier[nation] - 1, weights=alloc.h100e,
                                         minlength=3)
        build_cost = alloc.h100e * max(self.capex_per_h100e_now - self.vendor_price_now, 0.0)
        total_cost = alloc.spend + build_cost
        paid_by_nation = total_cost * subsidy
        for nat_i, amount in zip(nation, paid_by_nation, strict=True):
            self.nations[nat_i].subsidy_paid += float(amount)
        mw = alloc.h100e * self.kw_per_h100e_new / 1000.0
        # domestic chips draw power per chip: more per H100e
        dom = (self.export_tier[nation] == 3) & bool(ch.export_controls)
        mw = np.where(dom, mw / ch.domestic_chip_perf, mw)
        for nat_i, need in zip(nation, mw * s.pue, strict=True):
            self.nations[nat_i].reserve_power(float(need))
        for i, p in enumerate(self.providers):
            mine = owner == i
            p.order(alloc.h100e[mine], mw[mine],
                    float((total_cost[mine] - paid_by_nation[mine]).sum()),
                    float(total_cost[mine].sum()))

    def _startups_step(self, result: ClearingResult, demand: DemandBook) -> None:
        cfg = self.cfg.startups
        n_user = self.n_user_segments
        spend = result.segment_spending
        tokens = result.segment_tokens
        # users' price per (nation, use-case) from the non-localised user classes
        user_cls = demand.segment_class[:n_user]
        cls_tok = np.bincount(user_cls, weights=tokens[:n_user],
                              minlength=demand.n_classes)
        cls_spend = np.bincount(user_cls, weights=spend[:n_user], minlength=demand.n_classes)
        price = np.divide(cls_spend, cls_tok, out=np.zeros_like(cls_spend), where=cls_tok > 0)
        for j, s in enumerate(self.startup_list):
            c = (s.nation * self.n_usecases + s.usecase) * 2
            s.settle(float(tokens[n_user + j]), float(spend[n_user + j]), float(price[c]))
        if not cfg.enabled:
            return
        margin_by_uc = np.zeros(self.n_usecases)
        count_by_uc = np.zeros(self.n_usecases)
        for s in self.startup_list:
            margin_by_uc[s.usecase] += s.profit
            count_by_uc[s.usecase] += 1
        for s in list(self.agents_by_type.get(Startup, [])):
            s.step()
        weight = self.population * self.world.nations["gdp_pc_usd"].to_numpy(float)
        for u in range(self.n_usecases):
            if count_by_uc[u] == 0 or margin_by_uc[u] > 0:
                for _ in range(int(self.rng.poisson(cfg.entry_rate))):
                    Startup(self, self._draw_nation(weight), u)
                    self.startup_entries += 1

    def _neocloud_entry_exit(self) -> None:
        """Mechanism 14 for providers: neoclouds exit after sustained distress and enter while
        incumbent neoclouds sell out at a margin."""
        if not self.cfg.startups.enabled:
            return
        s = self.cfg.supply
        for p in [p for p in self.providers if p.kind == "neocloud"]:
            credit = s.external_finance_months * max(p.revenue, 0.0)
            p.distress = p.distress + 1 if p.cash + credit < 0 else 0
            if p.distress >= self.cfg.startups.exit_after_months:
                self.release_power(p.site_nation, p.power_mw)
                self.providers.remove(p)
                p.remove()
                self.provider_exits += 1
        neo = [p for p in self.providers if p.kind == "neocloud"]
        if not neo:
            return
        busy = np.mean([float(p.utilisation.mean()) for p in neo])
        margin = np.mean([1.0 - p.fleet_cost / p.revenue if p.revenue > 0 else 0.0
                          for p in neo])
        if busy < s.target_utilisation or margin <= 0:
            return
        for _ in range(int(self.rng.poisson(s.neocloud_entry_rate))):
            self._enter_neocloud(min(p.appeal for p in neo))

    def _enter_neocloud(self, appeal: float) -> None:
        """A new neocloud in a chip-eligible nation with grid head-room; it starts empty and
        bids for ``neocloud_entry_h100e`` in the chip market."""
        s = self.cfg.supply
        headroom = np.array([n.grid_headroom_mw if n.export_tier < 3 else 0.0
                             for n in self.nations])
        if headroom.sum() <= 0:
            return
        site = self._draw_nation(headroom)
        self.provider_entries += 1
        row = SimpleNamespace(provider=f"Neocloud entrant {self.provider_entries}",
                              kind="neocloud", home_index=site, frontier_lab=False,
                              custom_silicon=False, frontier_lag_months=6.0)
        alloc = np.array([[0.25, 0.25, 0.25, 0.25]])
        p = Hyperscaler(self, row, np.array([site]), np.zeros(1),
                        initial_kw_per_h100e=self.kw_per_h100e_new,
                        lead_months=int(s.build_lead_months), initial_alloc=alloc,
                        initial_ask=self.providers[0].ask.mean(axis=0))
        p.appeal = appeal
        p.cash = s.neocloud_entry_h100e * self.capex_per_h100e_now
        p.tier_compute_demand = (s.neocloud_entry_h100e * costs.HOURS_PER_MONTH
                                 * s.target_utilisation * alloc)
        self.providers.append(p)

    # ------------------------------------------------------------------ outputs
    def tables(self) -> dict[str, pd.DataFrame]:
        """The recorded tables: ``global``, ``nations``, ``providers``, ``markets``."""
        return self.recorder.tables()

    def timings(self) -> dict[str, float]:
        """Seconds spent so far in agents, clearing and metrics."""
        return dict(self._timings)
