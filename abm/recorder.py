"""Monthly metrics of the compute economy, kept as tidy tables.

Units: HHI on 0-10,000; CR4, shares and ratios in [0, 1]; prices in $/M tokens; tokens in
M tokens/month; money in $/month; energy in TWh/yr (annualised); latency in ms; compute in
H100e. Every nation-month and provider-month row is free of NaN: a ratio with nothing to
divide (a price paid by a nation that bought nothing) is reported as 0 and documented so.

Access accounting (ECONOMICS.md): a segment's *demand* is what it would buy at the clearing
prices with no budget cap. Of it, ``priced_out`` is what its budget removes, ``unserved`` is
what capacity could not serve at those prices (rationing) plus the demand of segments left
with no admissible offer (localisation with no domestic capacity), and the rest is served.
Demand that scarcity premia price out between the asks and the clearing prices is reported
apart (``scarcity_gap_share``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from abm import metrics
from abm.agents.hyperscaler import N_TIERS, OPEN, TIER_NAMES
from abm.economy import costs, flows, paths, segment_sums

if TYPE_CHECKING:
    from abm.model import ComputeEconomy

H = costs.HOURS_PER_MONTH
US = "United States"


def _div(a, b, default=0.0):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return np.divide(a, b, out=np.full(np.broadcast(a, b).shape, default), where=b > 0)


def _hhi(values) -> float:
    v = np.asarray(values, dtype=float)
    return metrics.hhi(v) if v.sum() > 0 else 0.0


def _cr4(values) -> float:
    v = np.asarray(values, dtype=float)
    return metrics.cr(v, 4) if v.sum() > 0 else 0.0


def ownership_hhi(owned: np.ndarray, fragmented: float) -> float:
    """HHI of compute ownership: ``owned`` by named owners plus an atomistic ``fragmented``
    remainder that counts in the total but adds nothing to the sum of squares."""
    total = owned.sum() + fragmented
    if total <= 0:
        return 0.0
    return float(((100.0 * owned / total) ** 2).sum())


def market_rows(market: np.ndarray, n_markets: int, provider: np.ndarray,
                revenue: np.ndarray, tokens: np.ndarray, n_prov: int) -> dict[str, np.ndarray]:
    """Concentration, tokens and revenue of every market at once (a market is a tier or a
    serving region), from per-offer arrays (O,).

    Parameters
    ----------
    market : int array (O,)
        Market of each offer, in ``[0, n_markets)``.
    n_markets, n_prov : numbers of markets and of providers.
    provider : int array (O,)
        Provider of each offer, in ``[0, n_prov)``.
    revenue, tokens : float arrays (O,)
        $ and M tokens of each offer this month.

    Returns
    -------
    dict of (n_markets,) arrays
        ``offers`` (count), ``tokens`` and ``revenue`` (sums), and ``hhi_revenue`` /
        ``cr4_revenue`` of the providers' revenue in each market (0 where it sold nothing).
        The concentration indices equal the market-by-market computation on the market's own
        offers bit for bit (per-provider revenue is one ``bincount`` over (market, provider)
        cells, the same sequential sums); ``tokens`` and ``revenue`` are ``bincount``'s
        sequential sums, equal to each market's pairwise ``sum()`` to rounding (a loop over
        the markets to keep the pairwise bits cost ~0.6 ms a month at ``world`` size).
    """
    market = np.asarray(market, dtype=np.int64)
    by_cell = np.bincount(market * n_prov + provider, weights=revenue,
                          minlength=n_markets * n_prov).reshape(n_markets, n_prov)
    offers = np.bincount(market, minlength=n_markets)
    tok = np.bincount(market, weights=tokens, minlength=n_markets)
    rev = np.bincount(market, weights=revenue, minlength=n_markets)
    sold = by_cell.sum(axis=1) > 0
    hhi = np.where(sold, metrics.hhi_rows(by_cell), 0.0)
    cr4 = np.where(sold, metrics.cr_rows(by_cell, 4), 0.0)
    return {"offers": offers, "tokens": tok, "revenue": rev, "hhi_revenue": hhi,
            "cr4_revenue": cr4}


class MonthColumns:
    """One table's columns, month by month, packed: each month's float64 columns in one 2-D
    array (a pandas DataFrame per month cost ~2 ms at default size, most of the recorder's
    time), other columns (integers, strings) as given. (The peak-RSS growth once blamed on
    keeping small arrays per month was a reference cycle in the clearing kernel, since
    broken: see ``abm.market.clearing._Kernel``.) :meth:`frame` builds the
    table once: the same values, dtypes and column order as concatenating one DataFrame
    per month (``ignore_index``), tested; except that a month without rows changes no
    dtype (pandas makes such a column object). Columns are copied when appended.

    Every month must give the same column names in the same order.

    Raises
    ------
    ValueError
        From :meth:`append`, if a month's columns differ from the first month's, or their
        lengths differ.
    """

    def __init__(self) -> None:
        self.names: list[str] | None = None
        self._months: list[tuple[int, np.ndarray, dict, dict]] = []

    def __len__(self) -> int:
        return len(self._months)

    def append(self, columns: dict) -> None:
        """Add one month's columns (name -> array or list, all of one length)."""
        names = list(columns)
        if self.names is None:
            self.names = names
        elif names != self.names:
            raise ValueError(f"columns: expected {self.names}, got {names}")
        values = {k: v if isinstance(v, (np.ndarray, list)) else list(v)
                  for k, v in columns.items()}
        lengths = {len(v) for v in values.values()}
        if len(lengths) != 1:
            raise ValueError(f"columns: every column needs the same length, got "
                             f"{ {k: len(v) for k, v in values.items()} }")
        floats, other = {}, {}
        for k, v in values.items():
            arr = np.asarray(v) if isinstance(v, list) and not (v and isinstance(v[0], str)) \
                else v
            if isinstance(arr, np.ndarray) and arr.dtype == object and isinstance(v, list):
                arr = pd.Series(v).to_numpy()  # pandas's inference: [1.0, None] is NaN
            if isinstance(arr, np.ndarray) and arr.dtype == np.float64 and arr.ndim == 1:
                floats[k] = len(floats)
            else:  # a copy: the caller may reuse its array next month
                other[k] = arr.copy() if isinstance(arr, np.ndarray) else arr
        n = lengths.pop()
        block = np.empty((len(floats), n))
        for k, j in floats.items():
            block[j] = values[k]
        self._months.append((n, block, other, floats))

    def frame(self) -> pd.DataFrame:
        """The whole table (an empty DataFrame before the first month)."""
        if not self._months:
            return pd.DataFrame()
        # a month without rows adds none and leaves the dtypes alone (pandas's concat would
        # turn a string or integer column object for it)
        months = [m for m in self._months if m[0] > 0] or self._months
        data = {}
        for k in self.names:
            parts = [other[k] if k in other else block[floats[k]]
                     for _, block, other, floats in months]
            if all(isinstance(p, list) for p in parts):
                data[k] = [x for p in parts for x in p]
            else:
                data[k] = np.concatenate([np.asarray(p) for p in parts])
        return pd.DataFrame(data)


class Recorder:
    """Collects one row per month (global), per nation-month, provider-month and market-month."""

    def __init__(self, model: ComputeEconomy) -> None:
        self.model = model
        self.rows_global: list[dict] = []
        # (nation-, provider- and market-months packed per month, each table built at the end:
        # :class:`MonthColumns`)
        self.rows_nations = MonthColumns()
        self.rows_providers = MonthColumns()
        self.rows_markets = MonthColumns()
        self.non_ai_twh_base: np.ndarray | None = None

    # ------------------------------------------------------------------ access
    @staticmethod
    def access(res, demand, layout, n_nat: int) -> dict[str, np.ndarray]:
        """Per nation (N,): tokens, demand, unserved, priced out, scarcity gap (M tokens)."""
        n_user = layout.n_user_segments
        cls = demand.segment_class
        price = res.class_effective_price
        # Segments with no admissible offer: their demand at the price their nation's
        # unrestricted class of the same use-case pays (or the world's median price).
        no_offer = ~np.isfinite(price)
        finite = price[np.isfinite(price)]
        fallback = float(np.median(finite)) if finite.size else 1.0
        n_user_classes = price.size - len(layout.startups)
        ids = np.arange(price.size)
        twin = np.where(ids < n_user_classes, ids - ids % 2, ids)
        twin_price = np.where(np.isfinite(price[twin]), price[twin], fallback)
        eps = demand.elasticity
        ref = demand.reference_demand[:n_user]
        rationed = np.maximum(res.segment_demand[:n_user] - res.segment_tokens[:n_user], 0.0)
        budget = res.segment_unserved_budget[:n_user]
        tokens = res.segment_tokens[:n_user]
        latent = res.segment_latent[:n_user]
        at_clearing = tokens + rationed + budget
        gap = np.maximum(latent - at_clearing, 0.0)
        unserved = rationed
        if no_offer.any():
            # Only the segments of classes with no offer lose demand; everyone else's ``lost``
            # is 0, and adding 0 changes no sum's bits, so the others are left as they are
            # (no passes over every segment).
            hit = np.flatnonzero(no_offer[cls[:n_user]])
            lost = ref[hit] * (twin_price ** -eps)[cls[hit]]  # pow per class
            at_hit = at_clearing[hit] + lost
            at_clearing[hit] = at_hit
            gap[hit] = np.maximum(latent[hit] - (at_hit - lost), 0.0)
            unserved[hit] = rationed[hit] + lost
            latent = latent.copy()
            latent[hit] = latent[hit] + lost
        # user segments come first, startups after
        sums = segment_sums.UserSums(layout, n_nat)
        by_nation = sums.by_nation
        return {"tokens": sums.all_by_nation(res.segment_tokens),
                "demand": by_nation(at_clearing), "unserved": by_nation(unserved),
                "priced_out": by_nation(budget), "gap": by_nation(gap),
                "latent": by_nation(latent)}

    # ------------------------------------------------------------------ one month
    def record(self, state, res, supply, demand, offers, layout, outcome, rental, books,
               invested, cost) -> None:
        m = self.model
        cfg = m.cfg
        s = cfg.supply
        month = m.month
        geo = m.geo
        n_nat = geo.n
        fleet = m.fleet
        n_prov = len(m.providers)
        provider = supply.provider
        tier4 = offers.tier
        q = res.offer_tokens
        price = res.price
        ask = supply.ask
        mc = supply.marginal_cost
        revenue = res.offer_revenue

        rev_p = np.bincount(provider, weights=revenue, minlength=n_prov)
        tok_p = np.bincount(provider, weights=q, minlength=n_prov)
        cap_p = np.bincount(provider, weights=supply.capacity, minlength=n_prov)
        installed = fleet.installed
        installed_p = np.bincount(fleet.provider, weights=installed, minlength=n_prov)
        training_p = np.bincount(fleet.provider, weights=fleet.training, minlength=n_prov)
        busy_p = np.bincount(fleet.provider, weights=outcome.busy_h100e, minlength=n_prov)
        serving_p = installed_p - training_p
        margin = (price - mc) * q
        markup_rent = (ask - mc) * q
        scarcity = (price - ask) * q

        acc = self.access(res, demand, layout, n_nat)
        tpc = acc["tokens"] * 1e6 / geo.population  # tokens per person per month
        # (user segments in blocks: np.bincount's sums, faster: abm.economy.segment_sums)
        n_user = layout.n_user_segments
        g = cfg.size.income_groups
        sums = segment_sums.UserSums(layout, n_nat, g)
        spend_nat = sums.all_by_nation(res.segment_spending)

        # inequality over (nation, income group) cells of users
        cell_tok = sums.by_cell(res.segment_tokens[:n_user])
        cell_pop = sums.by_cell(demand.population[:n_user])
        cell_tpc = _div(cell_tok, cell_pop)
        any_tokens = cell_tok.sum() > 0
        theil = metrics.theil(cell_tpc, weights=cell_pop, groups=np.repeat(np.arange(n_nat), g)) \
            if any_tokens else metrics.TheilDecomposition(0.0, 0.0, 0.0)

        # latency each nation's tokens travel and wait
        # (each nation's latency to every offer, weighted into each class's flows a block of
        # classes at a time: :func:`abm.economy.flows.class_weighted`)
        lat = geo.latency_ms[:, supply.region] + supply.latency_ms[None, :]  # (N, O)
        lat_nat = np.bincount(demand.class_nation,
                              weights=flows.class_weighted(res.class_offer_tokens,
                                                           demand.class_nation, lat),
                              minlength=n_nat)
        cls_tok = outcome.class_tokens if outcome.class_tokens is not None \
            else res.class_offer_tokens.sum(axis=1)
        tok_cls_nat = np.bincount(demand.class_nation, weights=cls_tok, minlength=n_nat)

        # energy: modelled fleets, outside owners, conventional data centres
        ai_site = books["energy_twh"]
        # the modelled sites' energy for serving (training's share of their load taken out)
        at_work = outcome.busy_h100e + fleet.training
        serving_twh = float((ai_site * np.divide(outcome.busy_h100e, at_work,
                                                 out=np.ones_like(at_work),
                                                 where=at_work > 0)).sum())
        ai_twh = np.bincount(fleet.nation, weights=ai_site, minlength=n_nat)
        ai_twh += m.outside.energy_twh(s.pue, s.target_utilisation, s.idle_power_share)
        if self.non_ai_twh_base is None:
            self.non_ai_twh_base = np.maximum(geo.dc_twh_2024 - ai_twh, 0.0)
        energy_nat = ai_twh + self.non_ai_twh_base * paths.declining_growth_index(
            month, cfg.energy.non_ai_growth, cfg.energy.non_ai_growth_final)

        # compute: modelled sites and outside owners
        out_nat = m.outside.installed * m.outside.nation_share
        compute_nat = np.bincount(fleet.nation, weights=installed, minlength=n_nat) + out_nat
        world_compute = float(compute_nat.sum())
        own = m.outside
        named = own.installed * own.owner_shares[~own.fragmented]
        frag = own.installed * own.owner_shares[own.fragmented].sum()
        owners = np.concatenate([installed_p, named])
        us = m.nation_index.get(US)

        # compute spend at full cost per H100e-hour: H100e busy serving tokens vs training
        # (idle capacity is overhead of neither)
        per_hour = cost.per_hour
        training_cost = float((fleet.training * per_hour).sum() * H)
        inference_cost = float((outcome.busy_h100e * per_hour).sum() * H)
        training_spend = float(rental.lab_spend.sum())

        # price at constant capability: cheapest offer that sold at least the Jan-2025 frontier
        level = offers.level[offers.site, offers.tier]
        qualifies = (level >= -1e-9) & (q > 0)
        pcc = float(price[qualifies].min()) if qualifies.any() else 0.0

        tokens_total = float(q.sum())
        spending_total = float(res.segment_spending.sum())
        demand_total = float(acc["demand"].sum())
        latent_total = float(acc["latent"].sum())
        tier_tok = np.bincount(tier4, weights=q, minlength=N_TIERS)
        tier_rev = np.bincount(tier4, weights=revenue, minlength=N_TIERS)
        chips = invested["chips"]
        q_site = invested["q"]
        row = {
            "month": month,
            "year": state.year,
            "hhi_revenue": _hhi(rev_p),
            "cr4_revenue": _cr4(rev_p),
            "hhi_tokens": _hhi(tok_p),
            "cr4_tokens": _cr4(tok_p),
            "hhi_capacity": ownership_hhi(owners, frag),
            "cr4_capacity": float(np.sort(owners)[::-1][:4].sum() / (owners.sum() + frag))
            if owners.sum() + frag > 0 else 0.0,
            "equivalent_firms": 10_000.0 / _hhi(rev_p) if rev_p.sum() > 0 else 0.0,
            "lerner": metrics.lerner(price, mc, weights=q) if tokens_total > 0 else 0.0,
            "markup_lerner": metrics.lerner(ask, mc, weights=q) if tokens_total > 0 else 0.0,
            "lerner_closed": metrics.lerner(price, mc, weights=np.where(tier4 == OPEN, 0.0, q))
            if (q * (tier4 != OPEN)).sum() > 0 else 0.0,
            "rent_share": float(margin.sum() / spending_total) if spending_total > 0 else 0.0,
            "markup_rent": float(markup_rent.sum()),
            "scarcity_rent": float(scarcity.sum()),
            "scarcity_rent_share": float(scarcity.sum() / spending_total)
            if spending_total > 0 else 0.0,
            "producer_surplus": float(margin.sum()),
            "profit_total": float(sum(p.profit for p in m.providers)),
            "gini_access": metrics.gini(tpc, weights=geo.population) if tpc.sum() > 0 else 0.0,
            "theil_total": float(theil.total),
            "theil_between": float(theil.between),
            "theil_within": float(theil.within),
            "atkinson_access": metrics.atkinson(tpc, 0.5, weights=geo.population)
            if tpc.sum() > 0 else 0.0,
            "palma_access": metrics.palma(tpc, weights=geo.population) if tpc.sum() > 0
            else 0.0,
            "unserved_share": float(acc["unserved"].sum() / demand_total)
            if demand_total > 0 else 0.0,
            "priced_out_share": float(acc["priced_out"].sum() / demand_total)
            if demand_total > 0 else 0.0,
            "scarcity_gap_share": float(acc["gap"].sum() / latent_total)
            if latent_total > 0 else 0.0,
            "energy_twh": float(energy_nat.sum()),
            "energy_ai_twh": float(ai_twh.sum()),
            "inference_share": inference_cost / (inference_cost + training_cost)
            if inference_cost + training_cost > 0 else 0.0,
            "inference_spend": inference_cost,
            "training_spend": training_spend,
            "tokens_total": tokens_total,
            "revenue_total": float(revenue.sum()),
            "spending_total": spending_total,
            "tariff_revenue": float(res.tariff_revenue.sum()),
            "price_constant_capability": pcc,
            "open_weight_share": float(tier_tok[OPEN] / tokens_total) if tokens_total > 0
            else 0.0,
            "mean_latency_ms": float(lat_nat.sum() / tok_cls_nat.sum())
            if tok_cls_nat.sum() > 0 else 0.0,
            "capacity_h100e": world_compute,
            "capacity_modelled_h100e": float(installed.sum()),
            "us_capacity_share": float(compute_nat[us] / world_compute)
            if us is not None and world_compute > 0 else 0.0,
            "utilisation": float(outcome.busy_h100e.sum() / max(serving_p.sum(), 1e-300)),
            "chip_price": float(m.chip_price[0]),
            "chip_output_h100e": float(m.chip_output_sold),
            "chips_sold_h100e": float(chips.h100e.sum()),
            "chips_tier3_h100e": float(chips.h100e[geo.export_tier[fleet.nation] == 3].sum()),
            "h100_rental_usd_hour": float(rental.price[0]),
            "rental_h100e": float(rental.site_h100e.sum()),
            "capex_usd": float(sum(p.capex for p in m.providers)),
            "q_mean": float(np.average(q_site, weights=np.maximum(installed, 1e-12))),
            "n_providers": n_prov,
            "n_startups": len(layout.startups),
            "startup_entries": m.startup_entries,
            "startup_exits": m.startup_exits,
            "provider_entries": m.provider_entries,
            "provider_exits": m.provider_exits,
            "debt_written_off_usd": m.debt_written_off,
            "impairment_usd": float(books["impairment"].sum()),
            "tokens_per_kwh": float(tokens_total * 1e6 / (serving_twh * 1e9 / 12.0))
            if serving_twh > 0 else 0.0,
            "open_quality": float(m.open_quality),
            "frontier_level_months": float(state.frontier_level),
            "open_lag_months": float(state.open_quality_lag)
            if np.isfinite(state.open_quality_lag) else 0.0,
            "clearing_rounds": res.rounds,
            "clearing_converged": bool(res.converged),
        }
        tier_markets = market_rows(tier4, N_TIERS, provider, revenue, q, n_prov)
        for k, name in enumerate(TIER_NAMES):
            row[f"price_{name}"] = float(tier_rev[k] / tier_tok[k]) if tier_tok[k] > 0 else 0.0
            row[f"tokens_{name}"] = float(tier_tok[k])
            row[f"hhi_{name}"] = float(tier_markets["hhi_revenue"][k])
        self.rows_global.append(row)

        self._market_rows(month, "tier", list(TIER_NAMES), tier_markets, every=True)
        regions = market_rows(supply.region, n_nat, provider, revenue, q, n_prov)
        self._market_rows(month, "region", geo.names, regions)

        user_tok = res.segment_tokens[:n_user]
        user_spend = res.segment_spending[:n_user]

        def paid(group):
            return _div(sums.by_nation_in_group(user_spend, group),
                        sums.by_nation_in_group(user_tok, group))

        self.rows_nations.append({
            "month": np.full(n_nat, month),
            "nation": geo.names,
            "population": geo.population,
            "tokens": acc["tokens"],
            "tokens_per_capita": tpc,
            "spending_per_capita": spend_nat / geo.population,
            "price_paid": _div(spend_nat, acc["tokens"]),
            "price_paid_poorest": paid(0),
            "price_paid_richest": paid(g - 1),
            "dependence_ratio": m.dependence,
            "unserved_share": _div(acc["unserved"], acc["demand"]),
            "priced_out_share": _div(acc["priced_out"], acc["demand"]),
            "energy_twh": energy_nat,
            "energy_ai_twh": ai_twh,
            "mean_latency_ms": _div(lat_nat, tok_cls_nat),
            "capacity_h100e": compute_nat,
            "localisation_share": [n.localisation_share for n in m.nations],
            "grid_headroom_mw": [n.grid_headroom_mw for n in m.nations],
            "subsidy_paid": [n.subsidy_paid for n in m.nations],
            "export_tier": geo.export_tier,
        })

        q_p = _div(np.bincount(fleet.provider, weights=q_site * installed, minlength=n_prov),
                   installed_p)
        self.rows_providers.append({
            "month": np.full(n_prov, month),
            "provider": [p.name for p in m.providers],
            "kind": [p.kind for p in m.providers],
            "home": [geo.names[p.home] for p in m.providers],
            "revenue": rev_p,
            "revenue_share": _div(rev_p, rev_p.sum()),
            "tokens": tok_p,
            "capacity": cap_p,
            "compute_h100e": installed_p,
            "training_h100e": training_p,
            "utilisation": _div(busy_p, serving_p),
            "price": _div(rev_p, tok_p),
            "lerner": _div(np.bincount(provider, weights=margin, minlength=n_prov), rev_p),
            "markup_lerner": _div(np.bincount(provider, weights=markup_rent, minlength=n_prov),
                                  np.bincount(provider, weights=ask * q, minlength=n_prov)),
            "scarcity_rent": np.bincount(provider, weights=scarcity, minlength=n_prov),
            "profit": [p.profit for p in m.providers],
            "operating_profit": [p.operating_profit for p in m.providers],
            "cash": [p.cash for p in m.providers],
            "capex": [p.capex for p in m.providers],
            "training_spend": [p.training_spend for p in m.providers],
            "rental_income": [p.rental_income for p in m.providers],
            "q": q_p,
            "expected_growth": [p.expected_growth for p in m.providers],
            "frontier_lag_months": [state.frontier_level - p.model_level(state.frontier_level)
                                    for p in m.providers],
        })

    def _market_rows(self, month, kind, names, markets: dict[str, np.ndarray], *,
                     every: bool = False) -> None:
        """One markets row per market with offers, or per market if ``every`` (``markets``
        from :func:`market_rows`)."""
        rows = np.arange(len(names)) if every else np.flatnonzero(markets["offers"] > 0)
        if rows.size == 0:
            return
        tok, rev = markets["tokens"][rows], markets["revenue"][rows]
        self.rows_markets.append({
            "month": np.full(rows.size, month), "market_type": [kind] * rows.size,
            "market": [names[i] for i in rows],
            "hhi_revenue": markets["hhi_revenue"][rows],
            "cr4_revenue": markets["cr4_revenue"][rows],
            "tokens": tok, "revenue": rev,
            "price": np.divide(rev, tok, out=np.zeros(rows.size), where=tok > 0),
        })

    # ------------------------------------------------------------------ tables
    def tables(self) -> dict[str, pd.DataFrame]:
        glob = pd.DataFrame(self.rows_global)
        nations = self.rows_nations.frame()
        providers = self.rows_providers.frame()
        markets = self.rows_markets.frame()
        out = {"global": glob, "nations": nations, "providers": providers, "markets": markets}
        for df in out.values():
            if "month" in df:
                df["month"] = df["month"].astype("int64")
        if "year" in glob:
            glob["year"] = glob["year"].astype("int64")
        return out
