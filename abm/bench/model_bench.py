"""Whole-model benchmark:
``python -m abm.bench model [--quick] [--world-months N] [--xl] [--sobol [N]] [--csv F]``.

Rows (median seconds; ratios against a naive baseline measured in the same run):

* ``default_run``: the default world for all its months, end to end, with time per step split
  into agents / clearing / metrics. Target < 10 s.
* ``world_run``: the synthetic ``world`` preset (200 nations, 50 providers, 1e5 segments) for
  132 months in a fresh subprocess, with its peak resident memory. Targets <= 60 s, < 4 GB
  (issue 12), and agents + metrics at most 15% of the step time (``world_step_split``).
* ``world_xl_run`` (``--xl``; slow): the ``world_xl`` preset (200 nations, 100 providers, 420
  income groups: 1e6 segments) for 132 months in a fresh subprocess. Targets <= 120 s and
  <= 3 GB peak RSS.
* ``sobol_sweep`` (``--sobol [N]``; minutes): the first ``N`` rows (default 32) of the
  default Sobol design (``conf/experiment/sobol.yaml``: its parameters, ``n``, ``sample_seed``;
  1,280 runs at default size) run end to end through the ``abm_sobol`` sweeper and the joblib
  launcher on 2 workers (``python -m abm -m +experiment=sobol hydra/launcher=joblib
  hydra.launcher.n_jobs=2``) in a temporary directory; the time for the whole design is
  extrapolated linearly from those ``N`` runs, the sweep's start-up (measured in the same run
  by a sweep of one-month runs) counted once. Target: <= 45 minutes.
* ``population_demand``: one month of user demand for 1e5 segments (reference demand,
  budgets, and the budget-capped volume every segment buys at given class prices), done the
  model's way (NumPy arrays inside one :class:`UserPopulation` per nation) against a
  per-agent Mesa version (one agent per segment, ``model.agents.do``) computing the same
  numbers. Target: >= 100x.
* ``synthetic_world``: building the synthetic world of :func:`abm.calibration.world` with
  10,000 nations and 50 providers (1,000 nations in ``--quick``), caches warm. Target < 1 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import mesa
import numpy as np

from abm.config import RunConfig, SizeConfig, validate

COLUMNS = ("case", "size", "median_s", "baseline", "baseline_s", "ratio", "target",
           "meets_target", "note")


WORLD_TARGET_S, WORLD_XL_TARGET_S, WORLD_XL_RSS_MB = 60.0, 120.0, 3072.0
SPLIT_TARGET = 0.15
SOBOL_TARGET_S, SOBOL_JOBS, SOBOL_SAMPLE_RUNS = 45 * 60.0, 2, 32


def _world_config(months: int, size: str = "world") -> RunConfig:
    """The ``world`` or ``world_xl`` preset (as in ``conf/size/``) for ``months`` months."""
    cfg = RunConfig()
    cfg.months = months
    if size == "world":
        cfg.size = SizeConfig(name="world", synthetic=True, synthetic_nations=200,
                              synthetic_providers=50, income_groups=50)
    elif size == "world_xl":
        cfg.size = SizeConfig(name="world_xl", synthetic=True, synthetic_nations=200,
                              synthetic_providers=100, income_groups=420)
    else:
        raise ValueError(f"size: {size!r} is not a benchmark preset; allowed: world, world_xl")
    return validate(cfg)


def _timed_run(cfg: RunConfig) -> tuple[float, dict[str, float]]:
    """Wall time of :func:`abm.run.run` end to end (tables included), and its split."""
    from abm.run import run

    t0 = time.perf_counter()
    result = run(cfg)
    return time.perf_counter() - t0, result.timings


def _world_subprocess(months: int, size: str = "world") -> dict:
    code = (
        "import json, resource, time, sys\n"
        "from abm.bench.model_bench import _world_config, _timed_run\n"
        f"wall, split = _timed_run(_world_config({months}, {size!r}))\n"
        "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'wall': wall, 'split': split, 'rss_mb': rss}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def sobol_design() -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The default Sobol design of ``conf/experiment/sobol.yaml``: its parameter names and
    every row (1,280 at ``n = 128``), drawn as the ``abm_sobol`` sweeper draws it."""
    from omegaconf import OmegaConf

    from abm.app import find_conf_dir
    from analysis.sobol_sweeper import draw_samples

    sweeper = OmegaConf.load(find_conf_dir() / "experiment" / "sobol.yaml").hydra.sweeper
    return draw_samples(list(sweeper.parameters), int(sweeper.n), int(sweeper.sample_seed),
                        bool(sweeper.calc_second_order))


def sobol_case(n_runs: int, n_jobs: int = SOBOL_JOBS,
               extra: tuple[str, ...] = ()) -> dict:
    """Run the first ``n_runs`` rows of the default Sobol design as one Hydra sweep with the
    joblib launcher on ``n_jobs`` workers, in a temporary directory.

    ``extra`` overrides are appended to the command (a test shortens ``months``; the
    benchmark passes none). The sweep's start-up (interpreter, imports, the sweeper's sample,
    the workers' imports) is paid once per sweep, not per run, so it is measured in the same
    call by a sweep of ``n_jobs`` one-month runs of the same rows, and only the rest is
    scaled: ``extrapolated = startup + (wall - startup) * design / runs``.

    Returns ``wall`` (s, the whole ``python -m abm -m`` command), ``startup`` (s, the
    one-month sweep), ``runs`` (rows run), ``finished`` (run directories with a manifest),
    ``design`` (rows in the full design) and ``extrapolated`` (s for the full design).

    Raises
    ------
    ValueError
        If ``n_runs`` is not in ``[1, design size]`` or ``n_jobs`` < 1.
    RuntimeError
        If the sweep fails (with its stderr's tail) or a run left no manifest.
    """
    from analysis.sobol_sweeper import write_samples

    names, rows = sobol_design()
    if not 1 <= n_runs <= len(rows):
        raise ValueError(f"--sobol: the number of runs must lie in [1, {len(rows)}], "
                         f"got {n_runs}")
    if n_jobs < 1:
        raise ValueError(f"n_jobs: must be >= 1, got {n_jobs}")
    with tempfile.TemporaryDirectory(prefix="abm-sobol-bench-") as tmp:

        def sweep(name: str, n: int, more: tuple[str, ...]) -> tuple[float, int]:
            samples = write_samples(Path(tmp) / f"{name}.csv", names,
                                    [values for _, values in rows[:n]])
            out = Path(tmp) / name
            cmd = [sys.executable, "-m", "abm", "-m", "+experiment=sobol",
                   f"hydra.sweeper.samples={samples}", "hydra/launcher=joblib",
                   f"hydra.launcher.n_jobs={n_jobs}", f"hydra.sweep.dir={out}", *more]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                raise RuntimeError(f"sobol sweep failed ({' '.join(cmd)}): "
                                   f"{proc.stderr[-2000:]}")
            return wall, len(list(out.glob("sample_*/manifest.json")))

        one_month = (*(o for o in extra if not o.startswith("months=")), "months=1")
        startup, _ = sweep("startup", min(n_jobs, n_runs), one_month)
        wall, finished = sweep("sweep", n_runs, extra)
    if finished != n_runs:
        raise RuntimeError(f"sobol sweep: {finished} of {n_runs} runs left a manifest")
    startup = min(startup, wall)
    return {"wall": wall, "startup": startup, "runs": n_runs, "finished": finished,
            "design": len(rows),
            "extrapolated": startup + (wall - startup) * len(rows) / n_runs}


class _SegmentAgent(mesa.Agent):
    """Naive baseline: one Mesa agent per demand segment."""

    def __init__(self, model, population, income, need, usecase_weight, budget_share):
        super().__init__(model)
        self.population = population
        self.income = income
        self.need = need
        self.usecase_weight = usecase_weight
        self.budget_share = budget_share
        self.volume = 0.0

    def step(self) -> None:
        m = self.model
        ref = m.scale * self.need * self.usecase_weight
        budget = self.budget_share * self.income / 12.0 * self.population
        self.volume = min(ref * m.volume_mult, budget * m.budget_mult)


def _population_case(n_nations: int, groups: int, usecases: int, repeats: int
                     ) -> tuple[float, float, float]:
    """(vectorised s, per-agent s, max abs difference) for one month of segment demand."""
    from abm.economy.income import quantile_group_means

    rng = np.random.default_rng(np.random.SeedSequence(7))
    pop = rng.uniform(1e6, 1e8, n_nations)
    gdp = rng.lognormal(np.log(8000), 1.0, n_nations)
    gini = rng.uniform(0.25, 0.6, n_nations)
    income = quantile_group_means(gdp, gini, groups)  # (N, G)
    people = np.repeat((pop / groups)[:, None], groups, axis=1)
    need = people * (income / 12_000.0) ** 0.6
    uc_weight = rng.dirichlet(np.ones(usecases))
    volume_mult, budget_mult, scale, share = 0.8, 1.3, 0.01, 0.01

    def vectorised() -> np.ndarray:
        ref = scale * need[:, :, None] * uc_weight[None, None, :]
        budget = share * income[:, :, None] / 12.0 * people[:, :, None] * np.ones(usecases)
        return np.minimum(ref * volume_mult, budget * budget_mult).ravel()

    model = mesa.Model(rng=np.random.SeedSequence(7))
    model.scale, model.volume_mult, model.budget_mult = scale, volume_mult, budget_mult
    for n in range(n_nations):
        for g in range(groups):
            for u in range(usecases):
                _SegmentAgent(model, people[n, g], income[n, g], need[n, g], uc_weight[u],
                              share)

    def per_agent() -> np.ndarray:
        model.agents.do("step")
        return np.array([a.volume for a in model.agents])

    fast = [_timeit(vectorised) for _ in range(repeats)]
    slow = [_timeit(per_agent) for _ in range(max(1, repeats // 2))]
    diff = float(np.abs(vectorised() - per_agent()).max())
    return median(fast), median(slow), diff


def synthetic_world_case(n_nations: int, repeats: int) -> tuple[float, int]:
    """(median seconds, nations built) of a synthetic world of ``n_nations`` nations."""
    from abm import calibration

    calibration.world("world", synthetic=True, n_nations=100, n_providers=10)  # warm caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        w = calibration.world("world", synthetic=True, n_nations=n_nations, n_providers=50)
        times.append(time.perf_counter() - t0)
    return median(times), w.n_nations


def _timeit(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m abm.bench model")
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    parser.add_argument("--world-months", type=int, default=132,
                        help="months of the world preset run (default 132: the target's)")
    parser.add_argument("--skip-world", action="store_true",
                        help="leave out the world (and world_xl) preset runs")
    parser.add_argument("--xl", action="store_true",
                        help="also run the world_xl preset (1e6 segments; minutes)")
    parser.add_argument("--sobol", type=int, nargs="?", const=SOBOL_SAMPLE_RUNS, default=None,
                        metavar="N",
                        help="also time the first N rows (default %(const)s) of the default "
                             "Sobol design on 2 joblib workers and extrapolate to all 1,280 "
                             "(minutes)")
    parser.add_argument("--csv", metavar="FILE", help="also write the table rows to FILE")
    args = parser.parse_args(argv)
    if args.sobol is not None:  # refused now, not after minutes of the other rows
        design = len(sobol_design()[1])
        if not 1 <= args.sobol <= design:
            parser.error(f"--sobol: the number of runs must lie in [1, {design}], got "
                         f"{args.sobol}")

    rows = []
    cfg = validate(RunConfig())
    if args.quick:
        cfg.months = 12
    wall, split = _timed_run(cfg)
    per_step = {k: v / cfg.months * 1e3 for k, v in split.items()}
    rows.append(("default_run", f"{cfg.months} months", wall, "", float("nan"),
                 float("nan"), "< 10 s", wall < 10 if not args.quick else "n/a",
                 "ms/step " + " ".join(f"{k}={v:.1f}" for k, v in per_step.items())))
    if not args.skip_world:
        months = 3 if args.quick else args.world_months
        world = _world_subprocess(months)
        full = not args.quick and months == 132
        ok = world["wall"] <= WORLD_TARGET_S and world["rss_mb"] < 4096
        ws = {k: v / months * 1e3 for k, v in world["split"].items()}
        rows.append(("world_run", f"{months} months, 1e5 segments", world["wall"], "",
                     float("nan"), float("nan"), f"<= {WORLD_TARGET_S:g} s, < 4 GB",
                     ok if full else "n/a",
                     _verdict(world["wall"] / WORLD_TARGET_S, ok, full)
                     + f"peak RSS {world['rss_mb']:.0f} MB; ms/step "
                     + " ".join(f"{k}={v:.0f}" for k, v in ws.items())))
        share = (ws["agents"] + ws["metrics"]) / sum(ws.values())
        rows.append(("world_step_split", f"{months} months, 1e5 segments", share, "",
                     float("nan"), float("nan"), f"agents+metrics <= {SPLIT_TARGET:.0%}",
                     share <= SPLIT_TARGET if full else "n/a",
                     _verdict(share / SPLIT_TARGET, share <= SPLIT_TARGET, full)
                     + f"median_s column holds the share of step time ({share:.1%})"))
        if args.xl:
            xl = _world_subprocess(months, "world_xl")
            ok = xl["wall"] <= WORLD_XL_TARGET_S and xl["rss_mb"] <= WORLD_XL_RSS_MB
            xs = {k: v / months * 1e3 for k, v in xl["split"].items()}
            rows.append(("world_xl_run", f"{months} months, 1e6 segments", xl["wall"], "",
                         float("nan"), float("nan"),
                         f"<= {WORLD_XL_TARGET_S:g} s, <= 3 GB", ok if full else "n/a",
                         _verdict(max(xl["wall"] / WORLD_XL_TARGET_S,
                                      xl["rss_mb"] / WORLD_XL_RSS_MB), ok, full)
                         + f"peak RSS {xl['rss_mb']:.0f} MB; ms/step "
                         + " ".join(f"{k}={v:.0f}" for k, v in xs.items())))
    if args.sobol is not None:
        sob = sobol_case(args.sobol)
        ok = sob["extrapolated"] <= SOBOL_TARGET_S
        rows.append(("sobol_sweep",
                     f"{sob['runs']} of {sob['design']} runs", sob["extrapolated"], "",
                     float("nan"), float("nan"), f"<= {SOBOL_TARGET_S / 60:g} min",
                     ok, _verdict(sob["extrapolated"] / SOBOL_TARGET_S, ok, True)
                     + f"EXTRAPOLATED from {sob['runs']} runs ({sob['wall']:.0f} s on "
                     f"{SOBOL_JOBS} joblib workers, start-up {sob['startup']:.1f} s counted "
                     f"once) to {sob['design']}: {sob['extrapolated'] / 60:.1f} min"))
    n_nat = 20 if args.quick else 200
    fast, slow, diff = _population_case(n_nat, 50, 10, repeats=3 if args.quick else 7)
    rows.append(("population_demand", f"{n_nat * 50 * 10:.0e} segments", fast,
                 "per-agent Mesa", slow, slow / fast, ">= 100x", slow / fast >= 100,
                 f"max |diff| {diff:.1e}"))
    n_syn = 1_000 if args.quick else 10_000
    syn, built = synthetic_world_case(n_syn, repeats=3)
    rows.append(("synthetic_world", f"{built} nations, 50 providers", syn, "", float("nan"),
                 float("nan"), "< 1 s", syn < 1.0 if not args.quick else "n/a", ""))
    _print(rows)
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(COLUMNS)
            w.writerows(rows)
    return 0


def _verdict(ratio: float, ok: bool, evaluated: bool) -> str:
    """``meets``/``misses`` with measured / target, for the note column."""
    if not evaluated:
        return ""
    return f"{'meets' if ok else 'misses'} target: {ratio:.2f}x; "


def _print(rows) -> None:
    print(f"{'case':<20} {'size':<26} {'median_s':>10} {'baseline':<15} {'baseline_s':>10} "
          f"{'ratio':>8} {'target':<16} {'meets':<6} note")
    for case, size, t, base, bt, ratio, target, meets, note in rows:
        print(f"{case:<20} {size:<26} {t:>10.4f} {base:<15} {bt:>10.4f} {ratio:>8.1f} "
              f"{target:<16} {meets!s:<6} {note}")


if __name__ == "__main__":
    sys.exit(main())
