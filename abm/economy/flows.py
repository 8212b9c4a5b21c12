"""Per-class sums over the clearing's (classes x offers) token flows.

At ``world`` size the flows are ~2,500 x 500 doubles (10 MB). A per-(nation, offer) quantity
(a foreign-offer mask, the latency from each nation to each offer) is spread to the classes
with ``np.take`` (a row copy, ~5x faster than fancy indexing), weighted in place and summed:
each class's sum is the same pairwise sum over its own row of offers as the whole-matrix
expression's, so the same bits (tested).
"""

from __future__ import annotations

import numpy as np


def class_tokens(flows: np.ndarray, class_nation: np.ndarray, offer_nation: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Tokens each class buys (C,) and the part served from another nation (C,).

    Parameters
    ----------
    flows : float array (C, O)
        M tokens/month each class buys from each offer.
    class_nation : int array (C,)
        Nation of each class.
    offer_nation : int array (O,)
        Nation hosting each offer's region.

    Returns
    -------
    (tokens, foreign) : float arrays (C,)
        ``flows.sum(axis=1)`` and ``(flows * (offer_nation != class_nation[:, None]))
        .sum(axis=1)``, the same bits.

    Raises
    ------
    ValueError
        If ``flows`` is not (C, O) for the given ``class_nation`` and ``offer_nation``.
    """
    flows = np.asarray(flows, dtype=float)
    class_nation = np.asarray(class_nation)
    offer_nation = np.asarray(offer_nation)
    if flows.ndim != 2 or flows.shape != (class_nation.shape[0], offer_nation.shape[0]):
        raise ValueError(f"flows: expected shape ({class_nation.shape[0]}, "
                         f"{offer_nation.shape[0]}) (classes x offers), got {flows.shape}")
    # 1.0 where an offer is foreign to a nation, one row per nation that has a class
    nations, row = np.unique(class_nation, return_inverse=True)
    foreign_of = (offer_nation[None, :] != nations[:, None]).astype(float)
    return flows.sum(axis=1), _weighted(flows, row, foreign_of)


def class_weighted(flows: np.ndarray, class_nation: np.ndarray,
                   by_nation: np.ndarray) -> np.ndarray:
    """Each class's flows weighted by a per-(nation, offer) quantity, summed over offers (C,):
    ``(flows * by_nation[class_nation]).sum(axis=1)``, the same bits (e.g. ``by_nation`` the
    latency from each nation to each offer, ms).

    Raises
    ------
    ValueError
        If ``flows`` (C, O), ``class_nation`` (C,) and ``by_nation`` (N, O) disagree, or a
        class's nation has no row in ``by_nation``.
    """
    flows = np.asarray(flows, dtype=float)
    by_nation = np.asarray(by_nation, dtype=float)
    class_nation = np.asarray(class_nation)
    if flows.ndim != 2 or by_nation.ndim != 2 or flows.shape[1] != by_nation.shape[1] \
            or flows.shape[0] != class_nation.shape[0]:
        raise ValueError(f"flows {flows.shape}, class_nation {class_nation.shape} and "
                         f"by_nation {by_nation.shape} must be (C, O), (C,) and (N, O)")
    if class_nation.size and (class_nation.min() < 0
                              or class_nation.max() >= by_nation.shape[0]):
        raise ValueError(f"class_nation: indices must lie in [0, {by_nation.shape[0]}), got "
                         f"[{class_nation.min()}, {class_nation.max()}]")
    return _weighted(flows, class_nation, by_nation)


def _weighted(flows: np.ndarray, row: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``(flows * table[row]).sum(axis=1)``: the rows gathered with ``np.take`` and weighted in
    place (``x * w`` and ``w * x`` are the same double)."""
    spread = np.take(table, row, axis=0)
    np.multiply(spread, flows, out=spread)
    return spread.sum(axis=1)
