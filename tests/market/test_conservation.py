"""Conservation of tokens and money by the clearing core, at any magnitude (issue 9, kind 1)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from abm.market import clear
from abm.market.conservation import violations
from abm.market.synthetic import random_market, wide_market


def test_violations_is_empty_for_an_ordinary_book_and_names_a_broken_identity():
    rng = np.random.default_rng(3)
    supply, demand = random_market(rng, n_segments=40, n_offers=6, n_classes=4)
    res = clear(supply, demand)
    assert violations(supply, demand, res) == []
    lost = dataclasses.replace(res, segment_tokens=res.segment_tokens * 0.5)
    assert "tokens sold = tokens bought" in violations(supply, demand, lost)
    unpaid = dataclasses.replace(res, offer_revenue=res.offer_revenue * 2.0)
    assert "money paid = money received" in violations(supply, demand, unpaid)
    nan = dataclasses.replace(res, price=np.full_like(res.price, np.nan))
    assert violations(supply, demand, nan) == ["price finite"]


def test_wide_market_spans_the_orders_asked_for_and_refuses_bad_orders():
    supply, _ = wide_market(np.random.default_rng(0), 20.0, n_offers=25, n_classes=12)
    span = np.log10(supply.capacity.max() / supply.capacity.min())
    assert span > 10.0
    with pytest.raises(ValueError, match="orders"):
        wide_market(np.random.default_rng(0), -1.0)
    with pytest.raises(ValueError, match="orders"):
        wide_market(np.random.default_rng(0), float("nan"))
