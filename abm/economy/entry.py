"""Entry and exit (mechanism 14): startups by use-case, neoclouds by data-centre economics.

Startups enter a use-case (Poisson, ``startups.entry_rate``) while its incumbents make money
and exit after ``exit_after_months`` months of losses. Neoclouds enter (Poisson,
``supply.neocloud_entry_rate``) while incumbent neoclouds run their fleets at or above the
target utilisation at a profit, starting with a data-centre shell of
``neocloud_entry_h100e`` H100e in a nation with grid head-room and chip access; they exit
after ``supply.exit_after_months`` months in which their debt exceeds their credit. Both
switches are separate: ``startups.enabled`` and ``supply.neocloud_entry_exit``.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from abm.agents import Hyperscaler, Startup
from abm.agents.hyperscaler import N_TIERS
from abm.economy import segment_sums
from abm.economy.fleet import Fleet


def startups(model, result, layout) -> None:
    """Settle every startup's month, then exits and entries."""
    cfg = model.cfg.startups
    n_user = layout.n_user_segments
    spend = result.segment_spending
    tokens = result.segment_tokens
    n_cls = len(layout.class_usecase)
    if layout.user_shape is not None:  # np.bincount's bits, faster (segment_sums)
        tail = np.zeros(n_cls - layout.user_shape[0] * layout.user_shape[2])
        cls_tok = np.concatenate([segment_sums.by_class(tokens[:n_user], layout.user_shape),
                                  tail])
        cls_spend = np.concatenate([segment_sums.by_class(spend[:n_user], layout.user_shape),
                                    tail])
    else:
        user_cls = model.demand_book.segment_class[:n_user]
        cls_tok = np.bincount(user_cls, weights=tokens[:n_user], minlength=n_cls)
        cls_spend = np.bincount(user_cls, weights=spend[:n_user], minlength=n_cls)
    price = np.divide(cls_spend, cls_tok, out=np.zeros_like(cls_spend), where=cls_tok > 0)
    n_u = model.uc.n
    for j, s in enumerate(layout.startups):
        c = (s.nation * n_u + s.usecase) * 2
        s.settle(float(tokens[n_user + j]), float(spend[n_user + j]), float(price[c]), cfg)
    if not cfg.enabled:
        return
    margin = np.zeros(n_u)
    count = np.zeros(n_u)
    for s in layout.startups:
        margin[s.usecase] += s.profit
        count[s.usecase] += 1
    open_quality, threshold = model.open_quality, model.uc.threshold  # once, not per startup
    for s in list(model.agents_by_type.get(Startup, [])):
        if s.decide(open_quality, threshold[s.usecase], cfg):
            model.startup_exits += 1
            s.remove()
    weight = model.geo.population * model.geo.gdp_pc
    for u in range(n_u):
        if count[u] == 0 or margin[u] > 0:
            for _ in range(int(model.rng.poisson(cfg.entry_rate))):
                Startup(model, draw(model.rng, weight), u)
                model.startup_entries += 1


def draw(rng, weight: np.ndarray) -> int:
    """An index drawn with probability proportional to ``weight``."""
    p = weight / weight.sum()
    return int(rng.choice(len(p), p=p))


def restructure(model) -> None:
    """Providers that cannot exit (everyone but neoclouds when entry and exit are on) are
    reorganised after ``supply.exit_after_months`` months of debt above their credit: the
    debt above the limit is written off (:meth:`abm.agents.Hyperscaler.restructure`)."""
    s = model.cfg.supply
    for p in model.providers:
        exits = p.kind == "neocloud" and s.neocloud_entry_exit
        if not exits and p.distress >= s.exit_after_months:
            model.debt_written_off += p.restructure()


def neoclouds(model, state) -> None:
    """Exit of distressed neoclouds and of those left with no site, chip or shell, then entry
    while incumbents are full at a profit."""
    s = model.cfg.supply
    if not s.neocloud_entry_exit:
        return
    fleet = model.fleet
    neo = [p for p in model.providers if p.kind == "neocloud"]
    mine = np.isin(fleet.provider, [p.index for p in neo])
    installed = fleet.installed[mine].sum()
    busy = model.outcome.busy_h100e[mine].sum() + fleet.training[mine].sum()
    full = installed > 0 and busy / installed >= s.target_utilisation
    profitable = sum(p.profit for p in neo) > 0
    # a neocloud with no chip installed or on its way and no shell being built has nothing
    has_capacity = np.bincount(fleet.provider, weights=fleet.installed + fleet.arriving.sum(axis=0)
                               + fleet.shell_pipeline.sum(axis=0),
                               minlength=len(model.providers)) > 0
    for p in [p for p in neo if p.distress >= s.exit_after_months
              or not has_capacity[p.index]]:
        remove_provider(model, p)
        model.provider_exits += 1
    neo = [p for p in model.providers if p.kind == "neocloud"]
    if not (neo and full and profitable):
        return
    for _ in range(int(model.rng.poisson(s.neocloud_entry_rate))):
        enter_neocloud(model, state, min(p.appeal for p in neo))


def enter_neocloud(model, state, appeal: float) -> None:
    """A new neocloud: one site, cash for its first shell and chips, no capacity yet."""
    s = model.cfg.supply
    geo = model.geo
    headroom = np.array([n.grid_headroom_mw if n.export_tier < 3 else 0.0
                         for n in model.nations])
    if headroom.sum() <= 0:
        return
    site = draw(model.rng, headroom)
    model.provider_entries += 1
    row = SimpleNamespace(provider=f"Neocloud entrant {model.provider_entries}",
                          kind="neocloud", home_index=site, frontier_lab=False,
                          custom_silicon=False, frontier_lag_months=0.0)
    index = len(model.providers)
    p = Hyperscaler(model, row, index=index, appeal=appeal)
    model.providers.append(p)
    new = Fleet.empty([index], [site], [geo.export_tier[site] == 3],
                      life=model.fleet.chips.shape[0], install_lead=model.fleet.arriving.shape[0],
                      build_lead=model.fleet.shell_pipeline.shape[0])
    kw = state.kw_per_h100e_new
    it_mw = s.neocloud_entry_h100e * kw / 1000.0
    granted = model.nations[site].reserve_power(it_mw * s.pue) / s.pue
    spend = granted * 1000.0 * state.shell_cost_per_kw
    new.order_shells(np.array([granted]), np.array([spend]))
    model.fleet.extend(new)
    model.expectations.extend(1, float(np.median(model.expectations.revenue_per_busy_hour)))
    model.serving_need = np.r_[model.serving_need, 0.0]
    if model.last_price_ratio is not None:  # the new site's offers start cold
        model.last_price_ratio = np.vstack([model.last_price_ratio,
                                            np.full((1, N_TIERS), np.nan)])
    p.cash = granted * 1000.0 / kw * model.chip_price[0]
    p.expected_growth = float(np.median([q.expected_growth for q in model.providers]))


def remove_provider(model, p) -> None:
    """Take a provider off the market: its shells hand their grid connection back."""
    fleet = model.fleet
    mine = fleet.provider == p.index
    facility = (fleet.shells + fleet.shell_pipeline.sum(axis=0))[mine] * model.cfg.supply.pue
    for nat, mw in zip(fleet.nation[mine], facility, strict=True):
        model.nations[nat].grid_headroom_mw += float(mw)
    fleet.keep(~mine)
    model.expectations.keep(~mine)
    model.serving_need = model.serving_need[~mine]
    if model.last_price_ratio is not None:
        model.last_price_ratio = model.last_price_ratio[~mine]
    old = p.index
    model.providers.remove(p)
    p.remove()
    remap = np.arange(len(model.providers) + 1)
    remap[old + 1:] -= 1
    fleet.provider = remap[fleet.provider]
    for i, q in enumerate(model.providers):
        q.index = i
    if model.provider_demand is not None:
        model.provider_demand = np.delete(model.provider_demand, old)
