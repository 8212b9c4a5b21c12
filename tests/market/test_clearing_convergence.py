"""Global convergence of the clearing's Newton iteration on stiff books.

Inelastic demand (elasticity ~0.05-0.07, the low end of ``demand.elasticity``'s plausible
range) with capacity short by several times needs every price to rise by tens of log units,
mostly together. The step is bounded per round (a factor e) by scaling it as a whole; these
tests fail when it is clipped entry by entry (2 of 30 such books then cleared in 80 rounds).
"""

import numpy as np
import pytest

from abm.market import clearing
from abm.market.clearing import clear
from abm.market.synthetic import random_market


def _stiff_book(seed: int, tightness: float):
    rng = np.random.default_rng(seed)
    return random_market(rng, tightness=tightness, elasticity=(0.05, 0.07),
                         choice_sensitivity=(2.0, 6.0), nesting=(0.3, 0.7), n_offers=40,
                         n_classes=30)


@pytest.mark.parametrize("seed", range(8))
def test_inelastic_books_short_of_capacity_clear_within_the_models_round_limit(seed):
    supply, demand = _stiff_book(seed, tightness=5.0)
    result = clear(supply, demand, tol=1e-7, max_rounds=80)  # well within market.max_rounds
    assert result.converged, f"seed {seed}: not cleared in {result.rounds} rounds"
    binding = result.price > supply.ask * (1 + 1e-9)
    assert binding.any()
    rel = np.abs(result.offer_tokens[binding] / supply.capacity[binding] - 1.0)
    assert rel.max() < 1e-6


def test_the_stiff_equilibrium_is_the_one_a_long_clipped_iteration_reaches():
    """Where both reach it, the equilibrium is the same: scaling changes the path only."""
    supply, demand = _stiff_book(0, tightness=2.0)
    scaled = clear(supply, demand, tol=1e-10, max_rounds=400)
    original = clearing._bounded
    try:
        clearing._bounded = lambda step: np.clip(
            np.nan_to_num(step, nan=0.0, posinf=clearing._MAX_STEP,
                          neginf=-clearing._MAX_STEP), -clearing._MAX_STEP, clearing._MAX_STEP)
        clipped = clear(supply, demand, tol=1e-10, max_rounds=400)
    finally:
        clearing._bounded = original
    assert scaled.converged and clipped.converged
    assert scaled.rounds < clipped.rounds
    np.testing.assert_allclose(scaled.price, clipped.price, rtol=1e-8)


def test_a_long_step_is_scaled_as_a_whole_keeping_its_direction():
    step = np.array([4.0, -2.0, 0.5, 0.0])
    bounded = clearing._bounded(step)
    assert np.abs(bounded).max() == pytest.approx(clearing._MAX_STEP)
    np.testing.assert_allclose(bounded, step * clearing._MAX_STEP / 4.0)


def test_a_short_step_is_unchanged_and_non_finite_entries_are_no_step():
    short = np.array([0.3, -0.9, 0.0])
    assert np.array_equal(clearing._bounded(short), short)
    bounded = clearing._bounded(np.array([np.nan, 0.5, np.inf, -np.inf]))
    assert np.isfinite(bounded).all()
    assert bounded[0] == 0.0
    assert np.abs(bounded).max() <= clearing._MAX_STEP
    assert bounded[2] > 0 > bounded[3]


def test_the_default_round_limit_clears_books_that_need_more_than_80_rounds():
    """``market.max_rounds`` is a guard, not a budget: the stiffest books (inelastic demand
    20x short of capacity, sharp choice) need 80-160 rounds and clear within the default,
    where the old default of 80 left them rationed at non-equilibrium prices."""
    from abm.config import parameter_table

    table = parameter_table()
    default = int(table.loc[(table["group"] == "market") & (table["name"] == "max_rounds"),
                            "value"].iloc[0])
    needed = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        supply, demand = random_market(rng, tightness=20.0, elasticity=(0.05, 0.07),
                                       choice_sensitivity=(10.0, 30.0), nesting=(0.3, 0.7),
                                       n_offers=40, n_classes=30)
        result = clear(supply, demand, tol=1e-7, max_rounds=default)
        assert result.converged, f"seed {seed}: not cleared in {result.rounds} rounds"
        needed.append(result.rounds)
    assert max(needed) > 80  # the old default would have rationed at least one of them


@pytest.mark.parametrize("seed", range(3))
def test_a_tolerance_below_the_rounding_floor_stops_at_the_stall_not_the_round_limit(seed):
    # Relative excess demand cannot be resolved below ~1e-13 in float64: a tolerance of
    # 1e-15 is never met. The rounds end once a run of them cuts nothing (each took up to 6
    # demand evaluations until the round limit: 847 s for a 3-month small run at
    # market.tolerance 3.6e-14 and max_rounds 577), unconverged, at the equilibrium a
    # reachable tolerance finds, with sales within capacity.
    supply, demand = _stiff_book(seed, tightness=5.0)
    stalled = clear(supply, demand, tol=1e-15, max_rounds=10_000)
    assert not stalled.converged
    assert stalled.rounds < 100
    reached = clear(supply, demand, tol=1e-9, max_rounds=400)
    assert reached.converged
    np.testing.assert_allclose(stalled.price, reached.price, rtol=1e-8)
    assert (stalled.offer_tokens <= supply.capacity * (1 + 1e-12)).all()


def test_a_stale_premium_of_one_ulp_goes_to_the_ask_instead_of_staying_for_ever():
    # At a log ask of ~18.4 one ulp is 3.6e-15: the midpoint of the ask and the ask plus one
    # ulp rounds back up, so halving alone left an offer nobody buys priced one ulp above
    # its ask, off target, every round until the round limit.
    ask = 18.43637158
    if 0.5 * (ask + np.nextafter(ask, np.inf)) == ask:  # ties go to the even mantissa
        ask = np.nextafter(ask, np.inf)
    log_ask = np.array([ask, ask, 0.5])
    log_price = np.array([np.nextafter(ask, np.inf), ask + 2.0, 0.5 + 2.0])
    assert 0.5 * (log_ask[0] + log_price[0]) == log_price[0]  # the trap
    halved = clearing._halved_premium(log_ask, log_price)
    assert halved[0] == log_ask[0]
    np.testing.assert_allclose(halved[1:] - log_ask[1:], [1.0, 1.0])
