"""One cost-quality frontier for every model, open or closed (mechanisms 3, 9, 10).

Capability is measured in *frontier-months*: the January-2025 frontier model is at level 0,
and the historical frontier advances one level per month. Capability grows with log effective
training compute (physical compute times algorithmic efficiency):

    level = 12 * ln(C_eff / C_ref) / ln(G_eff),   G_eff = compute_growth * algorithmic_progress

(Epoch AI 2024: physical frontier compute grows ~4.5x a year; Ho et al. 2024: algorithmic
progress ~3x a year). A model's parameter count, and so its compute per token, scales with the
square root of the physical training compute behind it (Chinchilla; Hoffmann et al. 2022). So
a model of level ``l`` built at month ``t`` needs

    g(l, t) = g_0 * exp(kappa * l) / E_t,   kappa = ln(G_eff) / 24,
    E_t = software serving efficiency * sqrt(algorithmic efficiency index)

H100e-hours per M tokens: the square root of its effective compute, divided by what serving
software (quantisation, speculative decoding, batching) and smaller models of equal capability
(distillation, over-training; Sardana et al. 2023) save. The same ``g`` prices a closed tier,
an open-weight release and a licensed model of equal capability, so hosting open weights is
near-competitive and every tier shares one frontier.
"""

from __future__ import annotations

import math

import numpy as np

MONTHS_PER_YEAR = 12.0


def effective_compute_growth(compute_growth: float, algorithmic_progress: float) -> float:
    """Yearly growth of the frontier's effective training compute, ``G_eff`` (x per year)."""
    return compute_growth * algorithmic_progress


def kappa(compute_growth: float, algorithmic_progress: float) -> float:
    """Growth of compute per token per frontier-month of capability (1/month).

    ``ln(G_eff) / 24``: compute per token grows with the square root of effective training
    compute, and capability moves one frontier-month per ``G_eff ** (1/12)`` of it.
    """
    return math.log(effective_compute_growth(compute_growth, algorithmic_progress)) / 24.0


def capability_level(effective_compute_ratio, compute_growth: float,
                     algorithmic_progress: float):
    """Capability (frontier-months) of a run with ``effective_compute_ratio`` = C_eff / C_ref.

    ``C_ref`` is the effective compute behind the January-2025 frontier model (level 0).
    """
    g_eff = effective_compute_growth(compute_growth, algorithmic_progress)
    ratio = np.maximum(np.asarray(effective_compute_ratio, dtype=float), 1e-300)
    return MONTHS_PER_YEAR * np.log(ratio) / math.log(g_eff)


def compute_per_mtok(level, g0: float, kappa_: float, efficiency: float):
    """H100e-hours per M tokens of a model at capability ``level`` (frontier-months).

    Parameters
    ----------
    level : float or array
        Capability in frontier-months (January-2025 frontier = 0).
    g0 : float
        H100e-hours per M tokens of the January-2025 frontier model.
    kappa_ : float
        Growth of compute per token per frontier-month (:func:`kappa`).
    efficiency : float
        Serving-efficiency index ``E_t`` (1 in January 2025).
    """
    return g0 * np.exp(kappa_ * np.asarray(level, dtype=float)) / efficiency


def relative_quality(lag_months, decay_per_year: float):
    """Capability relative to the frontier of a model ``lag_months`` behind it, in (0, 1]."""
    lag = np.maximum(np.asarray(lag_months, dtype=float), 0.0)
    return np.exp(-decay_per_year * lag / MONTHS_PER_YEAR)
