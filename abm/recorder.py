"""Monthly metrics of the compute economy, kept as tidy tables.

Units: HHI on 0-10,000; CR4, shares and ratios in [0, 1]; prices in $/M tokens; tokens in
M tokens/month; money in $/month; energy in TWh/yr (annualised); latency in ms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from abm import metrics
from abm.agents.hyperscaler import N_TIERS, OPEN, TIER_NAMES
from abm.economy import costs, paths
from abm.market import ClearingResult, DemandBook, SupplyBook

if TYPE_CHECKING:
    from abm.model import ComputeEconomy


def _safe_div(a, b, default=0.0):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return np.divide(a, b, out=np.full(np.broadcast(a, b).shape, default), where=b > 0)


def _hhi(values) -> float:
    v = np.asarray(values, dtype=float)
    return metrics.hhi(v) if v.sum() > 0 else float("nan")


def _cr4(values) -> float:
    v = np.asarray(values, dtype=float)
    return metrics.cr(v, 4) if v.sum() > 0 else float("nan")


class Recorder:
    """Collects one row per month (global), per nation-month, provider-month and market-month."""

    def __init__(self, model: ComputeEconomy) -> None:
        self.model = model
        self.rows_global: list[dict] = []
        self.rows_nations: list[pd.DataFrame] = []
        self.rows_providers: list[pd.DataFrame] = []
        self.rows_markets: list[dict] = []
        self.non_ai_twh_base: np.ndarray | None = None

    # ------------------------------------------------------------------ one month
    def record(self, res: ClearingResult, supply: SupplyBook, demand: DemandBook,
               offer_index: np.ndarray) -> None:
        m = self.model
        cfg = m.cfg
        month = m.month
        n_nat = m.n_nations
        provider = offer_index[:, 0]
        tier4 = offer_index[:, 2]
        n_prov = len(m.providers)
        q = res.offer_tokens
        price = res.price
        mc = supply.marginal_cost
        revenue = res.offer_revenue

        rev_by_prov = np.bincount(provider, weights=revenue, minlength=n_prov)
        tok_by_prov = np.bincount(provider, weights=q, minlength=n_prov)
        cap_by_prov = np.bincount(provider, weights=supply.capacity, minlength=n_prov)
        margin = (price - mc) * q

        # access: tokens per capita by nation (users and startups they buy through)
        seg_nat = m.segment_nation
        tok_nat = np.bincount(seg_nat, weights=res.segment_tokens, minlength=n_nat)
        spend_nat = np.bincount(seg_nat, weights=res.segment_spending, minlength=n_nat)
        n_user = m.n_user_segments
        latent_nat = np.bincount(seg_nat[:n_user], weights=res.segment_latent[:n_user],
                                 minlength=n_nat)
        unserved_nat = np.bincount(seg_nat[:n_user], weights=res.segment_unserved[:n_user],
                                   minlength=n_nat)
        budget_nat = np.bincount(seg_nat[:n_user],
                                 weights=res.segment_unserved_budget[:n_user], minlength=n_nat)
        pop_nat = m.population
        tpc = tok_nat * 1e6 / pop_nat  # tokens per person per month

        # within/between nations over (nation, income group) cells
        g = cfg.size.income_groups
        cell = seg_nat[:n_user] * g + m.segment_group[:n_user]
        cell_tok = np.bincount(cell, weights=res.segment_tokens[:n_user], minlength=n_nat * g)
        cell_pop = np.bincount(cell, weights=demand.population[:n_user], minlength=n_nat * g)
        cell_tpc = _safe_div(cell_tok, cell_pop)
        theil = metrics.theil(cell_tpc, weights=cell_pop,
                              groups=np.repeat(np.arange(n_nat), g)) \
            if cell_tok.sum() > 0 else metrics.TheilDecomposition(np.nan, np.nan, np.nan)

        # latency paid by each nation
        lat = (m.latency_ms[demand.class_nation][:, supply.region]
               + supply.latency_ms[None, :])
        cls_tok = res.class_offer_tokens.sum(axis=1)
        lat_nat = np.bincount(demand.class_nation,
                              weights=(res.class_offer_tokens * lat).sum(axis=1),
                              minlength=n_nat)
        tok_cls_nat = np.bincount(demand.class_nation, weights=cls_tok, minlength=n_nat)

        # energy: fleets by site nation, training at home, conventional baseline
        s = cfg.supply
        ai_twh = np.zeros(n_nat)
        compute_nat = np.zeros(n_nat)
        inference_cost = 0.0
        for p in m.providers:
            util = getattr(p, "site_util", np.zeros_like(p.compute))
            e = costs.fleet_energy_twh_per_year(p.power_mw, s.pue, util, s.idle_power_share)
            ai_twh += np.bincount(p.site_nation, weights=e, minlength=n_nat)
            compute_nat += np.bincount(p.site_nation, weights=p.compute, minlength=n_nat)
            train_kwh = p.training_spend * cfg.training.energy_share / m.electricity[p.home]
            ai_twh[p.home] += train_kwh * 12 / 1e9
            inference_cost += p.fleet_cost
        if self.non_ai_twh_base is None:
            self.non_ai_twh_base = np.maximum(m.dc_twh_2024 - ai_twh, 0.0)
        energy_nat = ai_twh + self.non_ai_twh_base * paths.compounding(
            month, cfg.energy.non_ai_growth)
        training = float(sum(p.training_spend for p in m.providers))

        # price at constant capability: cheapest offer (that sold) at least as capable as
        # the January-2025 frontier; its capability level in frontier-months is month - lag.
        lag = (-12.0 * np.log(np.maximum(supply.quality, 1e-12))
               / cfg.tiers.quality_decay_per_year)
        qualifies = (m.frontier_level - lag >= -1e-9) & (q > 0)
        pcc = float(price[qualifies].min()) if qualifies.any() else float("nan")

        tokens_total = float(q.sum())
        spending_total = float(res.segment_spending.sum())
        latent_total = float(res.segment_latent[:n_user].sum())
        tier_tok = np.bincount(tier4, weights=q, minlength=N_TIERS)
        tier_rev = np.bincount(tier4, weights=revenue, minlength=N_TIERS)
        row = {
            "month": month,
            "year": 2025.0 + month / 12.0,
            "hhi_revenue": _hhi(rev_by_prov),
            "cr4_revenue": _cr4(rev_by_prov),
            "hhi_tokens": _hhi(tok_by_prov),
            "cr4_tokens": _cr4(tok_by_prov),
            "hhi_capacity": _hhi(cap_by_prov),
            "equivalent_firms": 10_000.0 / _hhi(rev_by_prov) if rev_by_prov.sum() > 0
            else float("nan"),
            "lerner": metrics.lerner(price, mc, weights=q) if tokens_total > 0 else np.nan,
            "rent_share": float(margin.sum() / spending_total) if spending_total > 0 else np.nan,
            "producer_surplus": float(margin.sum()),
            "profit_total": float(sum(p.profit for p in m.providers)),
            "gini_access": metrics.gini(tpc, weights=pop_nat) if tpc.sum() > 0 else np.nan,
            "theil_total": float(theil.total),
            "theil_between": float(theil.between),
            "theil_within": float(theil.within),
            "atkinson_access": metrics.atkinson(tpc, 0.5, weights=pop_nat)
            if tpc.sum() > 0 else np.nan,
            "palma_access": metrics.palma(tpc, weights=pop_nat) if tpc.sum() > 0 else np.nan,
            "unserved_share": float(res.segment_unserved[:n_user].sum() / latent_total)
            if latent_total > 0 else np.nan,
            "priced_out_share": float(res.segment_unserved_budget[:n_user].sum() / latent_total)
            if latent_total > 0 else np.nan,
            "energy_twh": float(energy_nat.sum()),
            "energy_ai_twh": float(ai_twh.sum()),
            "inference_share": inference_cost / (inference_cost + training)
            if inference_cost + training > 0 else np.nan,
            "inference_spend": inference_cost,
            "training_spend": training,
            "tokens_total": tokens_total,
            "revenue_total": float(revenue.sum()),
            "spending_total": spending_total,
            "tariff_revenue": float(res.tariff_revenue.sum()),
            "price_constant_capability": pcc,
            "open_weight_share": float(tier_tok[OPEN] / tokens_total) if tokens_total > 0
            else 0.0,
            "mean_latency_ms": float(lat_nat.sum() / tok_cls_nat.sum())
            if tok_cls_nat.sum() > 0 else np.nan,
            "capacity_h100e": float(compute_nat.sum()),
            "chip_price": float(getattr(m, "chip_price", np.nan)),
            "chips_sold_h100e": float(getattr(m, "chips_sold", 0.0)),
            "chips_tier3_h100e": float(getattr(m, "chips_by_tier", np.zeros(3))[2]),
            "n_providers": n_prov,
            "n_startups": len(m.startup_list),
            "startup_entries": m.startup_entries,
            "startup_exits": m.startup_exits,
            "provider_entries": m.provider_entries,
            "provider_exits": m.provider_exits,
            "tokens_per_kwh": float(tokens_total * 1e6 / (ai_twh.sum() * 1e9 / 12.0))
            if ai_twh.sum() > 0 else np.nan,
            "open_quality": float(m.open_quality),
            "frontier_level_months": float(m.frontier_level),
            "clearing_rounds": res.rounds,
            "clearing_converged": bool(res.converged),
        }
        for k, name in enumerate(TIER_NAMES):
            row[f"price_{name}"] = float(tier_rev[k] / tier_tok[k]) if tier_tok[k] > 0 \
                else np.nan
            row[f"tokens_{name}"] = float(tier_tok[k])
            in_tier = tier4 == k
            row[f"hhi_{name}"] = _hhi(np.bincount(provider[in_tier], weights=revenue[in_tier],
                                                  minlength=n_prov))
        self.rows_global.append(row)

        # markets: per tier and per serving region
        for k, name in enumerate(TIER_NAMES):
            in_tier = tier4 == k
            self._market_row(month, "tier", name, provider[in_tier], revenue[in_tier],
                             q[in_tier], n_prov)
        for r in np.unique(supply.region):
            here = supply.region == r
            self._market_row(month, "region", m.nation_names[r], provider[here],
                             revenue[here], q[here], n_prov)

        # nations
        user_tok = res.segment_tokens[:n_user]
        user_spend = res.segment_spending[:n_user]
        grp = m.segment_group[:n_user]
        poorest = grp == 0
        richest = grp == g - 1
        price_poor = _safe_div(np.bincount(seg_nat[:n_user][poorest], weights=user_spend[poorest],
                                           minlength=n_nat),
                               np.bincount(seg_nat[:n_user][poorest], weights=user_tok[poorest],
                                           minlength=n_nat), np.nan)
        price_rich = _safe_div(np.bincount(seg_nat[:n_user][richest], weights=user_spend[richest],
                                           minlength=n_nat),
                               np.bincount(seg_nat[:n_user][richest], weights=user_tok[richest],
                                           minlength=n_nat), np.nan)
        self.rows_nations.append(pd.DataFrame({
            "month": np.full(n_nat, month),
            "nation": m.nation_names,
            "population": pop_nat,
            "tokens": tok_nat,
            "tokens_per_capita": tpc,
            "spending_per_capita": spend_nat / pop_nat,
            "price_paid": _safe_div(spend_nat, tok_nat, np.nan),
            "price_paid_poorest": price_poor,
            "price_paid_richest": price_rich,
            "dependence_ratio": m.dependence,
            "unserved_share": _safe_div(unserved_nat, latent_nat, np.nan),
            "priced_out_share": _safe_div(budget_nat, latent_nat, np.nan),
            "energy_twh": energy_nat,
            "energy_ai_twh": ai_twh,
            "mean_latency_ms": _safe_div(lat_nat, tok_cls_nat, np.nan),
            "capacity_h100e": compute_nat,
            "localisation_share": [n.localisation_share for n in m.nations],
            "grid_headroom_mw": [n.grid_headroom_mw for n in m.nations],
            "subsidy_paid": [n.subsidy_paid for n in m.nations],
            "export_tier": m.export_tier,
        }))

        # providers
        lerner_p = _safe_div(np.bincount(provider, weights=margin, minlength=n_prov),
                             rev_by_prov, np.nan)
        self.rows_providers.append(pd.DataFrame({
            "month": np.full(n_prov, month),
            "provider": [p.name for p in m.providers],
            "kind": [p.kind for p in m.providers],
            "home": [m.nation_names[p.home] for p in m.providers],
            "revenue": rev_by_prov,
            "revenue_share": _safe_div(rev_by_prov, rev_by_prov.sum()),
            "tokens": tok_by_prov,
            "capacity": cap_by_prov,
            "compute_h100e": [float(p.compute.sum()) for p in m.providers],
            "utilisation": _safe_div(tok_by_prov, cap_by_prov),
            "price": _safe_div(rev_by_prov, tok_by_prov, np.nan),
            "lerner": lerner_p,
            "profit": [p.profit for p in m.providers],
            "cash": [p.cash for p in m.providers],
            "capex": [p.capex for p in m.providers],
            "training_spend": [p.training_spend for p in m.providers],
            "frontier_lag_months": [m.frontier_level - p.model_level() for p in m.providers],
        }))

    def _market_row(self, month, kind, name, provider, revenue, tokens, n_prov) -> None:
        rev = np.bincount(provider, weights=revenue, minlength=n_prov)
        tok = float(tokens.sum())
        self.rows_markets.append({
            "month": month, "market_type": kind, "market": name,
            "hhi_revenue": _hhi(rev), "cr4_revenue": _cr4(rev),
            "tokens": tok, "revenue": float(revenue.sum()),
            "price": float(revenue.sum() / tok) if tok > 0 else np.nan,
        })

    # ------------------------------------------------------------------ tables
    def tables(self) -> dict[str, pd.DataFrame]:
        glob = pd.DataFrame(self.rows_global)
        nations = (pd.concat(self.rows_nations, ignore_index=True) if self.rows_nations
                   else pd.DataFrame())
        providers = (pd.concat(self.rows_providers, ignore_index=True) if self.rows_providers
                     else pd.DataFrame())
        markets = pd.DataFrame(self.rows_markets)
        out = {"global": glob, "nations": nations, "providers": providers, "markets": markets}
        for df in out.values():
            if "month" in df:
                df["month"] = df["month"].astype("int64")
        return out
