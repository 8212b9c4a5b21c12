"""The matrix-free Newton-Krylov path (abm.market.krylov) for books with many binding offers.

* its Jacobian-vector product equals the assembled exact Jacobian
  (:func:`abm.market.clearing._jacobian_parts`), in float32 and float64, plain and nested
  logit, with tariffs and budget-capped classes;
* its preconditioner inverts the Jacobian's diagonal nest blocks;
* its step solves the Newton system;
* :func:`abm.market.clearing.clear` taking this path (thresholds lowered so a small book
  has "many" binding offers) reaches the equilibrium of the dense path, on random books and
  on the saved world month.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from numpy.testing import assert_allclose

from abm.market import clearing, krylov
from abm.market.clearing import _active_terms, _demand_at, _jacobian_parts, choice_terms
from abm.market.synthetic import random_market

NESTINGS = [(0.0, 0.0), (0.6, 0.6), (0.2, 0.8)]


def _binding(seed, nesting, n_offers=60, n_classes=30):
    rng = np.random.default_rng(seed)
    supply, demand = random_market(rng, n_segments=4 * n_classes, n_offers=n_offers,
                                   n_classes=n_classes, nesting=nesting, tightness=2.0)
    terms = choice_terms(supply, demand)
    rows, active = _active_terms(terms, demand)
    price = supply.ask * rng.uniform(1.0, 1.5, supply.n_offers)
    d = _demand_at(price, rows, active, demand)
    idx = np.flatnonzero(d.offer_demand > 0)
    return d, active, idx, rng


@pytest.mark.parametrize("single", [True, False])
@pytest.mark.parametrize("nesting", NESTINGS)
@pytest.mark.parametrize("seed", [0, 1])
def test_product_is_the_exact_jacobian(monkeypatch, seed, nesting, single):
    if not single:
        monkeypatch.setattr(krylov, "_SINGLE_RANGE", 0.0)
    d, active, idx, rng = _binding(seed, nesting)
    # a few classes buy nothing (left out of the operator: they add nothing to J)
    volume = d.class_volume.copy()
    volume[rng.choice(d.rows, 5, replace=False)] = 0.0
    d = replace(d, class_volume=volume)
    assert (d.capped_fraction > 0).any() and active.kernel.tariffed  # the cap terms run
    exact = _jacobian_parts(d, active, idx).dense()
    jac = krylov.krylov_jacobian(d, active, idx)
    assert jac.st.dtype == (np.float32 if single else np.float64)
    tol = 1e-6 if single else 1e-12
    assert_allclose(jac.dense(), exact, rtol=0, atol=tol * np.abs(exact).max())


@pytest.mark.parametrize("nesting", NESTINGS)
def test_preconditioner_inverts_the_diagonal_nest_blocks(nesting):
    d, active, idx, _ = _binding(2, nesting)
    exact = _jacobian_parts(d, active, idx).dense()
    nest = active.nest_of[idx]
    blocks = np.where(nest[:, None] == nest[None, :], exact, 0.0)
    jac = krylov.krylov_jacobian(d, active, idx)
    inverse = np.column_stack([jac.precondition(e) for e in np.eye(idx.size)])
    assert_allclose(inverse @ blocks, np.eye(idx.size), atol=1e-5)


@pytest.mark.parametrize("nesting", NESTINGS)
def test_step_solves_the_newton_system(nesting):
    d, active, idx, rng = _binding(3, nesting)
    rhs = rng.normal(0.0, 0.05, idx.size)
    exact = np.linalg.solve(_jacobian_parts(d, active, idx).dense(), rhs)
    step = krylov.newton_krylov_step(d, active, idx, rhs, rtol=1e-10)
    assert_allclose(step, exact, rtol=0, atol=1e-5 * np.abs(exact).max())
    loose = krylov.newton_krylov_step(d, active, idx, rhs)  # the default inexact solve
    assert_allclose(loose, exact, rtol=0, atol=1e-3 * np.abs(exact).max())


def test_a_vanishing_nest_share_gives_a_finite_operator():
    """A nest share of 1e-320 (subnormal) neither overflows the product nor the blocks."""
    d, active, idx, _ = _binding(4, (0.5, 0.7))
    g = int(active.nest_of[idx[0]])
    nest_share = d.nest_share.copy()
    nest_share[:, g] = 1e-320
    shares = d.shares.copy()
    shares[:, np.flatnonzero(active.nest_of == g)] = 0.0
    jac = krylov.krylov_jacobian(replace(d, nest_share=nest_share, shares=shares), active,
                                 idx)
    assert np.isfinite(jac.dense()).all()
    assert all(np.isfinite(b).all() for b in jac.blocks)


def _krylov_only(monkeypatch, calls):
    """Route every Newton step with more than one binding offer through the Krylov path."""
    monkeypatch.setattr(clearing, "_DENSE_NEWTON_MAX", 0)
    monkeypatch.setattr(clearing, "_DENSE_ASSEMBLY_MAX", 1)
    monkeypatch.setattr(clearing, "_WOODBURY_MAX_CLASSES", 1)
    original = krylov.newton_krylov_step

    def spy(*args, **kwargs):
        calls.append(args[2].size)
        return original(*args, **kwargs)

    monkeypatch.setattr(krylov, "newton_krylov_step", spy)


@pytest.mark.parametrize("nesting", [(0.0, 0.0), (0.5, 0.7)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clearing_by_krylov_reaches_the_dense_equilibrium(monkeypatch, seed, nesting):
    rng = np.random.default_rng(100 + seed)
    supply, demand = random_market(rng, n_segments=800, n_offers=150, n_classes=60,
                                   tightness=3.0, nesting=nesting)
    dense = clearing.clear(supply, demand, tol=1e-10)
    calls: list[int] = []
    _krylov_only(monkeypatch, calls)
    fast = clearing.clear(supply, demand, tol=1e-10)
    assert calls and max(calls) > 20  # the path ran, on many binding offers
    assert dense.converged and fast.converged
    assert_allclose(fast.price, dense.price, rtol=1e-8)
    assert_allclose(fast.offer_tokens, dense.offer_tokens, rtol=1e-8,
                    atol=1e-8 * supply.capacity.max())
    assert (fast.offer_tokens <= supply.capacity * (1 + 1e-12)).all()


def test_the_world_month_clears_by_krylov_to_the_same_prices(monkeypatch):
    """The saved world month (2,465 classes x 503 offers, most of them binding), cleared
    warm with every Newton step taken by the Krylov path, gives the dense path's prices
    within the month's tolerance."""
    from abm.bench.books import load_books

    supply, demand, warm, settings, _ = load_books()
    dense = clearing.clear(supply, demand, warm_start=warm, **settings)
    calls: list[int] = []
    _krylov_only(monkeypatch, calls)
    fast = clearing.clear(supply, demand, warm_start=warm, **settings)
    assert calls and max(calls) > 300
    assert dense.converged and fast.converged
    assert_allclose(fast.price, dense.price, rtol=20 * settings["tol"])
    assert_allclose(fast.offer_tokens, dense.offer_tokens, rtol=20 * settings["tol"],
                    atol=1e-9 * supply.capacity.max())


def test_the_inner_tolerance_tightens_near_the_equilibrium():
    """Loose (FORCING_MAX) while some offer's log excess demand exceeds FORCING_GAP, the
    tight GMRES_RTOL closer in; and the loose solve's residual meets it."""
    far = np.array([0.01, -2 * krylov.FORCING_GAP])
    near = np.array([0.01, -0.5 * krylov.FORCING_GAP])
    assert krylov.forcing_term(far) == krylov.FORCING_MAX
    assert krylov.forcing_term(near) == krylov.GMRES_RTOL < krylov.FORCING_MAX
    d, active, idx, rng = _binding(5, (0.5, 0.7))
    rhs = rng.normal(0.0, 1.0, idx.size)
    step = krylov.newton_krylov_step(d, active, idx, rhs)
    jac = _jacobian_parts(d, active, idx).dense()
    assert np.linalg.norm(jac @ step - rhs) <= 1.01 * krylov.FORCING_MAX * np.linalg.norm(rhs)
