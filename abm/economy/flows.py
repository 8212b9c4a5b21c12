"""Per-class sums over the clearing's (classes x offers) token flows.

At ``world`` size the flows are ~2,500 x 500 doubles (10 MB). A per-(nation, offer) quantity
(a foreign-offer mask, the latency from each nation to each offer) weights each class's row
of flows by its nation's row. The demand book lists its user classes nation by nation, the
same number for every nation (:func:`abm.economy.exchange.build_demand`), so those classes
are one (nations x classes-per-nation x offers) stack and the weighting is one batched
matrix-vector product, reading the flows once with no (C, O) temporary (~3x faster at
``world`` size). Classes after that block (startups), or a book without it, are weighted
row by row: the nation rows spread with ``np.take``, multiplied in place and summed. Either
way the sums equal the whole-matrix expression to rounding (tested at 1e-13).
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
        ``flows.sum(axis=1)`` (its bits) and ``(flows * (offer_nation !=
        class_nation[:, None])).sum(axis=1)`` (to rounding, and never above ``tokens``).

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
    tokens = flows.sum(axis=1)
    # the part of a sum cannot exceed the sum, but two summation orders can differ by a
    # rounding: an all-foreign class would show a dependence ratio of 1 + 2e-16
    return tokens, np.minimum(_weighted(flows, row, foreign_of), tokens)


def class_weighted(flows: np.ndarray, class_nation: np.ndarray,
                   by_nation: np.ndarray) -> np.ndarray:
    """Each class's flows weighted by a per-(nation, offer) quantity, summed over offers (C,):
    ``(flows * by_nation[class_nation]).sum(axis=1)`` to rounding (e.g. ``by_nation`` the
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


def _nation_block(row: np.ndarray, n_rows: int) -> int:
    """Classes per table row in a leading nation-major block (``row`` starting
    ``0, 0, .., 1, 1, .., n_rows - 1``, each ``k`` times), or 0 if ``row`` does not start so."""
    if row.size == 0 or n_rows == 0 or row[0] != 0:
        return 0
    k = int(np.argmax(row != 0)) if (row != 0).any() else row.size
    head = n_rows * k
    if head > row.size or not np.array_equal(row[:head], np.repeat(np.arange(n_rows), k)):
        return 0
    return k


def _weighted(flows: np.ndarray, row: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``(flows * table[row]).sum(axis=1)`` to rounding: the leading nation-major block as a
    batched matrix-vector product, the rest gathered with ``np.take`` and weighted in place."""
    n_rows, n_off = table.shape
    k = _nation_block(row, n_rows)
    head = n_rows * k
    out = np.empty(flows.shape[0])
    if head:
        stack = np.ascontiguousarray(flows[:head]).reshape(n_rows, k, n_off)
        out[:head] = np.matmul(stack, np.ascontiguousarray(table)[:, :, None]).ravel()
    if head < flows.shape[0]:
        spread = np.take(table, row[head:], axis=0)
        np.multiply(spread, flows[head:], out=spread)
        out[head:] = spread.sum(axis=1)
    return out
