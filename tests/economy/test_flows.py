"""Per-class sums of the clearing's flows equal the whole-matrix expressions bit for bit
(abm.economy.flows)."""

from __future__ import annotations

import numpy as np
import pytest

from abm.economy import flows


def _instance(seed: int, n_cls: int, n_off: int, n_nat: int = 7):
    rng = np.random.default_rng(seed)
    flow = rng.lognormal(0.0, 3.0, size=(n_cls, n_off)) * (rng.random((n_cls, n_off)) < 0.6)
    cls_nat = rng.integers(0, n_nat, size=n_cls)
    off_nat = rng.integers(-1, n_nat, size=n_off)  # -1: a region hosted by no nation
    by_nat = rng.uniform(0.0, 300.0, size=(n_nat, n_off))
    return flow, cls_nat, off_nat, by_nat


@pytest.mark.parametrize("seed, n_cls, n_off", [(0, 1, 1), (1, 5, 3), (2, 300, 700),
                                                 (3, 2500, 503), (4, 40, 140_000)])
def test_blocks_equal_the_whole_matrix(seed, n_cls, n_off):
    flow, cls_nat, off_nat, by_nat = _instance(seed, n_cls, n_off)
    tokens, foreign = flows.class_tokens(flow, cls_nat, off_nat)
    assert tokens.tobytes() == flow.sum(axis=1).tobytes()
    expected = (flow * (off_nat[None, :] != cls_nat[:, None])).sum(axis=1)
    assert foreign.tobytes() == expected.tobytes()
    weighted = flows.class_weighted(flow, cls_nat, by_nat)
    assert weighted.tobytes() == (flow * by_nat[cls_nat]).sum(axis=1).tobytes()


def test_shapes_that_disagree_are_refused():
    flow, cls_nat, off_nat, by_nat = _instance(6, 4, 5)
    with pytest.raises(ValueError, match="flows: expected shape"):
        flows.class_tokens(flow, cls_nat[:3], off_nat)
    with pytest.raises(ValueError, match="must be"):
        flows.class_weighted(flow, cls_nat, by_nat[:, :4])
    with pytest.raises(ValueError, match=r"class_nation: indices must lie in \[0, 2\)"):
        flows.class_weighted(flow, np.array([0, 1, 2, 0]), by_nat[:2])
