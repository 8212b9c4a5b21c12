"""The compute-rental market for training runs."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from abm.economy.rental import clear_rental, lab_bids


def test_a_labs_bids_trace_a_unit_elastic_demand():
    prices, qty = lab_bids(1e6, reference=2.0, cap_multiple=3.0, hours=730.0)
    cumulative = np.cumsum(qty[::-1])[::-1]  # units bid at or above each rung
    assert_allclose(cumulative, 1e6 / (prices * 730.0))
    assert prices.max() == 6.0


def test_cheap_sites_rent_first_and_money_is_conserved():
    spare = np.array([1000.0, 1000.0, 1000.0])
    ask = np.array([3.0, 1.0, 2.0])
    res = clear_rental(spare, ask, np.zeros(3, int), np.array([1.5e6]), np.zeros(1, int),
                       cap_multiple=3.0, hours=730.0)
    assert res.site_h100e[1] == 1000.0  # the cheapest site rents out everything
    assert res.site_h100e[0] <= res.site_h100e[2]
    assert_allclose(res.site_income.sum(), res.lab_spend.sum())
    assert_allclose(res.lab_h100e.sum(), res.site_h100e.sum())
    # a lab spends about its budget (the bid ladder is a step approximation)
    assert 0.5e6 < res.lab_spend[0] <= 1.5e6 * 1.0001


def test_pools_are_separate_and_a_pool_without_sites_rents_nothing():
    spare = np.array([1000.0, 1000.0])
    ask = np.array([1.0, 1.0])
    res = clear_rental(spare, ask, np.array([0, 0]), np.array([1e5, 1e5]), np.array([0, 1]),
                       cap_multiple=3.0, hours=730.0)
    assert res.lab_h100e[1] == 0.0 and res.lab_h100e[0] > 0.0
    assert res.rented[1] == 0.0 and res.offered[1] == 0.0


def test_scarce_capacity_raises_the_rental_price():
    args = dict(ask=np.array([1.0]), site_pool=np.zeros(1, int), lab_pool=np.zeros(1, int),
                cap_multiple=3.0, hours=730.0)
    plenty = clear_rental(np.array([1e6]), budget=np.array([1e5]), **args)
    scarce = clear_rental(np.array([10.0]), budget=np.array([1e5]), **args)
    assert scarce.price[0] > plenty.price[0] == 1.0
