"""Parameter-uncertainty bands for the paper figures: every scenario at K posterior draws x
seeds (issue 10, item 4).

With ``--draws K`` (K > 0) the figures do not run the seeds-only ``scenarios`` grid: they run
the ``scenario_draws`` experiment (``conf/experiment/scenario_draws.yaml``), one run per
(scenario, posterior draw, seed), where the draw's parameter values override the defaults of
``parameters.csv`` (a parameter the scenario's YAML sets keeps the scenario's value, as in
``analysis.estimate``'s posterior experiment). It is one ``abm_sobol`` rows sweep through
:mod:`analysis.experiments`, so any launcher runs it and a second build reuses every run.

The draws come from ``abm/calibration/posterior.parquet`` (written by ``python -m
analysis.estimate``; ``--posterior`` picks another file): with its N rows sorted by ``draw``,
the K draws are those at positions ``floor((i + 1/2) N / K)``, i = 0..K-1: evenly spaced
through the MCMC chain (not its first, autocorrelated K draws), the same K for the same file.

The band of a time-series line is then the central 95% range of the runs' quarterly means
over draws x seeds (a posterior predictive interval: parameter and seed uncertainty), around
their mean. ``K = 0`` keeps the seeds-only figures: the ``scenarios`` grid at the defaults and
a 95% Student-t interval of the mean over seeds.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import experiments as ex
from analysis.experiments import REPO, Experiment, ExperimentError, Options

EXPERIMENT = "scenario_draws"
DEFAULT_POSTERIOR = REPO / "abm" / "calibration" / "posterior.parquet"
LEVEL = 0.95
SEEDS = "seeds"
DRAWS_X_SEEDS = "posterior draws x seeds"
SELECTION = ("evenly spaced: with the file's N rows sorted by draw, the rows at positions "
             "floor((i + 1/2) N / K), i = 0..K-1")

__all__ = ["DRAWS_X_SEEDS", "EXPERIMENT", "SEEDS", "Band", "Posterior", "check_draws",
           "default_draws", "load", "plan_for", "prepare", "read_posterior", "run_record",
           "select_draws", "with_draws"]


# --------------------------------------------------------------------------- posterior
@dataclass(frozen=True)
class Posterior:
    """A posterior sample: one row per draw (``draw`` column first, then one column per
    ``group.name`` parameter), its file and the file's sha256."""

    path: Path
    sha256: str
    draws: pd.DataFrame

    @property
    def parameters(self) -> list[str]:
        return [c for c in self.draws.columns if c != "draw"]

    def shown_path(self) -> str:
        """The file as figures.json records it: relative to the repository if inside it."""
        try:
            return self.path.resolve().relative_to(REPO).as_posix()
        except ValueError:
            return self.path.name


def check_draws(k: Any) -> int:
    """``--draws`` as an int >= 0 (0: seeds-only bands).

    Raises
    ------
    ExperimentError
        When ``k`` is not a whole number >= 0, naming the option and the allowed values.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ExperimentError(f"--draws must be a whole number >= 0 (0: seeds-only bands), "
                              f"got {k!r}")
    if k < 0:
        raise ExperimentError(f"--draws must be >= 0 (0: seeds-only bands; K > 0: K posterior "
                              f"draws x seeds), got {k}")
    return int(k)


def read_posterior(path: str | Path | None = None) -> Posterior:
    """Read and check a posterior sample (default ``abm/calibration/posterior.parquet``).

    Raises
    ------
    ExperimentError
        Naming the file, when it is missing, not a readable Parquet file, has no ``draw``
        column or no parameter columns, duplicate draws, a column that is not a ranged
        parameter of ``parameters.csv``, or a missing or non-finite value.
    """
    from analysis.sensitivity import Problem

    path = Path(path) if path is not None else DEFAULT_POSTERIOR
    hint = ("write it with `make estimate-full` (python -m analysis.estimate --preset full), "
            "pass another file with --posterior, or use --draws 0 for seeds-only bands")
    if not path.is_file():
        raise ExperimentError(f"posterior file {path} does not exist; {hint}")
    data = path.read_bytes()
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise ExperimentError(f"posterior file {path} is not a readable Parquet file "
                              f"({type(exc).__name__}: {exc}); {hint}") from None
    if "draw" not in df.columns:
        raise ExperimentError(f"posterior file {path}: no 'draw' column (columns: "
                              f"{', '.join(map(str, df.columns))}); expected 'draw' and one "
                              "column per parameter (group.name)")
    params = [c for c in df.columns if c != "draw"]
    if not params or df.empty:
        raise ExperimentError(f"posterior file {path}: expected at least one draw and one "
                              "parameter column (group.name) besides 'draw'")
    try:
        problem = Problem.from_parameters(params)
    except ValueError as exc:
        raise ExperimentError(f"posterior file {path}: {exc}") from None
    for col in df.columns:
        if not pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col]):
            raise ExperimentError(f"posterior file {path}: column {col!r} holds "
                                  f"{df[col].dtype} values; expected numbers")
        values = df[col].to_numpy(float)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ExperimentError(f"posterior file {path}: column {col!r}, row {row}: "
                                  f"{df[col].iloc[row]!r} is not a finite number")
    # A posterior draw lies in its prior's support: the plausible range of parameters.csv.
    for col, (lo, hi) in zip(problem.names, problem.bounds, strict=True):
        values = df[col].to_numpy(float)
        outside = (values < lo) | (values > hi)
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise ExperimentError(f"posterior file {path}: column {col!r}, row {row}: "
                                  f"{float(values[row])!r} lies outside its plausible range "
                                  f"[{lo:g}, {hi:g}] in parameters.csv (the prior's support)")
    draw = df["draw"].to_numpy(float)
    if np.any(draw != np.round(draw)) or np.any(np.abs(draw) > 2.0 ** 53) \
            or df["draw"].duplicated().any():
        raise ExperimentError(f"posterior file {path}: the 'draw' column must hold distinct "
                              "whole numbers of magnitude at most 2**53")
    df = df.astype({"draw": "int64", **{c: float for c in params}})
    df = df.sort_values("draw", kind="stable")
    return Posterior(path, hashlib.sha256(data).hexdigest(), df.reset_index(drop=True))


def select_draws(posterior: Posterior, k: int) -> pd.DataFrame:
    """The ``k`` draws the figures use (see :data:`SELECTION`), in ``draw`` order.

    Raises
    ------
    ExperimentError
        When ``k`` is not in [1, N] (N = the draws in the file), naming the file.
    """
    n = len(posterior.draws)
    k = check_draws(k)
    if not 1 <= k <= n:
        raise ExperimentError(f"--draws must be between 0 and {n} (the draws in "
                              f"{posterior.path}), got {k}")
    positions = [math.floor((i + 0.5) * n / k) for i in range(k)]
    return posterior.draws.iloc[positions].reset_index(drop=True)


def default_draws() -> int:
    """``hydra.sweeper.settings.draws`` of ``conf/experiment/scenario_draws.yaml``."""
    return check_draws(int(ex.experiment_settings(EXPERIMENT)["draws"]))


# --------------------------------------------------------------------------- the band
@dataclass(frozen=True)
class Band:
    """What the figures' intervals cover: ``draws == 0`` seeds alone (a Student-t interval of
    the mean over seeds), else posterior draws x seeds (the central ``level`` range of the
    runs around their mean)."""

    draws: int = 0
    seeds: int = 0
    posterior: dict[str, Any] = field(default_factory=dict)
    level: float = LEVEL

    @property
    def covers(self) -> str:
        return DRAWS_X_SEEDS if self.draws else SEEDS

    @property
    def runs(self) -> int:
        """Runs behind each line (one scenario)."""
        return max(self.draws, 1) * self.seeds

    def stats(self, df: pd.DataFrame, by: Sequence[str] | str, value: str) -> pd.DataFrame:
        """Per group of ``by``: ``mean``, ``lo``, ``hi``, ``n`` of ``value`` over its rows
        (one row per run)."""
        from analysis.loading import mean_ci

        if not self.draws:
            return mean_ci(df, by, value, self.level)
        by = [by] if isinstance(by, str) else list(by)
        q = (1.0 - self.level) / 2.0
        grouped = df.groupby(by, sort=True)[value]
        out = grouped.agg(["mean", "count"]).reset_index()
        out["lo"] = grouped.quantile(q).to_numpy()
        out["hi"] = grouped.quantile(1.0 - q).to_numpy()
        return out.rename(columns={"count": "n"})[[*by, "mean", "lo", "hi", "n"]]

    def statistic(self) -> str:
        if not self.draws:
            return (f"mean over {self.seeds} seeds, shaded {self.level:.0%} Student-t interval "
                    "of that mean")
        return (f"mean over {self.draws} posterior draws x {self.seeds} seeds, shaded central "
                f"{self.level:.0%} range of those {self.runs} runs (posterior predictive: "
                "parameter and seed uncertainty)")

    def legend(self) -> tuple[str, str]:
        """(line label, band label) for a figure's legend."""
        if not self.draws:
            return "scenario: mean over seeds", f"{self.level:.0%} interval over seeds"
        return "scenario: mean", f"{self.level:.0%} range, posterior draws x seeds"

    def record(self, band: bool = True) -> dict[str, Any]:
        """The ``uncertainty`` entry of a figure in figures.json (``band``: whether the
        figure draws an interval at all)."""
        out: dict[str, Any] = {"covers": self.covers, "draws": self.draws,
                               "seeds": self.seeds, "runs_per_scenario": self.runs,
                               "band_drawn": band}
        if band:
            out["statistic"] = self.statistic()
        if self.draws:
            out["posterior"] = self.posterior
        return out


# --------------------------------------------------------------------------- experiment
def prepare(options: Options, k: int, posterior: Posterior
            ) -> tuple[Experiment, pd.DataFrame, Band]:
    """The ``scenario_draws`` experiment: the scenarios and seeds that ``options`` give the
    ``scenarios`` grid, times the ``k`` draws of :func:`select_draws`. Nothing runs.

    Returns the experiment, its row plan (``scenario``, ``draw``, ``seed``; row i is run
    ``sample_<i>``) and the :class:`Band`.

    Raises
    ------
    ExperimentError
        For bad options or draws (before anything runs), or when a scenario sets a posterior
        parameter to a value that is not a number.
    """
    from analysis.sensitivity import Problem

    grid = ex.prepare("scenarios", options)  # checks scenarios and seeds, resolves the lists
    chosen = select_draws(posterior, k)
    params = posterior.parameters
    integer = list(Problem.from_parameters(params).integer)
    plan, rows, fixed = [], [], {}
    for scenario in grid.scenarios:
        own = ex.scenario_values(scenario)
        kept = {p: own[p] for p in params if p in own}
        for p, v in kept.items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ExperimentError(f"conf/scenario/{scenario}.yaml sets {p} = {v!r}, not a "
                                      "number; it cannot stand in for a posterior draw")
        if kept:
            fixed[scenario] = sorted(kept)
        for draw, values in zip(chosen["draw"], chosen[params].to_numpy(), strict=True):
            for seed in grid.seeds:
                plan.append({"scenario": scenario, "draw": int(draw), "seed": int(seed)})
                rows.append([scenario, *(kept.get(p, v) for p, v in zip(params, values,
                                                                          strict=True)),
                             int(seed)])
    info = {"file": posterior.shown_path(), "sha256": posterior.sha256,
            "draws_in_file": len(posterior.draws), "draws_used": [int(d) for d in
                                                                  chosen["draw"]],
            "selection": SELECTION, "parameters": params,
            "fixed_by_scenario": fixed}
    exp = ex.prepare_rows(EXPERIMENT, options, ["scenario", *params, "seed"], rows,
                          [False, *integer, True],
                          spec={"draws": int(k), "seeds": list(grid.seeds),
                                "scenarios": list(grid.scenarios),
                                "posterior_sha256": posterior.sha256})
    exp.scenarios, exp.seeds = grid.scenarios, grid.seeds
    band = Band(draws=int(k), seeds=len(grid.seeds), posterior=info)
    return exp, pd.DataFrame(plan), band


def with_draws(table: pd.DataFrame, plan: pd.DataFrame | None) -> pd.DataFrame:
    """``table`` (from :func:`analysis.loading.load_sweep`) with a ``draw`` column: the
    posterior draw of each run from ``plan``, or -1 (the defaults) without a plan.

    Raises
    ------
    ExperimentError
        When a run's scenario or seed disagrees with the plan (a damaged cache directory).
    """
    from analysis.sobol_sweeper import index_of

    if plan is None:
        return table.assign(draw=np.int64(-1))
    rows = table["run_id"].map(index_of)
    draw = plan["draw"].to_numpy()[rows.to_numpy()]
    want = plan.iloc[rows.to_numpy()]
    if (want["scenario"].to_numpy() != table["scenario"].to_numpy()).any() or (
            want["seed"].to_numpy() != table["seed"].astype("int64").to_numpy()).any():
        raise ExperimentError("scenario_draws: a run's scenario or seed disagrees with its "
                              "sample row; delete the cache directory and rebuild")
    out = table.assign(draw=draw.astype("int64"))
    front = ["run_id", "scenario", "draw", "seed"]
    return out[front + [c for c in out.columns if c not in front]]


def load(exp: Experiment, plan: pd.DataFrame | None, options: Options
         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run (or reuse) the experiment of :func:`plan_for` and load its global and nations
    tables, each with a ``draw`` column (-1 for the defaults)."""
    from analysis.loading import load_sweep

    if plan is None:
        ex.ensure(exp, options)
    else:
        ex.run_rows(exp, options)
    return (with_draws(load_sweep(exp.directory), plan),
            with_draws(load_sweep(exp.directory, "nations"), plan))


def plan_for(options: Options, k: int, posterior_path: str | Path | None = None
             ) -> tuple[Experiment, pd.DataFrame | None, Band]:
    """The experiment behind the figures, resolved (nothing runs): for ``k == 0`` the
    ``scenarios`` grid, else ``scenario_draws`` over :func:`select_draws`. Returns
    (experiment, row plan or None, band). Every check of ``k`` and of the posterior file
    happens here, before any run starts.

    Raises
    ------
    ExperimentError
        For ``k`` < 0 or above the draws in the file, or a missing or damaged file.
    """
    k = check_draws(k)
    if k == 0:
        exp = ex.prepare("scenarios", options)
        return exp, None, Band(draws=0, seeds=len(exp.seeds))
    exp, plan, band = prepare(options, k, read_posterior(posterior_path))
    return exp, plan, band


def run_record(record: dict[str, Any], plan: pd.DataFrame | None) -> dict[str, Any]:
    """A run of figures.json with its posterior ``draw`` (rows experiments only)."""
    if plan is None:
        return record
    from analysis.sobol_sweeper import index_of

    return {**record, "draw": int(plan["draw"].iloc[index_of(record["run"])])}
