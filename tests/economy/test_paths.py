"""Exogenous paths: growth that slows, test-time compute, quality from lag."""

from __future__ import annotations

import math

import numpy as np
from numpy.testing import assert_allclose

from abm.economy import paths


def test_declining_growth_starts_at_initial_rate_and_ends_at_final():
    g0, g1 = 3.0, 1.2
    assert paths.declining_growth_index(0, g0, g1) == 1.0
    # instantaneous yearly growth at month 0 ~ g0, after the horizon exactly g1
    early = paths.declining_growth_index(1, g0, g1) ** 12
    assert abs(math.log(early) - math.log(g0)) < 0.02
    h = int(paths.HORIZON_YEARS * 12)
    late = paths.declining_growth_index(h + 12, g0, g1) / paths.declining_growth_index(h, g0, g1)
    assert_allclose(late, g1, rtol=1e-12)
    # constant growth is plain compounding
    assert_allclose(paths.declining_growth_index(30, 2.0, 2.0), 2.0 ** 2.5, rtol=1e-12)


def test_test_time_multiplier_reaches_final_power_of_exposure():
    assert paths.test_time_multiplier(0, 100.0, 6.0, 1.0) == 1.0
    assert_allclose(paths.test_time_multiplier(72, 100.0, 6.0, 1.0), 100.0)
    assert_allclose(paths.test_time_multiplier(200, 100.0, 6.0, 0.5), 10.0)
    assert paths.test_time_multiplier(72, 100.0, 6.0, 0.0) == 1.0


def test_relative_quality_and_chinchilla_compute():
    assert_allclose(paths.relative_quality([0.0, 12.0], 0.35), [1.0, math.exp(-0.35)])
    # 10,000x training compute -> 100x compute per token (seed 004)
    assert_allclose(paths.frontier_compute_per_token(1e4), 100.0)
    assert np.all(np.diff(paths.relative_quality(np.arange(30), 0.3)) < 0)
