"""The market-clearing core: pure NumPy, no Mesa. See :func:`clear` and :func:`double_auction`."""

from abm.market.books import TIERS, DemandBook, SupplyBook
from abm.market.clearing import ClearingResult, clear, offer_demand

__all__ = ["TIERS", "ClearingResult", "DemandBook", "SupplyBook", "clear", "offer_demand"]
