"""The economy over its whole horizon: validation against data, smooth and bounded dynamics,
and the direction of every scenario (end-to-end runs of the real model)."""

from __future__ import annotations

import numpy as np
import pytest

from abm.config import RunConfig, validate
from abm.directions import DIRECTIONS, evaluate
from abm.run import run
from abm.validate import format_table, validate_baseline
from tests.model.conftest import small_config, small_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def baseline():
    return run(validate(RunConfig())).tables  # default world, January 2025 - December 2035


def test_the_validation_report_passes_at_three_seeds():
    results = validate_baseline(seeds=3, jobs=1)
    failed = [r.moment for r in results if r.verdict != "pass"]
    assert not failed, format_table(results)


def test_no_sawtooth_in_concentration_or_shares(baseline):
    g, p = baseline["global"], baseline["providers"]
    d = np.diff(g["hhi_revenue"].to_numpy())
    assert np.corrcoef(d[:-1], d[1:])[0, 1] > -0.5
    shares = p.pivot(index="month", columns="provider", values="revenue_share").fillna(0.0)
    changes = np.abs(np.diff(shares.to_numpy(), axis=0))
    assert np.median(changes) < 0.02


def test_the_frontier_tier_is_more_concentrated_than_the_small_tier(baseline):
    # Vipra & Korinek (2023): the frontier tends to natural monopoly, lagging tiers compete
    g = baseline["global"]
    assert (g["hhi_frontier"] > g["hhi_small"]).mean() > 0.9


def test_no_nan_anywhere_over_the_horizon(baseline):
    for name, df in baseline.items():
        numeric = df.select_dtypes("number")
        assert np.isfinite(numeric.to_numpy(float)).all(), name


def test_a_600_month_run_stays_bounded():
    tables = run(small_config(months=600)).tables
    g, p = tables["global"], tables["providers"]
    yearly = g.groupby(g["month"] // 12)[["energy_twh", "capacity_h100e"]].mean()
    growth = yearly.pct_change()
    # energy bends: its growth in the last decade is below that of the first
    assert growth["energy_twh"].iloc[-10:].mean() < growth["energy_twh"].iloc[1:11].mean()
    assert g["energy_twh"].max() < 1e5  # TWh/yr: bounded, not exploding
    assert np.isfinite(g.select_dtypes("number").to_numpy(float)).all()
    # No provider keeps investing through years of losses: once its operating profit (EBIT)
    # over the trailing year has been negative for two years, it has stopped spending on
    # capacity (a lab's training is funded by outside capital, so it is not in EBIT).
    cov = int(small_config().supply.covenant_months)
    for name, df in p.groupby("provider"):
        trailing = df["operating_profit"].rolling(cov, min_periods=cov).sum().to_numpy()
        investing = (df["capex"] > 0).to_numpy()
        run_length = 0
        for loss, invest in zip(trailing < 0, investing, strict=True):
            run_length = run_length + 1 if loss else 0
            assert not (run_length > 24 and invest), name
    # reorganisation keeps debt within reach of the fleet's value
    assert (p["cash"] > -1e13).all()


@pytest.mark.parametrize("direction", DIRECTIONS, ids=lambda d: d.scenario)
def test_every_scenario_moves_its_headline_outcome_the_way_theory_predicts(direction):
    seeds, months, window = (0, 1, 2, 3), 48, 12
    base = [small_run(months=months, seed=s) for s in seeds]
    runs = [small_run(months=months, seed=s, scenario=direction.scenario) for s in seeds]
    result = evaluate(direction, runs, base, months, window)
    assert result.confirmed, (direction.reason, result)
