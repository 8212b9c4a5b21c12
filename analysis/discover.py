"""Scenario discovery: which futures produce a cognitive divide? ``python -m analysis.discover``
(``make discover``: the small preset; ``make discover-full``: the full one).

Runs (or reuses) the ``discover`` experiment (``conf/experiment/discover.yaml``): a Latin
hypercube over the plausible ranges of the parameters the Morris screening ranks highest on
the headline outcomes (the screening is the ``morris`` experiment that
:mod:`analysis.estimate` runs; it is shared through the cache), one run per point, each with
its own seed. For each condition of :data:`analysis.outcomes.CONDITIONS` it marks the runs
where the condition holds and lets PRIM (:mod:`analysis.prim`, EMA workbench) find the box
of parameter values where it holds, reporting coverage, density and the restricted
dimensions, with one figure per box. Writes ``discover.json``, ``report.txt``, the figures
and their ``figures.json`` into ``--out`` (``outputs/discover[-small]``).

Usage::

    python -m analysis.discover [--preset small|full] [--launcher basic|joblib|ray]
        [--jobs N] [--hydra-arg K=V] [--cache DIR] [--out DIR]
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import emulator as emu
from analysis import estimate as est
from analysis import experiments as ex
from analysis import outcomes as oc
from analysis.experiments import REPO, ExperimentError, Options
from analysis.prim import Box, find_box
from analysis.sensitivity import Problem

DEFAULT_OUT = REPO / "outputs" / "discover"
SIGNIFICANT_QP = 0.05  # a restriction with a larger quasi-p-value could be chance


def discover_outcomes(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
    return {**oc.conditions(tables), **oc.headline(tables)}


@dataclass
class Discovery:
    preset: str
    experiment: ex.Experiment
    problem: Problem
    inputs: pd.DataFrame            # one row per run, one column per parameter
    outcomes: pd.DataFrame          # conditions' outcomes and headline outcomes per run
    boxes: dict[str, Box | None]
    cases: dict[str, int]
    screened_from: str
    timings: dict[str, float] = field(default_factory=dict)


def choose_parameters(options: Options, preset_name: str, settings: dict[str, Any],
                      experiment: str = "discover") -> tuple[list[str], str]:
    """The parameters of ``experiment``: a list given in its settings, or the top
    ``n_parameters`` of the Morris ranking on the headline outcomes (the ``morris``
    experiment at the same preset, shared through the cache)."""
    given = settings.get("parameters", "screened")
    if isinstance(given, list | tuple):
        return list(given), f"conf/experiment/{experiment}.yaml"
    if given != "screened":
        raise ExperimentError(f"conf/experiment/{experiment}.yaml: parameters must be "
                              f"'screened' or a list of parameter keys, got {given!r}")
    s_est = est.preset(preset_name, "estimate")
    table = est.targets_table()
    fit_targets = emu.targets_from_table(table, list(s_est["moments"]))
    screening = est.screen(options, preset_name, fit_targets)
    ranking = screening.result.ranking(screening.outputs)
    n = int(settings.get("n_parameters", 12))
    return list(ranking["parameter"].iloc[:n]), f"Morris screening ({screening.experiment.key})"


def run(options: Options, preset_name: str = "small") -> Discovery:
    t0 = time.time()
    s = est.preset(preset_name, "discover")
    params, source = choose_parameters(options, preset_name, s)
    problem = Problem.from_parameters(params)
    points = int(s["points"])
    unit = emu.lhs(problem.num_vars, points, int(s.get("design_seed", 0)))
    natural = emu.to_natural(problem, unit)
    rows = [[*x, i] for i, x in enumerate(natural)]
    opts = est._options(options, s)
    exp = ex.prepare_rows("discover", opts, [*problem.names, "seed"], rows,
                          [*problem.integer, True], months=int(s["months"]),
                          spec={"points": points})
    est._say(options, f"discover: {points} runs over {len(params)} parameters "
                      f"({', '.join(params)})")
    ex.run_rows(exp, opts)
    t1 = time.time()
    values = ex.row_results(exp, discover_outcomes, "discover-" + est.outcomes_key())
    inputs = pd.DataFrame(natural, columns=list(problem.names))
    boxes: dict[str, Box | None] = {}
    cases: dict[str, int] = {}
    for name, (column, threshold) in oc.CONDITIONS.items():
        v = values[column].to_numpy(float)
        ok = np.isfinite(v)
        y = v[ok] > threshold
        cases[name] = int(y.sum())
        boxes[name] = find_box(inputs[ok], y, float(s.get("min_coverage", 0.5)),
                               float(s.get("peel_alpha", 0.05)),
                               float(s.get("mass_min", 0.05))) if ok.any() else None
    return Discovery(preset_name, exp, problem, inputs, values, boxes, cases, source,
                     {"runs_s": t1 - t0, "total_s": time.time() - t0})


# --------------------------------------------------------------------------- report
def box_table(d: Discovery) -> pd.DataFrame:
    rows = []
    for name, box in d.boxes.items():
        n = int(np.isfinite(d.outcomes[oc.CONDITIONS[name][0]]).sum())
        if box is None:
            rows.append({"condition": name, "cases": d.cases[name], "runs": n,
                         "coverage": np.nan, "density": np.nan, "mass": np.nan,
                         "restricted": "(no box: " + ("no run meets it" if d.cases[name] == 0
                                                      else "every run meets it") + ")"})
            continue
        rows.append({"condition": name, "cases": box.cases, "runs": box.points,
                     "coverage": box.coverage, "density": box.density, "mass": box.mass,
                     "restricted": "; ".join(
                         f"{r.parameter} in [{r.min:.4g}, {r.max:.4g}]"
                         for r in box.limits.itertuples(index=False)) or "(none)"})
    return pd.DataFrame(rows)


def format_report(d: Discovery) -> str:
    parts = [f"analysis.discover ({d.preset} preset): {len(d.inputs)} runs over "
             f"{d.problem.num_vars} parameters chosen by {d.screened_from}", ""]
    for name, box in d.boxes.items():
        parts.append(f"{name}: {oc.CONDITION_LABELS[name]}")
        if box is None:
            parts.append(f"  {d.cases[name]} runs meet it: no box to find")
        else:
            parts.append(f"  {box.cases} of {box.points} runs meet it (base density "
                         f"{box.base_density:.3f}); box: coverage {box.coverage:.3f}, density "
                         f"{box.density:.3f}, mass {box.mass:.3f}, "
                         f"{len(box.limits)} restricted dimension(s)")
            if len(box.limits):
                parts.append(est.text_table(box.limits, ["parameter", "min", "max",
                                                         "range_min", "range_max", "qp"]))
                if not (box.limits["qp"] < SIGNIFICANT_QP).any():
                    parts.append(f"  no restriction is significant (every quasi-p-value >= "
                                 f"{SIGNIFICANT_QP}): the condition does not depend on these "
                                 "parameters within their ranges")
        parts.append("")
    return "\n".join(parts)


def fig_box(d: Discovery, name: str):
    """Left: the peeling trajectory (coverage against density, the chosen box marked).
    Right: the chosen box's limits on each restricted dimension, as a share of its range,
    over the runs (cases of interest in colour)."""
    import matplotlib.pyplot as plt

    from analysis import style

    box = d.boxes[name]
    fig, axes = plt.subplots(1, 2, figsize=(style.WIDTH_IN, 3.0),
                             gridspec_kw={"width_ratios": [1, 1.4]})
    ax = axes[0]
    if box is None:
        for a in axes:
            a.text(0.5, 0.5, f"no box: {d.cases[name]} of {len(d.inputs)} runs meet it",
                   ha="center", va="center", fontsize=7, transform=a.transAxes)
            a.set_xticks([])
            a.set_yticks([])
    else:
        t = box.trajectory
        sc = ax.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap="viridis", s=10)
        ax.plot([box.coverage], [box.density], "o", mfc="none", mec="#c62828", ms=9)
        ax.set_xlabel("coverage (0-1)")
        ax.set_ylabel("density (0-1)")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        fig.colorbar(sc, ax=ax, label="restricted dimensions")
        ax.set_title("peeling trajectory", fontsize=7)
        ax = axes[1]
        column = oc.CONDITIONS[name][0]
        v = d.outcomes[column].to_numpy(float)
        ok = np.isfinite(v)
        hit = v > oc.CONDITIONS[name][1]
        lims = box.limits
        for i, r in enumerate(lims.itertuples(index=False)):
            span = r.range_max - r.range_min
            x = (d.inputs[r.parameter].to_numpy(float) - r.range_min) / span
            jitter = (np.arange(len(x)) % 7 - 3) * 0.03
            ax.scatter(x[ok & ~hit], i + jitter[ok & ~hit], s=2, color="#bbbbbb")
            ax.scatter(x[ok & hit], i + jitter[ok & hit], s=3, color="#d55e00")
            ax.plot([(r.min - r.range_min) / span, (r.max - r.range_min) / span], [i, i],
                    color="#0173b2", linewidth=4, alpha=0.6)
        ax.set_yticks(np.arange(len(lims)), [p.split(".", 1)[-1] for p in lims["parameter"]],
                      fontsize=6)
        ax.set_xlim(-0.02, 1.02)
        ax.set_xlabel("position in the plausible range (0-1)")
        ax.set_title(f"box: coverage {box.coverage:.2f}, density {box.density:.2f}",
                     fontsize=7)
        if not len(lims):
            ax.text(0.5, 0.5, "no restricted dimension", ha="center", va="center",
                    transform=ax.transAxes, fontsize=7)
    fig.suptitle(f"PRIM: {oc.CONDITION_LABELS[name]}", fontsize=8)
    fig.tight_layout()
    return fig


def write(d: Discovery, out: Path) -> list[dict[str, Any]]:
    from abm.outputs import atomic_write_bytes
    from analysis import style

    style.use_agg()
    style.apply()
    out.mkdir(parents=True, exist_ok=True)
    figures = []
    for k, name in enumerate(d.boxes, start=1):
        files = style.save(fig_box(d, name), out, f"disc{k:02d}_{name}")
        box = d.boxes[name]
        notes = {"condition": oc.CONDITION_LABELS[name], "cases": d.cases[name],
                 "runs": int(np.isfinite(d.outcomes[oc.CONDITIONS[name][0]]).sum())}
        if box is not None:
            notes.update({"coverage": round(box.coverage, 6), "density": round(box.density, 6),
                          "mass": round(box.mass, 6),
                          "restricted": est._records(box.limits)})
        figures.append({"id": name, "name": f"disc{k:02d}_{name}", "title":
                        f"PRIM box: {oc.CONDITION_LABELS[name]}", "files": files,
                        "experiment": d.experiment.name,
                        "config": f"conf/experiment/{d.experiment.name}.yaml",
                        "config_hash": d.experiment.hash, "runs": d.experiment.expected_runs,
                        "notes": notes})
    record = {"generator": "python -m analysis.discover", "preset": d.preset,
              "experiment": d.experiment.record(), "parameters": list(d.problem.names),
              "parameters_from": d.screened_from,
              "low_income_nations": oc.low_income_nations(),
              "conditions": {n: {"label": oc.CONDITION_LABELS[n], "outcome": c,
                                 "threshold": t} for n, (c, t) in oc.CONDITIONS.items()},
              "boxes": est._records(box_table(d)), "figures": [f["name"] for f in figures]}
    atomic_write_bytes(out / "discover.json", (json.dumps(
        record, indent=1, sort_keys=True, default=ex.json_default) + "\n").encode())
    atomic_write_bytes(out / "figures.json", (json.dumps(
        {"generator": "python -m analysis.discover", "preset": d.preset,
         "figures": figures}, indent=1, sort_keys=True, default=ex.json_default)
        + "\n").encode())
    atomic_write_bytes(out / "report.txt", (format_report(d) + "\n").encode())
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    args = est.study_parser(
        "analysis.discover", __doc__.split("\n\n")[0],
        "full (>= 1,000 runs; heavy, see README) or small (a quick check)",
        "outputs/discover[-small]").parse_args(argv)
    out = est.study_out(args, DEFAULT_OUT)
    try:
        est.require_extras("analysis.discover", ("ema_workbench",))
        d = run(est.study_options(args), args.preset)
        write(d, out)
    except ExperimentError as exc:
        print(f"analysis.discover: {exc}", file=sys.stderr)
        return 2
    print(format_report(d))
    print(f"wrote discover.json, report.txt and {len(d.boxes)} figures to {out} "
          f"({d.timings['total_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
