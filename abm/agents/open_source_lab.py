"""Open-weight lab: releases models a lag behind the frontier (mechanism 9)."""

from __future__ import annotations

import mesa


class OpenSourceLab(mesa.Agent):
    """Releases an open-weight model every ``release_interval`` months.

    A release at month ``t`` matches the realised frontier of month ``t - lag``, where lag is
    the configured open-weight lag plus this lab's own offset. The model serves the best
    released open model, which anyone with capacity can host near cost.
    """

    def __init__(self, model: mesa.Model, row, *, lag_months: float,
                 release_interval: int, phase: int) -> None:
        super().__init__(model)
        self.name: str = row.lab
        self.lag_months = lag_months + float(row.lag_offset_months)
        self.release_interval = max(1, int(release_interval))
        self.phase = phase % self.release_interval
        self.releases = 0

    def step(self) -> None:
        month = self.model.month
        if (month - self.phase) % self.release_interval == 0:
            self.releases += 1
            self.model.register_open_release(self.model.frontier_level_at(month - self.lag_months))
