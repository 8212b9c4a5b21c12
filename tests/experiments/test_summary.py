"""The headline summary: which months, which metrics, and that the CLI prints it after a
single run but not for the jobs of a sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abm.summary import HEADLINE, Metric, format_summary, headline, moments, month_label

from .conftest import run_abm


def _world(months: int, columns=("hhi_revenue", "rent_share")) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    data = {"month": np.arange(months)}
    for c in columns:
        data[c] = rng.random(months)
    return pd.DataFrame(data)


def test_month_labels_are_calendar_months():
    assert month_label(0) == "2025-01"
    assert month_label(60) == "2030-01"
    assert month_label(131) == "2035-12"


@pytest.mark.parametrize(("months", "expected"), [
    (1, [0]), (6, [0, 5]), (60, [0, 59]), (61, [0, 60]), (72, [0, 60, 71]),
    (132, [0, 60, 131])])
def test_moments_are_start_2030_when_reached_and_end(months, expected):
    assert moments(_world(months)) == expected


def test_headline_takes_the_exact_values_and_skips_missing_columns():
    world = _world(72, columns=("hhi_revenue", "rent_share"))
    table = headline(world)
    assert list(table.index) == ["hhi_revenue", "rent_share"]  # HEADLINE order, others absent
    assert list(table.columns) == ["2025-01", "2030-01", "2030-12"]
    assert table.at["rent_share", "2030-01"] == world.loc[60, "rent_share"]
    assert table.at["hhi_revenue", "2030-12"] == world.loc[71, "hhi_revenue"]


def test_a_new_column_is_one_more_metric():
    world = _world(3, columns=("hhi_revenue", "scarcity_rent_share"))
    text = format_summary(world)
    assert "Scarcity rent share" in text
    extra = (*HEADLINE, Metric("brand_new", "A brand-new column", "share", "share"))
    assert "A brand-new column" in format_summary(_world(3, ("brand_new",)), metrics=extra)


def test_formats():
    assert Metric("x", "x", "", "share").format(0.12345) == "0.123"
    assert Metric("x", "x", "", "index").format(2203.4) == "2,203"
    assert Metric("x", "x", "", "general").format(2.6e9) == "2.6e+09"
    assert Metric("x", "x", "", "general").format(float("nan")) == "n/a"


def test_empty_table_is_a_clear_error():
    with pytest.raises(ValueError, match="no rows"):
        headline(pd.DataFrame({"month": []}))


def test_single_run_prints_the_summary_and_sweeps_do_not(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_abm("size=small", "months=3", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    world = pd.read_parquet(run_dir / "global.parquet")
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("baseline (size small, seed 0, 3 months)")
    assert lines[1].split()[-2:] == ["2025-01", "2025-03"]
    hhi = next(ln for ln in lines if ln.startswith("HHI of revenue"))
    assert hhi.split()[-2:] == [f"{world.hhi_revenue.iloc[0]:,.0f}",
                                f"{world.hhi_revenue.iloc[-1]:,.0f}"]

    sweep = run_abm("-m", "size=small", "months=2", "seed=0,1",
                    f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert sweep.returncode == 0, sweep.stderr
    assert "HHI of revenue" not in sweep.stdout + sweep.stderr
    assert "[2/2] done" in sweep.stderr


def test_reproduce_command_leaves_out_hydra_settings_and_quotes():
    from abm.summary import reproduce_command

    assert reproduce_command(["scenario=x", "hydra.run.dir=/tmp/a", "seed=1"]) == (
        "python -m abm scenario=x seed=1")
    assert reproduce_command(["size.nations=[China, India]"]) == (
        "python -m abm 'size.nations=[China, India]'")
    assert reproduce_command([]) == "python -m abm"


def test_changes_are_points_for_shares_and_percent_for_levels():
    from abm.summary import change_text

    share = Metric("x", "x", "share", "share")
    level = Metric("y", "y", "TWh/yr")
    assert change_text(share, 0.01, 0.1725) == "+16.2 pp"
    assert change_text(level, 200.0, 150.0) == "-25%"
    assert change_text(level, 0.0, 1.0) == "n/a"
    assert change_text(share, float("nan"), 1.0) == "n/a"
