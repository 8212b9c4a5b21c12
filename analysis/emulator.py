"""Bayesian calibration through Gaussian-process emulators: the estimator behind
``python -m analysis.estimate``.

Method (Kennedy and O'Hagan 2001; the history-matching / emulation practice of Vernon,
Goldstein and Bower 2010 for expensive simulators):

1. **Prior**: every estimated parameter is uniform over its plausible range (``low``-``high``
   of ``parameters.csv``), mapped to the unit cube.
2. **Design**: a Latin hypercube of ``n`` points (scipy ``qmc.LatinHypercube``, seeded), each
   run with the same ``S`` seeds (common random numbers); the model's moment at a point is
   its mean over the seeds.
3. **Emulators**: one Gaussian process per moment (scikit-learn ``GaussianProcessRegressor``,
   anisotropic Matern 5/2 kernel plus a white-noise term for the seed noise that is left),
   fitted to the transformed moment (the log when its band is positive, so ratios and
   levels are compared multiplicatively). Each emulator's predictive standard deviation
   enters the likelihood, so a moment the emulator cannot predict well constrains little.
4. **Likelihood**: each datum (``value`` of ``targets.csv``, transformed) is normal around the
   emulated moment with variance ``sd_data^2 + sd_emulator^2``; ``sd_data`` is the
   half-width of the moment's band divided by 1.96 (the band read as a 95% interval of what
   the data say). Moments are taken as independent.
5. **Posterior**: an affine-invariant ensemble MCMC (emcee) on the emulated posterior,
   seeded; the draws are thinned to :attr:`Estimate.draws`. Estimates are posterior
   medians with central :data:`INTERVAL` credible intervals.

Why this rather than the alternatives the issue names (weighed in the README, "Estimating
the parameters"): the method of simulated moments through ``hydra-optuna-sweeper`` pins
optuna 2.10.1 (2021) and gives a point, not intervals (a bootstrap over seeds would repeat
the whole optimisation per replicate); ABC-SMC (pyabc 0.13) needs tens of thousands of
model runs for 6-12 parameters and runs them in its own samplers, outside Hydra's launchers.
Here the model runs once, as one cached Hydra sweep of ``n * S`` rows that any launcher
runs; the posterior costs seconds on the emulators; scipy, scikit-learn and emcee are
well-kept libraries; and the estimator is checked on a synthetic truth in the tests.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.sensitivity import Problem

INTERVAL = 0.90         # central credible / predictive intervals
Z95 = 1.959963984540054


# --------------------------------------------------------------------------- targets
@dataclass(frozen=True)
class Target:
    """One datum the estimation fits: its value and band, and the scale it is compared on
    (``log`` when the band is positive, else ``identity``)."""

    moment: str
    value: float
    low: float
    high: float
    transform: str = "identity"

    def __post_init__(self) -> None:
        if not (self.low <= self.value <= self.high and self.low < self.high):
            raise ValueError(f"moment {self.moment}: need low <= value <= high and low < high, "
                             f"got {self.low}, {self.value}, {self.high}")
        if self.transform not in ("log", "identity"):
            raise ValueError(f"moment {self.moment}: transform must be 'log' or 'identity'")
        if self.transform == "log" and self.low <= 0:
            raise ValueError(f"moment {self.moment}: a log transform needs a positive band")

    def g(self, x):
        """The transform applied to model values (NaN for non-positive values on log)."""
        x = np.asarray(x, dtype=float)
        if self.transform == "log":
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)
        return x

    @property
    def y(self) -> float:
        return float(self.g(self.value))

    @property
    def sd(self) -> float:
        """The datum's standard deviation on the transformed scale."""
        return float((self.g(self.high) - self.g(self.low)) / (2.0 * Z95))


def targets_from_table(table: pd.DataFrame, moments: Sequence[str]) -> list[Target]:
    """:class:`Target` rows for ``moments`` from a targets table (``abm.calibration.targets``
    columns). Raises ``ValueError`` naming a moment the table lacks."""
    by_name = table.set_index("moment")
    out = []
    for m in moments:
        if m not in by_name.index:
            raise ValueError(f"moment {m!r} is not in the targets table; it has "
                             f"{', '.join(by_name.index)}")
        row = by_name.loc[m]
        lo, hi = float(row["low"]), float(row["high"])
        out.append(Target(m, float(row["value"]), lo, hi, "log" if lo > 0 else "identity"))
    return out


# --------------------------------------------------------------------------- design
def lhs(k: int, n: int, seed: int) -> np.ndarray:
    """``n`` points of a Latin hypercube in ``[0, 1]^k`` (scipy, seeded)."""
    from scipy.stats import qmc

    if n < 2:
        raise ValueError(f"a design needs at least 2 points, got {n}")
    return qmc.LatinHypercube(d=k, seed=np.random.default_rng(seed)).random(n)


def to_natural(problem: Problem, unit: np.ndarray) -> np.ndarray:
    """Unit-cube points in natural units (integer parameters rounded)."""
    lo = np.array([b[0] for b in problem.bounds])
    hi = np.array([b[1] for b in problem.bounds])
    x = lo + np.asarray(unit, dtype=float) * (hi - lo)
    for j, is_int in enumerate(problem.integer):
        if is_int:
            x[:, j] = np.rint(x[:, j])
    return x


def to_unit(problem: Problem, x: np.ndarray) -> np.ndarray:
    lo = np.array([b[0] for b in problem.bounds])
    hi = np.array([b[1] for b in problem.bounds])
    return (np.asarray(x, dtype=float) - lo) / (hi - lo)


# --------------------------------------------------------------------------- emulators
@dataclass
class Emulators:
    """One Gaussian process per target, on the unit cube, predicting transformed moments."""

    targets: list[Target]
    models: list            # fitted GaussianProcessRegressor per target
    cv_r2: list[float]      # 5-fold cross-validated R^2 of each emulator
    seed_sd: list[float]    # within-point seed standard deviation (transformed scale)

    def predict(self, unit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, sd), each ``(m, J)``, of the transformed moments at ``unit`` points."""
        unit = np.atleast_2d(np.asarray(unit, dtype=float))
        means, sds = [], []
        for gp in self.models:
            mu, sd = gp.predict(unit, return_std=True)
            means.append(mu)
            sds.append(sd)
        return np.column_stack(means), np.column_stack(sds)


def _gp(k: int, seed: int):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = (ConstantKernel(1.0, (1e-3, 1e3))
              * Matern(length_scale=np.full(k, 0.5), length_scale_bounds=(2e-2, 1e2), nu=2.5)
              + WhiteKernel(1e-2, (1e-8, 1.0)))
    return GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=1,
                                    random_state=seed)


def fit_emulators(unit: np.ndarray, values: np.ndarray, targets: Sequence[Target],
                  seed: int = 0) -> Emulators:
    """Fit one emulator per target.

    ``unit`` is ``(n, k)``; ``values`` is ``(n, S, J)``: the model's moments (natural scale) at
    each design point for each of ``S`` seeds, one slice per target. Points where a moment is
    not finite are left out of that moment's emulator. Raises ``ValueError`` when a moment
    has fewer than 4 usable points.
    """
    unit = np.asarray(unit, dtype=float)
    values = np.asarray(values, dtype=float)
    with _one_thread():
        return _fit(unit, values, targets, seed)


def _fit(unit: np.ndarray, values: np.ndarray, targets: Sequence[Target], seed: int
         ) -> Emulators:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.model_selection import KFold, cross_val_predict

    n, k = unit.shape
    if values.ndim != 3 or values.shape[0] != n or values.shape[2] != len(targets):
        raise ValueError(f"values must be (n={n}, seeds, {len(targets)}), got {values.shape}")
    models, r2, seed_sd = [], [], []
    for j, t in enumerate(targets):
        y_all = t.g(values[:, :, j])
        ok = np.all(np.isfinite(y_all), axis=1)
        if ok.sum() < 4:
            raise ValueError(f"moment {t.moment}: only {int(ok.sum())} design points give a "
                             "finite value; cannot emulate it")
        y = y_all[ok].mean(axis=1)
        sd = float(np.sqrt(np.mean(y_all[ok].var(axis=1, ddof=1)))) \
            if y_all.shape[1] > 1 else math.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter of the kernel optimiser
            gp = _gp(k, seed).fit(unit[ok], y)
            # cross-validation with the fitted kernel held fixed (refitting it per fold
            # would cost five more optimisations and says little more)
            fixed = GaussianProcessRegressor(kernel=gp.kernel_, normalize_y=True,
                                             optimizer=None)
            folds = KFold(n_splits=min(5, int(ok.sum())), shuffle=True, random_state=seed)
            pred = cross_val_predict(fixed, unit[ok], y, cv=folds)
        var = float(np.var(y))
        r2.append(float(1.0 - np.mean((pred - y) ** 2) / var) if var > 0 else 1.0)
        models.append(gp)
        seed_sd.append(sd)
    return Emulators(list(targets), models, r2, seed_sd)


# --------------------------------------------------------------------------- posterior
def log_posterior(unit: np.ndarray, emulators: Emulators) -> np.ndarray:
    """Log posterior (up to a constant) of ``(m, k)`` unit points: uniform prior on the unit
    cube, independent normal data around the emulated moments."""
    unit = np.atleast_2d(unit)
    inside = np.all((unit >= 0.0) & (unit <= 1.0), axis=1)
    out = np.full(len(unit), -np.inf)
    if not inside.any():
        return out
    mu, sd = emulators.predict(unit[inside])
    y = np.array([t.y for t in emulators.targets])
    s_data = np.array([t.sd for t in emulators.targets])
    var = s_data ** 2 + sd ** 2
    out[inside] = -0.5 * np.sum((y - mu) ** 2 / var + np.log(var), axis=1)
    return out


def sample_posterior(emulators: Emulators, k: int, seed: int = 0, walkers: int | None = None,
                     steps: int = 1500, burn: int = 500, draws: int = 1000) -> np.ndarray:
    """``draws`` unit-cube points from the emulated posterior (emcee, seeded).

    Raises ``ValueError`` when ``steps <= burn``."""
    walkers = walkers or max(32, 4 * k)
    walkers += walkers % 2
    if steps <= burn:
        raise ValueError(f"steps ({steps}) must exceed burn ({burn})")
    with _one_thread():
        return _sample(emulators, k, seed, walkers, steps, burn, draws)


def _one_thread():
    """BLAS pools on one thread: the emulators' many small solves are ~10x slower with a
    multi-threaded pool on a busy machine, and one thread gives the same bytes anywhere."""
    from abm.threads import pinned

    return pinned(1)


def _sample(emulators: Emulators, k: int, seed: int, walkers: int, steps: int, burn: int,
            draws: int) -> np.ndarray:
    import emcee

    rng = np.random.default_rng(seed)
    # start around the best of a space-filling set of candidates
    cand = lhs(k, 512, seed)
    lp = log_posterior(cand, emulators)
    best = cand[np.argsort(lp)[::-1][:walkers]]
    start = np.clip(best + rng.normal(0.0, 0.01, best.shape), 1e-6, 1 - 1e-6)
    sampler = emcee.EnsembleSampler(walkers, k, log_posterior, args=(emulators,),
                                    vectorize=True)
    sampler.random_state = np.random.RandomState(seed).get_state()
    sampler.run_mcmc(start, steps, progress=False)
    chain = sampler.get_chain(discard=burn, flat=True)
    idx = np.linspace(0, len(chain) - 1, min(draws, len(chain))).round().astype(int)
    chosen = chain[idx]
    return chosen[rng.permutation(len(chosen))]


# --------------------------------------------------------------------------- estimate
@dataclass
class Estimate:
    """The result: posterior draws and their summary."""

    problem: Problem
    emulators: Emulators
    draws: pd.DataFrame            # natural units, one column per parameter
    summary: pd.DataFrame          # parameter, estimate, low, high, prior_low, prior_high,
    #                                contraction (posterior sd / prior sd)
    fit: pd.DataFrame              # per moment: data, band, emulated value at the estimate
    identification: pd.DataFrame   # moment x parameter sensitivity (data sd per range)
    settings: dict = field(default_factory=dict)

    @property
    def point(self) -> dict[str, float]:
        return dict(zip(self.summary["parameter"], self.summary["estimate"], strict=True))


def _summary(problem: Problem, draws: np.ndarray) -> pd.DataFrame:
    q = (1.0 - INTERVAL) / 2.0
    rows = []
    for j, name in enumerate(problem.names):
        lo, hi = problem.bounds[j]
        v = draws[:, j]
        prior_sd = (hi - lo) / math.sqrt(12.0)
        est = float(np.median(v))
        if problem.integer[j]:
            est = float(np.rint(est))
        rows.append({"parameter": name, "estimate": est,
                     "low": float(np.quantile(v, q)), "high": float(np.quantile(v, 1 - q)),
                     "prior_low": lo, "prior_high": hi,
                     "contraction": float(np.std(v) / prior_sd)})
    return pd.DataFrame(rows)


def identification(emulators: Emulators, problem: Problem, at: np.ndarray) -> pd.DataFrame:
    """Sensitivity of each moment to each parameter at unit point ``at``: the emulated change
    of the transformed moment when the parameter moves over its whole plausible range
    (central differences over +-1/4 of the range, times 2), in units of the datum's sd.
    Values above ~1 mean the moment can tell that parameter's values apart."""
    at = np.clip(np.asarray(at, dtype=float), 0.25, 0.75)
    k = problem.num_vars
    pts = np.repeat(at[None, :], 2 * k, axis=0)
    for j in range(k):
        pts[2 * j, j] -= 0.25
        pts[2 * j + 1, j] += 0.25
    mu, _ = emulators.predict(pts)
    s = np.array([t.sd for t in emulators.targets])
    sens = (mu[1::2] - mu[0::2]) * 2.0 / s   # (k, J)
    return pd.DataFrame(sens.T, index=[t.moment for t in emulators.targets],
                        columns=list(problem.names))


def estimate(problem: Problem, unit: np.ndarray, values: np.ndarray,
             targets: Sequence[Target], seed: int = 0, steps: int = 1500, burn: int = 500,
             draws: int = 1000) -> Estimate:
    """Fit emulators to the design, sample the posterior, summarise (see the module doc)."""
    with _one_thread():
        return _estimate(problem, unit, values, targets, seed, steps, burn, draws)


def _estimate(problem: Problem, unit: np.ndarray, values: np.ndarray,
              targets: Sequence[Target], seed: int, steps: int, burn: int, draws: int
              ) -> Estimate:
    emulators = fit_emulators(unit, values, targets, seed)
    chain = sample_posterior(emulators, problem.num_vars, seed, steps=steps, burn=burn,
                             draws=draws)
    natural = to_natural(problem, chain)
    draws_df = pd.DataFrame(natural, columns=list(problem.names))
    summary = _summary(problem, natural)
    point_unit = to_unit(problem, summary["estimate"].to_numpy(float))
    mu, sd = emulators.predict(point_unit[None, :])
    fit_rows = []
    for j, t in enumerate(targets):
        value = float(np.exp(mu[0, j])) if t.transform == "log" else float(mu[0, j])
        fit_rows.append({"moment": t.moment, "data": t.value, "low": t.low, "high": t.high,
                         "emulated": value, "z": float((mu[0, j] - t.y) / t.sd),
                         "emulator_sd": float(sd[0, j]), "cv_r2": emulators.cv_r2[j]})
    return Estimate(problem, emulators, draws_df, summary, pd.DataFrame(fit_rows),
                    identification(emulators, problem, point_unit),
                    {"seed": seed, "steps": steps, "burn": burn, "draws": draws,
                     "interval": INTERVAL})


# --------------------------------------------------------------------------- toy model
TOY = Problem(names=("alpha", "beta", "gamma"), bounds=((0.5, 2.0), (10.0, 50.0), (0.0, 1.0)))
TOY_MOMENTS = ("m_level", "m_ratio", "m_share", "m_mix")


def toy_moments(x: np.ndarray, seed: int) -> np.ndarray:
    """A cheap stochastic stand-in for the model: ``(n, 4)`` moments of ``(n, 3)``
    parameters, with multiplicative seed noise of ~3%."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    rng = np.random.default_rng([seed, 7])
    noise = np.exp(rng.normal(0.0, 0.03, (len(x), 4)))
    a, b, c = x[:, 0], x[:, 1], x[:, 2]
    m = np.column_stack([100.0 * a ** 1.5, b / (1.0 + a), 0.2 + 0.6 * c,
                         a * (1.0 + c) + b / 40.0])
    return m * noise


def toy_targets(truth: Sequence[float], rel_band: float = 0.15) -> list[Target]:
    """Data made by the toy at ``truth`` (mean over 20 seeds), with bands of +-``rel_band``."""
    x = np.array([truth], dtype=float)
    m = np.mean([toy_moments(x, s)[0] for s in range(100, 120)], axis=0)
    return [Target(name, float(v), float(v * (1 - rel_band)), float(v * (1 + rel_band)),
                   "log") for name, v in zip(TOY_MOMENTS, m, strict=True)]


__all__ = ["INTERVAL", "TOY", "TOY_MOMENTS", "Emulators", "Estimate", "Target", "estimate",
           "fit_emulators", "identification", "lhs", "log_posterior", "sample_posterior",
           "targets_from_table", "to_natural", "to_unit", "toy_moments", "toy_targets"]
