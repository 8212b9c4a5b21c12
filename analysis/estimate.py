"""Estimate the uncertain parameters from data: ``python -m analysis.estimate``
(``make estimate``: the small preset; ``make estimate-full``: the full one).

Four stages, each a cached, resumable Hydra experiment (``conf/experiment/<name>.yaml``, run
through :mod:`analysis.experiments` with any launcher):

1. **screen** (``morris``): Morris elementary effects (:mod:`analysis.screening`) of every
   parameter with a plausible range on the headline outcomes (:mod:`analysis.outcomes`) and
   on the validation moments;
2. **design** (``estimate``): the 6-12 parameters the 2024-2025 moments identify best (the
   Morris effect on a moment in units of that datum's standard deviation), unless the
   experiment lists them, and a Latin hypercube over their plausible ranges times seeds;
3. **fit**: Gaussian-process emulators and an MCMC posterior (:mod:`analysis.emulator`,
   whose docstring says why this method), written to ``estimated.csv`` (``parameter``,
   ``estimate``, ``low``, ``high``, ``method``, ``moments``) and ``posterior.parquet``
   (one row per draw);
4. **predict** (``posterior``): the model at posterior draws times seeds, and at the point
   estimate: the fit moment by moment, the hindcast of the held-out 2026 moments with 90%
   predictive intervals, and every validation target at the estimates.

The report (printed, and ``estimate.json`` with figures and ``figures.json`` in ``--out``)
gives the Morris ranking, the estimates, the fit, the identification matrix and the
hindcast. The full preset writes ``estimated.csv`` and ``posterior.parquet`` to
``abm/calibration/`` (the packaged estimates), the small one to ``OUT/calibration/`` (or
either to ``--calibration-dir``); the ``method`` column of ``estimated.csv`` names the preset
and design they come from. The estimates as a whole do **not** become the defaults of
``parameters.csv``: the defaults pass the 21-moment validation at ten seeds
(``python -m abm.validate``), while the model at the packaged full-preset estimate missed two
of the 21 targets (see the README). A single estimate that passes the validation may replace
a default (``tiers.quality_decay_per_year`` did), with the
change recorded in that row's ``source`` column ("estimated: analysis.estimate, full
preset, <date>").

Usage::

    python -m analysis.estimate [--preset small|full] [--launcher basic|joblib|ray]
        [--jobs N] [--hydra-arg K=V] [--cache DIR] [--out DIR] [--calibration-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import emulator as emu
from analysis import experiments as ex
from analysis import outcomes as oc
from analysis.experiments import REPO, ExperimentError, Options
from analysis.screening import MorrisResult
from analysis.sensitivity import Problem

PRESETS = ("full", "small")
METHOD = "GP-emulator Bayesian calibration (scikit-learn GP, emcee MCMC)"
ESTIMATED_COLUMNS = ("parameter", "estimate", "low", "high", "method", "moments")
CALIBRATION_DIR = REPO / "abm" / "calibration"
DEFAULT_OUT = REPO / "outputs" / "estimate"


def outcomes_key() -> str:
    """A key of the outcome code (cached per-run results are recomputed when it changes)."""
    import hashlib

    import abm.validate

    h = hashlib.sha256()
    for mod in (oc, abm.validate):
        h.update(Path(mod.__file__).read_bytes())
    return "outcomes-" + h.hexdigest()[:12]


def run_outcomes(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
    return oc.all_outcomes(tables)


# --------------------------------------------------------------------------- settings
def preset(name: str, experiment: str) -> dict[str, Any]:
    """Settings of ``experiment`` with preset ``name`` applied on top (``presets`` removed)."""
    if name not in PRESETS:
        raise ExperimentError(f"preset must be one of {', '.join(PRESETS)}, got {name!r}")
    settings = ex.experiment_settings(experiment)
    presets = settings.pop("presets", {}) or {}
    if name not in presets:
        raise ExperimentError(f"conf/experiment/{experiment}.yaml: no preset {name!r} under "
                              "hydra.sweeper.settings.presets")
    return {**settings, **presets[name]}


def _options(base: Options, settings: dict[str, Any]) -> Options:
    import dataclasses

    return dataclasses.replace(base, size=settings.get("size", base.size))


def targets_table() -> pd.DataFrame:
    """targets.csv and holdout.csv in one table (``held_out`` True for holdout.csv rows)."""
    from abm.calibration.targets import targets

    main = targets().assign(held_out=False)
    path = resources.files("abm.calibration").joinpath("holdout.csv")
    hold = targets(str(path)).assign(held_out=True)
    table = pd.concat([main, hold], ignore_index=True)
    known = set(oc.known_moments())
    unknown = sorted(set(table["moment"]) - known)
    if unknown:
        raise ExperimentError(f"holdout.csv/targets.csv: moments {unknown} have no definition "
                              "(abm.validate.MOMENTS or analysis.outcomes)")
    return table


def check_moments(fit: Sequence[str], held_out: Sequence[str], table: pd.DataFrame) -> None:
    """The fit uses 2024-2025 moments only and never a held-out one."""
    names = set(table["moment"])
    for m in [*fit, *held_out]:
        if m not in names:
            raise ExperimentError(f"moment {m!r} is in no targets table; known: "
                                  f"{', '.join(sorted(names))}")
    both = sorted(set(fit) & set(held_out))
    if both:
        raise ExperimentError(f"moments {both} are both fitted and held out")
    periods = table.set_index("moment")["period"]
    holdout_rows = set(table.loc[table["held_out"], "moment"])
    for m in fit:
        if m in holdout_rows:
            raise ExperimentError(f"moment {m!r} comes from holdout.csv: it cannot be fitted")
        years = [int(y) for y in _years_in(str(periods[m]))]
        if not years or max(years) > 2025:
            raise ExperimentError(f"moment {m!r} (period {periods[m]!r}) is not a 2024-2025 "
                                  "moment; the fit uses 2024-2025 data only")


def _years_in(period: str) -> list[str]:
    import re

    return re.findall(r"(?<!\d)(20\d\d)(?!\d)", period)


# --------------------------------------------------------------------------- stage 1
@dataclass
class Screening:
    experiment: ex.Experiment
    result: MorrisResult
    outputs: list[str]           # headline outcomes
    moments: list[str]           # transformed moments screened


def screen(options: Options, preset_name: str, fit_targets: Sequence[emu.Target]
           ) -> Screening:
    """Run (or reuse) the Morris experiment and analyse it."""
    from analysis.screening import analyze as morris_analyze
    from analysis.screening import morris_sample, ranged_parameters, run_values

    s = preset(preset_name, "morris")
    params = s.get("parameters", "all")
    names = ranged_parameters() if params in (None, "all") else list(params)
    problem = Problem.from_parameters(names)
    levels, seed = int(s.get("levels", 4)), int(s.get("sample_seed", 0))
    x = morris_sample(problem, int(s["r"]), levels, seed)
    rows = run_values(problem, x)
    opts = _options(options, s)
    exp = ex.prepare_rows("morris", opts, list(problem.names), rows, list(problem.integer),
                          months=int(s["months"]),
                          spec={"r": int(s["r"]), "levels": levels, "sample_seed": seed})
    ex.run_rows(exp, opts)
    res = ex.row_results(exp, run_outcomes, outcomes_key())
    out = pd.DataFrame(index=res.index)
    for name in oc.HEADLINE:  # over the run's final 12 months
        out[name] = res[f"{name}@{oc.FINAL}"]
    moment_cols = []
    for t in fit_targets:
        col = f"moment:{t.moment}"
        out[col] = t.g(res[t.moment].to_numpy(float))
        moment_cols.append(col)
    finite = out.apply(lambda c: bool(np.all(np.isfinite(c.to_numpy(float)))))
    if not finite.all():
        _say(options, "screening: not finite in every run, left out: "
             + ", ".join(finite.index[~finite]))
    out = out.loc[:, finite.to_numpy()]
    indices = morris_analyze(problem, x, out, levels, seed)
    result = MorrisResult(problem, int(s["r"]), levels, seed, x, out, indices)
    return Screening(exp, result, [c for c in oc.HEADLINE if c in out.columns],
                     [c for c in moment_cols if c in out.columns])


def identification_scores(screening: Screening, fit_targets: Sequence[emu.Target]
                          ) -> pd.DataFrame:
    """Per parameter: its largest Morris effect on a fitted moment in units of that datum's
    sd (``score``), and the moment (``moment``). Sorted, highest first."""
    idx = screening.result.indices
    sd = {f"moment:{t.moment}": t.sd for t in fit_targets}
    sub = idx[idx["output"].isin(list(sd))].copy()
    sub["score"] = sub["mu_star"] / sub["output"].map(sd)
    best = sub.sort_values(["parameter", "score"], ascending=[True, False],
                           kind="stable").drop_duplicates("parameter")
    best = best.assign(moment=best["output"].str.removeprefix("moment:"))
    best = best[["parameter", "score", "moment"]].sort_values(
        ["score", "parameter"], ascending=[False, True], kind="stable")
    return best.reset_index(drop=True)


def choose_parameters(scores: pd.DataFrame, settings: dict[str, Any]) -> list[str]:
    """The parameters to estimate: ``settings['parameters']`` if given, else those whose
    score reaches ``min_score``, at least ``min_parameters`` and at most
    ``max_parameters`` of them, best first."""
    given = settings.get("parameters")
    if given:
        return list(given)
    lo, hi = int(settings.get("min_parameters", 6)), int(settings.get("max_parameters", 12))
    if not 1 <= lo <= hi:
        raise ExperimentError(f"min_parameters ({lo}) and max_parameters ({hi}) must satisfy "
                              "1 <= min <= max")
    strong = scores[scores["score"] >= float(settings.get("min_score", 1.0))]
    n = min(max(len(strong), lo), hi, len(scores))
    return list(scores["parameter"].iloc[:n])


# --------------------------------------------------------------------------- stage 2-3
@dataclass
class Fit:
    experiment: ex.Experiment
    problem: Problem
    unit: np.ndarray
    values: np.ndarray          # (points, seeds, moments)
    result: emu.Estimate


def design_and_fit(options: Options, preset_name: str, parameters: Sequence[str],
                   fit_targets: Sequence[emu.Target]) -> Fit:
    s = preset(preset_name, "estimate")
    problem = Problem.from_parameters(list(parameters))
    points, seeds = int(s["points"]), int(s["seeds"])
    unit = emu.lhs(problem.num_vars, points, int(s.get("design_seed", 0)))
    natural = emu.to_natural(problem, unit)
    rows = [[*x, seed] for x in natural for seed in range(seeds)]
    opts = _options(options, s)
    exp = ex.prepare_rows("estimate", opts, [*problem.names, "seed"], rows,
                          [*problem.integer, True],
                          spec={"points": points, "seeds": seeds})
    ex.run_rows(exp, opts)
    res = ex.row_results(exp, run_outcomes, outcomes_key())
    values = np.stack([res[t.moment].to_numpy(float).reshape(points, seeds)
                       for t in fit_targets], axis=2)
    mcmc = s.get("mcmc", {}) or {}
    result = emu.estimate(problem, unit, values, fit_targets, seed=int(mcmc.get("seed", 0)),
                          steps=int(mcmc.get("steps", 1500)), burn=int(mcmc.get("burn", 500)),
                          draws=int(mcmc.get("draws", 1000)))
    return Fit(exp, problem, unit, values, result)


def estimated_table(fit: emu.Estimate, moments: Sequence[str], setting: str = ""
                    ) -> pd.DataFrame:
    """The contract table of ``estimated.csv``: one row per parameter; ``method`` names the
    method, the interval and the setting (preset, design, size) the estimate comes from."""
    s = fit.summary
    method = f"{METHOD}; posterior median, central {emu.INTERVAL:.0%} interval" + \
        (f"; {setting}" if setting else "")
    return pd.DataFrame({"parameter": s["parameter"], "estimate": s["estimate"],
                         "low": s["low"], "high": s["high"], "method": method,
                         "moments": ";".join(moments)})[list(ESTIMATED_COLUMNS)]


def write_estimates(fit: emu.Estimate, moments: Sequence[str], directory: Path,
                    setting: str = "") -> list[Path]:
    """``estimated.csv`` and ``posterior.parquet`` into ``directory`` (atomically)."""
    from abm.outputs import atomic_write_bytes, parquet_bytes

    directory.mkdir(parents=True, exist_ok=True)
    table = estimated_table(fit, moments, setting)
    csv = table.to_csv(index=False, float_format="%.6g", lineterminator="\n").encode()
    atomic_write_bytes(directory / "estimated.csv", csv)
    draws = fit.draws.copy()
    draws.insert(0, "draw", np.arange(len(draws)))
    atomic_write_bytes(directory / "posterior.parquet", parquet_bytes(draws))
    return [directory / "estimated.csv", directory / "posterior.parquet"]


# --------------------------------------------------------------------------- stage 4
def prepare_posterior(options: Options, settings: dict[str, Any], draws: pd.DataFrame,
                      point: dict[str, float], scenario: str = "baseline"
                      ) -> tuple[ex.Experiment, pd.DataFrame]:
    """The ``posterior`` experiment for ``scenario``: the point estimate and the first
    ``draws`` posterior draws, each at ``seeds`` seeds. Returns it and its row plan
    (``draw``: -1 for the point estimate; ``seed``)."""
    n_draws, seeds = int(settings["draws"]), int(settings["seeds"])
    if len(draws) < n_draws:
        raise ExperimentError(f"the posterior has {len(draws)} draws; {n_draws} are asked for")
    params = [c for c in draws.columns if c != "draw"]
    fixed = set(ex.scenario_values(scenario))
    free = [p for p in params if p not in fixed]
    problem = Problem.from_parameters(free) if free else None
    plan, rows = [], []
    sets = [(-1, point)] + [(int(d), dict(zip(params, r, strict=True)))
                            for d, r in zip(draws["draw"].iloc[:n_draws],
                                            draws[params].to_numpy()[:n_draws], strict=True)]
    for d, values in sets:
        for seed in range(seeds):
            plan.append({"draw": d, "seed": seed})
            rows.append([values[p] for p in free] + [seed])
    integer = list(problem.integer) if problem else []
    overrides = (f"scenario={scenario}",) if scenario != "baseline" else ()
    exp = ex.prepare_rows("posterior", options, [*free, "seed"], rows, [*integer, True],
                          overrides=overrides, months=int(settings["months"]),
                          spec={"draws": n_draws, "seeds": seeds, "scenario": scenario,
                                "fixed_by_scenario": sorted(set(params) & fixed)})
    return exp, pd.DataFrame(plan)


def predictive_table(values: pd.DataFrame, plan: pd.DataFrame, table: pd.DataFrame,
                     moments: Sequence[str], used: Sequence[str]) -> pd.DataFrame:
    """Per moment: data and band, the model at the estimate (mean over seeds), the posterior
    predictive median and central 90% interval over draws x seeds, whether the data point
    lies in that interval (``data_in_interval``: the interval covers parameter and seed
    uncertainty, not the data's own, so a fitted moment can miss it and still sit in its
    band), whether the median lies in the data's band (``median_in_band``), and whether the
    fit used the moment."""
    q = (1.0 - emu.INTERVAL) / 2.0
    by = table.set_index("moment")
    rows = []
    point = plan["draw"].to_numpy() == -1
    for m in moments:
        v = values[m].to_numpy(float)
        pred = v[~point]
        pred = pred[np.isfinite(pred)]
        at = v[point]
        at = at[np.isfinite(at)]
        r = by.loc[m]
        lo, hi = (float(np.quantile(pred, q)), float(np.quantile(pred, 1 - q))) \
            if pred.size else (math.nan, math.nan)
        rows.append({"moment": m, "period": r["period"], "data": float(r["value"]),
                     "band_low": float(r["low"]), "band_high": float(r["high"]),
                     "at_estimate": float(at.mean()) if at.size else math.nan,
                     "median": float(np.median(pred)) if pred.size else math.nan,
                     "low": lo, "high": hi,
                     "data_in_interval": bool(lo <= r["value"] <= hi) if pred.size else None,
                     "median_in_band": bool(r["low"] <= np.median(pred) <= r["high"])
                     if pred.size else None,
                     "used_in_fit": m in used})
    return pd.DataFrame(rows)


def validation_at_estimate(values: pd.DataFrame, plan: pd.DataFrame) -> pd.DataFrame:
    """Every validation target (abm.validate) with the model at the point estimate."""
    from abm.calibration.targets import targets
    from abm.validate import evaluate

    at = values[plan["draw"].to_numpy() == -1]
    per_seed = at.to_dict("records")
    results = evaluate(per_seed, targets())
    return pd.DataFrame([{"moment": r.moment, "period": r.period, "data": r.value,
                          "low": r.low, "high": r.high, "mean": r.mean, "verdict": r.verdict}
                         for r in results])


# --------------------------------------------------------------------------- the report
@dataclass
class Report:
    preset: str
    screening: Screening
    scores: pd.DataFrame
    parameters: list[str]
    fit: Fit
    predictive: pd.DataFrame
    validation: pd.DataFrame
    posterior_experiment: ex.Experiment
    plan: pd.DataFrame = field(default_factory=pd.DataFrame)  # draw (-1: estimate), seed
    files: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, str):
        return x
    a = abs(float(x))
    if a != 0 and (a >= 1e5 or a < 1e-3):
        return f"{x:.3g}"
    if a >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def text_table(df: pd.DataFrame, columns: Sequence[str] | None = None) -> str:
    columns = list(columns or df.columns)
    cells = [[_fmt(v) if not isinstance(v, str) else v for v in row]
             for row in df[columns].itertuples(index=False)]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c)
              for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def format_report(rep: Report) -> str:
    res = rep.screening.result
    morris = res.ranking(rep.screening.outputs)
    est = rep.fit.result
    summary = est.summary.copy()
    ident = est.identification.copy()
    ident.columns = [c.split(".")[-1] for c in ident.columns]
    ident.insert(0, "moment", ident.index)
    parts = [
        f"analysis.estimate ({rep.preset} preset)",
        "",
        f"1. Morris screening: {res.problem.num_vars} parameters, r = {res.r}, "
        f"{len(res.samples)} runs; top 10 by the largest normalised mu* over the headline "
        "outcomes",
        text_table(morris.head(10), ["rank", "parameter", "score", "output"]),
        "",
        "2. Estimated parameters (chosen by identification score: largest Morris effect on a "
        "fitted moment, in data sd over the plausible range)",
        text_table(rep.scores.head(max(12, len(rep.parameters))),
                   ["parameter", "score", "moment"]),
        "",
        f"   posterior medians and {emu.INTERVAL:.0%} credible intervals "
        f"({len(rep.fit.unit)} design points x {rep.fit.values.shape[1]} seeds; "
        "contraction = posterior sd / prior sd)",
        text_table(summary, ["parameter", "estimate", "low", "high", "prior_low",
                             "prior_high", "contraction"]),
        "",
        "   emulators (5-fold cross-validated R^2) and the emulated fit at the estimate",
        text_table(est.fit, ["moment", "data", "low", "high", "emulated", "z", "cv_r2"]),
        "",
        "   identification: emulated change of each moment over each parameter's range, in "
        "data sd",
        text_table(ident.round(2)),
        "",
        f"3. The model at the estimate and posterior predictive ({emu.INTERVAL:.0%} over "
        f"draws x seeds): fit moment by moment and hindcast of held-out moments",
        text_table(rep.predictive, ["moment", "period", "data", "band_low", "band_high",
                                    "at_estimate", "median", "low", "high",
                                    "data_in_interval", "median_in_band", "used_in_fit"]),
        "",
        "4. Validation targets at the estimate (model mean over seeds against each band)",
        text_table(rep.validation, ["moment", "period", "data", "low", "high", "mean",
                                    "verdict"]),
    ]
    n_fail = int((rep.validation["verdict"] == "FAIL").sum())
    parts.append(f"{len(rep.validation) - n_fail} of {len(rep.validation)} targets pass or "
                 f"are n/a at the estimate; {n_fail} fail")
    return "\n".join(parts)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for r in df.to_dict("records"):
        out.append({k: (None if isinstance(v, float) and not np.isfinite(v) else
                        (round(v, 8) if isinstance(v, float) else
                         (bool(v) if isinstance(v, np.bool_) else v)))
                    for k, v in r.items()})
    return out


# --------------------------------------------------------------------------- figures
def write_figures(rep: Report, out: Path) -> list[dict[str, Any]]:
    """The Morris, fit/hindcast and identification figures, and their figures.json rows."""
    from analysis import estimate_figures as ef

    records = []
    for spec in ef.FIGURES:
        fig, notes = spec.draw(rep)
        from analysis import style

        files = style.save(fig, out, spec.stem)
        exp = spec.experiment(rep)
        records.append({"id": spec.id, "name": spec.stem, "title": spec.title, "files": files,
                        "experiment": exp.name, "config": f"conf/experiment/{exp.name}.yaml",
                        "config_hash": exp.hash, "runs": exp.expected_runs, "notes": notes})
    return records


# --------------------------------------------------------------------------- pipeline
def _say(options: Options, message: str) -> None:
    if options.verbose:
        print(f"analysis.estimate: {message}", file=sys.stderr, flush=True)


def run(options: Options, preset_name: str = "small", out: Path = DEFAULT_OUT,
        calibration_dir: Path | None = None) -> Report:
    """The four stages; writes the estimates, the report and the figures."""
    from abm.outputs import atomic_write_bytes
    from analysis import style

    timings: dict[str, float] = {}
    t0 = time.time()
    s_est = preset(preset_name, "estimate")
    table = targets_table()
    fit_moments = list(s_est["moments"])
    held_out = list(s_est.get("held_out") or [])
    check_moments(fit_moments, held_out, table)
    fit_targets = emu.targets_from_table(table, fit_moments)

    _say(options, "stage 1/4: Morris screening")
    screening = screen(options, preset_name, fit_targets)
    timings["screen_s"] = time.time() - t0
    scores = identification_scores(screening, fit_targets)
    parameters = choose_parameters(scores, s_est)
    _say(options, f"stage 2/4: design over {len(parameters)} parameters: "
                  f"{', '.join(parameters)}")
    t1 = time.time()
    fit = design_and_fit(options, preset_name, parameters, fit_targets)
    timings["design_fit_s"] = time.time() - t1

    if calibration_dir is None:  # only the full preset replaces the packaged estimates
        calibration_dir = CALIBRATION_DIR if preset_name == "full" else out / "calibration"
    n_seeds = fit.values.shape[1]
    setting = (f"{preset_name} preset: {len(fit.unit)} points x {n_seeds} "
               f"seed{'s' if n_seeds != 1 else ''} "
               f"at size {fit.experiment.spec['size']}, {fit.experiment.spec['months']} months")
    files = write_estimates(fit.result, fit_moments, Path(calibration_dir), setting)
    _say(options, f"stage 3/4: wrote {', '.join(str(f) for f in files)}")

    t2 = time.time()
    s_post = preset(preset_name, "posterior")
    draws = fit.result.draws.copy()
    draws.insert(0, "draw", np.arange(len(draws)))
    opts = _options(options, s_post)
    post, plan = prepare_posterior(opts, s_post, draws, fit.result.point)
    _say(options, f"stage 4/4: the model at the estimate and {s_post['draws']} posterior "
                  f"draws x {s_post['seeds']} seeds")
    ex.run_rows(post, opts)
    values = ex.row_results(post, run_outcomes, outcomes_key())
    timings["predict_s"] = time.time() - t2
    predictive = predictive_table(values, plan, table, [*fit_moments, *held_out], fit_moments)
    validation = validation_at_estimate(values, plan)
    rep = Report(preset_name, screening, scores, parameters, fit, predictive, validation,
                 post, plan, files, timings)

    style.use_agg()
    style.apply()
    out.mkdir(parents=True, exist_ok=True)
    figures = write_figures(rep, out)
    text = format_report(rep)
    atomic_write_bytes(out / "report.txt", (text + "\n").encode())
    morris = screening.result.ranking(screening.outputs)
    record = {
        "generator": "python -m analysis.estimate", "preset": preset_name,
        "method": METHOD, "interval": emu.INTERVAL,
        "experiments": {e.name: e.record() for e in (screening.experiment, fit.experiment,
                                                       post)},
        "morris_ranking": _records(morris),
        "morris_indices": _records(screening.result.indices),
        "identification_scores": _records(scores),
        "parameters": parameters,
        "estimates": _records(fit.result.summary),
        "emulated_fit": _records(fit.result.fit),
        "identification": {m: {p: round(float(v), 6) for p, v in row.items()}
                           for m, row in fit.result.identification.iterrows()},
        "predictive": _records(predictive),
        "validation_at_estimate": _records(validation),
        "files": [f.name for f in files],
    }
    atomic_write_bytes(out / "estimate.json", (json.dumps(
        record, indent=1, sort_keys=True, default=ex.json_default) + "\n").encode())
    manifest = {"generator": "python -m analysis.estimate", "preset": preset_name,
                "figures": figures, "morris_ranking": record["morris_ranking"]}
    atomic_write_bytes(out / "figures.json", (json.dumps(
        manifest, indent=1, sort_keys=True, default=ex.json_default) + "\n").encode())
    timings["total_s"] = time.time() - t0
    rep.timings = timings
    return rep


def study_parser(command: str, description: str, preset_help: str,
                 out_default: str) -> argparse.ArgumentParser:
    """The command line every study shares (estimate, discover, sobol_study).

    Parameters
    ----------
    command : module run by ``python -m`` (the parser's ``prog``).
    description : one line for ``--help``.
    preset_help : what ``--preset full`` and ``small`` mean for this study.
    out_default : the default output directory as shown in ``--help``.
    """
    p = argparse.ArgumentParser(prog=f"python -m {command}", description=description)
    p.add_argument("--preset", choices=PRESETS, default="small",
                   help=f"{preset_help}; default small")
    p.add_argument("--launcher", choices=ex.LAUNCHERS, default="basic",
                   help="Hydra launcher of the sweeps (default basic)")
    p.add_argument("--jobs", type=int, default=-1,
                   help="joblib n_jobs (default -1: every core)")
    p.add_argument("--hydra-arg", action="append", default=[],
                   help="extra Hydra override for the sweeps (repeatable)")
    p.add_argument("--cache", default=None, help="experiment cache (default outputs/cache)")
    p.add_argument("--out", default=None, help=f"output directory (default {out_default})")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def require_extras(command: str, modules: Sequence[str]) -> None:
    """Refuse to start a study whose libraries (the ``estimate`` extras) are missing, before
    any run: they are imported only at the fit or PRIM stage, minutes in.

    Raises
    ------
    ExperimentError
        Naming the missing modules and how to install them.
    """
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ExperimentError(
            f"{command} needs {', '.join(missing)} (the project's `estimate` extras), not "
            "installed in this environment: run `make setup-estimate` (or `pip install -e "
            "'.[estimate]'`), or use `make estimate` / `make discover`, which install them")


def study_options(args: argparse.Namespace) -> Options:
    """The experiment :class:`Options` of a :func:`study_parser` command line."""
    return Options(launcher=args.launcher, jobs=args.jobs, hydra_args=tuple(args.hydra_arg),
                   cache_dir=Path(args.cache) if args.cache else None,
                   verbose=not args.quiet)


def study_out(args: argparse.Namespace, default_out: Path) -> Path:
    """``--out``, else ``default_out`` for the full preset and ``<default_out>-small``."""
    if args.out:
        return Path(args.out)
    return default_out if args.preset == "full" else default_out.with_name(
        f"{default_out.name}-small")


def _parser() -> argparse.ArgumentParser:
    p = study_parser("analysis.estimate", __doc__.split("\n\n")[0],
                     "full (the estimates; heavy, see README) or small (a quick check)",
                     "outputs/estimate[-small]")
    p.add_argument("--calibration-dir", default=None,
                   help="where estimated.csv and posterior.parquet go (default: "
                        "abm/calibration for the full preset, the packaged estimates; "
                        "OUT/calibration for the small one)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = study_out(args, DEFAULT_OUT)
    try:
        require_extras("analysis.estimate", ("sklearn", "emcee"))
        rep = run(study_options(args), args.preset, out,
                  Path(args.calibration_dir) if args.calibration_dir else None)
    except ExperimentError as exc:
        print(f"analysis.estimate: {exc}", file=sys.stderr)
        return 2
    print(format_report(rep))
    print(f"\nwrote {', '.join(str(f) for f in rep.files)}; report, estimate.json and "
          f"figures in {out} ({rep.timings['total_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
