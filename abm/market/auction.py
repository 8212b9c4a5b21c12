"""Uniform-price double auction (call market) for compute and inference capacity.

A *call market* collects a book of limit bids (buyers) and limit asks (sellers) and
clears all of them at once at a single, uniform price.  Spot inference capacity (tokens)
and accelerator rental (chips) can both be cleared this way.

Units
-----
Prices are in **$ per million tokens** for inference markets (or **$ per chip** for
hardware markets); quantities are in **tokens per month** (or **chips**).  The function
itself is unit-agnostic: it only needs all prices in one unit and all quantities in
another.  ``surplus`` is in price x quantity units.

Algorithm
---------
The allocation maximises total gains from trade: sell to the highest bids and buy from
the cheapest asks for as long as the marginal bid is at least the marginal ask.  With the
inverse demand step function ``Pd(Q)`` (bids sorted by price, descending) and the inverse
supply step function ``Ps(Q)`` (asks sorted ascending), the traded volume is

    V = max{Q in breakpoints, Q <= min(total bid qty, total ask qty) : Pd(Q) >= Ps(Q)},

where the breakpoints are the cumulative bid and ask quantities (``Pd``/``Ps`` evaluated
left-continuously, i.e. at the block that contains the ``Q``-th unit).  ``Pd - Ps`` is
non-increasing in ``Q``, so along each sorted book the test ``Pd >= Ps`` at the book's
breakpoints is true on a prefix and false afterwards.  The end of that prefix is found by
bisection, each probe locating the other book's step with :func:`numpy.searchsorted`, so
after the ``O(n log n)`` sorts the crossing costs ``O(log^2 n)``.  Everything else
(sorting, cumulative sums, fills, masks) is vectorised; there is no Python loop over
orders.
Marginal units with zero gains from trade (bid price exactly equal to ask price) *are*
traded, so ``V`` is the largest volume among all surplus-maximising allocations.

Every price ``p`` in the clearing interval ``[price_low, price_high]`` supports the
allocation as a competitive equilibrium: each bid with a positive fill is priced
``>= p``, each ask with a positive fill ``<= p``, each bid with unfilled quantity ``<= p``
and each ask with unfilled quantity ``>= p``.  Hence every bid priced strictly above
``p`` is filled completely and every ask priced strictly below ``p`` is filled
completely.  The interval is exactly the set of optimal dual prices of the balance
constraint of the welfare-maximising linear programme; the reported ``price`` is its
midpoint.

Orders tied on price at the margin are filled in input order (as if the books were sorted
with a stable sort), so fills are deterministic.  Internally a faster unstable sort is
used: the volume and the clearing interval do not depend on the order within ties, and
the one marginal tie group on each side is then allocated explicitly in input order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from abm.market._validate import real_vector

__all__ = ["AuctionResult", "double_auction", "midpoint", "validate_book"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class AuctionResult:
    """Outcome of a uniform-price double auction.

    Attributes
    ----------
    price : float
        Uniform clearing price ($/M tokens or $/chip), the midpoint of
        ``[price_low, price_high]``.  NaN when nothing trades.
    volume : float
        Total traded quantity (tokens/month or chips).
    bid_fill : numpy.ndarray
        Filled quantity of each bid, aligned with the input bids,
        ``0 <= bid_fill <= bid_qty``.  Read-only.
    ask_fill : numpy.ndarray
        Filled quantity of each ask, aligned with the input asks,
        ``0 <= ask_fill <= ask_qty``.  Read-only.
    surplus : float
        Total gains from trade, ``sum(bid_fill * bid_price) - sum(ask_fill * ask_price)``
        (price x quantity units).  It does not depend on the clearing price, which only
        splits it between buyers and sellers.
    price_low, price_high : float
        The clearing interval: every price in it clears the market with this allocation.
        NaN when nothing trades.

    Notes
    -----
    Instances are immutable and compare by identity (``eq=False``) because two of the
    fields are NumPy arrays.
    """

    price: float
    volume: float
    bid_fill: FloatArray
    ask_fill: FloatArray
    surplus: float
    price_low: float
    price_high: float

    @property
    def traded(self) -> bool:
        """True when a positive quantity changed hands."""
        return self.volume > 0.0


def _as_price_qty(
    price: ArrayLike, qty: ArrayLike, price_name: str, qty_name: str
) -> tuple[FloatArray, FloatArray]:
    """Validate one side of the book; return float64 arrays (views when possible)."""
    arrays = [real_vector(value, name, nonnegative=True)
              for value, name in ((price, price_name), (qty, qty_name))]
    p, q = arrays
    if p.shape != q.shape:
        raise ValueError(
            f"{price_name} and {qty_name} must have the same length, "
            f"got {p.shape[0]} and {q.shape[0]}"
        )
    return p, q


def validate_book(
    bid_price: ArrayLike, bid_qty: ArrayLike, ask_price: ArrayLike, ask_qty: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Validate an order book and return it as four 1-D float64 arrays.

    Parameters
    ----------
    bid_price, bid_qty, ask_price, ask_qty : array_like
        See :func:`double_auction`.

    Returns
    -------
    tuple of numpy.ndarray
        ``(bid_price, bid_qty, ask_price, ask_qty)`` as float64.

    Raises
    ------
    ValueError
        If an array is not 1-D, holds NaN/inf or negative values, or a price array and its
        quantity array differ in length.  The message names the offending argument.
    """
    bp, bq = _as_price_qty(bid_price, bid_qty, "bid_price", "bid_qty")
    ap, aq = _as_price_qty(ask_price, ask_qty, "ask_price", "ask_qty")
    return bp, bq, ap, aq


def midpoint(low: float, high: float) -> float:
    """``(low + high) / 2`` without overflow: exact as written unless the sum overflows."""
    mid = 0.5 * (low + high)
    if math.isfinite(mid):
        return mid
    return low + 0.5 * (high - low)  # low <= high, both finite and non-negative


def _exponent(values: FloatArray) -> int:
    """The binary exponent ``e`` of ``max(values)`` (``max < 2**e``); 0 for all zeros."""
    top = float(values.max()) if values.size else 0.0
    return math.frexp(top)[1] if top > 0.0 else 0


def _dot_scaled(fill: FloatArray, price: FloatArray, e_fill: int, e_price: int) -> float:
    """``fill @ price`` computed on operands scaled by powers of two (exact), so huge
    orders do not overflow and the product is only unrepresentable if the result is."""
    return float(np.ldexp(fill, -e_fill) @ np.ldexp(price, -e_price))


def surplus_of(bid_fill: FloatArray, bid_price: FloatArray, ask_fill: FloatArray,
               ask_price: FloatArray) -> float:
    """``bid_fill @ bid_price - ask_fill @ ask_price``, scaled before summing.

    Every operand is divided by a power of two (exact) that brings its largest element
    below 1, the two sums are taken and subtracted, and the difference is scaled back, so
    the result is finite whenever the true surplus is representable (no ``inf - inf``).
    On ordinary magnitudes it equals the unscaled expression bit for bit.
    """
    e_fill = max(_exponent(bid_fill), _exponent(ask_fill))
    e_price = max(_exponent(bid_price), _exponent(ask_price))
    diff = (_dot_scaled(bid_fill, bid_price, e_fill, e_price)
            - _dot_scaled(ask_fill, ask_price, e_fill, e_price))
    with np.errstate(over="ignore"):
        return float(np.ldexp(diff, e_fill + e_price)) if diff else 0.0


def _exclusive_cumsum(cum: FloatArray) -> FloatArray:
    """``[0, cum[0], ..., cum[-2]]``: the quantity ahead of each block."""
    prev = np.empty_like(cum)
    prev[0] = 0.0
    prev[1:] = cum[:-1]
    return prev


def _count_leading(n: int, pred: Callable[[int], bool]) -> int:
    """Length of the leading run of ``True`` of a monotone predicate on ``range(n)``.

    ``pred`` must be ``True`` on a prefix of ``range(n)`` and ``False`` afterwards.  Uses
    bisection, i.e. about ``log2(n)`` calls of ``pred``.
    """
    lo, hi = 0, n  # pred is True below lo and False at and above hi
    while lo < hi:
        mid = (lo + hi) // 2
        if pred(mid):
            lo = mid + 1
        else:
            hi = mid
    return lo


def _fill_side(
    key: FloatArray,
    qty: FloatArray,
    sorted_key: FloatArray,
    cum: FloatArray,
    volume: float,
) -> tuple[FloatArray, int, int]:
    """Allocate ``volume`` to one side of the book, best orders first.

    ``key`` ranks orders (ascending = better): ``-price`` for bids, ``price`` for asks.
    ``sorted_key``/``cum`` are the key and the cumulative quantity in sorted order.

    Returns the fills in input order, the sorted position of the marginal block (the one
    holding the ``volume``-th unit) and the sorted position of the first block with
    quantity left over (``len(qty)`` if every order is filled).
    """
    marginal = int(np.searchsorted(cum, volume, side="left"))
    first_left = int(np.searchsorted(cum, volume, side="right"))
    k_star = sorted_key[marginal]
    # Orders strictly better than the marginal key are filled completely.
    fill = np.where(key < k_star, qty, 0.0)
    # The tie group at the marginal key shares what those better orders leave, in input
    # order.  Its start in sorted order gives the quantity absorbed by the better orders.
    group_start = int(np.searchsorted(sorted_key, k_star, side="left"))
    ahead = 0.0 if group_start == 0 else float(cum[group_start - 1])
    remaining = volume - ahead
    tied = np.flatnonzero(key == k_star)  # ascending index == input order
    q_tied = qty[tied]
    group_end = int(np.searchsorted(sorted_key, k_star, side="right"))
    if cum[group_end - 1] <= volume:
        # The whole tie group trades; assign exact quantities (summing the group in input
        # order instead could leave rounding-sized "unfilled" crumbs).
        fill[tied] = q_tied
    else:
        cum_tied = np.cumsum(q_tied)
        prev_tied = _exclusive_cumsum(cum_tied)
        fill[tied] = np.where(
            cum_tied <= remaining,
            q_tied,
            np.where(prev_tied < remaining, remaining - prev_tied, 0.0),
        )
    return fill, marginal, first_left


def double_auction(
    bid_price: ArrayLike, bid_qty: ArrayLike, ask_price: ArrayLike, ask_qty: ArrayLike
) -> AuctionResult:
    """Clear a uniform-price double auction (call market).

    Parameters
    ----------
    bid_price : array_like, shape (n_bids,)
        Buyers' limit prices (maximum willingness to pay), in $/M tokens (or $/chip).
        Non-negative and finite.
    bid_qty : array_like, shape (n_bids,)
        Quantity demanded at that price, in tokens/month (or chips).  Non-negative and
        finite; zero quantities are allowed and never trade.
    ask_price : array_like, shape (n_asks,)
        Sellers' limit prices (minimum acceptable price), same unit as ``bid_price``.
    ask_qty : array_like, shape (n_asks,)
        Quantity offered at that price, same unit as ``bid_qty``.

    Returns
    -------
    AuctionResult
        Clearing price and interval, volume, per-order fills and total surplus.  Every bid
        priced above the clearing price and every ask priced below it is filled
        completely; orders tied at the margin are filled in input order and may be
        filled partially.  An empty side of the book (zero bids or zero asks), zero total
        quantity, or no bid at or above the lowest ask means nothing trades:
        ``price``, ``price_low`` and ``price_high`` are NaN and ``volume`` and
        ``surplus`` are 0.

    Raises
    ------
    ValueError
        If an input is not 1-D, is not real-numeric (booleans, strings, datetimes, complex
        numbers and masked arrays are refused), contains NaN/inf or negative values, or a
        price array and its quantity array differ in length; or if the traded volume or
        the surplus exceeds the float64 maximum (about 1.8e308), which would otherwise be
        returned as inf.  The message names the argument(s).

    Notes
    -----
    Runs in ``O(n log n)`` time: two NumPy sorts, cumulative sums, a bisection over the
    merged breakpoints for the crossing and vectorised fills.  About 0.1-0.2 s for a
    million bids and a million asks.  Zero-surplus marginal units (bid price equal to ask price) are
    traded, so ``volume`` is the largest surplus-maximising volume.  See the module
    docstring for the algorithm and :func:`abm.market.reference.naive_double_auction` for
    a loop-based reference implementation.

    Examples
    --------
    >>> r = double_auction([10, 8, 6, 4], [1, 1, 1, 1], [3, 5, 7, 9], [1, 1, 1, 1])
    >>> r.volume, r.surplus, r.price_low, r.price_high, r.price
    (2.0, 10.0, 6.0, 7.0, 6.5)
    """
    bp, bq, ap, aq = validate_book(bid_price, bid_qty, ask_price, ask_qty)
    # Quantities whose total overflows float64 are cleared in units of a power of two
    # (exact scaling); prices are only compared, never summed, while clearing.
    q_exp = 0
    with np.errstate(over="ignore"):
        totals_finite = math.isfinite(float(bq.sum())) and math.isfinite(float(aq.sum()))
    if not totals_finite:
        q_exp = max(_exponent(bq), _exponent(aq)) + max(bq.size, aq.size).bit_length()
        bq, aq = np.ldexp(bq, -q_exp), np.ldexp(aq, -q_exp)
    bid_fill = np.zeros_like(bq)
    ask_fill = np.zeros_like(aq)

    volume = 0.0
    if bp.size and ap.size:
        bid_key = -bp  # ascending key == descending price
        b_order = np.argsort(bid_key)
        a_order = np.argsort(ap)
        b_key_s = bid_key[b_order]
        a_key_s = ap[a_order]
        b_cum = np.cumsum(bq[b_order])
        a_cum = np.cumsum(aq[a_order])
        q_max = min(float(b_cum[-1]), float(a_cum[-1]))
        if q_max > 0.0:
            # Bid breakpoints: Pd(Q) = price of the bid block, Ps(Q) = price of the ask
            # block holding the Q-th unit.  The gap is non-increasing along the sorted
            # book, so the last breakpoint where the bid still covers the ask is found by
            # bisection (O(log n) scalar probes, no loop over orders).
            def bid_covers_ask(i: int) -> bool:  # at the i-th bid breakpoint
                q = b_cum[i]
                ask = a_key_s[np.searchsorted(a_cum, q, side="left")]
                return bool(q == 0.0 or -b_key_s[i] >= ask)

            def ask_covered_by_bid(j: int) -> bool:  # at the j-th ask breakpoint
                q = a_cum[j]
                bid = -b_key_s[np.searchsorted(b_cum, q, side="left")]
                return bool(q == 0.0 or bid >= a_key_s[j])

            nb = int(np.searchsorted(b_cum, q_max, side="right"))
            na = int(np.searchsorted(a_cum, q_max, side="right"))
            kb = _count_leading(nb, bid_covers_ask)
            ka = _count_leading(na, ask_covered_by_bid)
            volume = max(
                float(b_cum[kb - 1]) if kb else 0.0,
                float(a_cum[ka - 1]) if ka else 0.0,
            )

    if volume == 0.0:
        nan = float("nan")
        return AuctionResult(
            price=nan,
            volume=0.0,
            bid_fill=_readonly(bid_fill),
            ask_fill=_readonly(ask_fill),
            surplus=0.0,
            price_low=nan,
            price_high=nan,
        )

    bid_fill, b_marg, b_left = _fill_side(bid_key, bq, b_key_s, b_cum, volume)
    ask_fill, a_marg, a_left = _fill_side(ap, aq, a_key_s, a_cum, volume)

    # Clearing interval.  Filled bids are priced >= the marginal bid, filled asks <= the
    # marginal ask; the best order with quantity left over bounds the price from the other
    # side (it exists unless that side is exhausted).
    price_low = float(a_key_s[a_marg])
    price_high = float(-b_key_s[b_marg])
    if b_left < bp.size:
        price_low = max(price_low, float(-b_key_s[b_left]))
    if a_left < ap.size:
        price_high = min(price_high, float(a_key_s[a_left]))

    if q_exp:  # back to the caller's units (inf only where the true value overflows: refused)
        with np.errstate(over="ignore"):
            volume = float(np.ldexp(volume, q_exp))
            bid_fill, ask_fill = np.ldexp(bid_fill, q_exp), np.ldexp(ask_fill, q_exp)
    _representable(volume, "volume", "bid_qty and ask_qty",
                   "express quantities in a larger unit")
    surplus = surplus_of(bid_fill, bp, ask_fill, ap)
    _representable(surplus, "surplus", "bid_price x bid_qty",
                   "express prices or quantities in a larger unit")
    return AuctionResult(
        price=midpoint(price_low, price_high),
        volume=volume,
        bid_fill=_readonly(bid_fill),
        ask_fill=_readonly(ask_fill),
        surplus=surplus,
        price_low=price_low,
        price_high=price_high,
    )


def _representable(value: float, what: str, args: str, fix: str) -> None:
    """Refuse a book whose ``what`` is beyond float64 (it would be returned as inf)."""
    if not math.isfinite(value):
        raise ValueError(f"{args}: the traded {what} of this book exceeds the float64 maximum "
                         f"({np.finfo(np.float64).max:.6g}) and cannot be returned; {fix}")


def _readonly(arr: FloatArray) -> FloatArray:
    arr.flags.writeable = False
    return arr
