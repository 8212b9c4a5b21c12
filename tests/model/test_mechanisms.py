"""Every switch of DESIGN.md changes what it should (small world, a year or two)."""

from __future__ import annotations

import numpy as np
import pytest

from abm.model import ComputeEconomy
from tests.model.conftest import small_config, small_run


def last(df, col, n=6):
    return float(df[col].iloc[-n:].mean())


def test_open_weights_off_removes_open_weight_tokens():
    on = small_run(months=12)["global"]
    off = small_run(months=12, open_source__enabled=False)["global"]
    assert (off["open_weight_share"] == 0).all() and (off["tokens_open"] == 0).all()
    assert (on["open_weight_share"].iloc[1:] > 0).all()


def test_shorter_open_weight_lag_raises_open_quality_and_share():
    slow = small_run(months=18, open_source__lag_months=20.0)["global"]
    fast = small_run(months=18, open_source__lag_months=1.0)["global"]
    assert last(fast, "open_quality") > last(slow, "open_quality")
    assert last(fast, "open_weight_share") > last(slow, "open_weight_share")


def test_tier3_nation_gets_no_controlled_chips():
    totals = {}
    for controls in (True, False):
        cfg = small_config(months=18, chips__export_controls=controls)
        model = ComputeEconomy(cfg)
        totals[controls] = 0.0
        for _ in range(18):
            model.step()
            domestic = (model.chip_supply_now * cfg.chips.domestic_chip_supply_share
                        * cfg.chips.domestic_chip_perf)
            if controls:
                # only the domestic pool is open to tier 3 (China): bounded by its output
                assert model.chips_by_tier[2] <= domestic * (1 + 1e-12)
            totals[controls] += model.chips_by_tier[2]
    assert totals[False] > totals[True] > 0


def test_localisation_share_of_one_makes_dependence_zero():
    n = small_run(months=6, policy__localisation_share=1.0)["nations"]
    non_us = n[n.nation != "United States"]
    assert (non_us["dependence_ratio"] == 0).all()
    base = small_run(months=6)["nations"]
    assert base.loc[base.nation == "Nigeria", "dependence_ratio"].gt(0).all()


def test_tariff_is_collected_and_cuts_dependence():
    base = small_run(months=12)
    taxed = small_run(months=12, policy__tariff=1.0)
    assert (taxed["global"]["tariff_revenue"] > 0).all()
    assert (base["global"]["tariff_revenue"] == 0).all()
    nb, nt = base["nations"], taxed["nations"]
    india_b = nb.loc[nb.nation == "India", "dependence_ratio"].iloc[-6:].mean()
    india_t = nt.loc[nt.nation == "India", "dependence_ratio"].iloc[-6:].mean()
    assert india_t < india_b


def test_subsidy_is_paid_by_non_us_nations():
    n = small_run(months=12, policy__subsidy=0.3)["nations"]
    final = n[n.month == 11].set_index("nation")["subsidy_paid"]
    assert final["United States"] == 0 and final.drop("United States").sum() > 0


def test_adaptive_policy_raises_localisation_where_dependence_is_high():
    adaptive = small_run(months=24, policy__dependence_threshold=0.3)["nations"]
    fixed = small_run(months=24, policy__adaptive=False)["nations"]
    nigeria_a = adaptive.loc[adaptive.nation == "Nigeria", "localisation_share"]
    nigeria_f = fixed.loc[fixed.nation == "Nigeria", "localisation_share"]
    assert nigeria_a.iloc[-1] > nigeria_a.iloc[0]
    assert nigeria_f.nunique() == 1


def test_energy_price_shock_raises_prices_after_it_starts():
    base = small_run(months=12)["global"]
    shock = small_run(months=12, energy__price_shock=5.0, energy__price_shock_month=3)["global"]
    assert base["price_mid"].iloc[:3].equals(shock["price_mid"].iloc[:3])
    assert last(shock, "price_small") > last(base, "price_small")


def test_test_time_compute_multiplies_tokens():
    base = small_run(months=12)["global"]
    boom = small_run(months=12, demand__test_time_multiplier_final=10_000.0)["global"]
    assert last(boom, "tokens_total") > last(base, "tokens_total")


def test_custom_silicon_lowers_costs_of_its_owners():
    base = small_run(months=18)["providers"]
    cheap = small_run(months=18, supply__custom_silicon_saving=0.8,
                      supply__custom_silicon_lead_months=0)["providers"]
    g_base = base[(base.provider == "Google Cloud")]["price"].iloc[-6:].mean()
    g_cheap = cheap[(cheap.provider == "Google Cloud")]["price"].iloc[-6:].mean()
    assert g_cheap < g_base


def test_startups_switch_and_tight_budgets_price_people_out():
    off = small_run(months=6, startups__enabled=False)["global"]
    assert (off["n_startups"] == 0).all()
    poor = small_run(months=6, demand__budget_share=0.00001)["global"]
    base = small_run(months=6)["global"]
    assert last(poor, "priced_out_share") > last(base, "priced_out_share") + 0.1


def test_efficiency_breakthrough_cuts_price_at_constant_capability():
    base = small_run(months=24)["global"]
    fast = small_run(months=24, supply__software_efficiency_growth=4.0)["global"]
    assert last(fast, "price_constant_capability") < last(base, "price_constant_capability")


@pytest.mark.parametrize("lead", [6, 24])
def test_build_lead_time_delays_capacity(lead):
    g = small_run(months=12, supply__build_lead_months=lead)["global"]
    assert np.isfinite(g["capacity_h100e"]).all()


def test_longer_build_lead_time_means_less_capacity_early():
    short = small_run(months=12, supply__build_lead_months=6)["global"]
    long = small_run(months=12, supply__build_lead_months=24)["global"]
    assert short["capacity_h100e"].iloc[-1] > long["capacity_h100e"].iloc[-1]


def test_neoclouds_enter_when_incumbents_sell_out_and_exit_in_distress():
    from tests.model.conftest import small_config

    model = ComputeEconomy(small_config(months=1, supply__neocloud_entry_rate=5.0))
    model.step()
    neo = [p for p in model.providers if p.kind == "neocloud"]
    for p in neo:  # incumbents sold out at a margin
        p.utilisation[:] = 1.0
        p.revenue, p.fleet_cost = 1e9, 1e8
    before = len(model.providers)
    model._neocloud_entry_exit()
    assert len(model.providers) > before and model.provider_entries > 0
    entrant = model.providers[-1]
    assert entrant.kind == "neocloud" and entrant.compute.sum() == 0
    want, _ = entrant.chip_bids()
    assert want.sum() > 0  # it bids for its launch cluster
    entrant.cash, entrant.revenue = -1e12, 0.0  # deep in debt, no revenue
    for _ in range(model.cfg.startups.exit_after_months):
        model._neocloud_entry_exit()
    assert entrant not in model.providers and model.provider_exits >= 1


def test_neoclouds_host_open_weights_unless_there_are_none():
    from tests.model.conftest import small_config

    for enabled in (True, False):
        model = ComputeEconomy(small_config(months=2, open_source__enabled=enabled))
        model.step()
        neo = [p for p in model.providers if p.kind in ("neocloud", "sovereign")]
        assert neo
        for p in neo:
            served = p.tokens.sum(axis=0)
            if enabled:  # the competitive fringe: all its compute on open weights
                assert served[:3].sum() == 0 and served[3] > 0
            else:  # a closed world: it resells licensed closed models
                assert served[3] == 0 and served[:3].sum() > 0
