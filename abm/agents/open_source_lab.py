"""Open-weight lab: trains on rented compute and releases models a lag behind the frontier
(mechanism 9)."""

from __future__ import annotations

import math

import mesa

from abm.economy import paths


class OpenSourceLab(mesa.Agent):
    """Releases an open-weight model every ``release_interval`` months.

    A release at month ``t`` matches the realised frontier of month ``t - lag``, where lag is
    the configured open-weight lag plus this lab's own offset (Epoch AI open-vs-closed: the
    leading open lab trails by ~3-4 months). Anyone with capacity can host the best release
    near cost. Its training budget (``funding_usd_per_year`` in ``open_labs.csv``, growing at
    ``open_source.funding_growth`` and slowing, like outside capital for frontier labs, to
    ``training.external_capital_growth_final``) rents compute in the training market, where
    it competes with the frontier labs for the same fleets and draws power.

    Attributes
    ----------
    home : nation index of its home (decides its export-control pool).
    training_h100e, training_spend : H100e rented and $ paid this month.
    """

    def __init__(self, model: mesa.Model, row, *, home: int, lag_months: float,
                 release_interval: int, phase: int, funding_growth: float,
                 funding_growth_final: float) -> None:
        super().__init__(model)
        self.name: str = row.lab
        self.home = int(home)
        self.lag_months = lag_months + float(row.lag_offset_months)
        self.release_interval = max(1, int(release_interval))
        self.phase = phase % self.release_interval
        self.funding = float(row.funding_usd_per_year)
        self.funding_growth = float(funding_growth)
        self.funding_growth_final = float(funding_growth_final)
        self.rents = str(row.trains_on) == "rental"
        self.releases = 0
        self.training_h100e = 0.0
        self.training_spend = 0.0

    def release(self, month: int, frontier_level_at) -> float | None:
        """The capability of this month's release (frontier-months), or None.

        ``frontier_level_at(m)`` is the realised frontier of month ``m``.
        """
        if (month - self.phase) % self.release_interval != 0:
            return None
        self.releases += 1
        return float(frontier_level_at(month - self.lag_months))

    def training_budget(self, month: int, market_growth: float = math.inf) -> float:
        """This month's training budget in the rental market, $ (zero for a lab that trains
        on its owner's own fleet, outside the modelled market). Like outside capital for
        frontier labs, it grows no faster than the inference market's revenue."""
        if not self.rents:
            return 0.0
        growth = paths.declining_growth_index(month, self.funding_growth,
                                              self.funding_growth_final)
        return self.funding * min(growth, market_growth) / 12.0

    def receive_training(self, h100e: float, spend: float) -> None:
        self.training_h100e = float(h100e)
        self.training_spend = float(spend)
