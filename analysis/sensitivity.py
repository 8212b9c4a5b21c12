"""Variance-based (Sobol) sensitivity analysis: one code path for test functions and the model.

:func:`sobol_indices` draws a Saltelli sample (SALib ``sample.sobol``: a scrambled Sobol'
sequence, seeded), hands the rows to an ``evaluate`` function that returns one column per
output, and estimates first-order (S1) and total (ST) indices with bootstrap confidence
intervals (SALib ``analyze.sobol``, seeded). The same function runs the Ishigami test
function in the tests (whose indices are known in closed form) and the model in
:mod:`analysis.figures`, where ``evaluate`` writes the rows to a CSV and runs them as one
Hydra multirun through the ``abm_sobol`` sweeper (see :mod:`analysis.sobol_sweeper`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

INDEX_COLUMNS = ("output", "parameter", "S1", "S1_conf", "ST", "ST_conf")
FLAG_COLUMNS = ("output", "parameter", "index", "value", "conf")
MIN_N = 2  # base samples: the estimators need at least two


class SobolSampleWarning(UserWarning):
    """A Sobol sample size that works but weakens the estimates (not a power of two)."""


def check_n(n: object, name: str = "n") -> int:
    """``n`` as an int >= :data:`MIN_N`; warns (:class:`SobolSampleWarning`) when it is not a
    power of two. Raises ``ValueError`` naming ``name`` otherwise."""
    import warnings

    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < MIN_N:
        raise ValueError(f"{name} must be an integer >= {MIN_N} (the Sobol estimators need at "
                         f"least two base samples; use a power of two such as 64), got {n!r}")
    n = int(n)
    if n & (n - 1):
        lower = 1 << (n.bit_length() - 1)
        warnings.warn(f"{name}={n} is not a power of two: the Sobol' sequence is balanced only "
                      f"at powers of two, so the indices converge more slowly; use {lower} or "
                      f"{lower * 2}", SobolSampleWarning, stacklevel=3)
    return n


@dataclass(frozen=True)
class Problem:
    """Parameters with uniform bounds (SALib's ``problem`` dict, typed)."""

    names: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]
    integer: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        if len(self.names) != len(self.bounds):
            raise ValueError("one (low, high) pair per parameter name is needed")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"duplicate parameter names: {self.names}")
        for name, (lo, hi) in zip(self.names, self.bounds, strict=True):
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"{name}: bounds must be finite with low < high, got {lo, hi}")
        if not self.integer:
            object.__setattr__(self, "integer", (False,) * len(self.names))
        if len(self.integer) != len(self.names):
            raise ValueError("one integer flag per parameter is needed")

    @property
    def num_vars(self) -> int:
        return len(self.names)

    def salib(self) -> dict:
        return {"num_vars": self.num_vars, "names": list(self.names),
                "bounds": [[float(lo), float(hi)] for lo, hi in self.bounds]}

    @classmethod
    def from_parameters(cls, keys: Sequence[str], data_dir: str | None = None) -> Problem:
        """A problem over model parameters (``group.name`` keys), bounded by the plausible
        range (``low``, ``high``) of ``abm/calibration/parameters.csv`` (with the rows of
        ``data_dir``'s parameters.csv, if given)."""
        from abm.config import parameter_table

        table = parameter_table(data_dir).set_index(["group", "name"])
        bounds, integer = [], []
        for key in keys:
            group, _, name = key.partition(".")
            if (group, name) not in table.index:
                raise ValueError(f"{key}: not a parameter of abm/calibration/parameters.csv")
            row = table.loc[(group, name)]
            if row["type"] not in ("float", "int"):
                raise ValueError(f"{key}: a {row['type']} parameter cannot be sampled")
            lo, hi = float(row["low"]), float(row["high"])
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise ValueError(f"{key}: parameters.csv gives no plausible range (low, high)")
            bounds.append((lo, hi))
            integer.append(row["type"] == "int")
        return cls(tuple(keys), tuple(bounds), tuple(integer))


def rows_per_sample(problem: Problem, calc_second_order: bool = False) -> int:
    """Model evaluations per base sample: k + 2 (first and total order), 2k + 2 (second)."""
    k = problem.num_vars
    return 2 * k + 2 if calc_second_order else k + 2


def saltelli_sample(problem: Problem, n: int, seed: int,
                    calc_second_order: bool = False) -> np.ndarray:
    """``n * rows_per_sample`` parameter rows (SALib Sobol' sampling, scrambled and seeded).

    Integer parameters are rounded to the nearest integer (the model reads them as ints).
    ``n`` must be an integer >= 2; one that is not a power of two draws a
    :class:`SobolSampleWarning` (the Sobol' sequence's balance properties need a power of
    two).
    """
    import warnings

    from SALib.sample import sobol as sobol_sample

    n = check_n(n)
    with warnings.catch_warnings():
        # SALib's own power-of-two warning repeats check_n's (which names the fix)
        warnings.filterwarnings("ignore", message=".*power of 2.*", category=UserWarning)
        x = sobol_sample.sample(problem.salib(), n, calc_second_order=calc_second_order,
                                scramble=True, seed=seed)
    for j, is_int in enumerate(problem.integer):
        if is_int:
            x[:, j] = np.rint(x[:, j])
    return x


def analyze(problem: Problem, outputs: pd.DataFrame, seed: int,
            calc_second_order: bool = False, num_resamples: int = 200,
            conf_level: float = 0.95) -> pd.DataFrame:
    """S1 and ST (with ``conf_level`` bootstrap half-widths) of every output column.

    Returns a tidy table with the columns of :data:`INDEX_COLUMNS`, one row per output and
    parameter, in the order of ``outputs.columns`` and ``problem.names``.
    """
    from SALib.analyze import sobol as sobol_analyze

    expected = rows_per_sample(problem, calc_second_order)
    if len(outputs) % expected:
        raise ValueError(f"{len(outputs)} output rows is not a multiple of {expected} "
                         "(rows per base sample); was the sample evaluated completely?")
    rows = []
    for output in outputs.columns:
        y = outputs[output].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):
            raise ValueError(f"output {output!r} has non-finite values; cannot analyse")
        if np.ptp(y) == 0:  # no variance: every index is zero (SALib would divide by 0)
            res = {k: np.zeros(problem.num_vars) for k in ("S1", "S1_conf", "ST", "ST_conf")}
        else:
            res = sobol_analyze.analyze(problem.salib(), y, calc_second_order=calc_second_order,
                                        num_resamples=num_resamples, conf_level=conf_level,
                                        print_to_console=False, seed=seed)
        for j, name in enumerate(problem.names):
            rows.append({"output": str(output), "parameter": name,
                         "S1": float(res["S1"][j]), "S1_conf": float(res["S1_conf"][j]),
                         "ST": float(res["ST"][j]), "ST_conf": float(res["ST_conf"][j])})
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS))


def out_of_range(indices: pd.DataFrame) -> pd.DataFrame:
    """The indices of an :func:`analyze` table outside [0, 1], where Sobol indices live.

    Estimates from a small sample can fall outside (S1 = 4.85 from n = 1); a reader must be
    told rather than shown a clipped bar. Returns one row per such index with the columns
    of :data:`FLAG_COLUMNS` (``index`` is "S1" or "ST").
    """
    rows = []
    for r in indices.itertuples(index=False):
        for key in ("S1", "ST"):
            value = float(getattr(r, key))
            if not (0.0 <= value <= 1.0):
                rows.append({"output": r.output, "parameter": r.parameter, "index": key,
                             "value": value, "conf": float(getattr(r, f"{key}_conf"))})
    return pd.DataFrame(rows, columns=list(FLAG_COLUMNS))


@dataclass
class SobolResult:
    problem: Problem
    n: int
    seed: int
    samples: np.ndarray          # the evaluated parameter rows
    outputs: pd.DataFrame        # one row per sample row, one column per output
    indices: pd.DataFrame        # tidy S1/ST table (see analyze)

    @property
    def flags(self) -> pd.DataFrame:
        """Indices outside [0, 1] (see :func:`out_of_range`)."""
        return out_of_range(self.indices)


def sobol_indices(problem: Problem, evaluate: Callable[[np.ndarray], pd.DataFrame], n: int,
                  seed: int = 0, calc_second_order: bool = False,
                  num_resamples: int = 200) -> SobolResult:
    """Sample, evaluate and analyse: the one code path for test functions and the model.

    ``evaluate(samples)`` gets the ``(rows, k)`` array of parameter values (columns in the
    order of ``problem.names``) and must return a DataFrame with one row per sample row, in
    the same order, and one column per output.
    """
    samples = saltelli_sample(problem, n, seed, calc_second_order)
    outputs = evaluate(samples)
    if not isinstance(outputs, pd.DataFrame):
        outputs = pd.DataFrame(np.asarray(outputs).reshape(len(samples), -1))
        outputs.columns = [str(c) for c in outputs.columns]
    if len(outputs) != len(samples):
        raise ValueError(f"evaluate returned {len(outputs)} rows for {len(samples)} samples")
    outputs = outputs.reset_index(drop=True)
    indices = analyze(problem, outputs, seed=seed, calc_second_order=calc_second_order,
                      num_resamples=num_resamples)
    return SobolResult(problem, n, seed, samples, outputs, indices)


# --------------------------------------------------------------------------- Ishigami
ISHIGAMI = Problem(names=("x1", "x2", "x3"), bounds=((-math.pi, math.pi),) * 3)


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """The Ishigami function, a standard test of Sobol estimators."""
    x = np.asarray(x, dtype=float)
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Analytic (S1, ST) of the Ishigami function (for a=7, b=0.1: S1 = [0.3139, 0.4424, 0],
    ST = [0.5576, 0.4424, 0.2437])."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    s1 = np.array([v1, v2, 0.0]) / var
    st = np.array([v1 + v13, v2, v13]) / var
    return s1, st


def evaluate_ishigami(samples: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"ishigami": ishigami(samples)})
