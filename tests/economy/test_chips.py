"""The chip market under export controls (double auction per pool)."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from abm.economy.chips import clear_chip_market

TIERS = np.array([1, 2, 3])


def market(**kw):
    args = dict(supply_h100e=1000.0, vendor_price=30_000.0, export_controls=True,
                tier2_cap_month=100.0, domestic_share=0.1, domestic_perf=0.5)
    args.update(kw)
    # the tier-3 buyer bids highest: without controls it is served first
    return clear_chip_market(np.array([800.0, 800.0, 800.0]),
                             np.array([40_000.0, 50_000.0, 60_000.0]),
                             np.array([0, 1, 2]), TIERS, **args)


def test_tier3_gets_no_controlled_chips_and_tier2_is_capped():
    res = market()
    assert res.h100e[1] <= 100.0 + 1e-9  # tier-2 cap
    # tier 3 only from the domestic pool: 10% of chips at half performance = 50 H100e
    assert res.h100e[2] <= 1000.0 * 0.1 * 0.5 + 1e-9
    assert res.h100e[0] > 0
    assert res.h100e.sum() <= 1000.0 + 50.0 + 1e-9


def test_without_export_controls_everyone_bids_in_one_pool():
    res = market(export_controls=False)
    assert_allclose(res.h100e[2], 800.0)
    assert np.isnan(res.price_domestic)
    assert_allclose(res.h100e.sum(), 1000.0)


def test_money_matches_a_uniform_price():
    res = market()
    controlled = res.h100e[:2].sum()
    assert_allclose(res.spend[:2].sum(), controlled * res.price_controlled)
