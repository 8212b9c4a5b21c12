"""Training stage: labs set their month's training budgets and rent compute for them from the
fleets (mechanism 1; see :mod:`abm.economy.rental`)."""

from __future__ import annotations

import numpy as np

from abm.economy.costs import HOURS_PER_MONTH
from abm.economy.rental import RentalResult, clear_rental


def spare_capacity(installed: np.ndarray, serving_need: np.ndarray) -> np.ndarray:
    """H100e a site can rent out: what serving last month's demand at the asks, at the target
    utilisation, leaves."""
    return np.maximum(installed - serving_need, 0.0)


def rent_training(model, state, cost_per_hour: np.ndarray,
                  serving_need: np.ndarray) -> RentalResult:
    """Clear the month's rental market and book it on the fleet, providers and labs.

    ``cost_per_hour`` (S,): each site's full cost of an H100e-hour (its ask);
    ``serving_need`` (S,): H100e each site keeps for serving.
    """
    cfg, fleet, geo = model.cfg, model.fleet, model.geo
    controls = bool(cfg.chips.export_controls)
    labs = [p for p in model.providers if p.frontier_lab] + list(model.open_labs)
    growth = model.market_growth
    budget = np.array([p.run_budget if hasattr(p, "run_budget")
                       else p.training_budget(state.month, growth)
                       for p in labs], dtype=float)
    home = np.array([p.home for p in labs], dtype=int)
    lab_pool = ((geo.export_tier[home] == 3) & controls).astype(int) if labs else \
        np.zeros(0, int)
    site_pool = ((geo.export_tier[fleet.nation] == 3) & controls).astype(int)
    spare = spare_capacity(fleet.installed, serving_need)
    result = clear_rental(spare, cost_per_hour, site_pool, budget, lab_pool,
                          cap_multiple=cfg.training.rental_bid_multiple,
                          hours=HOURS_PER_MONTH)
    fleet.training = result.site_h100e
    for lab, h100e, spend in zip(labs, result.lab_h100e, result.lab_spend, strict=True):
        if hasattr(lab, "run_budget"):
            lab.receive_training(h100e, spend, HOURS_PER_MONTH, state.algorithmic_index, cfg,
                                 model.reference_compute)
        else:
            lab.receive_training(h100e, spend)
    return result
