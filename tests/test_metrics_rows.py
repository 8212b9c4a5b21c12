"""Many markets at once (issue 12): ``hhi_rows`` / ``cr_rows`` and the recorder's
``market_rows`` equal the market-by-market computations they replace, bit for bit (the
market totals to rounding: sequential, not pairwise, sums)."""

from __future__ import annotations

import numpy as np
import pytest

from abm import metrics
from abm.recorder import market_rows


def _matrix(rng: np.random.Generator, m: int, n: int) -> np.ndarray:
    x = rng.lognormal(rng.normal() * 20, 4, (m, n)) * (rng.random((m, n)) < 0.6)
    x[rng.random(m) < 0.2] = 0.0  # markets that sold nothing
    return x


@pytest.mark.parametrize("seed", range(5))
def test_hhi_rows_and_cr_rows_equal_the_row_by_row_indices(seed):
    rng = np.random.default_rng(seed)
    for m, n in [(1, 1), (3, 4), (7, 5), (40, 50), (12, 200)]:
        x = _matrix(rng, m, n)
        want_h = np.array([metrics.hhi(r) for r in x])
        want_c = np.array([metrics.cr(r, 4) for r in x])
        np.testing.assert_array_equal(metrics.hhi_rows(x), want_h)
        np.testing.assert_array_equal(metrics.cr_rows(x, 4), want_c)
        np.testing.assert_array_equal(metrics.cr_rows(x, 2), [metrics.cr(r, 2) for r in x])
        fortran = np.asfortranarray(x)  # a transposed or column-major matrix: the same bits
        np.testing.assert_array_equal(metrics.hhi_rows(fortran), want_h)
        np.testing.assert_array_equal(metrics.cr_rows(fortran, 4), want_c)


def test_rows_reproduce_published_vectors_and_extremes():
    x = np.array([[25.0, 25.0, 25.0, 25.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0],
                  [1e308, 1e308, 1e-308, 0.0]])
    h = metrics.hhi_rows(x)
    np.testing.assert_array_equal(h[:2], [2500.0, 10_000.0])
    assert np.isnan(h[2]) and h[3] == pytest.approx(5000.0)
    c = metrics.cr_rows(x, 1)
    np.testing.assert_array_equal(c[:2], [0.25, 1.0])
    assert np.isnan(c[2])


@pytest.mark.parametrize("bad, match", [
    (np.ones(3), "two-dimensional"), (np.ones((2, 0)), "at least one firm"),
    (np.array([[1.0, np.nan]]), "finite"), (np.array([[1.0, -1.0]]), "non-negative"),
    (np.array([["a", "b"]]), "values"),
])
def test_rows_refuse_bad_input_naming_values(bad, match):
    with pytest.raises(ValueError, match=match):
        metrics.hhi_rows(bad)
    with pytest.raises(ValueError, match=match):
        metrics.cr_rows(bad)


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_cr_rows_refuses_a_bad_k(k):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        metrics.cr_rows(np.ones((2, 3)), k)


def _market_loop(market, n_markets, provider, revenue, tokens, n_prov):
    """The recorder's former market-by-market code."""
    out = {"offers": [], "tokens": [], "revenue": [], "hhi_revenue": [], "cr4_revenue": []}
    for i in range(n_markets):
        here = market == i
        rev = np.bincount(provider[here], weights=revenue[here], minlength=n_prov)
        out["offers"].append(here.sum())
        out["tokens"].append(float(tokens[here].sum()))
        out["revenue"].append(float(revenue[here].sum()))
        out["hhi_revenue"].append(metrics.hhi(rev) if rev.sum() > 0 else 0.0)
        out["cr4_revenue"].append(metrics.cr(rev, 4) if rev.sum() > 0 else 0.0)
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("seed", range(4))
def test_market_rows_equal_the_market_by_market_loop(seed):
    rng = np.random.default_rng(seed)
    n_offers, n_markets, n_prov = int(rng.integers(1, 3000)), int(rng.integers(1, 60)), 50
    market = rng.integers(0, n_markets, n_offers)
    provider = rng.integers(0, n_prov, n_offers)
    tokens = rng.lognormal(0, 3, n_offers) * (rng.random(n_offers) < 0.7)
    revenue = tokens * rng.lognormal(0, 1, n_offers)
    got = market_rows(market, n_markets, provider, revenue, tokens, n_prov)
    want = _market_loop(market, n_markets, provider, revenue, tokens, n_prov)
    for key, value in want.items():
        if key in ("tokens", "revenue"):
            np.testing.assert_allclose(got[key], value, rtol=1e-12, atol=0.0, err_msg=key)
        else:
            np.testing.assert_array_equal(got[key], value, err_msg=key)
