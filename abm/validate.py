"""The validation report: the baseline against measured facts (``python -m abm.validate``).

Runs the baseline over N seeds (default 10, default size, 132 months), computes every moment
of ``abm/calibration/targets.csv`` from each run's tables (the definitions are
:data:`MOMENTS`), and prints one table: moment, data, band, model mean with its 95% Student-t
interval across seeds, verdict. It writes ``validation.json`` (everything in the table, the
per-seed values, the config and the command) and ``validation.png`` (one panel per moment:
the band, the data point, each seed and the model mean with its interval) into ``--out``.

A moment *passes* when the model's mean across seeds lies inside its band; a moment whose
period the run does not reach is reported ``n/a``. The command exits 1 when any moment fails.

Usage::

    python -m abm.validate [--seeds N] [--size S] [--out DIR] [--months M] [--jobs J]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from abm.calibration.targets import targets

Tables = dict[str, pd.DataFrame]
US = "United States"


def _year(g: pd.DataFrame, year: int, col: str) -> float:
    rows = g.loc[g["year"] == year, col]
    return float(rows.mean()) if len(rows) else math.nan


def _month(g: pd.DataFrame, month: int, col: str) -> float:
    rows = g.loc[g["month"] == month, col]
    return float(rows.iloc[0]) if len(rows) else math.nan


def _full_year(g: pd.DataFrame, year: int) -> bool:
    return int((g["year"] == year).sum()) == 12


def _yearly(g: pd.DataFrame, col: str, first: int, last: int, how: str) -> float:
    if not all(_full_year(g, y) for y in (first, last)):
        return math.nan
    means = g[(g["year"] >= first) & (g["year"] <= last)].groupby("year")[col].mean()
    return float(means.min() if how == "min" else means.max())


def _us_dependence(t: Tables) -> float:
    n = t["nations"]
    rows = n[(n["nation"] == US) & (n["month"] < 12)]
    return float(rows["dependence_ratio"].mean()) if len(rows) else math.nan


def _income_elasticity(t: Tables) -> float:
    """Population-weighted OLS slope of log tokens per capita on log GDP per capita across
    nations, 2025 means (the cross-country usage elasticity)."""
    from abm import calibration

    n = t["nations"]
    n = n[n["month"] < 12].groupby("nation")[["tokens_per_capita", "population"]].mean()
    gdp = calibration.nations().set_index("nation")["gdp_pc_usd"]
    n = n[(n["tokens_per_capita"] > 0) & n.index.isin(gdp.index)]
    if len(n) < 3:
        return math.nan
    x = np.log(gdp.loc[n.index].to_numpy(float))
    y = np.log(n["tokens_per_capita"].to_numpy(float))
    w = n["population"].to_numpy(float)
    xm, ym = np.average(x, weights=w), np.average(y, weights=w)
    return float(np.sum(w * (x - xm) * (y - ym)) / np.sum(w * (x - xm) ** 2))


def _ratio(a: float, b: float) -> float:
    return a / b if b and np.isfinite(a) and np.isfinite(b) else math.nan


def _token_growth(g: pd.DataFrame, start: int) -> float:
    return _ratio(_month(g, start + 12, "tokens_total"), _month(g, start, "tokens_total"))


#: How the model computes each moment of ``targets.csv`` from one run's tables.
MOMENTS: dict[str, Callable[[Tables], float]] = {
    "revenue_hhi": lambda t: _month(t["global"], 0, "hhi_revenue"),
    "capacity_hhi": lambda t: _year(t["global"], 2025, "hhi_capacity"),
    "us_capacity_share": lambda t: _month(t["global"], 0, "us_capacity_share"),
    "us_tokens_served_abroad": _us_dependence,
    "accelerator_output": lambda t: _month(t["global"], 0, "chip_output_h100e"),
    "h100_rental": lambda t: _year(t["global"], 2025, "h100_rental_usd_hour"),
    "h100_rental_change": lambda t: _ratio(_year(t["global"], 2026, "h100_rental_usd_hour"),
                                           _year(t["global"], 2025, "h100_rental_usd_hour")),
    "inference_share": lambda t: _year(t["global"], 2025, "inference_share"),
    "inference_share_change": lambda t: (_year(t["global"], 2026, "inference_share")
                                         - _year(t["global"], 2025, "inference_share")),
    "open_weight_share": lambda t: _year(t["global"], 2025, "open_weight_share"),
    "open_weight_share_min": lambda t: _yearly(t["global"], "open_weight_share", 2025, 2030,
                                               "min"),
    # API gross margins are those of the sellers of closed models (frontier labs), so the
    # model's counterpart is the token-weighted Lerner of closed-model offers.
    "lerner_min": lambda t: _yearly(t["global"], "lerner_closed", 2025, 2035, "min"),
    "lerner_max": lambda t: _yearly(t["global"], "lerner_closed", 2025, 2035, "max"),
    "price_decline": lambda t: _ratio(
        _year(t["global"], 2025, "price_constant_capability"),
        _year(t["global"], 2027, "price_constant_capability")) ** 0.5,
    "electricity_2030": lambda t: _year(t["global"], 2030, "energy_twh"),
    "token_growth": lambda t: _token_growth(t["global"], 0),
    "token_growth_slowdown": lambda t: _ratio(_token_growth(t["global"], 12),
                                              _token_growth(t["global"], 0)),
    "usage_income_elasticity": _income_elasticity,
    "ai_capex": lambda t: (float(t["global"].loc[t["global"]["year"] == 2025,
                                                 "capex_usd"].sum())
                           if _full_year(t["global"], 2025) else math.nan),
    "unserved_share": lambda t: float(t["global"]["unserved_share"].mean()),
    "open_weight_lag": lambda t: _year(t["global"], 2025, "open_lag_months"),
}


@dataclass(frozen=True)
class MomentResult:
    moment: str
    value: float
    low: float
    high: float
    period: str
    unit: str
    source: str
    verify: bool
    seeds: list[float]
    mean: float
    ci_low: float
    ci_high: float
    verdict: str  # pass | FAIL | n/a


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval of ``values`` (the mean twice for a single value)."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    mean = float(v.mean())
    if v.size < 2:
        return mean, mean, mean
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return mean, mean - half, mean + half


def moments(tables: Tables) -> dict[str, float]:
    """Every moment of :data:`MOMENTS` computed from one run's tables (NaN if out of reach)."""
    out = {}
    for name, fn in MOMENTS.items():
        try:
            out[name] = float(fn(tables))
        except (KeyError, ZeroDivisionError, ValueError):
            out[name] = math.nan
    return out


def evaluate(per_seed: list[dict[str, float]], table: pd.DataFrame) -> list[MomentResult]:
    """Compare the per-seed moments with the targets."""
    results = []
    for row in table.itertuples(index=False):
        values = np.array([m.get(row.moment, math.nan) for m in per_seed], dtype=float)
        if row.moment not in MOMENTS:
            raise ValueError(f"targets.csv: moment {row.moment!r} has no definition in "
                             f"abm.validate.MOMENTS; known: {', '.join(sorted(MOMENTS))}")
        if not np.isfinite(values).all():
            mean = lo = hi = math.nan
            verdict = "n/a"
        else:
            mean, lo, hi = t_interval(values)
            verdict = "pass" if row.low <= mean <= row.high else "FAIL"
        results.append(MomentResult(row.moment, float(row.value), float(row.low),
                                    float(row.high), row.period, row.unit, row.source,
                                    bool(row.verify), values.tolist(), mean, lo, hi, verdict))
    return results


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    a = abs(x)
    if a != 0 and (a >= 1e5 or a < 1e-3):
        return f"{x:.3g}"
    if a >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def format_table(results: list[MomentResult]) -> str:
    """The report as a fixed-width text table."""
    head = ("moment", "period", "data", "band", "model mean [95% CI]", "verdict")
    rows = [(r.moment, r.period, _fmt(r.value), f"{_fmt(r.low)} - {_fmt(r.high)}",
             f"{_fmt(r.mean)} [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]", r.verdict)
            for r in results]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    n_fail = sum(r.verdict == "FAIL" for r in results)
    n_pass = sum(r.verdict == "pass" for r in results)
    out.append(f"{n_pass} pass, {n_fail} fail, {len(results) - n_pass - n_fail} n/a")
    return "\n".join(out)


def plot(results: list[MomentResult], path: Path) -> None:
    """One panel per moment: band, data point, seeds and the model mean with its interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(results)
    cols = 4
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 2.3 * rows))
    for ax, r in zip(np.ravel(axes), results, strict=False):
        ax.axvspan(r.low, r.high, color="#cfe3f3", label="band")
        ax.plot([r.value], [1.0], "D", color="#1f4e79", label="data")
        seeds = np.asarray(r.seeds, dtype=float)
        seeds = seeds[np.isfinite(seeds)]
        if seeds.size:
            ax.plot(seeds, np.full(seeds.size, 0.0), "o", color="#999999", ms=3, alpha=0.7,
                    label="seeds")
        if np.isfinite(r.mean):
            colour = "#2e7d32" if r.verdict == "pass" else "#c62828"
            ax.errorbar([r.mean], [0.0], xerr=[[r.mean - r.ci_low], [r.ci_high - r.mean]],
                        fmt="s", color=colour, capsize=3, label="model")
        ax.set_yticks([0.0, 1.0], ["model", "data"])
        ax.set_ylim(-0.8, 1.8)
        ax.set_title(f"{r.moment} ({r.period}): {r.verdict}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlabel(r.unit, fontsize=7)
    for ax in np.ravel(axes)[n:]:
        ax.axis("off")
    fig.tight_layout()
    import io

    from abm.outputs import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def _run_seed(seed: int, size: str, months: int) -> dict[str, float]:
    from abm.config import RunConfig, validate
    from abm.run import run

    cfg = RunConfig()
    cfg.seed, cfg.months = seed, months
    cfg.size = _size_config(size)
    return moments(run(validate(cfg)).tables)


def _size_config(size: str):
    from omegaconf import OmegaConf

    from abm.app import CONF_DIR
    from abm.config import SizeConfig

    data = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "size" / f"{size}.yaml"))
    values = data.get("size", data)
    return SizeConfig(**values)


def validate_baseline(seeds: int = 10, size: str = "default", months: int = 132,
                      jobs: int | None = None) -> list[MomentResult]:
    """Run the baseline over ``seeds`` seeds and compare it with the targets."""
    from joblib import Parallel, delayed

    table = targets()
    jobs = jobs or min(seeds, os.cpu_count() or 1)
    per_seed = Parallel(n_jobs=jobs)(delayed(_run_seed)(s, size, months) for s in range(seeds))
    return evaluate(per_seed, table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m abm.validate", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    parser.add_argument("--size", default="default",
                        help="small | default | world | world_xl (default: default)")
    parser.add_argument("--months", type=int, default=132,
                        help="months from January 2025 (default 132, through 2035)")
    parser.add_argument("--out", default="outputs/validation",
                        help="output directory (default outputs/validation)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="parallel runs (default: one per core, at most one per seed)")
    args = parser.parse_args(argv)
    from abm.config import SIZES

    if args.seeds < 1:
        parser.error(f"--seeds: must be >= 1, got {args.seeds}")
    if args.size not in SIZES:
        parser.error(f"--size: {args.size!r} is not a size; allowed: {', '.join(SIZES)}")
    if not 1 <= args.months <= 1200:
        parser.error(f"--months: must lie in [1, 1200], got {args.months}")
    if args.jobs is not None and args.jobs < 1:
        parser.error(f"--jobs: must be >= 1, got {args.jobs}")
    out = Path(args.out)
    start = time.time()
    results = validate_baseline(args.seeds, args.size, args.months, args.jobs)
    print(format_table(results))
    out.mkdir(parents=True, exist_ok=True)
    from abm.outputs import atomic_write_bytes

    report = {
        "command": "python -m abm.validate " + " ".join(argv if argv is not None
                                                         else sys.argv[1:]),
        "seeds": list(range(args.seeds)), "size": args.size, "months": args.months,
        "wall_time_s": round(time.time() - start, 1),
        "moments": [r.__dict__ for r in results],
        "pass": all(r.verdict != "FAIL" for r in results),
    }
    atomic_write_bytes(out / "validation.json",
                       json.dumps(report, indent=2, default=float).encode())
    plot(results, out / "validation.png")
    print(f"wrote {out / 'validation.json'} and {out / 'validation.png'}")
    return 0 if report["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
