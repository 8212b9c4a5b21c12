"""End-to-end runs of the real model: determinism, invariants, the output contract."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from abm.agents import Startup
from abm.economy import exchange
from abm.invariants import InvariantViolation, check_step
from abm.model import ComputeEconomy
from tests.model.conftest import small_config, small_run

SCENARIOS = ["baseline", "open_weights_surge", "closed_frontier", "export_controls",
             "energy_shock", "test_time_compute_boom", "custom_silicon", "sovereign_cloud",
             "efficiency_breakthrough", "early_monopoly"]

GLOBAL_COLUMNS = ["month", "year", "hhi_revenue", "cr4_revenue", "hhi_capacity", "lerner",
                  "markup_lerner", "scarcity_rent", "scarcity_rent_share", "rent_share",
                  "profit_total", "gini_access", "theil_between", "unserved_share",
                  "priced_out_share", "energy_twh", "inference_share", "tokens_total",
                  "revenue_total", "spending_total", "price_constant_capability",
                  "h100_rental_usd_hour", "chip_output_h100e", "capex_usd",
                  "us_capacity_share", "open_weight_share"]
NATION_COLUMNS = ["month", "nation", "tokens_per_capita", "dependence_ratio", "unserved_share",
                  "priced_out_share", "energy_twh", "mean_latency_ms", "capacity_h100e"]
PROVIDER_COLUMNS = ["month", "provider", "revenue", "tokens", "capacity", "compute_h100e",
                    "training_h100e", "profit", "price", "lerner", "markup_lerner",
                    "scarcity_rent", "cash", "capex", "q"]


def test_small_end_to_end_run_has_the_contracted_tables_and_units():
    tables = small_run(months=24)
    g, n, p, mk = tables["global"], tables["nations"], tables["providers"], tables["markets"]
    assert list(g["month"]) == list(range(24))
    assert g["year"].dtype == np.int64 and list(g["year"]) == [2025] * 12 + [2026] * 12
    for cols, df in ((GLOBAL_COLUMNS, g), (NATION_COLUMNS, n), (PROVIDER_COLUMNS, p)):
        assert set(cols) <= set(df.columns), set(cols) - set(df.columns)
    assert len(n) == 24 * 5
    assert ((g["hhi_revenue"] > 0) & (g["hhi_revenue"] <= 10_000)).all()
    for col in ("cr4_revenue", "rent_share", "gini_access", "unserved_share",
                "priced_out_share", "inference_share", "open_weight_share", "lerner",
                "markup_lerner", "scarcity_rent_share", "us_capacity_share"):
        assert g[col].between(0, 1).all(), col
    assert (g["lerner"] >= g["markup_lerner"] - 1e-12).all()  # clearing >= ask
    assert n["dependence_ratio"].between(0, 1).all()
    assert (g["tokens_total"] > 0).all() and (g["energy_twh"] > 0).all()
    assert set(mk["market_type"]) == {"tier", "region"}
    assert mk.loc[mk.market_type == "tier", "market"].nunique() == 4


@pytest.mark.parametrize("overrides", [{}, {"policy__localisation_share": 1.0},
                                       {"open_source__enabled": False}])
def test_no_table_has_a_nan_for_nations_and_providers_that_exist(overrides):
    tables = small_run(months=12, **overrides)
    for name, df in tables.items():
        numeric = df.select_dtypes("number")
        assert not numeric.isna().any().any(), (name, numeric.columns[numeric.isna().any()])
        assert np.isfinite(numeric.to_numpy(float)).all(), name


def test_same_seed_same_tables_and_different_seeds_differ():
    a = small_run(months=12, seed=3)
    b = ComputeEconomy(small_config(months=12, seed=3))
    for _ in range(12):
        b.step()
    for name, df in b.tables().items():
        pd.testing.assert_frame_equal(a[name], df, check_exact=True)
    c = small_run(months=12, seed=4)
    assert not np.array_equal(a["global"]["tokens_total"], c["global"]["tokens_total"])


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("seed", [0, 1])
def test_invariants_hold_in_every_scenario(scenario, seed):
    # check_step runs every month inside the model and raises on a violation
    tables = small_run(months=24, seed=seed, scenario=scenario)
    g = tables["global"]
    assert len(g) == 24
    assert np.isfinite(g[["tokens_total", "revenue_total", "spending_total"]]).all().all()
    assert (g["spending_total"] >= g["revenue_total"] * (1 - 1e-9)).all()


def test_a_broken_identity_raises_with_month_and_quantity():
    model = ComputeEconomy(small_config(months=2))
    model.step()
    supply, demand = model.last_books
    tampered = dataclasses.replace(model.last_result,
                                   offer_tokens=model.last_result.offer_tokens * 1.5)
    with pytest.raises(InvariantViolation, match=r"month 1: tokens sold = tokens bought"):
        check_step(model, tampered, supply, demand)


def test_a_nan_stock_is_reported_as_nan_not_hidden_by_a_nan_ignoring_minimum():
    # fleet.shell_pipeline with a NaN used to report "value 0.0" (np.nanmin skipped it).
    model = ComputeEconomy(small_config(months=2))
    model.step()
    supply, demand = model.last_books
    model.fleet.shell_pipeline[0, 0] = np.nan
    with pytest.raises(InvariantViolation, match=r"fleet\.shell_pipeline .*value nan"):
        check_step(model, model.last_result, supply, demand)
    model.fleet.shell_pipeline[0, 0] = np.inf
    with pytest.raises(InvariantViolation, match=r"fleet\.shell_pipeline .*value inf"):
        check_step(model, model.last_result, supply, demand)


def test_model_uses_only_its_own_random_streams():
    np.random.seed(123)  # noqa: NPY002 -- global state must not matter
    a = small_run(months=6, seed=7)["global"]
    np.random.seed(999)  # noqa: NPY002
    model = ComputeEconomy(small_config(months=6, seed=7))
    for _ in range(6):
        model.step()
    pd.testing.assert_frame_equal(a, model.tables()["global"], check_exact=True)


@pytest.mark.parametrize("localisation", [0.0, 0.5])
def test_every_token_of_need_is_in_the_demand_book_whoever_buys_it(localisation):
    # startups intermediate part of the free demand; none of it may fall out of the book
    model = ComputeEconomy(small_config(months=6, policy__localisation_share=localisation))
    for _ in range(6):
        model.step()
    startups = list(model.agents_by_type.get(Startup, []))
    assert startups
    need = model.need_per_usecase(model.state)
    book, _ = exchange.build_demand(model.cfg, model.state, model.geo, model.uc, model.users,
                                    model.nations, startups, need, model.open_quality)
    total = sum(up.total_need(need).sum() for up in model.users)
    assert book.reference_demand.sum() == pytest.approx(total, rel=1e-9)


@pytest.mark.parametrize("attr, value, message", [
    ("grid_headroom_mw", -5.0, r"month \d+: India\.grid_headroom_mw >= 0 violated \(value -5\.0\)"),
    ("localisation_share", 1.5, r"India\.localisation_share in \[0, 1\] violated \(value 1\.5\)"),
    ("localisation_share", float("nan"), r"India\.localisation_share in \[0, 1\] violated"),
    ("localisation_share", -0.1, r"India\.localisation_share in \[0, 1\]"),
])
def test_check_step_names_the_first_nation_out_of_bounds(attr, value, message):
    """The nations' stocks are checked as arrays; the error still names the first nation
    that fails, with its value (and a sound nation after it is not blamed)."""
    model = ComputeEconomy(small_config(months=1))
    model.step()
    supply, demand = model.last_books
    check_step(model, model.last_result, supply, demand)  # sound
    india = next(n for n in model.nations if n.name == "India")
    setattr(india, attr, value)
    if attr == "localisation_share":  # a later nation breaks the other bound: not named
        model.nations[-1].grid_headroom_mw = -1.0 if model.nations[-1] is not india else 0.0
    with pytest.raises(InvariantViolation, match=message):
        check_step(model, model.last_result, supply, demand)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, -1e-300])
def test_segment_arrays_must_be_finite_and_non_negative(bad):
    """check_step's min/max test catches NaN, +-inf and negatives anywhere, and names the
    value (the NaN itself, not a NaN-ignoring minimum)."""
    from abm.invariants import _nonneg_finite

    model = ComputeEconomy(small_config(months=1))
    model.step()
    supply, demand = model.last_books
    result = model.last_result
    unserved = result.segment_unserved.copy()
    unserved[len(unserved) // 2] = bad
    tampered = dataclasses.replace(result, segment_unserved=unserved)
    assert not _nonneg_finite(unserved) and _nonneg_finite(result.segment_unserved)
    assert _nonneg_finite(np.zeros(0)) and _nonneg_finite(np.array([0.0, -0.0]))
    with pytest.raises(InvariantViolation, match=r"segment_unserved >= 0 and finite violated"
                                                 rf" \(value {bad}\)"):
        check_step(model, tampered, supply, demand)
