"""Exogenous paths: growth that slows, test-time compute, Bass adoption."""

from __future__ import annotations

import math

import pytest
from numpy.testing import assert_allclose

from abm.economy import paths


def test_declining_growth_starts_at_initial_rate_and_ends_at_final():
    g0, g1 = 3.0, 1.2
    assert paths.declining_growth_index(0, g0, g1) == 1.0
    early = paths.declining_growth_index(1, g0, g1) ** 12
    assert abs(math.log(early) - math.log(g0)) < 0.02
    h = int(paths.HORIZON_YEARS * 12)
    late = paths.declining_growth_index(h + 12, g0, g1) / paths.declining_growth_index(h, g0, g1)
    assert_allclose(late, g1, rtol=1e-12)
    assert_allclose(paths.declining_growth_index(30, 2.0, 2.0), 2.0 ** 2.5, rtol=1e-12)


def test_test_time_multiplier_saturates_exponentially_at_its_final_power_of_exposure():
    assert paths.test_time_multiplier(0, 100.0, 6.0, 1.0) == 1.0
    # 95% of the final log value at the saturation horizon, the final value in the limit
    assert_allclose(math.log(paths.test_time_multiplier(72, 100.0, 6.0, 1.0)),
                    paths.SATURATION_SHARE * math.log(100.0))
    assert_allclose(paths.test_time_multiplier(1200, 100.0, 6.0, 0.5), 10.0, rtol=1e-9)
    assert paths.test_time_multiplier(72, 100.0, 6.0, 0.0) == 1.0
    # front-loaded: more of the growth comes in the first year than in the second
    first = paths.test_time_multiplier(12, 100.0, 6.0, 1.0)
    second = paths.test_time_multiplier(24, 100.0, 6.0, 1.0) / first
    assert first > second > 1.0


@pytest.mark.parametrize(("p", "q"), [(0.03, 0.38), (0.0, 0.5), (0.1, 0.0)])
def test_bass_adoption_starts_at_its_initial_share_rises_and_saturates(p, q):
    a = [paths.bass_adoption(m, 0.12, p, q) for m in (0, 12, 60, 1200)]
    assert_allclose(a[0], 0.12, rtol=1e-12)
    assert a[0] < a[1] < a[2] < a[3] <= 1.0
    assert_allclose(a[3], 1.0, atol=1e-3)


def test_bass_adoption_matches_the_closed_form():
    # F(t) = (1 - e^-(p+q)t) / (1 + (q/p) e^-(p+q)t) from F(0) = 0 (Bass 1969)
    p, q = 0.03, 0.38
    t0 = 2.0  # years at which the curve passes the initial share
    f = lambda t: (1 - math.exp(-(p + q) * t)) / (1 + q / p * math.exp(-(p + q) * t))  # noqa: E731
    a0 = f(t0)
    for years in (0.5, 3.0, 10.0):
        assert_allclose(paths.bass_adoption(12 * years, a0, p, q), f(t0 + years), rtol=1e-12)


def test_constant_adoption_without_diffusion():
    assert paths.bass_adoption(120, 0.3, 0.0, 0.0) == 0.3
