"""The public names of :mod:`abm.market` (a contract: the package docstring points to them)."""

from __future__ import annotations

import importlib

import pytest

import abm.market

PUBLIC = {
    "TIERS": "abm.market.books",
    "SupplyBook": "abm.market.books",
    "DemandBook": "abm.market.books",
    "clear": "abm.market.clearing",
    "ClearingResult": "abm.market.clearing",
    "double_auction": "abm.market.auction",
    "AuctionResult": "abm.market.auction",
    "validate_book": "abm.market.auction",
    "naive_double_auction": "abm.market.reference",
    "offer_demand": "abm.market.clearing",
    "cournot": "abm.market.oligopoly",
    "CournotResult": "abm.market.oligopoly",
    "bertrand": "abm.market.oligopoly",
    "BertrandResult": "abm.market.oligopoly",
    "logit_shares": "abm.market.oligopoly",
    "logit_nash_bertrand": "abm.market.oligopoly",
    "LogitResult": "abm.market.oligopoly",
    "cowling_waterson_lerner": "abm.market.oligopoly",
}


def test_double_auction_imports_from_the_package():
    from abm.market import double_auction

    r = double_auction([10, 8, 6, 4], [1, 1, 1, 1], [3, 5, 7, 9], [1, 1, 1, 1])
    assert (r.volume, r.price) == (2.0, 6.5)


@pytest.mark.parametrize(("name", "module"), sorted(PUBLIC.items()))
def test_every_public_name_is_exported_and_is_the_module_object(name, module):
    assert name in abm.market.__all__
    assert getattr(abm.market, name) is getattr(importlib.import_module(module), name)


def test_all_lists_exactly_the_public_names():
    assert set(abm.market.__all__) == set(PUBLIC)
    star: dict = {}
    exec("from abm.market import *", star)  # what `import *` gives a user
    assert set(PUBLIC) <= set(star)
