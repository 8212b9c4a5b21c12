"""Matrix-free Newton-Krylov steps for clearings with many binding offers.

When more offers bind than the dense Jacobian is assembled for
(:data:`abm.market.clearing._DENSE_ASSEMBLY_MAX`, 1,200) and there are too many active
classes for the Woodbury identity, :func:`abm.market.clearing._newton_solve` hands the
Newton step to :func:`newton_krylov_step`: GMRES (Saad & Schultz 1986) on the exact
Jacobian of log offer demand in log prices, applied without ever forming it, with a
block-Jacobi preconditioner of the Jacobian's own diagonal nest blocks. This is an inexact
Newton method (Dembo, Eisenstat & Steihaug 1982; Knoll & Keyes 2004, "Jacobian-free
Newton-Krylov methods"): the inner solve stops at a relative residual of
:data:`GMRES_RTOL` and the outer rounds of :func:`abm.market.clearing.clear` correct the
rest, so the equilibrium reached is the one the other solvers reach (its test is in
float64 on the true demand).

The product uses the Jacobian's structure (see :func:`abm.market.clearing._jacobian_parts`,
whose ``U``, ``V``, ``W`` and ``own`` it reproduces): with ``S`` the (classes x binding
offers) choice shares, in nest order,

    J x = -own * x + U (V^T x) + N x,      U = diag(vol) S diag(1 / q) (as ``Ŝ``)

where ``V^T x`` needs ``S x`` (plus, for budget-capped classes, ``S (price * x)`` and the
per-nest sums ``Y[c, g] = sum_{o in g} S[c, o] x_o``) and the within-nest term ``N x`` is
``Ŝ^T`` of ``alpha (1 / rho - 1) Y / nest_share``, nest by nest. A product therefore reads
``S`` once forwards and ``Ŝ`` once backwards (two BLAS matrix-vector passes per nest),
where the finite-difference alternative would cost a whole demand evaluation. No Python loop
runs over classes, segments or offers; the loops are over nests (tens) and GMRES iterations.

In ordinary books (class volumes and offer demands within 1e-30..1e30) ``S`` and ``Ŝ`` are
held in float32, as the assembled Jacobian is for 200-1,200 binding offers: the operator is
then exact to ~1e-6 relative, well inside the inner tolerance. Edge books run in float64.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse.linalg import LinearOperator, gmres

# clearing imports this module inside _newton_solve, never at its top, so no cycle
from abm.market.clearing import _nest_sums

FloatArray = np.ndarray

#: Tightest relative residual at which the inner GMRES solve stops (inexact Newton).
GMRES_RTOL = 1e-4
#: GMRES's relative tolerance while the largest log excess demand exceeds FORCING_GAP.
FORCING_MAX = 1e-2
FORCING_GAP = 0.25
#: GMRES restart length and number of restarts.
GMRES_RESTART = 40
GMRES_MAXITER = 3
#: Float32 products while (largest class volume) / (smallest offer demand) stays below this:
#: a share lost to float32 underflow (< 1e-38) then moves ``U`` by under 1e-8.
_SINGLE_RANGE = 1e30
#: Classes per block of the gather-transpose of the shares (cache blocking).
_GATHER_BLOCK = 512


@dataclass(frozen=True)
class KrylovJacobian:
    """The Jacobian of log offer demand in log prices over ``idx``, as an operator.

    Offers are held in nest order: ``order`` sorts ``idx`` by nest and ``bounds`` gives the
    rows of ``st`` (the shares, transposed) of each nest with a binding offer, and its
    nest number. :meth:`matvec` and :meth:`precondition` take and return vectors in the
    order of ``idx``. ``J = -diag(own) + diag(1 / q) S^T diag(vol) (V^T + N)``; the weights
    below are per class (A,) or per class and nest (A, G), over the classes that buy
    anything (a class of zero volume adds nothing to ``J``).
    """

    idx: np.ndarray  # (B,) binding offers, original order
    order: np.ndarray  # (B,) positions of idx in nest order
    bounds: list  # [(start, stop, nest)] rows of st per nest
    st: FloatArray  # (B, A) shares S^T, nest order, float32 or float64
    vol: FloatArray  # (A,) class volumes
    inv_q: FloatArray  # (B,) 1 / offer demand, nest order
    own: FloatArray  # (B,) float64, nest order
    forward: FloatArray  # (A,) weight of S x in V^T x
    capped_rows: np.ndarray  # (R,) the budget-capped classes
    capped_paid: FloatArray | None  # (R,) weight of (S pi / m) x in V^T x
    s_paid: FloatArray | None  # (R, B) S pi / m: share of a capped class's spending
    nest_weight: FloatArray | None  # (A, G) weight of Y[:, g] in V^T x (capped classes)
    within: FloatArray | None  # (A, G) alpha (1 / rho - 1) / nest share (N's term)
    blocks: list = field(default_factory=list)  # inverse diagonal nest blocks of J

    @property
    def size(self) -> int:
        return int(self.idx.size)

    @property
    def _nests(self) -> list[int]:
        return [g for _, _, g in self.bounds]

    def _sorted_product(self, x: FloatArray) -> FloatArray:
        """``J x`` with ``x`` and the result in nest order."""
        st, dt = self.st, self.st.dtype
        xs = x.astype(dt)
        y = np.empty((st.shape[1], len(self.bounds)), dtype=dt)  # Y[:, g] = S_g x_g
        for k, (lo, hi, _) in enumerate(self.bounds):
            y[:, k] = xs[lo:hi] @ st[lo:hi]
        y64 = y.astype(np.float64)
        v = self.forward * y64.sum(axis=1)  # V^T x, (A,)
        if self.capped_paid is not None:
            v[self.capped_rows] += self.capped_paid * (self.s_paid @ xs)
        if self.nest_weight is not None:
            v += (self.nest_weight[:, self._nests] * y64).sum(axis=1)
        out = np.empty(x.size)
        if self.within is None:
            back = (self.vol * v).astype(dt)
            for lo, hi, _ in self.bounds:
                out[lo:hi] = st[lo:hi] @ back
        else:
            z = self.within[:, self._nests] * y64  # N's term, per class and nest
            z += v[:, None]
            z *= self.vol[:, None]
            back = z.astype(dt)
            for k, (lo, hi, _) in enumerate(self.bounds):
                out[lo:hi] = st[lo:hi] @ back[:, k]
        out *= self.inv_q
        out -= self.own * x
        return out

    def matvec(self, x: FloatArray) -> FloatArray:
        """``J x`` for ``x`` over ``idx`` (original order)."""
        x = np.ravel(x)
        out = np.empty(x.size)
        out[self.order] = self._sorted_product(x[self.order].astype(np.float64))
        return out

    def precondition(self, x: FloatArray) -> FloatArray:
        """The inverse nest blocks applied to ``x`` (original order)."""
        xs = np.ravel(x)[self.order]
        out = np.empty(xs.size)
        for (lo, hi, _), inv in zip(self.bounds, self.blocks, strict=True):
            out[lo:hi] = inv @ xs[lo:hi]
        result = np.empty_like(out)
        result[self.order] = out
        return result

    def dense(self) -> FloatArray:
        """``J`` itself (B, B) in the order of ``idx``, from :meth:`matvec` (for tests)."""
        return np.column_stack([self.matvec(e) for e in np.eye(self.size)])


def _gather_transposed(shares: FloatArray, rows: np.ndarray, cols: np.ndarray,
                       dtype) -> FloatArray:
    """``shares[rows][:, cols].T`` as a C-ordered ``dtype`` array, gathered in blocks of
    classes (each block's rows fit in cache while they are transposed)."""
    out = np.empty((cols.size, rows.size), dtype=dtype)
    for lo in range(0, rows.size, _GATHER_BLOCK):
        hi = min(lo + _GATHER_BLOCK, rows.size)
        out[:, lo:hi] = np.take(shares[rows[lo:hi]], cols, axis=1).T
    return out


def krylov_jacobian(d, terms, idx: np.ndarray) -> KrylovJacobian:
    """The Jacobian of log offer demand over the binding offers ``idx`` as an operator.

    ``d`` is a :class:`abm.market.clearing._Demand` at the current prices and ``terms`` the
    active classes' :class:`abm.market.clearing.ChoiceTerms`. Reproduces
    :func:`abm.market.clearing._jacobian_parts` (``-diag(own) + U V^T + N``, budget-capped
    volume included) without forming ``U V^T``; ``V``'s budget-cap term is
    ``-f [s (alpha - 1) + (1 - alpha / rho) s pi / m + alpha (1 / rho - 1) s_{o|g} M_g / m]``
    (:func:`abm.market.clearing._capped_correction`).
    """
    nest_b = terms.nest_of[idx]
    order = np.argsort(nest_b, kind="stable")
    sorted_nests = nest_b[order]
    cut = np.flatnonzero(sorted_nests[1:] != sorted_nests[:-1]) + 1
    bounds = [(int(a), int(b), int(sorted_nests[a]))
              for a, b in zip(np.r_[0, cut], np.r_[cut, idx.size], strict=True)]
    cols = idx[order]
    q = d.offer_demand[cols]
    vol = d.class_volume[d.rows]
    inv_q = 1.0 / np.where(q > 0, q, 1.0)
    own = (((terms.alpha[:, 0] / terms.rho[:, 0]) * vol) @ d.shares)[cols] * inv_q
    # Classes buying nothing add nothing to J (every term is scaled by their volume):
    # the operator holds the others only (the "classes" below).
    live = np.flatnonzero(vol > 0)
    vol = vol[live]
    alpha = terms.alpha[live, 0]
    rho = terms.rho[live, 0]
    capped = d.capped_fraction[d.rows[live]]
    eps_eff = terms.eps[live] * (1 - capped) + capped
    single = vol.max(initial=0.0) * inv_q.max(initial=0.0) < _SINGLE_RANGE
    dt = np.float32 if single else np.float64
    st = _gather_transposed(d.shares, live, cols, dt)
    forward = alpha - eps_eff
    nested = d.nest_share is not None
    within = None
    if nested:
        ns = d.nest_share[live]  # (A, G)
        with np.errstate(divide="ignore", over="ignore"):
            within = np.where(ns > 0, (alpha * (1.0 / rho - 1.0))[:, None] / ns, 0.0)
        within = np.where(np.isfinite(within), within, 0.0)
    capped_paid = s_paid = nest_weight = None
    capped_rows = np.flatnonzero(capped > 0)  # among the live classes
    if capped_rows.size and d.mean_paid is not None:
        at = live[capped_rows]  # the same classes among the active ones
        f = capped[capped_rows]
        m = d.mean_paid[at]
        inv_m = 1.0 / np.where(m > 0, m, 1.0)
        a_r, rho_r = alpha[capped_rows], rho[capped_rows]
        forward = forward.copy()
        forward[capped_rows] -= f * (a_r - 1.0)
        capped_paid = -f * (1.0 - a_r / rho_r)
        tariffed = terms.kernel.tariffed
        # S pi / m: each offer's share of the class's spending, in [0, 1] (scale-free)
        paid = d.price[cols] * (terms.tariff_factor[np.ix_(at, cols)] if tariffed else 1.0)
        shares_r = d.shares[at]
        with np.errstate(over="ignore", invalid="ignore"):
            s_paid = np.take(shares_r, cols, axis=1) * paid * inv_m[:, None]
        s_paid = np.where(np.isfinite(s_paid), s_paid, 0.0).astype(dt, copy=False)
        if nested:
            # the class's mean price paid within each nest over its mean price paid
            full_paid = d.price[None, :] * (terms.tariff_factor[at] if tariffed else 1.0)
            spent = _nest_sums(shares_r * full_paid, terms)
            held = _nest_sums(shares_r, terms)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ratio = np.where(held > 0, spent / held, 0.0) * inv_m[:, None]
                weight = -(f * a_r * (1.0 / rho_r - 1.0))[:, None] * ratio
            nest_weight = np.zeros((alpha.size, terms.starts.size))
            nest_weight[capped_rows] = np.where(np.isfinite(weight), weight, 0.0)
    jac = KrylovJacobian(idx, order, bounds, st, vol, inv_q, own, forward, capped_rows,
                         capped_paid, s_paid, nest_weight, within)
    jac.blocks.extend(_inverse_blocks(jac))
    return jac


def _inverse_blocks(jac: KrylovJacobian) -> list[FloatArray]:
    """Inverse of each nest's diagonal block of ``J`` (block Jacobi).

    The block of nest ``g`` is ``diag(1 / q_g) S_g^T diag(vol w_g) S_g - diag(own_g)``
    with ``w_g = forward + within[:, g] + nest_weight[:, g]``, plus the capped classes'
    ``diag(1 / q_g) S_g^T diag(vol capped_paid) (S pi / m)_g``: one (n_g x A) by
    (A x n_g) product per nest. A block that is singular or not finite falls back to its
    diagonal ``-own``.
    """
    st, dt = jac.st, jac.st.dtype
    capped_t = None if jac.capped_paid is None else st[:, jac.capped_rows]  # (B, R)
    capped_w = (None if jac.capped_paid is None
                else (jac.vol[jac.capped_rows] * jac.capped_paid).astype(dt))
    blocks = []
    for lo, hi, g in jac.bounds:
        w = jac.forward.copy()
        if jac.within is not None:
            w += jac.within[:, g]
        if jac.nest_weight is not None:
            w += jac.nest_weight[:, g]
        w *= jac.vol
        sg = st[lo:hi]
        block = ((sg * w.astype(dt)[None, :]) @ sg.T).astype(np.float64)
        if capped_t is not None:
            extra = (capped_t[lo:hi] * capped_w[None, :]) @ jac.s_paid[:, lo:hi]
            block += extra.astype(np.float64)
        block *= jac.inv_q[lo:hi, None]
        block[np.diag_indices_from(block)] -= jac.own[lo:hi]
        inv = None
        if np.isfinite(block).all():
            try:
                inv = np.linalg.inv(block)
            except np.linalg.LinAlgError:
                inv = None
        if inv is None or not np.isfinite(inv).all():
            inv = np.diag(-1.0 / np.maximum(jac.own[lo:hi], 1e-300))
        blocks.append(inv)
    return blocks


def forcing_term(rhs: FloatArray) -> float:
    """GMRES's relative tolerance for a Newton step on the residual ``-rhs``.

    Far from the equilibrium a loose inner solve is enough: the step is bounded and damped
    anyway, and the next round's residual is dominated by the nonlinearity, not by the
    inner solve (Eisenstat & Walker 1996, "Choosing the forcing terms in an inexact Newton
    method"). So GMRES stops at :data:`FORCING_MAX` while the largest log excess demand is
    above :data:`FORCING_GAP`, and at :data:`GMRES_RTOL` closer in, where the outer
    convergence must stay quadratic.
    """
    gap = float(np.abs(rhs).max(initial=0.0))
    return FORCING_MAX if gap > FORCING_GAP else GMRES_RTOL


def newton_krylov_step(d, terms, idx: np.ndarray, rhs: FloatArray, *,
                       rtol: float | None = None) -> FloatArray:
    """Solve ``J step = rhs`` over the binding offers ``idx`` by preconditioned GMRES.

    Parameters
    ----------
    d : abm.market.clearing._Demand
        Demand at the current prices.
    terms : abm.market.clearing.ChoiceTerms
        The active classes' choice terms.
    idx : (B,) int array
        The binding offers.
    rhs : (B,) float array
        Minus the log excess demand of those offers.
    rtol : float, optional
        GMRES's relative residual tolerance (inexact Newton); by default
        :func:`forcing_term` of ``rhs``.

    Returns
    -------
    (B,) float array
        The Newton step in log prices (non-finite entries are left to the caller's bound).
    """
    jac = krylov_jacobian(d, terms, idx)
    n = idx.size
    op = LinearOperator((n, n), matvec=jac.matvec, dtype=np.float64)
    precond = LinearOperator((n, n), matvec=jac.precondition, dtype=np.float64)
    rtol = forcing_term(rhs) if rtol is None else rtol
    sol, _ = gmres(op, rhs, M=precond, rtol=rtol, restart=GMRES_RESTART,
                   maxiter=GMRES_MAXITER)
    return sol
