"""Step demand: ``clear(..., reservation_price=...)`` against the welfare-maximising LP.

Oracle: for a homogeneous book (offers differ only in their asks) where segment ``s`` buys
its whole quantity ``q_s`` at prices up to its reservation price ``r_s``, the competitive
equilibrium solves

    maximise  sum_s r_s x_s - sum_o ask_o y_o
    s.t.      sum_s x_s = sum_o y_o,   0 <= x_s <= q_s,   0 <= y_o <= capacity_o,

solved here by HiGHS. The optimal dual prices of the balance constraint are the prices that
support the allocation; HiGHS reports ``eqlin.marginals`` = d(min objective)/d(b_eq), which
for this minimisation of ``-welfare`` is minus the price (checked on a hand example).

Also: the logit core approximates step demand when choice sensitivity and elasticity grow,
in the regime where that approximation is valid (see
:func:`test_logit_path_approaches_the_lp_as_sensitivity_grows`).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.optimize import linprog

from abm.market import DemandBook, SupplyBook, clear
from tests.market.test_clearing import check_invariants

# Prices on a coarse grid (many exact ties between asks and reservation prices) or at cent
# resolution; quantities zero, integers or arbitrary floats.
PRICE = st.one_of(st.integers(1, 24).map(lambda k: k / 4),
                  st.floats(0.01, 10.0).map(lambda x: round(x, 2)))
QTY = st.one_of(st.just(0.0), st.integers(1, 20).map(float),
                st.floats(0.001, 50.0, allow_nan=False, allow_infinity=False))


def step_market(ask, capacity, reservation, quantity, *, segment_class=None, n_classes=1,
                n_regions=1, region=None, budget=None, elasticity=1.0, alpha=3.0,
                reference_demand=None):
    """A homogeneous book: no tariffs, penalties or localisation, neutral appeal."""
    ask = np.asarray(ask, dtype=float)
    n_off, n_seg = ask.size, len(reservation)
    supply = SupplyBook(
        provider=np.arange(n_off),
        region=np.zeros(n_off, int) if region is None else region,
        tier=np.ones(n_off, int), open_weights=np.zeros(n_off, bool),
        capacity=np.asarray(capacity, float), marginal_cost=0.5 * ask, ask=ask,
        quality=np.ones(n_off))
    if segment_class is None:
        segment_class = np.arange(n_seg) % n_classes
    n_cls = int(np.max(segment_class)) + 1
    ref = quantity if reference_demand is None else reference_demand
    demand = DemandBook(
        segment_class=segment_class, reference_demand=ref,
        budget=np.full(n_seg, np.inf) if budget is None else budget,
        population=np.ones(n_seg), class_nation=np.arange(n_cls) % 2,
        choice_sensitivity=np.broadcast_to(np.asarray(alpha, float), (n_cls,)),
        elasticity=np.broadcast_to(np.asarray(elasticity, float), (n_cls,)),
        latency_tolerance_ms=np.full(n_cls, 1e9), latency_cost=np.zeros(n_cls),
        quality_threshold=np.zeros(n_cls), quality_cost=np.zeros(n_cls),
        localised=np.zeros(n_cls, bool), latency_matrix_ms=np.full((2, n_regions), 5.0),
        region_nation=np.arange(n_regions) % 2, tariff=np.zeros(2))
    return supply, demand


def welfare_lp(r, q, ask, cap):
    n_seg = r.size
    c = np.concatenate([-r, ask])  # linprog minimises -welfare
    a_eq = np.concatenate([np.ones(n_seg), -np.ones(ask.size)])[None, :]
    bounds = [(0.0, b) for b in np.concatenate([q, cap])]
    res = linprog(c, A_eq=a_eq, b_eq=[0.0], bounds=bounds, method="highs")
    assert res.status == 0, res.message
    return res, res.x[:n_seg], res.x[n_seg:]


def dual_interval(r, q, ask, cap, x, y, tol):
    """Prices supporting the LP optimum (x, y): the optimal duals of the balance row."""
    low = max([*r[x < q - tol], *ask[y > tol], 0.0])
    high = min([*r[x > tol], *ask[y < cap - tol], np.inf])
    return low, high


def test_lp_dual_sign_on_a_hand_example():
    r, q = np.array([10.0, 8.0, 6.0, 4.0]), np.ones(4)
    ask, cap = np.array([3.0, 5.0, 7.0, 9.0]), np.ones(4)
    res, x, y = welfare_lp(r, q, ask, cap)
    assert_allclose(-res.fun, 10.0)
    assert 6.0 <= -res.eqlin.marginals[0] <= 7.0  # the price is minus the marginal
    assert dual_interval(r, q, ask, cap, x, y, 1e-9) == (6.0, 7.0)
    supply, demand = step_market(ask, cap, r, q)
    out = clear(supply, demand, reservation_price=r)
    # The lowest supporting price: both traded offers get 6, the others keep their asks.
    assert_allclose(out.price, [6.0, 6.0, 7.0, 9.0])
    assert_allclose(out.offer_tokens, [1.0, 1.0, 0.0, 0.0])
    assert_allclose(out.segment_tokens, [1.0, 1.0, 0.0, 0.0])
    assert_allclose(out.segment_spending, [6.0, 6.0, 0.0, 0.0])
    assert_allclose(out.offer_revenue, [6.0, 6.0, 0.0, 0.0])
    assert_allclose(out.segment_latent, [1.0, 1.0, 1.0, 1.0])
    assert_allclose(out.segment_unserved, [0.0, 0.0, 1.0, 1.0])
    assert out.rounds == 0 and out.converged


def test_marginal_partially_sold_offer_is_priced_at_its_ask():
    # Demand 5 at any price <= 10; offers 3 @ 1 and 4 @ 2: the second sells 2 at its ask.
    supply, demand = step_market([1.0, 2.0, 4.0], [3.0, 4.0, 9.0], [10.0], [5.0])
    out = clear(supply, demand, reservation_price=[10.0])
    assert_allclose(out.offer_tokens, [3.0, 2.0, 0.0])
    assert_allclose(out.price, [2.0, 2.0, 4.0])
    assert_allclose(out.segment_spending, [10.0])
    assert_allclose(out.offer_revenue.sum(), 10.0)
    assert_allclose(out.excess_demand, [0.0, -2.0, -9.0])


def test_budget_makes_an_unaffordable_segment_buy_nothing():
    # Segment 1 values tokens at 8 but can spend only 10 on its 5 tokens (2 $/M tokens).
    supply, demand = step_market([1.0, 3.0], [4.0, 10.0], [9.0, 8.0], [4.0, 5.0],
                                 budget=[np.inf, 10.0])
    out = clear(supply, demand, reservation_price=[9.0, 8.0])
    assert_allclose(out.segment_tokens, [4.0, 0.0])
    assert_allclose(out.segment_unserved_budget, [0.0, 5.0])
    assert_allclose(out.segment_unserved, [0.0, 5.0])
    check_invariants(supply, demand, out)


@settings(max_examples=150, deadline=None)
@given(offers=st.lists(st.tuples(PRICE, QTY), min_size=1, max_size=12),
       segments=st.lists(st.tuples(PRICE, QTY), min_size=1, max_size=15),
       n_classes=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_step_clearing_matches_the_welfare_lp(offers, segments, n_classes, seed):
    ask = np.array([o[0] for o in offers])
    cap = np.array([o[1] for o in offers])
    r = np.array([s[0] for s in segments])
    q = np.array([s[1] for s in segments])
    rng = np.random.default_rng(seed)
    supply, demand = step_market(ask, cap, r, q, n_classes=n_classes, n_regions=3,
                                 region=rng.integers(0, 3, ask.size))
    out = clear(supply, demand, reservation_price=r)
    res, x, y = welfare_lp(r, q, ask, cap)

    scale = 1.0 + float(r @ q + ask @ cap)
    tol = 1e-9 * (1.0 + q.sum() + cap.sum())
    welfare = float(r @ out.segment_tokens - ask @ out.offer_tokens)
    assert_allclose(welfare, -res.fun, rtol=1e-9, atol=1e-9 * scale)
    volume = out.offer_tokens.sum()
    ties = np.isin(r[q > 0], ask[cap > 0])
    if ties.any():  # zero-surplus units may or may not trade in the LP; clear trades them
        assert volume >= x.sum() - tol
    else:
        assert_allclose(volume, x.sum(), rtol=1e-9, atol=tol)
    pos_ask = ask[cap > 0]
    if np.unique(pos_ask).size == pos_ask.size and not ties.any():
        assert_allclose(out.offer_tokens, y, rtol=0, atol=tol)  # unique LP optimum

    # Invariants: tokens and money conserved, capacity, prices >= ask, slack at ask.
    check_invariants(supply, demand, out)
    assert_allclose(out.segment_tokens.sum(), volume, rtol=1e-12, atol=tol)
    assert (out.segment_tokens <= q).all() and (out.offer_tokens <= cap).all()
    assert (out.price >= ask).all()
    slack = out.offer_tokens < cap
    assert_allclose(out.price[slack], ask[slack])
    assert_allclose(out.class_offer_tokens.sum(axis=0), out.offer_tokens, rtol=1e-9,
                    atol=tol)
    assert_allclose(out.class_offer_tokens.sum(axis=1),
                    np.bincount(demand.segment_class, out.segment_tokens), rtol=1e-9,
                    atol=tol)

    if volume > 0:
        p = float(out.class_effective_price[0])
        traded = out.offer_tokens > 0
        assert_allclose(out.price[traded], p)
        low, high = dual_interval(r, q, ask, cap, x, y, tol)
        assert low - 1e-9 <= p <= high + 1e-9
        assert low - 1e-7 <= -res.eqlin.marginals[0] <= high + 1e-7
        # each segment pays p per token
        assert_allclose(out.segment_spending, out.segment_tokens * p, rtol=1e-12)


def test_reservation_price_is_validated():
    supply, demand = step_market([1.0], [5.0], [2.0, 3.0], [1.0, 1.0])
    for bad in ([2.0], [2.0, np.nan], [2.0, np.inf], [2.0, -1.0], [[2.0, 3.0]]):
        with pytest.raises(ValueError, match="reservation_price"):
            clear(supply, demand, reservation_price=bad)


@pytest.mark.parametrize("what", ["latency", "quality", "tariff", "localised", "appeal"])
def test_non_homogeneous_book_with_reservation_price_raises(what):
    supply = SupplyBook(provider=[0, 1], region=[0, 1], tier=[1, 1],
                        open_weights=[False, False], capacity=[5.0, 5.0],
                        marginal_cost=[0.5, 0.5], ask=[1.0, 1.2], quality=[1.0, 0.6],
                        appeal=[0.0, 0.5] if what == "appeal" else None)
    demand = DemandBook(
        segment_class=[0], reference_demand=[3.0], budget=[np.inf], population=[1.0],
        class_nation=[0], choice_sensitivity=[3.0], elasticity=[1.0],
        latency_tolerance_ms=[10.0 if what == "latency" else 1e9], latency_cost=[0.1],
        quality_threshold=[0.9 if what == "quality" else 0.0], quality_cost=[1.0],
        localised=[what == "localised"], latency_matrix_ms=[[0.0, 50.0], [50.0, 0.0]],
        region_nation=[0, 1], tariff=[0.2 if what == "tariff" else 0.0, 0.0])
    cause = {"latency": "latency penalties", "quality": "quality-shortfall or latency",
             "tariff": "tariffs", "localised": "localisation", "appeal": "appeal"}[what]
    with pytest.raises(ValueError, match=rf"reservation_price.*homogeneous.*{cause}"):
        clear(supply, demand, reservation_price=[2.0])
    clear(supply, demand)  # the logit core takes the same book


def test_logit_path_approaches_the_lp_as_sensitivity_grows():
    """Step demand as the limit of logit demand, where the limit is valid.

    Segment ``s`` of the step market becomes a logit class with ``choice_sensitivity``
    and elasticity ``eps`` large and ``reference_demand = q_s * r_s ** eps``, so its demand
    ``q_s (r_s / P) ** eps`` equals ``q_s`` at its reservation price and vanishes above it.
    Below the reservation price, though, isoelastic demand exceeds ``q_s`` without bound, so
    the approximation is faithful only where the equilibrium price ends near the
    reservation prices of the buyers: here every segment has the same reservation price and
    the offers priced below it cannot serve them all. (With distinct reservation prices the
    highest bidder absorbs the market at a price near its own reservation price and the
    welfare gap does not shrink: step demand needs the exact path.)
    """
    ask = np.array([1.0, 1.5, 2.0, 2.5, 3.5, 4.0])
    cap = np.array([10.0, 15.0, 10.0, 5.0, 20.0, 20.0])
    r = np.full(4, 3.0)
    q = np.array([10.0, 20.0, 30.0, 15.0])
    res, _, _ = welfare_lp(r, q, ask, cap)
    lp_welfare = -res.fun
    supply, demand = step_market(ask, cap, r, q, segment_class=np.arange(4))
    exact = clear(supply, demand, reservation_price=r)
    assert_allclose(float(r @ exact.segment_tokens - ask @ exact.offer_tokens), lp_welfare)

    gaps = []
    for eps in (5.0, 20.0, 60.0):
        supply, demand = step_market(ask, cap, r, q, segment_class=np.arange(4),
                                     alpha=eps, elasticity=eps, reference_demand=q * r**eps)
        out = clear(supply, demand)
        assert out.converged
        # Valued with the true step preferences: tokens beyond q_s are worth nothing.
        welfare = float(r @ np.minimum(out.segment_tokens, q) - ask @ out.offer_tokens)
        gaps.append((lp_welfare - welfare) / lp_welfare)
    assert gaps[0] > gaps[1] > gaps[2] >= -1e-12
    assert gaps[2] < 0.01
