"""The clearing core at the edges of float64, and its arguments checked by name (issue 9, kind 4).

The auction and metric examples of the issue (``double_auction`` near 1e308, ``hhi`` and the
inequality indices near 1e308) are covered in ``test_auction.py`` and ``test_metrics.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from abm.market import SupplyBook, clear
from abm.market._validate import MONEY_MAX
from abm.market.conservation import violations
from tests.market.test_clearing import one_class_market


@pytest.mark.parametrize(("asks", "caps"), [
    ([1e-300], [1e9]), ([1e-300, 1.0], [1e9, 1e9]), ([1e-300, 1e-299, 1.0], [1e3, 1e9, 1e9])])
def test_an_ask_of_1e_300_clears_at_finite_prices(asks, caps):
    # Demand at the ask would be 100 * (1e-300) ** -1.5 = 1e452 M tokens: not a float.
    supply, demand = one_class_market(asks, caps, ref=100.0, eps=1.5)
    res = clear(supply, demand)
    assert np.isfinite(res.price).all()
    assert res.converged
    assert violations(supply, demand, res) == []
    if len(asks) == 1:  # one offer: p* = (ref / K) ** (1 / eps)
        assert_allclose(res.price, [(100.0 / caps[0]) ** (1 / 1.5)], rtol=1e-8)
    else:  # the cheapest offer binds, the dearest sells (almost) nothing at its ask
        assert res.offer_tokens[0] == pytest.approx(caps[0], rel=1e-9)
        assert res.price[-1] == asks[-1]
    # Latent demand at the asks saturates at the largest float instead of overflowing.
    assert np.isfinite(res.segment_latent).all() and np.isfinite(res.segment_unserved).all()


@settings(max_examples=100, deadline=None)
@given(log_ask=st.lists(st.floats(-300.0, 300.0), min_size=1, max_size=4),
       log_ref=st.floats(-30.0, 30.0), log_cap=st.floats(-30.0, 30.0),
       eps=st.floats(0.05, 3.0), alpha=st.floats(1.05, 20.0))
def test_any_ask_from_1e_300_to_1e300_keeps_every_identity(log_ask, log_ref, log_cap, eps,
                                                            alpha):
    n = len(log_ask)
    supply, demand = one_class_market(10.0 ** np.asarray(log_ask), [10.0 ** log_cap] * n,
                                      ref=10.0 ** log_ref, alpha=alpha, eps=eps)
    if max(log_ask) + log_cap + np.log10(n) > np.log10(MONEY_MAX) - 1e-9:
        # Capacity sold at the ask would be money beyond float64: refused up front.
        with pytest.raises(ValueError, match="ask x capacity: offer"):
            clear(supply, demand)
        return
    with np.errstate(under="ignore"):
        res = clear(supply, demand)
    assert np.isfinite(res.price).all()
    assert violations(supply, demand, res) == []


def test_an_equilibrium_price_beyond_float64_saturates_and_is_reported():
    # p* = (1e23 / 10) ** (1 / 0.0547) ~ 1e402 $/M tokens: prices stop where selling all
    # capacity is still a float, the excess is rationed and the clearing says so.
    supply, demand = one_class_market([1.0], [10.0], ref=1e23, eps=0.0546875)
    res = clear(supply, demand)
    assert not res.converged
    assert np.isfinite(res.price).all() and res.price[0] > 1e300
    assert res.offer_tokens.tolist() == [10.0]
    assert violations(supply, demand, res) == []


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"tol": np.inf}, "tol"), ({"tol": np.nan}, "tol"), ({"tol": 0.0}, "tol"),
    ({"tol": 1.0}, "tol"), ({"tol": "1e-9"}, "tol"), ({"tol": -1e-9}, "tol"),
    ({"max_rounds": np.nan}, "max_rounds"), ({"max_rounds": np.inf}, "max_rounds"),
    ({"max_rounds": 2.5}, "max_rounds"), ({"max_rounds": -1}, "max_rounds"),
    ({"max_rounds": True}, "max_rounds"), ({"max_rounds": "200"}, "max_rounds")])
def test_clear_refuses_bad_options_by_name(kwargs, match):
    supply, demand = one_class_market([1.0], [1.0])
    with pytest.raises(ValueError, match=match):
        clear(supply, demand, **kwargs)


def test_clear_accepts_whole_float_rounds_and_numpy_scalars():
    supply, demand = one_class_market([1.0], [1.0])
    a = clear(supply, demand, tol=np.float64(1e-9), max_rounds=200.0)
    b = clear(supply, demand, tol=1e-9, max_rounds=np.int64(200))
    assert a.price.tolist() == b.price.tolist()


def _supply(**changes):
    kwargs = dict(provider=[0], region=[0], tier=[1], open_weights=[False], capacity=[1.0],
                  marginal_cost=[0.5], ask=[1.0], quality=[1.0])
    kwargs.update(changes)
    return SupplyBook(**kwargs)


@pytest.mark.parametrize(("field", "value", "match"), [
    ("quality", [5.0], r"quality: must lie in \(0, 1\]"), ("quality", [0.0], "quality"),
    ("quality", [-0.5], "quality"), ("ask", ["a"], "ask"), ("capacity", ["x"], "capacity"),
    ("ask", [None], "ask"), ("provider", ["p"], "provider"), ("ask", [0.0], "ask")])
def test_supply_book_names_the_bad_argument(field, value, match):
    with pytest.raises(ValueError, match=match):
        _supply(**{field: value})


def test_quality_of_exactly_one_is_allowed():
    assert _supply(quality=[1.0]).quality.tolist() == [1.0]
