"""The nested logit and home bias of the clearing core against closed forms and finite
differences (McFadden 1978; Berry 1994; Verboven 1996)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from abm.market import DemandBook, SupplyBook, clear
from abm.market.clearing import _active_terms, _demand_at, _jacobian_parts, choice_terms
from abm.market.pricing import nash_bertrand_price, own_price_elasticity
from abm.market.synthetic import random_market


def nested_market(ask, capacity, nest, *, sigma=0.5, alpha=3.0, eps=0.5, ref=100.0,
                  appeal=None, region=None, home_bias=0.0, n_nations=1, mc=None):
    ask = np.asarray(ask, float)
    n = ask.size
    region = np.zeros(n, int) if region is None else np.asarray(region)
    supply = SupplyBook(provider=np.asarray(nest), region=region, tier=np.ones(n, int),
                        open_weights=np.zeros(n, bool), capacity=np.asarray(capacity, float),
                        marginal_cost=0.5 * ask if mc is None else mc, ask=ask,
                        quality=np.ones(n), appeal=appeal)
    demand = DemandBook(segment_class=[0], reference_demand=[ref], budget=[np.inf],
                        population=[1.0], class_nation=[0], choice_sensitivity=[alpha],
                        elasticity=[eps], latency_tolerance_ms=[1e9], latency_cost=[0.0],
                        quality_threshold=[0.0], quality_cost=[0.0], localised=[False],
                        latency_matrix_ms=np.zeros((n_nations, n_nations)),
                        region_nation=np.arange(n_nations), tariff=np.zeros(n_nations),
                        nesting=[sigma], home_bias=[home_bias])
    return supply, demand


def closed_form_shares(ask, nest, sigma, alpha, appeal=None):
    """Nested-logit shares written out nest by nest (Berry 1994, eq. 13)."""
    ask = np.asarray(ask, float)
    v = (np.zeros_like(ask) if appeal is None else np.asarray(appeal)) - alpha * np.log(ask)
    rho = 1.0 - sigma
    nests = np.unique(nest)
    inner = {g: np.exp(v[nest == g] / rho).sum() for g in nests}
    denom = sum(inner[g] ** rho for g in nests)
    shares = np.array([np.exp(v[j] / rho) / inner[nest[j]] * inner[nest[j]] ** rho / denom
                       for j in range(ask.size)])
    return shares, np.log(denom)


@pytest.mark.parametrize("sigma", [0.0, 0.3, 0.8, 0.97])
def test_slack_shares_and_volume_match_the_closed_form(sigma):
    ask = np.array([1.0, 1.5, 2.0, 0.8, 3.0])
    nest = np.array([0, 0, 1, 1, 2])
    appeal = np.array([0.2, 0.0, -0.1, 0.3, 0.5])
    alpha, eps, ref = 2.5, 0.4, 80.0
    supply, demand = nested_market(ask, [1e12] * 5, nest, sigma=sigma, alpha=alpha, eps=eps,
                                   ref=ref, appeal=appeal)
    res = clear(supply, demand)
    shares, iv = closed_form_shares(ask, nest, sigma, alpha, appeal)
    price_index = np.exp(-iv / alpha)
    assert res.converged and res.rounds == 0
    assert_allclose(res.class_shares[0], shares, rtol=1e-12)
    assert_allclose(res.class_effective_price, [price_index], rtol=1e-12)
    assert_allclose(res.offer_tokens, ref * price_index ** -eps * shares, rtol=1e-12)


def test_a_duplicated_offer_does_not_double_its_providers_share_when_nested():
    # IIA: under the plain logit, splitting a provider's offer into two identical sites nearly
    # doubles its share; with sigma -> 1 the nest keeps its share (the red bus / blue bus).
    def provider_share(sigma, duplicate):
        ask = [1.0, 1.0, 1.0] if duplicate else [1.0, 1.0]
        nest = [0, 1, 1] if duplicate else [0, 1]
        supply, demand = nested_market(ask, [1e12] * len(ask), nest, sigma=sigma)
        res = clear(supply, demand)
        return res.class_shares[0][1:].sum()

    assert_allclose(provider_share(0.0, False), 0.5)
    assert provider_share(0.0, True) == pytest.approx(2 / 3)
    assert provider_share(0.99, True) == pytest.approx(0.5, abs=0.01)


def test_home_bias_moves_demand_home_and_is_neutral_at_zero():
    # Two nations, one provider with a site in each; the class lives in nation 0.
    ask = [1.0, 1.0]
    shares = {}
    for bias in (0.0, 1.0, 5.0):
        supply, demand = nested_market(ask, [1e12, 1e12], [0, 0], sigma=0.5, region=[0, 1],
                                       home_bias=bias, n_nations=2)
        shares[bias] = clear(supply, demand).class_shares[0]
    assert_allclose(shares[0.0], [0.5, 0.5])
    # within a nest with sigma = 0.5 the home offer's odds are exp(bias / (1 - sigma))
    assert shares[1.0][0] / shares[1.0][1] == pytest.approx(np.exp(1.0 / 0.5))
    assert shares[5.0][0] > 0.9999


def numerical_log_jacobian(supply, demand, price, idx, h=1e-6):
    terms = choice_terms(supply, demand)
    rows, active = _active_terms(terms, demand)
    base = np.log(_demand_at(price, rows, active, demand).offer_demand[idx])
    jac = np.zeros((idx.size, idx.size))
    for k, o in enumerate(idx):
        p = price.copy()
        p[o] *= np.exp(h)
        up = np.log(_demand_at(p, rows, active, demand).offer_demand[idx])
        jac[:, k] = (up - base) / h
    return jac


@pytest.mark.parametrize("sigma", [(0.0, 0.0), (0.2, 0.9)])
def test_analytic_jacobian_matches_finite_differences(sigma):
    rng = np.random.default_rng(3)
    supply, demand = random_market(rng, n_segments=60, n_offers=10, n_classes=8,
                                   budget_share_capped=0.0, nesting=sigma,
                                   home_bias=(0.0, 1.0))
    terms = choice_terms(supply, demand)
    rows, active = _active_terms(terms, demand)
    price = supply.ask * rng.uniform(1.0, 1.5, supply.n_offers)
    d = _demand_at(price, rows, active, demand)
    idx = np.flatnonzero(d.offer_demand > 0)
    analytic = _jacobian_parts(d, active, idx).dense()
    assert_allclose(analytic, numerical_log_jacobian(supply, demand, price, idx),
                    atol=2e-5, rtol=1e-4)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), tightness=st.floats(0.5, 3.0),
       sigma_hi=st.floats(0.0, 0.95))
def test_nested_clearing_is_an_equilibrium_and_conserves(seed, tightness, sigma_hi):
    rng = np.random.default_rng(seed)
    supply, demand = random_market(rng, tightness=tightness, nesting=(0.0, sigma_hi),
                                   home_bias=(0.0, 2.0))
    res = clear(supply, demand, tol=1e-9, max_rounds=300)
    assert res.converged
    assert_allclose(res.offer_tokens.sum(), res.segment_tokens.sum(), rtol=1e-9)
    assert_allclose(res.segment_spending.sum(),
                    res.offer_revenue.sum() + res.tariff_revenue.sum(), rtol=1e-9)
    assert (res.offer_tokens <= supply.capacity * (1 + 1e-8)).all()
    assert (res.price >= supply.ask * (1 - 1e-12)).all()
    premium = res.scarcity_premium > 1e-9 * supply.ask
    # where a premium is charged, capacity binds; where it does not, price = ask
    assert_allclose(res.offer_tokens[premium], supply.capacity[premium], rtol=1e-6)


def test_nash_bertrand_markup_is_the_firm_profit_maximum_under_nested_logit():
    # Two firms, each a nest of two offers with equal cost; slack capacity. Firm 0's profit
    # as a function of a uniform markup over its costs peaks where the Lerner index is
    # 1 / (alpha (1 - S_f) + eps S_f): nesting within the firm does not change it.
    mc = np.array([1.0, 1.0, 1.0, 1.0])
    nest = np.array([0, 0, 1, 1])
    alpha, eps, sigma = 3.0, 0.3, 0.6

    def profit(lerner0, lerner1):
        ask = np.r_[mc[:2] / (1 - lerner0), mc[2:] / (1 - lerner1)]
        supply, demand = nested_market(ask, [1e12] * 4, nest, sigma=sigma, alpha=alpha,
                                       eps=eps, mc=mc)
        res = clear(supply, demand)
        return ((res.price - mc) * res.offer_tokens)[:2].sum(), res, supply, demand

    grid = np.linspace(0.2, 0.6, 801)
    best = grid[np.argmax([profit(x, 0.4)[0] for x in grid])]
    _, res, supply, demand = profit(best, 0.4)
    e = own_price_elasticity(res, supply, demand)
    assert best == pytest.approx(1.0 / e[0], abs=1e-3)
    target = nash_bertrand_price(res, supply, demand)
    assert_allclose(target[:2], mc[:2] / (1 - 1 / e[:2]), rtol=1e-12)


@pytest.mark.parametrize("tariff", [0.0, 0.3])
@pytest.mark.parametrize("sigma", [(0.0, 0.0), (0.2, 0.9)])
def test_analytic_jacobian_matches_finite_differences_with_budget_caps(sigma, tariff):
    """Budget-capped segments spend their budget: the Jacobian's exact budget term (volume
    ``budget / mean price paid``, not unit elastic in the price index) matches differences."""
    rng = np.random.default_rng(4)
    supply, demand = random_market(rng, n_segments=60, n_offers=10, n_classes=8,
                                   budget_share_capped=0.7, nesting=sigma, tariff=tariff,
                                   home_bias=(0.0, 1.0))
    terms = choice_terms(supply, demand)
    rows, active = _active_terms(terms, demand)
    price = supply.ask * rng.uniform(1.0, 3.0, supply.n_offers)
    d = _demand_at(price, rows, active, demand)
    assert (d.capped_fraction[rows] > 0.05).sum() >= 2  # budgets do bind
    idx = np.flatnonzero(d.offer_demand > 0)
    analytic = _jacobian_parts(d, active, idx).dense()
    assert_allclose(analytic, numerical_log_jacobian(supply, demand, price, idx),
                    atol=2e-5, rtol=1e-4)
