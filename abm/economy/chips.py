"""The monthly accelerator market (mechanism 6), cleared by the uniform double auction.

Buyers are (provider, site) pairs; export rules decide which pool a buyer may bid in:
tier-1 nations buy controlled chips freely, tier-2 nations are capped per nation-year, tier-3
nations may only buy domestic (non-controlled) chips, which deliver less performance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abm.market.auction import double_auction

# The vendor's supply curve: shares of the month's output offered at multiples of its price.
SUPPLY_TRANCHES = np.array([0.2, 0.2, 0.2, 0.2, 0.2])
TRANCHE_PRICE = np.array([0.9, 1.0, 1.1, 1.3, 1.6])


@dataclass(frozen=True)
class ChipAllocation:
    """Result of one month's chip market.

    ``h100e``: performance units allocated per bid (H100e); ``spend``: $ paid per bid;
    ``price_controlled`` / ``price_domestic``: clearing $ per H100e (NaN when nothing traded).
    """

    h100e: np.ndarray
    spend: np.ndarray
    price_controlled: float
    price_domestic: float


def clear_chip_market(bid_h100e: np.ndarray, bid_price: np.ndarray, bid_nation: np.ndarray,
                      nation_tier: np.ndarray, *, supply_h100e: float, vendor_price: float,
                      export_controls: bool, tier2_cap_month: float,
                      domestic_share: float, domestic_perf: float) -> ChipAllocation:
    """Allocate this month's accelerators among buyers by willingness to pay.

    Parameters
    ----------
    bid_h100e : (B,) H100e wanted per buyer.
    bid_price : (B,) most a buyer pays, $ per H100e.
    bid_nation : (B,) nation of the buyer's site; ``nation_tier`` (N,) its export tier.
    supply_h100e : controlled-chip output this month, H100e.
    vendor_price : $ per H100e at the middle of the vendor's supply curve.
    tier2_cap_month : most controlled H100e one tier-2 nation receives this month.
    domestic_share, domestic_perf : domestic chip output as a share of ``supply_h100e`` (in
        chips) and its performance per chip (H100e).
    """
    qty = np.asarray(bid_h100e, dtype=float).copy()
    price = np.asarray(bid_price, dtype=float)
    tier = np.asarray(nation_tier)[np.asarray(bid_nation)]
    n_nat = len(nation_tier)
    if export_controls:
        controlled = tier < 3
        tier2 = tier == 2
        wanted = np.bincount(bid_nation[tier2], weights=qty[tier2], minlength=n_nat)
        scale = np.minimum(1.0, np.divide(tier2_cap_month, wanted, out=np.ones(n_nat),
                                          where=wanted > 0))
        qty = np.where(tier2, qty * scale[bid_nation], qty)
    else:
        controlled = np.ones(qty.shape, dtype=bool)
    h100e = np.zeros_like(qty)
    spend = np.zeros_like(qty)
    ask_qty = supply_h100e * SUPPLY_TRANCHES
    ask_price = vendor_price * TRANCHE_PRICE
    res = double_auction(price[controlled], qty[controlled], ask_price, ask_qty)
    h100e[controlled] = res.bid_fill
    spend[controlled] = res.bid_fill * (0.0 if np.isnan(res.price) else res.price)
    price_dom = np.nan
    domestic = ~controlled
    if domestic.any():
        # Domestic chips cost the same per chip, so more per H100e.
        dom = double_auction(price[domestic], qty[domestic],
                             ask_price / domestic_perf,
                             ask_qty * domestic_share * domestic_perf)
        h100e[domestic] = dom.bid_fill
        spend[domestic] = dom.bid_fill * (0.0 if np.isnan(dom.price) else dom.price)
        price_dom = dom.price
    return ChipAllocation(h100e, spend, float(res.price), float(price_dom))
