"""The market-clearing core: pure NumPy, no Mesa.

Public names (import them from ``abm.market``):

- the token market: :class:`SupplyBook`, :class:`DemandBook`, :data:`TIERS`, :func:`clear`
  and its :class:`ClearingResult`, and :func:`offer_demand` (demand at given prices);
- the uniform-price call market for chips and spot capacity: :func:`double_auction`, its
  :class:`AuctionResult` and :func:`validate_book`, with the loop-based reference
  :func:`naive_double_auction`;
- the textbook oligopoly benchmarks: :func:`cournot`, :func:`bertrand`,
  :func:`logit_shares`, :func:`logit_nash_bertrand`, :func:`cowling_waterson_lerner` and
  their result classes.
"""

from abm.market.auction import AuctionResult, double_auction, validate_book
from abm.market.books import TIERS, DemandBook, SupplyBook
from abm.market.clearing import ClearingResult, clear, offer_demand
from abm.market.oligopoly import (
    BertrandResult,
    CournotResult,
    LogitResult,
    bertrand,
    cournot,
    cowling_waterson_lerner,
    logit_nash_bertrand,
    logit_shares,
)
from abm.market.reference import naive_double_auction

__all__ = [
    "TIERS",
    "AuctionResult",
    "BertrandResult",
    "ClearingResult",
    "CournotResult",
    "DemandBook",
    "LogitResult",
    "SupplyBook",
    "bertrand",
    "clear",
    "cournot",
    "cowling_waterson_lerner",
    "double_auction",
    "logit_nash_bertrand",
    "logit_shares",
    "naive_double_auction",
    "offer_demand",
    "validate_book",
]
