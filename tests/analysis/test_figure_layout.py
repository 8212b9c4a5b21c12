"""Figures 1, 2 and 8: small multiples, and changes of shares in percentage points."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import style
from analysis.figures import (
    Inputs,
    fig_concentration,
    fig_deltas,
    fig_rents,
    is_share,
    scenario_changes,
)
from analysis.loading import final_months, load_sweep


@pytest.fixture(scope="module")
def inputs(small_sweep):
    exp, _ = small_sweep
    style.use_agg()
    return Inputs(scenarios=exp, world=load_sweep(exp.directory))


def test_shares_are_points_and_levels_are_percent(inputs):
    assert is_share("rent_share") and is_share("gini_access") and is_share("cr4_revenue")
    assert not is_share("hhi_revenue") and not is_share("tokens_total")
    table = scenario_changes(inputs.world, ["rent_share", "tokens_total"]).set_index(
        ["scenario", "metric"])
    last = final_months(inputs.world, 12)
    per_run = last.groupby(["scenario", "run_id"])[["rent_share", "tokens_total"]].mean()
    means = per_run.groupby("scenario").mean()
    d_share = 100 * (means.loc["sovereign_cloud", "rent_share"] - means.loc["baseline",
                                                                             "rent_share"])
    d_level = 100 * (means.loc["sovereign_cloud", "tokens_total"] / means.loc[
        "baseline", "tokens_total"] - 1)
    row = table.loc[("sovereign_cloud", "rent_share")]
    assert row["unit"] == "pp" and np.isclose(row["change"], d_share)
    row = table.loc[("sovereign_cloud", "tokens_total")]
    assert row["unit"] == "%" and np.isclose(row["change"], d_level)


def test_figure_8_has_a_points_panel_and_a_percent_panel(inputs):
    drawn = fig_deltas(inputs)
    assert set(drawn.notes["units"]) == {"pp", "%"}
    assert "rent_share" in drawn.notes["change_pp"]["sovereign_cloud"]
    assert "tokens_total" in drawn.notes["change_pct"]["sovereign_cloud"]
    assert "rent_share" not in drawn.notes["change_pct"]["sovereign_cloud"]
    titles = [ax.get_title() for ax in drawn.fig.axes if ax.get_title()]
    assert titles == ["shares: change in percentage points",
                      "levels: change in percent of baseline"]


@pytest.mark.parametrize("draw", [fig_concentration, fig_rents])
def test_figures_1_and_2_are_one_panel_per_scenario_and_metric(inputs, draw):
    drawn = draw(inputs)
    visible = [ax for ax in drawn.fig.axes if ax.get_visible()]
    assert len(visible) == 2 * len(drawn.scenarios)  # two metrics x the scenarios
    titles = [ax.get_title() for ax in visible]
    assert titles == [style.scenario_label(s) for s in drawn.scenarios] * 2
    for ax in visible:  # each panel draws its own scenario's line (plus baseline's in grey)
        assert 1 <= len(ax.get_lines()) <= 3
