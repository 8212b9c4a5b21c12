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
