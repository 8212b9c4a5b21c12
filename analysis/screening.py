"""Morris elementary-effects screening (SALib): which parameters move which outputs.

:func:`morris_screening` draws ``r`` Morris trajectories over a :class:`Problem` (SALib
``sample.morris``, seeded), hands the rows to an ``evaluate`` function that returns one
column per output, and computes, per output and parameter, the mean absolute elementary
effect ``mu_star`` (with its bootstrap interval), the mean ``mu`` and the spread ``sigma``
(SALib ``analyze.morris``). An elementary effect is the change of an output when one
parameter moves by ``delta`` of its plausible range, divided by ``delta``, so ``mu_star`` is in
the output's units *per full plausible range* of the parameter. ``k`` parameters and ``r``
trajectories cost ``r * (k + 1)`` model runs.

Rankings (:func:`ranking`) compare parameters across outputs of different units by
normalising each output's ``mu_star`` by its largest value (``mu_star_norm``, 0-1); a
parameter's score is its largest normalised effect over the outputs asked for.

The same function runs a test function with known influential inputs in the tests
(:func:`toy`) and the model in :mod:`analysis.estimate`, where ``evaluate`` runs the rows
as one cached Hydra sweep (``conf/experiment/morris.yaml``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.sensitivity import Problem

INDEX_COLUMNS = ("output", "parameter", "mu", "mu_star", "mu_star_conf", "sigma",
                 "mu_star_norm")


def ranged_parameters(data_dir: str | None = None) -> list[str]:
    """Every numeric parameter of ``parameters.csv`` with a plausible range (finite ``low``
    < ``high``), as ``group.name`` keys in the table's order."""
    from abm.config import parameter_table

    table = parameter_table(data_dir)
    keys = []
    for row in table.itertuples(index=False):
        if row.type not in ("float", "int"):
            continue
        lo, hi = float(row.low), float(row.high)
        if math.isfinite(lo) and math.isfinite(hi) and lo < hi:
            keys.append(f"{row.group}.{row.name}")
    return keys


def morris_sample(problem: Problem, r: int, levels: int = 4, seed: int = 0) -> np.ndarray:
    """``r * (k + 1)`` rows of a Morris design (SALib ``sample.morris``), in natural units,
    *not* rounded (round integer parameters when running them: :func:`run_values`)."""
    from SALib.sample import morris as morris_sample_

    if isinstance(r, bool) or not isinstance(r, int | np.integer) or r < 2:
        raise ValueError(f"r (Morris trajectories) must be an integer >= 2, got {r!r}")
    if isinstance(levels, bool) or not isinstance(levels, int | np.integer) or levels < 2 \
            or levels % 2:
        raise ValueError(f"levels (Morris grid levels) must be an even integer >= 2, got "
                         f"{levels!r}")
    return morris_sample_.sample(problem.salib(), int(r), num_levels=int(levels),
                                 seed=int(seed))


def run_values(problem: Problem, x: np.ndarray) -> np.ndarray:
    """``x`` with integer parameters rounded (the values a model run gets)."""
    x = np.array(x, dtype=float, copy=True)
    for j, is_int in enumerate(problem.integer):
        if is_int:
            x[:, j] = np.rint(x[:, j])
    return x


def analyze(problem: Problem, x: np.ndarray, outputs: pd.DataFrame, levels: int = 4,
            seed: int = 0, num_resamples: int = 200) -> pd.DataFrame:
    """Morris indices of every output column (columns :data:`INDEX_COLUMNS`).

    An output with a non-finite value in any row cannot be screened and raises
    ``ValueError`` naming it (drop or fix it first); an output that never changes has
    every index 0.
    """
    from SALib.analyze import morris as morris_analyze

    if len(outputs) != len(x):
        raise ValueError(f"{len(outputs)} output rows for {len(x)} sample rows")
    rows = []
    for output in outputs.columns:
        y = outputs[output].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):
            bad = int(np.flatnonzero(~np.isfinite(y))[0])
            raise ValueError(f"output {output!r} is not finite in sample row {bad}; cannot "
                             "screen it")
        if np.ptp(y) == 0:
            res = {k: np.zeros(problem.num_vars)
                   for k in ("mu", "mu_star", "mu_star_conf", "sigma")}
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = morris_analyze.analyze(problem.salib(), x, y,
                                             num_resamples=num_resamples,
                                             num_levels=levels, seed=seed)
        mu_star = np.asarray(res["mu_star"], dtype=float)
        top = float(mu_star.max()) if mu_star.size and mu_star.max() > 0 else 1.0
        for j, name in enumerate(problem.names):
            rows.append({"output": str(output), "parameter": name,
                         "mu": float(res["mu"][j]), "mu_star": float(mu_star[j]),
                         "mu_star_conf": float(res["mu_star_conf"][j]),
                         "sigma": float(np.nan_to_num(res["sigma"][j])),
                         "mu_star_norm": float(mu_star[j] / top)})
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS))


def ranking(indices: pd.DataFrame, outputs: Sequence[str] | None = None) -> pd.DataFrame:
    """Parameters ranked by their largest normalised effect over ``outputs`` (all if None):
    columns ``rank`` (1 = most influential), ``parameter``, ``score`` (0-1), ``output`` (the
    output it moves most) and one ``mu_star_norm`` column per output."""
    idx = indices if outputs is None else indices[indices["output"].isin(list(outputs))]
    if idx.empty:
        raise ValueError(f"no Morris indices for outputs {list(outputs or [])}")
    wide = idx.pivot(index="parameter", columns="output", values="mu_star_norm")
    order = list(dict.fromkeys(idx["output"]))
    wide = wide[order]
    score = wide.max(axis=1)
    best = wide.idxmax(axis=1)
    out = pd.DataFrame({"parameter": wide.index, "score": score.to_numpy(),
                        "output": best.to_numpy()})
    out = pd.concat([out.reset_index(drop=True), wide.reset_index(drop=True)], axis=1)
    out = out.sort_values(["score", "parameter"], ascending=[False, True], kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.reset_index(drop=True)


@dataclass
class MorrisResult:
    problem: Problem
    r: int
    levels: int
    seed: int
    samples: np.ndarray       # the design (natural units, unrounded), r * (k + 1) rows
    outputs: pd.DataFrame     # one row per sample row, one column per output
    indices: pd.DataFrame     # tidy table, see analyze

    def ranking(self, outputs: Sequence[str] | None = None) -> pd.DataFrame:
        return ranking(self.indices, outputs)


def morris_screening(problem: Problem, evaluate: Callable[[np.ndarray], pd.DataFrame],
                     r: int, levels: int = 4, seed: int = 0,
                     num_resamples: int = 200) -> MorrisResult:
    """Sample, evaluate and analyse (the one code path for test functions and the model).

    ``evaluate(rows)`` gets the run values (integer parameters rounded) and returns one row
    per sample row, in order, and one column per output. Outputs that are not finite in
    every row are dropped with a warning (they cannot be screened).
    """
    x = morris_sample(problem, r, levels, seed)
    outputs = evaluate(run_values(problem, x))
    if not isinstance(outputs, pd.DataFrame):
        outputs = pd.DataFrame(np.asarray(outputs, dtype=float).reshape(len(x), -1))
        outputs.columns = [str(c) for c in outputs.columns]
    outputs = outputs.reset_index(drop=True)
    finite = outputs.apply(lambda c: bool(np.all(np.isfinite(c.to_numpy(float)))))
    if not finite.all():
        warnings.warn("Morris: outputs not finite in every run are left out: "
                      f"{', '.join(map(str, finite.index[~finite]))}", stacklevel=2)
        outputs = outputs.loc[:, finite.to_numpy()]
    indices = analyze(problem, x, outputs, levels, seed, num_resamples)
    return MorrisResult(problem, int(r), int(levels), int(seed), x, outputs, indices)


# --------------------------------------------------------------------------- test function
TOY = Problem(names=("a", "b", "c", "d", "e"), bounds=((0.0, 1.0),) * 5)


def toy(x: np.ndarray) -> pd.DataFrame:
    """A test function with known influence: ``a`` (linear, 10) > ``b`` (quadratic, 4) >
    ``c`` (interacting with ``b``, 1) > ``d``, ``e`` (no effect); and a second output moved
    by ``e`` alone."""
    x = np.asarray(x, dtype=float)
    y1 = 10.0 * x[:, 0] + 4.0 * x[:, 1] ** 2 + 1.0 * x[:, 1] * x[:, 2]
    y2 = 3.0 * x[:, 4]
    return pd.DataFrame({"y1": y1, "y2": y2})


__all__ = ["INDEX_COLUMNS", "TOY", "MorrisResult", "analyze", "morris_sample",
           "morris_screening", "ranged_parameters", "ranking", "run_values", "toy"]
