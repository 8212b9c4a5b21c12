"""Sobol indices done right: ``python -m analysis.sobol_study`` (``make sobol-study``).

Runs the ``sobol_study`` experiment (``conf/experiment/sobol_study.yaml``): on the
parameters the Morris screening ranks highest on the headline outcomes
(:func:`analysis.discover.choose_parameters`), Saltelli samples of doubling size until the
first-order and total indices of every headline outcome (:data:`analysis.outcomes.HEADLINE`)
at each of the experiment's years (2027, 2030, 2035) move by less than ``tol`` (0.05), then
the second-order indices of the ``second_order_top`` (4) parameters with the largest total
index (:mod:`analysis.sobol_convergence`, SALib). Each sample is one cached, resumable rows
sweep (any launcher). Writes ``sobol_study.json``, ``report.txt``, three figures
(``sob01_convergence``, ``sob02_by_year``, ``sob03_second_order``) and their
``figures.json`` into ``--out`` (``outputs/sobol_study[-small]``).

Usage::

    python -m analysis.sobol_study [--preset small|full] [--launcher basic|joblib|ray]
        [--jobs N] [--hydra-arg K=V] [--cache DIR] [--out DIR]
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import estimate as est
from analysis import experiments as ex
from analysis import outcomes as oc
from analysis.experiments import REPO, ExperimentError, Options
from analysis.sensitivity import Problem
from analysis.sobol_convergence import Convergence, converge, second_order

DEFAULT_OUT = REPO / "outputs" / "sobol_study"


@dataclass
class Study:
    preset: str
    problem: Problem
    years: list[int]
    outputs: list[str]
    convergence: Convergence
    top: list[str]
    s2: pd.DataFrame
    experiments: list[ex.Experiment] = field(default_factory=list)
    parameters_from: str = ""


def output_names(years: Sequence[int]) -> list[str]:
    """``<headline outcome>@<year>`` for every headline outcome and year."""
    return [f"{o}@{int(y)}" for o in oc.HEADLINE for y in years]


def _evaluator(options: Options, settings: dict[str, Any], problem: Problem,
               years: list[int], outputs: list[str], tag: str, done: list[ex.Experiment]):
    key = f"sobol-{'-'.join(map(str, years))}-" + est.outcomes_key()

    def outcomes(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
        out = {}
        for y in years:
            out.update({f"{k}@{y}": v for k, v in oc.headline(tables, int(y)).items()})
        return out

    def evaluate(x: np.ndarray) -> pd.DataFrame:
        exp = ex.prepare_rows("sobol_study", options, list(problem.names), x,
                              list(problem.integer), months=int(settings["months"]),
                              spec={"stage": tag, "rows_n": len(x), "years": years})
        ex.run_rows(exp, options)
        done.append(exp)
        res = ex.row_results(exp, outcomes, key)
        bad = [c for c in outputs if not np.all(np.isfinite(res[c].to_numpy(float)))]
        if bad:
            raise ExperimentError(f"sobol_study: {', '.join(bad)} not finite in every run "
                                  f"(do the runs reach every year of {years}? months = "
                                  f"{settings['months']})")
        return res[outputs]

    return evaluate


def top_by_total(conv: Convergence, k: int) -> list[str]:
    """The ``k`` parameters with the largest total index over every output (final size)."""
    idx = conv.final.indices
    score = idx.groupby("parameter")["ST"].max().sort_values(ascending=False, kind="stable")
    return list(score.index[:k])


def run(options: Options, preset_name: str = "small") -> Study:
    from analysis.discover import choose_parameters

    s = est.preset(preset_name, "sobol_study")
    params, source = choose_parameters(options, preset_name, s, "sobol_study")
    problem = Problem.from_parameters(params)
    years = [int(y) for y in s.get("years", [2027, 2030, 2035])]
    outputs = output_names(years)
    opts = est._options(options, s)
    done: list[ex.Experiment] = []
    seed = int(s.get("sample_seed", 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        conv = converge(problem, _evaluator(opts, s, problem, years, outputs, "converge",
                                            done),
                        int(s["n0"]), int(s["n_max"]), float(s.get("tol", 0.05)), seed)
        top = top_by_total(conv, int(s.get("second_order_top", 4)))
        sub = Problem.from_parameters(top)
        s2 = second_order(sub, _evaluator(opts, s, sub, years, outputs, "second_order", done),
                          int(s["n_second"]), seed)
    return Study(preset_name, problem, years, outputs, conv, top, s2, done, source)


# --------------------------------------------------------------------------- report
def format_report(st: Study) -> str:
    h = st.convergence.history
    final = st.convergence.final.indices
    wide = final.pivot(index="parameter", columns="output", values="ST")[st.outputs]
    parts = [f"analysis.sobol_study ({st.preset} preset): {st.problem.num_vars} parameters "
             f"chosen by {st.parameters_from}; outcomes at {st.years}", "",
             "1. Convergence (n doubles until no S1 or ST moves by "
             f"{st.convergence.tol}): {'converged' if st.convergence.converged else 'NOT '
                                         'converged by n_max'}",
             est.text_table(h), "",
             f"2. Total indices ST at n = {st.convergence.final.n}, by outcome and year",
             est.text_table(wide.round(3).reset_index()), "",
             f"3. Second-order indices S2 of the top {len(st.top)} by total index "
             f"({', '.join(st.top)})",
             est.text_table(st.s2.round(4))]
    return "\n".join(parts)


def _short(p: str) -> str:
    return p.split(".", 1)[-1]


def fig_convergence(st: Study):
    import matplotlib.pyplot as plt

    from analysis import style

    conv = st.convergence
    allidx = conv.indices()
    fig, axes = plt.subplots(1, 2, figsize=(style.WIDTH_IN, 2.8))
    h = conv.history
    axes[0].plot(h["n"], h["max_change"], "o-", color="#0173b2")
    axes[0].axhline(conv.tol, color="#c62828", linewidth=0.8, linestyle="--")
    axes[0].set_xscale("log", base=2)
    axes[0].set_xlabel("base samples n")
    axes[0].set_ylabel("largest change of S1/ST since n/2")
    top = st.top
    for p in top:
        sub = allidx[allidx["parameter"] == p].groupby("n")["ST"].max()
        axes[1].plot(sub.index, sub.to_numpy(), "o-", label=_short(p))
    axes[1].set_xscale("log", base=2)
    axes[1].set_xlabel("base samples n")
    axes[1].set_ylabel("largest ST over outcomes and years")
    axes[1].legend(fontsize=5)
    fig.suptitle("Sobol convergence: n doubling until no index moves by "
                 f"{conv.tol}", fontsize=8)
    fig.tight_layout()
    return fig, {"history": est._records(h), "converged": conv.converged}


def fig_by_year(st: Study):
    import matplotlib.pyplot as plt

    from analysis import style

    final = st.convergence.final.indices
    fig, axes = plt.subplots(1, len(st.years), figsize=(style.WIDTH_IN, 2.2 + 0.22 *
                                                        st.problem.num_vars), squeeze=False)
    for ax, y in zip(axes[0], st.years, strict=True):
        cols = [f"{o}@{y}" for o in oc.HEADLINE]
        wide = final[final["output"].isin(cols)].pivot(index="parameter", columns="output",
                                                       values="ST")
        wide = wide.loc[list(st.problem.names), cols]
        im = ax.imshow(np.clip(wide.to_numpy(float), 0, 1), vmin=0, vmax=1, cmap="viridis",
                       aspect="auto")
        ax.set_xticks(np.arange(len(cols)), [oc.HEADLINE_LABELS[o] for o in oc.HEADLINE],
                      rotation=40, ha="right", fontsize=5)
        ax.set_yticks(np.arange(len(wide)), [_short(p) for p in wide.index], fontsize=5)
        ax.set_title(str(y), fontsize=7)
    fig.colorbar(im, ax=axes[0].tolist(), label="total index ST (0-1)")
    fig.suptitle(f"Total Sobol indices at {', '.join(map(str, st.years))} "
                 f"(n = {st.convergence.final.n})", fontsize=8)
    return fig, {"indices": est._records(final)}


def fig_second_order(st: Study):
    import matplotlib.pyplot as plt

    from analysis import style

    k = len(st.top)
    outs = st.outputs
    fig, axes = plt.subplots(1, len(st.years), figsize=(style.WIDTH_IN, 2.6), squeeze=False)
    for ax, y in zip(axes[0], st.years, strict=True):
        mat = np.zeros((k, k))
        sub = st.s2[st.s2["output"].isin([o for o in outs if o.endswith(f"@{y}")])]
        best = sub.groupby(["parameter_1", "parameter_2"])["S2"].max()
        for (a, b), v in best.items():
            i, j = st.top.index(a), st.top.index(b)
            mat[i, j] = mat[j, i] = v
        im = ax.imshow(mat, vmin=-0.2, vmax=0.6, cmap="RdBu_r")
        ax.set_xticks(np.arange(k), [_short(p) for p in st.top], rotation=40, ha="right",
                      fontsize=5)
        ax.set_yticks(np.arange(k), [_short(p) for p in st.top], fontsize=5)
        ax.set_title(f"{y}: largest S2 over outcomes", fontsize=7)
    fig.colorbar(im, ax=axes[0].tolist(), label="S2")
    fig.suptitle(f"Second-order Sobol indices of the top {k} parameters", fontsize=8)
    return fig, {"s2": est._records(st.s2), "top": st.top}


FIGURES = (("convergence", "sob01_convergence", "Sobol convergence", fig_convergence),
           ("by_year", "sob02_by_year", "Total Sobol indices at 2027, 2030, 2035",
            fig_by_year),
           ("second_order", "sob03_second_order", "Second-order Sobol indices of the top 4",
            fig_second_order))


def write(st: Study, out: Path) -> list[dict[str, Any]]:
    from abm.outputs import atomic_write_bytes
    from analysis import style

    style.use_agg()
    style.apply()
    out.mkdir(parents=True, exist_ok=True)
    figures = []
    for fid, stem, title, draw in FIGURES:
        fig, notes = draw(st)
        files = style.save(fig, out, stem)
        figures.append({"id": fid, "name": stem, "title": title, "files": files,
                        "experiment": "sobol_study",
                        "config": "conf/experiment/sobol_study.yaml",
                        "experiments": [e.key for e in st.experiments],
                        "runs": sum(e.expected_runs for e in st.experiments), "notes": notes})
    record = {"generator": "python -m analysis.sobol_study", "preset": st.preset,
              "parameters": list(st.problem.names), "parameters_from": st.parameters_from,
              "years": st.years, "history": est._records(st.convergence.history),
              "converged": st.convergence.converged,
              "indices": est._records(st.convergence.indices()), "top": st.top,
              "second_order": est._records(st.s2),
              "experiments": [e.record() for e in st.experiments]}
    dumps = {"sort_keys": True, "indent": 1, "default": ex.json_default}
    atomic_write_bytes(out / "sobol_study.json", (json.dumps(record, **dumps) + "\n").encode())
    atomic_write_bytes(out / "figures.json", (json.dumps(
        {"generator": "python -m analysis.sobol_study", "preset": st.preset,
         "figures": figures}, **dumps) + "\n").encode())
    atomic_write_bytes(out / "report.txt", (format_report(st) + "\n").encode())
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    args = est.study_parser(
        "analysis.sobol_study", __doc__.split("\n\n")[0],
        "full (heavy, see README) or small (a quick check)",
        "outputs/sobol_study[-small]").parse_args(argv)
    out = est.study_out(args, DEFAULT_OUT)
    try:
        st = run(est.study_options(args), args.preset)
        write(st, out)
    except ExperimentError as exc:
        print(f"analysis.sobol_study: {exc}", file=sys.stderr)
        return 2
    print(format_report(st))
    print(f"wrote sobol_study.json, report.txt and {len(FIGURES)} figures to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
