"""Calibrating January 2025: list-price markups, demand levels, provider appeal, tier shares.

With every offer's capacity unconstrained and closed tiers at their January-2025 list prices
(``tiers.*_price``), iterate until

- world tokens equal ``demand.tokens_month0`` and each use-case's tokens its share in
  ``usecases.csv`` (the use-case weights of reference demand), and
- each provider's revenue share equals its cloud share in ``providers.csv`` (a BLP-style
  contraction on the nest utility ``delta_f``; Berry, Levinsohn and Pakes 1995).

Each site then splits its serving capacity across tiers as its demand does, and providers
start with expectations that follow the trend of the exogenous paths.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from abm.agents.hyperscaler import N_TIERS
from abm.economy import costs, exchange, frontier
from abm.market import clear

#: Capacity of every offer while calibrating demand, M tokens/month (never binding).
UNCONSTRAINED = 1e30
#: Contraction rounds of the demand calibration.
ROUNDS = 16
#: Bound on how far the calibration moves a use-case weight from the one at which needs alone
#: give ``demand.tokens_month0``. Where budgets cannot buy the target at list prices (e.g.
#: ``demand.budget_share`` near 0) tokens do not respond to the weight, and an unbounded
#: contraction would push it to ~1e150 and overflow later months (at the ends of the allowed
#: ranges the contraction moves it at most ~15x); the world then starts
#: below ``tokens_month0`` instead (issue 9).
MAX_WEIGHT_FACTOR = 100.0


def list_price_markups(cfg, marginal_cost: np.ndarray) -> np.ndarray:
    """Markups (S, 4) that turn long-run marginal cost into the January-2025 list prices,
    capped at the Lerner index ``supply.max_lerner`` and floored at cost."""
    t, s = cfg.tiers, cfg.supply
    list_price = np.array([t.frontier_price, t.mid_price, t.small_price, np.nan])
    markup = np.divide(list_price[None, :], marginal_cost, out=np.ones_like(marginal_cost),
                       where=np.isfinite(marginal_cost) & (marginal_cost > 0))
    markup = np.where(np.isfinite(markup), markup, 1.0)
    return np.clip(markup, 1.0, 1.0 / (1.0 - s.max_lerner))


def initial_growth(cfg, state0, state12, reference_pace: float) -> float:
    """Yearly growth of compute demand implied by the exogenous paths over the first year:
    adoption x use per adopter x test-time compute x the uses new capability opens, over
    serving efficiency, times the growth of compute per token as models advance
    ``reference_pace`` frontier-months a year."""
    tokens = (state12.adoption * state12.use_per_adopter * state12.test_time.mean()
              / (state0.adoption * state0.use_per_adopter * state0.test_time.mean())
              * cfg.demand.capability_demand_growth ** (reference_pace / 12.0))
    return float(tokens * np.exp(state0.kappa * reference_pace)
                 * state0.efficiency / state12.efficiency)


def calibrate(model, state) -> None:
    """Calibrate month 0 in place (see the module docstring)."""
    cfg, fleet = model.cfg, model.fleet
    site_cost = model.site_costs(state)
    supply, offers = exchange.build_supply(cfg, state, fleet, model.providers, site_cost,
                                           model.site_utilisation(), cfg.demand.nesting)
    fleet.markup = list_price_markups(cfg, offers.marginal_cost)
    uc = model.uc
    target_tokens = cfg.demand.tokens_month0 * uc.share
    share = np.array([p.cloud_share for p in model.providers])
    target_revenue = share / share.sum()
    need0 = state.adoption * state.use_per_adopter * state.test_time
    people = sum(u.need_weight.sum() for u in model.users)
    need_weight = target_tokens / (people * need0)
    model.usecase_weight = need_weight
    for _ in range(ROUNDS):
        supply, offers = exchange.build_supply(cfg, state, fleet, model.providers, site_cost,
                                               model.site_utilisation(), cfg.demand.nesting)
        unconstrained = dataclasses.replace(supply,
                                            capacity=np.full(supply.n_offers, UNCONSTRAINED))
        demand, layout = exchange.build_demand(cfg, state, model.geo, uc, model.users,
                                               model.nations, layout_startups(model),
                                               model.need_per_usecase(state), 0.0)
        res = clear(unconstrained, demand, tol=cfg.market.tolerance,
                    max_rounds=int(cfg.market.max_rounds))
        seg_uc = layout.class_usecase[demand.segment_class]
        tokens = np.bincount(seg_uc, weights=res.segment_tokens, minlength=uc.n)
        model.usecase_weight = np.clip(model.usecase_weight * np.divide(
            target_tokens, tokens, out=np.ones(uc.n), where=tokens > 0),
            need_weight / MAX_WEIGHT_FACTOR, need_weight * MAX_WEIGHT_FACTOR)
        revenue = np.bincount(supply.provider, weights=res.offer_revenue,
                              minlength=len(model.providers))
        total = revenue.sum()
        got = revenue / total if total > 0 else np.zeros_like(revenue)  # no sales: no signal
        for p, want, have in zip(model.providers, target_revenue, got, strict=True):
            if want > 0 and have > 0:
                p.appeal += float(np.log(want / have))

    # Tier shares of each site follow its month-0 demand (in compute).
    g = np.where(np.isfinite(offers.compute), offers.compute, 0.0)
    want = np.zeros((fleet.n_sites, N_TIERS))
    np.add.at(want, (offers.site, offers.tier), res.offer_tokens)
    compute = want * g
    total = compute.sum(axis=1, keepdims=True)
    fleet.tier_alloc = np.where(total > 0, compute / np.where(total > 0, total, 1.0),
                                fleet.tier_alloc)
    demand_h100e = compute.sum(axis=1) / costs.HOURS_PER_MONTH
    model.serving_need = demand_h100e / cfg.supply.target_utilisation
    revenue_site = np.zeros(fleet.n_sites)
    np.add.at(revenue_site, offers.site, res.offer_revenue)
    per_hour = np.divide(revenue_site, demand_h100e * costs.HOURS_PER_MONTH,
                         out=np.zeros(fleet.n_sites), where=demand_h100e > 0)
    model.expectations.revenue_per_busy_hour = np.where(
        demand_h100e > 0, per_hour, idle_revenue_per_busy_hour(offers, per_hour, demand_h100e))

    # Expectations start at the trend of the exogenous paths.
    tr, s = cfg.training, cfg.supply
    pace = 12.0 * np.log(tr.run_cost_growth * s.hardware_price_performance_growth
                         * tr.algorithmic_progress) / np.log(
        frontier.effective_compute_growth(tr.compute_growth, tr.algorithmic_progress))
    growth = initial_growth(cfg, state, model.month_state(12), pace)
    for p in model.providers:
        p.expected_growth = growth


def idle_revenue_per_busy_hour(offers, per_hour: np.ndarray, demand_h100e: np.ndarray
                               ) -> float:
    """Expected $ per busy H100e-hour of a site that sold nothing in January 2025.

    The demand-weighted mean of the sites that sold. When no site sold (a world with no
    demand, e.g. ``demand.budget_share=0`` and no startups) the weights all vanish and the
    fallback is the unweighted mean, over every served (site, tier), of the list ask per
    H100e-hour (ask $/M tokens over compute H100e-hours/M tokens); 0 if nothing is served.

    Parameters
    ----------
    offers : Offers
        Month-0 offers (``ask`` $/M tokens, ``compute`` H100e-hours/M tokens, both (S, 4)).
    per_hour : ndarray (S,)
        Revenue per busy H100e-hour of each site, $.
    demand_h100e : ndarray (S,)
        Busy H100e each site's demand keeps, >= 0.

    Returns
    -------
    float
        $ per busy H100e-hour, finite and >= 0.
    """
    sold = demand_h100e > 0
    if sold.any() and demand_h100e[sold].sum() > 0:
        return float(np.average(per_hour[sold], weights=demand_h100e[sold]))
    ok = np.isfinite(offers.ask) & np.isfinite(offers.compute) & (offers.compute > 0)
    if not ok.any():
        return 0.0
    return float(np.mean(offers.ask[ok] / offers.compute[ok]))


def layout_startups(model) -> list:
    from abm.agents import Startup

    return list(model.agents_by_type.get(Startup, []))
