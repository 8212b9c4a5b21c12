"""Partial-adjustment demand: tokens grow into cheaper tokens (Houthakker and Taylor 1970)."""

from __future__ import annotations

import math

import numpy as np
from numpy.testing import assert_allclose

from abm.economy.demand import DemandAdjustment


def test_falling_prices_raise_demand_toward_its_long_run_response():
    adj = DemandAdjustment()
    tokens = np.array([1.0, 1.0])
    adj.update(np.array([1.0, 1.0]), tokens, 2, 0.2, 0.7, 0.1)
    assert adj.multiplier == 1.0
    for _ in range(400):  # prices halve once and stay there
        adj.update(np.array([0.5, 0.5]), tokens, 2, 0.2, 0.7, 0.1)
    assert_allclose(adj.log_price, math.log(0.5))
    assert_allclose(adj.multiplier, 0.5 ** -(0.7 - 0.2), rtol=1e-9)


def test_no_extra_response_when_long_and_short_run_agree():
    adj = DemandAdjustment()
    for p in (1.0, 0.5, 0.25):
        adj.update(np.array([p]), np.array([1.0]), 1, 0.3, 0.3, 0.2)
    assert adj.multiplier == 1.0


def test_classes_without_offers_or_tokens_are_left_out_of_the_index():
    adj = DemandAdjustment()
    adj.update(np.array([1.0, np.inf, 1.0]), np.array([1.0, 0.0, 1.0]), 3, 0.2, 0.7, 0.1)
    adj.update(np.array([0.5, np.inf, 2.0]), np.array([3.0, 0.0, 1.0]), 3, 0.2, 0.7, 0.1)
    assert_allclose(adj.log_price, (3 * math.log(0.5) + math.log(2.0)) / 4)
