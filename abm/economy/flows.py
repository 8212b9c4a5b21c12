"""Per-class sums over the clearing's (classes x offers) token flows, a block of classes at a
time.

At ``world`` size the flows are ~2,500 x 500 doubles (10 MB): a product with a mask or a
latency matrix written out whole, then summed, costs a pass through memory for each
temporary. Summing a block of classes whose temporaries fit in the cache gives the same
numbers bit for bit (each class's sum is the same pairwise sum over its own row of offers,
whichever rows are computed with it; tested against the whole-matrix expressions).
"""

from __future__ import annotations

import numpy as np

#: Elements per block of the (classes x offers) temporaries (1 MB of doubles).
BLOCK_ELEMENTS = 131_072


def _blocks(n_rows: int, n_cols: int):
    step = max(1, BLOCK_ELEMENTS // max(n_cols, 1))
    for lo in range(0, n_rows, step):
        yield lo, min(lo + step, n_rows)


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
    n_cls, n_off = flows.shape if flows.ndim == 2 else (-1, -1)
    if (n_cls, n_off) != (np.shape(class_nation)[0], np.shape(offer_nation)[0]):
        raise ValueError(f"flows: expected shape ({np.shape(class_nation)[0]}, "
                         f"{np.shape(offer_nation)[0]}) (classes x offers), got {flows.shape}")
    # 1 where an offer is foreign to a nation (N', O), gathered per class a block at a time
    nations = np.unique(class_nation)
    foreign_of = (offer_nation[None, :] != nations[:, None]).astype(float)
    row = np.searchsorted(nations, class_nation)
    tokens = np.empty(n_cls)
    foreign = _weighted(flows, row, foreign_of)
    for lo, hi in _blocks(n_cls, n_off):
        tokens[lo:hi] = flows[lo:hi].sum(axis=1)
    return tokens, foreign


def class_weighted(flows: np.ndarray, class_nation: np.ndarray,
                   by_nation: np.ndarray) -> np.ndarray:
    """Each class's flows weighted by a per-(nation, offer) quantity, summed over offers (C,):
    ``(flows * by_nation[class_nation]).sum(axis=1)``, the same bits, without the (C, O)
    gather (e.g. ``by_nation`` the latency from each nation to each offer, ms).

    Raises
    ------
    ValueError
        If ``flows`` (C, O), ``class_nation`` (C,) and ``by_nation`` (N, O) disagree.
    """
    flows = np.asarray(flows, dtype=float)
    by_nation = np.asarray(by_nation, dtype=float)
    if flows.ndim != 2 or by_nation.ndim != 2 or flows.shape[1] != by_nation.shape[1] \
            or flows.shape[0] != np.shape(class_nation)[0]:
        raise ValueError(f"flows {flows.shape}, class_nation {np.shape(class_nation)} and "
                         f"by_nation {by_nation.shape} must be (C, O), (C,) and (N, O)")
    return _weighted(flows, np.asarray(class_nation), by_nation)


def _weighted(flows: np.ndarray, row: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``(flows * table[row]).sum(axis=1)``: each block's rows of ``table`` gathered into one
    reused buffer and multiplied in place (x * w and w * x are the same double)."""
    out = np.empty(flows.shape[0])
    step = next(_blocks(*flows.shape))[1] if flows.shape[0] else 0
    buf = np.empty((step, flows.shape[1]))
    for lo, hi in _blocks(*flows.shape):
        part = buf[:hi - lo]
        np.take(table, row[lo:hi], axis=0, out=part)
        np.multiply(part, flows[lo:hi], out=part)
        out[lo:hi] = part.sum(axis=1)
    return out
