"""Tests for abm.metrics: published vectors, hand examples, properties and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from abm.metrics import (
    TheilDecomposition,
    atkinson,
    cr,
    equivalent_firms,
    gini,
    hhi,
    lerner,
    lorenz,
    mld,
    palma,
    theil,
)

Y = [10, 20, 30, 40, 50]
ATOL = 1e-6
PROP = settings(max_examples=100, deadline=None)


# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------

# Positive values; integer-valued draws make ties likely.
positive = st.one_of(
    st.integers(min_value=1, max_value=100).map(float),
    st.floats(min_value=1e-2, max_value=1e4, allow_nan=False, allow_infinity=False),
)
non_negative = st.one_of(st.just(0.0), positive)


@st.composite
def weighted_data(draw, elements=positive, max_size=30):
    n = draw(st.integers(min_value=1, max_value=max_size))
    values = draw(st.lists(elements, min_size=n, max_size=n))
    weights = draw(st.lists(st.integers(min_value=1, max_value=5), min_size=n, max_size=n))
    return np.array(values), np.array(weights)


positive_lists = st.lists(positive, min_size=1, max_size=30).map(np.array)
non_negative_lists = (
    st.lists(non_negative, min_size=1, max_size=30).map(np.array).filter(lambda a: a.sum() > 0)
)

# name -> callable(values, weights)
WEIGHTED_INDICES = {
    "gini": gini,
    "theil": theil,
    "mld": mld,
    "atkinson_0.5": lambda v, w=None: atkinson(v, 0.5, weights=w),
    "atkinson_1": lambda v, w=None: atkinson(v, 1.0, weights=w),
    "atkinson_2": lambda v, w=None: atkinson(v, 2.0, weights=w),
    "palma": palma,
}
# Indices whose value for equal data is 0 (Palma is 0.25 there).
ZERO_AT_EQUALITY = {k: f for k, f in WEIGHTED_INDICES.items() if k != "palma"}


# ---------------------------------------------------------------------------
# published vectors and hand examples
# ---------------------------------------------------------------------------


def test_published_inequality_vectors():
    assert_allclose(gini(Y), 0.266667, atol=ATOL)
    assert_allclose(theil(Y), 0.119688, atol=ATOL)
    assert_allclose(mld(Y), 0.141114, atol=ATOL)
    assert_allclose(atkinson(Y, 0.5), 0.063153, atol=ATOL)
    assert_allclose(atkinson(Y, 1), 0.131610, atol=ATOL)
    assert_allclose(gini(np.array(Y, dtype=float)), 4 / 15, atol=1e-12)


def test_palma_one_to_ten_is_exactly_one():
    assert palma(list(range(1, 11))) == 1.0


def test_palma_splits_units_at_boundaries():
    # Two units of equal weight: bottom 40% is 0.8 of the poorer unit, top 10% is 0.2 of the
    # richer one.  values [1, 3]: bottom = 0.8 * 1, top = 0.2 * 3.
    assert_allclose(palma([1, 3]), (0.2 * 3) / (0.8 * 1), atol=1e-12)
    assert_allclose(palma([5.0]), 0.25, atol=1e-12)
    assert palma([0, 0, 0, 0, 1]) == math.inf


def test_atkinson_one_is_one_minus_exp_minus_mld():
    assert_allclose(atkinson(Y, 1), 1 - math.exp(-mld(Y)), atol=1e-12)
    assert atkinson(Y, 0) == 0.0
    assert atkinson([0, 1, 2], 1) == 1.0
    assert atkinson([0, 1, 2], 2) == 1.0


def test_weighted_gini_by_hand():
    # [1, 2] with weights [1, 3] is [1, 2, 2, 2]: sum|xi - xj| = 6, mean 7/4, n = 4.
    assert_allclose(gini([1, 2], weights=[1, 3]), 6 / (2 * 16 * 1.75), atol=1e-12)
    assert_allclose(gini([1, 2], weights=[1, 3]), gini([1, 2, 2, 2]), atol=1e-12)


def test_gini_extremes():
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)
    assert gini([7, 7, 7]) == 0.0
    assert math.isnan(gini([0, 0]))


def test_theil_zero_convention_and_maximum():
    assert_allclose(theil([0, 0, 1]), math.log(3), atol=1e-12)
    assert_allclose(theil([0, 0, 0, 0, 2]), math.log(5), atol=1e-12)


def test_theil_decomposition_by_hand():
    # Equal values within each group: everything is between-group inequality.
    d = theil([1, 1, 3, 3], groups=["a", "a", "b", "b"])
    assert isinstance(d, TheilDecomposition)
    assert_allclose(d.within, 0.0, atol=1e-12)
    assert_allclose(d.between, d.total, atol=1e-12)
    # Equal group means: everything is within-group inequality.
    d = theil([1, 3, 1, 3], groups=[0, 0, 1, 1])
    assert_allclose(d.between, 0.0, atol=1e-12)
    assert_allclose(d.within, theil([1, 3]), atol=1e-12)
    assert_allclose(d.total, d.between + d.within, atol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 10, 37])
def test_hhi_equal_firms(n):
    assert_allclose(hhi([1.0] * n), 10_000 / n, atol=ATOL)
    assert_allclose(hhi([123.4] * n), 10_000 / n, atol=ATOL)
    assert_allclose(equivalent_firms([5.0] * n), n, atol=ATOL)


def test_hhi_examples():
    assert_allclose(hhi([50, 30, 20]), 3_800, atol=ATOL)  # shares in percent
    assert_allclose(hhi([0.5, 0.3, 0.2]), 3_800, atol=ATOL)  # shares in [0, 1]
    assert_allclose(hhi([500, 300, 200]), 3_800, atol=ATOL)  # revenues
    assert hhi([0, 0, 9]) == 10_000
    assert math.isnan(hhi([0, 0]))
    assert math.isnan(equivalent_firms([0.0]))


def test_cr_examples():
    shares = [0.3, 0.2, 0.2, 0.1, 0.1, 0.1]
    assert_allclose(cr(shares), 0.8, atol=ATOL)
    assert_allclose(cr(shares[::-1], k=4), 0.8, atol=ATOL)
    assert_allclose(cr(shares, k=1), 0.3, atol=ATOL)
    assert_allclose(cr(shares, k=2), 0.5, atol=ATOL)
    assert_allclose(cr([10, 40, 20, 30, 0]), 1.0, atol=ATOL)
    assert_allclose(cr([6, 1, 1, 1, 1], k=4), 0.9, atol=ATOL)
    assert cr([5, 5]) == 1.0  # fewer than k firms
    assert cr([1, 2, 3], k=3) == 1.0
    assert math.isnan(cr([0, 0, 0, 0, 0]))


def test_lerner_examples():
    assert_allclose(lerner(10, 6), 0.4, atol=1e-12)
    assert_allclose(lerner(10, 12), -0.2, atol=1e-12)  # pricing below cost
    assert_allclose(lerner([10, 20], [5, 15]), (0.5 + 0.25) / 2, atol=1e-12)
    # weighted by tokens: margins 0.5 and 0.25 with weights 1 and 3 -> 1.25 / 4
    assert_allclose(lerner([10, 20], [5, 15], weights=[1, 3]), 0.3125, atol=1e-12)
    # scalar price broadcast against several costs
    assert_allclose(lerner(10, [2, 4, 6]), 0.6, atol=1e-12)
    # a zero-weight entry with an invalid price is ignored
    assert_allclose(lerner([0, 20], [1, 15], weights=[0, 3]), 0.25, atol=1e-12)


def test_lerner_broadcasts_only_a_scalar():
    assert_allclose(lerner(10, [2, 4, 6]), 0.6, atol=1e-12)
    assert_allclose(lerner([10, 20], 5), (0.5 + 0.75) / 2, atol=1e-12)
    assert_allclose(lerner([10], [5]), 0.5, atol=1e-12)


@pytest.mark.parametrize("epsilon", [2.0, 10.0, 50.0, 1e3, 1e6, 1e100, 1e308])
def test_atkinson_with_large_aversion_tends_to_one_minus_min_over_mean(epsilon):
    """1 - EDE/mean with EDE the power mean of order 1 - epsilon: it decreases to the
    minimum as epsilon grows, so the index rises to 1 - min/mean = 0.5 for [1, 2, 3]
    (it returned 1.0 with an overflow warning at 1e308)."""
    import warnings

    x = [1.0, 2.0, 3.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = atkinson(x, epsilon)
    direct = 1.0 - np.mean(np.asarray(x) ** (1 - epsilon)) ** (1 / (1 - epsilon)) / 2.0
    if epsilon <= 50:  # the direct formula is still representable: they agree
        assert_allclose(a, direct, rtol=1e-12)
    assert atkinson(x, 2.0) < atkinson(x, 10.0) <= a + 1e-15 if epsilon >= 10 else True
    assert a <= 0.5 + 1e-15
    if epsilon >= 1e6:
        assert_allclose(a, 0.5, rtol=1e-5)
    weighted = atkinson([1.0, 2.0, 3.0], epsilon, weights=[1.0, 1.0, 2.0])
    assert 0.0 < weighted <= 1.0 - 1.0 / (9.0 / 4.0) + 1e-15


def test_lerner_cowling_waterson():
    # Cournot with market elasticity eta: each firm's margin is s_i / eta, so the
    # share-weighted industry margin is HHI / (10,000 * eta).
    shares = np.array([0.4, 0.3, 0.2, 0.1])
    eta = 1.5
    price = 2.0
    mc = price * (1 - shares / eta)
    assert_allclose(lerner(price, mc, weights=shares), hhi(shares) / 10_000 / eta, atol=ATOL)
    assert_allclose(lerner(price, mc, weights=shares), 0.3 / 1.5, atol=ATOL)


# ---------------------------------------------------------------------------
# Lorenz curve
# ---------------------------------------------------------------------------


def test_lorenz_example():
    p, lz = lorenz([3, 1, 2])
    assert_allclose(p, [0, 1 / 3, 2 / 3, 1], atol=1e-12)
    assert_allclose(lz, [0, 1 / 6, 3 / 6, 1], atol=1e-12)


def test_lorenz_equal_values_is_equality_line():
    p, lz = lorenz([4.0] * 7)
    assert_allclose(lz, p, atol=1e-12)
    p, lz = lorenz([2.0, 2.0, 2.0], weights=[1, 2, 3])
    assert_allclose(lz, p, atol=1e-12)


def _check_lorenz(p: np.ndarray, lz: np.ndarray) -> None:
    assert p.shape == lz.shape
    assert p[0] == 0.0 and lz[0] == 0.0
    assert p[-1] == 1.0 and lz[-1] == 1.0
    assert np.all(np.diff(p) > 0)
    assert np.all(np.diff(lz) >= 0)
    assert np.all(lz <= p + 1e-12)  # below the line of equality
    slopes = np.diff(lz) / np.diff(p)
    assert np.all(np.diff(slopes) >= -1e-9 * slopes.max())  # convex


@PROP
@given(weighted_data(elements=non_negative).filter(lambda d: d[0].sum() > 0))
def test_lorenz_properties_and_gini_area_identity(data):
    values, weights = data
    for w in (None, weights):
        p, lz = lorenz(values, weights=w)
        _check_lorenz(p, lz)
        area = np.trapezoid(lz, p)
        assert_allclose(gini(values, weights=w), 1 - 2 * area, atol=1e-9)


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------


@PROP
@given(data=weighted_data())
def test_weighted_equals_replicated(data):
    values, weights = data
    replicated = np.repeat(values, weights)
    for name, f in WEIGHTED_INDICES.items():
        assert_allclose(f(values, weights), f(replicated), rtol=1e-9, atol=1e-9, err_msg=name)


@PROP
@given(data=weighted_data(), c=st.floats(min_value=1e-3, max_value=1e3))
def test_scale_invariance(data, c):
    values, weights = data
    for name, f in WEIGHTED_INDICES.items():
        assert_allclose(f(values * c), f(values), rtol=1e-9, atol=1e-9, err_msg=name)
        assert_allclose(
            f(values * c, weights), f(values, weights), rtol=1e-9, atol=1e-9, err_msg=name
        )


@PROP
@given(
    x=positive,
    n=st.integers(min_value=1, max_value=30),
    weights=st.lists(st.integers(min_value=1, max_value=5), min_size=30, max_size=30),
)
def test_equal_values_give_zero(x, n, weights):
    values = np.full(n, x)
    for name, f in ZERO_AT_EQUALITY.items():
        assert_allclose(f(values), 0.0, atol=1e-12, err_msg=name)
        assert_allclose(f(values, np.array(weights[:n])), 0.0, atol=1e-12, err_msg=name)


@PROP
@given(x=positive, n=st.integers(min_value=1, max_value=30))
def test_equal_values_palma_and_concentration(x, n):
    values = np.full(n, x)
    assert_allclose(palma(values), 0.25, atol=1e-9)
    assert_allclose(hhi(values), 10_000 / n, atol=1e-6)
    assert_allclose(cr(values), min(4, n) / n, atol=1e-9)


@PROP
@given(data=weighted_data(), seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_permutation_invariance(data, seed):
    values, weights = data
    perm = np.random.default_rng(seed).permutation(values.size)
    for name, f in WEIGHTED_INDICES.items():
        assert_allclose(
            f(values[perm], weights[perm]), f(values, weights), rtol=1e-9, atol=1e-12, err_msg=name
        )
        assert_allclose(f(values[perm]), f(values), rtol=1e-9, atol=1e-12, err_msg=name)


@PROP
@given(values=non_negative_lists, seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_concentration_permutation_invariance(values, seed):
    perm = np.random.default_rng(seed).permutation(values.size)
    assert_allclose(hhi(values[perm]), hhi(values), rtol=1e-12)
    assert_allclose(cr(values[perm]), cr(values), rtol=1e-12)


@PROP
@given(
    data=weighted_data(elements=non_negative).filter(lambda d: d[0].sum() > 0),
    n_groups=st.integers(min_value=1, max_value=4),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_theil_decomposition(data, n_groups, seed):
    values, weights = data
    labels = np.random.default_rng(seed).integers(0, n_groups, size=values.size)
    for w in (None, weights):
        d = theil(values, weights=w, groups=labels)
        assert isinstance(d, TheilDecomposition)
        assert d.between >= 0 and d.within >= 0
        assert_allclose(d.total, d.between + d.within, rtol=1e-9, atol=1e-12)
        assert_allclose(d.total, theil(values, weights=w), rtol=1e-12, atol=1e-15)
    # One group: no between-group inequality.
    d = theil(values, groups=np.zeros(values.size, dtype=int))
    assert_allclose(d.between, 0.0, atol=1e-12)
    # One group per unit: no within-group inequality.
    d = theil(values, groups=np.arange(values.size))
    assert_allclose(d.within, 0.0, atol=1e-12)


@PROP
@given(data=weighted_data(elements=non_negative).filter(lambda d: d[0].sum() > 0))
def test_gini_in_unit_interval(data):
    values, weights = data
    for w in (None, weights):
        g = gini(values, weights=w)
        assert 0.0 <= g < 1.0
    n = values.size
    assert gini(values) <= (n - 1) / n + 1e-12


@PROP
@given(values=non_negative_lists)
def test_hhi_bounds(values):
    n = values.size
    h = hhi(values)
    assert 10_000 / n - 1e-6 <= h <= 10_000
    assert_allclose(equivalent_firms(values), 10_000 / h)
    assert 1 - 1e-9 <= equivalent_firms(values) <= n + 1e-9
    c = cr(values)
    assert 0.0 <= c <= 1.0
    assert c >= min(4, n) / n - 1e-12  # top-k firms hold at least their equal share


@PROP
@given(data=weighted_data())
def test_inequality_ranges_and_ordering(data):
    values, weights = data
    t, lval = theil(values, weights), mld(values, weights)
    a_half, a_one, a_two = (atkinson(values, e, weights) for e in (0.5, 1.0, 2.0))
    assert 0.0 <= a_half <= a_one + 1e-12 <= a_two + 2e-12 <= 1.0 + 2e-12
    assert t >= 0.0 and lval >= 0.0
    assert t <= math.log(weights.sum()) + 1e-9
    assert palma(values, weights) >= 0.0


@PROP
@given(
    prices=st.lists(st.floats(min_value=0.1, max_value=100.0), min_size=1, max_size=30),
    data=st.data(),
)
def test_lerner_weighted_mean_properties(prices, data):
    n = len(prices)
    p = np.array(prices)
    mc = p * np.array(data.draw(st.lists(st.floats(0.0, 2.0), min_size=n, max_size=n)))
    w = np.array(data.draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)))
    margins = (p - mc) / p
    value = lerner(p, mc, weights=w)
    assert margins.min() - 1e-12 <= value <= margins.max() + 1e-12
    assert_allclose(value, lerner(np.repeat(p, w), np.repeat(mc, w)), rtol=1e-9, atol=1e-12)
    assert_allclose(lerner(p * 3, mc * 3, weights=w), value, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

INEQUALITY = [
    gini,
    theil,
    mld,
    palma,
    lorenz,
    lambda v, w=None: atkinson(v, 0.5, weights=w),
]


@pytest.mark.parametrize("f", [*INEQUALITY, hhi, equivalent_firms, cr])
@pytest.mark.parametrize(
    "values",
    [[], [1.0, float("nan")], [1.0, float("inf")], [1.0, -2.0], [[1.0, 2.0]], ["a", "b"],
     ["1", "2"], [True, False], [10**400, 1], np.ma.masked_array([1.0, 2.0], [0, 1]),
     np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]"), [1 + 0j, 2]],
    ids=["empty", "nan", "inf", "negative", "2d", "text", "numeric-text", "bool", "huge-int",
         "masked", "datetime", "complex"],
)
def test_bad_values(f, values):
    with pytest.raises(ValueError, match="values"):
        f(values)


@pytest.mark.parametrize("f", INEQUALITY)
@pytest.mark.parametrize(
    "weights",
    [[1.0], [1.0, 2.0, 3.0], [1.0, -1.0], [0.0, 0.0], [1.0, float("nan")], []],
)
def test_bad_weights(f, weights):
    with pytest.raises(ValueError, match="weights"):
        f([1.0, 2.0], weights)


def test_mld_requires_positive_values():
    with pytest.raises(ValueError, match="values"):
        mld([0.0, 1.0])
    # a zero value with zero weight is ignored
    assert_allclose(mld([0.0, 1.0, 2.0], weights=[0, 1, 1]), mld([1.0, 2.0]))


def test_lorenz_all_zero_values():
    with pytest.raises(ValueError, match="values"):
        lorenz([0.0, 0.0])


def test_all_zero_values_give_nan():
    for f in (gini, theil, palma, lambda v: atkinson(v, 0.5), hhi, cr):
        assert math.isnan(f([0.0, 0.0, 0.0]))


@pytest.mark.parametrize(
    "groups", [[0, 1], [0, 1, 2, 3], [[0, 1, 2]], [0.0, float("nan"), 1.0], [1, "a", None]]
)
def test_bad_groups(groups):
    with pytest.raises(ValueError, match="groups"):
        theil([1.0, 2.0, 3.0], groups=groups)


@pytest.mark.parametrize("epsilon", [-0.5, float("nan"), float("inf"), "high", None])
def test_bad_epsilon(epsilon):
    with pytest.raises(ValueError, match="epsilon"):
        atkinson([1.0, 2.0], epsilon)


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "4"])
def test_bad_k(k):
    with pytest.raises(ValueError, match="k must"):
        cr([1.0, 2.0, 3.0], k=k)


@pytest.mark.parametrize(
    ("price", "marginal_cost", "weights", "name"),
    [
        ([], [], None, "price"),
        ([1.0, float("nan")], [0.5, 0.5], None, "price"),
        ([1.0, 2.0], [0.5, float("inf")], None, "marginal_cost"),
        ([1.0, 2.0], [0.5, 0.5, 0.5], None, "marginal_cost"),
        ([1.0, 0.0], [0.5, 0.5], None, "price"),
        ([1.0, -2.0], [0.5, 0.5], [1.0, 1.0], "price"),
        ([1.0, 2.0], [0.5, 0.5], [1.0], "weights"),
        ([1.0, 2.0], [0.5, 0.5], [1.0, -1.0], "weights"),
        ([1.0, 2.0], [0.5, 0.5], [0.0, 0.0], "weights"),
        # a length-1 array is not broadcast: it would pair one cost with every price
        ([1.0, 2.0], [0.0], None, "price and marginal_cost must have the same length"),
        ([2.0], [0.0, 1.0, 1.5], None, "price and marginal_cost must have the same length"),
        ([10**400], [1.0], None, "price"),
    ],
)
def test_bad_lerner_inputs(price, marginal_cost, weights, name):
    with pytest.raises(ValueError, match=name):
        lerner(price, marginal_cost, weights=weights)


# ---------------------------------------------------------------------------
# magnitudes across float64 (issue 9, kind 4): scale before summing or squaring
# ---------------------------------------------------------------------------

MAGNITUDE = st.integers(min_value=-300, max_value=300)
SCALE_FREE = {
    **WEIGHTED_INDICES,
    "hhi": lambda v, w=None: hhi(v),
    "cr2": lambda v, w=None: cr(v, 2),
    "equivalent_firms": lambda v, w=None: equivalent_firms(v),
}


def test_hhi_of_two_equal_firms_near_the_float_maximum_is_5000():
    assert hhi([1e308, 1e308]) == 5000.0
    assert hhi([1.7e308, 1.7e308, 1.7e308, 1.7e308]) == 2500.0


@pytest.mark.parametrize("name", sorted(SCALE_FREE))
def test_indices_are_finite_near_the_float_maximum(name):
    f = SCALE_FREE[name]
    base = np.array([1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0, 89.0])
    huge = base / base.max() * 1.7e308
    assert math.isfinite(f(huge)) and math.isfinite(f(base))
    assert_allclose(f(huge), f(base), rtol=1e-12)
    assert_allclose(f(base, 1e308 * np.ones(base.size)), f(base), rtol=1e-12)


@PROP
@given(weighted_data(), MAGNITUDE, MAGNITUDE)
def test_every_index_is_finite_and_scale_free_from_1e_300_to_1e300(data, kv, kw):
    values, weights = data
    for name, f in SCALE_FREE.items():
        expected = f(values, weights)
        got = f(values * 10.0**kv, weights * 10.0**kw)
        if name in WEIGHTED_INDICES:
            assert math.isfinite(got) == math.isfinite(expected), name
        else:  # the concentration indices take no weights
            assert math.isfinite(got), name
        assert_allclose(got, expected, rtol=1e-9, atol=1e-12, err_msg=name)


@PROP
@given(st.lists(positive, min_size=1, max_size=20).map(np.array), MAGNITUDE)
def test_lerner_is_scale_free_from_1e_300_to_1e300(prices, k):
    cost = prices * 0.6
    assert_allclose(lerner(prices * 10.0**k, cost * 10.0**k), 0.4, rtol=1e-12)
    assert_allclose(lerner([1.7e308], [-1.7e308]), 2.0)
