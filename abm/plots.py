"""The headline plots of one run, or of two side by side: used by ``abm.report`` and the
dashboard.

What is plotted is data, not code: :data:`PANELS` lists the time-series panels of the global
table (each with its columns), :data:`NATION_PANELS` the per-nation bars. A new output column
is one more ``(column, label)`` pair in a panel; a listed column that a run's table does not
have is left out of the plot, and a panel none of whose columns exist is skipped.

Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot state), so they can be
drawn from a server thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

START_YEAR = 2025
MAX_NATIONS = 20  # size=world has 200 synthetic nations: bars for the most populous
RUN_STYLES = ("-", "--")
COLORS = ("#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#56b4e9")
RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 6.5,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.3,
    "svg.hashsalt": "compute-abm",
}
PNG_METADATA = {"Software": "compute-abm"}


@dataclass(frozen=True)
class Panel:
    """A time-series panel of the global table: ``columns`` are ``(column, legend label)``."""

    key: str
    title: str
    ylabel: str
    columns: tuple[tuple[str, str], ...]
    log: bool = False
    ylim: tuple[float | None, float | None] | None = None
    hline: tuple[float, str] | None = None

    def present(self, world: pd.DataFrame) -> list[tuple[str, str]]:
        """The panel's columns that ``world`` has."""
        return [(c, label) for c, label in self.columns if c in world.columns]


@dataclass(frozen=True)
class NationPanel:
    """Per-nation bars of one column of the nations table, at a run's last month."""

    key: str
    title: str
    xlabel: str
    column: str
    log: bool = False
    xlim: tuple[float | None, float | None] | None = None


PANELS: tuple[Panel, ...] = (
    Panel("hhi", "Concentration (HHI)", "HHI (0-10,000)",
          (("hhi_revenue", "revenue"), ("hhi_tokens", "tokens")),
          ylim=(0, 10_000), hline=(1_800, "2023 Merger Guidelines")),
    Panel("cr4", "Top-four share (CR4)", "share (0-1)",
          (("cr4_revenue", "revenue"), ("cr4_tokens", "tokens")), ylim=(0, 1)),
    Panel("rents", "Rents: Lerner index and rent share", "share (0-1)",
          (("lerner", "Lerner (p - mc)/p"),
           ("markup_lerner", "markup Lerner"),
           ("rent_share", "rent share of spending"),
           ("scarcity_rent_share", "scarcity rent share")), ylim=(0, 1)),
    Panel("left_out", "Unserved and priced out", "share of demand (0-1)",
          (("unserved_share", "unserved"), ("priced_out_share", "priced out")), ylim=(0, 1)),
    Panel("access", "Inequality of access", "index (0-1)",
          (("gini_access", "Gini"), ("atkinson_access", "Atkinson (0.5)")), ylim=(0, 1)),
    Panel("prices", "Prices by tier", "$/M tokens (log)",
          (("price_frontier", "frontier"), ("price_mid", "mid"), ("price_small", "small"),
           ("price_open", "open weights")), log=True),
    Panel("open_weights", "Open-weight share of tokens", "share (0-1)",
          (("open_weight_share", "open-weight share"),), ylim=(0, 1)),
    Panel("energy", "Electricity", "TWh/yr",
          (("energy_twh", "data centres"), ("energy_ai_twh", "AI")), ylim=(0, None)),
)

NATION_PANELS: tuple[NationPanel, ...] = (
    NationPanel("tokens_per_capita", "Tokens per capita", "tokens per person per month (log)",
                "tokens_per_capita", log=True),
    NationPanel("dependence", "Dependence (served abroad)", "share of tokens (0-1)",
                "dependence_ratio", xlim=(0, 1)),
)


@dataclass
class RunData:
    """What the plots need of one run: a label, its global and nations tables, its manifest."""

    label: str
    world: pd.DataFrame
    nations: pd.DataFrame = field(default_factory=pd.DataFrame)
    manifest: dict[str, Any] = field(default_factory=dict)
    run_dir: Path | None = None


def load(run_dir: str | Path, label: str | None = None) -> RunData:
    """Read a complete run directory.

    Raises
    ------
    ValueError
        When ``run_dir`` is not a complete run (no manifest, or its status is not complete).
    """
    from abm.collect import load_run
    from abm.outputs import read_manifest

    run_dir = Path(run_dir)
    tables = load_run(run_dir)
    manifest = read_manifest(run_dir) or {}
    return RunData(label=label or str(manifest.get("scenario") or run_dir.name),
                   world=tables["global"], nations=tables.get("nations", pd.DataFrame()),
                   manifest=manifest, run_dir=run_dir)


def distinct_labels(runs: Sequence[RunData]) -> None:
    """Make the labels of ``runs`` differ (scenario, then directory name, then A/B)."""
    if len(runs) < 2 or len({r.label for r in runs}) == len(runs):
        return
    for r in runs:
        if r.run_dir is not None:
            r.label = f"{r.label} ({r.run_dir.name})"
    if len({r.label for r in runs}) < len(runs):
        for letter, r in zip("ABCDEFGH", runs, strict=False):
            r.label = f"{letter}: {r.label}"


def years(month: pd.Series) -> np.ndarray:
    """Model months as fractional calendar years (month 0 = 2025.0)."""
    return START_YEAR + np.asarray(month, dtype=float) / 12.0


def _style_legend(ax, handles: list, title: str | None = None) -> None:
    if handles:
        ax.legend(handles=handles, loc="best", frameon=False, title=title,
                  handlelength=1.8, borderaxespad=0.2)


def draw_panel(ax, panel: Panel, runs: Sequence[RunData]) -> bool:
    """Draw ``panel`` for every run (colour = column, line style = run); False when no run
    has any of its columns (the axes is then left empty)."""
    from matplotlib.lines import Line2D

    drawn: dict[str, str] = {}
    for r_i, run in enumerate(runs):
        present = panel.present(run.world)
        for c_i, (column, label) in enumerate(panel.columns):
            if (column, label) not in present:
                continue
            data = run.world[["month", column]].dropna()
            if panel.log:
                data = data[data[column] > 0]
            color = COLORS[c_i % len(COLORS)]
            ax.plot(years(data["month"]), data[column], color=color,
                    linestyle=RUN_STYLES[r_i % len(RUN_STYLES)])
            drawn[label] = color
    if not drawn:
        return False
    if panel.hline is not None:
        ax.axhline(panel.hline[0], color="#b2182b", linestyle=":", linewidth=0.9)
    if panel.log:
        ax.set_yscale("log")
    if panel.ylim is not None:
        ax.set_ylim(*panel.ylim)
    ax.set_title(panel.title)
    ax.set_ylabel(panel.ylabel)
    handles = [Line2D([], [], color=c, label=lab) for lab, c in drawn.items()]
    if panel.hline is not None:
        handles.append(Line2D([], [], color="#b2182b", linestyle=":", label=panel.hline[1]))
    # with two runs the line styles (A solid, B dashed) are explained once, by the caller
    _style_legend(ax, handles if len(handles) > 1 else [])
    time_axis(ax, [int(m) for r in runs for m in r.world["month"]])
    return True


def time_axis(ax, months: Sequence[int], max_ticks: int = 6) -> None:
    """Calendar ticks for model months: whole years for runs of three years or more,
    ``YYYY-MM`` for shorter ones."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

    from abm.summary import month_label

    if not months:
        return
    lo, hi = min(months), max(months)
    if hi - lo >= 36:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=max_ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.0f}"))
        return
    step = next(s for s in (1, 2, 3, 6, 12) if (hi - lo) / s < max_ticks)
    ticks = [m for m in range(lo, hi + 1) if (m - lo) % step == 0]
    ax.xaxis.set_major_locator(FixedLocator(list(years(pd.Series(ticks)))))
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _: month_label(round((x - START_YEAR) * 12))))


def _largest(nations: pd.DataFrame, k: int = MAX_NATIONS) -> list[str]:
    pop = nations.groupby("nation", sort=True)["population"].mean() if (
        "population" in nations.columns) else nations.groupby("nation", sort=True).size()
    return list(pop.sort_values(ascending=False, kind="stable").index[:k])


def nation_values(run: RunData, column: str) -> pd.Series:
    """``column`` per nation at the run's last month (the most populous nations only)."""
    nat = run.nations
    if nat.empty or column not in nat.columns:
        return pd.Series(dtype=float)
    last = nat[nat["month"] == nat["month"].max()]
    keep = _largest(last)
    return last.set_index("nation")[column].reindex(keep)


def draw_nation_panel(ax, panel: NationPanel, runs: Sequence[RunData]) -> bool:
    """Horizontal bars per nation at the last month, one bar per run; False when no run has
    the column."""
    values = [nation_values(r, panel.column) for r in runs]
    if all(v.empty for v in values):
        return False
    first = next(v for v in values if not v.empty)
    order = list(first.sort_values(ascending=True, kind="stable").index)
    y = np.arange(len(order))
    height = 0.8 / len(runs)
    for i, (run, vals) in enumerate(zip(runs, values, strict=True)):
        if vals.empty:
            continue
        v = vals.reindex(order).to_numpy(float)
        ax.barh(y + (i - (len(runs) - 1) / 2) * height, v, height=height,
                color=COLORS[i % len(COLORS)], label=run.label)
    ax.set_yticks(y, order)
    ax.tick_params(axis="y", labelsize=6 if len(order) > 10 else 7)
    if panel.log:
        ax.set_xscale("log")
    if panel.xlim is not None:
        ax.set_xlim(*panel.xlim)
    month = int(max(r.nations["month"].max() for r in runs if not r.nations.empty))
    from abm.summary import month_label

    ax.set_title(f"{panel.title}, {month_label(month)}")
    ax.set_xlabel(panel.xlabel)
    ax.grid(axis="y", visible=False)
    if len(runs) > 1:
        ax.legend(loc="best", frameon=False)
    return True


def panel_figure(panel: Panel | NationPanel, runs: Sequence[RunData],
                 size: tuple[float, float] = (4.6, 3.0)):
    """One panel as its own figure (the dashboard's plots); None when nothing to draw."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    with mpl.rc_context(RC):
        n = len(nation_values(runs[0], panel.column)) if isinstance(panel, NationPanel) else 0
        width, height = size
        if n:  # bars: wider, and as tall as the nations need
            width, height = size[0] * 1.3, max(2.2, 0.9 + 0.16 * n * len(runs))
        fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
        ax = fig.subplots()
        ok = (draw_nation_panel(ax, panel, runs) if isinstance(panel, NationPanel)
              else draw_panel(ax, panel, runs))
    return fig if ok else None


def figure_png(fig, dpi: int | None = None) -> bytes:
    """``fig`` as PNG bytes with fixed metadata (same data, same bytes)."""
    import io

    import matplotlib as mpl

    buf = io.BytesIO()
    with mpl.rc_context(RC):
        fig.savefig(buf, format="png", dpi=dpi, metadata=PNG_METADATA)
    return buf.getvalue()
