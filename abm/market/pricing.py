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
    # over classes x offers), broadcast back to its offers.
    order = np.argsort(provider, kind="stable")
    sorted_p = provider[order]
    starts = np.flatnonzero(np.r_[True, sorted_p[1:] != sorted_p[:-1]])
    grouped = shares if (order[1:] > order[:-1]).all() else np.take(shares, order, axis=1)
    group_of = np.cumsum(np.r_[0, sorted_p[1:] != sorted_p[:-1]])[np.argsort(order)]
    by_firm = np.add.reduceat(grouped, starts, axis=1)  # (C, P)
    alpha = demand.choice_sensitivity
    eps = demand.elasticity
    volume = result.class_offer_tokens
    sold = volume.sum(axis=0) > 0
    if sold.all():
        weight = volume
    else:  # the unsold offers' columns from the shares (np.where's values, one column copy)
        weight = volume.copy()
        weight[:, ~sold] = shares[:, ~sold]
    total = weight.sum(axis=0)
    # sum_c weight (alpha (1 - S) + eps S) = alpha . weight + (eps - alpha) . (weight S):
    # S_f,c broadcast to the offers into one buffer, then weighted in place
    if grouped is shares:  # offers already grouped by provider: each firm's column repeated
        weighted_share = np.repeat(by_firm, np.diff(np.r_[starts, sorted_p.size]), axis=1)
    else:
        weighted_share = np.take(by_firm, group_of, axis=1)  # (C, O)
    np.multiply(weight, weighted_share, out=weighted_share)
    weighted = alpha @ weight + (eps - alpha) @ weighted_share
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
