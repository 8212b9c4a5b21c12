"""The estimator (analysis.emulator) recovers a synthetic truth within its intervals.

A cheap stochastic stand-in for the model (``toy_moments``: four moments of three
parameters with ~3% seed noise) is simulated at known parameters; its moments become the
data; the estimator, run exactly as on the model (Latin-hypercube design times seeds,
Gaussian-process emulators, MCMC), must put the truth inside the reported intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import emulator as emu
from analysis.emulator import TOY, Target, estimate, lhs, to_natural, toy_moments, toy_targets

FAST = {"steps": 500, "burn": 200, "draws": 600}


def _design(n: int = 40, seeds: int = 2, seed: int = 0):
    unit = lhs(TOY.num_vars, n, seed)
    x = to_natural(TOY, unit)
    values = np.stack([toy_moments(x, s) for s in range(seeds)], axis=1)
    return unit, values


def test_the_estimator_recovers_a_synthetic_truth_within_its_intervals():
    truth = np.array([1.2, 30.0, 0.4])
    unit, values = _design()
    res = estimate(TOY, unit, values, toy_targets(truth), seed=0, **FAST)
    s = res.summary.set_index("parameter")
    for name, value in zip(TOY.names, truth, strict=True):
        assert s.loc[name, "low"] <= value <= s.loc[name, "high"], (name, s.loc[name])
        assert s.loc[name, "low"] <= s.loc[name, "estimate"] <= s.loc[name, "high"]
    # the data identify every parameter: the posterior is far narrower than the prior
    assert (s["contraction"] < 0.4).all()
    assert (res.fit["cv_r2"] > 0.95).all()
    assert res.fit["z"].abs().max() < 1.0
    assert len(res.draws) == FAST["draws"] and list(res.draws.columns) == list(TOY.names)
    lo = np.array([b[0] for b in TOY.bounds])
    hi = np.array([b[1] for b in TOY.bounds])
    assert np.all((res.draws.to_numpy() >= lo) & (res.draws.to_numpy() <= hi))
    # identification: m_share is made by gamma alone, m_level by alpha alone
    ident = res.identification
    assert abs(ident.loc["m_share", "gamma"]) > 5 * abs(ident.loc["m_share", "alpha"])
    assert abs(ident.loc["m_level", "alpha"]) > 5 * abs(ident.loc["m_level", "beta"])


def test_an_unidentified_parameter_keeps_its_prior_width():
    truth = np.array([1.2, 30.0, 0.4])
    unit, values = _design()
    only_level = [t for t in toy_targets(truth) if t.moment == "m_level"]
    res = estimate(TOY, unit, values[:, :, :1], only_level, seed=0, **FAST)
    s = res.summary.set_index("parameter")
    assert s.loc["alpha", "contraction"] < 0.3         # m_level pins alpha down
    assert s.loc["gamma", "contraction"] > 0.7         # and says nothing of gamma
    assert s.loc["alpha", "low"] <= truth[0] <= s.loc["alpha", "high"]


def test_the_estimate_is_reproducible():
    truth = [0.8, 20.0, 0.7]
    unit, values = _design(24, 1)
    a = estimate(TOY, unit, values, toy_targets(truth), seed=5, **FAST)
    b = estimate(TOY, unit, values, toy_targets(truth), seed=5, **FAST)
    pd.testing.assert_frame_equal(a.draws, b.draws)
    pd.testing.assert_frame_equal(a.summary, b.summary)


@pytest.mark.slow
def test_the_intervals_cover_the_truth_at_about_their_level():
    # 90% intervals over 8 truths drawn from the prior x 3 parameters: ~22 of 24 expected;
    # at least 19 (a binomial(24, 0.9) falls below that with probability ~4%)
    rng = np.random.default_rng(11)
    unit, values = _design(48, 2, seed=3)
    inside = 0
    for _ in range(8):
        truth = to_natural(TOY, rng.uniform(0.1, 0.9, (1, TOY.num_vars)))[0]
        res = estimate(TOY, unit, values, toy_targets(truth), seed=1, **FAST)
        s = res.summary
        inside += int(((s["low"] <= truth) & (truth <= s["high"])).sum())
    assert inside >= 19, inside


def test_targets_are_read_with_their_scale_and_checked():
    table = pd.DataFrame({"moment": ["a", "b"], "value": [2.0, 0.0], "low": [1.0, 0.0],
                          "high": [4.0, 0.1]})
    a, b = emu.targets_from_table(table, ["a", "b"])
    assert a.transform == "log" and b.transform == "identity"
    assert a.sd == pytest.approx(np.log(4.0) / (2 * 1.959964), rel=1e-6)
    assert b.sd == pytest.approx(0.1 / (2 * 1.959964), rel=1e-6)
    assert np.isnan(a.g(0.0)) and a.g(np.e) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="'c' is not in the targets table"):
        emu.targets_from_table(table, ["c"])
    with pytest.raises(ValueError, match="low <= value <= high"):
        Target("x", 5.0, 1.0, 4.0)
    with pytest.raises(ValueError, match="positive band"):
        Target("x", 0.5, 0.0, 1.0, "log")


def test_a_moment_without_enough_finite_points_is_named():
    unit, values = _design(10, 1)
    values[:, :, 0] = np.nan
    with pytest.raises(ValueError, match="moment m_level: only 0 design points"):
        emu.fit_emulators(unit, values, toy_targets([1.0, 20.0, 0.5]))
