"""The exchange: gather the month's books from the agents ("reap") and hand the clearing's
prices and quantities back ("sow"), HARK-style.

Supply: every (site, tier) a provider serves, with capacity in M tokens/month (the site's
H100e not rented to training, at the maximum utilisation, split across tiers), long-run
marginal cost (:mod:`abm.economy.costs`) and the ask = marginal cost x the provider's markup.
Each offer's appeal is its provider's nest utility plus the site's size variable
``coef * (1 - sigma) * ln(K_site / K_provider)`` (Ben-Akiva and Lerman 1985), so a provider's
sites attract demand in proportion to their capacity, not their number.

Demand: every nation's users (income groups x use-cases x localised flag) and every startup,
grouped into classes that share preferences; the nested logit's nests are providers.

After clearing, providers move their markups toward the multi-product Nash-Bertrand target
(Berry 1994 under the nested logit with provider nests: Lerner = 1 / (alpha (1 - S_f) +
eps S_f)), never toward the clearing price: a scarcity premium is rent on capacity, recorded
apart, not a markup.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np

from abm.agents.hyperscaler import N_TIERS, OPEN
from abm.agents.user_population import population_segments
from abm.economy import costs, flows, frontier
from abm.market import ClearingResult, DemandBook, SupplyBook, offer_demand
from abm.market.pricing import nash_bertrand_price

H = costs.HOURS_PER_MONTH
#: Smallest compute a site puts behind a tier, H100e (one accelerator).
MIN_ALLOCATION_H100E = 1.0


@dataclass(frozen=True)
class SiteCosts:
    """Cost of an H100e-hour at each site (S,), $: capital rental at replacement cost,
    energy at full load, opex, and their sum; ``replacement`` is P_K, $ per H100e."""

    rental: np.ndarray
    energy: np.ndarray
    opex: np.ndarray
    per_hour: np.ndarray
    replacement: np.ndarray


@dataclass(frozen=True)
class Offers:
    """Which (site, tier) each offer is, and the per-(site, tier) terms behind the books."""

    site: np.ndarray  # (O,)
    tier: np.ndarray  # (O,)
    compute: np.ndarray  # (S, 4) H100e-hours per M tokens
    level: np.ndarray  # (S, 4) capability, frontier-months
    marginal_cost: np.ndarray  # (S, 4) $/M tokens
    ask: np.ndarray  # (S, 4) $/M tokens
    serving_h100e: np.ndarray  # (S,) H100e on offer to serving


@dataclass(frozen=True)
class DemandLayout:
    """Who each segment and class of the demand book is."""

    segment_nation: np.ndarray  # (S_d,)
    segment_group: np.ndarray  # (S_d,) income group, -1 for startups
    class_usecase: np.ndarray  # (C,)
    n_user_segments: int
    startups: list
    #: the user segments' (nations, income groups, use-cases x 2) block layout
    user_shape: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class MarketOutcome:
    """The month's market, per (site, tier) (S, 4) unless said otherwise.

    ``tokens``, ``revenue``, ``price`` (clearing), ``premium`` (clearing - ask),
    ``demand_at_ask`` (M tokens/month the offer's buyers would take at its ask);
    per site (S,): ``busy_h100e``, ``demand_h100e`` (at the asks), ``utilisation``
    (busy over serving H100e); per provider (P,): ``revenue``; per nation (N,):
    ``dependence`` (share of its tokens served abroad); per demand class (C,):
    ``class_tokens`` (M tokens/month bought).
    """

    tokens: np.ndarray
    revenue: np.ndarray
    price: np.ndarray
    premium: np.ndarray
    demand_at_ask: np.ndarray
    busy_h100e: np.ndarray
    demand_h100e: np.ndarray
    utilisation: np.ndarray
    provider_revenue: np.ndarray
    dependence: np.ndarray
    class_tokens: np.ndarray | None = None


def silicon_discount(cfg, state, providers, fleet) -> np.ndarray:
    """What a site pays per H100e as a share of the chip market price (S,): ``1 -
    supply.custom_silicon_saving`` for providers with in-house chips once
    ``supply.custom_silicon_lead_months`` have passed (TPU/Trainium-style), else 1."""
    s = cfg.supply
    ready = np.array([p.custom_silicon and state.month >= s.custom_silicon_lead_months
                      for p in providers], dtype=bool)
    return np.where(ready[fleet.provider], 1.0 - s.custom_silicon_saving, 1.0)


def site_costs(cfg, state, fleet, providers, chip_price: np.ndarray, subsidy: np.ndarray,
               scale_factor: np.ndarray) -> SiteCosts:
    """Cost of an H100e-hour at every site, $, at today's replacement cost (Hall-Jorgenson).

    ``chip_price`` (2,): expected $ per H100e of the controlled and domestic pools;
    ``subsidy`` (N,): capex share the state pays; ``scale_factor`` (P,): opex multiplier.
    """
    s = cfg.supply
    pool = fleet.domestic.astype(int)
    chip = chip_price[pool] * silicon_discount(cfg, state, providers, fleet)
    kw_new = state.kw_per_h100e_new / np.where(fleet.domestic, cfg.chips.domestic_chip_perf,
                                               1.0)
    replacement = (chip + state.shell_cost_per_kw * kw_new) * (1.0 - subsidy[fleet.nation])
    rental = costs.capital_rental_per_hour(replacement, s.cost_of_capital,
                                           s.economic_depreciation)
    energy = costs.energy_cost_per_h100e_hour(fleet.kw_per_h100e(kw_new), s.pue,
                                              state.electricity[fleet.nation])
    opex = rental * s.opex_share * scale_factor[fleet.provider]
    return SiteCosts(rental, energy, opex, rental + opex + energy, replacement)


def tier_levels(cfg, state, providers, fleet) -> np.ndarray:
    """Capability of every (site, tier), frontier-months (S, 4); -inf where not served."""
    t = cfg.tiers
    open_ok = cfg.open_source.enabled and state.open_level is not None
    per_provider = np.array([
        np.where(p.offered_tiers(open_ok),
                 p.tier_levels(state.frontier_level, state.open_level, t.mid_lag_months,
                               t.small_lag_months), -np.inf)
        for p in providers]).reshape(len(providers), N_TIERS)
    return per_provider[fleet.provider]


def build_supply(cfg, state, fleet, providers, site_cost: SiteCosts, utilisation: np.ndarray,
                 nesting: float, demand: DemandBook | None = None,
                 timings: dict[str, float] | None = None) -> tuple[SupplyBook, Offers]:
    """The supply book: one offer per served (site, tier) with capacity (see module doc).

    Compute is fungible across a site's tiers: each site splits its serving capacity across
    the tiers it serves in proportion to the compute its buyers want from each at the asks
    this month (:func:`abm.market.offer_demand`), so capacity binds at the site, not at an
    arbitrary tier. Without ``demand`` the split is ``fleet.tier_alloc``.

    ``timings``, if given, gets the seconds spent in :func:`abm.market.offer_demand` added to
    its ``"clearing"`` entry: that call evaluates the clearing core's demand (and builds the
    choice terms the month's clearing then reuses from its cache), so the model counts it as
    clearing, not as the agents' time.
    """
    s = cfg.supply
    level = tier_levels(cfg, state, providers, fleet)
    served = np.isfinite(level)
    g = np.where(served, state.compute_per_mtok(np.where(served, level, 0.0),
                                                cfg.tiers.frontier_gpu_hours_per_mtok), np.inf)
    mc = costs.cost_per_mtok(g, site_cost.per_hour[:, None], s.target_utilisation)
    markup = fleet.markup.copy()
    markup[:, OPEN] = 1.0 + s.open_weights_markup
    ask = mc * markup
    serving = np.maximum(fleet.installed - fleet.training, 0.0)
    capacity = np.where(served, serving[:, None] * H * s.max_utilisation
                        * fleet.tier_alloc / np.where(served, g, 1.0), 0.0)
    installed = fleet.installed
    provider_total = np.bincount(fleet.provider, weights=installed, minlength=len(providers))
    share = np.divide(installed, provider_total[fleet.provider],
                      out=np.zeros_like(installed), where=provider_total[fleet.provider] > 0)
    with np.errstate(divide="ignore"):
        size = cfg.demand.site_size_coefficient * (1.0 - nesting) * np.log(share)
    appeal = np.array([p.appeal for p in providers])[fleet.provider] + size
    quality = frontier.relative_quality(state.frontier_level - np.where(served, level, 0.0),
                                        cfg.tiers.quality_decay_per_year)
    # expected busy share of nameplate serving capacity: the queue's load
    latency = costs.queueing_latency_ms(utilisation, s.queue_latency_ms)
    site_capacity = serving * H * s.max_utilisation  # H100e-hours per month
    live = served & (site_capacity > 0)[:, None] & np.isfinite(appeal)[:, None]
    if not live.any():
        # No site can serve this month (no compute installed, or all of it training): every
        # served offer stays on the book with zero capacity, so the month clears with no
        # trade instead of failing on an empty book (issue 9).
        live = served
        appeal = np.where(np.isfinite(appeal), appeal, 0.0)
    if demand is not None:
        capacity = np.where(live, 1.0, 0.0)  # on the market while the split is found
    site, tier = np.nonzero(live & (capacity > 0))
    is_open = tier == OPEN

    def book(cap):
        return SupplyBook(
            provider=fleet.provider[site], region=fleet.nation[site],
            tier=np.where(is_open, 1, tier), open_weights=is_open, capacity=cap,
            marginal_cost=mc[site, tier], ask=ask[site, tier], quality=quality[site, tier],
            latency_ms=latency[site], appeal=appeal[site])

    supply = book(capacity[site, tier])
    if demand is not None:
        t0 = time.perf_counter()
        at_ask = offer_demand(supply, demand)
        if timings is not None:
            timings["clearing"] = timings.get("clearing", 0.0) + time.perf_counter() - t0
        compute = at_ask * g[site, tier]  # H100e-hours wanted
        wanted = np.bincount(site, weights=compute, minlength=fleet.n_sites)
        n_served = np.bincount(site, minlength=fleet.n_sites)
        share = np.where(wanted[site] > 0, compute / np.where(wanted[site] > 0, wanted[site], 1.0),
                         1.0 / np.maximum(n_served[site], 1))
        # A tier gets at least one whole accelerator or nothing.
        share = np.where(serving[site] * share >= MIN_ALLOCATION_H100E, share, 0.0)
        supply = book(site_capacity[site] * share / g[site, tier])
        alloc = np.zeros((fleet.n_sites, N_TIERS))
        alloc[site, tier] = share
        fleet.tier_alloc = alloc
    offers = Offers(site=site, tier=tier, compute=g, level=level, marginal_cost=mc, ask=ask,
                    serving_h100e=serving)
    return supply, offers


@functools.lru_cache(maxsize=4)
def _user_layout(n_nat: int, n_groups: int, n_u: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class, nation and income group of every user segment, in the (N, G, U, 2) order of
    :func:`abm.agents.user_population.population_segments` (read-only; the same every month,
    so built once: a million segments at ``world_xl``)."""
    shape = (n_nat, n_groups, n_u, 2)
    cls = (np.arange(n_nat)[:, None, None, None] * n_u * 2
           + np.arange(n_u)[None, None, :, None] * 2 + np.arange(2)[None, None, None, :])
    cls = np.broadcast_to(cls, shape).ravel()
    nation = np.repeat(np.arange(n_nat), n_groups * n_u * 2)
    group = np.tile(np.repeat(np.arange(n_groups), n_u * 2), n_nat)
    for arr in (cls, nation, group):
        arr.flags.writeable = False
    return cls, nation, group


def build_demand(cfg, state, geo, uc, users, nations, startups, need_per_usecase,
                 open_quality: float) -> tuple[DemandBook, DemandLayout]:
    """The demand book of every nation's users and every startup (see module doc)."""
    n_nat = len(users)
    n_u = uc.n
    present = np.zeros((n_nat, n_u), int)
    for s in startups:
        present[s.nation, s.usecase] += 1
    carve = np.where(present > 0, cfg.startups.demand_share, 0.0)
    ref, budget, pop = population_segments(users, need_per_usecase, uc.share,
                                           state.budget_share, carve)  # (N, G, U, 2)
    g = ref.shape[1]
    n_user_classes = n_nat * n_u * 2
    cls, user_nation, user_group = _user_layout(n_nat, g, n_u)
    # each nation's total need once, not once per startup (the same values)
    need = {n: users[n].total_need(need_per_usecase) for n in {s.nation for s in startups}}
    s_ref = np.array([need[s.nation][s.usecase]
                      * (1 - nations[s.nation].localisation_share)
                      * carve[s.nation, s.usecase] / present[s.nation, s.usecase]
                      for s in startups], dtype=float)
    s_nat = np.array([s.nation for s in startups], dtype=int)
    s_uc = np.array([s.usecase for s in startups], dtype=int)
    s_only = np.array([s.self_hosting and open_quality > 0 for s in startups], dtype=bool)
    n_s = len(startups)
    uc_of_class = np.concatenate([np.tile(np.repeat(np.arange(n_u), 2), n_nat), s_uc])
    nat_of_class = np.concatenate([np.repeat(np.arange(n_nat), n_u * 2), s_nat])
    d = cfg.demand
    alpha = np.concatenate([np.full(n_user_classes, d.choice_sensitivity),
                            np.full(n_s, cfg.startups.router_sensitivity)])
    localised = np.concatenate([np.tile([False, True], n_nat * n_u), np.zeros(n_s, bool)])
    only = np.concatenate([np.zeros(n_user_classes, bool), s_only])
    segment_nation = np.concatenate([user_nation, s_nat])
    segment_group = np.concatenate([user_group, np.full(n_s, -1)])
    n_cls = nat_of_class.size
    demand = DemandBook(
        segment_class=np.concatenate([cls, n_user_classes + np.arange(n_s)]),
        reference_demand=np.concatenate([ref.ravel(), s_ref]),
        budget=np.concatenate([budget.ravel(), np.full(n_s, np.inf)]),
        population=np.concatenate([pop.ravel(), np.zeros(n_s)]),
        class_nation=nat_of_class, choice_sensitivity=alpha,
        elasticity=np.full(n_cls, d.elasticity),
        latency_tolerance_ms=uc.tolerance[uc_of_class], latency_cost=uc.latency_cost[uc_of_class],
        quality_threshold=uc.threshold[uc_of_class], quality_cost=uc.quality_cost[uc_of_class],
        localised=localised, latency_matrix_ms=geo.latency_ms, region_nation=geo.region_nation,
        tariff=np.array([n.tariff for n in nations]), open_weights_only=only,
        nesting=np.full(n_cls, d.nesting), home_bias=np.full(n_cls, d.home_bias))
    layout = DemandLayout(segment_nation=segment_nation, segment_group=segment_group,
                          class_usecase=uc_of_class, n_user_segments=ref.size,
                          startups=list(startups), user_shape=(n_nat, g, n_u * 2))
    return demand, layout


def warm_start(last_ratio: np.ndarray | None, offers: Offers,
               ask: np.ndarray) -> np.ndarray | None:
    """This month's starting prices for the clearing, $/M tokens (O,), from last month's.

    ``last_ratio`` (S, 4) is last month's clearing price over ask per (site, tier)
    (:func:`price_ratio`), NaN where that offer was not on the market; None before the first
    month. Each offer starts at this month's ``ask`` times its own ratio, so a scarcity
    premium carries over in proportion while asks fall with costs (starting from last
    month's price itself would put every offer whose ask fell above its ask). Offers are
    matched by identity (site row, tier), so an offer new this month, or one whose site
    entered since, starts cold at its ask. Only the starting point changes: the clearing
    converges to the same equilibrium within its tolerance.

    Raises
    ------
    ValueError
        If ``last_ratio`` does not have one row per site of ``offers`` and 4 tiers, an offer's
        site or tier index is negative (or the tier >= 4), or ``ask`` is not one price per
        offer.
    """
    if last_ratio is None:
        return None
    if np.shape(ask) != offers.site.shape:
        raise ValueError(f"ask: expected one price per offer, shape {offers.site.shape}, got "
                         f"{np.shape(ask)}")
    if offers.site.min(initial=0) < 0 or offers.tier.min(initial=0) < 0 \
            or offers.tier.max(initial=0) >= N_TIERS:
        raise ValueError(f"offers: site indices must be >= 0 and tiers in [0, {N_TIERS}), got "
                         f"sites {offers.site.min()}..{offers.site.max()}, tiers "
                         f"{offers.tier.min()}..{offers.tier.max()}")
    if last_ratio.ndim != 2 or last_ratio.shape[0] <= offers.site.max(initial=-1) \
            or last_ratio.shape[1] != N_TIERS:
        raise ValueError(f"last_ratio: expected shape (n_sites, {N_TIERS}) covering site "
                         f"{offers.site.max(initial=-1)}, got {last_ratio.shape}")
    ratio = last_ratio[offers.site, offers.tier]
    ratio = np.where(np.isfinite(ratio) & (ratio > 1.0), ratio, 1.0)
    return ask * ratio


def price_ratio(outcome: MarketOutcome, ask: np.ndarray) -> np.ndarray:
    """Clearing price over ask per (site, tier) (S, 4), NaN where nothing was offered:
    what :func:`warm_start` carries into next month. ``ask`` is the (S, 4) ask grid."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.isfinite(outcome.price) & (ask > 0), outcome.price / ask, np.nan)


def settle(cfg, result: ClearingResult, supply: SupplyBook, demand: DemandBook,
           offers: Offers, fleet, n_providers: int, n_nations: int) -> MarketOutcome:
    """Hand the clearing back: quantities and prices per (site, tier), new markups and tier
    shares on the fleet, and each nation's dependence on foreign serving."""
    s = cfg.supply
    n_sites = fleet.n_sites
    shape = (n_sites, N_TIERS)
    site, tier = offers.site, offers.tier

    def grid(values, fill=0.0):
        out = np.full(shape, fill)
        out[site, tier] = values
        return out

    tokens = grid(result.offer_tokens)
    revenue = grid(result.offer_revenue)
    price = grid(result.price, np.nan)
    premium = grid(result.scarcity_premium)
    demand_at_ask = grid(result.demand_at_ask)
    g = np.where(np.isfinite(offers.compute), offers.compute, 0.0)
    busy = (tokens * g).sum(axis=1) / H
    wanted = (demand_at_ask * g).sum(axis=1) / H
    utilisation = np.divide(busy, offers.serving_h100e, out=np.zeros(n_sites),
                            where=offers.serving_h100e > 0)

    # Markups move toward the Nash-Bertrand target (closed tiers; open weights are hosted at
    # cost plus the hosting margin).
    target = nash_bertrand_price(result, supply, demand, max_lerner=s.max_lerner)
    target_markup = grid(target / supply.marginal_cost, np.nan)
    closed = np.isfinite(target_markup) & (np.arange(N_TIERS) != OPEN)[None, :]
    lam = s.price_adjustment
    fleet.markup = np.where(closed, np.exp((1 - lam) * np.log(fleet.markup)
                                           + lam * np.log(np.where(closed, target_markup, 1.0))),
                            fleet.markup)
    provider_revenue = np.bincount(fleet.provider, weights=revenue.sum(axis=1),
                                   minlength=n_providers)
    cls_tokens, cls_foreign = flows.class_tokens(result.class_offer_tokens, demand.class_nation,
                                                 demand.region_nation[supply.region])
    nat_tokens = np.bincount(demand.class_nation, weights=cls_tokens, minlength=n_nations)
    nat_foreign = np.bincount(demand.class_nation, weights=cls_foreign, minlength=n_nations)
    dependence = np.divide(nat_foreign, nat_tokens, out=np.zeros(n_nations),
                           where=nat_tokens > 0)
    return MarketOutcome(tokens=tokens, revenue=revenue, price=price, premium=premium,
                         demand_at_ask=demand_at_ask, busy_h100e=busy, demand_h100e=wanted,
                         utilisation=utilisation, provider_revenue=provider_revenue,
                         dependence=dependence, class_tokens=cls_tokens)
