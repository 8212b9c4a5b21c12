"""Market-core benchmark: ``python -m abm.bench market [--quick] [--csv FILE]``.

Prints one fixed-width table (and optionally the same rows as CSV) with columns

    case, size, median_s, baseline, baseline_s, ratio, target, meets_target, note

``median_s`` is the median wall-clock time (:func:`time.perf_counter`) of ``k`` repeats of
the vectorised code, ``baseline_s`` that of the baseline it is compared with and ``ratio``
is ``baseline_s / median_s`` (how many times faster the vectorised code is).

Cases
-----
* ``double_auction`` at 1e4, 1e5 and 1e6 bids (and as many asks) against the pure-Python
  :func:`abm.market.reference.naive_double_auction` (run once at the large sizes) and
  against the welfare LP solved by HiGHS through :func:`scipy.optimize.linprog`. The LP is
  run with the interior-point solver and presolve off: HiGHS's presolve (and its dual
  simplex) scale about quadratically on this one-row LP (default settings take ~2.5 s at
  1e4 bids and minutes at 1e5), so the default configuration is timed only at the smallest
  size. An LP whose extrapolated time exceeds 60 s is skipped and marked so.
* ``clear`` (the logit clearing core) on :func:`abm.market.synthetic.benchmark_market`
  instances: 1e4, 1e5 and 1e6 segments x 100 offers x 20 regions (200 classes), *cold*
  (prices start at the asks) and *warm* (next month: reference demand perturbed by a few
  percent with a fixed RNG, prices started from this month's clearing prices). Baselines:
  a per-segment dense clearing at the smallest size (every segment its own class, so the
  core materialises segments x offers matrices every round: same equilibrium), and for the
  warm case the cold clearing of the same month. The per-month rebuild of the demand book
  (:meth:`DemandBook.with_scale`, which sorts segments for the budget index) is reported on
  its own row.
* ``clear world month``: the books one month of the ``world`` preset handed to ``clear``
  (:data:`abm.bench.books.WORLD_MONTH`: ~2,500 classes, ~500 nested (provider, site, tier)
  offers, most binding), warm-started from the previous month's prices as the model does,
  against the cold clearing of the same month. The cache of choice terms is emptied before
  every call, so each timing includes everything the model pays per month. Target <= 0.1 s
  warm (the issue's 100 ms per month); the note gives measured / target.
* ``clear world-shape book``: the same month repeated as one market at about 1e4 classes
  x 2,000 offers (:func:`abm.bench.books.scaled_month`, which keeps its class structure,
  nests, price spread and binding share), warm-started from the cold clearing's price/ask
  ratios on asks moved a few percent; target <= 0.1 s warm, run once.
* ``scaling exponent``: the slope of log time against log size of warm clearings (a
  line fitted through every size), against segments (the ``clear warm`` rows, 1e4 to 1e6
  segments x 100 offers) and against offers (100 to 5,000 offers x 1e5 segments x 400
  classes, warm-started from the same month's cold prices perturbed by a few percent).
  Target: about linear, exponent <= 1.2.
* peak extra memory of ``clear`` at the largest size, measured in a fresh subprocess with
  :mod:`tracemalloc` (NumPy reports its buffers to it) around cold and warm clearings.

Targets (on 2 cores): ``clear`` warm <= 0.15 s at 1e5 segments and <= 1 s at 1e6, peak
extra memory < 2 GB at 1e6; ``double_auction`` <= 0.3 s at 1e6 bids. ``--quick`` shrinks
sizes and repeats for a smoke run (targets are then not evaluated).
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import astuple, dataclass, fields

import numpy as np

from abm.market.auction import double_auction
from abm.market.books import DemandBook, SupplyBook
from abm.market.clearing import clear
from abm.market.reference import naive_double_auction
from abm.market.synthetic import benchmark_market

COLUMNS = ("case", "size", "median_s", "baseline", "baseline_s", "ratio", "target",
           "meets_target", "note")
NAN = float("nan")
LP_BUDGET_S = 60.0
FULL = dict(auction_sizes=(10_000, 100_000, 1_000_000),
            clear_sizes=(10_000, 100_000, 1_000_000), repeats=5)
QUICK = dict(auction_sizes=(1_000, 3_000, 10_000), clear_sizes=(1_000, 3_000, 10_000),
             repeats=2)
# Targets: (case, size) -> seconds.
TIME_TARGETS = {("double_auction", 1_000_000): 0.3, ("clear warm", 100_000): 0.15,
                ("clear warm", 1_000_000): 1.0}
WORLD_MONTH_TARGET_S = 0.1
EXPONENT_TARGET = 1.2
OFFER_SIZES = (100, 300, 1_000, 2_000, 5_000)
QUICK_OFFER_SIZES = (50, 100, 200)
MEMORY_TARGET_MB = 2048.0
N_OFFERS, N_REGIONS = 100, 20


@dataclass
class Row:
    case: str
    size: str
    median_s: float
    baseline: str = "-"
    baseline_s: float = NAN
    ratio: float = NAN
    target: str = "-"
    meets_target: str = "-"
    note: str = ""


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall-clock seconds of ``repeats`` calls of ``fn`` and the last result."""
    times = []
    out = None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def _ratio(baseline_s: float, median_s: float) -> float:
    return baseline_s / median_s if median_s > 0 and math.isfinite(baseline_s) else NAN


def _target(case: str, n: int, seconds: float, quick: bool) -> tuple[str, str]:
    limit = TIME_TARGETS.get((case, n))
    if limit is None or quick:
        return "-", "-"
    return f"<= {limit:g} s", "yes" if seconds <= limit else "NO"


def _world_month_target(seconds: float, quick: bool) -> tuple[str, str, str]:
    """Target, meets and the note's verdict prefix of a warm clearing of a real-structure
    month against :data:`WORLD_MONTH_TARGET_S` (all blank in a ``--quick`` run)."""
    if quick:
        return "-", "-", ""
    ok = seconds <= WORLD_MONTH_TARGET_S
    return (f"<= {WORLD_MONTH_TARGET_S:g} s", "yes" if ok else "NO",
            f"{'meets' if ok else 'misses'} target: {seconds / WORLD_MONTH_TARGET_S:.2f}x "
            f"the {WORLD_MONTH_TARGET_S:g} s; ")


# ------------------------------------------------------------------------ double auction


def auction_book(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """``n`` bids and ``n`` asks, prices U(1, 100) $/M tokens, quantities U(0.1, 10)."""
    return (rng.uniform(1, 100, n), rng.uniform(0.1, 10, n), rng.uniform(1, 100, n),
            rng.uniform(0.1, 10, n))


def lp_auction(bp, bq, ap, aq, *, method: str = "highs-ipm",
               presolve: bool = False) -> tuple[float, float]:
    """Welfare LP of the book by HiGHS: (welfare, dual price of the balance row)."""
    from scipy import sparse
    from scipy.optimize import linprog

    nb, na = bp.size, ap.size
    c = np.concatenate([-bp, ap])
    a_eq = sparse.csr_array(np.concatenate([np.ones(nb), -np.ones(na)])[None, :])
    bounds = np.column_stack([np.zeros(nb + na), np.concatenate([bq, aq])])
    res = linprog(c, A_eq=a_eq, b_eq=[0.0], bounds=bounds, method=method,
                  options={"presolve": presolve})
    if res.status != 0:
        raise RuntimeError(f"linprog failed: {res.message}")
    return -float(res.fun), -float(res.eqlin.marginals[0])


def bench_auction(sizes: tuple[int, ...], repeats: int, quick: bool,
                  log: Callable[[str], None]) -> list[Row]:
    rows: list[Row] = []
    lp_last: tuple[int, float] | None = None
    for i, n in enumerate(sizes):
        book = auction_book(np.random.default_rng(1000 + n), n)
        size = f"{n} bids x {n} asks"
        log(f"double_auction n={n}")
        t, res = median_time(lambda book=book: double_auction(*book), repeats)
        target, meets = _target("double_auction", n, t, quick)
        common = dict(case="double_auction", size=size, median_s=t, target=target,
                      meets_target=meets)

        naive_repeats = 3 if n <= 10_000 else 1
        tn, naive = median_time(lambda book=book: naive_double_auction(*book), naive_repeats)
        agree = abs(naive.surplus - res.surplus) <= 1e-9 * abs(res.surplus)
        rows.append(Row(**common, baseline="naive_double_auction (Python loop)",
                        baseline_s=tn, ratio=_ratio(tn, t),
                        note=f"runs={naive_repeats}; surplus "
                             f"{'agrees' if agree else 'DIFFERS'}"))

        label = "linprog HiGHS IPM, no presolve"
        estimate = NAN if lp_last is None else lp_last[1] * (n / lp_last[0]) * 1.5
        if math.isfinite(estimate) and estimate > LP_BUDGET_S:
            rows.append(Row(**common, baseline=label,
                            note=f"skipped: >{LP_BUDGET_S:.0f} s (extrapolated "
                                 f"{estimate:.0f} s)"))
        else:
            lp_repeats = 3 if not math.isfinite(estimate) or estimate < 1.0 else 1
            tl, (welfare, dual) = median_time(lambda book=book: lp_auction(*book), lp_repeats)
            lp_last = (n, tl)
            ok = (abs(welfare - res.surplus) <= 1e-7 * abs(res.surplus)
                  and res.price_low - 1e-6 <= dual <= res.price_high + 1e-6)
            rows.append(Row(**common, baseline=label, baseline_s=tl, ratio=_ratio(tl, t),
                            note=f"runs={lp_repeats}; welfare and dual price "
                                 f"{'agree' if ok else 'DIFFER'}"))
        if i == 0:
            td, (welfare, _) = median_time(
                lambda book=book: lp_auction(*book, method="highs", presolve=True), 1)
            rows.append(Row(**common, baseline="linprog HiGHS defaults (presolve on)",
                            baseline_s=td, ratio=_ratio(td, t),
                            note="runs=1; not run at larger sizes: presolve scales "
                                 "~quadratically"))
    return rows


# -------------------------------------------------------------------------------- clear


def per_segment_book(demand: DemandBook) -> DemandBook:
    """The same demand with every segment its own class (a dense segments x offers core)."""
    sc = demand.segment_class
    n = demand.n_segments
    return DemandBook(
        segment_class=np.arange(n), reference_demand=demand.reference_demand,
        budget=demand.budget, population=demand.population,
        class_nation=demand.class_nation[sc],
        choice_sensitivity=demand.choice_sensitivity[sc], elasticity=demand.elasticity[sc],
        latency_tolerance_ms=demand.latency_tolerance_ms[sc],
        latency_cost=demand.latency_cost[sc], quality_threshold=demand.quality_threshold[sc],
        quality_cost=demand.quality_cost[sc], localised=demand.localised[sc],
        latency_matrix_ms=demand.latency_matrix_ms, region_nation=demand.region_nation,
        tariff=demand.tariff, open_weights_only=demand.open_weights_only[sc])


def next_month_scale(demand: DemandBook, seed: int, jitter: float = 0.03) -> np.ndarray:
    """Reference demand perturbed by a few percent (lognormal, fixed seed)."""
    rng = np.random.default_rng(seed)
    return demand.reference_demand * rng.lognormal(0.0, jitter, demand.n_segments)


def clear_instance(n_segments: int):
    supply, demand = benchmark_market(np.random.default_rng(2000 + n_segments), n_segments,
                                      n_offers=N_OFFERS, n_regions=N_REGIONS)
    return supply, demand


def _rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def bench_clear(sizes: tuple[int, ...], repeats: int, quick: bool,
                log: Callable[[str], None]) -> list[Row]:
    rows: list[Row] = []
    for i, n in enumerate(sizes):
        log(f"clear n={n}")
        rows += _bench_clear_size(n, repeats, quick, dense_baseline=(i == 0))
    return rows


def _bench_clear_size(n: int, repeats: int, quick: bool, *, dense_baseline: bool) -> list[Row]:
    rows: list[Row] = []
    size = f"{n} seg x {N_OFFERS} off x {N_REGIONS} reg"
    supply, demand = clear_instance(n)
    t_cold, cold = median_time(lambda: clear(supply, demand), repeats)
    binding = int((cold.scarcity_premium > 0).sum())
    note = (f"rounds={cold.rounds}, converged={cold.converged}, binding offers="
            f"{binding}, classes={demand.n_classes}")
    if dense_baseline:
        dense = per_segment_book(demand)
        t_dense, dense_res = median_time(lambda: clear(supply, dense), min(repeats, 3))
        note += f"; dense price rel diff {_rel_diff(dense_res.price, cold.price):.1e}"
        rows.append(Row("clear cold", size, t_cold,
                        baseline="per-segment dense clear (S x O matrices)",
                        baseline_s=t_dense, ratio=_ratio(t_dense, t_cold), note=note))
    else:
        rows.append(Row("clear cold", size, t_cold, note=note))

    ref = next_month_scale(demand, seed=7)
    t_book, nxt = median_time(lambda: demand.with_scale(ref, demand.budget), repeats)
    rows.append(Row("demand book rebuild", size, t_book,
                    note="DemandBook.with_scale (validation + budget-index sort)"))
    t_next_cold, next_cold = median_time(lambda: clear(supply, nxt), repeats)
    t_warm, warm = median_time(lambda: clear(supply, nxt, warm_start=cold.price), repeats)
    target, meets = _target("clear warm", n, t_warm, quick)
    rows.append(Row("clear warm", size, t_warm, baseline="clear cold (same month)",
                    baseline_s=t_next_cold, ratio=_ratio(t_next_cold, t_warm),
                    target=target, meets_target=meets,
                    note=f"rounds={warm.rounds} vs {next_cold.rounds} cold, "
                         f"converged={warm.converged}; price rel diff to cold "
                         f"{_rel_diff(warm.price, next_cold.price):.1e}"))
    return rows


def bench_world_month(repeats: int, quick: bool) -> list[Row]:
    """``clear`` on a real month of the world preset, warm and cold (see module doc)."""
    from abm.bench.books import load_books
    from abm.market import clearing

    supply, demand, warm_start, settings, note = load_books()
    size = f"{demand.n_classes} cls x {supply.n_offers} off x {demand.n_segments} seg"

    def run(warm):
        clearing._terms_cache.clear()  # pay for the choice terms as the model does
        return clear(supply, demand, warm_start=warm, **settings)

    t_cold, cold = median_time(lambda: run(None), repeats)
    t_warm, warm = median_time(lambda: run(warm_start), repeats)
    binding = int((warm.scarcity_premium > 0).sum())
    target, meets, verdict = _world_month_target(t_warm, quick)
    return [Row("clear world month warm", size, t_warm, baseline="clear cold (same month)",
                baseline_s=t_cold, ratio=_ratio(t_cold, t_warm), target=target,
                meets_target=meets,
                note=f"{verdict}{note}; rounds={warm.rounds} vs {cold.rounds} cold, "
                     f"converged={warm.converged}, binding offers={binding}")]


#: Copies of the saved world month in the real-structure book at scale (9,860 classes x
#: 2,012 offers x 480,260 segments; ``--quick``: one copy).
SCALED_COPIES = 4


def bench_scaled_month(quick: bool) -> list[Row]:
    """``clear`` on the saved world month repeated :data:`SCALED_COPIES` times as one
    market (:func:`abm.bench.books.scaled_month`), warm: the month cleared cold (the
    baseline), then the next month (asks moved by a few percent with a fixed RNG) started
    from the cold clearing's price/ask ratio per offer, as the model warm-starts. Run once
    each (a clearing at this size takes seconds); target <= 0.1 s warm."""
    from abm.bench.books import load_books, month_summary, scaled_month
    from abm.market import clearing

    supply, demand, _, settings, _ = load_books()
    copies = 1 if quick else SCALED_COPIES
    supply, demand = scaled_month(supply, demand, copies, seed=0)
    size = f"{demand.n_classes} cls x {supply.n_offers} off x {demand.n_segments} seg"
    rng = np.random.default_rng(7)
    ask = supply.ask * rng.lognormal(0.0, 0.03, supply.n_offers)
    nxt = SupplyBook(**{f.name: getattr(supply, f.name) for f in fields(SupplyBook)
                        if f.init and f.name != "ask"}, ask=ask)

    def run(book, warm):
        clearing._terms_cache.clear()  # pay for the choice terms as the model does
        return clear(book, demand, warm_start=warm, **settings)

    t_cold, cold = median_time(lambda: run(supply, None), 1)
    start = ask * (cold.price / supply.ask)
    t_warm, warm = median_time(lambda: run(nxt, start), 1)
    shape = month_summary(nxt, demand, warm)
    target, meets, verdict = _world_month_target(t_warm, quick)
    return [Row("clear world-shape book warm", size, t_warm,
                baseline="clear cold (same book)", baseline_s=t_cold,
                ratio=_ratio(t_cold, t_warm), target=target, meets_target=meets,
                note=f"{verdict}{copies} copies of the world month; rounds={warm.rounds} vs "
                     f"{cold.rounds} cold, converged={warm.converged}, binding share "
                     f"{shape['binding_share']:.3f}, log-ask sd {shape['log_ask_sd']:.3f}")]


def _exponent_row(case: str, sizes, times, label: str, quick: bool) -> Row:
    slope = float(np.polyfit(np.log(sizes), np.log(times), 1)[0])
    target, meets, verdict = "-", "-", ""
    if not quick:
        ok = slope <= EXPONENT_TARGET
        target, meets = f"exponent <= {EXPONENT_TARGET:g}", "yes" if ok else "NO"
        verdict = f"{'meets' if ok else 'misses'} target: {slope / EXPONENT_TARGET:.2f}x; "
    pairs = ", ".join(f"{n:g}: {t * 1e3:.1f} ms" for n, t in zip(sizes, times, strict=True))
    return Row(case, label, float(times[-1]), target=target, meets_target=meets,
               note=f"{verdict}exponent {slope:.2f}; warm clear time by size: {pairs}")


def bench_offer_scaling(sizes: tuple[int, ...], repeats: int, quick: bool) -> tuple[list, list]:
    """Warm clearing time against the number of offers (1e5 segments, 400 classes)."""
    times = []
    n_seg = 10_000 if quick else 100_000
    for n_off in sizes:
        supply, demand = benchmark_market(np.random.default_rng(3000 + n_off), n_seg,
                                          n_offers=n_off, n_regions=40, n_nations=40,
                                          n_providers=max(3, n_off // 10))
        cold = clear(supply, demand)
        warm_start = cold.price * np.random.default_rng(5).lognormal(0.0, 0.03, n_off)
        nxt = demand.with_scale(next_month_scale(demand, seed=7), demand.budget)
        t, _ = median_time(lambda s=supply, d=nxt, w=warm_start: clear(s, d, warm_start=w),
                           repeats)
        times.append(t)
    return list(sizes), times


def _proc_status_mb(field: str) -> float:
    """A ``/proc/self/status`` memory field (VmRSS, VmHWM) in MB; NaN where unavailable."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return NAN


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def memory_probe(n_segments: int) -> dict:
    """Peak extra memory of cold and warm ``clear`` at ``n_segments`` (run in a subprocess).

    The books are built first. Then (1) the resident-set high-water mark is reset and the
    growth of the peak RSS over the RSS before a cold clear is read from /proc (Linux), and
    (2) tracemalloc, which sees NumPy's buffers, measures the peak of everything ``clear``
    allocates on top of the books, for a cold and a warm clearing.
    """
    supply, demand = clear_instance(n_segments)
    nxt = demand.with_scale(next_month_scale(demand, seed=7), demand.budget)
    rss_extra = NAN
    if _reset_peak_rss():
        rss0 = _proc_status_mb("VmRSS")
        cold = clear(supply, demand)
        rss_extra = _proc_status_mb("VmHWM") - rss0
        del cold
    tracemalloc.start()
    t0 = time.perf_counter()
    cold = clear(supply, demand)
    t_cold = time.perf_counter() - t0
    _, peak_cold = tracemalloc.get_traced_memory()
    price = cold.price
    del cold  # keep only the prices for the warm start
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    warm = clear(supply, nxt, warm_start=price)
    _, peak_warm = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del warm
    return {"cold_peak_mb": peak_cold / 2**20, "warm_peak_mb": (peak_warm - base) / 2**20,
            "seconds_cold": t_cold, "rss_peak_extra_mb": rss_extra,
            "process_peak_rss_mb": _proc_status_mb("VmHWM")}


def bench_memory(n: int, quick: bool) -> Row:
    code = ("import json; from abm.bench.market_bench import memory_probe; "
            f"print(json.dumps(memory_probe({n})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    peak = max(probe["cold_peak_mb"], probe["warm_peak_mb"])
    target, meets = "-", "-"
    if not quick:
        target = f"< {MEMORY_TARGET_MB:g} MB"
        meets = "yes" if peak < MEMORY_TARGET_MB else "NO"
    return Row("clear peak extra memory", f"{n} seg x {N_OFFERS} off x {N_REGIONS} reg",
               probe["seconds_cold"], target=target, meets_target=meets,
               note=f"tracemalloc peak {probe['cold_peak_mb']:.1f} MB cold, "
                    f"{probe['warm_peak_mb']:.1f} MB warm (books excluded); peak RSS "
                    f"+{probe['rss_peak_extra_mb']:.1f} MB over a cold clear; probe "
                    f"process peak RSS {probe['process_peak_rss_mb']:.0f} MB; median_s = "
                    f"one cold clear under tracemalloc")


# -------------------------------------------------------------------------------- output


def _fmt(value) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        return f"{value:.1f}" if abs(value) >= 100 else f"{value:.4g}"
    return str(value)


def format_table(rows: list[Row]) -> str:
    cells = [list(COLUMNS)] + [[_fmt(v) for v in astuple(r)] for r in rows]
    widths = [max(len(c[j]) for c in cells) for j in range(len(COLUMNS))]
    numeric = {"median_s", "baseline_s", "ratio"}
    lines = []
    for k, c in enumerate(cells):
        parts = [c[j].rjust(widths[j]) if COLUMNS[j] in numeric else c[j].ljust(widths[j])
                 for j in range(len(COLUMNS))]
        lines.append("  ".join(parts).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_csv(rows: list[Row], path: str) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow(["" if isinstance(v, float) and not math.isfinite(v) else v
                             for v in astuple(r)])


def environment() -> str:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count()
    threads = {v: os.environ[v] for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                          "MKL_NUM_THREADS") if v in os.environ}
    return (f"python {platform.python_version()}, numpy {np.__version__}, "
            f"{cores} usable cores, {platform.machine()}, thread env {threads or 'unset'}")


def run(quick: bool = False, csv_path: str | None = None) -> list[Row]:
    cfg = QUICK if quick else FULL
    print(f"compute-abm market benchmark{' (--quick)' if quick else ''}: {environment()}",
          flush=True)

    def log(msg: str) -> None:
        print(f"  running {msg} ...", file=sys.stderr, flush=True)

    rows = bench_auction(cfg["auction_sizes"], cfg["repeats"], quick, log)
    rows += bench_clear(cfg["clear_sizes"], cfg["repeats"], quick, log)
    log("clear on a saved month of the world preset")
    rows += bench_world_month(cfg["repeats"], quick)
    log("clear on the world month at scale (abm.bench.books.scaled_month)")
    rows += bench_scaled_month(quick)
    warm = [(int(r.size.split()[0]), r.median_s) for r in rows if r.case == "clear warm"]
    rows.append(_exponent_row("scaling exponent", [n for n, _ in warm], [t for _, t in warm],
                              f"segments {warm[0][0]:g}..{warm[-1][0]:g}", quick))
    offer_sizes = QUICK_OFFER_SIZES if quick else OFFER_SIZES
    log(f"clear warm at {offer_sizes} offers")
    sizes, times = bench_offer_scaling(offer_sizes, cfg["repeats"], quick)
    rows.append(_exponent_row("scaling exponent", sizes, times,
                              f"offers {sizes[0]}..{sizes[-1]}", quick))
    log(f"memory probe n={cfg['clear_sizes'][-1]} (subprocess)")
    rows.append(bench_memory(cfg["clear_sizes"][-1], quick))
    print(format_table(rows))
    if not quick:
        met = [r.meets_target for r in rows if r.meets_target != "-"]
        print(f"targets met: {met.count('yes')}/{len(met)}")
    if csv_path:
        write_csv(rows, csv_path)
        print(f"wrote {csv_path}")
    return rows
