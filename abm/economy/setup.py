"""Building the January-2025 world from the calibration tables.

- :class:`Geography` and :class:`UseCases`: the nation and use-case arrays every stage reads;
- :func:`initial_fleet`: every provider's sites with the compute they owned in January 2025
  (``supply.world_compute_h100e`` x ``providers.csv`` ``compute_share`` x
  ``provider_sites.csv`` ``capacity_share``), installed in vintages that follow the growth of
  accelerator output back in time, plus the chips being installed and the shells being built;
- :class:`OutsideFleet`: the compute of owners outside the modelled token market
  (``outside_owners.csv``: Meta, xAI, ...), which buys its share of chips and draws power.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from abm.economy import costs, paths
from abm.economy.fleet import Fleet
from abm.economy.geography import latency_matrix_ms


@dataclass(frozen=True)
class Geography:
    """Nations (N,): names, latency (N, N) ms, population, 2024 data-centre TWh, export tier,
    industrial electricity $/kWh; each nation hosts one serving region."""

    names: list
    latency_ms: np.ndarray
    region_nation: np.ndarray
    population: np.ndarray
    dc_twh_2024: np.ndarray
    export_tier: np.ndarray
    electricity: np.ndarray
    gdp_pc: np.ndarray

    @property
    def n(self) -> int:
        return len(self.names)

    @classmethod
    def from_table(cls, nat: pd.DataFrame, cfg) -> Geography:
        s = cfg.supply
        return cls(names=nat["nation"].tolist(),
                   latency_ms=latency_matrix_ms(nat["lat"], nat["lon"], nat["lat"], nat["lon"],
                                                base_ms=s.network_base_latency_ms,
                                                route_factor=s.fibre_route_factor),
                   region_nation=np.arange(len(nat)),
                   population=nat["population_m"].to_numpy(float) * 1e6,
                   dc_twh_2024=nat["dc_twh_2024"].to_numpy(float),
                   export_tier=nat["export_tier"].to_numpy(int),
                   electricity=nat["electricity_usd_kwh"].to_numpy(float),
                   gdp_pc=nat["gdp_pc_usd"].to_numpy(float))


@dataclass(frozen=True)
class UseCases:
    """Use-cases (U,): token share, latency tolerance (ms) and cost, quality threshold and
    cost, exposure to test-time compute."""

    names: list
    share: np.ndarray
    tolerance: np.ndarray
    latency_cost: np.ndarray
    threshold: np.ndarray
    quality_cost: np.ndarray
    exposure: np.ndarray

    @property
    def n(self) -> int:
        return len(self.names)

    @classmethod
    def from_table(cls, uc: pd.DataFrame) -> UseCases:
        share = uc["token_share"].to_numpy(float)
        return cls(names=uc["usecase"].tolist(), share=share / share.sum(),
                   tolerance=uc["latency_tolerance_ms"].to_numpy(float),
                   latency_cost=uc["latency_cost"].to_numpy(float),
                   threshold=uc["quality_threshold"].to_numpy(float),
                   quality_cost=uc["quality_cost"].to_numpy(float),
                   exposure=uc["test_time_exposure"].to_numpy(float))


def past_output_weights(cfg, life: int) -> np.ndarray:
    """Share of today's installed H100e by age (T,), ages 0..T-1 months.

    Accelerator output (in H100e) grew at unit growth x price-performance, so a vintage of age
    ``a`` holds ``growth ** (-a / 12)`` relative to the newest.
    """
    growth = cfg.chips.supply_growth * cfg.supply.hardware_price_performance_growth
    w = growth ** (-np.arange(life) / 12.0)
    return w / w.sum()


def _vintage_arrays(cfg, total: np.ndarray, life: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """H100e, IT MW and $ paid by age (T, S) for installed stocks ``total`` (S,)."""
    s = cfg.supply
    age = np.arange(life)
    w = past_output_weights(cfg, life)
    chips = w[:, None] * total[None, :]
    kw = s.h100e_kw * s.hardware_perf_per_watt_growth ** (age / 12.0)
    # chips only: the shells they sit in are booked in ``Fleet.shell_book``
    price = cfg.chips.vendor_price_usd * s.hardware_price_performance_growth ** (age / 12.0)
    return chips, chips * kw[:, None] / 1000.0, chips * price[:, None]


def output_path(cfg, months: np.ndarray) -> np.ndarray:
    """World accelerator output at the list price, H100e/month, at (possibly negative) months."""
    ch, s = cfg.chips, cfg.supply
    units = np.array([paths.declining_growth_index(max(m, 0), ch.supply_growth,
                                                   ch.supply_growth_final) for m in months])
    back = np.where(months < 0, ch.supply_growth ** (np.minimum(months, 0) / 12.0), 1.0)
    pp = s.hardware_price_performance_growth ** (np.asarray(months) / 12.0)
    return ch.supply_h100e_month0 * units * back * pp


def initial_fleet(cfg, world, geo: Geography, provider_index: dict) -> Fleet:
    """Every provider's sites in January 2025 (see the module docstring)."""
    s = cfg.supply
    life = int(s.hardware_life_months)
    li, lb = int(s.install_lead_months), int(s.build_lead_months)
    sites = world.provider_sites
    prov = world.providers.set_index("provider")
    owner = sites["provider"].map(provider_index).to_numpy(int)
    nation = sites["nation"].map({n: i for i, n in enumerate(geo.names)}).to_numpy(int)
    domestic = (geo.export_tier[nation] == 3) & bool(cfg.chips.export_controls)
    share = sites["capacity_share"].to_numpy(float)
    compute_share = prov.loc[sites["provider"], "compute_share"].to_numpy(float)
    total = s.world_compute_h100e * compute_share * share
    fleet = Fleet.empty(owner, nation, domestic, life=life, install_lead=li, build_lead=lb)
    fleet.chips, fleet.power, fleet.cost = _vintage_arrays(cfg, total, life)
    # Chips bought in the last ``li`` months are being installed (their shells are ready);
    # shells are being built for the chips of the next months: the shell finishing in month
    # k + 1 holds the chips bought in month k + 1 - li (in proportion to today's fleet).
    modelled = world.providers["compute_share"].sum()
    split = total / max(total.sum(), 1e-300) * modelled
    past = output_path(cfg, np.arange(-li, 0))
    kw_now = s.h100e_kw
    fleet.arriving = past[:, None] * split[None, :]
    fleet.arriving_power = fleet.arriving * kw_now / 1000.0
    fleet.arriving_cost = fleet.arriving * cfg.chips.vendor_price_usd
    fleet.shells = fleet.occupied_mw.copy()
    bought = np.arange(lb) + 1 - li  # month the chips of each pipeline shell are bought
    kw_then = s.h100e_kw / s.hardware_perf_per_watt_growth ** (np.maximum(bought, 0) / 12.0)
    future = np.where(bought >= 0, output_path(cfg, np.maximum(bought, 0)), 0.0)
    fleet.shell_pipeline = (future * kw_then / 1000.0)[:, None] * split[None, :]
    # Shells in use are as old as the chips in them on average; those being built are new.
    mean_age = float((past_output_weights(cfg, life) * np.arange(life)).sum())
    remaining = max(0.0, 1.0 - mean_age / s.shell_life_months)
    fleet.shell_book = (fleet.shells * remaining + fleet.shell_pipeline.sum(axis=0)) \
        * 1000.0 * s.build_cost_usd_per_kw
    return fleet


@dataclass
class OutsideFleet:
    """Compute of owners outside the modelled token market (``outside_owners.csv``).

    It grows with the modelled providers' purchases (the outside owners buy their share of
    each month's chips, as if they faced the same economics), retires after the hardware
    life, sits where data centres sit (2024 electricity shares) and runs at the target
    utilisation. ``owner_shares`` splits it among named owners for the
    ownership HHI; a ``fragmented`` remainder adds nothing to the HHI.
    """

    chips: np.ndarray  # (T,)
    power: np.ndarray  # (T,) IT MW
    nation_share: np.ndarray  # (N,)
    owner_names: list
    owner_shares: np.ndarray  # of the outside stock, sums to 1
    fragmented: np.ndarray  # bool per owner
    share_of_output: float

    @classmethod
    def build(cls, cfg, world, geo: Geography) -> OutsideFleet:
        s = cfg.supply
        life = int(s.hardware_life_months)
        own = world.outside_owners
        total_share = float(own["compute_share"].sum())
        total = s.world_compute_h100e * total_share
        chips, power, _ = _vintage_arrays(cfg, np.array([total]), life)
        dc = geo.dc_twh_2024
        shares = own["compute_share"].to_numpy(float)
        return cls(chips=chips[:, 0], power=power[:, 0],
                   nation_share=dc / dc.sum() if dc.sum() > 0 else np.full(geo.n, 1 / geo.n),
                   owner_names=own["owner"].tolist(),
                   owner_shares=shares / shares.sum() if shares.sum() > 0 else shares,
                   fragmented=own["fragmented"].to_numpy(bool),
                   share_of_output=total_share)

    @property
    def installed(self) -> float:
        return float(self.chips.sum())

    @property
    def it_mw(self) -> float:
        return float(self.power.sum())

    def advance(self, h100e: float, kw_per_h100e: float) -> None:
        """Retire the oldest vintage and install this month's purchases."""
        self.chips[1:] = self.chips[:-1].copy()
        self.power[1:] = self.power[:-1].copy()
        self.chips[0] = h100e
        self.power[0] = h100e * kw_per_h100e / 1000.0

    def energy_twh(self, pue: float, utilisation: float, idle_share: float) -> np.ndarray:
        """Annualised electricity by nation, TWh/yr (N,)."""
        return self.nation_share * float(costs.fleet_energy_twh_per_year(
            self.it_mw, pue, utilisation, idle_share))
