"""The monthly accelerator market (mechanism 6), cleared by the uniform double auction.

Supply is upward sloping (ECONOMICS.md): at price ``p`` the vendors sell
``S(p) = S_bar * (p / p_list) ** eta`` H100e, offered here as a ladder of tranches so that
:func:`abm.market.double_auction` clears it exactly against the buyers' bids. Buyers are
(provider, site) pairs bidding the value of an H100e in a ready data-centre shell; export
rules decide which pool a buyer may bid in: tier-1 nations buy controlled chips freely,
tier-2 nations are capped per nation-month while the cap is in force, tier-3 nations may
only buy domestic (non-controlled) chips, which deliver less performance per chip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abm.market.auction import double_auction

#: Price ladder of the vendor supply curve, as multiples of the list price. Below the first
#: rung nothing is sold (the vendor's reservation price); above the last, output is fixed.
PRICE_LADDER = np.geomspace(0.5, 8.0, 25)


def supply_tranches(output_at_list: float, list_price: float, elasticity: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Asks ($ per H100e) and quantities (H100e) of the supply curve ``S_bar (p/p_list)^eta``.

    The tranche at rung ``r_k`` holds ``S(r_k p_list) - S(r_{k-1} p_list)``: the units the
    vendors add when the price reaches it (all of ``S(r_0 p_list)`` at the first rung).
    """
    cum = output_at_list * PRICE_LADDER ** elasticity
    qty = np.diff(np.concatenate(([0.0], cum)))
    return list_price * PRICE_LADDER, qty


@dataclass(frozen=True)
class ChipAllocation:
    """Result of one month's chip market.

    ``h100e``: performance units allocated per bid (H100e); ``spend``: $ paid per bid;
    ``price_controlled`` / ``price_domestic``: clearing $ per H100e of each pool (the supply
    price of the marginal unit; the list price when nothing traded); ``output_controlled``:
    H100e the vendors sold to the modelled buyers.
    """

    h100e: np.ndarray
    spend: np.ndarray
    price_controlled: float
    price_domestic: float
    output_controlled: float


def _pool(bid_qty: np.ndarray, bid_price: np.ndarray, output: float, list_price: float,
          elasticity: float) -> tuple[np.ndarray, float, float]:
    ask_price, ask_qty = supply_tranches(output, list_price, elasticity)
    res = double_auction(bid_price, bid_qty, ask_price, ask_qty)
    if not res.traded:
        return np.zeros_like(bid_qty), list_price, 0.0
    return np.asarray(res.bid_fill, dtype=float), float(res.price_low), float(res.volume)


def clear_chip_market(bid_h100e: np.ndarray, bid_price: np.ndarray, bid_nation: np.ndarray,
                      nation_tier: np.ndarray, *, supply_h100e: float, vendor_price: float,
                      supply_elasticity: float, export_controls: bool,
                      tier2_cap_month: float | None, domestic_share: float,
                      domestic_perf: float) -> ChipAllocation:
    """Allocate this month's accelerators among buyers by willingness to pay.

    Parameters
    ----------
    bid_h100e : (B,) H100e wanted per buyer.
    bid_price : (B,) most a buyer pays, $ per H100e.
    bid_nation : (B,) nation of the buyer's site; ``nation_tier`` (N,) its export tier.
    supply_h100e : controlled-chip output offered to these buyers at the list price, H100e.
    vendor_price : list price, $ per H100e.
    supply_elasticity : ``eta`` of the supply curve.
    export_controls : apply the access tiers.
    tier2_cap_month : most controlled H100e one tier-2 nation receives this month (None: no
        cap in force).
    domestic_share, domestic_perf : domestic chip output as a share of ``supply_h100e`` (in
        chips) and its performance per chip (H100e).
    """
    qty = np.asarray(bid_h100e, dtype=float).copy()
    price = np.asarray(bid_price, dtype=float)
    tier = np.asarray(nation_tier)[np.asarray(bid_nation)]
    n_nat = len(nation_tier)
    if export_controls:
        controlled = tier < 3
        if tier2_cap_month is not None:
            tier2 = tier == 2
            wanted = np.bincount(bid_nation[tier2], weights=qty[tier2], minlength=n_nat)
            scale = np.minimum(1.0, np.divide(tier2_cap_month, wanted, out=np.ones(n_nat),
                                              where=wanted > 0))
            qty = np.where(tier2, qty * scale[bid_nation], qty)
    else:
        controlled = np.ones(qty.shape, dtype=bool)
    h100e = np.zeros_like(qty)
    spend = np.zeros_like(qty)
    fill, p_ctrl, sold = _pool(qty[controlled], price[controlled], supply_h100e,
                               vendor_price, supply_elasticity)
    h100e[controlled] = fill
    spend[controlled] = fill * p_ctrl
    p_dom = np.nan
    domestic = ~controlled
    if domestic.any():
        # Domestic chips cost the same per chip, so more per H100e.
        fill, p_dom, _ = _pool(qty[domestic], price[domestic],
                               supply_h100e * domestic_share * domestic_perf,
                               vendor_price / domestic_perf, supply_elasticity)
        h100e[domestic] = fill
        spend[domestic] = fill * p_dom
    return ChipAllocation(h100e, spend, p_ctrl, float(p_dom), sold)
