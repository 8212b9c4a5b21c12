"""Naive pure-Python reference implementations of market-clearing mechanisms.

These are deliberately simple and slow.  They exist as a second, independent oracle for
the tests and as the naive baseline in benchmarks; model code should call the vectorised
versions (e.g. :func:`abm.market.auction.double_auction`).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from abm.market.auction import AuctionResult, _representable, midpoint, validate_book

__all__ = ["naive_double_auction"]


def naive_double_auction(
    bid_price: ArrayLike, bid_qty: ArrayLike, ask_price: ArrayLike, ask_qty: ArrayLike
) -> AuctionResult:
    """Uniform-price double auction by walking the sorted books block by block.

    Same contract as :func:`abm.market.auction.double_auction` (units, validation, tie
    rule, empty books, zero-surplus marginal units traded), implemented with a plain
    Python loop: sort bids by price descending and asks ascending (Python's sort is
    stable, so ties keep input order), then repeatedly match the best remaining bid block
    with the best remaining ask block while the bid price is at least the ask price,
    trading the smaller of the two remaining quantities.

    Parameters
    ----------
    bid_price, bid_qty, ask_price, ask_qty : array_like
        Bids and asks: prices in $/M tokens (or $/chip), quantities in tokens/month (or
        chips).  See :func:`abm.market.auction.double_auction`.

    Returns
    -------
    AuctionResult
        With ``price`` the midpoint of the clearing interval, NaN when nothing trades.

    Notes
    -----
    ``O(n log n + n)`` but with Python-level loops, so orders of magnitude slower than the
    vectorised version.  Fills are computed by repeated subtraction rather than by
    cumulative sums, so on quantities that are not exactly representable the two
    implementations can differ in the last bits; on integer (or dyadic) quantities they
    agree exactly.
    """
    bp_arr, bq_arr, ap_arr, aq_arr = validate_book(bid_price, bid_qty, ask_price, ask_qty)
    bp = [float(x) for x in bp_arr]
    bq = [float(x) for x in bq_arr]
    ap = [float(x) for x in ap_arr]
    aq = [float(x) for x in aq_arr]
    bid_order = sorted((i for i in range(len(bp)) if bq[i] > 0.0), key=lambda i: -bp[i])
    ask_order = sorted((j for j in range(len(ap)) if aq[j] > 0.0), key=lambda j: ap[j])

    bid_fill = [0.0] * len(bp)
    ask_fill = [0.0] * len(ap)
    volume = 0.0
    ib = ia = 0
    b_left = bq[bid_order[0]] if bid_order else 0.0
    a_left = aq[ask_order[0]] if ask_order else 0.0
    while ib < len(bid_order) and ia < len(ask_order):
        i, j = bid_order[ib], ask_order[ia]
        if bp[i] < ap[j]:
            break
        traded = min(b_left, a_left)
        bid_fill[i] += traded
        ask_fill[j] += traded
        volume += traded
        b_left -= traded
        a_left -= traded
        if b_left <= 0.0:
            bid_fill[i] = bq[i]  # block exhausted: record the exact quantity
            ib += 1
            b_left = bq[bid_order[ib]] if ib < len(bid_order) else 0.0
        if a_left <= 0.0:
            ask_fill[j] = aq[j]
            ia += 1
            a_left = aq[ask_order[ia]] if ia < len(ask_order) else 0.0

    bid_fill_arr = np.array(bid_fill, dtype=np.float64)
    ask_fill_arr = np.array(ask_fill, dtype=np.float64)
    bid_fill_arr.flags.writeable = False
    ask_fill_arr.flags.writeable = False
    if volume <= 0.0:
        return AuctionResult(
            price=math.nan,
            volume=0.0,
            bid_fill=bid_fill_arr,
            ask_fill=ask_fill_arr,
            surplus=0.0,
            price_low=math.nan,
            price_high=math.nan,
        )

    price_low = -math.inf
    price_high = math.inf
    for i in range(len(bp)):
        if bid_fill[i] > 0.0:
            price_high = min(price_high, bp[i])
        if bid_fill[i] < bq[i]:
            price_low = max(price_low, bp[i])
    for j in range(len(ap)):
        if ask_fill[j] > 0.0:
            price_low = max(price_low, ap[j])
        if ask_fill[j] < aq[j]:
            price_high = min(price_high, ap[j])
    # Exact sums of the products (math.fsum) of operands scaled by powers of two so that
    # the largest fill and price are below 1 (huge orders do not overflow), scaled back.
    e_f = math.frexp(max([*bid_fill, *ask_fill], default=0.0))[1]
    e_p = math.frexp(max([*bp, *ap], default=0.0))[1]

    def scaled_sum(fills: list[float], prices: list[float]) -> float:
        return math.fsum(math.ldexp(f, -e_f) * math.ldexp(p, -e_p)
                         for f, p in zip(fills, prices, strict=True))

    surplus = scaled_sum(bid_fill, bp) - scaled_sum(ask_fill, ap)
    with np.errstate(over="ignore"):
        surplus = float(np.ldexp(surplus, e_f + e_p))
    _representable(volume, "volume", "bid_qty and ask_qty", "express quantities in a larger unit")
    _representable(surplus, "surplus", "bid_price x bid_qty",
                   "express prices or quantities in a larger unit")
    return AuctionResult(
        price=midpoint(price_low, price_high),
        volume=volume,
        bid_fill=bid_fill_arr,
        ask_fill=ask_fill_arr,
        surplus=surplus,
        price_low=price_low,
        price_high=price_high,
    )
