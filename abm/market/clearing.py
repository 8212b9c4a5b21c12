"""The market-clearing core: prices and allocations of inference capacity for one month.

Each class of demand segments chooses among the offers it may buy by a multinomial logit on
log effective price (so the choice is scale-free across tiers whose prices differ 100-fold):

    effective_price[c, o] = price[o] * (1 + tariff on foreign tokens)      (money paid)
                            * exp(quality_cost[c] * max(0, threshold[c] - quality[o]))
                            * exp(latency_cost[c] * max(0, latency[c, o] - tolerance[c]))
    share[c, o]  ∝ exp(appeal[o]) * effective_price[c, o] ** -choice_sensitivity[c]

Both penalties scale with the price (a weaker model needs more retries and checking per
useful token; a slow one costs its user waiting time in proportion to the work bought), so
they keep their weight as token prices fall by orders of magnitude.

The class's inclusive price ``P_c`` is the CES/logit price index of those effective prices; a
segment buys ``reference_demand * P_c ** -elasticity`` M tokens/month unless that would cost
more than its budget, in which case it spends its budget. With log-price logit demand a
provider's own-price elasticity is ``alpha (1 - s) + elasticity * s``, so Nash-Bertrand
Lerner indices are ``1 / (alpha (1 - s) + elasticity s)`` (see :mod:`abm.market.pricing`).

Clearing: offers post asks; where demand at the ask exceeds capacity the price rises by a
scarcity premium until excess demand is zero (a damped Newton tatonnement over the binding
offers: logit demand is a gross-substitutes system). Any excess left after the bounded number
of rounds is rationed pro rata, so capacity is never exceeded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.sparse.linalg import LinearOperator

from abm.market import _validate
from abm.market.auction import double_auction
from abm.market.books import DemandBook, SupplyBook, _as_float, class_reference, class_volume

FloatArray = np.ndarray
#: Class volumes saturate at about exp(this) M tokens/month (see _demand_at).
_LOG_VOLUME_MAX = 690.0
#: Above exp(this) at the starting prices a class's demand is lifted (_lift_start).
_LOG_VIEW_MAX = 600.0


@dataclass(frozen=True)
class ClearingResult:
    """Prices and allocations of one clearing.

    All quantities in M tokens/month, prices in $/M tokens, money in $/month.

    Attributes
    ----------
    price : (O,) clearing price per offer: the ask where capacity is slack, ask plus a
        scarcity premium where it binds.
    scarcity_premium : (O,) ``price - ask``.
    offer_tokens : (O,) tokens sold per offer (<= capacity).
    offer_revenue : (O,) money received per offer.
    segment_tokens : (S,) tokens bought per segment.
    segment_spending : (S,) money paid per segment, tariffs included.
    segment_unserved : (S,) tokens the segment would buy at the asks with no budget cap,
        minus what it bought: priced out by budget or scarcity, or rationed.
    segment_unserved_budget : (S,) demand at the clearing prices that the budget cap removes.
    segment_latent : (S,) demand at the asks with no budget cap (saturated at the largest
        float64 where an ask of, say, 1e-300 makes it overflow).
    segment_demand : (S,) demand at the clearing prices within the budget; what it bought
        is this times the share of its offers' demand that capacity could serve, so
        ``segment_demand - segment_tokens`` is demand rationed by capacity (zero when the
        clearing converged).
    class_offer_tokens : (C, O) tokens each class buys from each offer.
    class_effective_price : (C,) inclusive (CES) effective price per class at clearing.
    class_shares : (C, O) logit choice shares at the clearing prices.
    tariff_revenue : (N,) tariff collected by each nation.
    excess_demand : (O,) demand minus capacity at the final prices before rationing.
    demand_at_ask : (O,) what each offer's buyers would take if every offer sold at its ask
        (no scarcity premia anywhere), M tokens/month.
    rounds : number of price-adjustment rounds used.
    converged : whether the equilibrium tolerance was met at the final prices: no offer's
        demand above its capacity and every offer priced above its ask selling its capacity,
        both to ``tol`` (else the residual was rationed; ``excess_demand`` shows it). Also
        false when the equilibrium price would take money beyond float64 (prices stop there).
    """

    price: FloatArray
    scarcity_premium: FloatArray
    offer_tokens: FloatArray
    offer_revenue: FloatArray
    segment_tokens: FloatArray
    segment_spending: FloatArray
    segment_unserved: FloatArray
    segment_unserved_budget: FloatArray
    segment_latent: FloatArray
    segment_demand: FloatArray
    class_offer_tokens: FloatArray
    class_effective_price: FloatArray
    class_shares: FloatArray
    tariff_revenue: FloatArray
    excess_demand: FloatArray
    demand_at_ask: FloatArray
    rounds: int
    converged: bool

    @property
    def tokens_total(self) -> float:
        return float(self.offer_tokens.sum())


@dataclass(frozen=True)
class ChoiceTerms:
    """Everything about a (supply, demand) pair that does not depend on prices.

    ``effective_price = price * price_factor`` for each (class, offer); the buyer pays
    ``price * tariff_factor``. The nests of the nested logit are held as a permutation that
    makes each nest's offers contiguous (``perm``, None when they already are), the start of
    each nest in that order (``starts``) and each offer's nest number (``nest_of``).
    """

    allowed: np.ndarray  # (C, O) bool
    tariff_factor: FloatArray  # (C, O) 1 + tariff where foreign
    price_factor: FloatArray  # (C, O) tariff x quality-shortfall x latency factors
    log_weight: FloatArray  # (C, O) appeal + home bias - alpha * log(price_factor), -inf
    alpha: FloatArray  # (C, 1)
    eps: FloatArray  # (C,)
    rho: FloatArray  # (C, 1) 1 - nesting parameter
    nest_of: np.ndarray  # (O,) nest number 0..G-1
    perm: np.ndarray | None  # (O,) offers sorted by nest, None if already sorted
    starts: np.ndarray  # (G,) first position of each nest in sorted order

    @property
    def nested(self) -> bool:
        return bool((self.rho < 1.0).any())

    def rows(self, rows: np.ndarray) -> ChoiceTerms:
        """The same terms restricted to the classes ``rows``."""
        return replace(self, allowed=self.allowed[rows], tariff_factor=self.tariff_factor[rows],
                       price_factor=self.price_factor[rows], log_weight=self.log_weight[rows],
                       alpha=self.alpha[rows], eps=self.eps[rows], rho=self.rho[rows])


def _nest_layout(nest: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Nest numbers 0..G-1 per offer, the sorting permutation (None if sorted), nest starts."""
    _, nest_of = np.unique(nest, return_inverse=True)
    perm = np.argsort(nest_of, kind="stable")
    sorted_nests = nest_of[perm]
    starts = np.flatnonzero(np.r_[True, sorted_nests[1:] != sorted_nests[:-1]])
    if np.array_equal(perm, np.arange(perm.size)):
        perm = None
    return nest_of, perm, starts


def choice_terms(supply: SupplyBook, demand: DemandBook) -> ChoiceTerms:
    n_reg = demand.region_nation.shape[0]
    if supply.region.size and supply.region.max() >= n_reg:
        raise ValueError(f"supply.region: index {supply.region.max()} outside the "
                         f"{n_reg} regions of demand.latency_matrix_ms")
    offer_nation = demand.region_nation[supply.region]  # (O,)
    cls_nation = demand.class_nation[:, None]  # (C, 1)
    foreign = offer_nation[None, :] != cls_nation
    allowed = ~(demand.localised[:, None] & foreign)
    allowed &= ~demand.open_weights_only[:, None] | supply.open_weights[None, :]
    tariff_factor = 1.0 + np.where(foreign, demand.tariff[demand.class_nation][:, None], 0.0)
    latency = demand.latency_matrix_ms[demand.class_nation][:, supply.region]
    latency = latency + supply.latency_ms[None, :]
    over = np.maximum(0.0, latency - demand.latency_tolerance_ms[:, None])
    shortfall = np.maximum(0.0, demand.quality_threshold[:, None] - supply.quality[None, :])
    log_penalty = (demand.quality_cost[:, None] * shortfall
                   + demand.latency_cost[:, None] * over)
    price_factor = tariff_factor * np.exp(log_penalty)
    alpha = demand.choice_sensitivity[:, None]
    weight = supply.appeal[None, :] - alpha * np.log(price_factor)
    if (demand.home_bias != 0).any():
        weight = weight + np.where(foreign, 0.0, demand.home_bias[:, None])
    log_weight = np.where(allowed, weight, -np.inf)
    nest_of, perm, starts = _nest_layout(supply.nest)
    return ChoiceTerms(allowed, tariff_factor, price_factor, log_weight, alpha,
                       demand.elasticity, 1.0 - demand.nesting[:, None], nest_of, perm, starts)


@dataclass(frozen=True)
class _Demand:
    rows: np.ndarray  # (A,) the active classes (positive reference demand)
    shares: FloatArray  # (A, O)
    paid: FloatArray  # (A, O) $/M tokens paid by the buyer (tariff included)
    log_price_index: FloatArray  # (C,), inf for classes with nothing to buy
    class_volume: FloatArray  # (C,)
    capped_fraction: FloatArray  # (C,)
    offer_demand: FloatArray  # (O,)
    nest_share: FloatArray | None  # (A, G) share of each nest (nested logit only)


def _active_terms(terms: ChoiceTerms, demand: DemandBook) -> tuple[np.ndarray, ChoiceTerms]:
    """Classes with positive reference demand, and the choice terms of those rows only.

    Classes that demand nothing (e.g. the localised half of a nation without localisation)
    are skipped in every price round.
    """
    total = np.bincount(demand.segment_class, weights=demand.reference_demand,
                        minlength=demand.n_classes)
    rows = np.flatnonzero(total > 0)
    if rows.size == demand.n_classes:
        return rows, terms
    return rows, terms.rows(rows)


def _nest_sums(values: FloatArray, terms: ChoiceTerms) -> FloatArray:
    """Sum of ``values`` (A, O) over the offers of each nest: (A, G)."""
    ordered = values if terms.perm is None else values[:, terms.perm]
    return np.add.reduceat(ordered, terms.starts, axis=1)


def _choice(util: FloatArray, terms: ChoiceTerms
            ) -> tuple[FloatArray, FloatArray, np.ndarray, FloatArray | None]:
    """Choice shares (A, O), inclusive value (A,), whether a class has any offer, nest shares.

    ``util`` is the systematic utility ``V`` (``-inf`` for offers a class may not buy).
    Nested logit (McFadden 1978; Berry 1994): with ``rho = 1 - sigma``, an offer's share is
    ``exp(V / rho) / D_g * D_g ** rho / sum_h D_h ** rho`` with ``D_g = sum_{j in g}
    exp(V_j / rho)``; the inclusive value is ``log sum_h D_h ** rho``. With ``rho = 1``
    this is the plain logit.
    """
    if not terms.nested:
        top = util.max(axis=1, keepdims=True)
        has_choice = np.isfinite(top[:, 0])
        top = np.where(np.isfinite(top), top, 0.0)
        expu = np.exp(util - top)
        total = expu.sum(axis=1, keepdims=True)
        shares = np.divide(expu, total, out=np.zeros_like(expu), where=total > 0)
        iv = np.log(np.where(total[:, 0] > 0, total[:, 0], 1.0)) + top[:, 0]
        return shares, iv, has_choice, None
    rho = terms.rho
    scaled = util / rho
    top = scaled.max(axis=1, keepdims=True)
    has_choice = np.isfinite(top[:, 0])
    top = np.where(np.isfinite(top), top, 0.0)
    expu = np.exp(scaled - top)
    inner = _nest_sums(expu, terms)  # (A, G), scaled by exp(-top)
    with np.errstate(divide="ignore"):
        log_inner = np.log(inner) + top  # -inf for nests with no admissible offer
    nest_u = rho * log_inner
    ntop = nest_u.max(axis=1, keepdims=True)
    ntop = np.where(np.isfinite(ntop), ntop, 0.0)
    nexp = np.exp(nest_u - ntop)
    ntotal = nexp.sum(axis=1, keepdims=True)
    nest_share = np.divide(nexp, ntotal, out=np.zeros_like(nexp), where=ntotal > 0)
    within = np.divide(expu, inner[:, terms.nest_of], out=np.zeros_like(expu),
                       where=inner[:, terms.nest_of] > 0)
    shares = within * nest_share[:, terms.nest_of]
    iv = np.log(np.where(ntotal[:, 0] > 0, ntotal[:, 0], 1.0)) + ntop[:, 0]
    return shares, iv, has_choice, nest_share


def _demand_at(price: FloatArray, rows: np.ndarray, terms: ChoiceTerms,
               demand: DemandBook) -> _Demand:
    """Demand at ``price`` for the active classes ``rows`` (``terms`` holds those rows)."""
    n_cls = demand.n_classes
    paid = price[None, :] * terms.tariff_factor
    util = terms.log_weight - terms.alpha * np.log(price)[None, :]
    shares, iv, has_choice, nest_share = _choice(util, terms)
    log_index = np.full(n_cls, np.inf)
    log_index[rows] = np.where(has_choice, -iv / terms.alpha[:, 0], np.inf)
    mean_paid = (shares * paid).sum(axis=1)
    volume_mult = np.zeros(n_cls)
    budget_mult = np.zeros(n_cls)
    # Saturated where a class would ask for more than ~1e300 M tokens (an ask of 1e-300):
    # beyond float64, and far beyond any capacity, so prices must rise either way.
    log_volume = np.minimum(-terms.eps * log_index[rows], _log_volume_ceiling(demand)[rows])
    volume_mult[rows] = np.where(has_choice, np.exp(log_volume), 0.0)
    budget_mult[rows] = np.where(has_choice,
                                 1.0 / np.where(mean_paid > 0, mean_paid, 1.0), 0.0)
    volume, capped = class_volume(demand, volume_mult, budget_mult)
    capped_fraction = np.divide(capped, volume, out=np.zeros_like(volume), where=volume > 0)
    offer_demand = np.minimum(volume[rows], _FLOAT_MAX) @ shares  # no inf * 0
    return _Demand(rows, shares, paid, log_index, volume, capped_fraction, offer_demand,
                   nest_share)


def _log_volume_ceiling(demand: DemandBook) -> FloatArray:
    """Highest log volume multiplier of each class (C,): its volume stays below ~1e300."""
    with np.errstate(divide="ignore"):
        return np.minimum(_LOG_VOLUME_MAX - np.log(class_reference(demand)), _LOG_VOLUME_MAX)


def _lift_start(log_price: FloatArray, ask: FloatArray, rows: np.ndarray, terms: ChoiceTerms,
                demand: DemandBook, cap: FloatArray) -> tuple[FloatArray, _Demand | None]:
    """Starting log prices from which the tatonnement can reach an equilibrium (issue 9).

    An ask of 1e-300 would ask for ~1e450 M tokens: beyond float64, where demand saturates
    (:func:`_demand_at`) and no longer tells the tatonnement how far prices must rise; and
    a price that must rise 1e200-fold would take 460 rounds of at most a factor e. The
    offers of each class that would ask for more than ``exp(_LOG_VIEW_MAX)`` M tokens, or
    ``exp(_FAR_LOG_GAP)`` times the market's whole capacity, start at least at the uniform
    price at which it would ask for that capacity (plain-logit price index: a starting
    point only). Returns the starting log prices and the demand at them, or ``log_price``
    itself (the same object) and the demand there when nothing is lifted, so ordinary
    books cost nothing extra.
    """
    price = np.maximum(np.exp(log_price), ask)
    d = _demand_at(price, rows, terms, demand)
    li = d.log_price_index[rows]
    with np.errstate(divide="ignore"):
        log_ref = np.log(class_reference(demand)[rows])
    log_volume = np.where(np.isfinite(li), log_ref - terms.eps * li, -np.inf)
    total = float(cap.sum())
    log_total = np.log(total) if 0.0 < total < np.inf else 0.0
    huge = log_volume > min(_LOG_VIEW_MAX, log_total + _FAR_LOG_GAP)
    if not huge.any():
        return log_price, d
    w = terms.log_weight[huge]
    top = w.max(axis=1, keepdims=True)
    lse = np.log(np.exp(w - top).sum(axis=1)) + top[:, 0]
    alpha = terms.alpha[huge, 0]
    floor = lse / alpha + (log_ref[huge] - log_total) / terms.eps[huge]  # (H,)
    buyable = np.isfinite(w)
    lifted = np.where(buyable, floor[:, None], -np.inf).max(axis=0)
    return np.maximum(log_price, lifted), None


@dataclass(frozen=True)
class _JacobianParts:
    """Factors of the Jacobian of log offer demand in log prices over binding offers ``idx``."""

    idx: np.ndarray  # (B,)
    u: FloatArray  # (B, A)
    v: FloatArray  # (B, A)
    own: FloatArray  # (B,)
    nest_b: np.ndarray | None  # (B,) nest numbers, nested logit only
    wn: FloatArray | None  # (A, B) within-nest block factor

    def dense(self) -> FloatArray:
        jac = self.u @ self.v.T
        if self.wn is not None:
            jac += (self.u @ self.wn) * (self.nest_b[:, None] == self.nest_b[None, :])
        jac[np.diag_indices_from(jac)] -= self.own
        return jac


def _jacobian_parts(d: _Demand, terms: ChoiceTerms, idx: np.ndarray) -> _JacobianParts:
    """The Jacobian of log offer demand in log prices, restricted to the offers ``idx``.

    It is ``-diag(own) + U V^T + N``, with ``U[o, c] = Q_c s_co / q_o``,
    ``V[o', c] = s_co' (alpha_c - eps_c)``, ``own[o] = sum_c U[o, c] alpha_c / rho_c`` and,
    for the nested logit, the within-nest block ``N[o, o'] = sum_c U[o, c] alpha_c
    (1 / rho_c - 1) s_{o'|g,c}`` for offers of the same nest (zero across nests).
    Budget-capped segments spend a fixed amount, so their volume is unit elastic.
    """
    q = d.offer_demand[idx]
    flow = d.class_volume[d.rows, None] * d.shares[:, idx]  # (A, B)
    u = (flow / np.where(q > 0, q, 1.0)).T  # (B, A)
    alpha = terms.alpha[:, 0]
    rho = terms.rho[:, 0]
    capped = d.capped_fraction[d.rows]
    eps_eff = terms.eps * (1 - capped) + capped
    own = u @ (alpha / rho)
    v = (d.shares[:, idx] * (alpha - eps_eff)[:, None]).T  # (B, A)
    if d.nest_share is None:
        return _JacobianParts(idx, u, v, own, None, None)
    nest_b = terms.nest_of[idx]
    ns = d.nest_share[:, nest_b]  # (A, B)
    within = np.divide(d.shares[:, idx], ns, out=np.zeros_like(ns), where=ns > 0)
    wn = within * (alpha * (1.0 / rho - 1.0))[:, None]
    return _JacobianParts(idx, u, v, own, nest_b, wn)


def _newton_step(d: _Demand, terms: ChoiceTerms, binding: np.ndarray,
                 residual: FloatArray) -> FloatArray:
    """Newton step in log prices for the binding offers (zero elsewhere).

    Small binding sets solve the Jacobian (:func:`_jacobian_parts`) densely; large ones
    matrix-free with GMRES (each product costs one pass over classes x binding offers).
    """
    idx = np.flatnonzero(binding)
    step = np.zeros_like(residual)
    if idx.size == 0:
        return step
    parts = _jacobian_parts(d, terms, idx)
    rhs = -residual[idx]
    if idx.size <= _DENSE_NEWTON_MAX:
        try:
            step[idx] = np.linalg.solve(parts.dense(), rhs)
            return step
        except np.linalg.LinAlgError:
            pass
    groups = _nest_groups(parts.nest_b if parts.wn is not None else terms.nest_of[idx])
    blocks = _nest_blocks(parts, groups)
    if parts.u.shape[1] <= _WOODBURY_MAX_CLASSES:
        solved = _woodbury_solve(parts, blocks, rhs)
        if solved is not None:
            step[idx] = solved
            return step
    from scipy.sparse.linalg import gmres

    n = idx.size
    u = np.ascontiguousarray(parts.u)
    vt = np.ascontiguousarray(parts.v.T)
    own = parts.own
    if parts.wn is not None:
        wn = parts.wn
        order, starts, group_of = groups

        def matvec(x):
            sums = np.add.reduceat((wn * x[None, :])[:, order], starts, axis=1)  # (A, Gb)
            block = np.einsum("ba,ab->b", u, sums[:, group_of])
            return -own * x + u @ (vt @ x) + block
    else:
        def matvec(x):
            return -own * x + u @ (vt @ x)
    jac_op = LinearOperator((n, n), matvec=matvec, dtype=float)
    precond = _block_jacobi(blocks, n)
    # Inexact Newton: a loose inner tolerance is enough, the outer loop corrects.
    sol, _ = gmres(jac_op, rhs, M=precond, rtol=1e-4, restart=40, maxiter=2)
    step[idx] = sol
    return step


def _nest_groups(nest_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binding offers grouped by nest: the sorting order, group starts, group of each offer."""
    order = np.argsort(nest_b, kind="stable")
    sorted_b = nest_b[order]
    change = sorted_b[1:] != sorted_b[:-1]
    starts = np.flatnonzero(np.r_[True, change])
    group_of = np.empty(nest_b.size, dtype=int)
    group_of[order] = np.cumsum(np.r_[0, change.astype(int)])
    return order, starts, group_of


def _nest_blocks(parts: _JacobianParts, groups) -> list[tuple[np.ndarray, np.ndarray]]:
    """The inverse of each nest's block ``-diag(own) + U_g W_g^T`` of the Jacobian without its
    across-class low-rank term ``U V^T``: (offers of the nest, inverse) pairs."""
    order, starts, _ = groups
    ends = np.r_[starts[1:], order.size]
    blocks = []
    for a, b in zip(starts, ends, strict=True):
        members = order[a:b]
        own = parts.own[members]
        if parts.wn is None:
            blocks.append((members, np.diag(-1.0 / np.maximum(own, 1e-300))))
            continue
        jac = parts.u[members] @ parts.wn[:, members]
        jac[np.diag_indices_from(jac)] -= own
        try:
            blocks.append((members, np.linalg.inv(jac)))
        except np.linalg.LinAlgError:
            blocks.append((members, np.diag(-1.0 / np.maximum(own, 1e-300))))
    return blocks


def _apply_blocks(blocks, x: FloatArray) -> FloatArray:
    out = np.empty_like(x)
    for members, inv in blocks:
        out[members] = inv @ x[members]
    return out


def _woodbury_solve(parts: _JacobianParts, blocks, rhs: FloatArray) -> FloatArray | None:
    """Exact Newton direction by the Sherman-Morrison-Woodbury identity.

    The Jacobian is ``M + U V^T`` with ``M`` block diagonal by nest (:func:`_nest_blocks`)
    and ``U V^T`` of rank at most the number of active classes ``A``, so
    ``J^-1 b = M^-1 b - M^-1 U (I + V^T M^-1 U)^-1 V^T M^-1 b`` costs one ``A x A`` solve.
    Returns None when that system is singular.
    """
    y = _apply_blocks(blocks, parts.u)  # (B, A) = M^-1 U
    z = _apply_blocks(blocks, rhs)  # M^-1 b
    k = parts.v.T @ y
    k[np.diag_indices_from(k)] += 1.0
    try:
        t = np.linalg.solve(k, parts.v.T @ z)
    except np.linalg.LinAlgError:
        return None
    return z - y @ t


def _block_jacobi(blocks, n: int) -> LinearOperator:
    """Preconditioner: the inverse of the Jacobian's within-nest diagonal blocks.

    Each provider's offers are close substitutes (the nested logit), so much of the
    Jacobian's weight sits in its nest blocks; inverting them exactly leaves GMRES the
    coupling across nests to resolve.
    """
    return LinearOperator((n, n), matvec=lambda x: _apply_blocks(blocks, x), dtype=float)


_DENSE_NEWTON_MAX = 150
#: Above this many active classes the Woodbury solve gives way to GMRES.
_WOODBURY_MAX_CLASSES = 800
_FLOAT_MAX = float(np.finfo(np.float64).max)
_VOLUME_FLOOR = 1e-290
#: A premium offer whose demand is below exp(-this) of its capacity halves its log premium.
_STALE_LOG_GAP = 30.0
#: A class asking for more than exp(this) times the market's capacity is lifted.
_FAR_LOG_GAP = 30.0


def clear(supply: SupplyBook, demand: DemandBook, warm_start: FloatArray | None = None, *,
          tol: float = 1e-9, max_rounds: int = 200,
          reservation_price: FloatArray | None = None) -> ClearingResult:
    """Clear one month of the inference market.

    Parameters
    ----------
    supply : SupplyBook
        Offers (capacity in M tokens/month, asks in $/M tokens).
    demand : DemandBook
        Segments, their classes and the geography.
    warm_start : (O,) array, optional
        Last month's clearing prices, $/M tokens; prices start from ``max(ask, warm_start)``.
    tol : float
        Equilibrium tolerance on relative excess demand of binding offers, in (0, 1).
    max_rounds : int
        Bound on price-adjustment rounds (a whole number >= 0); residual excess demand is
        then rationed.
    reservation_price : (S,) array, optional
        $/M tokens. Clear the book as a *step-demand* market instead of by logit: segment
        ``s`` buys its whole ``reference_demand[s]`` if the price it faces is at most
        ``reservation_price[s]`` (and the purchase fits its budget), else nothing. Solved
        exactly as a uniform-price double auction; only for homogeneous offers. See
        :func:`clear_step`.

    Returns
    -------
    ClearingResult

    Raises
    ------
    ValueError
        Naming the argument: ``tol`` outside (0, 1) or not a number, ``max_rounds`` not a
        whole number >= 0, ``warm_start`` or ``reservation_price`` of the wrong length or
        not finite, a supply region outside the demand's geography, an offer whose
        ``ask x capacity`` would take money beyond float64 (about 1e305 $/month).
    """
    tol = _validate.tolerance(tol, "tol")
    max_rounds = _validate.count(max_rounds, "max_rounds")
    if reservation_price is not None:
        if warm_start is not None:
            _check_warm_start(warm_start, supply.ask)
        return clear_step(supply, demand, reservation_price)
    _validate.money_fits(supply.ask, supply.capacity, demand.tariff)
    terms = choice_terms(supply, demand)
    rows, active = _active_terms(terms, demand)
    ask = supply.ask
    cap = supply.capacity
    # Prices saturate where money would leave float64 (the market is then rationed).
    log_ceiling = np.maximum(_validate.log_price_ceiling(cap, demand.tariff), np.log(ask))
    if (cap == 0).any():
        # An offer without capacity is not on the market this month.
        active = replace(active, log_weight=np.where(cap[None, :] == 0, -np.inf,
                                                     active.log_weight))
    log_ask = np.log(ask)
    if warm_start is None:
        log_price = log_ask.copy()
    else:
        warm = np.asarray(warm_start, dtype=np.float64)
        if warm.shape != ask.shape or not np.isfinite(warm).all():
            raise ValueError(f"warm_start: expected {ask.shape[0]} finite prices, got "
                             f"shape {warm.shape}")
        log_price = np.maximum(log_ask, np.log(np.maximum(warm, 1e-300)))
    log_price = np.minimum(log_price, log_ceiling)
    start, d = _lift_start(log_price, ask, rows, active, demand, cap)
    at_ask = None
    if warm_start is not None or start is not log_price:
        at_ask = _demand_at(ask, rows, active, demand)
    log_price = np.minimum(start, log_ceiling)
    rounds = 0
    converged = False
    damping, last_gap = 1.0, np.inf
    while True:
        price = np.maximum(np.exp(log_price), ask)
        if rounds > 0 or d is None:  # the first demand comes from _lift_start
            d = _demand_at(price, rows, active, demand)
        if rounds == 0 and at_ask is None:
            at_ask = d
        q = d.offer_demand
        with np.errstate(divide="ignore", invalid="ignore"):
            residual = np.log(q) - np.log(cap)  # +inf where cap == 0 and q > 0
        residual = np.nan_to_num(residual, nan=0.0)
        premium = log_price > log_ask + 1e-15
        over = q > cap * (1 + tol)
        off_target = premium & (np.abs(residual) > tol)
        if not (over.any() or off_target.any()):
            converged = True
            break
        if rounds >= max_rounds:
            break
        # A premium nobody pays (an overshoot far from the equilibrium) halves in log.
        stale = premium & (residual < -_STALE_LOG_GAP)
        binding = (premium | over) & (cap > 0) & (q > 0) & ~stale
        residual = np.where(binding, residual, 0.0)
        # Damp the Newton step while the largest excess demand is not shrinking.
        gap = float(np.abs(residual).max())
        damping = min(1.0, 2.0 * damping) if gap < last_gap else max(damping / 2.0, 1 / 16)
        last_gap = gap
        step = damping * _newton_step(d, active, binding, residual)
        step = np.clip(step, -1.0, 1.0)  # at most a factor e per round
        log_price = np.where(stale, 0.5 * (log_ask + log_price),
                             np.maximum(log_ask, np.minimum(log_price + step, log_ceiling)))
        rounds += 1

    excess = d.offer_demand - cap
    ration = np.divide(cap, d.offer_demand, out=np.ones_like(cap), where=d.offer_demand > cap)
    ration = np.minimum(ration, 1.0)
    n_cls = demand.n_classes
    shares = np.zeros((n_cls, supply.n_offers))
    shares[rows] = d.shares
    class_offer = np.zeros_like(shares)
    # A class buying under ~1e-290 M tokens has lost its digits to subnormal floats: it
    # buys nothing, on both sides of the book.
    live = d.class_volume >= _VOLUME_FLOOR
    class_offer[rows] = (np.where(live, d.class_volume, 0.0)[rows, None] * d.shares
                         * ration[None, :])
    offer_tokens = class_offer.sum(axis=0)
    offer_revenue = offer_tokens * price

    # Segment level: one pass over segments at the final prices.
    cls = demand.segment_class
    x_mult = np.exp(np.minimum(-terms.eps * d.log_price_index, _log_volume_ceiling(demand)))
    x_mult = np.where(np.isfinite(d.log_price_index), x_mult, 0.0)
    mean_paid = np.zeros(n_cls)
    served_frac = np.zeros(n_cls)
    paid_per_token = np.zeros(n_cls)
    mean_paid[rows] = (d.shares * d.paid).sum(axis=1)
    served = d.shares * ration[None, :]
    served_frac[rows] = np.where(live[rows], served.sum(axis=1), 0.0)
    # Price paid per token served, averaged with weights that sum to one (the product of
    # a tiny ration and a tiny price would lose its digits in subnormals).
    total = served_frac[rows, None]
    weight = np.divide(served, total, out=np.zeros_like(served), where=total > 0)
    paid_per_token[rows] = (weight * d.paid).sum(axis=1)
    uncapped = demand.reference_demand * x_mult[cls]
    with np.errstate(divide="ignore", invalid="ignore"):
        affordable = np.where(mean_paid[cls] > 0, demand.budget / mean_paid[cls], np.inf)
    wanted = np.minimum(uncapped, affordable)
    segment_tokens = wanted * served_frac[cls]
    segment_spending = segment_tokens * paid_per_token[cls]
    with np.errstate(over="ignore"):  # demand at an ask of 1e-300 may overflow: saturated
        latent_mult = np.exp(-terms.eps * at_ask.log_price_index)
    latent_mult = np.where(np.isfinite(at_ask.log_price_index), latent_mult, 0.0)
    segment_latent = np.minimum(demand.reference_demand * latent_mult[cls], _FLOAT_MAX)
    segment_unserved = np.maximum(segment_latent - segment_tokens, 0.0)
    segment_unserved_budget = np.maximum(uncapped - wanted, 0.0)

    tariff_paid = (class_offer * price[None, :] * (terms.tariff_factor - 1.0)).sum(axis=1)
    tariff_revenue = np.bincount(demand.class_nation, weights=tariff_paid,
                                 minlength=demand.tariff.shape[0])
    return ClearingResult(
        price=price, scarcity_premium=price - ask, offer_tokens=offer_tokens,
        offer_revenue=offer_revenue, segment_tokens=segment_tokens,
        segment_spending=segment_spending, segment_unserved=segment_unserved,
        segment_unserved_budget=segment_unserved_budget, segment_latent=segment_latent,
        segment_demand=wanted, class_offer_tokens=class_offer,
        class_effective_price=np.exp(d.log_price_index), class_shares=shares,
        tariff_revenue=tariff_revenue, excess_demand=excess,
        demand_at_ask=at_ask.offer_demand, rounds=rounds, converged=converged)


def offer_demand(supply: SupplyBook, demand: DemandBook,
                 price: FloatArray | None = None) -> FloatArray:
    """What each offer's buyers would take at ``price`` (default: the asks), M tokens/month.

    Capacity plays no part: this is demand, not a clearing. Used by sellers to split
    capacity across their offers before the market clears.

    Parameters
    ----------
    supply, demand : SupplyBook, DemandBook
    price : (O,) array, optional
        $/M tokens, > 0; the asks when omitted.

    Returns
    -------
    (O,) float array

    Raises
    ------
    ValueError
        If ``price`` is not a length-O array of finite positive numbers.
    """
    if price is None:
        price = supply.ask
    else:
        price = _as_float("price", price, supply.n_offers, positive=True)
    terms = choice_terms(supply, demand)
    rows, active = _active_terms(terms, demand)
    return _demand_at(np.asarray(price, dtype=float), rows, active, demand).offer_demand


# --------------------------------------------------------------------------- step demand


def _check_warm_start(warm_start, ask: FloatArray) -> None:
    warm = np.asarray(warm_start, dtype=np.float64)
    if warm.shape != ask.shape or not np.isfinite(warm).all():
        raise ValueError(f"warm_start: expected {ask.shape[0]} finite prices, got "
                         f"shape {warm.shape}")


def _heterogeneity(supply: SupplyBook, demand: DemandBook) -> list[str]:
    """What makes offers differ, for some class, in anything but their asks."""
    terms = choice_terms(supply, demand)
    problems = []
    if not terms.allowed.all():
        problems.append("localisation or open-weights-only exclusions")
    if (terms.tariff_factor != 1.0).any():
        problems.append("tariffs on foreign offers")
    if (terms.price_factor != terms.tariff_factor).any():
        problems.append("quality-shortfall or latency penalties")
    if (supply.appeal != supply.appeal[0]).any():
        problems.append("unequal appeal")
    if (demand.home_bias != 0).any():
        problems.append("home bias")
    return problems


def clear_step(supply: SupplyBook, demand: DemandBook,
               reservation_price: FloatArray) -> ClearingResult:
    """Clear a homogeneous book exactly with step (all-or-nothing) demand.

    Segment ``s`` buys its whole ``reference_demand[s]`` (M tokens/month) if the price it
    faces is at most its *bid* ``b_s = min(reservation_price[s], budget[s] /
    reference_demand[s])`` ($/M tokens; the budget term makes a segment that cannot afford
    its whole quantity buy nothing), else nothing. When offers differ only in their asks
    (every class may buy every offer, no tariffs, no latency or quality penalties, equal
    appeal), the competitive equilibrium is the uniform-price double auction of the
    segments (bids ``b_s``, quantity ``reference_demand``) against the offers (asks
    ``ask``, quantity ``capacity``), which maximises ``sum b_s x_s - sum ask_o y_o``.

    Result fields (``p`` is the uniform price: the *lowest* price of the auction's
    clearing interval, i.e. the minimal Walrasian price, which a tatonnement raising prices
    from the asks reaches; NaN-free: when nothing trades ``p`` is undefined and
    ``p_face`` below is the lowest ask):

    * ``price = max(ask, p)`` for every offer when anything trades, else ``ask``: every
      traded offer (ask <= p) gets ``p``, so the marginal, partially sold offer (whose ask
      equals ``p``) too; offers priced out keep their ask. ``scarcity_premium = price -
      ask``.
    * ``offer_tokens`` = ask fills, ``segment_tokens`` = bid fills (the marginal tie group
      is filled in input order); ``segment_spending = segment_tokens * p`` and
      ``offer_revenue = offer_tokens * price``, so money is conserved: every traded unit
      changes hands at ``p``.
    * ``class_offer_tokens[c, o]``: class ``c``'s tokens spread over offers pro rata to the
      offer fills; ``class_shares`` the same shares (rows of zeros when nothing trades);
      ``class_effective_price`` = ``p_face`` for every class (``p`` if anything trades,
      else the lowest ask).
    * ``segment_latent`` = ``reference_demand`` where ``reservation_price >= min(ask)``
      (demand at the asks, no budget cap), else 0; ``segment_unserved = latent - bought``
      (priced out by scarcity, or the unfilled part of a tied marginal segment, or the
      budget); ``segment_unserved_budget`` = the unserved part of segments whose budget
      lowers their bid (``b_s < reservation_price``) although their reservation price
      covers ``p_face``.
    * ``excess_demand = offer_tokens - capacity`` (the market clears exactly: zero where
      capacity binds, minus the spare capacity elsewhere); ``tariff_revenue`` zeros;
      ``rounds = 0``, ``converged = True``.

    Raises
    ------
    ValueError
        If ``reservation_price`` is not a length-S finite array >= 0, or the book is not
        homogeneous.
    """
    ref = demand.reference_demand
    r = _as_float("reservation_price", reservation_price, demand.n_segments)
    problems = _heterogeneity(supply, demand)
    if problems:
        raise ValueError(
            "reservation_price: step demand is cleared exactly only for homogeneous offers "
            "(no latency/quality penalties, tariffs or localisation); this book has "
            + ", ".join(problems) + ". Clear it with the logit core (no reservation_price).")
    ask = supply.ask
    cap = supply.capacity
    with np.errstate(divide="ignore", invalid="ignore"):
        affordable = np.where(ref > 0, demand.budget / np.where(ref > 0, ref, 1.0), np.inf)
    bid = np.minimum(r, affordable)
    auction = double_auction(bid, ref, ask, cap)
    traded = auction.volume > 0.0
    p_face = auction.price_low if traded else float(ask.min())

    segment_tokens = np.array(auction.bid_fill, dtype=np.float64)
    offer_tokens = np.array(auction.ask_fill, dtype=np.float64)
    price = np.maximum(ask, p_face) if traded else ask.copy()
    offer_revenue = offer_tokens * price
    segment_spending = segment_tokens * (p_face if traded else 0.0)

    n_cls = demand.n_classes
    class_tokens = np.bincount(demand.segment_class, weights=segment_tokens, minlength=n_cls)
    offer_share = offer_tokens / auction.volume if traded else np.zeros_like(offer_tokens)
    class_offer = class_tokens[:, None] * offer_share[None, :]
    class_shares = np.broadcast_to(offer_share, (n_cls, offer_share.shape[0])).copy()

    segment_latent = np.where(r >= ask.min(), ref, 0.0)
    segment_unserved = np.maximum(segment_latent - segment_tokens, 0.0)
    segment_unserved_budget = np.where((bid < r) & (r >= p_face), ref - segment_tokens, 0.0)
    return ClearingResult(
        price=price, scarcity_premium=price - ask, offer_tokens=offer_tokens,
        offer_revenue=offer_revenue, segment_tokens=segment_tokens,
        segment_spending=segment_spending, segment_unserved=segment_unserved,
        segment_unserved_budget=segment_unserved_budget, segment_latent=segment_latent,
        segment_demand=np.where(bid >= p_face, ref, 0.0) if traded else np.zeros_like(ref),
        class_offer_tokens=class_offer, class_effective_price=np.full(n_cls, p_face),
        class_shares=class_shares, tariff_revenue=np.zeros(demand.tariff.shape[0]),
        excess_demand=offer_tokens - cap, demand_at_ask=np.where(ask <= p_face, cap, 0.0)
        if traded else np.zeros_like(cap), rounds=0, converged=True)
