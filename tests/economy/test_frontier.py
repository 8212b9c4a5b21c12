"""One cost-quality frontier: capability from effective compute, compute per token."""

from __future__ import annotations

import math

import numpy as np
from numpy.testing import assert_allclose

from abm.economy import frontier


def test_capability_is_log_effective_compute_in_frontier_months():
    g, a = 4.5, 3.0
    assert frontier.capability_level(1.0, g, a) == 0.0
    # one year of frontier growth of effective compute is twelve frontier-months
    assert_allclose(frontier.capability_level(g * a, g, a), 12.0)
    assert_allclose(frontier.capability_level((g * a) ** 0.5, g, a), 6.0)


def test_compute_per_token_follows_the_square_root_of_effective_compute():
    # kappa = ln(G_eff) / 24: a model a year ahead needs sqrt(G_eff) times the compute per
    # token (Chinchilla: parameters ~ sqrt(training compute); Hoffmann et al. 2022)
    g, a = 4.5, 3.0
    k = frontier.kappa(g, a)
    assert_allclose(k, math.log(g * a) / 24)
    assert_allclose(frontier.compute_per_mtok(12.0, 0.5, k, 1.0) / 0.5, math.sqrt(g * a))
    # serving efficiency divides it; the same capability costs the same whoever serves it
    assert_allclose(frontier.compute_per_mtok(np.array([0.0, 0.0]), 0.5, k, 4.0), [0.125, 0.125])


def test_quality_falls_with_lag_and_is_one_at_the_frontier():
    q = frontier.relative_quality(np.array([0.0, 6.0, 12.0, -3.0]), 0.2)
    assert_allclose(q, [1.0, math.exp(-0.1), math.exp(-0.2), 1.0])
