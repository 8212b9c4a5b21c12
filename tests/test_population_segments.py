"""population_segments (all nations at once) gives the bits of UserPopulation.segments."""

from __future__ import annotations

import numpy as np
import pytest

from abm.agents.user_population import population_segments
from abm.config import RunConfig, validate
from abm.model import ComputeEconomy


def test_population_segments_equal_each_nations_segments_bit_for_bit():
    cfg = RunConfig()
    cfg.months = 3
    cfg.size.name = "small"
    model = ComputeEconomy(validate(cfg))
    model.step()
    users = model.users
    rng = np.random.default_rng(0)
    for u in users:  # shocks and localisation differ by nation
        u.log_shock = float(rng.normal(0, 0.3))
    n_u = 4
    need = rng.uniform(1, 5, n_u)
    share = rng.dirichlet(np.ones(n_u))
    carve = np.where(rng.random((len(users), n_u)) < 0.5, 0.2, 0.0)
    ref, budget, pop = population_segments(users, need, share, 0.01, carve)
    for n, u in enumerate(users):
        r, b, p = u.segments(need, share, 0.01, carve[n])
        assert ref[n].tobytes() == r.tobytes()
        assert budget[n].tobytes() == b.tobytes()
        assert pop[n].tobytes() == p.tobytes()
    with pytest.raises(ValueError, match="carve"):
        population_segments(users, need, share, 0.01, carve[:, :2])


def test_stacks_are_reused_only_for_the_same_users_and_cannot_go_stale():
    """The (N, G) stacks are built once per set of users: the same users give the same stack
    objects; other users (or a user's arrays replaced) rebuild them; a user's arrays are
    read-only, so a stack can never disagree with them."""
    from abm.agents import user_population as up

    cfg = RunConfig()
    cfg.months = 1
    cfg.size.name = "small"
    model = ComputeEconomy(validate(cfg))
    users = model.users
    first = up._stacked(users)
    assert up._stacked(users) is first
    with pytest.raises(ValueError, match="read-only"):
        users[0].need_weight[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        first[0][0, 0] = 1.0
    fewer = up._stacked(users[1:])
    assert fewer is not first and fewer[0].shape[0] == len(users) - 1
    old = users[0].need_weight
    users[0].need_weight = old * 2.0  # a replaced array (writeable): a fresh, uncached stack
    again = up._stacked(users)
    assert again is not first
    np.testing.assert_array_equal(again[0][0], old * 2.0)
    np.testing.assert_array_equal(again[0][1:], first[0][1:])
    assert up._stacked(users) is not again  # not cached while an array is writeable


def test_people_are_recomputed_exactly_when_localisation_or_shares_change():
    """The segments' people are cached between months; a nation's localisation or the
    use-case shares changing gives fresh people equal to the per-nation method's."""
    cfg = RunConfig()
    cfg.months = 1
    cfg.size.name = "small"
    model = ComputeEconomy(validate(cfg))
    users = model.users
    n_u = 3
    need, share = np.ones(n_u), np.array([0.5, 0.3, 0.2])
    carve = np.zeros((len(users), n_u))
    _, _, pop = population_segments(users, need, share, 0.01, carve)
    _, _, again = population_segments(users, need, share, 0.01, carve)
    assert again is pop and not pop.flags.writeable
    users[1].nation.localisation_share = 0.37
    _, _, moved = population_segments(users, need, share, 0.01, carve)
    assert moved is not pop
    one = users[1].segments(need, share, 0.01, carve[1])[2]
    assert moved[1].tobytes() == one.tobytes()
    _, _, reshared = population_segments(users, need, share[::-1].copy(), 0.01, carve)
    for n, u in enumerate(users):
        assert reshared[n].tobytes() == u.segments(need, share[::-1].copy(), 0.01,
                                                   carve[n])[2].tobytes()


def test_nations_with_different_income_groups_are_refused():
    cfg = RunConfig()
    cfg.months = 1
    cfg.size.name = "small"
    model = ComputeEconomy(validate(cfg))
    users = model.users
    users[0].population = np.ones(users[0].population.size + 1)
    with pytest.raises(ValueError, match="same number of income groups"):
        population_segments(users, np.ones(2), np.array([0.5, 0.5]), 0.01,
                            np.zeros((len(users), 2)))


@pytest.mark.parametrize("seed", range(3))
def test_draw_shocks_equal_each_populations_draw_bit_for_bit(seed):
    """The vectorised AR(1) draw takes the model RNG's numbers in the same order as one
    scalar draw per population, and leaves the RNG in the same state."""
    from abm.agents.user_population import draw_shocks

    cfg = RunConfig()
    cfg.months = 1
    cfg.size.name = "small"
    model = ComputeEconomy(validate(cfg))
    users = model.users
    start = np.random.default_rng(seed).normal(0.0, 0.4, len(users))
    sd, persistence = 0.07 * (seed + 1), 0.9 - 0.2 * seed
    for u, x in zip(users, start, strict=True):
        u.log_shock = float(x)
    model.rng = np.random.default_rng(seed)
    for u in users:
        u.draw_shock(sd, persistence)
    one_by_one = [u.log_shock for u in users]
    after_one_by_one = model.rng.standard_normal()
    for u, x in zip(users, start, strict=True):
        u.log_shock = float(x)
    model.rng = np.random.default_rng(seed)
    draw_shocks(users, model.rng, sd, persistence)
    assert np.array(one_by_one).tobytes() == np.array([u.log_shock for u in users]).tobytes()
    assert all(type(u.log_shock) is float for u in users)
    assert model.rng.standard_normal() == after_one_by_one
    draw_shocks([], model.rng, sd, persistence)  # nobody to draw for: no draw
