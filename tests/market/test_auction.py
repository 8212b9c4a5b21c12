"""Tests for the uniform-price double auction (:mod:`abm.market.auction`).

Oracles: a hand-computed calibration vector, the welfare-maximising linear programme
solved by HiGHS (volume, surplus and the dual price of the balance constraint), and the
loop-based reference :func:`abm.market.reference.naive_double_auction`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import linprog

from abm.market.auction import AuctionResult, double_auction
from abm.market.reference import naive_double_auction

# ----------------------------------------------------------------------------- helpers

# Prices on a coarse grid (many exact ties) or at cent resolution: positive, and distinct
# prices differ by at least ~0.01, which keeps the perturbed LP below well conditioned.
PRICE = st.one_of(
    st.integers(1, 40).map(lambda k: k / 4),
    st.floats(0.01, 100.0).map(lambda x: round(x, 2)),
)
# Quantities: zeros, integers, arbitrary floats.
QTY = st.one_of(
    st.just(0.0),
    st.integers(1, 20).map(float),
    st.floats(0.001, 50.0, allow_nan=False, allow_infinity=False),
)
# Dyadic quantities: every sum is exact in binary floating point.
DYADIC_QTY = st.integers(0, 64).map(lambda k: k / 8)


def _side(price=PRICE, qty=QTY, min_size=0, max_size=15):
    return st.lists(st.tuples(price, qty), min_size=min_size, max_size=max_size).map(
        lambda rows: (
            np.array([r[0] for r in rows], dtype=float),
            np.array([r[1] for r in rows], dtype=float),
        )
    )


def books(qty=QTY, min_size=0, max_size=15):
    """(bid_price, bid_qty, ask_price, ask_qty) with up to ``max_size`` orders a side."""
    return st.tuples(
        _side(qty=qty, min_size=min_size, max_size=max_size),
        _side(qty=qty, min_size=min_size, max_size=max_size),
    ).map(lambda t: (*t[0], *t[1]))


def welfare_lp(bp, bq, ap, aq, volume_bonus=0.0):
    """Maximise sum pb x - sum pa y s.t. sum x = sum y, 0 <= x <= qb, 0 <= y <= qa.

    ``volume_bonus`` adds ``bonus * sum x`` to the objective (used to select the largest
    volume among the surplus-maximising allocations).
    """
    nb, na = bp.size, ap.size
    c = np.concatenate([-(bp + volume_bonus), ap])  # linprog minimises
    a_eq = np.concatenate([np.ones(nb), -np.ones(na)])[None, :]
    bounds = [(0.0, q) for q in np.concatenate([bq, aq])]
    res = linprog(c, A_eq=a_eq, b_eq=[0.0], bounds=bounds, method="highs")
    assert res.status == 0, res.message
    x, y = res.x[:nb], res.x[nb:]
    return res, x, y


def min_price_gap(bp, bq, ap, aq):
    """Smallest positive |bid price - ask price| over orders with positive quantity."""
    gaps = np.abs(bp[bq > 0][:, None] - ap[aq > 0][None, :]).ravel()
    gaps = gaps[gaps > 0]
    return float(gaps.min()) if gaps.size else 1.0


def assert_invariants(r: AuctionResult, bp, bq, ap, aq):
    """Feasibility, accounting and market-clearing conditions of an auction result."""
    q_scale = max(1.0, float(bq.sum() + aq.sum()))
    p_scale = max(1.0, float(np.max(bp, initial=0.0)), float(np.max(ap, initial=0.0)))
    atol_q = 1e-12 * q_scale
    atol_p = 1e-12 * p_scale

    assert r.bid_fill.shape == bp.shape and r.ask_fill.shape == ap.shape
    assert r.bid_fill.dtype == np.float64 and r.ask_fill.dtype == np.float64
    assert np.all(r.bid_fill >= 0.0) and np.all(r.ask_fill >= 0.0)
    assert np.all(r.bid_fill <= bq) and np.all(r.ask_fill <= aq)
    assert_allclose(r.bid_fill.sum(), r.volume, rtol=1e-12, atol=atol_q)
    assert_allclose(r.ask_fill.sum(), r.volume, rtol=1e-12, atol=atol_q)
    assert_allclose(r.surplus, r.bid_fill @ bp - r.ask_fill @ ap, rtol=1e-12, atol=atol_q)

    if r.volume == 0.0:
        assert np.isnan(r.price) and np.isnan(r.price_low) and np.isnan(r.price_high)
        assert r.surplus == 0.0
        assert not r.bid_fill.any() and not r.ask_fill.any()
        # No trade is only right if no positive-quantity bid reaches a positive ask.
        live_b, live_a = bp[bq > 0], ap[aq > 0]
        if live_b.size and live_a.size:
            assert live_b.max() < live_a.min()
        return

    assert r.volume > 0.0
    assert r.price_low <= r.price_high
    assert r.price_low <= r.price <= r.price_high
    assert r.price == 0.5 * (r.price_low + r.price_high)
    assert r.surplus >= -atol_q * p_scale
    # Money: what buyers pay equals what sellers receive.
    assert_allclose(r.price * r.bid_fill.sum(), r.price * r.ask_fill.sum(), rtol=1e-12)
    # The price clears the market, and so does every price in [price_low, price_high].
    filled_b, left_b = r.bid_fill > 0, r.bid_fill < bq
    filled_a, left_a = r.ask_fill > 0, r.ask_fill < aq
    for p in (r.price_low, r.price, r.price_high):
        assert np.all(bp[filled_b] >= p - atol_p)
        assert np.all(bp[left_b] <= p + atol_p)
        assert np.all(ap[filled_a] <= p + atol_p)
        assert np.all(ap[left_a] >= p - atol_p)
    # Strictly in-the-money orders are filled completely.
    assert_array_equal(r.bid_fill[bp > r.price], bq[bp > r.price])
    assert_array_equal(r.ask_fill[ap < r.price], aq[ap < r.price])
    # The interval is tight: at each end some order pins it (no slack to widen it).
    lows = np.concatenate([ap[filled_a], bp[left_b]])
    highs = np.concatenate([bp[filled_b], ap[left_a]])
    assert r.price_low == lows.max()
    assert r.price_high == highs.min()


# ------------------------------------------------------------------------- calibration


def test_calibration_vector():
    r = double_auction([10, 8, 6, 4], [1, 1, 1, 1], [3, 5, 7, 9], [1, 1, 1, 1])
    assert r.volume == 2.0
    assert r.surplus == 10.0
    assert (r.price_low, r.price_high) == (6.0, 7.0)
    assert 6.0 <= r.price <= 7.0
    assert r.price == 6.5
    assert_array_equal(r.bid_fill, [1, 1, 0, 0])
    assert_array_equal(r.ask_fill, [1, 1, 0, 0])
    assert isinstance(r.price, float) and isinstance(r.volume, float)
    assert isinstance(r.surplus, float)


def test_calibration_vector_matches_lp_and_its_dual():
    bp, bq = np.array([10.0, 8, 6, 4]), np.ones(4)
    ap, aq = np.array([3.0, 5, 7, 9]), np.ones(4)
    res, x, _ = welfare_lp(bp, bq, ap, aq)
    assert -res.fun == pytest.approx(10.0)
    assert x.sum() == pytest.approx(2.0)
    # d(min objective)/d(rhs of sum x - sum y = 0) is minus the price.
    assert 6.0 - 1e-9 <= -res.eqlin.marginals[0] <= 7.0 + 1e-9


def test_result_is_frozen_and_fills_read_only():
    r = double_auction([10.0], [1.0], [3.0], [1.0])
    with pytest.raises(AttributeError):
        r.price = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        r.bid_fill[0] = 0.0


def test_partial_fill_at_margin_sets_price_to_marginal_order():
    # 3 units demanded at 10, 2 offered at 4 and 2 at 12: the bid is rationed, so the
    # only market-clearing price is the bid's own price.
    r = double_auction([10.0], [3.0], [4.0, 12.0], [2.0, 2.0])
    assert r.volume == 2.0
    assert_array_equal(r.bid_fill, [2.0])
    assert_array_equal(r.ask_fill, [2.0, 0.0])
    assert r.price_low == r.price_high == r.price == 10.0
    assert r.surplus == 12.0


def test_ties_at_margin_filled_in_input_order():
    r = double_auction([5.0, 7.0, 5.0, 5.0], [1.0, 1.0, 2.0, 1.0], [1.0], [2.5])
    assert_array_equal(r.bid_fill, [1.0, 1.0, 0.5, 0.0])
    assert r.price == 5.0
    r = double_auction([9.0], [2.5], [3.0, 2.0, 3.0, 3.0], [1.0, 1.0, 1.0, 1.0])
    assert_array_equal(r.ask_fill, [1.0, 1.0, 0.5, 0.0])
    assert r.price == 3.0


def test_zero_surplus_marginal_units_are_traded():
    r = double_auction([5.0, 5.0], [1.0, 1.0], [5.0], [3.0])
    assert r.volume == 2.0 and r.surplus == 0.0 and r.price == 5.0


def test_zero_prices_and_zero_quantities():
    r = double_auction([0.0, 3.0, 8.0], [4.0, 0.0, 1.0], [0.0, 1.0], [2.0, 0.0])
    assert r.volume == 2.0
    assert_array_equal(r.bid_fill, [1.0, 0.0, 1.0])
    assert_array_equal(r.ask_fill, [2.0, 0.0])
    assert r.price == 0.0


# ----------------------------------------------------------------------- empty markets


@pytest.mark.parametrize(
    "book",
    [
        ([], [], [], []),
        ([], [], [1.0, 2.0], [1.0, 1.0]),
        ([5.0], [1.0], [], []),
        ([5.0, 6.0], [0.0, 0.0], [1.0], [3.0]),  # zero bid quantity
        ([5.0], [2.0], [1.0], [0.0]),  # zero ask quantity
        ([4.0, 3.0], [1.0, 1.0], [4.5, 5.0], [1.0, 1.0]),  # books do not cross
    ],
)
def test_nothing_trades(book):
    r = double_auction(*book)
    assert r.volume == 0.0 and r.surplus == 0.0
    assert np.isnan(r.price) and np.isnan(r.price_low) and np.isnan(r.price_high)
    assert r.bid_fill.shape == (len(book[0]),) and r.ask_fill.shape == (len(book[2]),)
    assert not r.bid_fill.any() and not r.ask_fill.any()
    assert not r.traded
    n = naive_double_auction(*book)
    assert n.volume == 0.0 and np.isnan(n.price)


# ------------------------------------------------------------------------- validation

GOOD = {"bid_price": [5.0, 4.0], "bid_qty": [1.0, 1.0], "ask_price": [3.0], "ask_qty": [1.0]}


@pytest.mark.parametrize("func", [double_auction, naive_double_auction])
@pytest.mark.parametrize("name", list(GOOD))
@pytest.mark.parametrize(
    "bad",
    [
        lambda v: [np.nan, *v[1:]],
        lambda v: [np.inf, *v[1:]],
        lambda v: [-np.inf, *v[1:]],
        lambda v: [-1.0, *v[1:]],
        lambda v: [v],  # 2-D
        lambda v: v[0],  # 0-D
        lambda v: [*v, 1.0],  # length mismatch with its partner
        lambda v: ["abc", *v[1:]],
        lambda v: [str(x) for x in v],  # numeric strings
        lambda v: np.array(v, dtype=bool),
        lambda v: np.array(["2020-01-01"] * len(v), dtype="datetime64[D]"),
        lambda v: np.ma.masked_array(v, [1] + [0] * (len(v) - 1)),
        lambda v: [complex(x) for x in v],
        lambda v: [10**400, *v[1:]],  # a Python int beyond float64
    ],
    ids=["nan", "inf", "-inf", "negative", "2d", "0d", "length", "text", "numeric-text",
         "bool", "datetime", "masked", "complex", "huge-int"],
)
def test_bad_input_names_argument(func, name, bad):
    kwargs = dict(GOOD)
    kwargs[name] = bad(GOOD[name])
    with pytest.raises(ValueError, match=name):
        func(**kwargs)


# ---------------------------------------------------------------------------- oracles


@settings(max_examples=250, deadline=None)
@given(books(min_size=1))
def test_matches_welfare_lp(book):
    bp, bq, ap, aq = book
    r = double_auction(bp, bq, ap, aq)
    assert_invariants(r, bp, bq, ap, aq)

    q_scale = max(1.0, float(bq.sum() + aq.sum()))
    p_scale = max(1.0, float(bp.max()), float(ap.max()))

    # Surplus: unique optimum of the LP.
    res, _, _ = welfare_lp(bp, bq, ap, aq)
    assert_allclose(r.surplus, -res.fun, rtol=1e-9, atol=1e-9 * q_scale * p_scale)

    # Volume: the auction trades zero-surplus marginal units, i.e. it returns the largest
    # surplus-maximising volume.  Selecting it in the LP with a volume bonus smaller than
    # any non-zero bid-ask gap keeps the surplus-optimal face and picks its max volume.
    bonus = 0.25 * min_price_gap(bp, bq, ap, aq)
    _, x, y = welfare_lp(bp, bq, ap, aq, volume_bonus=bonus)
    assert_allclose(r.volume, x.sum(), rtol=1e-9, atol=1e-9 * q_scale)
    assert_allclose(r.surplus, x @ bp - y @ ap, rtol=1e-9, atol=1e-9 * q_scale * p_scale)

    # Price: the LP dual of the balance constraint is a market-clearing price, so it must
    # lie in the clearing interval (HiGHS reports d(min objective)/d(rhs) = -price).
    if r.volume > 0:
        dual_price = -res.eqlin.marginals[0]
        tol = 1e-7 * p_scale
        low, high = _interval_ignoring_crumbs(r, bp, bq, ap, aq, crumb=1e-9 * q_scale)
        assert low - tol <= dual_price <= high + tol


def _interval_ignoring_crumbs(r, bp, bq, ap, aq, crumb):
    """Clearing interval with rounding-sized fills/leftovers treated as zero.

    HiGHS solves to a feasibility tolerance of ~1e-7, so it cannot see an order that is
    filled, or left over, by a few ulps (e.g. bid total 50 vs ask total 50 - 1e-14).  Such
    crumbs legitimately pin ``[price_low, price_high]`` but not the LP's dual.  Without
    crumbs this is exactly ``[price_low, price_high]`` (asserted).
    """
    fill_b, rest_b = r.bid_fill, bq - r.bid_fill
    fill_a, rest_a = r.ask_fill, aq - r.ask_fill
    low = max(
        np.max(ap[fill_a > crumb], initial=-np.inf), np.max(bp[rest_b > crumb], initial=-np.inf)
    )
    high = min(
        np.min(bp[fill_b > crumb], initial=np.inf), np.min(ap[rest_a > crumb], initial=np.inf)
    )
    amounts = np.concatenate([fill_b, rest_b, fill_a, rest_a])
    if not np.any((amounts > 0) & (amounts <= crumb)):
        assert (low, high) == (r.price_low, r.price_high)
    return low, high


@settings(max_examples=300, deadline=None)
@given(books(qty=DYADIC_QTY))
def test_matches_naive_reference_exactly(book):
    bp, bq, ap, aq = book
    r = double_auction(bp, bq, ap, aq)
    n = naive_double_auction(bp, bq, ap, aq)
    assert_array_equal(r.bid_fill, n.bid_fill)
    assert_array_equal(r.ask_fill, n.ask_fill)
    assert r.volume == n.volume
    assert_array_equal([r.price, r.price_low, r.price_high], [n.price, n.price_low, n.price_high])
    assert_allclose(r.surplus, n.surplus, rtol=1e-12, atol=1e-12)
    assert_invariants(r, bp, bq, ap, aq)
    assert_invariants(n, bp, bq, ap, aq)


@settings(max_examples=100, deadline=None)
@given(books(), st.randoms(use_true_random=False))
def test_outcome_does_not_depend_on_order_of_the_book(book, rnd):
    bp, bq, ap, aq = book
    pb = np.array(rnd.sample(range(bp.size), bp.size), dtype=int)
    pa = np.array(rnd.sample(range(ap.size), ap.size), dtype=int)
    r = double_auction(bp, bq, ap, aq)
    s = double_auction(bp[pb], bq[pb], ap[pa], aq[pa])
    q_scale = max(1.0, float(bq.sum() + aq.sum()))
    assert_allclose(s.volume, r.volume, rtol=1e-12, atol=1e-12 * q_scale)
    assert_allclose(s.surplus, r.surplus, rtol=1e-9, atol=1e-9 * q_scale * 100)
    assert_array_equal([s.price_low, s.price_high], [r.price_low, r.price_high])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_large_tied_book_matches_naive(seed):
    # Thousands of orders on a coarse price grid: long tie groups and a deep bisection.
    rng = np.random.default_rng(seed)
    nb, na = 4_000, 3_000
    bp = rng.integers(0, 60, nb).astype(float)
    ap = rng.integers(20, 80, na).astype(float)
    bq = rng.integers(0, 9, nb) / 4
    aq = rng.integers(0, 9, na) / 4
    r = double_auction(bp, bq, ap, aq)
    n = naive_double_auction(bp, bq, ap, aq)
    assert r.volume > 0
    assert_array_equal(r.bid_fill, n.bid_fill)
    assert_array_equal(r.ask_fill, n.ask_fill)
    assert (r.volume, r.price_low, r.price_high) == (n.volume, n.price_low, n.price_high)
    assert_invariants(r, bp, bq, ap, aq)


def test_million_orders_per_side_clear_consistently():
    # Correctness at scale only; the time it takes is reported by `python -m abm.bench
    # market` (case double_auction, size 1000000), never asserted in a test.
    rng = np.random.default_rng(42)
    n = 1_000_000
    bp, ap = rng.uniform(0, 100, n), rng.uniform(0, 100, n)
    bq, aq = rng.uniform(0, 10, n), rng.uniform(0, 10, n)
    r = double_auction(bp, bq, ap, aq)
    assert 45.0 < r.price < 55.0
    assert_allclose(r.bid_fill.sum(), r.volume, rtol=1e-9)
    assert_allclose(r.ask_fill.sum(), r.volume, rtol=1e-9)


# ------------------------------------------------------------ magnitudes (issue 9, kind 4)


def test_prices_near_the_float_maximum_give_a_finite_price_and_surplus():
    for func in (double_auction, naive_double_auction):
        r = func([1.7e308, 1.6e308], [1, 1], [1e308, 1.5e308], [1, 1])
        assert r.volume == 2.0
        assert (r.price_low, r.price_high) == (1.5e308, 1.6e308)
        assert r.price == 1.55e308
        assert_allclose(r.surplus, 0.8e308, rtol=1e-12)


def test_quantities_whose_total_overflows_clear_in_scaled_units():
    bq = np.array([1e308, 1e308])  # total 2e308 is not a float64
    r = double_auction([1.5, 1.25], bq, [1.0, 1.25], [1e308, 0.5e308])
    n = naive_double_auction([1.5, 1.25], bq, [1.0, 1.25], [1e308, 0.5e308])
    assert_array_equal(r.bid_fill, [1e308, 0.5e308])
    assert_array_equal(r.ask_fill, [1e308, 0.5e308])
    assert_array_equal(r.bid_fill, n.bid_fill)
    assert r.volume == 1.5e308 and r.price == n.price == 1.25
    # surplus = 1e308 * (1.5 - 1) + 0.5e308 * (1.25 - 1.25) = 0.5e308: representable
    assert_allclose(r.surplus, 0.5e308, rtol=1e-12)
    assert r.surplus == n.surplus


@pytest.mark.parametrize("func", [double_auction, naive_double_auction])
@pytest.mark.parametrize(("book", "names"), [
    # volume 3.4e308: beyond float64
    (([2, 3], [1.7e308, 1.7e308], [1, 1], [1.7e308, 1.7e308]), "bid_qty and ask_qty"),
    (([5] * 3, [1e308] * 3, [1] * 3, [1e308] * 3), "bid_qty and ask_qty"),
    # surplus 1e308 * (1e308 - 1e307) = 9e615
    (([1e308], [1e308], [1e307], [1e308]), r"bid_price x bid_qty"),
    # surplus = 1e308 * (3 - 1) + 0.5e308 * (2 - 1.5) = 2.25e308
    (([3.0, 2.0], [1e308, 1e308], [1.0, 1.5], [1e308, 0.5e308]), r"bid_price x bid_qty"),
])
def test_a_book_whose_volume_or_surplus_exceeds_float64_is_refused_not_inf(func, book, names):
    with pytest.raises(ValueError, match=rf"{names}: the traded .* exceeds the float64 max"):
        func(*book)


MAGNITUDE = st.integers(-300, 300)


@settings(max_examples=200, deadline=None)
@given(books(qty=DYADIC_QTY), MAGNITUDE, st.integers(-996, 1020))
def test_a_book_clears_the_same_way_at_every_magnitude(book, k_price, k_qty):
    """Prices scaled by 10**k (1e-300..1e300), quantities by 2**j (1e-300..9e307): the same
    allocation, scaled; the price scales with the prices; nothing is NaN."""
    bp, bq, ap, aq = book
    base = double_auction(bp, bq, ap, aq)
    fp = 10.0**k_price
    with np.errstate(over="ignore"):
        volume = float(np.ldexp(base.volume, k_qty))
        scaled_book = (bp * fp, np.ldexp(bq, k_qty), ap * fp, np.ldexp(aq, k_qty))
    gross = float(base.bid_fill @ bp + base.ask_fill @ ap)  # what the surplus nets out
    try:
        r = double_auction(*scaled_book)
    except ValueError as exc:  # refused only when the volume or surplus is beyond float64
        assert "exceeds the float64 maximum" in str(exc)
        assert not math.isfinite(volume) or (
            math.log10(gross) + k_price + k_qty * math.log10(2) > 307)
        return
    assert_array_equal(r.bid_fill, np.ldexp(base.bid_fill, k_qty))
    assert_array_equal(r.ask_fill, np.ldexp(base.ask_fill, k_qty))
    assert r.volume == volume
    if base.volume == 0:
        assert np.isnan(r.price) and r.surplus == 0.0
        return
    assert math.isfinite(r.price)
    assert_allclose([r.price_low, r.price, r.price_high],
                    np.array([base.price_low, base.price, base.price_high]) * fp, rtol=1e-14)
    assert math.isfinite(r.surplus)
    magnitude = math.log10(gross) + k_price + k_qty * math.log10(2)
    if -290 < magnitude < 307:  # representable: the scaled surplus, to rounding of the gross
        assert_allclose(r.surplus, np.ldexp(base.surplus * fp, k_qty), rtol=1e-9,
                        atol=1e-12 * float(np.ldexp(gross * fp, k_qty)))
