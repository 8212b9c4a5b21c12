"""PRIM scenario discovery (EMA workbench, ``ema_workbench.analysis.prim``) with one rule for
choosing the box, and a test function whose box is known.

:func:`find_box` runs the patient rule induction method (Friedman and Fisher 1999; as used for
scenario discovery by Bryant and Lempert 2010) on a table of inputs and a boolean outcome
(the cases of interest), and picks from the peeling trajectory the densest box whose
coverage is at least ``min_coverage`` (the share of all cases of interest it holds). A box
reports:

- ``coverage``: cases of interest inside / all cases of interest;
- ``density``: cases of interest inside / points inside;
- ``mass``: points inside / all points;
- its restricted dimensions: the inputs whose limits are narrower than their whole range,
  with the limits and the quasi-p-value of each restriction (EMA workbench's binomial test:
  small means the restriction matters).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

LIMIT_COLUMNS = ("parameter", "min", "max", "range_min", "range_max", "qp")


@dataclass
class Box:
    """One PRIM box (see the module doc)."""

    coverage: float
    density: float
    mass: float
    cases: int                   # cases of interest overall
    points: int                  # points analysed
    base_density: float          # cases / points: the density of no restriction
    limits: pd.DataFrame         # restricted dimensions, columns LIMIT_COLUMNS
    trajectory: pd.DataFrame     # coverage, density, mass, res_dim of each peeling step
    chosen: int                  # index of the box on the trajectory

    @property
    def restricted(self) -> list[str]:
        return list(self.limits["parameter"])

    def contains(self, x: pd.DataFrame) -> np.ndarray:
        """Which rows of ``x`` lie in the box."""
        inside = np.ones(len(x), dtype=bool)
        for r in self.limits.itertuples(index=False):
            v = x[r.parameter].to_numpy(float)
            inside &= (v >= r.min) & (v <= r.max)
        return inside


def find_box(x: pd.DataFrame, y: np.ndarray, min_coverage: float = 0.5,
             peel_alpha: float = 0.05, mass_min: float = 0.05) -> Box | None:
    """The box (see the module doc) of the cases ``y`` (bool, one per row of ``x``), or None
    when there is no case of interest (or every point is one: nothing to find).

    Raises ``ValueError`` for mismatched lengths, non-finite inputs or a ``min_coverage``
    outside (0, 1].
    """
    from ema_workbench.analysis import prim as ema_prim

    y = np.asarray(y, dtype=bool)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} input rows for {len(y)} outcomes")
    if not 0 < min_coverage <= 1:
        raise ValueError(f"min_coverage must lie in (0, 1], got {min_coverage}")
    x = x.reset_index(drop=True).astype(float)
    if not np.all(np.isfinite(x.to_numpy())):
        raise ValueError("PRIM inputs must be finite")
    cases = int(y.sum())
    if cases == 0 or cases == len(y):
        return None
    logging.getLogger("EMA").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = ema_prim.Prim(x, y, peel_alpha=peel_alpha, mass_min=mass_min)
        box = p.find_box()
    traj = box.peeling_trajectory[["coverage", "density", "mass", "res_dim"]].astype(float)
    traj = traj.reset_index(drop=True)
    ok = np.flatnonzero(traj["coverage"].to_numpy() >= min_coverage - 1e-12)
    chosen = int(ok[np.argmax(traj["density"].to_numpy()[ok])]) if ok.size else 0
    lims = box.box_lims[chosen]
    init = p.box_init
    qp = box.p_values[chosen] if chosen < len(box.p_values) else {}
    rows = []
    for col in x.columns:
        lo, hi = float(lims[col].iloc[0]), float(lims[col].iloc[1])
        lo0, hi0 = float(init[col].iloc[0]), float(init[col].iloc[1])
        if lo > lo0 or hi < hi0:
            q = [v for v in (qp.get(col) or []) if v is not None and v >= 0]
            rows.append({"parameter": col, "min": lo, "max": hi, "range_min": lo0,
                         "range_max": hi0, "qp": float(min(q)) if q else float("nan")})
    r = traj.iloc[chosen]
    return Box(coverage=float(r["coverage"]), density=float(r["density"]),
               mass=float(r["mass"]), cases=cases, points=len(y), base_density=cases / len(y),
               limits=pd.DataFrame(rows, columns=list(LIMIT_COLUMNS)), trajectory=traj,
               chosen=chosen)


# --------------------------------------------------------------------------- test function
TOY_BOX = {"x0": (0.6, 1.0), "x1": (0.0, 0.3)}


def toy(n: int = 1000, seed: int = 0, k: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    """``n`` uniform points in ``[0, 1]^k`` and the cases inside :data:`TOY_BOX` (x0 > 0.6
    and x1 < 0.3; the other inputs do nothing)."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(0, 1, (n, k)), columns=[f"x{i}" for i in range(k)])
    y = np.ones(n, dtype=bool)
    for col, (lo, hi) in TOY_BOX.items():
        y &= (x[col] >= lo).to_numpy() & (x[col] <= hi).to_numpy()
    return x, y


__all__ = ["LIMIT_COLUMNS", "TOY_BOX", "Box", "find_box", "toy"]
