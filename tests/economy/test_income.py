"""Income groups from GDP per capita and Gini (lognormal)."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from abm import metrics
from abm.economy.income import lognormal_sigma, quantile_group_means


def test_group_means_average_to_gdp_and_reproduce_gini():
    gini = np.array([0.25, 0.4, 0.6])
    means = quantile_group_means([10_000.0, 50_000.0, 2_000.0], gini, 200)
    assert_allclose(means.mean(axis=1), [10_000.0, 50_000.0, 2_000.0], rtol=1e-9)
    assert (np.diff(means, axis=1) > 0).all()
    # Gini of fine quantile groups converges to the lognormal's Gini
    assert_allclose([metrics.gini(row) for row in means], gini, atol=0.01)


def test_sigma_formula_inverts_the_lognormal_gini():
    from scipy.stats import norm

    s = lognormal_sigma([0.3])[0]
    assert_allclose(2 * norm.cdf(s / np.sqrt(2)) - 1, 0.3, rtol=1e-12)
