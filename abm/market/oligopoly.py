"""Closed-form and fixed-point oligopoly benchmarks.

These are the textbook equilibria the agent-based inference market is compared against:

* :func:`cournot` -- quantity competition with linear inverse demand and asymmetric
  constant marginal costs (closed form, with exit of unprofitable firms);
* :func:`bertrand` -- price competition in a homogeneous good;
* :func:`logit_nash_bertrand` -- price competition with differentiated products and
  multinomial-logit demand, including multi-product owners (mergers);
* :func:`cowling_waterson_lerner` -- the Cowling-Waterson link between concentration and
  the share-weighted industry Lerner index.

Units
-----
Prices and marginal costs are in **$ per million tokens** (or $/chip); quantities in
**tokens per month** (or chips).  For linear demand ``P = a - b Q``, ``a`` is in price
units and ``b`` in price units per quantity unit.  In the logit model ``alpha`` is in
utils per ($/M tokens), qualities and the outside utility in utils, and profits are per
unit of market size (multiply by the number of potential buyers x tokens each).  HHI is
reported on the 0-10,000 scale; Lerner indices ``(P - c) / P`` are dimensionless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from abm.market._validate import real_vector

__all__ = [
    "BertrandResult",
    "CournotResult",
    "LogitResult",
    "bertrand",
    "cournot",
    "cowling_waterson_lerner",
    "logit_nash_bertrand",
    "logit_shares",
]

FloatArray = NDArray[np.float64]


# --------------------------------------------------------------------------- validation


def _finite_scalar(value: float, name: str, *, positive: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real number, got {value!r}") from exc
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x!r}")
    if positive and x <= 0.0:
        raise ValueError(f"{name} must be positive, got {x!r}")
    return x


def _hhi(quantities: FloatArray) -> float:
    """Herfindahl-Hirschman index on the 0-10,000 scale (NaN if nothing is sold)."""
    total = quantities.sum()
    if total <= 0.0:
        return float("nan")
    shares = quantities / total
    return float(10_000.0 * (shares @ shares))


# ------------------------------------------------------------------------------ Cournot


@dataclass(frozen=True, eq=False)
class CournotResult:
    """Cournot-Nash equilibrium with linear demand.

    Attributes
    ----------
    quantities : numpy.ndarray
        Equilibrium output of each firm (tokens/month), aligned with the input costs;
        0 for firms that stay out.
    price : float
        Market price ``a - b * sum(quantities)`` ($/M tokens).
    profits : numpy.ndarray
        ``(price - c_i) * q_i`` for each firm ($/month when prices are $/token).
    lerner : numpy.ndarray
        Each firm's price-cost margin ``(price - c_i) / price``.  For firms that stay out
        it is ``<= 0`` (they could not sell profitably at the equilibrium price).
    hhi : float
        Herfindahl-Hirschman index of output shares on the 0-10,000 scale; NaN when no
        firm produces.
    """

    quantities: FloatArray
    price: float
    profits: FloatArray
    lerner: FloatArray
    hhi: float

    @property
    def total_quantity(self) -> float:
        """Industry output ``Q`` (tokens/month)."""
        return float(self.quantities.sum())

    @property
    def shares(self) -> FloatArray:
        """Output shares (fractions summing to 1; NaN when nothing is produced)."""
        total = self.quantities.sum()
        if total <= 0.0:
            return np.full_like(self.quantities, np.nan)
        return self.quantities / total


def cournot(a: float, b: float, marginal_costs: ArrayLike) -> CournotResult:
    """Cournot equilibrium with inverse demand ``P = a - b Q`` and constant costs.

    Parameters
    ----------
    a : float
        Demand intercept (choke price), $/M tokens.  Must be positive.
    b : float
        Demand slope, ($/M tokens) per (token/month).  Must be positive.
    marginal_costs : array_like, shape (n_firms,)
        Constant marginal cost of each firm, $/M tokens.  Non-negative, at least one firm.

    Returns
    -------
    CournotResult

    Raises
    ------
    ValueError
        If ``a`` or ``b`` is not positive and finite, or ``marginal_costs`` is not a
        non-empty 1-D array of finite non-negative numbers.  The message names the
        argument.

    Notes
    -----
    With ``k`` active firms the interior solution is ``P = (a + sum_active c) / (k + 1)``
    and ``q_i = (P - c_i) / b``, i.e. ``q_i = (a - (k+1) c_i + sum c) / ((k+1) b)``.  A firm
    whose quantity would be negative stays out and the game is re-solved without it.  The
    active set is always the ``k`` cheapest firms, where ``k`` is the largest number such
    that the ``k``-th cheapest cost is below ``P_k = (a + C_k) / (k + 1)`` (``C_k`` the sum
    of the ``k`` lowest costs); the condition holds for a prefix of the sorted costs, so
    ``k`` is found with one cumulative sum and no loop.  A firm with cost exactly equal to
    the price produces 0.  If every cost is ``>= a`` nobody produces, ``price == a`` and
    ``hhi`` is NaN.

    Examples
    --------
    >>> r = cournot(100.0, 1.0, [10.0] * 4)
    >>> r.quantities.tolist(), r.price, r.profits.tolist(), r.hhi
    ([18.0, 18.0, 18.0, 18.0], 28.0, [324.0, 324.0, 324.0, 324.0], 2500.0)
    >>> r.lerner.round(6).tolist()
    [0.642857, 0.642857, 0.642857, 0.642857]
    """
    a = _finite_scalar(a, "a", positive=True)
    b = _finite_scalar(b, "b", positive=True)
    c = real_vector(marginal_costs, "marginal_costs", nonnegative=True, min_size=1)

    c_sorted = np.sort(c)
    k = np.arange(1, c.size + 1)
    p_k = (a + np.cumsum(c_sorted)) / (k + 1)
    n_active = int(np.count_nonzero(c_sorted < p_k))  # prefix property, see Notes
    price = float(p_k[n_active - 1]) if n_active else a

    quantities = np.maximum(price - c, 0.0) / b
    profits = np.where(quantities > 0.0, (price - c) * quantities, 0.0)
    lerner = (price - c) / price
    return CournotResult(
        quantities=quantities,
        price=price,
        profits=profits,
        lerner=lerner,
        hhi=_hhi(quantities),
    )


# ----------------------------------------------------------------------------- Bertrand


@dataclass(frozen=True, eq=False)
class BertrandResult:
    """Bertrand-Nash equilibrium in a homogeneous good.

    Attributes
    ----------
    price : float
        Market price, the second-lowest marginal cost ($/M tokens); equal to the common
        cost when the lowest cost is shared.
    winner : int
        Index of the lowest-cost firm (the first one, in input order, when tied).
    quantities_share : numpy.ndarray
        Share of market demand served by each firm: 1 for a unique lowest-cost firm, ``1/m``
        for each of ``m`` tied lowest-cost firms, 0 otherwise.
    """

    price: float
    winner: int
    quantities_share: FloatArray


def bertrand(marginal_costs: ArrayLike) -> BertrandResult:
    """Homogeneous-goods Bertrand equilibrium with constant marginal costs.

    Parameters
    ----------
    marginal_costs : array_like, shape (n_firms,)
        Constant marginal cost of each firm, $/M tokens.  Finite, non-negative, at least
        two firms.

    Returns
    -------
    BertrandResult

    Raises
    ------
    ValueError
        If ``marginal_costs`` is not 1-D, has fewer than two firms, or holds NaN/inf or
        negative values.

    Notes
    -----
    The lowest-cost firm serves the whole market at (the limit of prices just below) the
    second-lowest cost; with ``m >= 2`` firms tied at the lowest cost the price equals that
    cost and demand is split equally.  The limit-pricing convention assumes the
    second-lowest cost is below the low-cost firm's monopoly price.
    """
    c = real_vector(marginal_costs, "marginal_costs", nonnegative=True, min_size=2)
    two_lowest = np.partition(c, 1)[:2]
    lowest = float(two_lowest[0])
    tied = c == lowest
    share = tied / np.count_nonzero(tied)
    return BertrandResult(
        price=float(two_lowest[1]),
        winner=int(np.argmin(c)),
        quantities_share=share.astype(np.float64),
    )


# -------------------------------------------------------------------------------- logit


@dataclass(frozen=True, eq=False)
class LogitResult:
    """Nash-Bertrand equilibrium with multinomial-logit demand.

    Attributes
    ----------
    prices : numpy.ndarray
        Equilibrium price of each product, $/M tokens.
    shares : numpy.ndarray
        Market share of each product (fraction of potential buyers).
    outside_share : float
        Share choosing the outside option (not buying); ``shares.sum() + outside_share == 1``.
    lerner : numpy.ndarray
        Price-cost margin ``(p_j - c_j) / p_j`` of each product.
    iterations : int
        Fixed-point iterations used.
    """

    prices: FloatArray
    shares: FloatArray
    outside_share: float
    lerner: FloatArray
    iterations: int


def logit_shares(
    prices: ArrayLike, quality: ArrayLike, alpha: float, outside_utility: float = 0.0
) -> tuple[FloatArray, float]:
    """Multinomial-logit market shares.

    ``s_j = exp(q_j - alpha p_j) / (exp(outside_utility) + sum_k exp(q_k - alpha p_k))``,
    computed with a log-sum-exp shift so large utilities do not overflow.

    Parameters
    ----------
    prices : array_like, shape (n_products,)
        Prices, $/M tokens.
    quality : array_like, shape (n_products,)
        Mean utility of each product at zero price, utils.
    alpha : float
        Price sensitivity, utils per ($/M tokens); positive.
    outside_utility : float, optional
        Utility of not buying, utils.

    Returns
    -------
    shares : numpy.ndarray
        Inside shares.
    outside_share : float
        Share of the outside option.
    """
    p = np.asarray(prices, dtype=np.float64)
    v = np.asarray(quality, dtype=np.float64) - alpha * p
    shift = max(float(v.max(initial=-np.inf)), outside_utility)
    e = np.exp(v - shift)
    e0 = np.exp(outside_utility - shift)
    denom = e0 + e.sum()
    return e / denom, float(e0 / denom)


def logit_nash_bertrand(
    quality: ArrayLike,
    marginal_cost: ArrayLike,
    alpha: float,
    outside_utility: float = 0.0,
    owner: ArrayLike | None = None,
    tol: float = 1e-12,
    max_iter: int = 10_000,
    *,
    damping: float = 0.8,
) -> LogitResult:
    """Nash equilibrium in prices with multinomial-logit demand and multi-product owners.

    Parameters
    ----------
    quality : array_like, shape (n_products,)
        Mean utility ``q_j`` of each product at zero price, utils.
    marginal_cost : array_like, shape (n_products,)
        Constant marginal cost ``c_j``, $/M tokens; finite and non-negative.
    alpha : float
        Price sensitivity, utils per ($/M tokens); positive.
    outside_utility : float, optional
        Utility of the outside option (not buying), utils.  Default 0.
    owner : array_like, shape (n_products,), optional
        Owner label of each product (any sortable labels, e.g. ints).  Products with the
        same label are priced jointly to maximise the owner's total profit.  Default:
        every product has its own owner.
    tol : float, optional
        Convergence tolerance on the price update, relative to ``max(1, max |p|)``.
    max_iter : int, optional
        Maximum number of fixed-point iterations.
    damping : float, optional
        Step size ``lambda`` in ``(0, 1]`` of the damped update
        ``m <- (1 - lambda) m + lambda * T(m)``.  Keyword-only.

    Returns
    -------
    LogitResult

    Raises
    ------
    ValueError
        On bad input; the message names the argument.
    RuntimeError
        If the iteration has not converged after ``max_iter`` steps.

    Notes
    -----
    Demand is ``s_j = exp(q_j - alpha p_j) / (exp(u_0) + sum_k exp(q_k - alpha p_k))``.
    Owner ``f`` maximises ``sum_{j in f} (p_j - c_j) s_j``; the first-order conditions
    give the same markup for all of an owner's products,

        ``p_j - c_j = 1 / (alpha (1 - S_f))``,  ``S_f = sum_{k in f} s_k``,

    which for single-product owners is ``1 / (alpha (1 - s_j))``.  The equilibrium is
    computed by a damped fixed-point iteration on the markups ``m = p - c`` using the
    equivalent form (the zeta-markup equation of Morrow & Skerlos, 2011)

        ``m_j = 1 / alpha + sum_{k in f(j)} s_k m_k``,

    whose fixed points are exactly the solutions of the markup equation above (all of an
    owner's markups are equal, ``m_f = 1/alpha + S_f m_f``).  Unlike iterating
    ``1 / (alpha (1 - S_f))`` directly, this map has zero own-derivative at the solution
    and stays a contraction when shares are large.  Each step is vectorised over
    products (owner sums via :func:`numpy.bincount`).  Logit profits are quasi-concave in
    own price, so the FOC solution is the Nash equilibrium.

    Examples
    --------
    >>> r = logit_nash_bertrand([2.0, 2.0, 2.0], [1.0, 1.0, 1.0], alpha=1.0)
    >>> r.prices.round(5).tolist(), r.shares.round(5).tolist()
    ([2.29868, 2.29868, 2.29868], [0.22999, 0.22999, 0.22999])
    """
    q = real_vector(quality, "quality", min_size=1)
    c = real_vector(marginal_cost, "marginal_cost", nonnegative=True, min_size=1)
    if c.shape != q.shape:
        raise ValueError(
            f"marginal_cost must have the same length as quality, got {c.size} and {q.size}"
        )
    alpha = _finite_scalar(alpha, "alpha", positive=True)
    outside_utility = _finite_scalar(outside_utility, "outside_utility")
    tol = _finite_scalar(tol, "tol", positive=True)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    damping = _finite_scalar(damping, "damping", positive=True)
    if damping > 1.0:
        raise ValueError(f"damping must be in (0, 1], got {damping!r}")

    if owner is None:
        firm = np.arange(q.size)
    else:
        owner_arr = np.asarray(owner)
        if owner_arr.ndim != 1:
            raise ValueError(f"owner must be 1-D, got an array of shape {owner_arr.shape}")
        if owner_arr.shape != q.shape:
            raise ValueError(
                f"owner must have the same length as quality, got {owner_arr.size} and {q.size}"
            )
        _, firm = np.unique(owner_arr, return_inverse=True)
        firm = firm.reshape(-1)
    n_firms = int(firm.max()) + 1

    markup = np.full_like(q, 1.0 / alpha)  # the limit of small shares
    for iteration in range(1, max_iter + 1):
        s, _ = logit_shares(c + markup, q, alpha, outside_utility)
        owner_sum = np.bincount(firm, weights=s * markup, minlength=n_firms)[firm]
        target = 1.0 / alpha + owner_sum
        step = target - markup
        markup = markup + damping * step
        if np.max(np.abs(step)) <= tol * max(1.0, float(np.max(np.abs(c + markup)))):
            n_iter = iteration
            break
    else:
        raise RuntimeError(
            f"logit_nash_bertrand did not converge in {max_iter} iterations "
            f"(last step {np.max(np.abs(step)):.3e})"
        )

    prices = c + markup
    shares, outside_share = logit_shares(prices, q, alpha, outside_utility)
    return LogitResult(
        prices=prices,
        shares=shares,
        outside_share=outside_share,
        lerner=markup / prices,
        iterations=n_iter,
    )


# --------------------------------------------------------------------- Cowling-Waterson


def cowling_waterson_lerner(shares: ArrayLike, elasticity: float) -> float:
    """Share-weighted industry Lerner index implied by Cournot competition.

    In a Cournot equilibrium each firm's margin is ``(P - c_i) / P = s_i / eps``, so the
    share-weighted industry Lerner index is ``sum_i s_i^2 / eps = HHI / eps`` (Cowling and
    Waterson, 1976), with HHI as a fraction in ``[0, 1]``.

    Parameters
    ----------
    shares : array_like, shape (n_firms,)
        Market shares as fractions in ``[0, 1]`` summing to 1 (tolerance 1e-6).
    elasticity : float
        Magnitude of the market price elasticity of demand at the equilibrium,
        ``eps = -(dQ/dP)(P/Q) > 0`` (for linear demand ``P = a - bQ``: ``P / (b Q)``).

    Returns
    -------
    float
        ``sum(shares**2) / elasticity`` (dimensionless).

    Raises
    ------
    ValueError
        If ``shares`` is not a 1-D array of finite values in ``[0, 1]`` summing to 1, or
        ``elasticity`` is not positive and finite.
    """
    s = real_vector(shares, "shares", nonnegative=True, min_size=1)
    if (s > 1.0).any() or abs(float(s.sum()) - 1.0) > 1e-6:
        raise ValueError(
            "shares must be fractions in [0, 1] summing to 1 "
            f"(got sum {float(s.sum())!r}); pass shares, not percentages"
        )
    elasticity = _finite_scalar(elasticity, "elasticity", positive=True)
    return float(s @ s) / elasticity
