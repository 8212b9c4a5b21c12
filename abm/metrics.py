"""Concentration and inequality metrics (pure NumPy).

Concentration (firm side): :func:`hhi` (0-10,000 scale), :func:`equivalent_firms`,
:func:`cr` (share in [0, 1]) and :func:`lerner` (price-cost margin); :func:`hhi_rows` and
:func:`cr_rows` give the HHI and CR-k of many markets at once (one row of firm sizes per
market), each row equal to :func:`hhi` / :func:`cr` of that row.

Inequality (household side): :func:`gini`, :func:`theil` (Theil T, with an optional
between/within decomposition), :func:`mld` (Theil L), :func:`atkinson`, :func:`palma`
and :func:`lorenz`.

Conventions
-----------
* Inputs may be lists or arrays. ``values`` and ``weights`` must be one-dimensional,
  non-empty, finite and non-negative, of real numbers (booleans, strings, datetimes,
  complex numbers, masked arrays and integers beyond float64 are refused); weights must
  not all be zero and must match ``values`` in length. Every violation raises
  ``ValueError`` whose message names the offending argument.
* ``weights`` are population weights (frequency weights): a weighted result equals the
  unweighted result on the data replicated by integer weights. Units with zero weight
  are ignored.
* Every index is computed on values (and weights) divided by a power of two that brings
  the largest below 1 (an exact scaling), so sums and squares do not overflow: results are
  finite for any finite input up to ``1.8e308`` and, on ordinary magnitudes, equal the
  unscaled arithmetic bit for bit.
* Inequality indices are scale invariant and are 0 for equal values. When all values
  (with positive weight) are zero there is nothing to distribute and the indices return
  NaN; likewise :func:`hhi` and :func:`cr` return NaN when there is no market.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from abm.market._validate import real_array

__all__ = [
    "TheilDecomposition",
    "atkinson",
    "cr",
    "cr_rows",
    "equivalent_firms",
    "gini",
    "hhi",
    "hhi_rows",
    "lerner",
    "lorenz",
    "mld",
    "palma",
    "theil",
]

_PALMA_BOTTOM = 0.4
_PALMA_TOP = 0.9


class TheilDecomposition(NamedTuple):
    """Theil T index split into between-group and within-group parts.

    Attributes
    ----------
    total : float
        Theil T of the whole population (equal to ``between + within``).
    between : float
        Theil T of the group means, weighted by group income shares.
    within : float
        Income-share weighted sum of the within-group Theil T indices.
    """

    total: float
    between: float
    within: float


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def _as_float_array(x: ArrayLike, name: str, *, allow_scalar: bool = False) -> np.ndarray:
    """Convert to a finite, non-empty float array (1-D unless ``allow_scalar``)."""
    arr = real_array(x, name)  # refuses strings, booleans, datetimes, ints beyond float64
    if allow_scalar:
        arr = np.atleast_1d(arr)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


_LN2 = math.log(2.0)


def _scale_exponent(a: np.ndarray) -> int:
    """The binary exponent ``e`` with ``max(|a|) < 2**e`` (0 for an all-zero array)."""
    top = float(np.max(np.abs(a))) if a.size else 0.0
    return math.frexp(top)[1] if top > 0.0 else 0


def _scaled(a: np.ndarray) -> np.ndarray:
    """``a / 2**e`` with ``max(|a|) < 2**e``: exact, and safe to sum and square."""
    return np.ldexp(a, -_scale_exponent(a))


def _nonneg_values(values: ArrayLike) -> np.ndarray:
    x = _as_float_array(values, "values")
    if np.any(x < 0):
        raise ValueError("values must be non-negative")
    return x


def _weights(weights: ArrayLike | None, n: int) -> np.ndarray | None:
    if weights is None:
        return None
    w = _as_float_array(weights, "weights")
    if w.size != n:
        raise ValueError(f"weights must have the same length as values ({w.size} != {n})")
    if np.any(w < 0):
        raise ValueError("weights must be non-negative")
    if not np.any(w > 0):
        raise ValueError("weights must not all be zero")
    return w


def _prepare(
    values: ArrayLike, weights: ArrayLike | None, *, positive: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(x, w)`` with zero-weight units dropped; ``w`` is all ones if unweighted.

    Both are scaled by powers of two (see :func:`_scaled`); every index using them is
    invariant to the scale of values and of weights.
    """
    x = _nonneg_values(values)
    w = _weights(weights, x.size)
    if w is None:
        w = np.ones_like(x)
    else:
        keep = w > 0
        x, w = x[keep], w[keep]
    if positive and np.any(x <= 0):
        raise ValueError("values must be strictly positive")
    return _scaled(x), _scaled(w)


def _shares(values: ArrayLike) -> np.ndarray | None:
    """Market shares in [0, 1]; ``None`` when the total is zero."""
    x = _scaled(_nonneg_values(values))
    total = x.sum()
    if total <= 0:
        return None
    return x / total


def _clip01(value: float) -> float:
    return float(min(max(value, 0.0), 1.0))


def _theil_terms(x: np.ndarray, w: np.ndarray, mean: np.ndarray | float) -> np.ndarray:
    """``w * x * log(x / mean)`` elementwise, with ``0 * log 0 = 0``."""
    positive = x > 0
    ratio = np.divide(x, mean, out=np.ones_like(x), where=positive)
    return w * x * np.log(ratio)


# ---------------------------------------------------------------------------
# concentration
# ---------------------------------------------------------------------------


def hhi(values: ArrayLike) -> float:
    """Herfindahl-Hirschman index.

    Parameters
    ----------
    values : array_like
        Non-negative firm sizes (revenues, tokens) or market shares; they are
        normalised to shares first.

    Returns
    -------
    float
        Sum of squared percentage shares, on 0-10,000 (N equal firms give
        10,000/N; a monopoly gives 10,000). NaN if all values are zero (no market).
    """
    s = _shares(values)
    if s is None:
        return float("nan")
    return float(min(10_000.0 * np.dot(s, s), 10_000.0))


def equivalent_firms(values: ArrayLike) -> float:
    """Numbers-equivalent of the HHI, ``10,000 / hhi(values)``.

    Parameters
    ----------
    values : array_like
        Non-negative firm sizes or shares.

    Returns
    -------
    float
        Number of equal-sized firms with the same HHI, in [1, N]. NaN if all
        values are zero.
    """
    return float(10_000.0 / hhi(values))


def cr(values: ArrayLike, k: int = 4) -> float:
    """k-firm concentration ratio.

    Parameters
    ----------
    values : array_like
        Non-negative firm sizes or shares.
    k : int, default 4
        Number of largest firms, ``k >= 1``.

    Returns
    -------
    float
        Combined share of the ``k`` largest firms, in [0, 1]; 1 if there are at
        most ``k`` firms. NaN if all values are zero.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    s = _shares(values)
    if s is None:
        return float("nan")
    if s.size <= k:
        return 1.0
    top = np.partition(s, s.size - k)[s.size - k :]
    return _clip01(top.sum())


def _row_shares(values: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validated (markets x firms) matrix as row shares, and which rows have a market.

    Each row is scaled by its own power of two and divided by its own total, exactly as
    :func:`_shares` treats it alone; rows with a zero total are left zero.
    """
    # C order: each row's sums then run over contiguous memory in the same order as hhi's and
    # cr's on that row alone (a Fortran-order array changed the last bits).
    x = np.ascontiguousarray(real_array(values, "values"))
    if x.ndim != 2:
        raise ValueError(f"values must be two-dimensional (markets x firms), got shape "
                         f"{x.shape}")
    if x.shape[1] == 0:
        raise ValueError("values must have at least one firm (column)")
    if not np.all(np.isfinite(x)):
        raise ValueError("values must be finite (no NaN or inf)")
    if np.any(x < 0):
        raise ValueError("values must be non-negative")
    top = np.max(np.abs(x), axis=1) if x.size else np.zeros(0)
    exponent = np.where(top > 0, np.frexp(top)[1], 0)
    x = np.ldexp(x, -exponent[:, None])
    total = x.sum(axis=1)
    market = total > 0
    shares = np.divide(x, total[:, None], out=np.zeros_like(x), where=market[:, None])
    return shares, market


def hhi_rows(values: ArrayLike) -> np.ndarray:
    """Herfindahl-Hirschman index of many markets at once.

    Parameters
    ----------
    values : array_like, (markets x firms)
        Non-negative firm sizes, one row per market (zero for a firm absent from it).

    Returns
    -------
    ndarray (markets,)
        ``hhi(values[i])`` for every row ``i``, bit for bit: 0-10,000, NaN for a row with
        no market (all zero).

    Raises
    ------
    ValueError
        If ``values`` is not a finite, non-negative, real 2-D array with at least one column.
    """
    s, market = _row_shares(values)
    squares = np.vecdot(s, s)  # one dot product per row, as hhi's np.dot
    return np.where(market, np.minimum(10_000.0 * squares, 10_000.0), np.nan)


def cr_rows(values: ArrayLike, k: int = 4) -> np.ndarray:
    """k-firm concentration ratio of many markets at once.

    Parameters
    ----------
    values : array_like, (markets x firms)
        Non-negative firm sizes, one row per market.
    k : int, default 4
        Number of largest firms, ``k >= 1``.

    Returns
    -------
    ndarray (markets,)
        ``cr(values[i], k)`` for every row ``i``, bit for bit: in [0, 1], 1 if there are at
        most ``k`` firms (columns), NaN for a row with no market.

    Raises
    ------
    ValueError
        If ``k`` is not a positive integer or ``values`` is not a finite, non-negative,
        real 2-D array with at least one column.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    s, market = _row_shares(values)
    n = s.shape[1]
    if n <= k:
        top = np.ones(s.shape[0])
    else:
        top = np.clip(np.partition(s, n - k, axis=1)[:, n - k:].sum(axis=1), 0.0, 1.0)
    return np.where(market, top, np.nan)


def lerner(price: ArrayLike, marginal_cost: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Lerner index (price-cost margin) ``(p - mc) / p``.

    Parameters
    ----------
    price : array_like
        Prices (scalar or 1-D), must be > 0 wherever the weight is positive.
    marginal_cost : array_like
        Marginal costs in the same units.  ``price`` and ``marginal_cost`` must have the
        same length; either may be a scalar, which is broadcast against the other.
    weights : array_like, optional
        Non-negative weights (e.g. tokens sold or market shares); entries with
        zero weight are ignored. With market-share weights this is the
        Cowling-Waterson industry margin.

    Returns
    -------
    float
        (Weighted) mean margin, a share of price: at most 1, negative when
        pricing below cost.

    Raises
    ------
    ValueError
        If an input is not real-numeric, not finite or not 1-D; if ``price`` and
        ``marginal_cost`` differ in length (a scalar is broadcast, a length-1 array is
        not); if ``weights`` differ in length, are negative or all zero; or if a price with
        positive weight is not > 0.
    """
    p = _as_float_array(price, "price", allow_scalar=True)
    mc = _as_float_array(marginal_cost, "marginal_cost", allow_scalar=True)
    scalar_p, scalar_mc = np.ndim(price) == 0, np.ndim(marginal_cost) == 0
    if p.size != mc.size and not (scalar_p or scalar_mc):
        # A length-1 array is not a scalar: broadcasting it would pair one cost with every
        # price (or one price with every cost) and hide a misaligned input.
        raise ValueError(
            f"price and marginal_cost must have the same length ({p.size} != {mc.size}); "
            f"only a scalar (not a length-1 array) is broadcast against the other"
        )
    p, mc = np.broadcast_arrays(p, mc)
    w = _weights(weights, p.size)
    if w is None:
        w = np.ones_like(p)
    else:
        keep = w > 0
        p, mc, w = p[keep], mc[keep], w[keep]
    if np.any(p <= 0):
        raise ValueError("price must be strictly positive (where weights are positive)")
    e = max(_scale_exponent(p), _scale_exponent(mc))  # one scale: margins are unchanged
    p, mc, w = np.ldexp(p, -e), np.ldexp(mc, -e), _scaled(w)
    margins = (p - mc) / p
    return float(np.dot(w, margins) / w.sum())


# ---------------------------------------------------------------------------
# inequality
# ---------------------------------------------------------------------------


def lorenz(values: ArrayLike, weights: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve.

    Parameters
    ----------
    values : array_like
        Non-negative values (incomes, surplus).
    weights : array_like, optional
        Population weights.

    Returns
    -------
    population_share, value_share : ndarray
        Cumulative population share and cumulative value share, both in [0, 1],
        starting at 0 and ending at 1 (units sorted by value). The curve is
        piecewise linear between these points.

    Raises
    ------
    ValueError
        Also if all values are zero (the curve is undefined).
    """
    x, w = _prepare(values, weights)
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cum_w = np.cumsum(w)
    cum_v = np.cumsum(w * x)
    if cum_v[-1] <= 0:
        raise ValueError("values must not all be zero (Lorenz curve undefined)")
    p = np.concatenate(([0.0], cum_w / cum_w[-1]))
    lz = np.concatenate(([0.0], cum_v / cum_v[-1]))
    return p, lz


def gini(values: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Gini coefficient (population form, no small-sample correction).

    Parameters
    ----------
    values : array_like
        Non-negative values.
    weights : array_like, optional
        Population weights; the result equals the unweighted Gini of the data
        replicated by integer weights.

    Returns
    -------
    float
        Gini in [0, 1): 0 for equal values. NaN if all values are zero.
    """
    x, w = _prepare(values, weights)
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cum_w = np.cumsum(w)
    total_w = cum_w[-1]
    total_v = np.dot(w, x)
    if total_v <= 0:
        return float("nan")
    # sum_ij w_i w_j |x_i - x_j| = 2 sum_i w_i x_i (C_{i-1} + C_i - W), C = cumulative weight
    rank_term = (cum_w - w) + cum_w - total_w
    return _clip01(np.dot(w * x, rank_term) / (total_w * total_v))


def theil(
    values: ArrayLike, weights: ArrayLike | None = None, groups: ArrayLike | None = None
) -> float | TheilDecomposition:
    """Theil T index (GE(1)), optionally decomposed by groups.

    Parameters
    ----------
    values : array_like
        Non-negative values; zeros use the convention ``0 * log 0 = 0``.
    weights : array_like, optional
        Population weights.
    groups : array_like, optional
        Group label of each unit (same length as ``values``).

    Returns
    -------
    float or TheilDecomposition
        Theil T in [0, log N] (0 for equal values; NaN if all values are zero).
        With ``groups``, a :class:`TheilDecomposition` with ``total = between +
        within``, where ``between`` is the Theil T of the group means and ``within``
        the income-share weighted sum of the group Theil T indices.
    """
    x = _nonneg_values(values)
    n = x.size
    w = _weights(weights, n)
    labels = None
    if groups is not None:
        labels = np.asarray(groups)
        if labels.ndim != 1:
            raise ValueError(f"groups must be one-dimensional, got shape {labels.shape}")
        if labels.size != n:
            raise ValueError(f"groups must have the same length as values ({labels.size} != {n})")
        if labels.dtype.kind in "fc" and not np.all(np.isfinite(labels)):
            raise ValueError("groups must not contain NaN or inf")
    if w is None:
        w = np.ones_like(x)
    else:
        keep = w > 0
        x, w = x[keep], w[keep]
        if labels is not None:
            labels = labels[keep]
    x, w = _scaled(x), _scaled(w)

    total_w = w.sum()
    total_v = np.dot(w, x)
    if total_v <= 0:
        nan = float("nan")
        return nan if labels is None else TheilDecomposition(nan, nan, nan)
    mean = total_v / total_w
    total = max(float(_theil_terms(x, w, mean).sum() / total_v), 0.0)
    if labels is None:
        return total

    try:
        _, inverse = np.unique(labels, return_inverse=True)
    except TypeError as exc:
        raise ValueError("groups labels must be mutually comparable") from exc
    inverse = inverse.ravel()
    group_w = np.bincount(inverse, weights=w)
    group_v = np.bincount(inverse, weights=w * x)
    group_mean = group_v / group_w
    group_share = group_v / total_v
    log_ratio = np.log(group_mean / mean, where=group_v > 0, out=np.zeros_like(group_mean))
    between = max(float(np.dot(group_share, log_ratio)), 0.0)
    within = max(float(_theil_terms(x, w, group_mean[inverse]).sum() / total_v), 0.0)
    return TheilDecomposition(total=total, between=between, within=within)


def mld(values: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Mean log deviation (Theil L, GE(0)).

    Parameters
    ----------
    values : array_like
        Strictly positive values (where the weight is positive).
    weights : array_like, optional
        Population weights.

    Returns
    -------
    float
        ``mean(log(mean / x))``, >= 0 (0 for equal values).
    """
    x, w = _prepare(values, weights, positive=True)
    total_w = w.sum()
    mean = np.dot(w, x) / total_w
    log_ratio = np.log(np.divide(mean, x, out=np.ones_like(x), where=x > 0))
    tiny = x == 0  # a positive value below the scaled range (a span beyond 2**1074)
    if tiny.any():
        original = np.asarray(values, dtype=float)
        if weights is not None:
            original = original[np.asarray(weights, dtype=float) > 0]
        e = _scale_exponent(original)
        log_ratio[tiny] = np.log(mean) - (np.log(original[tiny]) - e * _LN2)
    return max(float(np.dot(w, log_ratio) / total_w), 0.0)


def atkinson(values: ArrayLike, epsilon: float, weights: ArrayLike | None = None) -> float:
    """Atkinson index.

    Parameters
    ----------
    values : array_like
        Non-negative values.
    epsilon : float
        Inequality aversion, ``epsilon >= 0``; ``epsilon = 1`` uses the geometric mean.
    weights : array_like, optional
        Population weights.

    Returns
    -------
    float
        ``1 - equally_distributed_equivalent / mean``, in [0, 1] (0 for equal values).
        If some value is zero and ``epsilon >= 1`` the result is 1 (the limit).
        NaN if all values are zero.  For ``epsilon > 1`` the power mean is taken relative
        to the smallest value, so any finite ``epsilon`` works and a large one approaches
        the Rawlsian limit ``1 - min / mean``.

    Raises
    ------
    ValueError
        If ``epsilon`` is not a finite real number >= 0, or ``values``/``weights`` are
        invalid (see the module conventions); the message names the argument.
    """
    try:
        eps = float(epsilon)
    except (TypeError, ValueError) as exc:
        raise ValueError("epsilon must be a real number") from exc
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"epsilon must be finite and >= 0, got {epsilon!r}")
    x, w = _prepare(values, weights)
    total_w = w.sum()
    mean = np.dot(w, x) / total_w
    if mean <= 0:
        return float("nan")
    if eps == 0:
        return 0.0
    r = x / mean
    if eps >= 1 and np.any(r == 0):
        return 1.0
    if eps == 1:
        ede_ratio = np.exp(np.dot(w, np.log(r)) / total_w)
    elif eps > 1:
        # r**(1 - eps) overflows for large eps; factor out the smallest ratio m, so every
        # term (r / m)**(1 - eps) lies in (0, 1] and their mean in (0, 1] (the minimum's
        # own term is 1).  As eps -> inf this tends to m: the Rawlsian limit 1 - min/mean.
        m = float(r.min())
        with np.errstate(under="ignore"):
            power_mean = np.dot(w, (r / m) ** (1.0 - eps)) / total_w
        ede_ratio = m * math.exp(math.log(power_mean) / (1.0 - eps))
    else:
        ede_ratio = (np.dot(w, r ** (1.0 - eps)) / total_w) ** (1.0 / (1.0 - eps))
    return _clip01(1.0 - ede_ratio)


def palma(values: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Palma ratio: value share of the top 10% over that of the bottom 40%.

    Parameters
    ----------
    values : array_like
        Non-negative values.
    weights : array_like, optional
        Population weights.

    Returns
    -------
    float
        Ratio >= 0 (0.25 for equal values). Shares are read off the piecewise-linear
        (weighted) Lorenz curve, so a unit straddling the 40% or 90% population
        boundary is split. ``inf`` if the bottom 40% hold nothing; NaN if all
        values are zero.
    """
    x, w = _prepare(values, weights)
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cum_w = np.concatenate(([0.0], np.cumsum(w)))
    cum_v = np.concatenate(([0.0], np.cumsum(w * x)))
    total_w, total_v = cum_w[-1], cum_v[-1]
    if total_v <= 0:
        return float("nan")
    bottom, top_start = np.interp([_PALMA_BOTTOM * total_w, _PALMA_TOP * total_w], cum_w, cum_v)
    top = max(total_v - top_start, 0.0)
    if bottom <= 0:
        return float("inf")
    return float(top / bottom)
