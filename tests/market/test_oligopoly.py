"""Tests for the closed-form / fixed-point oligopoly benchmarks (:mod:`abm.market.oligopoly`)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from abm.market.oligopoly import (
    bertrand,
    cournot,
    cowling_waterson_lerner,
    logit_nash_bertrand,
    logit_shares,
)

# ----------------------------------------------------------------------------- Cournot


def test_cournot_symmetric_closed_form():
    r = cournot(100.0, 1.0, [10.0, 10.0, 10.0, 10.0])
    assert_allclose(r.quantities, [18.0] * 4, rtol=1e-12)
    assert r.price == pytest.approx(28.0, rel=1e-12)
    assert_allclose(r.profits, [324.0] * 4, rtol=1e-12)
    assert_allclose(r.lerner, [0.642857] * 4, atol=5e-7)
    assert r.hhi == pytest.approx(2500.0, rel=1e-12)
    assert r.total_quantity == pytest.approx(72.0)


def test_cournot_monopoly_and_duopoly():
    m = cournot(10.0, 2.0, [2.0])
    assert m.price == pytest.approx(6.0) and m.quantities[0] == pytest.approx(2.0)
    assert m.hhi == pytest.approx(10_000.0)
    d = cournot(10.0, 1.0, [1.0, 4.0])  # P = 5, q = (4, 1)
    assert d.price == pytest.approx(5.0)
    assert_allclose(d.quantities, [4.0, 1.0])
    assert d.hhi == pytest.approx(10_000 * (0.8**2 + 0.2**2))


def test_cournot_drops_unprofitable_firms():
    # Interior formula with all three would give the 90-cost firm a negative quantity.
    r = cournot(100.0, 1.0, [10.0, 20.0, 90.0])
    assert r.price == pytest.approx(130.0 / 3)
    assert_allclose(r.quantities, [100.0 / 3, 70.0 / 3, 0.0])
    assert r.profits[2] == 0.0
    assert r.lerner[2] < 0.0
    # Cost above the choke price: nobody produces.
    z = cournot(50.0, 1.0, [60.0, 70.0])
    assert z.price == 50.0 and not z.quantities.any() and np.isnan(z.hhi)


def _cournot_by_iterated_exit(a, b, c):
    """Reference: solve the interior system, drop negative-quantity firms, repeat."""
    active = np.ones(c.size, dtype=bool)
    while True:
        k = active.sum()
        if k == 0:
            return a, np.zeros_like(c)
        price = (a + c[active].sum()) / (k + 1)
        q = np.where(active, (price - c) / b, 0.0)
        if np.all(q[active] > 0):
            return price, q
        active &= q > 0


COSTS = st.lists(st.floats(0.0, 120.0), min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(a=st.floats(1.0, 100.0), b=st.floats(0.05, 10.0), costs=COSTS)
def test_cournot_equilibrium_conditions(a, b, costs):
    c = np.array(costs)
    r = cournot(a, b, c)
    q, price = r.quantities, r.price
    total = q.sum()
    scale = max(1.0, a)
    assert np.all(q >= 0.0)
    assert price == pytest.approx(a - b * total, rel=1e-12, abs=1e-12 * scale)
    active = q > 0
    # FOC P - c_i = b q_i for producers; non-producers cannot profitably enter.
    assert_allclose(price - c[active], b * q[active], rtol=1e-10, atol=1e-10 * scale)
    assert np.all(c[~active] >= price - 1e-10 * scale)
    assert_allclose(r.profits, (price - c) * q, rtol=1e-12, atol=1e-12 * scale**2)
    assert_allclose(r.lerner, (price - c) / price, rtol=1e-12, atol=1e-12)
    # Best responses: no firm gains by a small change of its own quantity.
    for i in np.flatnonzero(active):
        others = total - q[i]
        for dq in (-1e-4, 1e-4):
            qi = q[i] + dq
            profit_dev = (a - b * (others + qi) - c[i]) * qi
            assert profit_dev <= r.profits[i] + 1e-9 * scale**2
    # Agrees with the iterate-and-drop procedure.
    p_ref, q_ref = _cournot_by_iterated_exit(a, b, c)
    assert price == pytest.approx(p_ref, rel=1e-10)
    assert_allclose(q, q_ref, rtol=1e-9, atol=1e-9 * scale / b)
    if np.all(active):  # the textbook closed form, when every firm is in
        n = c.size
        assert_allclose(q, (a - (n + 1) * c + c.sum()) / ((n + 1) * b), rtol=1e-9, atol=1e-9)

    # Cowling-Waterson: share-weighted Lerner = HHI / (10,000 * elasticity).
    assume(total > 1e-6 * scale / b)
    shares = q / total
    elasticity = price / (b * total)
    share_weighted = float(shares @ r.lerner)
    assert share_weighted == pytest.approx(r.hhi / (10_000 * elasticity), rel=1e-9)
    assert share_weighted == pytest.approx(cowling_waterson_lerner(shares, elasticity), rel=1e-9)
    assert r.hhi == pytest.approx(10_000 * float(shares @ shares), rel=1e-12)
    assert 10_000 / active.sum() - 1e-6 <= r.hhi <= 10_000 + 1e-6


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"a": 0.0}, "a"),
        ({"a": -5.0}, "a"),
        ({"a": np.nan}, "a"),
        ({"b": 0.0}, "b"),
        ({"b": np.inf}, "b"),
        ({"marginal_costs": [1.0, -1.0]}, "marginal_costs"),
        ({"marginal_costs": [1.0, np.nan]}, "marginal_costs"),
        ({"marginal_costs": []}, "marginal_costs"),
        ({"marginal_costs": [[1.0, 2.0]]}, "marginal_costs"),
    ],
)
def test_cournot_bad_input(kwargs, name):
    args = {"a": 100.0, "b": 1.0, "marginal_costs": [10.0, 20.0]} | kwargs
    with pytest.raises(ValueError, match=name):
        cournot(**args)


# ---------------------------------------------------------------------------- Bertrand


def test_bertrand_unique_lowest_cost_wins_at_second_cost():
    r = bertrand([3.0, 1.0, 2.0])
    assert r.price == 2.0 and r.winner == 1
    assert_array_equal(r.quantities_share, [0.0, 1.0, 0.0])


def test_bertrand_tie_prices_at_cost_and_splits_market():
    r = bertrand([1.0, 5.0, 1.0, 1.0])
    assert r.price == 1.0 and r.winner == 0
    assert_allclose(r.quantities_share, [1 / 3, 0.0, 1 / 3, 1 / 3])
    r = bertrand([2.0, 2.0])
    assert r.price == 2.0
    assert_array_equal(r.quantities_share, [0.5, 0.5])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 6).map(float), min_size=2, max_size=10))
def test_bertrand_properties(costs):
    c = np.array(costs)
    r = bertrand(c)
    assert r.price == np.sort(c)[1]
    assert c[r.winner] == c.min()
    assert r.quantities_share.sum() == pytest.approx(1.0)
    assert np.all(r.quantities_share[c > c.min()] == 0.0)


@pytest.mark.parametrize("bad", [[1.0], [], [1.0, -2.0], [1.0, np.nan], [[1.0, 2.0]]])
def test_bertrand_bad_input(bad):
    with pytest.raises(ValueError, match="marginal_costs"):
        bertrand(bad)


# ------------------------------------------------------------------------------ logit


def test_logit_symmetric_calibration():
    r = logit_nash_bertrand([2.0, 2.0, 2.0], [1.0, 1.0, 1.0], alpha=1.0, outside_utility=0.0)
    assert_allclose(r.prices, [2.29868] * 3, atol=1e-5)
    assert_allclose(r.shares, [0.22999] * 3, atol=1e-5)
    assert r.outside_share == pytest.approx(1 - 3 * r.shares[0], abs=1e-12)
    assert_allclose(r.lerner, (r.prices - 1.0) / r.prices, rtol=1e-12)
    # Tight check of the markup equation itself.
    assert_allclose(r.prices - 1.0, 1.0 / (1.0 - r.shares), rtol=1e-11)


def _owner_profit(prices, quality, cost, alpha, u0, firm, f):
    s, _ = logit_shares(prices, quality, alpha, u0)
    return float(((prices - cost) * s)[firm == f].sum())


LOGIT_MARKETS = st.integers(1, 6).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(-2.0, 5.0), min_size=n, max_size=n),
        st.lists(st.floats(0.0, 3.0), min_size=n, max_size=n),
        st.floats(0.2, 3.0),
        st.floats(-2.0, 2.0),
        st.one_of(st.none(), st.lists(st.integers(0, 2), min_size=n, max_size=n)),
    )
)


@settings(max_examples=150, deadline=None)
@given(LOGIT_MARKETS)
def test_logit_nash_equilibrium(market):
    quality, cost, alpha, u0, owner = market
    q, c = np.array(quality), np.array(cost)
    r = logit_nash_bertrand(q, c, alpha, outside_utility=u0, owner=owner)
    firm = np.arange(q.size) if owner is None else np.array(owner)

    s, s0 = logit_shares(r.prices, q, alpha, u0)
    assert_allclose(r.shares, s, rtol=1e-12)
    assert r.outside_share == pytest.approx(s0, rel=1e-12)
    assert r.shares.sum() + r.outside_share == pytest.approx(1.0, abs=1e-12)
    assert np.all(r.prices > c)

    # FOC residual: p_j - c_j = 1 / (alpha (1 - S_f)).
    owner_share = np.array([r.shares[firm == firm[j]].sum() for j in range(q.size)])
    residual = r.prices - c - 1.0 / (alpha * (1.0 - owner_share))
    assert_allclose(residual, 0.0, atol=1e-9 * max(1.0, float(r.prices.max())))

    # No owner gains from a small unilateral change of any one of its prices.
    for j in range(q.size):
        f = firm[j]
        base = _owner_profit(r.prices, q, c, alpha, u0, firm, f)
        for dp in (-1e-4, 1e-4):
            p_dev = r.prices.copy()
            p_dev[j] += dp
            assert _owner_profit(p_dev, q, c, alpha, u0, firm, f) <= base + 1e-12 * (1 + base)


def test_logit_merger_raises_prices():
    q, c = [2.0, 2.0, 2.0], [1.0, 1.0, 1.0]
    separate = logit_nash_bertrand(q, c, alpha=1.0)
    merged = logit_nash_bertrand(q, c, alpha=1.0, owner=[0, 0, 1])
    assert np.all(merged.prices[:2] > separate.prices[:2] + 1e-3)
    assert merged.prices[0] == pytest.approx(merged.prices[1], rel=1e-12)
    # Prices are strategic complements: the outsider raises its price too, but by less.
    assert separate.prices[2] < merged.prices[2] < merged.prices[0]
    monopoly = logit_nash_bertrand(q, c, alpha=1.0, owner=["x", "x", "x"])
    assert np.all(monopoly.prices > merged.prices[0])


def test_logit_single_product_monopoly():
    r = logit_nash_bertrand([1.0], [0.5], alpha=2.0, outside_utility=0.3)
    assert r.prices[0] - 0.5 == pytest.approx(1.0 / (2.0 * (1.0 - r.shares[0])), rel=1e-12)


def test_logit_large_shares_converge():
    # A dominant product (share ~0.83): iterating 1/(alpha(1-s)) directly oscillates here.
    r = logit_nash_bertrand([8.0, 0.0, -2.0], [1.0, 1.0, 5.0], alpha=0.5)
    assert r.shares[0] > 0.8
    assert_allclose(r.prices - [1.0, 1.0, 5.0], 1.0 / (0.5 * (1.0 - r.shares)), rtol=1e-10)


def test_logit_not_converged_raises():
    with pytest.raises(RuntimeError, match="converge"):
        logit_nash_bertrand([2.0, 2.0, 2.0], [1.0, 1.0, 1.0], alpha=1.0, max_iter=2)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"quality": [1.0, np.nan]}, "quality"),
        ({"quality": [[1.0, 2.0]]}, "quality"),
        ({"marginal_cost": [1.0]}, "marginal_cost"),
        ({"marginal_cost": [1.0, -1.0]}, "marginal_cost"),
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": np.inf}, "alpha"),
        ({"outside_utility": np.nan}, "outside_utility"),
        ({"owner": [0]}, "owner"),
        ({"owner": [[0, 1]]}, "owner"),
        ({"tol": 0.0}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"damping": 1.5}, "damping"),
    ],
)
def test_logit_bad_input(kwargs, name):
    args = {"quality": [1.0, 2.0], "marginal_cost": [1.0, 1.0], "alpha": 1.0} | kwargs
    with pytest.raises(ValueError, match=name):
        logit_nash_bertrand(**args)


# ------------------------------------------------------------------ Cowling-Waterson


def test_cowling_waterson_values():
    assert cowling_waterson_lerner([0.5, 0.5], 2.0) == pytest.approx(0.25)
    assert cowling_waterson_lerner([1.0], 4.0) == pytest.approx(0.25)
    assert cowling_waterson_lerner([0.25] * 4, 1.0) == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("shares", "elasticity", "name"),
    [
        ([50.0, 50.0], 1.0, "shares"),
        ([0.5, 0.4], 1.0, "shares"),
        ([1.2, -0.2], 1.0, "shares"),
        ([0.5, np.nan], 1.0, "shares"),
        ([0.5, 0.5], 0.0, "elasticity"),
        ([0.5, 0.5], -1.5, "elasticity"),
    ],
)
def test_cowling_waterson_bad_input(shares, elasticity, name):
    with pytest.raises(ValueError, match=name):
        cowling_waterson_lerner(shares, elasticity)
