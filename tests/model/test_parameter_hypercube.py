"""100 random configurations over every parameter's whole range run to the end (issue 9, kind 2).

A Latin hypercube (:class:`scipy.stats.qmc.LatinHypercube`, fixed seed) over all rows of
``parameters.csv`` at once: uniform within ``[min, max]``, log-uniform where the range is
positive and spans a factor of 100 or more; booleans are drawn true or false. Each config
runs 3 months in the small world with the monthly invariants checked.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy.stats import qmc

from abm.config import parameter_table
from abm.run import run
from tests.model.conftest import small_config

N_CONFIGS = 100
SEED = 20260101


@functools.cache
def hypercube(n: int = N_CONFIGS, seed: int = SEED) -> tuple[dict, ...]:
    """``n`` override dicts (``group__name``: value) over every parameter's range."""
    rows = list(parameter_table().itertuples())
    unit = qmc.LatinHypercube(d=len(rows), seed=seed).random(n)
    configs = []
    for u in unit:
        over = {}
        for r, x in zip(rows, u, strict=True):
            if r.type == "bool":
                over[f"{r.group}__{r.name}"] = bool(x < 0.5)
                continue
            lo, hi = float(r.min), float(r.max)
            if lo > 0 and hi / lo >= 100:
                v = float(np.exp(np.log(lo) + x * (np.log(hi) - np.log(lo))))
            else:
                v = lo + x * (hi - lo)
            if r.type == "int":
                v = int(min(max(round(v), lo), hi))
            over[f"{r.group}__{r.name}"] = min(max(v, lo), hi)
        configs.append(over)
    return tuple(configs)


def test_the_hypercube_spans_every_range():
    configs = hypercube()
    for r in parameter_table().itertuples():
        values = [c[f"{r.group}__{r.name}"] for c in configs]
        if r.type == "bool":
            assert set(values) == {False, True}
        else:
            assert r.min <= min(values) and max(values) <= r.max


@pytest.mark.slow
@pytest.mark.parametrize("i", range(N_CONFIGS))
def test_random_configs_over_all_ranges_run_with_invariants_holding(i):
    with np.errstate(all="ignore"):
        tables = run(small_config(months=3, **hypercube()[i])).tables
    assert len(tables["global"]) == 3
