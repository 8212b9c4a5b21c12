"""Per-class sums of the clearing's flows equal the whole-matrix expressions
(abm.economy.flows): the token totals bit for bit, the weighted sums to rounding, whether
the classes come nation by nation (the demand book's layout) or in any order."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from abm.economy import flows


def _instance(seed: int, n_cls: int, n_off: int, n_nat: int = 7, blocked: int = 0):
    """``blocked`` > 0: the first ``n_nat * blocked`` classes nation by nation, ``blocked``
    each (the demand book's user classes), the rest (startups) at random."""
    rng = np.random.default_rng(seed)
    flow = rng.lognormal(0.0, 3.0, size=(n_cls, n_off)) * (rng.random((n_cls, n_off)) < 0.6)
    cls_nat = rng.integers(0, n_nat, size=n_cls)
    if blocked:
        cls_nat[:n_nat * blocked] = np.repeat(np.arange(n_nat), blocked)
    off_nat = rng.integers(-1, n_nat, size=n_off)  # -1: a region hosted by no nation
    by_nat = rng.uniform(0.0, 300.0, size=(n_nat, n_off))
    return flow, cls_nat, off_nat, by_nat


@pytest.mark.parametrize("seed, n_cls, n_off, blocked", [
    (0, 1, 1, 0), (1, 5, 3, 0), (2, 300, 700, 0), (3, 2500, 503, 0), (4, 40, 140_000, 0),
    (5, 7, 9, 1), (6, 2494, 503, 50), (7, 2400, 503, 24),
    (8, 60, 30, 8), (9, 21, 4, 3)])
def test_sums_equal_the_whole_matrix(seed, n_cls, n_off, blocked):
    flow, cls_nat, off_nat, by_nat = _instance(seed, n_cls, n_off, blocked=blocked)
    tokens, foreign = flows.class_tokens(flow, cls_nat, off_nat)
    assert tokens.tobytes() == flow.sum(axis=1).tobytes()
    expected = (flow * (off_nat[None, :] != cls_nat[:, None])).sum(axis=1)
    assert_allclose(foreign, expected, rtol=1e-13, atol=0.0)
    assert (foreign <= tokens).all()
    # every offer foreign to every class (one nation's classes, the batched path): the
    # totals to rounding, never above them
    all_foreign = flows.class_tokens(flow, np.zeros(n_cls, int), np.full(n_off, 1))[1]
    assert_allclose(all_foreign, tokens, rtol=1e-13, atol=0.0)
    assert (all_foreign <= tokens).all()
    weighted = flows.class_weighted(flow, cls_nat, by_nat)
    assert_allclose(weighted, (flow * by_nat[cls_nat]).sum(axis=1), rtol=1e-13, atol=0.0)


@pytest.mark.parametrize("row, n_rows, k", [
    ([0, 0, 1, 1, 2, 2], 3, 2), ([0, 0, 1, 1, 2, 2, 1, 0], 3, 2), ([0, 1, 2], 3, 1),
    ([0, 0, 1, 1], 3, 0), ([1, 0], 2, 0), ([0, 0, 1, 2, 2], 3, 0), ([], 3, 0),
    ([0, 0, 0], 1, 3)])
def test_nation_block_is_found_only_where_it_is(row, n_rows, k):
    assert flows._nation_block(np.asarray(row, dtype=int), n_rows) == k


def test_shapes_that_disagree_are_refused():
    flow, cls_nat, off_nat, by_nat = _instance(6, 4, 5)
    with pytest.raises(ValueError, match="flows: expected shape"):
        flows.class_tokens(flow, cls_nat[:3], off_nat)
    with pytest.raises(ValueError, match="must be"):
        flows.class_weighted(flow, cls_nat, by_nat[:, :4])
    with pytest.raises(ValueError, match=r"class_nation: indices must lie in \[0, 2\)"):
        flows.class_weighted(flow, np.array([0, 1, 2, 0]), by_nat[:2])
