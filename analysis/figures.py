"""Build every paper figure: ``python -m analysis.figures`` (or ``make figures``).

The command runs the experiments the figures need (``conf/experiment/scenarios.yaml`` and
``conf/experiment/sobol.yaml``, as Hydra multiruns through :mod:`analysis.experiments`, reusing
cached results when the experiment and the model code are unchanged), then writes each figure
to ``outputs/figures/`` as PNG and PDF, and ``figures.json``: for every figure its files
(with sha256), the experiment, its config hash, the scenarios, seeds and runs behind it.
A second build of the same inputs writes identical bytes.

Options (defaults: the full experiments, i.e. the default size, 132 months, 10 seeds and
Sobol n = 128; heavy, see README)::

    --size small|default|world   --months M   --seeds N   --scenarios a,b,c   --sobol-n N
    --launcher basic|joblib|ray  --jobs N (joblib n_jobs)   --hydra-arg KEY=VALUE (repeat)
    --out DIR (outputs/figures)  --cache DIR (outputs/cache)  --only 1,2,9
    --overview PATH (also copy the overview PNG there, e.g. docs/figures/overview.png)
    --draws K (posterior draws per scenario; 0: seeds only)   --posterior FILE

Every figure but 9 draws on one set of runs per scenario. With ``--draws K`` (K > 0; default
10, from ``conf/experiment/scenario_draws.yaml``) they are K posterior draws
(``abm/calibration/posterior.parquet``, chosen as :mod:`analysis.bands` says) x seeds, and
lines are the mean over those runs of their quarterly means, shaded with the central 95%
range over draws x seeds; with ``--draws 0`` they are seeds at the defaults (the
``scenarios`` grid), shaded with a 95% Student-t interval of the mean over seeds. "Final
year" means the mean over each run's last 12 months. ``figures.json`` records for each
figure what its uncertainty covers (``uncertainty``: "posterior draws x seeds" or "seeds",
the numbers of draws and seeds, the posterior file's sha256).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import bands as bd
from analysis import references as ref
from analysis import style
from analysis.experiments import (
    REPO,
    Experiment,
    ExperimentError,
    Options,
    json_default,
    run_records,
)
from analysis.loading import HEADLINE_METRICS, annual, mean_ci, quarterly

DEFAULT_OUT = REPO / "outputs" / "figures"
LORENZ_SCENARIOS = ("baseline", "open_weights_surge", "export_controls")
LORENZ_YEARS = (2025, 2030, 2035)
ENERGY_SCENARIOS = ("baseline", "energy_shock", "efficiency_breakthrough",
                    "test_time_compute_boom")
DEPENDENCE_SCENARIOS = ("baseline", "sovereign_cloud")
YEAR_LABEL = "Year"
MAX_NATION_PANELS = 20   # size=world has 200 synthetic nations: show the most populous

METRIC_LABELS = {
    "hhi_revenue": "HHI of revenue (0-10,000)",
    "cr4_revenue": "CR4 of revenue (share, 0-1)",
    "lerner": "Lerner index, (p - mc)/p (0-1)",
    "rent_share": "Rent share of user spending (0-1)",
    "gini_access": "Gini of access (0-1)",
    "theil_between": "Theil between nations (nats)",
    "unserved_share": "Unserved share of demand (0-1)",
    "tokens_total": "Tokens served (M tokens/month)",
    "price_constant_capability": "Price at constant capability ($/M tokens)",
    "energy_twh": "Data-centre electricity (TWh/yr)",
    "inference_share": "Inference share of compute spend (0-1)",
    "open_weight_share": "Open-weight share of tokens (0-1)",
}
SHORT_LABELS = {
    "hhi_revenue": "HHI", "cr4_revenue": "CR4", "lerner": "Lerner", "rent_share": "rent share",
    "gini_access": "access Gini", "theil_between": "Theil between",
    "unserved_share": "unserved", "tokens_total": "tokens",
    "price_constant_capability": "price (const. cap.)", "energy_twh": "electricity",
    "inference_share": "inference share", "open_weight_share": "open-weight share",
}
PARAMETER_LABELS = {
    "open_source.lag_months": "open-weight lag (months)",
    "demand.elasticity": "price elasticity of demand",
    "energy.price_shock": "electricity price (x)",
    "supply.build_lead_months": "build lead time (months)",
    "demand.test_time_multiplier_final": "test-time compute growth (x)",
    "chips.tier2_cap_h100e_per_year": "export-control cap (H100e/yr)",
    "supply.software_efficiency_growth": "software efficiency growth (x/yr)",
    "demand.growth_initial": "adoption growth (x/yr)",
}


# --------------------------------------------------------------------------- data
@dataclass
class Inputs:
    """What the figures draw from: the scenario runs (seeds at the defaults, or posterior
    draws x seeds: ``band`` says which; both tables carry a ``draw`` column, -1 for the
    defaults) and the Sobol analysis."""

    scenarios: Experiment | None = None
    world: pd.DataFrame = field(default_factory=pd.DataFrame)
    nations: pd.DataFrame = field(default_factory=pd.DataFrame)
    sobol: Experiment | None = None
    sobol_result: Any = None
    band: bd.Band = field(default_factory=bd.Band)
    plan: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        # tables of a plain seeds sweep (load_sweep) have no draw: they are the defaults
        for name in ("world", "nations"):
            table = getattr(self, name)
            if len(table.columns) and "draw" not in table.columns:
                setattr(self, name, bd.with_draws(table, None))
        if not self.band.seeds and len(self.world):
            self.band = bd.Band(draws=0, seeds=len(self.seeds()))

    def present(self, wanted: Sequence[str]) -> list[str]:
        """The scenarios of ``wanted`` that the sweep ran, in that order."""
        have = set(self.world["scenario"]) if len(self.world) else set()
        return [s for s in wanted if s in have]

    def all_scenarios(self) -> list[str]:
        have = set(self.world["scenario"])
        ordered = [s for s in style.SCENARIOS if s in have]
        return ordered + sorted(have - set(ordered))

    def seeds(self) -> list[int]:
        return sorted(int(s) for s in self.world["seed"].unique())


@dataclass
class Drawn:
    fig: Any
    scenarios: list[str]
    notes: dict[str, Any] = field(default_factory=dict)


# what a figure's uncertainty shows (figures.json "uncertainty")
BAND = "band"            # a shaded interval over the runs (Band.statistic says which)
MEANS = "means"          # means over the runs, no interval drawn
SOBOL = "sobol"          # bootstrap intervals of Sobol indices over the Saltelli sample


@dataclass(frozen=True)
class FigureSpec:
    id: int | str
    stem: str
    title: str
    experiment: str
    draw: Callable[[Inputs], Drawn]
    uncertainty: str = BAND
    time_series: bool = True


# --------------------------------------------------------------------------- helpers
def _plt():
    import matplotlib.pyplot as plt

    return plt


def _years_axis(ax, lo: float | None = None, hi: float | None = None,
                nbins: int = 7) -> None:
    """Calendar years on x: whole-year limits (widened to ``lo``/``hi``), integer ticks."""
    from matplotlib.ticker import MaxNLocator

    cur = ax.get_xlim()
    left = np.floor(min(cur[0], lo) if lo is not None else cur[0])
    right = np.ceil(max(cur[1], hi) if hi is not None else cur[1])
    ax.set_xlim(float(left), float(right))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=nbins))
    ax.set_xlabel(YEAR_LABEL)


# the natural range of bounded metrics: intervals are clipped to it
BOUNDS = {"hhi_revenue": (0.0, 10_000.0), "cr4_revenue": (0.0, 1.0), "lerner": (0.0, 1.0),
          "rent_share": (0.0, 1.0), "gini_access": (0.0, 1.0), "unserved_share": (0.0, 1.0),
          "inference_share": (0.0, 1.0), "dependence_ratio": (0.0, 1.0),
          "open_weight_share": (0.0, 1.0), "energy_twh": (0.0, np.inf),
          "price_constant_capability": (0.0, np.inf)}


RUN_KEYS = ("scenario", "draw", "seed")   # one run of the figures' experiment


def _series(ax, world: pd.DataFrame, metric: str, scenarios: Sequence[str], band: bd.Band,
            nbins: int = 7, log: bool = False) -> pd.DataFrame:
    """Mean and band over the runs (seeds, or posterior draws x seeds: ``band``) of
    quarterly means of ``metric``, one line per scenario (intervals clipped to the metric's
    natural range). With ``log`` the mean and interval are taken of the logarithm (a
    geometric mean, for log-scale axes)."""
    q = quarterly(world[world["scenario"].isin(scenarios)], [metric], by=RUN_KEYS)
    if log:
        q[metric] = np.log(q[metric].clip(lower=1e-300))
    stats = band.stats(q, ["scenario", "t"], metric)
    if log:
        stats[["mean", "lo", "hi"]] = np.exp(stats[["mean", "lo", "hi"]])
    lo, hi = BOUNDS.get(metric, (-np.inf, np.inf))
    stats["lo"] = stats["lo"].clip(lower=lo, upper=hi)
    stats["hi"] = stats["hi"].clip(lower=lo, upper=hi)
    for s in scenarios:
        d = stats[stats["scenario"] == s]
        color = style.scenario_color(s)
        ax.fill_between(d["t"], d["lo"], d["hi"], color=color, alpha=0.15, linewidth=0)
        ax.plot(d["t"], d["mean"], color=color, label=style.scenario_label(s),
                zorder=4 if s == "baseline" else 3)
    if len(stats):
        ax.set_xlim(np.floor(stats["t"].min()), np.ceil(stats["t"].max()))
    _years_axis(ax, nbins=nbins)
    return stats


def _scenario_legend(fig, scenarios: Sequence[str], ncol: int = 5, y: float = 0.0,
                     extra: Sequence[Any] = ()) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=style.scenario_color(s), label=style.scenario_label(s))
               for s in scenarios] + list(extra)
    fig.legend(handles=handles, loc="lower center", ncol=min(ncol, len(handles)),
               frameon=False, bbox_to_anchor=(0.5, y), columnspacing=1.2, handlelength=1.6,
               handletextpad=0.5)


def _finish(fig, title: str, legend_rows: int) -> None:
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06 * legend_rows, 1, 1))


def _band_handle(band: bd.Band):
    """A legend entry saying what the shaded bands cover."""
    from matplotlib.patches import Patch

    return Patch(color="#333333", alpha=0.15, label=band.legend()[1])


def _legend_rows(n: int, ncol: int = 5) -> int:
    return -(-n // ncol)


# --------------------------------------------------------------------------- figures
SMALL_MULTIPLE_COLS = 5


@dataclass(frozen=True)
class MetricRow:
    """One metric of a small-multiples figure: its panels share a y axis."""

    metric: str
    ylabel: str
    ylim: tuple[float, float | None]   # top None: the block's largest value (+8%)
    hline: tuple[float, str] | None = None


def _reference(world: pd.DataFrame, metric: str, scenario: str = "baseline") -> pd.DataFrame:
    """Mean over runs of quarterly means of ``metric`` in ``scenario`` (the grey line)."""
    q = quarterly(world[world["scenario"] == scenario], [metric], by=RUN_KEYS)
    return mean_ci(q, ["scenario", "t"], metric) if len(q) else pd.DataFrame()


def _small_multiples(d: Inputs, rows: Sequence[MetricRow], title: str) -> Drawn:
    """One panel per scenario and metric (up to five scenarios a row, one block of rows per
    metric): the scenario's mean over runs with its band (``d.band``) in its colour, and
    baseline's mean as a thin grey line in every other panel for reference."""
    plt = _plt()
    scen = d.all_scenarios()
    ncol = min(SMALL_MULTIPLE_COLS, len(scen))
    per_metric = -(-len(scen) // ncol)
    nrow = per_metric * len(rows)
    fig, axes = plt.subplots(nrow, ncol, figsize=(style.WIDTH_IN, 0.55 + 1.45 * nrow),
                             sharex=True, squeeze=False)
    has_base = "baseline" in scen
    for block, row in enumerate(rows):
        ref_line = _reference(d.world, row.metric) if has_base else pd.DataFrame()
        block_axes = []
        for k in range(per_metric * ncol):
            ax = axes[block * per_metric + k // ncol][k % ncol]
            if k >= len(scen):
                ax.set_visible(False)
                continue
            s = scen[k]
            if s != "baseline" and len(ref_line):
                ax.plot(ref_line["t"], ref_line["mean"], color="#9a9a9a", linewidth=0.8,
                        zorder=2)
            _series(ax, d.world, row.metric, [s], d.band, nbins=3)
            if row.hline is not None:
                ax.axhline(row.hline[0], color="#b2182b", linestyle="--", linewidth=0.7)
            block_axes.append(ax)
            ax.set_title(style.scenario_label(s), fontsize=7, color=style.scenario_color(s))
            ax.set_xlabel("")
            ax.set_ylabel(row.ylabel if k % ncol == 0 else "", fontsize=6.5)
            if k % ncol:
                ax.tick_params(labelleft=False)
            ax.tick_params(labelsize=6)
        top = row.ylim[1]
        if top is None:
            top = 1.08 * max(max(a.dataLim.y1 for a in block_axes),
                             row.hline[0] if row.hline else 0.0)
        for ax in block_axes:
            ax.set_ylim(row.ylim[0], top)
    for col in range(ncol):  # year labels under the lowest visible panel of each column
        visible = [axes[r][col] for r in range(nrow) if axes[r][col].get_visible()]
        if visible:
            visible[-1].set_xlabel(YEAR_LABEL, fontsize=6.5)
            visible[-1].xaxis.set_tick_params(labelbottom=True)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    line_label, band_label = d.band.legend()
    handles = [Line2D([], [], color="#333333", label=line_label),
               Patch(color="#333333", alpha=0.15, label=band_label)]
    if has_base:
        handles.append(Line2D([], [], color="#9a9a9a", linewidth=0.8, label="baseline (mean)"))
    handles += [Line2D([], [], color="#b2182b", linestyle="--", linewidth=0.7, label=r.hline[1])
                for r in rows if r.hline is not None]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.035, 1, 1), h_pad=0.6, w_pad=0.4)
    return Drawn(fig, scen, {"layout": "small multiples: one panel per scenario and metric",
                             "reference": "baseline mean (grey)" if has_base else None})


def fig_concentration(d: Inputs) -> Drawn:
    drawn = _small_multiples(d, [
        MetricRow("hhi_revenue", "HHI (0-10,000)", (0, None),
                  (ref.MERGER_GUIDELINES_HHI, "2023 Merger Guidelines (HHI 1,800)")),
        MetricRow("cr4_revenue", "CR4 (share, 0-1)", (0, 1.02))],
        "Inference market concentration by scenario: HHI (top rows) and CR4 of revenue")
    drawn.notes["reference_line"] = "2023 US Merger Guidelines, HHI 1,800"
    return drawn


def fig_rents(d: Inputs) -> Drawn:
    return _small_multiples(d, [
        MetricRow("lerner", "Lerner (0-1)", (0, 1.02)),
        MetricRow("rent_share", "rent share (0-1)", (0, 1.02))],
        "Rents on cognition by scenario: Lerner index (top rows) and rent share of spending")


def _lorenz_years(nations: pd.DataFrame) -> list[int]:
    years = sorted({int(y) for y in 2025 + nations["month"].unique() // 12})
    if all(y in years for y in LORENZ_YEARS):
        return list(LORENZ_YEARS)
    picks = [years[0], years[len(years) // 2], years[-1]]
    return sorted(set(picks))


def lorenz_points(tpc: np.ndarray, pop: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Population-weighted Lorenz curve of tokens per capita across nations, and its Gini."""
    order = np.argsort(tpc, kind="stable")
    pop, tokens = pop[order], (tpc * pop)[order]
    x = np.concatenate([[0.0], np.cumsum(pop) / pop.sum()])
    y = np.concatenate([[0.0], np.cumsum(tokens) / tokens.sum()])
    gini = 1.0 - float(np.sum(np.diff(x) * (y[1:] + y[:-1])))
    return x, y, gini


def fig_lorenz(d: Inputs) -> Drawn:
    plt = _plt()
    scen = d.present(LORENZ_SCENARIOS) or d.all_scenarios()[:1]
    nat = d.nations[d.nations["scenario"].isin(scen)]
    years = _lorenz_years(nat)
    yearly = annual(nat, ["tokens_per_capita", "population"],
                    by=(*RUN_KEYS, "nation"))
    grid = np.linspace(0.0, 1.0, 201)
    fig, axes = plt.subplots(1, len(years), figsize=(0.4 + 2.3 * len(years), 3.2),
                             sharey=True, squeeze=False)
    ginis: dict[str, dict[str, float]] = {}
    for ax, year in zip(axes[0], years, strict=True):
        ax.plot([0, 1], [0, 1], color="#999999", linewidth=0.7, linestyle=":")
        for s in scen:
            curves, gs = [], []
            for _, g in yearly[(yearly["scenario"] == s) & (yearly["year"] == year)].groupby(
                    ["draw", "seed"], sort=True):
                x, y, gini = lorenz_points(g["tokens_per_capita"].to_numpy(float),
                                           g["population"].to_numpy(float))
                curves.append(np.interp(grid, x, y))
                gs.append(gini)
            if not curves:
                continue
            frame = pd.DataFrame({"x": np.tile(grid, len(curves)),
                                  "y": np.concatenate(curves),
                                  "seed": np.repeat(np.arange(len(curves)), len(grid))})
            stats = d.band.stats(frame, "x", "y")
            color = style.scenario_color(s)
            ax.fill_between(stats["x"], stats["lo"], stats["hi"], color=color, alpha=0.15,
                            linewidth=0)
            ax.plot(stats["x"], stats["mean"], color=color,
                    label=f"{style.scenario_label(s)} (Gini {np.mean(gs):.2f})")
            ginis.setdefault(str(year), {})[s] = round(float(np.mean(gs)), 6)
        ax.set_title(str(year))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_xlabel("Cumulative population share (0-1)")
        ax.legend(loc="upper left", frameon=False, fontsize=5.5)
    axes[0][0].set_ylabel("Cumulative token share (0-1)")
    fig.suptitle(f"Lorenz curves of tokens per capita across nations\n(shaded: "
                 f"{d.band.legend()[1]})")
    fig.tight_layout()
    return Drawn(fig, scen, {"years": years, "between_nation_gini": ginis})


def _largest_nations(nat: pd.DataFrame, k: int = MAX_NATION_PANELS) -> list[str]:
    """The ``k`` most populous nations (all of them when there are at most ``k``)."""
    pop = nat.groupby("nation")["population"].mean()
    if len(pop) <= k:
        return sorted(pop.index)
    return sorted(pop.sort_values(ascending=False, kind="stable").index[:k])


def _heat_text(values: np.ndarray, fmt: Callable[[float], str]) -> np.ndarray:
    return np.vectorize(lambda v: "" if not np.isfinite(v) else fmt(v), otypes=[object])(
        values)


def _si(v: float) -> str:
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:.3g}"


def fig_access(d: Inputs) -> Drawn:
    import seaborn as sns

    plt = _plt()
    scen = d.present(["baseline"]) or d.all_scenarios()[:1]
    nat = d.nations[d.nations["scenario"] == scen[0]]
    nat = nat[nat["nation"].isin(_largest_nations(nat, 2 * MAX_NATION_PANELS))]
    yearly = annual(nat, ["tokens_per_capita", "unserved_share"], by=("nation",))
    tpc = yearly.pivot(index="nation", columns="year", values="tokens_per_capita")
    order = tpc.iloc[:, -1].sort_values(ascending=False, kind="stable").index
    tpc = tpc.loc[order]
    uns = yearly.pivot(index="nation", columns="year", values="unserved_share").loc[order]
    n_nat, n_year = tpc.shape
    height = max(2.6, 0.8 + 0.22 * n_nat)
    fig, axes = plt.subplots(1, 2, figsize=(style.WIDTH_IN, height))
    fs = 5 if n_year > 8 else 6
    log_tpc = np.log10(np.clip(tpc.to_numpy(float), 1e-12, None))
    sns.heatmap(pd.DataFrame(log_tpc, index=tpc.index, columns=tpc.columns), ax=axes[0],
                cmap="viridis", annot=_heat_text(tpc.to_numpy(float), _si), fmt="",
                annot_kws={"fontsize": fs}, linewidths=0.3, linecolor="white",
                cbar_kws={"label": "log10 tokens per person per month"})
    axes[0].set_title("Tokens per capita (tokens/person/month)")
    sns.heatmap(uns, ax=axes[1], cmap="rocket_r", vmin=0, vmax=1,
                annot=_heat_text(uns.to_numpy(float), lambda v: f"{v:.2f}"), fmt="",
                annot_kws={"fontsize": fs}, linewidths=0.3, linecolor="white",
                cbar_kws={"label": "unserved share of demand (0-1)"})
    axes[1].set_title("Unserved share of demand (0-1)")
    for ax in axes:
        ax.set_xlabel(f"{YEAR_LABEL} (annual mean)")
        ax.set_ylabel("Nation")
        ax.tick_params(axis="x", rotation=90)
    axes[1].set_ylabel("")
    over = (f"{d.band.draws} posterior draws x {len(d.seeds())} seeds" if d.band.draws
            else f"{len(d.seeds())} seeds")
    fig.suptitle(f"Access by nation and year ({style.scenario_label(scen[0])}, mean over "
                 f"{over})")
    fig.tight_layout()
    return Drawn(fig, scen, {"nations": list(order)})


def fig_price(d: Inputs) -> Drawn:
    plt = _plt()
    scen = d.all_scenarios()
    fig, ax = plt.subplots(figsize=(style.WIDTH_IN, 3.8))
    stats = _series(ax, d.world, "price_constant_capability", scen, d.band, log=True)
    ax.set_yscale("log")
    w = d.world
    anchor_rows = w[(w["scenario"] == ("baseline" if "baseline" in scen else scen[0]))
                    & (w["month"] == w["month"].min())]
    p0 = float(anchor_rows["price_constant_capability"].mean())
    t0 = 2025.0
    t1 = float(stats["t"].max()) + 0.125
    t = np.linspace(t0, t1, 200)
    epoch = ref.EPOCH_DECLINE
    ax.fill_between(t, p0 / epoch["high"] ** (t - t0), p0 / epoch["low"] ** (t - t0),
                    color="#4d4d4d", alpha=0.10, linewidth=0,
                    label=f"Epoch AI band (/{epoch['low']:.0f} to /{epoch['high']:.0f} "
                          "per year)")
    ax.plot(t, p0 / epoch["central"] ** (t - t0), color="#4d4d4d", linestyle="--",
            linewidth=0.9, label=f"Epoch AI central (/{epoch['central']:.0f} per year)")
    ax.plot(t, p0 / ref.A16Z_DECLINE["central"] ** (t - t0), color="#7b3294",
            linestyle="-.", linewidth=0.9,
            label=f"a16z LLMflation (/{ref.A16Z_DECLINE['central']:.0f} per year)")
    lo = float(np.nanmin(stats["lo"].clip(lower=1e-300)))
    hi = float(np.nanmax(stats["hi"]))
    ax.set_ylim(max(lo / 30.0, p0 / 1e6), max(hi, p0) * 3.0)
    ax.set_ylabel("Price at constant capability ($/M tokens, log scale)")
    ax.set_title("Price at constant capability against observed decline rates")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    extra = [Patch(color="#4d4d4d", alpha=0.2, label=f"Epoch AI (/{epoch['low']:.0f} to "
                                                    f"/{epoch['high']:.0f} per year)"),
             Line2D([], [], color="#4d4d4d", linestyle="--",
                    label=f"Epoch AI central (/{epoch['central']:.0f} per year)"),
             Line2D([], [], color="#7b3294", linestyle="-.",
                    label=f"a16z (/{ref.A16Z_DECLINE['central']:.0f} per year)"),
             _band_handle(d.band)]
    n = len(scen) + len(extra)
    _scenario_legend(fig, scen, ncol=4, extra=extra)
    fig.tight_layout(rect=(0, 0.055 * _legend_rows(n, 4), 1, 1))
    return Drawn(fig, scen, {"anchor_price_usd_per_mtok": round(p0, 9),
                             "statistic": "geometric mean over the runs, band of the log",
                             "epoch": epoch["source"], "a16z": ref.A16Z_DECLINE["source"]})


def fig_electricity(d: Inputs) -> Drawn:
    plt = _plt()
    scen = d.present(ENERGY_SCENARIOS) or d.all_scenarios()[:1]
    nat = d.nations[d.nations["scenario"].isin(scen)]
    have = set(nat["nation"])
    panels = []
    for region, members in ref.IEA_REGIONS.items():
        present = [m for m in members if m in have]
        if present:
            panels.append((region, present, len(present) == len(members)))
    all_members = {m for ms in ref.IEA_REGIONS.values() for m in ms}
    unknown = sorted(have - all_members)  # e.g. synthetic nations of size=world
    panels.append(("World", sorted(have), not unknown and have == all_members))
    ncol = 3
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(style.WIDTH_IN, 2.3 * nrow + 0.5),
                             squeeze=False)
    coverage = {}
    for ax, (region, members, full) in zip(axes.flat, panels, strict=False):
        sub = nat[nat["nation"].isin(members)]
        summed = sub.groupby([*RUN_KEYS, "run_id", "month"], as_index=False)[
            "energy_twh"].sum()
        _series(ax, summed, "energy_twh", scen, d.band, nbins=4)
        iea = ref.IEA_TWH["World" if region == "World" else region]
        if full:
            ax.plot([2024.5, 2030.5], [iea["2024"], iea["2030"]], color="#b2182b",
                    linestyle=":", marker="D", markersize=3.5, linewidth=0.9)
            ax.annotate(f"IEA 2030: {iea['2030']:.0f}", xy=(2030.5, iea["2030"]),
                        xytext=(-4, 4), textcoords="offset points", ha="right",
                        fontsize=6, color="#b2182b")
            title = region
            _years_axis(ax, lo=2024.0, hi=2031.0, nbins=4)
        else:
            names = ", ".join(members) if len(members) <= 2 else f"{len(members)} nations"
            title = f"{region} (partial: {names})"
            _years_axis(ax, hi=2031.0, nbins=4)
        ax.set_title(title, fontsize=7)
        ax.set_ylabel("Electricity (TWh/yr)")
        ax.set_ylim(bottom=0)
        coverage[region] = {"nations": members, "iea_reference_drawn": full}
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    from matplotlib.lines import Line2D

    extra = [Line2D([], [], color="#b2182b", linestyle=":", marker="D", markersize=3.5,
                    label="IEA 2024 and 2030 projection"), _band_handle(d.band)]
    _scenario_legend(fig, scen, ncol=3, extra=extra)
    _finish(fig, "Data-centre electricity by IEA region",
            0.6 * _legend_rows(len(scen) + 2, 3))
    return Drawn(fig, scen, {"iea": ref.IEA_SOURCE, "regions": coverage})


def fig_inference_share(d: Inputs) -> Drawn:
    plt = _plt()
    scen = d.all_scenarios()
    fig, ax = plt.subplots(figsize=(style.WIDTH_IN, 3.6))
    _series(ax, d.world, "inference_share", scen, d.band)
    ax.axhline(ref.INFERENCE_HALF, color="#4d4d4d", linestyle="--", linewidth=0.9)
    ax.annotate("50%", xy=(0.01, ref.INFERENCE_HALF), xycoords=("axes fraction", "data"),
                xytext=(0, 3), textcoords="offset points", fontsize=6.5, color="#4d4d4d")
    claim = ref.INFERENCE_SEED_CLAIM
    x_claim = claim["year"] + 1.0  # by the end of 2030
    ax.plot([x_claim], [claim["share"]], marker="*", markersize=9, color="#b2182b",
            linestyle="none", zorder=5)
    ax.annotate(f"seed claim: {claim['share']:.0%} by {claim['year']}",
                xy=(x_claim, claim["share"]), xytext=(-6, 6), textcoords="offset points",
                ha="right", fontsize=6.5, color="#b2182b")
    _years_axis(ax, hi=max(ax.get_xlim()[1], x_claim + 0.3))
    ax.set_ylim(0, 1.02)
    ax.set_ylabel(METRIC_LABELS["inference_share"])
    ax.set_title("Inference share of AI compute spend")
    _scenario_legend(fig, scen, ncol=4, extra=[_band_handle(d.band)])
    fig.tight_layout(rect=(0, 0.055 * _legend_rows(len(scen) + 1, 4), 1, 1))
    return Drawn(fig, scen, {"claim": claim["source"]})


def is_share(metric: str) -> bool:
    """Shares and indices bounded by 0 and 1: their changes are percentage points."""
    return BOUNDS.get(metric) == (0.0, 1.0)


def scenario_changes(world: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Final-year change of every scenario against baseline: one row per scenario and metric
    with ``unit`` (``pp`` for shares: percentage points, 100 x the difference; ``%`` for
    levels: percent of baseline's value) and ``change`` in that unit."""
    from analysis.loading import scenario_summary

    summary = scenario_summary(world, list(metrics))
    base = summary[summary["scenario"] == "baseline"].set_index("metric")["mean"]
    ref_mean = summary["metric"].map(base)
    shares = summary["metric"].map(is_share)
    summary["unit"] = np.where(shares, "pp", "%")
    summary["change"] = np.where(shares, 100.0 * (summary["mean"] - ref_mean),
                                 summary["change_pct"])
    return summary


def fig_deltas(d: Inputs) -> Drawn:
    import seaborn as sns

    plt = _plt()
    scen = d.all_scenarios()
    if "baseline" not in scen:
        raise ExperimentError("figure 8 compares scenarios with baseline: include it")
    metrics = [m for m in HEADLINE_METRICS if m in d.world.columns]
    changes = scenario_changes(d.world, metrics)
    others = [s for s in scen if s != "baseline"]
    groups = [("pp", [m for m in metrics if is_share(m)],
               "shares: change in percentage points", 20.0),
              ("%", [m for m in metrics if not is_share(m)],
               "levels: change in percent of baseline", 100.0)]
    groups = [g for g in groups if g[1]]
    fig, axes = plt.subplots(1, len(groups), squeeze=False,
                             figsize=(style.WIDTH_IN, 1.6 + 0.3 * max(len(others), 1)),
                             gridspec_kw={"width_ratios": [len(g[1]) + 1.2 for g in groups]})
    notes: dict[str, Any] = {"metrics": metrics, "change_pp": {}, "change_pct": {}}
    for ax, (unit, cols, label, clip) in zip(axes[0], groups, strict=True):
        table = changes[changes["scenario"].isin(others)].pivot(
            index="scenario", columns="metric", values="change").reindex(
            index=others, columns=cols)
        values = table.to_numpy(float)
        finite = np.abs(values[np.isfinite(values)])
        scale = float(min(clip, max(1.0, np.ceil(finite.max()) if finite.size else 1.0)))
        shown = pd.DataFrame(np.clip(values, -scale, scale),
                             index=[style.scenario_label(s) for s in others],
                             columns=[SHORT_LABELS.get(m, m) for m in cols])
        # "or 0.0" turns a rounded -0 into +0
        fmt = ((lambda v: f"{round(v, 1) or 0.0:+.1f}") if unit == "pp"
               else (lambda v: f"{round(v) or 0:+.0f}%"))
        sns.heatmap(shown, ax=ax, cmap="vlag", center=0, vmin=-scale, vmax=scale,
                    annot=_heat_text(values, fmt), fmt="", annot_kws={"fontsize": 6},
                    linewidths=0.4, linecolor="white",
                    cbar_kws={"label": f"{'pp' if unit == 'pp' else '%'} (colour clipped at "
                                       f"+/-{scale:g})"})
        ax.set_title(label, fontsize=8)
        ax.set_xlabel("")
        ax.tick_params(axis="x", rotation=35)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
        key = "change_pp" if unit == "pp" else "change_pct"
        for s, row in zip(others, values, strict=True):
            notes[key].setdefault(s, {}).update(
                {m: (None if not np.isfinite(v) else round(float(v), 6))
                 for m, v in zip(cols, row, strict=True)})
        notes.setdefault("colour_clip", {})[unit] = scale
    axes[0][0].set_ylabel("Scenario")
    for ax in axes[0][1:]:
        ax.set_ylabel("")
        ax.tick_params(labelleft=False)
    over = "posterior draws x seeds" if d.band.draws else "seeds"
    fig.suptitle(f"Final-year change against baseline (mean over the final 12 months and "
                 f"{over})")
    fig.tight_layout()
    notes["units"] = {"pp": "percentage points (shares and 0-1 indices)",
                      "%": "percent of baseline (levels)"}
    return Drawn(fig, scen, notes)


def fig_sobol(d: Inputs) -> Drawn:
    """Sobol S1/ST bars. Indices outside [0, 1] (a sample too small to estimate them) are
    drawn where they are (the axis widens), hatched and marked "!", listed under
    ``outside_unit_interval`` in figures.json and warned about on stderr."""
    from analysis.sensitivity import out_of_range

    plt = _plt()
    res = d.sobol_result
    idx = res.indices
    flags = out_of_range(idx)
    outputs = list(dict.fromkeys(idx["output"]))
    params = list(res.problem.names)
    fig, axes = plt.subplots(1, len(outputs), figsize=(style.WIDTH_IN, 0.9 + 0.32 *
                                                       len(params)), sharey=True,
                             squeeze=False)
    y = np.arange(len(params))
    colors = {"S1": "#0173b2", "ST": "#de8f05"}
    lo = min(-0.25, float(np.floor(min(idx["S1"].min(), idx["ST"].min()) * 4) / 4))
    hi = max(1.25, float(np.ceil(max(idx["S1"].max(), idx["ST"].max()) * 4) / 4))
    for ax, output in zip(axes[0], outputs, strict=True):
        sub = idx[idx["output"] == output].set_index("parameter").loc[params]
        ax.axvspan(0.0, 1.0, color="#f2f2f2", zorder=0)
        for k, (key, offset) in enumerate((("S1", -0.2), ("ST", 0.2))):
            values = sub[key].to_numpy(float)
            outside = (values < 0.0) | (values > 1.0)
            bars = ax.barh(y + offset, values, height=0.38, color=colors[key],
                           label="first order (S1)" if key == "S1" else "total (ST)",
                           xerr=sub[f"{key}_conf"].to_numpy(float),
                           error_kw={"elinewidth": 0.6, "capsize": 1.5, "ecolor": "#333333"},
                           zorder=3 + k)
            for bar, out, v, yy in zip(bars, outside, values, y + offset, strict=True):
                if out:
                    bar.set_hatch("////")
                    bar.set_edgecolor("#c00000")
                    ax.text(v, yy, " !" if v >= 0 else "! ", color="#c00000", va="center",
                            ha="left" if v >= 0 else "right", fontsize=7, zorder=6)
        ax.axvline(0, color="#333333", linewidth=0.6)
        ax.set_title(METRIC_LABELS.get(output, output).split(" (")[0])
        ax.set_xlim(lo, hi)  # indices live in [0, 1] (shaded); small samples overshoot
        ax.set_xlabel("Sobol index (0-1)")
    axes[0][0].set_yticks(y, [PARAMETER_LABELS.get(p, p) for p in params])
    axes[0][0].invert_yaxis()
    axes[0][0].set_ylabel("Parameter (over its plausible range)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False)
    title = (f"Sobol indices at the horizon (n = {res.n}, {len(res.samples)} runs, "
             "95% bootstrap intervals)")
    if len(flags):
        title += (f"\n! {len(flags)} estimate(s) outside [0, 1]: the sample is too small "
                  "(raise --sobol-n)")
        print(f"analysis.figures: warning: {len(flags)} Sobol index estimate(s) outside "
              f"[0, 1] with n = {res.n} (e.g. {flags['index'].iloc[0]} of "
              f"{flags['parameter'].iloc[0]} for {flags['output'].iloc[0]} = "
              f"{flags['value'].iloc[0]:.3g}); the sample is too small to trust them",
              file=sys.stderr)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    indices = {o: {r.parameter: {"S1": round(r.S1, 6), "S1_conf": round(r.S1_conf, 6),
                                 "ST": round(r.ST, 6), "ST_conf": round(r.ST_conf, 6)}
                   for r in idx[idx["output"] == o].itertuples()} for o in outputs}
    outside = [{**r, "value": round(r["value"], 6), "conf": round(r["conf"], 6)}
               for r in flags.to_dict("records")]
    return Drawn(fig, ["baseline"], {"indices": indices, "n": res.n, "xlim": [lo, hi],
                                     "runs": len(res.samples),
                                     "outside_unit_interval": outside})


def fig_dependence(d: Inputs) -> Drawn:
    plt = _plt()
    scen = d.present(DEPENDENCE_SCENARIOS) or d.all_scenarios()[:1]
    nat = d.nations[d.nations["scenario"].isin(scen)]
    nat = nat[nat["nation"].isin(_largest_nations(nat))]
    final = nat[nat["month"] == nat["month"].max()]
    order = (final.groupby("nation")["dependence_ratio"].mean()
             .sort_values(ascending=False, kind="stable").index.tolist())
    ncol = min(5, len(order))
    nrow = -(-len(order) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(style.WIDTH_IN, 1.5 * nrow + 1.3),
                             sharex=True, sharey=True, squeeze=False)
    for ax, nation in zip(axes.flat, order, strict=False):
        _series(ax, nat[nat["nation"] == nation], "dependence_ratio", scen, d.band, nbins=3)
        ax.set_title(nation, fontsize=7)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("")
        ax.set_ylabel("")
    for ax in list(axes.flat)[len(order):]:
        ax.set_visible(False)
    for row in axes:
        row[0].set_ylabel("Served abroad (share, 0-1)")
    for col in range(ncol):  # the lowest visible panel of each column
        visible = [axes[r][col] for r in range(nrow) if r * ncol + col < len(order)]
        if visible:
            visible[-1].set_xlabel(YEAR_LABEL)
            visible[-1].xaxis.set_tick_params(labelbottom=True)
    _scenario_legend(fig, scen, extra=[_band_handle(d.band)])
    fig.suptitle("Dependence ratio by nation: share of tokens served abroad")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return Drawn(fig, scen, {"nations": order})


def fig_overview(d: Inputs) -> Drawn:
    plt = _plt()
    scen = d.all_scenarios()
    fig, axes = plt.subplots(2, 2, figsize=(style.WIDTH_IN, 5.2))
    panels = (("hhi_revenue", "Concentration (HHI of revenue)"),
              ("rent_share", "Rent share of user spending"),
              ("gini_access", "Gini of access across people"),
              ("unserved_share", "Unserved share of demand"))
    for ax, (metric, title) in zip(axes.flat, panels, strict=True):
        _series(ax, d.world, metric, scen, d.band)
        ax.set_ylabel(METRIC_LABELS[metric])
        ax.set_title(title)
        if metric == "hhi_revenue":
            ax.axhline(ref.MERGER_GUIDELINES_HHI, color="#b2182b", linestyle="--",
                       linewidth=0.8)
            ax.set_ylim(0, 10_200)
        else:
            ax.set_ylim(0, 1.02)
    from matplotlib.lines import Line2D

    extra = [Line2D([], [], color="#b2182b", linestyle="--",
                    label="2023 Merger Guidelines (HHI 1,800)"), _band_handle(d.band)]
    _scenario_legend(fig, scen, ncol=4, extra=extra)
    _finish(fig, "Concentration, rents and access by scenario",
            _legend_rows(len(scen) + 2, 4) * 0.7)
    return Drawn(fig, scen)


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec(1, "fig01_concentration", "Concentration (HHI, CR4) over time by scenario",
               "scenarios", fig_concentration),
    FigureSpec(2, "fig02_rents", "Lerner index and rent share over time by scenario",
               "scenarios", fig_rents),
    FigureSpec(3, "fig03_lorenz", "Lorenz curves of tokens per capita across nations",
               "scenarios", fig_lorenz, time_series=False),
    FigureSpec(4, "fig04_access", "Tokens per capita and unserved share, nation x year",
               "scenarios", fig_access, MEANS, time_series=False),
    FigureSpec(5, "fig05_price", "Price at constant capability against Epoch and a16z",
               "scenarios", fig_price),
    FigureSpec(6, "fig06_electricity", "Data-centre electricity against IEA 2030",
               "scenarios", fig_electricity),
    FigureSpec(7, "fig07_inference_share", "Inference share of compute spend",
               "scenarios", fig_inference_share),
    FigureSpec(8, "fig08_scenario_changes", "Final-year change against baseline",
               "scenarios", fig_deltas, MEANS, time_series=False),
    FigureSpec(9, "fig09_sobol", "Sobol first-order and total indices", "sobol", fig_sobol,
               SOBOL, time_series=False),
    FigureSpec(10, "fig10_dependence", "Dependence ratio by nation, baseline vs "
               "sovereign_cloud", "scenarios", fig_dependence),
    FigureSpec("overview", "overview", "Concentration, rents and access (overview)",
               "scenarios", fig_overview),
)


# --------------------------------------------------------------------------- build
def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in ("matplotlib", "seaborn", "SALib", "numpy", "pandas", "scipy", "compute-abm"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def uncertainty(spec: FigureSpec, inputs: Inputs) -> dict[str, Any]:
    """What figure ``spec``'s uncertainty covers, for figures.json."""
    if spec.uncertainty == SOBOL:
        res = inputs.sobol_result
        return {"covers": "Saltelli sample over the parameters' plausible ranges "
                          "(parameters.csv low-high, not the posterior), one seed",
                "band_drawn": True, "draws": 0, "seeds": 1, "time_series": False,
                "statistic": "95% bootstrap intervals of the Sobol indices"
                             + (f" (n = {res.n}, {len(res.samples)} runs)" if res else "")}
    out = {"time_series": spec.time_series,
           **inputs.band.record(band=spec.uncertainty == BAND)}
    if spec.uncertainty == MEANS:
        out["statistic"] = (f"means over the {inputs.band.covers} runs "
                            f"({inputs.band.runs} per scenario); no interval drawn")
    return out


def build(options: Options, out: str | Path = DEFAULT_OUT,
          only: Sequence[int | str] | None = None, draws: int | None = None,
          posterior: str | Path | None = None) -> dict[str, Any]:
    """Run (or reuse) the experiments and write every figure and ``figures.json``.

    Parameters
    ----------
    draws : posterior draws per scenario (K; None: the default of
        ``conf/experiment/scenario_draws.yaml``; 0: seeds at the defaults only).
    posterior : the posterior sample (default ``abm/calibration/posterior.parquet``).

    Raises
    ------
    ExperimentError
        For bad options, a missing or unreadable posterior file, or ``draws`` outside
        [0, the draws in the file]: before any run starts.
    """
    from abm.outputs import atomic_write_bytes
    from analysis import experiments

    style.use_agg()
    style.apply()
    out = Path(out)
    wanted = [f for f in FIGURES if only is None or f.id in only or str(f.id) in map(str, only)]
    needed = {f.experiment for f in wanted}
    inputs = Inputs()
    k = bd.default_draws() if draws is None else bd.check_draws(draws)
    if k == 0 and posterior is not None:
        raise ExperimentError(f"--posterior {posterior}: with --draws 0 the figures use no "
                              "posterior (seeds at the defaults); give --draws K > 0 or drop "
                              "--posterior")
    if "scenarios" in needed:
        exp, plan, band = bd.plan_for(options, k, posterior)  # checks all before any run
        inputs.scenarios, inputs.plan, inputs.band = exp, plan, band
        inputs.world, inputs.nations = bd.load(exp, plan, options)
    if "sobol" in needed:
        inputs.sobol, inputs.sobol_result = experiments.run_sobol(options)
    records = []
    exp_records: dict[str, Any] = {}
    for spec in wanted:
        exp = inputs.scenarios if spec.experiment == "scenarios" else inputs.sobol
        assert exp is not None
        drawn = spec.draw(inputs)
        files = style.save(drawn.fig, out, spec.stem)
        runs = run_records(exp)
        if spec.experiment == "scenarios":
            runs = [bd.run_record(r, inputs.plan) for r in runs
                    if r["scenario"] in drawn.scenarios]
        records.append({
            "id": spec.id, "name": spec.stem, "title": spec.title, "files": files,
            "experiment": exp.name, "config": f"conf/experiment/{exp.name}.yaml",
            "config_hash": exp.hash, "scenarios": drawn.scenarios,
            "seeds": sorted({r["seed"] for r in runs}), "runs": runs,
            "uncertainty": uncertainty(spec, inputs), "notes": drawn.notes})
        exp_records[exp.name] = exp.record()
        if options.verbose:
            print(f"analysis: wrote {out / spec.stem}.png/.pdf", file=sys.stderr, flush=True)
    manifest = {
        "generator": "python -m analysis.figures",
        "options": {"size": options.size, "months": options.months, "seeds": options.seeds,
                    "scenarios": list(options.scenarios) if options.scenarios else None,
                    "sobol_n": options.sobol_n, "draws": k,
                    "posterior": inputs.band.posterior.get("file") if k else None},
        "statistics": (f"lines: {inputs.band.statistic()}, of each run's quarterly means; "
                       "final year: mean over each run's last 12 months"
                       if "scenarios" in needed else "see each figure's uncertainty"),
        "versions": _versions(),
        "experiments": exp_records,
        "figures": records,
    }
    data = (json.dumps(manifest, indent=2, sort_keys=True, default=json_default) + "\n")
    atomic_write_bytes(out / "figures.json", data.encode())
    return manifest


# --------------------------------------------------------------------------- CLI
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m analysis.figures",
        description="Run (or reuse) the experiments and write every paper figure as PNG and "
                    "PDF plus figures.json. Defaults are the full experiments (default size, "
                    "132 months, 10 seeds, Sobol n=128): heavy; see README.")
    p.add_argument("--size", choices=("small", "default", "world"), default="default",
                   help="model size of every run (default: default)")
    p.add_argument("--months", type=int, default=None, help="months per run (default 132)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per scenario (default 10)")
    p.add_argument("--scenarios", default=None,
                   help="comma-separated subset of scenarios (default: all ten)")
    p.add_argument("--sobol-n", type=int, default=None,
                   help="Sobol base samples (runs = n * (k + 2)); default from sobol.yaml")
    p.add_argument("--launcher", choices=("basic", "joblib", "ray"), default="basic",
                   help="Hydra launcher of the sweeps (default basic)")
    p.add_argument("--jobs", type=int, default=-1, help="joblib n_jobs (-1: every core)")
    p.add_argument("--hydra-arg", action="append", default=[],
                   help="extra Hydra override for the sweeps (repeatable), e.g. "
                        "hydra.launcher.ray.init.address=auto")
    p.add_argument("--out", default=str(DEFAULT_OUT),
                   help="output directory (default outputs/figures)")
    p.add_argument("--cache", default=None, help="experiment cache (default outputs/cache "
                   "or $ABM_CACHE_DIR)")
    p.add_argument("--only", default=None, help="comma-separated figure ids, e.g. 1,2,9")
    p.add_argument("--overview", default=None,
                   help="also copy the overview PNG to this path (docs/figures/overview.png)")
    p.add_argument("--draws", type=int, default=None,
                   help="posterior draws per scenario (K): runs = scenarios x K x seeds, bands "
                        "over posterior draws x seeds; 0: seeds at the defaults only "
                        "(default 10, from conf/experiment/scenario_draws.yaml)")
    p.add_argument("--posterior", default=None,
                   help="the posterior sample (default abm/calibration/posterior.parquet, "
                        "written by python -m analysis.estimate)")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    scenarios = tuple(s.strip() for s in args.scenarios.split(",") if s.strip()) \
        if args.scenarios else None
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    if only is not None and args.overview and "overview" not in only:
        only.append("overview")
    try:
        options = Options(size=args.size, months=args.months, seeds=args.seeds,
                          scenarios=scenarios, sobol_n=args.sobol_n, launcher=args.launcher,
                          jobs=args.jobs, hydra_args=tuple(args.hydra_arg),
                          cache_dir=Path(args.cache) if args.cache else None,
                          verbose=not args.quiet)
        manifest = build(options, args.out, only, args.draws, args.posterior)
    except ExperimentError as exc:
        print(f"analysis.figures: {exc}", file=sys.stderr)
        return 2
    if args.overview:
        from abm.outputs import atomic_write_bytes

        atomic_write_bytes(args.overview, (Path(args.out) / "overview.png").read_bytes())
    if not args.quiet:
        print(f"analysis: {len(manifest['figures'])} figures and figures.json in {args.out}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
