"""Income distribution within a nation from GDP per capita and a Gini index."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri
from scipy.stats import norm


def lognormal_sigma(gini) -> np.ndarray:
    """Log-income standard deviation of a lognormal with this Gini: G = 2 Phi(s/sqrt2) - 1."""
    g = np.clip(np.asarray(gini, dtype=float), 1e-9, 1 - 1e-9)
    return np.sqrt(2.0) * ndtri((g + 1.0) / 2.0)


def quantile_group_means(mean_income, gini, n_groups: int) -> np.ndarray:
    """Mean income of each of ``n_groups`` equal-population quantile groups, per nation.

    Returns an (N, n_groups) array in the units of ``mean_income`` ($/person/year); each row
    averages to its ``mean_income``. Uses the lognormal partial-mean formula, vectorised.
    """
    mean_income = np.asarray(mean_income, dtype=float)[:, None]
    sigma = lognormal_sigma(gini)[:, None]
    edges = np.linspace(0.0, 1.0, n_groups + 1)
    z = ndtri(np.clip(edges, 0.0, 1.0))  # -inf .. inf
    # share of total income below population quantile p: Phi(z_p - sigma)
    cum_share = norm.cdf(z[None, :] - sigma)
    share = np.diff(cum_share, axis=1)
    return mean_income * share * n_groups
