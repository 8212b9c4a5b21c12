"""Tests for the calibration tables and their loader (:mod:`abm.calibration`).

Oracles: the published numbers the tables must reproduce (IEA, Energy and AI 2025; Synergy
Research Q4 2025; BIS export-control tiers), the internal consistency of the tables, and the
loader's own validation on deliberately corrupted copies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import abm.calibration as cal

NATIONS = [
    "United States", "China", "European Union", "United Kingdom", "Japan", "South Korea",
    "Taiwan", "India", "Gulf States", "Southeast Asia", "Brazil", "Mexico",
    "Rest of Latin America", "Nigeria", "South Africa", "Rest of Africa", "Canada", "Australia",
    "Russia", "Rest of World",
]
TIER1 = {"United States", "European Union", "United Kingdom", "Japan", "South Korea", "Taiwan",
         "Canada", "Australia"}
TIER3 = {"China", "Russia"}
LOADERS = [cal.nations, cal.providers, cal.provider_sites, cal.usecases, cal.open_labs,
           cal.parameters]
SOURCE_COLUMNS = {
    cal.nations: ["source_population", "source_income", "source_electricity", "source_dc",
                  "source_grid", "source_tier"],
    cal.providers: ["source"],
    cal.provider_sites: ["source"],
    cal.usecases: ["source"],
    cal.open_labs: ["source"],
    cal.parameters: ["source"],
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cal.clear_cache()
    yield
    cal.clear_cache()


def capacity_weighted_shares() -> pd.Series:
    """World capacity share by nation, weighting each provider's sites by its cloud share."""
    sites = cal.provider_sites().merge(cal.providers()[["provider", "cloud_share"]])
    weight = sites["capacity_share"] * sites["cloud_share"]
    return weight.groupby(sites["nation"]).sum() / weight.sum()


# ----------------------------------------------------------------------------- tables load


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_every_table_loads_and_has_rows(loader):
    table = loader()
    assert isinstance(table, pd.DataFrame)
    assert len(table) > 0


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_every_row_has_a_source(loader):
    table = loader()
    for col in SOURCE_COLUMNS[loader]:
        assert (table[col].astype(str).str.strip() != "").all(), col


def test_loaders_return_copies():
    a = cal.nations()
    a.loc[0, "population_m"] = -1.0
    assert cal.nations().loc[0, "population_m"] > 0


@pytest.mark.parametrize("loader", LOADERS[:5], ids=lambda f: f.__name__)
def test_no_nan_in_numeric_columns(loader):
    table = loader()
    numeric = table.select_dtypes("number")
    assert numeric.shape[1] > 0
    assert np.isfinite(numeric.to_numpy(dtype=float)).all()


# ----------------------------------------------------------------------------- nations


def test_nations_are_exactly_the_listed_rows():
    table = cal.nations()
    assert table["nation"].tolist() == NATIONS
    assert table["code"].is_unique


def test_nation_columns_in_order():
    assert cal.nations().columns.tolist() == [
        "nation", "code", "population_m", "gdp_pc_usd", "income_gini", "lat", "lon",
        "electricity_usd_kwh", "dc_twh_2024", "grid_headroom_mw", "grid_build_mw_per_year",
        "export_tier", "localisation_share", "source_population", "source_income",
        "source_electricity", "source_dc", "source_grid", "source_tier"]


def test_data_centre_electricity_matches_iea_2025():
    dc = cal.nations().set_index("nation")["dc_twh_2024"]
    assert abs(dc.sum() - 415.0) <= 1.0  # IEA world 415 TWh (regional figures sum to 416)
    assert dc["United States"] == 183.0
    assert dc["China"] == 102.0
    assert_allclose(dc["European Union"] + dc["United Kingdom"], 68.0)  # IEA "Europe"
    apac = ["Japan", "South Korea", "Taiwan", "India", "Southeast Asia", "Australia"]
    assert_allclose(dc[apac].sum(), 48.0)  # IEA Asia-Pacific ex-China


def test_population_and_income_are_plausible():
    table = cal.nations().set_index("nation")
    assert 7900 <= table["population_m"].sum() <= 8300  # UN WPP 2024: 8.16 billion
    world_gdp = (table["population_m"] * table["gdp_pc_usd"]).sum() / 1e6  # $ trillion
    assert 100 <= world_gdp <= 120  # IMF WEO 2024: ~110 trillion
    assert table["income_gini"].between(0.2, 0.7).all()
    assert table.loc["United States", "electricity_usd_kwh"] == 0.08
    assert table.loc["European Union", "electricity_usd_kwh"] == 0.15
    assert table.loc["China", "electricity_usd_kwh"] == 0.056
    assert table.loc["Gulf States", "electricity_usd_kwh"] == 0.048
    assert table.loc["India", "electricity_usd_kwh"] == 0.09


def test_export_tiers_as_listed():
    tier = cal.nations().set_index("nation")["export_tier"]
    for name in NATIONS:
        expected = 1 if name in TIER1 else 3 if name in TIER3 else 2
        assert tier[name] == expected, name


def test_localisation_shares():
    loc = cal.nations().set_index("nation")["localisation_share"]
    assert loc["China"] == 0.9
    assert loc["Russia"] == 0.5
    assert loc["European Union"] == 0.1
    assert loc["India"] == 0.1
    assert loc.between(0, 1).all()


# ----------------------------------------------------------------------------- providers


def test_cloud_shares_match_synergy():
    share = cal.providers().set_index("provider")["cloud_share"]
    assert share["AWS"] == 0.28
    assert share["Microsoft Azure"] == 0.21
    assert share["Google Cloud"] == 0.14
    assert share.sum() <= 1.0
    assert share.between(0, 1).all()


def test_provider_kinds_and_homes():
    table = cal.providers()
    assert set(table["kind"]) <= set(cal.PROVIDER_KINDS)
    assert set(table["home"]) <= set(NATIONS)
    assert table["provider"].is_unique
    required = {"AWS", "Microsoft Azure", "Google Cloud", "Oracle", "Alibaba Cloud",
                "Tencent Cloud", "Huawei Cloud", "Baidu AI Cloud", "CoreWeave", "Nebius",
                "Lambda", "G42/Core42", "OVHcloud", "Yotta"}
    assert required <= set(table["provider"])
    assert table["frontier_lab"].dtype == bool
    assert table["custom_silicon"].dtype == bool


def test_site_shares_sum_to_one_per_provider():
    sites = cal.provider_sites()
    totals = sites.groupby("provider")["capacity_share"].sum()
    assert_allclose(totals.to_numpy(), 1.0, atol=1e-9)
    assert set(totals.index) == set(cal.providers()["provider"])
    assert set(sites["nation"]) <= set(NATIONS)


def test_capacity_weighted_world_shares_match_synergy():
    share = capacity_weighted_shares()
    assert 0.45 <= share["United States"] <= 0.65
    assert 0.10 <= share["China"] <= 0.22
    assert 0.10 <= share["European Union"] + share["United Kingdom"] <= 0.20


def test_no_us_provider_site_in_tier3_nation():
    providers = cal.providers()
    tier = cal.nations().set_index("nation")["export_tier"]
    us = set(providers.loc[providers["home"] == "United States", "provider"])
    sites = cal.provider_sites()
    us_sites = sites[sites["provider"].isin(us)]
    assert len(us_sites) > 0
    assert (us_sites["nation"].map(tier) != 3).all()
    assert "China" not in set(us_sites["nation"])


# ----------------------------------------------------------------------------- use-cases, labs


def test_usecases():
    table = cal.usecases().set_index("usecase")
    assert list(table.index) == ["chat", "assistant", "coding", "voice", "agents", "batch"]
    assert_allclose(table["token_share"].sum(), 1.0)
    assert table.loc["voice", "latency_tolerance_ms"] < table.loc["coding", "latency_tolerance_ms"]
    assert table["quality_threshold"].between(0, 1).all()
    assert table["test_time_exposure"].between(0, 1).all()


def test_open_labs():
    table = cal.open_labs().set_index("lab")
    assert set(table.index) == {"Meta", "DeepSeek", "Alibaba Qwen", "Mistral"}
    assert table.loc["Meta", "home"] == "United States"
    assert table.loc["DeepSeek", "home"] == "China"
    assert table.loc["Mistral", "home"] == "European Union"
    assert table["lag_offset_months"].min() == 0  # one leading lab


# ----------------------------------------------------------------------------- parameters


def test_parameters_have_sources_and_values_within_bounds():
    table = cal.parameters()
    assert (table["source"].str.strip() != "").all()
    numeric = table[table["type"].isin(["float", "int"])]
    assert len(numeric) > 0
    value = numeric["value"].astype(float)
    lo = numeric["min"].fillna(-np.inf)
    hi = numeric["max"].fillna(np.inf)
    bad = numeric[(value < lo) | (value > hi)]
    assert bad.empty, bad[["group", "name", "value", "min", "max"]]


def test_size_names_mirror_config():
    from abm.config import SIZES

    assert tuple(cal.SIZE_NAMES) == tuple(SIZES)


# ----------------------------------------------------------------------------- world


def test_default_world():
    w = cal.world("default")
    assert not w.synthetic
    assert w.size_name == "default"
    assert w.nations["nation"].tolist() == NATIONS
    assert w.n_nations == 20
    assert w.n_providers == len(cal.providers())
    with pytest.raises(AttributeError):
        w.synthetic = True  # frozen


def test_a_size_name_only_labels_the_world():
    # Sizes from a --config-dir have names of their own; Hydra refuses a size with no file.
    assert cal.world("tiny", ["China"]).size_name == "tiny"
    for bad in ("", None, 3):
        with pytest.raises(ValueError, match="is not a size name; expected a non-empty string"):
            cal.world(bad)


def test_subset_keeps_nations_and_renormalises():
    keep = ["United States", "India", "Gulf States"]
    w = cal.world("small", nations_subset=keep)
    assert w.nations["nation"].tolist() == keep  # table order
    assert set(w.provider_sites["nation"]) <= set(keep)
    totals = w.provider_sites.groupby("provider")["capacity_share"].sum()
    assert_allclose(totals.to_numpy(), 1.0, atol=1e-9)
    assert set(w.providers["provider"]) == set(w.provider_sites["provider"])
    # Providers with no site left are dropped; the others stay.
    assert "Baidu AI Cloud" not in set(w.providers["provider"])
    assert {"AWS", "Yotta", "G42/Core42"} <= set(w.providers["provider"])
    # Relative weights within a provider are preserved.
    full = cal.provider_sites().query("provider == 'AWS'").set_index("nation")["capacity_share"]
    sub = w.provider_sites.query("provider == 'AWS'").set_index("nation")["capacity_share"]
    assert_allclose(sub / sub["United States"], (full / full["United States"])[sub.index])


def test_subset_empty_means_all():
    assert cal.world("default", nations_subset=[]).n_nations == 20


def test_subset_unknown_name_raises_with_allowed_values():
    with pytest.raises(ValueError, match="Atlantis") as err:
        cal.world("small", nations_subset=["United States", "Atlantis"])
    message = str(err.value)
    assert "allowed" in message
    for name in NATIONS:
        assert name in message


# ----------------------------------------------------------------------------- synthetic world


def test_synthetic_world_sizes_and_schema():
    w = cal.world("world", synthetic=True, n_nations=120, n_providers=30, seed=7)
    real = cal.world("default")
    assert w.synthetic
    assert w.n_nations == 120
    assert w.n_providers == 30
    for name in ("nations", "providers", "provider_sites", "usecases", "open_labs"):
        assert getattr(w, name).columns.tolist() == getattr(real, name).columns.tolist(), name
    assert w.nations["nation"].iloc[0] == "Synthetic 001"
    for table, cols in ((w.nations, SOURCE_COLUMNS[cal.nations]), (w.providers, ["source"]),
                        (w.provider_sites, ["source"]), (w.usecases, ["source"]),
                        (w.open_labs, ["source"])):
        for col in cols:
            assert (table[col] == "synthetic").all()


def test_synthetic_world_totals_and_structure():
    w = cal.world("world", synthetic=True, n_nations=2000, n_providers=200, seed=3)
    nat = w.nations
    assert_allclose(nat["population_m"].sum(), 8000.0, rtol=0.01)
    assert_allclose(nat["dc_twh_2024"].sum(), 415.0, rtol=1e-9)
    assert 3000 <= nat["gdp_pc_usd"].median() <= 12000
    tiers = nat["export_tier"].value_counts(normalize=True)
    assert abs(tiers[1] - 0.4) < 0.05 and abs(tiers[2] - 0.5) < 0.05 and abs(tiers[3] - 0.1) < 0.03
    assert_allclose(w.providers["cloud_share"].sum(), 0.9)
    sites = w.provider_sites
    assert_allclose(sites.groupby("provider")["capacity_share"].sum().to_numpy(), 1.0,
                    atol=1e-9)
    tier = nat.set_index("nation")["export_tier"]
    home = w.providers.set_index("provider")["home"]
    counts = sites.groupby("provider").size()
    home_tier3 = home.map(tier) == 3
    assert (counts[home_tier3[home_tier3].index] == 1).all()
    others = counts[home_tier3[~home_tier3].index]
    assert others.between(3, 15).all()
    open_sites = sites[~sites["provider"].map(home).map(tier).eq(3)]
    assert (open_sites["nation"].map(tier) != 3).all()
    assert set(w.open_labs["home"]) <= set(nat["nation"])
    assert w.usecases.drop(columns="source").equals(cal.usecases().drop(columns="source"))


def test_synthetic_world_is_deterministic_and_seed_dependent():
    a = cal.world("world", synthetic=True, n_nations=50, n_providers=10, seed=11)
    b = cal.world("world", synthetic=True, n_nations=50, n_providers=10, seed=11)
    c = cal.world("world", synthetic=True, n_nations=50, n_providers=10, seed=12)
    for name in ("nations", "providers", "provider_sites", "open_labs"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.nations.equals(c.nations)
    assert not a.provider_sites.equals(c.provider_sites)


def test_synthetic_world_ignores_global_random_state():
    np.random.seed(1)  # noqa: NPY002 - perturbs the legacy global state on purpose
    a = cal.world("world", synthetic=True, n_nations=40, n_providers=8, seed=5)
    np.random.seed(2)  # noqa: NPY002
    b = cal.world("world", synthetic=True, n_nations=40, n_providers=8, seed=5)
    pd.testing.assert_frame_equal(a.provider_sites, b.provider_sites)


def test_synthetic_world_subset():
    w = cal.world("small", synthetic=True, n_nations=30, n_providers=12, seed=2,
                  nations_subset=["Synthetic 001", "Synthetic 002", "Synthetic 003"])
    assert w.synthetic
    assert w.n_nations == 3
    assert set(w.provider_sites["nation"]) <= set(w.nations["nation"])
    with pytest.raises(ValueError, match="Synthetic 001"):
        cal.world("small", synthetic=True, n_nations=30, seed=2, nations_subset=["China"])


@pytest.mark.parametrize("kwargs", [{"n_nations": 2}, {"n_providers": 0}, {"seed": -1},
                                    {"n_nations": 10.5}])
def test_synthetic_world_bad_sizes_raise(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        cal.world("world", synthetic=True, **kwargs)


def test_large_synthetic_world_builds():
    # Correctness at scale only; its build time is reported by `python -m abm.bench model`
    # (case synthetic_world), never asserted in a test.
    w = cal.world("world", synthetic=True, n_nations=10_000, n_providers=50, seed=0)
    assert w.n_nations == 10_000 and w.n_providers == 50


# ----------------------------------------------------------------------------- corrupted tables


def _corrupt(monkeypatch, tmp_path: Path, filename: str, edit) -> None:
    """Make the loader read an edited copy of ``filename`` from ``tmp_path``."""
    original = cal._read_csv
    table = original(filename)
    edit(table)
    path = tmp_path / filename
    table.to_csv(path, index=False)

    def fake(name: str) -> pd.DataFrame:
        if name == filename:
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        return original(name)

    monkeypatch.setattr(cal, "_read_csv", fake)
    cal.clear_cache()


def _set(column: str, row: int, value: str):
    def edit(table: pd.DataFrame) -> None:
        table.loc[row, column] = value
    return edit


@pytest.mark.parametrize(
    ("filename", "loader", "edit", "pattern"),
    [
        ("nations.csv", cal.nations, _set("population_m", 2, "many"),
         r"nations\.csv: column 'population_m', row 3 \(European Union\)"),
        ("nations.csv", cal.nations, _set("income_gini", 0, ""), "income_gini"),
        ("nations.csv", cal.nations, _set("localisation_share", 1, "1.5"),
         "localisation_share.*out of range"),
        ("nations.csv", cal.nations, _set("export_tier", 0, "4"), "export_tier"),
        ("nations.csv", cal.nations, _set("source_dc", 5, " "),
         r"source_dc', row 6 \(South Korea\): source is empty"),
        ("nations.csv", cal.nations, lambda t: t.pop("grid_headroom_mw"), "grid_headroom_mw"),
        ("providers.csv", cal.providers, _set("cloud_share", 0, "0.9"), "cloud_share"),
        ("providers.csv", cal.providers, _set("home", 0, "Atlantis"), "home"),
        ("providers.csv", cal.providers, _set("kind", 0, "bank"), "kind"),
        ("providers.csv", cal.providers, _set("frontier_lab", 0, "maybe"), "frontier_lab"),
        ("providers.csv", cal.providers, _set("source", 3, ""), r"source', row 4 \(Oracle\)"),
        ("provider_sites.csv", cal.provider_sites, _set("capacity_share", 0, "0.5"),
         "capacity_share.*AWS"),
        ("provider_sites.csv", cal.provider_sites, _set("nation", 0, "China"), "nation.*tier-3"),
        ("provider_sites.csv", cal.provider_sites, _set("nation", 0, "Atlantis"), "nation"),
        ("usecases.csv", cal.usecases, _set("token_share", 0, "0.9"), "token_share"),
        ("usecases.csv", cal.usecases, _set("latency_cost", 1, "nan"), "latency_cost"),
        ("open_labs.csv", cal.open_labs, _set("home", 0, "Atlantis"), "home"),
        ("parameters.csv", cal.parameters, _set("source", 0, ""), "parameters.csv.*source"),
        ("parameters.csv", cal.parameters, _set("value", 0, "-5"), "parameters.csv.*value"),
    ],
)
def test_corrupted_table_raises_naming_the_column(monkeypatch, tmp_path, filename, loader, edit,
                                                  pattern):
    _corrupt(monkeypatch, tmp_path, filename, edit)
    with pytest.raises(ValueError, match=pattern) as err:
        loader()
    assert filename in str(err.value)


def test_corrupted_nations_propagates_to_world(monkeypatch, tmp_path):
    _corrupt(monkeypatch, tmp_path, "nations.csv", _set("lat", 4, "north"))
    with pytest.raises(ValueError, match=r"nations\.csv: column 'lat', row 5 \(Japan\)"):
        cal.world("default")
