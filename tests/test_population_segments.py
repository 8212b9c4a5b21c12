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
