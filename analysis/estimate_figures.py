"""The figures of ``python -m analysis.estimate``: Morris screening, posterior marginals,
identification and the fit / hindcast (written with :func:`analysis.style.save`, so a
second build of the same inputs writes identical bytes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis import outcomes as oc
from analysis import style

if TYPE_CHECKING:
    from analysis.estimate import Report

TOP_MORRIS = 25


@dataclass(frozen=True)
class Spec:
    id: str
    stem: str
    title: str
    experiment: Callable[[Report], Any]
    draw: Callable[[Report], tuple[Any, dict[str, Any]]]


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _short(key: str) -> str:
    return key.split(".", 1)[-1]


def fig_morris(rep: Report):
    """Heat map of normalised mu* (0-1) of the top parameters on each headline outcome."""
    plt = _plt()
    res = rep.screening.result
    outputs = rep.screening.outputs
    rank = res.ranking(outputs)
    top = rank.head(TOP_MORRIS)
    mat = top[outputs].to_numpy(float)
    fig, ax = plt.subplots(figsize=(style.WIDTH_IN, 1.2 + 0.22 * len(top)))
    im = ax.imshow(mat, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_yticks(np.arange(len(top)), [f"{r}. {p}" for r, p in zip(top["rank"],
                                                                     top["parameter"],
                                                                     strict=True)],
                  fontsize=6)
    ax.set_xticks(np.arange(len(outputs)), [oc.HEADLINE_LABELS.get(o, o) for o in outputs],
                  rotation=30, ha="right", fontsize=7)
    for i in range(mat.shape[0]):
        for j in range(mat.shape[1]):
            ax.text(j, i, f"{mat[i, j]:.2f}", ha="center", va="center", fontsize=5,
                    color="white" if mat[i, j] < 0.6 else "black")
    fig.colorbar(im, ax=ax, label="mu* / largest mu* of the outcome (0-1)")
    ax.set_title(f"Morris screening: top {len(top)} of {res.problem.num_vars} parameters "
                 f"(r = {res.r}, {len(res.samples)} runs, outcomes over the final 12 months)",
                 fontsize=8)
    fig.tight_layout()
    table = [{"rank": int(r["rank"]), "parameter": r["parameter"],
              "score": round(float(r["score"]), 6), "output": r["output"]}
             for r in rank.to_dict("records")]
    return fig, {"ranked": table, "outputs": outputs, "r": res.r,
                 "parameters": res.problem.num_vars}


def fig_posterior(rep: Report):
    """Posterior marginals of the estimated parameters over their prior (plausible) ranges."""
    plt = _plt()
    est = rep.fit.result
    names = list(est.problem.names)
    ncol = min(4, len(names))
    nrow = -(-len(names) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(style.WIDTH_IN, 1.7 * nrow + 0.4),
                             squeeze=False)
    summary = est.summary.set_index("parameter")
    for ax, name in zip(axes.flat, names, strict=False):
        lo, hi = est.problem.bounds[names.index(name)]
        ax.hist(est.draws[name], bins=30, range=(lo, hi), color="#0173b2", alpha=0.8)
        r = summary.loc[name]
        ax.axvline(r["estimate"], color="#000000", linewidth=1.0)
        ax.axvspan(r["low"], r["high"], color="#de8f05", alpha=0.2, linewidth=0)
        ax.set_xlim(lo, hi)
        ax.set_title(_short(name), fontsize=7)
        ax.tick_params(labelsize=6)
        ax.set_yticks([])
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle("Posterior of the estimated parameters over their plausible ranges "
                 "(median, 90% interval shaded)", fontsize=8)
    fig.tight_layout()
    return fig, {"estimates": est.summary.round(8).to_dict("records")}


def fig_identification(rep: Report):
    """Emulated change of each fitted moment over each parameter's range (data sd)."""
    plt = _plt()
    ident = rep.fit.result.identification
    mat = ident.to_numpy(float)
    lim = max(1.0, float(np.nanmax(np.abs(mat))))
    fig, ax = plt.subplots(figsize=(style.WIDTH_IN, 1.0 + 0.3 * len(ident)))
    im = ax.imshow(np.clip(mat, -lim, lim), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_yticks(np.arange(len(ident)), list(ident.index), fontsize=6)
    ax.set_xticks(np.arange(ident.shape[1]), [_short(c) for c in ident.columns], rotation=35,
                  ha="right", fontsize=6)
    for i in range(mat.shape[0]):
        for j in range(mat.shape[1]):
            ax.text(j, i, f"{mat[i, j]:.1f}", ha="center", va="center", fontsize=5)
    fig.colorbar(im, ax=ax, label="change over the range (data sd)")
    ax.set_title("Identification: which moment pins down which parameter", fontsize=8)
    fig.tight_layout()
    return fig, {"identification": {m: {p: round(float(v), 6) for p, v in row.items()}
                                    for m, row in ident.iterrows()}}


def fig_fit(rep: Report):
    """Per moment: the band and the datum, the model at the estimate and the 90% posterior
    predictive interval; fitted moments first, held-out ones (hindcast) after."""
    import matplotlib.ticker as ticker

    plt = _plt()
    pred = rep.predictive
    n = len(pred)
    cols = 4
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(style.WIDTH_IN, 1.45 * rows + 0.5),
                             squeeze=False)
    for ax, r in zip(axes.flat, pred.itertuples(index=False), strict=False):
        ax.axvspan(r.band_low, r.band_high, color="#cfe3f3")
        ax.plot([r.data], [1.0], "D", color="#1f4e79", ms=4)
        if np.isfinite(r.low):
            colour = "#2e7d32" if r.data_in_interval else "#c62828"
            ax.plot([r.low, r.high], [0.0, 0.0], color=colour, linewidth=2.0)
            ax.plot([r.median], [0.0], "|", color=colour, ms=8)
        if np.isfinite(r.at_estimate):
            ax.plot([r.at_estimate], [0.0], "o", color="#000000", ms=3)
        ax.set_yticks([0.0, 1.0], ["model", "data"], fontsize=6)
        ax.set_ylim(-0.8, 1.8)
        kind = "fit" if r.used_in_fit else "held out"
        ax.set_title(f"{r.moment}\n({r.period}, {kind})", fontsize=6)
        ax.tick_params(labelsize=5)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(4))
        if max(abs(r.band_low), abs(r.band_high), abs(r.data)) >= 1e4:
            # large quantities with an SI prefix (300k, 375G): the six-digit tick labels of
            # accelerator output ran into each other
            ax.xaxis.set_major_formatter(ticker.EngFormatter(places=None, sep=""))
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle("Fit and hindcast: band and datum (top), model at the estimate (dot) and "
                 "90% posterior predictive interval (bar)", fontsize=7)
    fig.tight_layout()
    return fig, {"predictive": pred.round(8).to_dict("records")}


BAND_OUTCOMES = ("hhi_revenue", "rent_share", "lerner", "gini_access", "open_weight_share",
                 "inference_share")
BAND_LABELS = {**oc.HEADLINE_LABELS, "inference_share": "inference share"}


def band_series(rep: Report) -> dict[str, dict[str, np.ndarray]]:
    """Quarterly means of :data:`BAND_OUTCOMES` for every run of the posterior experiment:
    ``{outcome: {"at_estimate": (seeds, quarters), "posterior": (draws x seeds, quarters)}}``
    and ``"quarter"`` (the quarters' start months)."""
    import pandas as pd

    from analysis.experiments import row_dir

    plan = rep.plan
    cols = list(BAND_OUTCOMES)
    series = []
    for i in range(len(plan)):
        g = pd.read_parquet(row_dir(rep.posterior_experiment, i) / "global.parquet",
                            columns=["month", *cols])
        q = g.groupby(g["month"] // 3)[cols].mean()
        series.append(q)
    quarters = series[0].index.to_numpy() * 3
    point = plan["draw"].to_numpy() == -1
    out: dict[str, dict[str, np.ndarray]] = {"quarter": {"month": quarters}}
    for c in cols:
        mat = np.stack([s[c].to_numpy(float) for s in series])
        out[c] = {"at_estimate": mat[point], "posterior": mat[~point]}
    return out


def fig_bands(rep: Report):
    """Headline outcomes over time with two 90% bands: seeds at the estimate (seed noise
    only) and posterior draws x seeds (parameter uncertainty too)."""
    plt = _plt()
    data = band_series(rep)
    months = data["quarter"]["month"]
    years = 2025 + months / 12.0
    fig, axes = plt.subplots(2, 3, figsize=(style.WIDTH_IN, 4.2), squeeze=False)
    for ax, c in zip(axes.flat, BAND_OUTCOMES, strict=True):
        post, point = data[c]["posterior"], data[c]["at_estimate"]
        lo, mid, hi = np.nanquantile(post, [0.05, 0.5, 0.95], axis=0)
        ax.fill_between(years, lo, hi, color="#de8f05", alpha=0.3, linewidth=0,
                        label="posterior draws x seeds (90%)")
        ax.plot(years, mid, color="#de8f05", linewidth=1.0)
        plo, phi = np.nanquantile(point, [0.05, 0.95], axis=0)
        ax.fill_between(years, plo, phi, color="#0173b2", alpha=0.35, linewidth=0,
                        label="seeds at the estimate (90%)")
        ax.plot(years, np.nanmean(point, axis=0), color="#0173b2", linewidth=1.0)
        ax.set_title(BAND_LABELS.get(c, c), fontsize=7)
        ax.tick_params(labelsize=6)
    axes.flat[0].legend(fontsize=5, loc="best")
    n_draws = int(rep.plan.loc[rep.plan["draw"] >= 0, "draw"].nunique())
    seeds = int(rep.plan["seed"].nunique())
    fig.suptitle(f"Parameter uncertainty: {n_draws} posterior draws x {seeds} seeds against "
                 f"{seeds} seeds at the estimate (quarterly means)", fontsize=8)
    fig.tight_layout()
    return fig, {"bands": "posterior draws x seeds", "draws": n_draws, "seeds": seeds,
                 "runs_per_band": n_draws * seeds, "interval": 0.9,
                 "outcomes": list(BAND_OUTCOMES)}


FIGURES: tuple[Spec, ...] = (
    Spec("morris", "est01_morris", "Morris screening of every parameter with a range",
         lambda r: r.screening.experiment, fig_morris),
    Spec("posterior", "est02_posterior", "Posterior marginals of the estimated parameters",
         lambda r: r.fit.experiment, fig_posterior),
    Spec("identification", "est03_identification", "Identification matrix",
         lambda r: r.fit.experiment, fig_identification),
    Spec("fit", "est04_fit_hindcast", "Fit and hindcast with predictive intervals",
         lambda r: r.posterior_experiment, fig_fit),
    Spec("bands", "est05_uncertainty_bands", "Headline outcomes with parameter-uncertainty "
         "bands (posterior draws x seeds)", lambda r: r.posterior_experiment, fig_bands),
)
