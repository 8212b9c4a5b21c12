"""Nash-Bertrand pricing on the clearing core's demand: a fixed point no firm can improve on."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from abm.market import DemandBook, SupplyBook, clear
from abm.market.pricing import nash_bertrand_price, own_price_elasticity


def market(ask, mc, provider, alpha=4.0, eps=1.3):
    n = len(ask)
    supply = SupplyBook(provider=provider, region=np.zeros(n, int), tier=np.ones(n, int),
                        open_weights=np.zeros(n, bool), capacity=np.full(n, 1e12),
                        marginal_cost=mc, ask=ask, quality=np.ones(n))
    demand = DemandBook(segment_class=[0, 0], reference_demand=[60.0, 40.0],
                        budget=[np.inf, np.inf], population=[1.0, 1.0], class_nation=[0],
                        choice_sensitivity=[alpha], elasticity=[eps],
                        latency_tolerance_ms=[1e9], latency_cost=[0.0],
                        quality_threshold=[0.0], quality_cost=[0.0], localised=[False],
                        latency_matrix_ms=[[0.0]], region_nation=[0], tariff=[0.0])
    return supply, demand


def equilibrium(mc, provider, **kw):
    # Undamped best responses cycle when alpha is large; damp in log prices.
    price = np.asarray(mc, float) * 2.0
    for _ in range(2000):
        supply, demand = market(price, mc, provider, **kw)
        best = nash_bertrand_price(clear(supply, demand), supply, demand)
        if np.allclose(best, price, rtol=1e-13, atol=0.0):
            return price
        price = price * (best / price) ** 0.3
    raise AssertionError("best-response iteration did not converge")


def profit(price, mc, provider, firm, **kw):
    supply, demand = market(price, mc, provider, **kw)
    res = clear(supply, demand)
    own = np.asarray(provider) == firm
    return float(((res.price - mc) * res.offer_tokens)[own].sum())


@pytest.mark.parametrize(("provider", "mc"), [([0, 1, 2], [0.5, 0.7, 0.6]),
                                               ([0, 0, 1], [0.5, 0.5, 0.8])])
def test_fixed_point_is_a_nash_equilibrium(provider, mc):
    # A multi-product firm prices at one Lerner index across its offers, which is its exact
    # optimum when those offers share a marginal cost (the case tested here).
    mc = np.asarray(mc)
    p_star = equilibrium(mc, provider)
    for firm in set(provider):
        own = np.asarray(provider) == firm
        base = profit(p_star, mc, provider, firm)
        for factor in (0.999, 1.001):
            deviated = np.where(own, p_star * factor, p_star)
            assert profit(deviated, mc, provider, firm) <= base * (1 + 1e-12)


def test_symmetric_closed_form_lerner():
    # n symmetric single-product firms: s = 1/n, Lerner = 1 / (alpha (1 - 1/n) + eps / n).
    alpha, eps, n = 4.0, 1.3, 3
    p_star = equilibrium(np.full(n, 1.0), list(range(n)), alpha=alpha, eps=eps)
    lerner = 1 - 1.0 / p_star
    assert_allclose(lerner, 1 / (alpha * (1 - 1 / n) + eps / n), rtol=1e-10)


def test_merger_raises_prices_and_monopoly_prices_at_inverse_elasticity():
    mc = np.full(3, 1.0)
    separate = equilibrium(mc, [0, 1, 2])
    merged = equilibrium(mc, [0, 0, 1])
    assert (merged[:2] > separate[:2]).all()
    monopoly = equilibrium(mc, [0, 0, 0], eps=1.5)
    assert_allclose(1 - 1.0 / monopoly, 1 / 1.5, rtol=1e-10)


def test_elasticity_is_positive_and_inelastic_demand_hits_the_cap():
    supply, demand = market(np.ones(2), np.full(2, 0.5), [0, 0], eps=0.5)
    res = clear(supply, demand)
    assert (own_price_elasticity(res, supply, demand) > 0).all()
    assert_allclose(nash_bertrand_price(res, supply, demand, max_lerner=0.9), 0.5 / 0.1)
    with pytest.raises(ValueError, match="max_lerner"):
        nash_bertrand_price(res, supply, demand, max_lerner=1.0)


def _elasticity_by_definition(res, supply, demand):
    """own_price_elasticity written out offer by offer (the definition it vectorises)."""
    shares, volume = res.class_shares, res.class_offer_tokens
    out = np.empty(supply.n_offers)
    for o in range(supply.n_offers):
        mine = supply.provider == supply.provider[o]
        firm = shares[:, mine].sum(axis=1)
        e = demand.choice_sensitivity * (1 - firm) + demand.elasticity * firm
        w = volume[:, o] if volume.sum(axis=0)[o] > 0 else shares[:, o]
        out[o] = (w * e).sum() / w.sum() if w.sum() > 0 else np.inf
    return out


@pytest.mark.parametrize("seed", range(5))
def test_own_price_elasticity_matches_its_definition(seed):
    from abm.market.synthetic import random_market

    rng = np.random.default_rng(seed)
    supply, demand = random_market(rng, n_offers=15, n_classes=12, tightness=0.6,
                                   nesting=(0.0, 0.5))
    res = clear(supply, demand)
    got = own_price_elasticity(res, supply, demand)
    want = _elasticity_by_definition(res, supply, demand)
    assert_allclose(got, want, rtol=1e-12)


def _reference_elasticity(shares, volume, provider, alpha, eps):
    """own_price_elasticity as first written (whole-matrix temporaries, np.where)."""
    order = np.argsort(provider, kind="stable")
    sorted_p = provider[order]
    starts = np.flatnonzero(np.r_[True, sorted_p[1:] != sorted_p[:-1]])
    grouped = np.take(shares, order, axis=1)
    group_of = np.cumsum(np.r_[0, sorted_p[1:] != sorted_p[:-1]])[np.argsort(order)]
    firm_share = np.take(np.add.reduceat(grouped, starts, axis=1), group_of, axis=1)
    sold = volume.sum(axis=0) > 0
    weight = np.where(sold, volume, shares)
    total = weight.sum(axis=0)
    weighted = alpha @ weight + (eps - alpha) @ (weight * firm_share)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = weighted / total
    return np.where(total > 0, out, np.inf)


@pytest.mark.parametrize("seed", range(6))
def test_elasticity_is_the_whole_matrix_formula(seed):
    """Random books with unsold offers, offers nobody may buy and unsorted providers: the
    fused computation (the firm elasticities spread to the offers and summed in one einsum)
    gives the reference's values to rounding, and the same offers without pricing power."""
    from types import SimpleNamespace

    rng = np.random.default_rng(seed)
    n_cls, n_off, n_prov = int(rng.integers(1, 40)), int(rng.integers(1, 60)), 7
    provider = rng.integers(0, n_prov, size=n_off)
    if seed % 2:
        provider = np.sort(provider)
    shares = rng.dirichlet(np.ones(n_off), size=n_cls) * (rng.random((n_cls, n_off)) < 0.8)
    volume = shares * rng.lognormal(0.0, 2.0, size=(n_cls, 1))
    volume[:, rng.random(n_off) < 0.3] = 0.0  # unsold offers
    if n_off > 1:
        shares[:, 0] = volume[:, 0] = 0.0  # an offer no class may buy
    alpha, eps = rng.uniform(2.0, 8.0, n_cls), rng.uniform(0.2, 1.5, n_cls)
    got = own_price_elasticity(SimpleNamespace(class_shares=shares, class_offer_tokens=volume),
                               SimpleNamespace(provider=provider),
                               SimpleNamespace(choice_sensitivity=alpha, elasticity=eps))
    want = _reference_elasticity(shares, volume, provider, alpha, eps)
    assert (np.isinf(got) == np.isinf(want)).all()
    assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)], rtol=1e-13, atol=0.0)
