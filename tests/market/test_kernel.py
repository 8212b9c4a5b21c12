"""The fast paths of the clearing core give the numbers of the direct evaluation.

* :class:`abm.market.clearing._Kernel` (choice weights factorised as a fixed classes x offers
  matrix times one price vector per ``alpha / rho``) against :func:`_choice` (one ``exp``
  over classes x offers per round), with unsorted nests, tariffs, barred offers, few and
  many ``kappa`` values, and prices spread far enough that the factorised weights underflow;
* every Newton solver (dense, assembled dense with nest blocks, Woodbury, GMRES with the
  sparse nest blocks) against a dense solve of the assembled Jacobian.
"""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest
from numpy.testing import assert_allclose

from abm.market import clearing
from abm.market.clearing import (
    _active_terms,
    _choice,
    _demand_at,
    _jacobian_parts,
    _newton_step,
    choice_terms,
)
from abm.market.synthetic import random_market


def _direct(price, terms):
    util = terms.log_weight - terms.alpha * np.log(price)[None, :]
    return _choice(util, terms)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("nesting", [(0.0, 0.0), (0.3, 0.3), (0.0, 0.9)])
@pytest.mark.parametrize("uniform_alpha", [True, False])
def test_kernel_matches_direct_evaluation(seed, nesting, uniform_alpha):
    rng = np.random.default_rng(seed)
    sens = (4.0, 4.0) if uniform_alpha else (2.0, 6.0)
    supply, demand = random_market(rng, n_offers=25, n_classes=20, nesting=nesting,
                                   choice_sensitivity=sens, home_bias=(0.0, 1.0))
    terms = choice_terms(supply, demand)
    assert terms.perm is not None or nesting == (0.0, 0.0)  # providers are not sorted
    price = supply.ask * rng.uniform(1.0, 3.0, supply.n_offers)
    fast = terms.kernel.choice(price)
    slow = _direct(price, terms)
    assert_allclose(fast[0], slow[0], rtol=1e-10, atol=1e-14)  # shares
    assert_allclose(fast[1], slow[1], rtol=1e-10, atol=1e-10)  # inclusive values
    assert (fast[2] == slow[2]).all()
    if slow[3] is not None:
        assert_allclose(fast[3], slow[3], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("nesting", [(0.0, 0.0), (0.5, 0.5)])
def test_kernel_falls_back_where_its_weights_underflow(nesting):
    """Prices spread over 1e30 with alpha 20: the factorised weights of classes whose best
    offer is dear underflow, and those rows are evaluated directly."""
    rng = np.random.default_rng(11)
    supply, demand = random_market(rng, n_offers=12, n_classes=10, nesting=nesting,
                                   choice_sensitivity=(20.0, 20.0))
    terms = choice_terms(supply, demand)
    price = np.geomspace(1e-15, 1e15, supply.n_offers)
    # make the dearest offer the only one some classes may buy
    lw = terms.log_weight.copy()
    lw[:3, :-1] = -np.inf
    terms = clearing.replace(terms, log_weight=lw)
    fast = terms.kernel.choice(price)
    slow = _direct(price, terms)
    assert_allclose(fast[0], slow[0], rtol=1e-10, atol=1e-14)
    assert_allclose(fast[1], slow[1], rtol=1e-10)
    rows = np.flatnonzero(slow[2][:3])  # those that may buy it at all
    expu, _ = terms.kernel.expu(np.log(price))
    assert rows.size and (expu[rows] == 0.0).all()  # the factorised weights underflow
    assert_allclose(fast[0][rows, -1], 1.0)


def _by_nest(supply):
    """The same offers listed nest by nest (as the model lists them)."""
    order = np.argsort(supply.nest, kind="stable")
    return replace(supply, **{f.name: getattr(supply, f.name)[order] for f in fields(supply)
                              if getattr(supply, f.name) is not None})


def _binding_parts(seed, n_offers, n_classes, nesting, sort_nests=False):
    rng = np.random.default_rng(seed)
    supply, demand = random_market(rng, n_segments=4 * n_classes, n_offers=n_offers,
                                   n_classes=n_classes, nesting=nesting,
                                   choice_sensitivity=(3.0, 3.0))
    if sort_nests:
        supply = _by_nest(supply)
    terms = choice_terms(supply, demand)
    rows, active = _active_terms(terms, demand)
    price = supply.ask * rng.uniform(1.0, 1.5, supply.n_offers)
    d = _demand_at(price, rows, active, demand)
    binding = d.offer_demand > 0
    residual = np.where(binding, rng.normal(0, 0.05, supply.n_offers), 0.0)
    return d, active, binding, residual


@pytest.mark.parametrize("sort_nests", [False, True])
@pytest.mark.parametrize("nesting", [(0.0, 0.0), (0.6, 0.6)])
@pytest.mark.parametrize("solver", ["dense", "assembled", "single", "woodbury", "gmres"])
def test_every_newton_solver_solves_the_jacobian(monkeypatch, nesting, solver, sort_nests):
    d, active, binding, residual = _binding_parts(5, 60, 30, nesting, sort_nests)
    idx = np.flatnonzero(binding)
    exact = np.linalg.solve(_jacobian_parts(d, active, idx).dense(), -residual[idx])
    limits = {"dense": (1000, 1000, 0), "assembled": (0, 1000, 0), "single": (0, 1000, 0),
              "woodbury": (0, 0, 1000), "gmres": (0, 0, 0)}[solver]
    monkeypatch.setattr(clearing, "_DENSE_NEWTON_MAX", limits[0])
    monkeypatch.setattr(clearing, "_DENSE_ASSEMBLY_MAX", limits[1])
    monkeypatch.setattr(clearing, "_WOODBURY_MAX_CLASSES", limits[2])
    monkeypatch.setattr(clearing, "_SINGLE_PRECISION_MIN", 0 if solver == "single" else 10**9)
    step = _newton_step(d, active, binding, residual)
    assert (step[~binding] == 0).all()
    # GMRES is an inexact inner solve (relative residual 1e-4) and the single-precision
    # Jacobian exact to ~1e-6: the outer loop corrects both
    tol = {"gmres": 1e-3, "single": 1e-4}.get(solver, 1e-8)
    assert_allclose(step[idx], exact, rtol=tol, atol=tol * np.abs(exact).max())


def test_choice_terms_are_reused_only_for_equal_inputs():
    """``offer_demand`` then ``clear`` on the same books share their choice terms; a book
    changed in place is recomputed, never served from the cache."""
    rng = np.random.default_rng(4)
    supply, demand = random_market(rng, nesting=(0.2, 0.6), home_bias=(0.0, 1.0))
    first = clearing.offer_demand(supply, demand)
    assert clearing._cached_choice_terms(supply, demand) is clearing._terms_cache[0][1]
    res = clearing.clear(supply, demand)
    demand.latency_cost[:] *= 3.0  # in place: the same objects, other numbers
    supply.quality[:] *= 0.9
    changed = clearing.clear(supply, demand)
    clearing._terms_cache.clear()
    fresh = clearing.clear(supply, demand)
    assert_allclose(changed.price, fresh.price, rtol=0, atol=0)
    assert_allclose(changed.class_shares, fresh.class_shares, rtol=0, atol=0)
    assert not np.allclose(changed.class_shares, res.class_shares)
    assert_allclose(clearing.offer_demand(supply, demand), clearing.offer_demand(
        supply, demand))
    assert first.shape == (supply.n_offers,)


@pytest.mark.parametrize("seed", range(4))
def test_listing_offers_nest_by_nest_gives_the_same_equilibrium(seed):
    rng = np.random.default_rng(seed)
    supply, demand = random_market(rng, n_offers=40, n_classes=30, tightness=2.0,
                                   nesting=(0.3, 0.7))
    order = np.argsort(supply.nest, kind="stable")
    a = clearing.clear(supply, demand, tol=1e-10, max_rounds=300)
    b = clearing.clear(_by_nest(supply), demand, tol=1e-10, max_rounds=300)
    assert a.converged and b.converged
    assert_allclose(b.price, a.price[order], rtol=1e-7)
    assert_allclose(b.offer_tokens, a.offer_tokens[order], rtol=1e-7, atol=1e-9)
    assert_allclose(b.segment_tokens, a.segment_tokens, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("shift", [21.9, 22.1, 22.2])
@pytest.mark.parametrize("fast", [True, False])
def test_nests_with_vanishing_sums_give_finite_shares(fast, shift):
    """A nest whose offers are ~740 log units worse (in exp(V / rho), rho = 0.03) than the
    best: its nest sum is subnormal while its nest share is ~1e-10, so (nest share / nest
    sum) overflows; shares stay finite and sum to 1, and the kernel agrees with the direct
    evaluation."""
    rng = np.random.default_rng(2)
    supply, demand = random_market(rng, n_offers=12, n_classes=6, nesting=(0.97, 0.97),
                                   choice_sensitivity=(3.0, 3.0))
    terms = choice_terms(supply, demand)
    lw = terms.log_weight.copy()
    worst = supply.nest == supply.nest[0]
    lw[:, worst] -= shift
    terms = clearing.replace(terms, log_weight=lw)
    price = supply.ask.copy()
    with np.errstate(over="raise", invalid="raise"):
        out = terms.kernel.choice(price) if fast else _direct(price, terms)
    shares = out[0]
    assert np.isfinite(shares).all()
    ok = out[2]
    assert_allclose(shares[ok].sum(axis=1), 1.0, rtol=1e-12)
    if fast:  # against the shares computed in log space (the direct one underflows here)
        assert_allclose(shares, _log_space_shares(price, terms), rtol=1e-9, atol=1e-25)


def _log_space_shares(price, terms):
    """Nested-logit shares written out with log-sum-exp (no underflow anywhere)."""
    from scipy.special import logsumexp

    util = terms.log_weight - terms.alpha * np.log(price)[None, :]
    out = np.zeros_like(util)
    for c in range(util.shape[0]):
        if not np.isfinite(util[c]).any():
            continue
        rho = terms.rho[c, 0]
        nests = np.unique(terms.nest_of)
        incl = np.array([logsumexp(util[c, terms.nest_of == g] / rho) for g in nests])
        log_ns = rho * incl - logsumexp(rho * incl)
        for k, g in enumerate(nests):
            mine = terms.nest_of == g
            if np.isfinite(incl[k]):
                out[c, mine] = np.exp(util[c, mine] / rho - incl[k] + log_ns[k])
    return out


def test_backtracking_breaks_a_newton_two_cycle():
    """A nested market (found by hypothesis) on which the damped full Newton step jumps
    between two binding sets for ever (300 rounds, not converged); backtracking on the
    squared excess demand of the binding offers clears it."""
    rng = np.random.default_rng(1461)
    supply, demand = random_market(rng, tightness=1.71875, nesting=(0.0, 0.875),
                                   home_bias=(0.0, 2.0))
    res = clearing.clear(supply, demand, tol=1e-9, max_rounds=300)
    assert res.converged and res.rounds < 50
    assert (res.offer_tokens <= supply.capacity * (1 + 1e-9)).all()


def test_a_subnormal_nest_share_gives_a_finite_jacobian():
    """A nest whose share is subnormal (1 / share overflows) must not turn the within-nest
    block into inf * 0 = NaN: ``s_co / S_gc`` is a share in [0, 1] whatever ``S_gc`` is.
    (Found by the parameter hypercube: a NaN Newton step, then NaN prices.)"""
    d, active, binding, _ = _binding_parts(5, 60, 30, (0.6, 0.6))
    idx = np.flatnonzero(binding)
    nest_share = d.nest_share.copy()
    nests = active.nest_of[idx]
    g = nests[0]
    nest_share[:, g] = 1e-320  # subnormal: 1 / 1e-320 = inf
    shares = d.shares.copy()
    shares[:, np.flatnonzero(active.nest_of == g)] = 0.0
    tiny = replace(d, nest_share=nest_share, shares=shares)
    parts = _jacobian_parts(tiny, active, idx)
    assert np.isfinite(parts.wn).all()
    assert np.isfinite(parts.dense()).all()


@pytest.mark.parametrize("nesting", [(0.0, 0.0), (0.5, 0.7)])
def test_chord_steps_reach_the_newton_equilibrium(monkeypatch, nesting):
    """Rounds that reuse the last factorised Jacobian (chord steps) end at the equilibrium
    that Newton steps alone reach, in no more rounds; and chord steps are taken."""
    rng = np.random.default_rng(11)
    supply, demand = random_market(rng, n_segments=600, n_offers=80, n_classes=40,
                                   tightness=3.0, nesting=nesting)
    with_chord = clearing.clear(supply, demand, tol=1e-11)
    monkeypatch.setattr(clearing, "_CHORD_RATE", 0.0)  # no chord step is ever kept
    newton_only = clearing.clear(supply, demand, tol=1e-11)
    assert with_chord.converged and newton_only.converged
    assert_allclose(with_chord.price, newton_only.price, rtol=1e-9)
    assert_allclose(with_chord.offer_tokens, newton_only.offer_tokens, rtol=1e-9,
                    atol=1e-9 * supply.capacity.max())


def test_a_tight_book_takes_chord_rounds(monkeypatch):
    """On a tight book the clearing takes at least one chord round (a round without a new
    Jacobian) and stays within capacity."""
    rng = np.random.default_rng(12)
    supply, demand = random_market(rng, n_segments=600, n_offers=80, n_classes=40,
                                   tightness=3.0)
    solves = []
    original = clearing._newton_solve

    def spy(*args):
        solves.append(1)
        return original(*args)

    monkeypatch.setattr(clearing, "_newton_solve", spy)
    res = clearing.clear(supply, demand, tol=1e-11)
    assert res.converged
    assert len(solves) < res.rounds  # some rounds were chord steps
    assert (res.offer_tokens <= supply.capacity * (1 + 1e-12)).all()


def _localised_parts(seed: int, single: bool, monkeypatch=None):
    """A nested book with localised classes (few offers each) and budget-capped volume, its
    demand at random prices and the Jacobian parts over the offers that sell (with
    ``monkeypatch``, the localised classes' pairs are used however small the book)."""
    if monkeypatch is not None:
        monkeypatch.setattr(clearing, "_PAIR_FLOPS", 0.0)
        monkeypatch.setattr(clearing, "_GATHER_FLOPS", 0.0)
    rng = np.random.default_rng(seed)
    supply, demand = random_market(rng, n_segments=400, n_offers=60, n_classes=40,
                                   n_regions=12, n_nations=12,
                                   localised_share=0.5, budget_share_capped=0.6,
                                   nesting=(0.3, 0.7), home_bias=(0.0, 1.0))
    terms = choice_terms(supply, demand)
    rows, active = _active_terms(terms, demand)
    price = supply.ask * rng.uniform(1.0, 2.0, supply.n_offers)
    d = _demand_at(price, rows, active, demand)
    idx = np.flatnonzero(d.offer_demand > 0)
    return d, active, idx, clearing._jacobian_parts(d, active, idx, single=single)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("single", [False, True])
def test_localised_classes_are_assembled_from_their_offer_pairs(seed, single, monkeypatch):
    """The classes that may buy few offers (localised: their nation's) enter the assembled
    Jacobian through their pairs of offers, not the dense product: the same matrix."""
    *_, parts = _localised_parts(seed, single, monkeypatch)
    assert parts.few is not None and parts.few[0].size > 0  # the split is exercised
    groups = clearing._nest_groups(parts.nest_b)
    split = clearing._assemble(parts.u, parts.v, parts.wn, groups, parts.few)
    whole = clearing._assemble(parts.u, parts.v, parts.wn, groups)
    scale = np.abs(whole).max()
    rtol = 1e-5 if single else 1e-12
    assert_allclose(split, whole, rtol=rtol, atol=rtol * scale)
    # and the pairs are the only non-zero entries of those classes' part
    few = parts.few[0]
    only_few = clearing._assemble(parts.u[:, few], parts.v[:, few],
                                  None if parts.wn is None else parts.wn[few], groups)
    zero = np.zeros_like(only_few)
    clearing._add_pairs(zero, parts.u.T, parts.v.T, parts.wn, *parts.few[1:])
    assert_allclose(zero, only_few, rtol=rtol, atol=rtol * np.abs(only_few).max())


def test_the_single_precision_jacobian_is_factorised_in_float32():
    """The float32 products give a float32 Jacobian (its diagonal added in float64 first),
    whose LU step matches the float64 Newton step to the float32 tolerance."""
    d, active, idx, parts = _localised_parts(1, True)
    groups = clearing._nest_groups(parts.nest_b)
    jac = clearing._dense_jacobian(parts, groups)
    assert jac.dtype == np.float32
    exact = clearing._jacobian_parts(d, active, idx).dense()
    assert_allclose(jac, exact, rtol=1e-4, atol=1e-5 * np.abs(exact).max())


@pytest.mark.parametrize("seed", range(3))
def test_the_budget_correction_of_every_class_equals_that_of_the_capped_ones(seed):
    """The budget-cap term of ``V`` computed for every class (zero where nothing is
    capped) equals the one computed for the capped classes alone, row for row."""
    d, active, idx, _ = _localised_parts(seed, False)
    capped = np.flatnonzero(d.capped_fraction[d.rows] > 0)
    assert 0 < capped.size < d.rows.size
    every = clearing._capped_correction(d, active, idx, None)
    some = clearing._capped_correction(d, active, idx, capped)
    assert_allclose(every[capped], some, rtol=1e-13, atol=0)
    rest = np.setdiff1d(np.arange(d.rows.size), capped)
    assert (every[rest] == 0).all()


def test_the_pairs_are_used_only_where_they_save_time():
    """At this small size the dense product is cheaper than the pairs (no split); with
    free pairs and gathers it splits."""
    *_, parts = _localised_parts(0, True)
    assert parts.few is None


def test_scaling_without_ldexp_is_bit_for_bit_ldexp():
    """``_scaled`` skips ``ldexp`` only when every exponent is 0, and is then bit for bit
    ``ldexp(x * m, e)``; with exponents it is ``ldexp`` itself (subnormals included)."""
    rng = np.random.default_rng(3)
    x = np.exp(rng.uniform(-700, 700, (30, 20)))
    x[0, :5] = 1e-310  # subnormal
    m = rng.uniform(0.5, 2.0, (1, 20))
    zero = np.zeros((1, 20), dtype=np.int64)
    assert np.array_equal(clearing._scaled(x, m, zero), np.ldexp(x * m, zero))
    e = rng.integers(-60, 1, (1, 20))
    assert np.array_equal(clearing._scaled(x, m, e), np.ldexp(x * m, e))


def test_clear_reuses_the_sellers_demand_at_the_asks_only_when_it_is_the_same(monkeypatch):
    """``offer_demand`` at the asks then ``clear`` on the same books evaluate demand at the
    asks once; a change to the segments in between (or a second clear) evaluates afresh,
    and the results are those of a clearing without the reuse."""
    rng = np.random.default_rng(8)
    supply, demand = random_market(rng, n_segments=300, n_offers=30, n_classes=20,
                                   tightness=2.0, nesting=(0.2, 0.5))
    warm = supply.ask * 1.1
    clearing._terms_cache.clear()
    fresh = clearing.clear(supply, demand, warm_start=warm)
    calls = []
    original = clearing._demand_at

    def spy(price, *args):
        calls.append(np.array(price))
        return original(price, *args)

    monkeypatch.setattr(clearing, "_demand_at", spy)
    clearing._terms_cache.clear()
    sellers = clearing.offer_demand(supply, demand)
    reused = clearing.clear(supply, demand, warm_start=warm)
    at_ask = [p for p in calls if np.array_equal(p, supply.ask)]
    assert len(at_ask) == 1  # the sellers' evaluation served the clearing
    assert_allclose(sellers, reused.demand_at_ask, rtol=0, atol=0)
    assert sellers is not reused.demand_at_ask
    for f in fields(fresh):
        a, b = getattr(fresh, f.name), getattr(reused, f.name)
        assert np.array_equal(a, b), f.name
    # the memory is used once: a second clear, or changed segments, evaluate afresh
    calls.clear()
    clearing.clear(supply, demand, warm_start=warm)
    assert sum(np.array_equal(p, supply.ask) for p in calls) == 1
    calls.clear()
    clearing.offer_demand(supply, demand)
    changed = replace(demand, reference_demand=demand.reference_demand * 1.5)
    moved = clearing.clear(supply, changed, warm_start=warm)
    assert sum(np.array_equal(p, supply.ask) for p in calls) == 2
    assert not np.array_equal(moved.demand_at_ask, reused.demand_at_ask)


def test_choice_terms_and_their_kernel_are_freed_without_the_cyclic_collector():
    """``terms.kernel`` holds its terms weakly: a strong reference made a cycle that kept
    each month's (C, O) arrays alive until the cyclic collector ran (peak RSS of world_xl
    grew to 6.6 GB)."""
    import gc
    import weakref

    rng = np.random.default_rng(0)
    supply, demand = random_market(rng, n_offers=25, n_classes=20, nesting=(0.3, 0.3))
    terms = choice_terms(supply, demand)
    kernel = terms.kernel
    kernel.choice(supply.ask * 1.5)
    gone = weakref.ref(terms)
    gc.disable()
    try:
        del terms
        assert gone() is None  # freed by reference counting alone
    finally:
        gc.enable()
    with pytest.raises(RuntimeError, match="no longer exist"):
        kernel.choice(supply.ask * 1.5)


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_choice_terms_copy_after_their_kernel_was_built(how):
    """A copy drops the cached kernel (its weak reference cannot be copied) and builds its
    own on first use, with the same choice shares."""
    import copy
    import pickle

    rng = np.random.default_rng(1)
    supply, demand = random_market(rng, n_offers=25, n_classes=20, nesting=(0.3, 0.3))
    terms = choice_terms(supply, demand)
    price = supply.ask * 1.5
    shares = terms.kernel.choice(price)
    twin = pickle.loads(pickle.dumps(terms)) if how == "pickle" else copy.deepcopy(terms)
    assert "kernel" not in twin.__dict__
    assert twin.kernel.terms is twin and terms.kernel.terms is terms
    for a, b in zip(shares, twin.kernel.choice(price), strict=True):
        assert np.array_equal(a, b)
