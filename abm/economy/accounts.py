"""Accounts stage: each provider's month against full cost (mechanisms 3, 4, 15).

Energy is drawn by installed chips at their vintage's power, at load (busy serving plus
training; idle chips draw ``idle_power_share``); opex is charged on the whole fleet;
depreciation is straight-line on each vintage's purchase price and on the shells; shells
left unwanted for ``supply.stranded_shell_months`` are impaired (written off).
"""

from __future__ import annotations

import numpy as np

from abm.economy import costs


def site_load(busy: np.ndarray, training: np.ndarray, installed: np.ndarray) -> np.ndarray:
    """Share of each site's installed H100e at work (serving or training), 0-1 (S,)."""
    return np.clip(np.divide(busy + training, installed, out=np.zeros_like(installed),
                             where=installed > 0), 0.0, 1.0)


def settle_providers(model, state, outcome, site_cost, rental) -> dict[str, np.ndarray]:
    """Book every provider's month; return per-site energy (TWh/yr) and cost arrays."""
    cfg, fleet = model.cfg, model.fleet
    s = cfg.supply
    h = costs.HOURS_PER_MONTH
    # Shells nobody has wanted to fill for years are written off and their grid returned.
    impairment, freed_mw = fleet.abandon_idle_shells(int(s.stranded_shell_months))
    returned_mw = np.bincount(fleet.nation, weights=freed_mw * s.pue,
                              minlength=len(model.nations))
    for i in np.flatnonzero(returned_mw):
        model.nations[i].grid_headroom_mw += float(returned_mw[i])
    installed = fleet.installed
    load = site_load(outcome.busy_h100e, fleet.training, installed)
    kw = fleet.kw_per_h100e(state.kw_per_h100e_new)
    energy_twh = costs.fleet_energy_twh_per_year(fleet.it_mw, s.pue, load, s.idle_power_share)
    energy_cost = (energy_twh * 1e9 / 12.0) * state.electricity[fleet.nation]
    opex = site_cost.opex * installed * h
    depreciation = (fleet.depreciation(int(s.hardware_life_months), int(s.shell_life_months))
                    + impairment)
    n_p = len(model.providers)

    def per_provider(values):
        return np.bincount(fleet.provider, weights=values, minlength=n_p)

    rate = (s.cost_of_capital + s.finance_premium) / 12.0
    # Cash a provider keeps for the chips its empty shells (built or being built) will need.
    pool = (model.geo.export_tier[fleet.nation] == 3) & bool(cfg.chips.export_controls)
    building = fleet.shell_pipeline.sum(axis=0)
    chips_needed = (np.minimum(building, fleet.empty_shell_mw(fleet.shell_pipeline.shape[0]))
                    * 1000.0
                    / state.kw_per_h100e_new * model.expectations.chip_price[pool.astype(int)])
    sums = {name: per_provider(v).tolist() for name, v in (  # (Python floats: the same bits)
        ("revenue", outcome.revenue.sum(axis=1)), ("rental", rental.site_income),
        ("energy", energy_cost), ("opex", opex), ("depreciation", depreciation),
        ("committed", chips_needed))}
    for i, p in enumerate(model.providers):
        p.settle(revenue=sums["revenue"][i], rental_income=sums["rental"][i],
                 energy=sums["energy"][i], opex=sums["opex"][i],
                 depreciation=sums["depreciation"][i], capital_rate_month=rate)
        p.pay_out(s.cash_buffer_months, sums["committed"][i], s.operating_cash_months)
    return {"energy_twh": energy_twh, "load": load, "kw": kw, "energy_cost": energy_cost,
            "depreciation": depreciation, "impairment": impairment}
