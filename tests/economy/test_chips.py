"""The chip market: an upward-sloping vendor supply cleared under export controls."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from abm.economy.chips import PRICE_LADDER, clear_chip_market, supply_tranches

TIERS = np.array([1, 2, 3])


def market(**kw):
    args = dict(supply_h100e=1000.0, vendor_price=30_000.0, supply_elasticity=1.0,
                export_controls=True, tier2_cap_month=100.0, domestic_share=0.1,
                domestic_perf=0.5)
    args.update(kw)
    # the tier-3 buyer bids highest: without controls it is served first
    return clear_chip_market(np.array([800.0, 800.0, 800.0]),
                             np.array([40_000.0, 50_000.0, 60_000.0]),
                             np.array([0, 1, 2]), TIERS, **args)


def test_supply_tranches_add_up_to_the_supply_curve():
    for eta in (0.0, 0.5, 1.5):
        asks, qty = supply_tranches(1000.0, 30_000.0, eta)
        assert_allclose(asks, 30_000.0 * PRICE_LADDER)
        # the cumulative quantity offered at each rung is S_bar * (p / p_list) ** eta
        assert_allclose(np.cumsum(qty), 1000.0 * PRICE_LADDER ** eta)


def test_tier3_gets_no_controlled_chips_and_tier2_is_capped():
    res = market()
    assert res.h100e[1] <= 100.0 + 1e-9  # tier-2 cap
    # tier 3 buys only from the domestic pool: 10% of chips at half the performance
    domestic_max = 1000.0 * 0.1 * 0.5 * PRICE_LADDER[-1]
    assert 0 < res.h100e[2] <= domestic_max + 1e-9
    assert res.h100e[0] > 0


def test_a_cap_that_is_not_in_force_does_not_bind():
    capped = market()
    free = market(tier2_cap_month=None)
    assert free.h100e[1] > capped.h100e[1]


def test_without_export_controls_everyone_bids_in_one_pool():
    res = market(export_controls=False)
    assert np.isnan(res.price_domestic)
    # the highest bidder (tier 3) is served first
    assert res.h100e[2] == pytest.approx(800.0)


def test_higher_bids_raise_the_price_and_the_output():
    low = market(export_controls=False)
    high = clear_chip_market(np.full(3, 800.0), np.full(3, 200_000.0), np.arange(3), TIERS,
                             supply_h100e=1000.0, vendor_price=30_000.0, supply_elasticity=1.0,
                             export_controls=False, tier2_cap_month=None, domestic_share=0.1,
                             domestic_perf=0.5)
    assert high.price_controlled > low.price_controlled
    assert high.output_controlled > low.output_controlled


def test_money_matches_a_uniform_price():
    res = market()
    controlled = res.h100e[:2].sum()
    assert_allclose(res.spend[:2].sum(), controlled * res.price_controlled)
    assert_allclose(res.spend[2], res.h100e[2] * res.price_domestic)
