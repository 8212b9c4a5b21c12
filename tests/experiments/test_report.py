"""``python -m abm.report``: the one-page quick look of a run and the comparison of two."""

from __future__ import annotations

import struct

import pandas as pd
import pytest

from abm import plots, report
from abm.plots import PANELS, RunData

from .conftest import run_abm


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    dirs = []
    for scenario in ("baseline", "open_weights_surge"):
        run_dir = base / scenario
        proc = run_abm(f"scenario={scenario}", "size=small", "months=14",
                       f"hydra.run.dir={run_dir}", cwd=base)
        assert proc.returncode == 0, proc.stderr
        dirs.append(run_dir)
    return base, dirs


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_one_run_gives_one_a4_page_next_to_the_run(two_runs):
    base, (a, _) = two_runs
    proc = run_abm(str(a), cwd=base, module="abm.report")
    assert proc.returncode == 0, proc.stderr
    out = a / "report.png"
    assert f"wrote {out}" in proc.stderr
    assert _png_size(out) == (1240, 1753)  # A4 at 150 dpi
    assert out.stat().st_size > 50_000
    first = out.read_bytes()
    again = run_abm(str(a), "--out", str(base / "again.png"), cwd=base, module="abm.report")
    assert again.returncode == 0, again.stderr
    assert (base / "again.png").read_bytes() == first  # same run, same bytes


def test_two_runs_give_a_comparison(two_runs):
    base, (a, b) = two_runs
    proc = run_abm(str(a), str(b), cwd=base, module="abm.report")
    assert proc.returncode == 0, proc.stderr
    assert _png_size(a / "report_vs_open_weights_surge.png") == (1240, 1753)
    target = base / "sub" / "cmp.png"
    proc = run_abm(str(a), str(b), "--out", str(target), cwd=base, module="abm.report")
    assert proc.returncode == 0 and target.is_file()


def test_comparison_table_changes_are_points_for_shares_and_percent_for_levels(two_runs):
    _, dirs = two_runs
    runs = [plots.load(d) for d in dirs]
    header, rows = report._table_rows(runs)
    assert header[2:] == ["A: baseline", "B: open_weights_surge", "B - A"]
    by_label = {r[0]: r for r in rows}
    assert by_label["Rent share of spending"][4].endswith(" pp")
    assert by_label["Tokens served"][4].endswith("%")
    a_end = runs[0].world.iloc[-1]["rent_share"]
    b_end = runs[1].world.iloc[-1]["rent_share"]
    assert by_label["Rent share of spending"][4] == f"{100 * (b_end - a_end):+.1f} pp"


def test_bad_arguments_are_clear_errors(two_runs, tmp_path):
    base, (a, b) = two_runs
    (tmp_path / "manifest.json").write_text('{"status": "running"}')
    proc = run_abm(str(tmp_path), cwd=base, module="abm.report")
    assert proc.returncode == 2 and "not a complete run" in proc.stderr
    proc = run_abm(str(tmp_path / "nope"), cwd=base, module="abm.report")
    assert proc.returncode == 2 and "no such run directory" in proc.stderr
    proc = run_abm(str(a), str(b), str(a), cwd=base, module="abm.report")
    assert proc.returncode == 2 and "one or two run directories" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_and_new_columns_are_data_not_code(two_runs):
    """A run without some listed columns still draws; a new column is one line in a panel."""
    _, (a, _) = two_runs
    run = plots.load(a)
    rents = next(p for p in PANELS if p.key == "rents")
    listed = [c for c, _ in rents.present(run.world)]
    assert "scarcity_rent_share" in listed and "rent_share" in listed
    dropped = ["lerner", "atkinson_access", "price_mid", "scarcity_rent_share"]
    old = RunData("old", run.world.drop(columns=dropped), run.nations)
    assert report.report_figure([old]) is not None
    assert [c for c, _ in rents.present(old.world)] == [c for c in listed if c not in dropped]
    new = RunData("new", old.world.assign(scarcity_rent_share=0.25), run.nations)
    fig = plots.panel_figure(rents, [new])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "scarcity rent share" in labels
    nothing = RunData("none", pd.DataFrame({"month": [0, 1]}))
    assert plots.panel_figure(rents, [nothing]) is None
