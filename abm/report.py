"""A one-page quick look at a run, or a comparison of two: ``python -m abm.report``.

::

    python -m abm.report RUN_DIR [--out FILE.png]           # one run
    python -m abm.report RUN_DIR_A RUN_DIR_B [--out FILE.png]   # A (solid) against B (dashed)

The page has a title (scenario, size, seed, months, config hash), the command that reproduces
each run, the headline table (:mod:`abm.summary`: start, January 2030, end; for two runs the
end values and the change from A to B, in percentage points for shares and percent for
levels), the time-series panels of :data:`abm.plots.PANELS` and the per-nation bars of
:data:`abm.plots.NATION_PANELS`. The default output is ``RUN_DIR/report.png``, or
``RUN_DIR_A/report_vs_<name of RUN_DIR_B>.png`` for two runs. The same runs give the same
bytes.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from abm import plots
from abm.plots import NATION_PANELS, PANELS, RunData
from abm.summary import (
    HEADLINE,
    available,
    change_text,
    headline,
    reproduce_command,
)

PAGE_IN = (8.27, 11.69)  # A4 portrait
DPI = 150
ROW_IN = 0.18  # height of one row of the headline table


def _subtitle(run: RunData) -> str:
    m = run.manifest
    digest = str(m.get("config_hash") or "")[:12]
    return (f"{run.label}: size {m.get('size', '?')}, seed {m.get('seed', '?')}, "
            f"{m.get('months', '?')} months, config {digest or '?'}\n"
            f"    {reproduce_command(m.get('overrides') or [])}")


def _table_rows(runs: Sequence[RunData]) -> tuple[list[str], list[list[str]]]:
    by_col = {m.column: m for m in HEADLINE}
    if len(runs) == 1:
        table = headline(runs[0].world)
        header = ["metric", "unit", *table.columns]
        rows = [[by_col[c].label, by_col[c].unit, *(by_col[c].format(v) for v in vals)]
                for c, vals in table.iterrows()]
        return header, rows
    a, b = runs
    common = [m for m in available(a.world) if m.column in b.world.columns]
    end_a = a.world.iloc[-1]
    end_b = b.world.iloc[-1]
    header = ["metric", "unit", f"A: {a.label}", f"B: {b.label}", "B - A"]
    rows = [[m.label, m.unit, m.format(end_a[m.column]), m.format(end_b[m.column]),
             change_text(m, float(end_a[m.column]), float(end_b[m.column]))] for m in common]
    return header, rows


def _draw_table(ax, header: list[str], rows: list[list[str]]) -> None:
    ax.axis("off")
    if not rows:
        return
    table = ax.table(cellText=rows, colLabels=header, bbox=(0, 0, 1, 1), cellLoc="right",
                     colLoc="right", edges="horizontal")
    table.auto_set_font_size(False)
    table.set_fontsize(6.5)
    for (r, c), cell in table.get_celld().items():
        if c < 2:
            cell.set_text_props(ha="left")
            cell._loc = "left"  # matplotlib has no public setter for one cell's alignment
        if r == 0:
            cell.set_text_props(weight="bold")
    table.auto_set_column_width(list(range(len(header))))


def report_figure(runs: Sequence[RunData]):
    """The one-page figure of one run or a comparison of two (a matplotlib Figure)."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    if not 1 <= len(runs) <= 2:
        raise ValueError(f"a report shows one or two runs, got {len(runs)}")
    plots.distinct_labels(list(runs))
    panels = [p for p in PANELS if any(p.present(r.world) for r in runs)]
    nation_panels = [p for p in NATION_PANELS
                     if any(not plots.nation_values(r, p.column).empty for r in runs)]
    n_rows = -(-(len(panels)) // 2) + (1 if nation_panels else 0)
    header, rows = _table_rows(runs)
    n_nations = max((len(plots.nation_values(r, p.column)) for r in runs for p in
                     nation_panels), default=0)
    ratios = [1.0] * (n_rows - (1 if nation_panels else 0))
    if nation_panels:
        ratios.append(max(1.0, 0.075 * n_nations * len(runs)))
    height = PAGE_IN[1]
    text_in = 0.45 + 0.3 * len(runs)          # title and the runs' command lines
    table_in = ROW_IN * (len(rows) + 1)
    table_top = 1.0 - text_in / height
    grid_top = table_top - (table_in + 0.45) / height
    with mpl.rc_context(plots.RC):
        fig = Figure(figsize=PAGE_IN, dpi=DPI)
        grid = fig.add_gridspec(n_rows, 2, height_ratios=ratios, left=0.12, right=0.97,
                                top=grid_top, bottom=0.04, hspace=0.6, wspace=0.42)
        title = ("compute-abm quick look: " + runs[0].label if len(runs) == 1 else
                 f"compute-abm comparison: A = {runs[0].label} (solid lines), "
                 f"B = {runs[1].label} (dashed)")
        fig.suptitle(textwrap.shorten(title, 110), x=0.02, ha="left", fontsize=11,
                     fontweight="bold", y=1.0 - 0.12 / height, va="top")
        lines = [("" if len(runs) == 1 else f"{'AB'[i]} = ") + _subtitle(r)
                 for i, r in enumerate(runs)]
        fig.text(0.02, 1.0 - 0.4 / height, "\n".join(lines), ha="left", va="top",
                 fontsize=6.5, family="DejaVu Sans Mono")
        _draw_table(fig.add_axes((0.05, table_top - table_in / height, 0.9,
                                  table_in / height)), header, rows)
        for i, panel in enumerate(panels):
            ax = fig.add_subplot(grid[i // 2, i % 2])
            plots.draw_panel(ax, panel, runs)
        for j, panel in enumerate(nation_panels):
            ax = fig.add_subplot(grid[n_rows - 1, j % 2])
            plots.draw_nation_panel(ax, panel, runs)
    return fig


def default_out(run_dirs: Sequence[Path]) -> Path:
    """``RUN_DIR/report.png``, or ``RUN_DIR_A/report_vs_<name of RUN_DIR_B>.png``."""
    if len(run_dirs) == 1:
        return run_dirs[0] / "report.png"
    return run_dirs[0] / f"report_vs_{run_dirs[1].resolve().name}.png"


def write_report(run_dirs: Sequence[str | Path], out: str | Path | None = None) -> Path:
    """Draw the report of one or two complete runs and write it (atomically) as PNG.

    Raises
    ------
    ValueError
        When a directory is not a complete run, or more than two are given.
    """
    from abm.outputs import atomic_write_bytes

    dirs = [Path(d) for d in run_dirs]
    if not 1 <= len(dirs) <= 2:
        raise ValueError(f"give one or two run directories, got {len(dirs)}")
    for d in dirs:
        if not d.is_dir():
            raise ValueError(f"{d}: no such run directory")
    runs = [plots.load(d) for d in dirs]
    fig = report_figure(runs)
    target = Path(out) if out is not None else default_out(dirs)
    atomic_write_bytes(target, plots.figure_png(fig, dpi=DPI))
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m abm.report",
        description="A one-page quick-look figure of a run (PNG); with two run directories, "
                    "a comparison (A solid, B dashed).")
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                        help="one or two run directories (each holding a complete manifest)")
    parser.add_argument("--out", default=None, metavar="FILE.png",
                        help="output file (default RUN_DIR/report.png, or "
                             "RUN_DIR_A/report_vs_<RUN_DIR_B name>.png)")
    args = parser.parse_args(argv)
    if len(args.run_dirs) > 2:
        parser.error(f"give one or two run directories, got {len(args.run_dirs)}")
    try:
        target = write_report(args.run_dirs, args.out)
    except ValueError as exc:
        print(f"abm.report: {exc}", file=sys.stderr)
        return 2
    print(f"abm.report: wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
