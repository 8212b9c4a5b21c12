"""Headline metrics of one run at a glance: at the start, in January 2030 and at the end.

``python -m abm`` prints :func:`format_summary` after every single run (sweeps stay quiet but
for their one-line progress); the dashboard shows the same numbers from :func:`headline`.

The metrics are one list, :data:`HEADLINE`: a new output column is one more line there. A
listed column the tables do not have (an older run, or a column not written yet) is left
out, never an error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

START_YEAR = 2025
MILESTONE_MONTH = 60  # January 2030


@dataclass(frozen=True)
class Metric:
    """One headline column of ``global.parquet``: its label, unit and number format.

    ``style`` is ``"share"`` (three decimals), ``"index"`` (thousands separator, no
    decimals) or ``"general"`` (four significant digits).
    """

    column: str
    label: str
    unit: str
    style: str = "general"

    def format(self, value: float) -> str:
        """``value`` as shown in the summary and on the dashboard (``"n/a"`` when missing)."""
        if value is None or not math.isfinite(float(value)):
            return "n/a"
        value = float(value)
        if self.style == "share":
            return f"{value:.3f}"
        if self.style == "index":
            return f"{value:,.0f}"
        return f"{value:.4g}"


# The headline series, in the order they are shown. One line per column.
HEADLINE: tuple[Metric, ...] = (
    Metric("hhi_revenue", "HHI of revenue", "0-10,000", "index"),
    Metric("cr4_revenue", "CR4 of revenue", "share", "share"),
    Metric("lerner", "Lerner index (p - mc)/p", "share", "share"),
    Metric("markup_lerner", "Markup Lerner index", "share", "share"),
    Metric("rent_share", "Rent share of spending", "share", "share"),
    Metric("scarcity_rent_share", "Scarcity rent share", "share", "share"),
    Metric("unserved_share", "Unserved share of demand", "share", "share"),
    Metric("priced_out_share", "Priced-out share of demand", "share", "share"),
    Metric("gini_access", "Gini of access", "0-1", "share"),
    Metric("open_weight_share", "Open-weight share of tokens", "share", "share"),
    Metric("price_frontier", "Frontier price", "$/M tokens"),
    Metric("price_open", "Open-weight price", "$/M tokens"),
    Metric("tokens_total", "Tokens served", "M tokens/month"),
    Metric("inference_share", "Inference share of compute spend", "share", "share"),
    Metric("energy_twh", "Data-centre electricity", "TWh/yr"),
)


def month_label(month: int) -> str:
    """Calendar month of a model month: 0 -> ``"2025-01"``."""
    year, rest = divmod(int(month), 12)
    return f"{START_YEAR + year}-{rest + 1:02d}"


def moments(world: pd.DataFrame) -> list[int]:
    """The months the summary reports: the first, January 2030 (when the run reaches it
    before its last month) and the last; each once."""
    months = sorted(int(m) for m in world["month"].unique())
    if not months:
        return []
    picks = [months[0]]
    if months[0] < MILESTONE_MONTH < months[-1] and MILESTONE_MONTH in months:
        picks.append(MILESTONE_MONTH)
    if months[-1] != months[0]:
        picks.append(months[-1])
    return picks


def available(world: pd.DataFrame, metrics: Sequence[Metric] = HEADLINE) -> list[Metric]:
    """The metrics of ``metrics`` whose column ``world`` has."""
    return [m for m in metrics if m.column in world.columns]


def headline(world: pd.DataFrame, metrics: Sequence[Metric] = HEADLINE) -> pd.DataFrame:
    """The headline values: one row per available metric (index: its column), one column per
    reported month (labelled ``"2025-01"``, ...); the values are the table's, unrounded.

    Raises
    ------
    ValueError
        When ``world`` has no ``month`` column or no rows.
    """
    if "month" not in world.columns or world.empty:
        raise ValueError("the global table has no rows (or no 'month' column)")
    picks = moments(world)
    by_month = world.drop_duplicates("month", keep="last").set_index("month")
    cols = {month_label(m): [float(by_month.at[m, metric.column])
                             for metric in available(world, metrics)] for m in picks}
    return pd.DataFrame(cols, index=[m.column for m in available(world, metrics)])


def format_summary(world: pd.DataFrame, title: str = "",
                   metrics: Sequence[Metric] = HEADLINE) -> str:
    """A compact text table of :func:`headline` (metric, unit, one column per month)."""
    table = headline(world, metrics)
    by_col = {m.column: m for m in metrics}
    rows = [["metric", "unit", *table.columns]]
    for column, values in table.iterrows():
        metric = by_col[str(column)]
        rows.append([metric.label, metric.unit, *(metric.format(v) for v in values)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

    def line(cells: list[str]) -> str:
        left = [c.ljust(w) for c, w in zip(cells[:2], widths[:2], strict=True)]
        right = [c.rjust(w) for c, w in zip(cells[2:], widths[2:], strict=True)]
        return "  ".join(left + right).rstrip()

    out = [title] if title else []
    out.append(line(rows[0]))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(r) for r in rows[1:])
    return "\n".join(out)


def summarise_run(run_dir: str | Path) -> str:
    """The summary of a run directory (its ``global.parquet`` and ``manifest.json``)."""
    from abm.outputs import read_manifest

    run_dir = Path(run_dir)
    world = pd.read_parquet(run_dir / "global.parquet")
    manifest = read_manifest(run_dir) or {}
    title = (f"{manifest.get('scenario', '?')} (size {manifest.get('size', '?')}, seed "
             f"{manifest.get('seed', '?')}, {manifest.get('months', '?')} months): "
             f"{run_dir}")
    return format_summary(world, title)


def reproduce_command(overrides: Sequence[str], python: str = "python") -> str:
    """The shell command that reruns a run from its manifest's overrides (Hydra's own
    ``hydra.*`` settings, which do not change the tables, left out)."""
    import shlex

    kept = [str(o) for o in overrides if not str(o).lstrip("+~").startswith("hydra")]
    return " ".join([python, "-m", "abm", *(shlex.quote(o) for o in kept)])


def change_text(metric: Metric, before: float, after: float) -> str:
    """The change from ``before`` to ``after``: in percentage points for shares, in percent
    for levels (``"n/a"`` when either is missing or a level starts at zero)."""
    if not (math.isfinite(before) and math.isfinite(after)):
        return "n/a"
    if metric.style == "share":
        return f"{100.0 * (after - before):+.1f} pp"
    if before == 0:
        return "n/a"
    return f"{100.0 * (after - before) / abs(before):+.0f}%"
