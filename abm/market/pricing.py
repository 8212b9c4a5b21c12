"""Nash-Bertrand pricing against the clearing core's log-price logit demand.

With shares ``s ∝ p ** -alpha`` and class volume ``∝ P ** -elasticity``, a firm that raises
all its prices in a class by 1% loses ``alpha (1 - S_f) + elasticity * S_f`` percent of its
volume there (``S_f``: its total share of the class); every penalty and tariff multiplies the
price, so the pass-through into the effective price is one. Its profit-maximising Lerner index
is the inverse of that elasticity: the multi-product logit markup ``1 / (alpha (1 - S_f))`` of
DESIGN.md, written in log prices.
"""

from __future__ import annotations

import numpy as np

from abm.market.books import DemandBook, SupplyBook
from abm.market.clearing import ClearingResult

FloatArray = np.ndarray


def own_price_elasticity(result: ClearingResult, supply: SupplyBook,
                         demand: DemandBook) -> FloatArray:
    """Volume-weighted elasticity of each offer's demand to its owner's prices (O,), > 0.

    Offers that sold nothing get the elasticity of the classes that could buy them, weighted
    by choice share; offers no class may buy get ``inf`` (no pricing power).
    """
    shares = result.class_shares  # (C, O)
    provider = supply.provider
    # S_f,c: each provider's total share of each class (offers grouped by provider, one pass
    # over classes x offers).
    order = np.argsort(provider, kind="stable")
    sorted_p = provider[order]
    starts = np.flatnonzero(np.r_[True, sorted_p[1:] != sorted_p[:-1]])
    in_place = bool((order[1:] > order[:-1]).all())
    grouped = shares if in_place else np.take(shares, order, axis=1)
    by_firm = np.add.reduceat(grouped, starts, axis=1)  # (C, P)
    alpha = demand.choice_sensitivity[:, None]
    # the elasticity of a firm's volume in each class, alpha (1 - S) + eps S (C, P): small,
    # so it is formed before it is spread to the offers
    firm_elasticity = alpha + (demand.elasticity[:, None] - alpha) * by_firm
    volume = result.class_offer_tokens
    total = volume.sum(axis=0)
    sold = total > 0
    if sold.all():
        weight = volume
    else:  # the unsold offers' columns from the shares (np.where's values, one column copy)
        weight = volume.copy()
        weight[:, ~sold] = shares[:, ~sold]
        total = weight.sum(axis=0)
    if in_place:  # offers already grouped by provider: each firm's column repeated
        spread = np.repeat(firm_elasticity, np.diff(np.r_[starts, sorted_p.size]), axis=1)
    else:
        group_of = np.cumsum(np.r_[0, sorted_p[1:] != sorted_p[:-1]])[np.argsort(order)]
        spread = np.take(firm_elasticity, group_of, axis=1)  # (C, O)
    # sum_c weight * elasticity, one pass and no product array
    weighted = np.einsum("co,co->o", weight, spread)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = weighted / total
    return np.where(total > 0, out, np.inf)


def nash_bertrand_price(result: ClearingResult, supply: SupplyBook, demand: DemandBook, *,
                        max_lerner: float = 0.95) -> FloatArray:
    """Best-response ask per offer, $/M tokens: ``mc / (1 - 1/elasticity)``.

    The Lerner index is capped at ``max_lerner`` where demand is inelastic (elasticity <= 1
    has no interior optimum).
    """
    if not 0.0 <= max_lerner < 1.0:
        raise ValueError(f"max_lerner: must lie in [0, 1), got {max_lerner}")
    e = own_price_elasticity(result, supply, demand)
    with np.errstate(divide="ignore"):
        lerner = np.where(e > 1.0, 1.0 / e, max_lerner)
    lerner = np.minimum(lerner, max_lerner)
    return supply.marginal_cost / (1.0 - lerner)
