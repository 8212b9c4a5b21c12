"""Load a sweep's outputs as tidy tables: the small API the figures and notebooks use.

::

    from analysis.experiments import run_experiment
    from analysis.loading import load_sweep, scenario_summary

    exp = run_experiment("scenarios", size="small", months=24, seeds=2)
    world = load_sweep(exp.directory)                 # global table, every run and month
    nations = load_sweep(exp.directory, "nations")    # one row per run, month and nation
    scenario_summary(world, ["hhi_revenue", "rent_share"])   # final-year mean and 95% CI

Every table carries the run's identity in front (``run_id``, ``scenario``, ``seed``, ``size``,
``months``, ``config_hash`` and one column per command-line override, as
:func:`abm.collect.collect` records them), so ``groupby("scenario")`` and friends just work.
No path is globbed by hand: runs are found through their manifests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from abm.collect import collect, horizon, load_run

TABLES = ("global", "nations", "providers", "markets")
START_YEAR = 2025
_INFO_DROP = ("run_dir", "status", "wall_time_s", "error")

__all__ = ["HEADLINE_METRICS", "annual", "final_months", "horizon", "load_run", "load_sweep",
           "mean_ci", "quarterly", "scenario_summary", "year_of"]

# metrics whose final-year change against baseline figure 8 and scenario_summary report
HEADLINE_METRICS = ("hhi_revenue", "cr4_revenue", "lerner", "rent_share", "gini_access",
                    "theil_between", "unserved_share", "tokens_total",
                    "price_constant_capability", "energy_twh", "inference_share",
                    "open_weight_share")


def load_sweep(directory: str | Path, table: str = "global",
               complete_only: bool = True) -> pd.DataFrame:
    """One tidy table of ``table`` over every run of a sweep directory.

    ``table`` is one of ``global``, ``nations``, ``providers``, ``markets``. Runs are sorted
    by ``run_id`` (their path under ``directory``). With ``complete_only`` (the default) runs
    that failed or never finished are left out; otherwise the global table keeps them as one
    row each with their ``status`` and ``error`` (the other tables only exist for complete
    runs).
    """
    if table not in TABLES:
        raise ValueError(f"table must be one of {', '.join(TABLES)}, got {table!r}")
    summary = collect(directory)
    if table == "global":
        if complete_only:
            summary = summary[summary["status"] == "complete"]
            drop = _INFO_DROP
        else:
            drop = ("run_dir",)
        return summary[[c for c in summary.columns if c not in drop]].reset_index(drop=True)
    runs = summary[summary["status"] == "complete"].drop_duplicates("run_id")
    if runs.empty:
        return pd.DataFrame(columns=["run_id", "scenario", "seed"])
    # collect() puts the run's identity and override columns first, the table after them
    first = set(pd.read_parquet(Path(runs["run_dir"].iloc[0]) / "global.parquet").columns)
    info_cols: list[str] = []
    for col in runs.columns:
        if col in first or col.startswith("global."):
            break
        if col not in _INFO_DROP:
            info_cols.append(col)
    frames = []
    for _, row in runs.iterrows():
        frame = pd.read_parquet(Path(row["run_dir"]) / f"{table}.parquet")
        frames.append(frame.assign(**{c: row[c] for c in info_cols}))
    out = pd.concat(frames, ignore_index=True, sort=False)
    front = [c for c in info_cols if c in out.columns]
    out = out[front + [c for c in out.columns if c not in front]]
    for col in ("seed", "months"):
        if col in out.columns:
            out[col] = out[col].astype("int64")
    return out


# --------------------------------------------------------------------------- time
def year_of(month: pd.Series | np.ndarray | int) -> pd.Series | np.ndarray | int:
    """The calendar year of a model month (0 = January 2025)."""
    return START_YEAR + np.asarray(month) // 12 if not isinstance(month, int) else (
        START_YEAR + month // 12)


def final_months(df: pd.DataFrame, n: int = 12, by: str = "run_id") -> pd.DataFrame:
    """The rows of each run's final ``n`` months."""
    last = df.groupby(by)["month"].transform("max")
    return df[df["month"] > last - n].reset_index(drop=True)


def _periods(df: pd.DataFrame, months_per_period: int) -> pd.Series:
    period = df["month"] // months_per_period
    return START_YEAR + (period * months_per_period + months_per_period / 2) / 12


def quarterly(df: pd.DataFrame, values: Sequence[str],
              by: Sequence[str] = ("scenario", "seed")) -> pd.DataFrame:
    """Quarterly means of ``values`` per run, with ``t`` = the mid-quarter as a decimal year."""
    frame = df.assign(t=_periods(df, 3))
    return frame.groupby([*by, "t"], as_index=False)[list(values)].mean()


def annual(df: pd.DataFrame, values: Sequence[str],
           by: Sequence[str] = ("scenario", "seed")) -> pd.DataFrame:
    """Calendar-year means of ``values`` per group, with ``year`` (an int)."""
    frame = df.assign(year=START_YEAR + df["month"] // 12)
    return frame.groupby([*by, "year"], as_index=False)[list(values)].mean()


# --------------------------------------------------------------------------- statistics
def mean_ci(df: pd.DataFrame, by: Sequence[str] | str, value: str,
            level: float = 0.95) -> pd.DataFrame:
    """Mean of ``value`` per group with a Student-t ``level`` interval over its rows (seeds).

    Columns: the ``by`` keys, ``mean``, ``lo``, ``hi``, ``n``. With one row the interval is
    the point itself.
    """
    from scipy import stats

    by = [by] if isinstance(by, str) else list(by)
    grouped = df.groupby(by, sort=True)[value]
    out = grouped.agg(["mean", "std", "count"]).reset_index()
    n = out["count"].to_numpy()
    sem = out["std"].to_numpy() / np.sqrt(np.maximum(n, 1))
    t = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
    half = np.where(n > 1, t * np.nan_to_num(sem), 0.0)
    out["lo"] = out["mean"] - half
    out["hi"] = out["mean"] + half
    return out.rename(columns={"count": "n"}).drop(columns="std")


def scenario_summary(df: pd.DataFrame, metrics: Iterable[str] | None = None,
                     months: int = 12, baseline: str = "baseline",
                     level: float = 0.95) -> pd.DataFrame:
    """Per scenario and metric: the mean over each run's final ``months`` months, averaged
    over seeds with a ``level`` interval, and the change against ``baseline`` in percent.

    ``df`` is a global table from :func:`load_sweep` (``metrics`` default to
    :data:`HEADLINE_METRICS`). Columns: ``scenario``, ``metric``, ``mean``, ``lo``, ``hi``,
    ``n`` (seeds) and ``change_pct`` (NaN when there is no baseline run).
    """
    metrics = list(metrics) if metrics is not None else [
        m for m in HEADLINE_METRICS if m in df.columns]
    last = final_months(df, months)
    per_run = last.groupby(["scenario", "seed", "run_id"], as_index=False)[metrics].mean()
    rows = []
    for metric in metrics:
        stats = mean_ci(per_run, "scenario", metric, level).assign(metric=metric)
        rows.append(stats)
    out = pd.concat(rows, ignore_index=True)
    base = out[out["scenario"] == baseline].set_index("metric")["mean"]
    ref = out["metric"].map(base)
    out["change_pct"] = 100.0 * (out["mean"] - ref) / ref.abs()
    cols = ["scenario", "metric", "mean", "lo", "hi", "n", "change_pct"]
    return out[cols].sort_values(["metric", "scenario"], kind="stable").reset_index(drop=True)
