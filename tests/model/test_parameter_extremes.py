"""Every parameter at the ends of its allowed range runs to the end (issue 9, kind 2).

Each row of ``parameters.csv`` (read from :func:`abm.config.parameter_table`, never listed
here) is set to its ``min`` and to its ``max`` (booleans to both values) in a small world for
3 months; :func:`abm.run.run` checks the accounting identities after every month
(:mod:`abm.invariants`), so a run that finishes kept them. ``test_parameter_hypercube.py``
covers combinations of values.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from abm.config import ConfigError, parameter_table
from abm.run import run
from tests.model.conftest import small_config


def _extremes() -> list:
    cases = []
    for r in parameter_table().itertuples():
        key = f"{r.group}__{r.name}"
        if r.type == "bool":
            values = [False, True]
        else:
            values = [v for v in (r.min, r.max) if math.isfinite(v)]
            values = [int(v) if r.type == "int" else float(v) for v in values]
        cases += [pytest.param(key, v, id=f"{r.group}.{r.name}={v}") for v in values]
    return cases


@pytest.mark.slow
@pytest.mark.parametrize(("key", "value"), _extremes())
def test_every_parameter_at_its_min_and_max_runs_with_invariants_holding(key, value):
    with np.errstate(all="ignore"):
        tables = run(small_config(months=3, **{key: value})).tables
    assert len(tables["global"]) == 3


def test_the_extremes_cover_every_parameter():
    keys = {p.values[0] for p in _extremes()}
    assert keys == {f"{r.group}__{r.name}" for r in parameter_table().itertuples()}


@pytest.mark.parametrize(("key", "value"), [
    ("chips__vendor_price_usd", 0.0), ("demand__tokens_month0", 0.0),
    ("tiers__frontier_gpu_hours_per_mtok", 0.0), ("demand__tokens_month0", 1e60)])
def test_values_that_are_not_an_economy_are_refused_up_front_by_name(key, value):
    # A zero chip price, zero demand or zero compute per token used to crash mid-run
    # (ZeroDivisionError, NaN asks); 1e60 M tokens gave a traceback. Now outside the range.
    group, name = key.split("__")
    with pytest.raises(ConfigError, match=rf"{group}\.{name}: .* out of range; allowed"):
        small_config(months=3, **{key: value})


def test_a_world_with_almost_no_compute_clears_with_no_trade():
    # 1 H100e in the world leaves no site able to serve: the book used to be empty
    # ("supply: the book is empty") and the run crashed at month 0.
    table = parameter_table()
    low = float(table.query("group == 'supply' and name == 'world_compute_h100e'")["min"].iloc[0])
    g = run(small_config(months=2, supply__world_compute_h100e=low)).tables["global"]
    assert len(g) == 2 and np.isfinite(g["tokens_total"]).all()


@pytest.mark.parametrize(("months", "budget_share"), [(1, 0.0), (3, 1e-12)])
def test_a_world_whose_users_cannot_pay_runs_with_invariants_holding(months, budget_share):
    # No budget and no startups: the month-0 revenue per busy hour was a demand-weighted mean
    # with all-zero weights (ZeroDivisionError); a budget of 1e-12 let the calibration push
    # use-case weights to ~1e150, and month 1 overflowed into a NaN shell pipeline.
    from abm.model import ComputeEconomy

    cfg = small_config(months=months, demand__budget_share=budget_share,
                       startups__initial_per_usecase=0)
    model = ComputeEconomy(cfg)
    assert np.isfinite(model.expectations.revenue_per_busy_hour).all()
    assert (model.expectations.revenue_per_busy_hour > 0).all()
    assert np.isfinite(model.usecase_weight).all()
    g = run(cfg).tables["global"]
    assert len(g) == months and np.isfinite(g["tokens_total"]).all()


def test_chips_at_the_top_of_their_price_range_with_one_clearing_round_run():
    # At $1e9 per H100e asks are so high that tokens barely respond to the use-case weight;
    # the calibration's contraction multiplied the weights until they overflowed
    # ("reference_demand: contains NaN or inf" from build_demand). Weights are now bounded
    # (abm.economy.calibrate.MAX_WEIGHT_FACTOR).
    from abm.model import ComputeEconomy

    cfg = small_config(months=3, chips__vendor_price_usd=1e9, startups__enabled=False,
                       market__max_rounds=1)
    with np.errstate(over="raise", invalid="raise"):
        model = ComputeEconomy(cfg)
    assert np.isfinite(model.usecase_weight).all()
    g = run(cfg).tables["global"]
    assert len(g) == 3 and np.isfinite(g["tokens_total"]).all()
