"""The clearing core against closed forms, invariants and the equilibrium conditions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from abm.market import DemandBook, SupplyBook, clear
from abm.market.synthetic import random_market


def one_class_market(ask, capacity, *, ref=100.0, alpha=4.0, eps=1.5, budget=np.inf,
                     quality=None, appeal=None):
    ask = np.asarray(ask, dtype=float)
    n = ask.size
    supply = SupplyBook(provider=np.arange(n), region=np.zeros(n, int), tier=np.ones(n, int),
                        open_weights=np.zeros(n, bool), capacity=np.asarray(capacity, float),
                        marginal_cost=ask * 0.5, ask=ask,
                        quality=np.ones(n) if quality is None else quality, appeal=appeal)
    demand = DemandBook(segment_class=[0], reference_demand=[ref], budget=[budget],
                        population=[1.0], class_nation=[0], choice_sensitivity=[alpha],
                        elasticity=[eps], latency_tolerance_ms=[1e9], latency_cost=[0.0],
                        quality_threshold=[0.0], quality_cost=[0.0], localised=[False],
                        latency_matrix_ms=[[0.0]], region_nation=[0], tariff=[0.0])
    return supply, demand


def test_slack_market_matches_logit_closed_form():
    ask = np.array([1.0, 2.0, 4.0])
    alpha, eps, ref = 3.0, 1.2, 50.0
    supply, demand = one_class_market(ask, [1e9] * 3, ref=ref, alpha=alpha, eps=eps)
    res = clear(supply, demand)
    shares = ask**-alpha / (ask**-alpha).sum()
    price_index = (ask**-alpha).sum() ** (-1 / alpha)
    volume = ref * price_index**-eps
    assert res.rounds == 0 and res.converged
    assert_allclose(res.price, ask)
    assert_allclose(res.offer_tokens, volume * shares, rtol=1e-12)
    assert_allclose(res.class_effective_price, [price_index], rtol=1e-12)


def test_single_binding_offer_price_solves_capacity():
    # One offer, demand ref * p**-eps, capacity K: p* = (ref / K) ** (1 / eps).
    ref, eps, cap = 400.0, 1.5, 25.0
    supply, demand = one_class_market([1.0], [cap], ref=ref, eps=eps)
    res = clear(supply, demand)
    assert res.converged
    assert_allclose(res.price, [(ref / cap) ** (1 / eps)], rtol=1e-8)
    assert_allclose(res.offer_tokens, [cap], rtol=1e-8)
    assert_allclose(res.scarcity_premium, res.price - 1.0)


def test_budget_cap_spends_the_budget():
    supply, demand = one_class_market([2.0], [1e9], ref=100.0, eps=1.0, budget=10.0)
    res = clear(supply, demand)
    assert_allclose(res.segment_spending, [10.0])
    assert_allclose(res.segment_tokens, [5.0])
    assert_allclose(res.segment_unserved_budget, [50.0 - 5.0])
    assert_allclose(res.segment_unserved, [50.0 - 5.0])


def test_localisation_excludes_foreign_offers_and_tariff_is_collected():
    supply = SupplyBook(provider=[0, 1], region=[0, 1], tier=[1, 1],
                        open_weights=[False, False], capacity=[1e9, 1e9],
                        marginal_cost=[0.5, 0.5], ask=[1.0, 1.0], quality=[1.0, 1.0])
    common = dict(segment_class=[0, 1], reference_demand=[10.0, 10.0],
                  budget=[np.inf, np.inf], population=[1.0, 1.0], class_nation=[0, 0],
                  choice_sensitivity=[3.0, 3.0], elasticity=[1.0, 1.0],
                  latency_tolerance_ms=[1e9] * 2, latency_cost=[0.0] * 2,
                  quality_threshold=[0.0] * 2, quality_cost=[0.0] * 2,
                  latency_matrix_ms=[[0.0, 0.0], [0.0, 0.0]], region_nation=[0, 1])
    demand = DemandBook(localised=[True, False], tariff=[0.25, 0.0], **common)
    res = clear(supply, demand)
    assert res.class_offer_tokens[0, 1] == 0.0  # localised class buys nothing abroad
    assert res.class_offer_tokens[1, 1] > 0.0
    foreign_tokens = res.class_offer_tokens[:, 1].sum()
    assert_allclose(res.tariff_revenue, [0.25 * 1.0 * foreign_tokens, 0.0])


def test_quality_shortfall_diverts_demand_to_better_offers():
    supply, _ = one_class_market([1.0, 1.0], [1e9, 1e9], quality=np.array([1.0, 0.5]))
    demand = DemandBook(
        segment_class=[0], reference_demand=[100.0], budget=[np.inf], population=[1.0],
        class_nation=[0], choice_sensitivity=[4.0], elasticity=[1.5],
        latency_tolerance_ms=[1e9], latency_cost=[0.0], quality_threshold=[0.9],
        quality_cost=[2.0], localised=[False], latency_matrix_ms=[[0.0]], region_nation=[0],
        tariff=[0.0])
    res = clear(supply, demand)
    # effective prices 1 and exp(2 * 0.4)
    expected = np.array([1.0, np.exp(0.8)]) ** -4.0
    assert_allclose(res.class_shares[0], expected / expected.sum(), rtol=1e-12)


def test_warm_start_reaches_the_same_equilibrium_faster():
    rng = np.random.default_rng(3)
    supply, demand = random_market(rng, n_segments=500, n_offers=30, tightness=2.0)
    cold = clear(supply, demand)
    warm = clear(supply, demand, warm_start=cold.price)
    assert cold.converged and warm.converged
    assert warm.rounds < cold.rounds
    assert_allclose(warm.price, cold.price, rtol=1e-7)
    assert_allclose(warm.offer_tokens, cold.offer_tokens, rtol=1e-7, atol=1e-9)


def check_invariants(supply: SupplyBook, demand: DemandBook, res, tol=1e-7):
    cap = supply.capacity
    scale = max(1.0, cap.sum())
    # conservation of tokens and money
    assert_allclose(res.offer_tokens.sum(), res.segment_tokens.sum(), rtol=1e-9,
                    atol=1e-9 * scale)
    assert_allclose(res.class_offer_tokens.sum(axis=0), res.offer_tokens, rtol=1e-9,
                    atol=1e-12 * scale)
    money_in = res.offer_revenue.sum() + res.tariff_revenue.sum()
    assert_allclose(res.segment_spending.sum(), money_in, rtol=1e-9, atol=1e-9 * scale)
    # capacity, signs
    assert (res.offer_tokens <= cap * (1 + 1e-12) + 1e-12).all()
    for arr in (res.price, res.offer_tokens, res.segment_tokens, res.segment_spending,
                res.segment_unserved, res.class_offer_tokens, res.tariff_revenue):
        assert np.isfinite(arr).all() and (arr >= 0).all()
    assert (res.price >= supply.ask).all()
    # budgets respected
    assert (res.segment_spending <= demand.budget * (1 + 1e-9) + 1e-12).all()
    # equilibrium: slack offers at the ask; binding offers clear
    if res.converged:
        premium = res.scarcity_premium > 1e-12 * supply.ask
        assert (np.abs(res.excess_demand[premium]) <= tol * cap[premium]).all()
        slack = res.offer_tokens < cap * (1 - 1e-6)
        assert_allclose(res.price[slack], supply.ask[slack])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), tightness=st.floats(0.05, 20.0),
       n_offers=st.integers(1, 25), n_classes=st.integers(1, 12),
       localised=st.floats(0.0, 1.0), tariff=st.floats(0.0, 1.0))
def test_invariants_on_random_markets(seed, tightness, n_offers, n_classes, localised,
                                      tariff):
    rng = np.random.default_rng(seed)
    supply, demand = random_market(rng, n_segments=60, n_offers=n_offers, n_regions=3,
                                   n_nations=3, n_classes=n_classes, tightness=tightness,
                                   localised_share=localised, tariff=tariff)
    res = clear(supply, demand)
    assert res.converged, f"did not converge in {res.rounds} rounds"
    check_invariants(supply, demand, res)


def test_rationing_keeps_invariants_when_rounds_run_out():
    rng = np.random.default_rng(11)
    supply, demand = random_market(rng, n_segments=300, n_offers=20, tightness=8.0)
    res = clear(supply, demand, max_rounds=1)
    assert not res.converged
    check_invariants(supply, demand, res)
    assert np.isclose(res.offer_tokens, supply.capacity).sum() >= 1


def test_zero_capacity_offer_sells_nothing():
    supply, demand = one_class_market([1.0, 1.0], [0.0, 1e9])
    res = clear(supply, demand)
    assert res.offer_tokens[0] == 0.0
    check_invariants(supply, demand, res)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [("capacity", [-1.0], "capacity"), ("ask", [np.nan], "ask"), ("ask", [], "empty"),
     ("marginal_cost", [1.0, 2.0], "marginal_cost"), ("tier", [5], "tier"),
     ("ask", ["1.5"], "ask: dtype"), ("capacity", [True], "capacity: dtype bool"),
     ("capacity", [10**400], "capacity: holds a number too large"),
     ("ask", np.ma.masked_array([1.0], [1]), "ask: masked")],
)
def test_bad_supply_raises_naming_the_argument(field, value, match):
    kwargs = dict(provider=[0], region=[0], tier=[1], open_weights=[False], capacity=[1.0],
                  marginal_cost=[0.5], ask=[1.0], quality=[1.0])
    kwargs[field] = value
    with pytest.raises(ValueError, match=match):
        SupplyBook(**kwargs)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [("reference_demand", [-1.0], "reference_demand"), ("budget", [np.nan], "budget"),
     ("segment_class", [], "empty"), ("elasticity", [0.0], "elasticity"),
     ("segment_class", [3], "segment_class"), ("tariff", [0.1, 0.2], "tariff"),
     ("latency_matrix_ms", [[np.nan]], "latency_matrix_ms"),
     ("quality_threshold", [5.0], r"quality_threshold: must lie in \[0, 1\]"),
     ("budget", np.array(["2020-01-01"], dtype="datetime64[D]"), "budget: dtype")],
)
def test_bad_demand_raises_naming_the_argument(field, value, match):
    kwargs = dict(segment_class=[0], reference_demand=[1.0], budget=[1.0], population=[1.0],
                  class_nation=[0], choice_sensitivity=[2.0], elasticity=[1.0],
                  latency_tolerance_ms=[10.0], latency_cost=[0.0], quality_threshold=[0.0],
                  quality_cost=[0.0], localised=[False], latency_matrix_ms=[[0.0]],
                  region_nation=[0], tariff=[0.0])
    kwargs[field] = value
    with pytest.raises(ValueError, match=match):
        DemandBook(**kwargs)


def test_bad_warm_start_and_region_mismatch():
    supply, demand = one_class_market([1.0, 2.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="warm_start"):
        clear(supply, demand, warm_start=[1.0])
    far = SupplyBook(provider=[0], region=[4], tier=[1], open_weights=[False],
                     capacity=[1.0], marginal_cost=[0.5], ask=[1.0], quality=[1.0])
    with pytest.raises(ValueError, match="region"):
        clear(far, demand)


def test_clear_names_the_argument_for_any_bad_value():
    """Issue 9: a huge int, a text warm start and a huge tariff are blamed on their name."""
    supply, demand = one_class_market([1.0, 2.0], [1.0, 1.0])
    assert clear(supply, demand, max_rounds=10**30).converged  # a Python int of any size
    with pytest.raises(ValueError, match="max_rounds: must be a whole number"):
        clear(supply, demand, max_rounds=-10**30)
    with pytest.raises(ValueError, match="warm_start: dtype"):
        clear(supply, demand, warm_start=["a", "b"])
    with pytest.raises(ValueError, match="warm_start: holds None"):
        clear(supply, demand, warm_start=[None, 1.0])
    taxed = dataclasses.replace(demand, tariff=np.full(demand.tariff.shape, 1e308))
    with pytest.raises(ValueError, match=r"^tariff: 1e\+308 \(nation 0\) is too large"):
        clear(supply, taxed)


def test_a_market_without_demand_clears_with_nothing_sold():
    """Zero reference demand everywhere used to raise an IndexError inside the kernel."""
    supply, demand = random_market(np.random.default_rng(1), n_segments=20, n_offers=5,
                                   n_classes=4)
    idle = dataclasses.replace(demand, reference_demand=np.zeros(demand.n_segments))
    res = clear(supply, idle)
    assert res.converged and res.offer_tokens.sum() == 0.0
    check_invariants(supply, idle, res)
