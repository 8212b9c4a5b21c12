"""Month-to-month warm start of the clearing (issue 12): last month's price/ask ratio per
(site, tier) is this month's starting point, offers matched by identity."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from abm.bench.books import load_books
from abm.economy.exchange import Offers, warm_start
from abm.market import clear


def _offers(site, tier):
    return Offers(site=np.asarray(site), tier=np.asarray(tier), compute=None, level=None,
                  marginal_cost=None, ask=None, serving_h100e=None)


def test_warm_start_maps_offers_by_site_and_tier_and_new_offers_start_cold():
    last = np.array([[1.5, np.nan, 1.0, 2.0],
                     [0.9, 1.2, np.nan, np.nan],
                     [np.nan, np.nan, np.nan, np.nan]])  # site 2 entered since
    offers = _offers([0, 0, 1, 1, 1, 2, 0], [0, 1, 0, 1, 2, 3, 3])
    ask = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0])
    start = warm_start(last, offers, ask)
    # ratio carried where the offer existed with a premium; the ask where it is new
    # (NaN: tier not served, site new) or sold at its ask (ratio <= 1)
    assert_allclose(start, [15.0, 20.0, 30.0, 48.0, 50.0, 60.0, 140.0])
    assert warm_start(None, offers, ask) is None


def test_warm_start_refuses_a_grid_of_the_wrong_shape():
    offers = _offers([0, 3], [0, 1])
    with pytest.raises(ValueError, match="last_ratio"):
        warm_start(np.ones((2, 4)), offers, np.ones(2))
    with pytest.raises(ValueError, match="last_ratio"):
        warm_start(np.ones((4, 3)), offers, np.ones(2))


def test_warm_start_refuses_negative_indices_and_a_misshapen_ask():
    """A negative site or tier would silently read another offer's ratio (numpy wraps it)."""
    grid = np.ones((4, 4))
    for site, tier in (([-1, 1], [0, 1]), ([0, 1], [0, -1]), ([0, 1], [0, 4])):
        with pytest.raises(ValueError, match="offers: site indices"):
            warm_start(grid, _offers(site, tier), np.ones(2))
    for ask in (np.ones(3), np.ones((2, 1)), np.ones((2, 4))):
        with pytest.raises(ValueError, match="ask: expected one price per offer"):
            warm_start(grid, _offers([0, 1], [0, 1]), ask)


def test_real_month_cleared_cold_and_warm_reaches_the_same_equilibrium():
    """The saved world month (2,465 classes x 503 nested offers) cleared from the asks and
    from a next-month warm start (last clearing's price/ask ratio on asks 3% lower, a few
    offers new): the same prices and allocations within the solver tolerance."""
    supply, demand, _, settings, _ = load_books()
    first = clear(supply, demand, tol=1e-11, max_rounds=settings["max_rounds"])
    assert first.converged
    ratio = first.price / supply.ask
    rng = np.random.default_rng(0)
    ask = supply.ask * rng.uniform(0.95, 1.0, supply.n_offers)
    nxt = type(supply)(**{**supply.__dict__, "ask": ask})
    new = rng.random(supply.n_offers) < 0.05  # offers not on last month's market
    start = np.where(new, ask, ask * ratio)
    cold = clear(nxt, demand, tol=1e-11, max_rounds=settings["max_rounds"])
    warm = clear(nxt, demand, warm_start=start, tol=1e-11, max_rounds=settings["max_rounds"])
    assert cold.converged and warm.converged
    assert_allclose(warm.price, cold.price, rtol=1e-9)
    assert_allclose(warm.offer_tokens, cold.offer_tokens, rtol=1e-9,
                    atol=1e-9 * cold.offer_tokens.max())
    assert_allclose(warm.class_offer_tokens, cold.class_offer_tokens, rtol=0,
                    atol=1e-9 * cold.class_offer_tokens.max())
