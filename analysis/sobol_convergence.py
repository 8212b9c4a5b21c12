"""Sobol indices at a sample size where they are stable, and second-order indices.

:func:`converge` runs :func:`analysis.sensitivity.sobol_indices` (SALib, the code path the
Ishigami test checks) at ``n0``, ``2 n0``, ``4 n0``, ... base samples until every first-order
and total index moved by less than ``tol`` (0.05 by default) since the previous size, or
``n_max`` is reached, and returns the whole history so a figure can show the convergence.
Each size is a fresh scrambled Sobol' sample (seeded), evaluated through ``evaluate``; on the
model that is one cached rows experiment per size.

:func:`second_order` returns the second-order indices ``S2`` (SALib ``analyze.sobol`` with
``calc_second_order=True``; ``n (2k + 2)`` evaluations) as a tidy table, for the few
parameters that matter most (the issue asks for the top 4).

Outputs may be the same outcome at several years (``hhi_revenue@2027``, ``@2030``,
``@2035``; see :func:`analysis.outcomes.all_outcomes`), so the indices' change over time is
one table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.sensitivity import Problem, SobolResult, check_n, saltelli_sample, sobol_indices

S2_COLUMNS = ("output", "parameter_1", "parameter_2", "S2", "S2_conf")
HISTORY_COLUMNS = ("n", "runs", "max_change", "output", "parameter", "index")


@dataclass
class Convergence:
    """The indices at every size tried, and where they settled."""

    results: list[SobolResult]    # one per size, n doubling
    history: pd.DataFrame         # per size: the largest change since the previous size
    tol: float

    @property
    def converged(self) -> bool:
        h = self.history["max_change"].to_numpy(float)
        return bool(len(h) > 1 and h[-1] < self.tol)

    @property
    def final(self) -> SobolResult:
        return self.results[-1]

    def indices(self) -> pd.DataFrame:
        """Every size's indices in one tidy table (column ``n`` added)."""
        return pd.concat([r.indices.assign(n=r.n) for r in self.results], ignore_index=True)


def _largest_change(a: pd.DataFrame, b: pd.DataFrame) -> tuple[float, str, str, str]:
    key = ["output", "parameter"]
    m = a.merge(b, on=key, suffixes=("_a", "_b"))
    best = (0.0, "", "", "")
    for index in ("S1", "ST"):
        d = (m[f"{index}_b"] - m[f"{index}_a"]).abs().to_numpy(float)
        if d.size and float(d.max()) >= best[0]:
            i = int(np.argmax(d))
            best = (float(d[i]), str(m["output"].iloc[i]), str(m["parameter"].iloc[i]), index)
    return best


def converge(problem: Problem, evaluate: Callable[[np.ndarray], pd.DataFrame], n0: int,
             n_max: int, tol: float = 0.05, seed: int = 0,
             num_resamples: int = 200) -> Convergence:
    """Double ``n`` from ``n0`` until no S1 or ST changes by ``tol`` or more, or ``n_max``.

    Raises ``ValueError`` for ``n0``/``n_max`` that are not integers >= 2 (powers of two
    advised, see :func:`analysis.sensitivity.check_n`), ``n_max < n0`` or ``tol <= 0``.
    """
    n0, n_max = check_n(n0, "n0"), check_n(n_max, "n_max")
    if n_max < n0:
        raise ValueError(f"n_max ({n_max}) must be >= n0 ({n0})")
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    results: list[SobolResult] = []
    rows = []
    n = n0
    while True:
        res = sobol_indices(problem, evaluate, n, seed=seed, num_resamples=num_resamples)
        change = _largest_change(results[-1].indices, res.indices) if results else \
            (float("nan"), "", "", "")
        results.append(res)
        rows.append({"n": n, "runs": len(res.samples), "max_change": change[0],
                     "output": change[1], "parameter": change[2], "index": change[3]})
        if (len(results) > 1 and change[0] < tol) or 2 * n > n_max:
            break
        n *= 2
    return Convergence(results, pd.DataFrame(rows, columns=list(HISTORY_COLUMNS)), tol)


def second_order(problem: Problem, evaluate: Callable[[np.ndarray], pd.DataFrame], n: int,
                 seed: int = 0, num_resamples: int = 200) -> pd.DataFrame:
    """Second-order Sobol indices of every output: one row per output and parameter pair
    (columns :data:`S2_COLUMNS`), from a sample of ``n (2k + 2)`` rows."""
    from SALib.analyze import sobol as sobol_analyze

    x = saltelli_sample(problem, n, seed, calc_second_order=True)
    out = evaluate(x)
    if not isinstance(out, pd.DataFrame):
        out = pd.DataFrame(np.asarray(out, dtype=float).reshape(len(x), -1))
        out.columns = [str(c) for c in out.columns]
    if len(out) != len(x):
        raise ValueError(f"evaluate returned {len(out)} rows for {len(x)} samples")
    k = problem.num_vars
    rows = []
    for output in out.columns:
        y = out[output].to_numpy(float)
        if not np.all(np.isfinite(y)):
            raise ValueError(f"output {output!r} has non-finite values; cannot analyse")
        if np.ptp(y) == 0:
            s2 = np.zeros((k, k))
            conf = np.zeros((k, k))
        else:
            res = sobol_analyze.analyze(problem.salib(), y, calc_second_order=True,
                                        num_resamples=num_resamples, seed=seed)
            s2, conf = np.asarray(res["S2"], float), np.asarray(res["S2_conf"], float)
        for i in range(k):
            for j in range(i + 1, k):
                rows.append({"output": str(output), "parameter_1": problem.names[i],
                             "parameter_2": problem.names[j], "S2": float(s2[i, j]),
                             "S2_conf": float(conf[i, j])})
    return pd.DataFrame(rows, columns=list(S2_COLUMNS))


__all__ = ["HISTORY_COLUMNS", "S2_COLUMNS", "Convergence", "converge", "second_order"]
