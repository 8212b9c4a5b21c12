"""The accounting identities of one clearing, checked on the result alone (no model needed).

Used by the clearing tests and by ``scripts/conservation_sweep.py``; the model's monthly
check (:mod:`abm.invariants`) applies the same identities with its own tolerance.
"""

from __future__ import annotations

import numpy as np

from abm.market.books import DemandBook, SupplyBook
from abm.market.clearing import ClearingResult


def _apart(a: float, b: float, rtol: float) -> bool:
    return not abs(a - b) <= rtol * max(abs(a), abs(b))


def violations(supply: SupplyBook, demand: DemandBook, result: ClearingResult,
               rtol: float = 1e-9) -> list[str]:
    """Names of the identities ``result`` breaks (an empty list when it keeps them all).

    Checked, each to ``rtol`` relative: tokens sold = tokens bought, in total and for every
    class (a small class cannot vanish into the rounding of a large one); money paid =
    money received (offer revenue plus tariffs); tokens sold <= capacity; spending <=
    budget; every price, quantity and payment finite and >= 0; price >= ask.
    """
    out = []
    arrays = {name: getattr(result, name) for name in (
        "price", "offer_tokens", "offer_revenue", "segment_tokens", "segment_spending",
        "segment_unserved", "class_offer_tokens", "tariff_revenue")}
    for name, arr in arrays.items():
        if not np.isfinite(arr).all():
            out.append(f"{name} finite")
        elif (arr < 0).any():
            out.append(f"{name} >= 0")
    if out:
        return out
    sold, bought = result.offer_tokens.sum(), result.segment_tokens.sum()
    if _apart(sold, bought, rtol):
        out.append("tokens sold = tokens bought")
    by_class = np.bincount(demand.segment_class, weights=result.segment_tokens,
                           minlength=demand.n_classes)
    class_sold = result.class_offer_tokens.sum(axis=1)
    if any(_apart(a, b, rtol) for a, b in zip(class_sold, by_class, strict=True)):
        out.append("tokens sold = tokens bought, per class")
    paid = result.segment_spending.sum()
    received = result.offer_revenue.sum() + result.tariff_revenue.sum()
    if _apart(paid, received, rtol):
        out.append("money paid = money received")
    if (result.offer_tokens > supply.capacity * (1 + rtol)).any():
        out.append("tokens sold <= capacity")
    if (result.segment_spending > demand.budget * (1 + rtol)).any():
        out.append("spending <= budget")
    if (result.price < supply.ask).any():
        out.append("price >= ask")
    return out
