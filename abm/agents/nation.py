"""Nation: electricity, grid head-room, chip-access tier and sovereignty policy (mech. 7, 12)."""

from __future__ import annotations

import mesa


class Nation(mesa.Agent):
    """A nation or bloc.

    Attributes
    ----------
    index : position in the model's nation arrays.
    electricity_usd_kwh : industrial electricity price before any shock, $/kWh.
    grid_headroom_mw : grid capacity still available for new data centres, MW (facility).
    grid_build_mw_per_year : MW/yr the grid adds for data centres.
    export_tier : 1 unrestricted, 2 capped, 3 denied (controlled chips).
    localisation_share : share of its demand that must be served domestically (0-1).
    tariff : ad-valorem tariff on foreign-served tokens; subsidy : capex subsidy share.
    dependence_ratio : last month's share of its tokens served from abroad.
    """

    def __init__(self, model: mesa.Model, index: int, row, *, localisation_share: float,
                 tariff: float, subsidy: float) -> None:
        super().__init__(model)
        self.index = index
        self.name: str = row.nation
        self.population_m: float = float(row.population_m)
        self.electricity_usd_kwh: float = float(row.electricity_usd_kwh)
        self.grid_headroom_mw: float = float(row.grid_headroom_mw)
        self.grid_build_mw_per_year: float = float(row.grid_build_mw_per_year)
        self.export_tier: int = int(row.export_tier)
        self.localisation_share = min(1.0, localisation_share)
        self.tariff = tariff
        self.subsidy = subsidy
        self.dependence_ratio = 0.0
        self.subsidy_paid = 0.0

    def grow_grid(self) -> None:
        """The grid adds a month of its yearly build for data centres."""
        self.grid_headroom_mw += self.grid_build_mw_per_year / 12.0

    def adapt_policy(self, policy, domestic_capacity: bool) -> None:
        """Tighten localisation while dependence exceeds the threshold (mechanism 12).

        Only a nation with domestic capacity, installed or being built, can localise: a rule
        that nobody at home can serve would leave its demand unserved.
        """
        if not (policy.adaptive and domestic_capacity):
            return
        if self.dependence_ratio > policy.dependence_threshold:
            target = max(self.localisation_share, policy.localisation_max)
            self.localisation_share = min(target, self.localisation_share
                                          + policy.localisation_step / 12.0)

    def reserve_power(self, mw: float) -> float:
        """Take up to ``mw`` of grid head-room for new builds; return what was granted."""
        granted = min(max(mw, 0.0), self.grid_headroom_mw)
        self.grid_headroom_mw -= granted
        return granted
