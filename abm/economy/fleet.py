"""Every provider's capital, site by site, as vintage arrays (Solow vintage capital).

A *site* is one (provider, nation) pair. The fleet holds, for all sites at once:

- data-centre **shells** (IT MW of powered buildings), ready or under construction for
  ``build_lead_months``; a shell outlives the chips in it and is refilled when they retire;
- **chips** by age (H100e, their IT power and the price paid for them), installed
  ``install_lead_months`` after purchase and retired after ``hardware_life_months``
  (one-hoss shay): each vintage keeps the price it was bought at, so a chip shortage raises
  the cost of the capacity built during it;
- how each site's serving capacity is split across the four model tiers, and the markups
  its provider posts on them.

Providers are Mesa agents that own the decisions; the arithmetic runs over all sites at once
(HARK-style), and a provider's sites are ``fleet.provider == index``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

N_TIERS = 4


@dataclass
class Fleet:
    """Capital of all sites. Shapes: S sites, T ages, Li install and Lb build lead months.

    Attributes
    ----------
    provider, nation : (S,) int
        Owner (index into the model's provider list) and host nation of each site.
    chips, power, cost : (T, S)
        Installed H100e, their IT MW and the $ paid for them, by age (row 0 newest).
    arriving, arriving_power, arriving_cost : (Li, S)
        Chips bought and not yet serving, by months until they serve (row 0 next month).
    shells : (S,)
        IT MW of ready shells.
    shell_pipeline : (Lb, S)
        IT MW of shells under construction, by months until ready (row 0 next month).
    shell_book : (S,)
        Undepreciated cost of the shells, $.
    tier_alloc, markup : (S, 4)
        Share of serving capacity per tier; ask / marginal cost per tier.
    training : (S,)
        H100e rented out to training runs this month.
    domestic : (S,) bool
        Sites that can only buy domestic (non-controlled) chips.
    idle_months : (S,)
        Consecutive months the site has had empty ready shells and bought no chip for them.
    """

    provider: np.ndarray
    nation: np.ndarray
    chips: np.ndarray
    power: np.ndarray
    cost: np.ndarray
    arriving: np.ndarray
    arriving_power: np.ndarray
    arriving_cost: np.ndarray
    shells: np.ndarray
    shell_pipeline: np.ndarray
    shell_book: np.ndarray
    tier_alloc: np.ndarray
    markup: np.ndarray
    training: np.ndarray
    domestic: np.ndarray
    idle_months: np.ndarray

    @classmethod
    def empty(cls, provider, nation, domestic, *, life: int, install_lead: int,
              build_lead: int) -> Fleet:
        """Sites with nothing installed or ordered."""
        provider = np.asarray(provider, dtype=np.int64)
        s = provider.size
        z = np.zeros
        return cls(provider=provider, nation=np.asarray(nation, dtype=np.int64),
                   chips=z((life, s)), power=z((life, s)), cost=z((life, s)),
                   arriving=z((install_lead, s)), arriving_power=z((install_lead, s)),
                   arriving_cost=z((install_lead, s)), shells=z(s),
                   shell_pipeline=z((build_lead, s)), shell_book=z(s),
                   tier_alloc=np.full((s, N_TIERS), 1.0 / N_TIERS), markup=np.ones((s, N_TIERS)),
                   training=z(s), domestic=np.asarray(domestic, dtype=bool),
                   idle_months=z(s))

    # ------------------------------------------------------------------ stocks
    @property
    def n_sites(self) -> int:
        return int(self.provider.size)

    @property
    def installed(self) -> np.ndarray:
        """Installed H100e per site (S,)."""
        return self.chips.sum(axis=0)

    @property
    def it_mw(self) -> np.ndarray:
        """IT MW drawn at full load by the installed chips (S,)."""
        return self.power.sum(axis=0)

    @property
    def occupied_mw(self) -> np.ndarray:
        """Shell IT MW taken by installed and arriving chips (S,)."""
        return self.it_mw + self.arriving_power.sum(axis=0)

    def empty_shell_mw(self, within: int = 0) -> np.ndarray:
        """Shell IT MW with no chip in or on the way, counting shells ready in ``within``
        months (S,)."""
        ready = self.shells + self.shell_pipeline[:within].sum(axis=0)
        return np.maximum(ready - self.occupied_mw, 0.0)

    def kw_per_h100e(self, default) -> np.ndarray:
        """Vintage-weighted IT kW per installed H100e (S,); ``default`` (scalar or (S,))
        where nothing is installed."""
        k = self.installed
        out = np.broadcast_to(np.asarray(default, dtype=float), k.shape).copy()
        return np.divide(self.it_mw * 1000.0, k, out=out, where=k > 0)

    def surviving(self, months: np.ndarray) -> np.ndarray:
        """Installed plus arriving H100e still in service ``months`` from now (M, S)."""
        life = self.chips.shape[0]
        # chips of age a retire after life - a more months
        cum = np.cumsum(self.chips, axis=0)  # cum[a] = chips of age <= a
        keep = np.clip(life - 1 - np.asarray(months, dtype=int), -1, life - 1)
        alive = np.where(keep[:, None] >= 0, cum[np.maximum(keep, 0)], 0.0)
        return alive + self.arriving.sum(axis=0)[None, :]

    # ------------------------------------------------------------------ time
    def advance(self) -> np.ndarray:
        """One month: retire the oldest vintage, age the rest, install arrivals, finish shells.

        Returns the IT MW of retired chips per site (S,); their shells stay, empty.
        """
        retired_mw = self.power[-1].copy()
        for arr in (self.chips, self.power, self.cost):
            arr[1:] = arr[:-1].copy()
        self.chips[0] = self.arriving[0]
        self.power[0] = self.arriving_power[0]
        self.cost[0] = self.arriving_cost[0]
        for arr in (self.arriving, self.arriving_power, self.arriving_cost,
                    self.shell_pipeline):
            done = arr[0].copy()
            arr[:-1] = arr[1:].copy()
            arr[-1] = 0.0
            if arr is self.shell_pipeline:
                self.shells += done
        return retired_mw

    def depreciation(self, life: int, shell_life: int) -> np.ndarray:
        """This month's straight-line depreciation per site, $ (S,); books the shells down."""
        shell = self.shell_book / shell_life
        self.shell_book = self.shell_book - shell
        return self.cost.sum(axis=0) / life + shell

    def abandon_idle_shells(self, after_months: int) -> tuple[np.ndarray, np.ndarray]:
        """Write off the empty ready shells of sites idle for ``after_months`` months.

        A powered shell nobody fills is a stranded asset: its owner sells or converts it and
        impairs its book value (IAS 36 impairment to recoverable amount, taken here as zero
        for AI use). Returns the impairment, $, and the IT MW given up, per site (S,).
        """
        idle = self.idle_months >= after_months
        empty = np.where(idle, np.maximum(self.shells - self.occupied_mw, 0.0), 0.0)
        total = self.shells + self.shell_pipeline.sum(axis=0)
        share = np.divide(empty, total, out=np.zeros_like(total), where=total > 0)
        impairment = self.shell_book * share
        self.shells = self.shells - empty
        self.shell_book = self.shell_book - impairment
        self.idle_months = np.where(idle, 0.0, self.idle_months)
        return impairment, empty

    def note_idle(self, wanted: np.ndarray) -> None:
        """Count a month of idleness at sites with empty ready shells whose owner did not want
        chips for them (``wanted`` (S,) bool: it bid at least the expected chip price or
        bought some)."""
        idle = (self.empty_shell_mw(0) > 0) & ~np.asarray(wanted, dtype=bool)
        self.idle_months = np.where(idle, self.idle_months + 1.0, 0.0)

    # ------------------------------------------------------------------ orders
    def order_shells(self, it_mw: np.ndarray, spend: np.ndarray) -> None:
        """Start shells of ``it_mw`` IT MW per site, costing ``spend`` $ (S,)."""
        self.shell_pipeline[-1] += it_mw
        self.shell_book = self.shell_book + spend

    def buy_chips(self, h100e: np.ndarray, it_mw: np.ndarray, spend: np.ndarray) -> None:
        """Chips bought this month (S,): they serve after the install lead."""
        self.arriving[-1] += h100e
        self.arriving_power[-1] += it_mw
        self.arriving_cost[-1] += spend

    # ------------------------------------------------------------------ sites
    def extend(self, other: Fleet) -> None:
        """Append the sites of ``other`` (same lead times and life)."""
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            axis = 1 if a.ndim == 2 and f.name not in ("tier_alloc", "markup") else 0
            setattr(self, f.name, np.concatenate([a, b], axis=axis))

    def keep(self, mask: np.ndarray) -> None:
        """Drop the sites where ``mask`` is False."""
        for f in fields(self):
            a = getattr(self, f.name)
            if a.ndim == 2 and f.name not in ("tier_alloc", "markup"):
                setattr(self, f.name, a[:, mask])
            else:
                setattr(self, f.name, a[mask])
