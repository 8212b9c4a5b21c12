"""The schema of every calibration table, one line per column (see :mod:`.schema`).

To add a column to a table, add one line to its ``columns`` (the loaders return the declared
columns, in this order). Checks that span rows are :class:`~.schema.RowCheck` /
:class:`~.schema.TableCheck`; checks against other tables (a provider's home must be a nation,
...) are the ``check_*`` functions at the end, run by the loaders once the other tables are
read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from abm.calibration.schema import (
    FALSE,
    INF,
    TRUE,
    RowCheck,
    TableCheck,
    TableSchema,
    boolean,
    choice,
    free_text,
    integer,
    number,
    optional_number,
    source,
    table_error,
    text,
)

#: Allowed values of ``providers.kind``.
PROVIDER_KINDS: tuple[str, ...] = ("hyperscaler", "chinese_cloud", "neocloud", "sovereign")
#: Allowed export-control tiers: 1 unrestricted, 2 capped, 3 denied.
EXPORT_TIERS: tuple[int, ...] = (1, 2, 3)
#: Allowed values of ``parameters.type``.
PARAMETER_TYPES: tuple[str, ...] = ("float", "int", "bool", "str")
SHARE_TOL = 1e-9

NATIONS = TableSchema(
    file="nations.csv",
    key=("nation",),
    columns={
        "nation": text(),
        "code": text(unique=True),
        "population_m": number(0.0, INF),
        "gdp_pc_usd": number(0.0, INF),
        "income_gini": number(0.0, 1.0),
        "lat": number(-90.0, 90.0),
        "lon": number(-180.0, 180.0),
        "electricity_usd_kwh": number(0.0, INF),
        "dc_twh_2024": number(0.0, INF),
        "grid_headroom_mw": number(0.0, INF),
        "grid_build_mw_per_year": number(0.0, INF),
        "export_tier": integer(1, 3, choices=EXPORT_TIERS),
        "localisation_share": number(0.0, 1.0),
        "source_population": source(),
        "source_income": source(),
        "source_electricity": source(),
        "source_dc": source(),
        "source_grid": source(),
        "source_tier": source(),
    },
)

PROVIDERS = TableSchema(
    file="providers.csv",
    key=("provider",),
    columns={
        "provider": text(),
        "kind": choice(PROVIDER_KINDS),
        "home": text(),
        "cloud_share": number(0.0, 1.0),
        "compute_share": number(0.0, 1.0),
        "frontier_lab": boolean(),
        "custom_silicon": boolean(),
        "frontier_lag_months": number(0.0, INF),
        "source": source(),
    },
    table_checks=(
        TableCheck("cloud_share", lambda df: float(df["cloud_share"].sum()) <= 1.0 + SHARE_TOL,
                   lambda df: f"sums to {float(df['cloud_share'].sum()):.6g} over all rows; "
                              "it must be at most 1"),
        TableCheck("compute_share",
                   lambda df: float(df["compute_share"].sum()) <= 1.0 + SHARE_TOL,
                   lambda df: f"sums to {float(df['compute_share'].sum()):.6g} over all rows; "
                              "it must be at most 1"),
    ),
)


def _site_totals(df: pd.DataFrame) -> pd.Series:
    return df.groupby("provider", sort=False)["capacity_share"].transform("sum")


PROVIDER_SITES = TableSchema(
    file="provider_sites.csv",
    key=("provider", "nation"),
    columns={
        "provider": text(),
        "nation": text(),
        "capacity_share": number(0.0, 1.0),
        "source": source(),
    },
    row_checks=(
        RowCheck("capacity_share",
                 lambda df: (_site_totals(df) - 1.0).abs() <= SHARE_TOL,
                 lambda df, i: f"shares of provider {df['provider'].iloc[i]!r} sum to "
                               f"{float(_site_totals(df).iloc[i])!r}, not 1"),
    ),
)

USECASES = TableSchema(
    file="usecases.csv",
    key=("usecase",),
    columns={
        "usecase": text(),
        "token_share": number(0.0, 1.0),
        "latency_tolerance_ms": number(0.0, INF),
        "latency_cost": number(0.0, INF),
        "quality_threshold": number(0.0, 1.0),
        "quality_cost": number(0.0, INF),
        "test_time_exposure": number(0.0, 1.0),
        "source": source(),
    },
    table_checks=(
        TableCheck("token_share", lambda df: abs(float(df["token_share"].sum()) - 1.0) <= 1e-6,
                   lambda df: f"sums to {float(df['token_share'].sum()):.6g}; it must sum "
                              "to 1"),
    ),
)

OPEN_LABS = TableSchema(
    file="open_labs.csv",
    key=("lab",),
    columns={
        "lab": text(),
        "home": text(),
        "lag_offset_months": number(0.0, INF),
        "funding_usd_per_year": number(0.0, INF),
        "trains_on": text(),
        "source": source(),
    },
)


def _numeric_type(df: pd.DataFrame) -> pd.Series:
    return df["type"].isin(("float", "int"))


def _value(df: pd.DataFrame) -> pd.Series:
    text_ = df["value"].astype(str).str.strip()
    return pd.to_numeric(text_.where(_numeric_type(df) & (text_ != "")),
                         errors="coerce").astype(float)


def _bounds(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    return df["min"].fillna(-np.inf), df["max"].fillna(np.inf)


def _within(column: str):
    def passes(df: pd.DataFrame) -> pd.Series:
        arr = _value(df) if column == "value" else df[column]
        lo, hi = _bounds(df)
        return ~_numeric_type(df) | arr.isna() | ((arr >= lo) & (arr <= hi))

    def problem(df: pd.DataFrame, i: int) -> str:
        arr = _value(df) if column == "value" else df[column]
        lo, hi = _bounds(df)
        return (f"{float(arr.iloc[i])!r} is out of range; allowed [{float(lo.iloc[i])}, "
                f"{float(hi.iloc[i])}]")

    return RowCheck(column, passes, problem)


PARAMETERS = TableSchema(
    file="parameters.csv",
    key=("group", "name"),
    columns={
        "group": text(),
        "name": text(),
        "value": free_text(),
        "type": choice(PARAMETER_TYPES),
        "unit": free_text(),
        "min": optional_number(),
        "max": optional_number(),
        "low": optional_number(),
        "high": optional_number(),
        "source": source(),
        "note": free_text(),
    },
    row_checks=(
        RowCheck("value",
                 lambda df: ~_numeric_type(df) | np.isfinite(_value(df)),
                 lambda df, i: f"{df['value'].iloc[i]!r} is not a number"),
        RowCheck("value",
                 lambda df: (df["type"] != "int") | ~np.isfinite(_value(df))
                 | (_value(df) == np.round(_value(df))),
                 lambda df, i: f"{df['value'].iloc[i]!r} is not an integer (type int)"),
        RowCheck("value",
                 lambda df: (df["type"] != "bool")
                 | df["value"].astype(str).str.strip().str.lower().isin(TRUE | FALSE),
                 lambda df, i: f"{df['value'].iloc[i]!r} is not a boolean"),
        _within("value"),
        _within("low"),
        _within("high"),
        RowCheck("high", lambda df: df["low"].isna() | df["high"].isna()
                 | (df["low"] <= df["high"]),
                 lambda df, i: f"the plausible range is empty: low {df['low'].iloc[i]!r} > "
                               f"high {df['high'].iloc[i]!r}"),
    ),
)

OUTSIDE_OWNERS = TableSchema(
    file="outside_owners.csv",
    key=("owner",),
    columns={
        "owner": text(),
        "compute_share": number(0.0, 1.0),
        "fragmented": boolean(),
        "source": source(),
    },
)

TARGETS = TableSchema(
    file="targets.csv",
    key=("moment",),
    columns={
        "moment": text(),
        "value": number(),
        "low": number(),
        "high": number(),
        "period": text(),
        "unit": text(),
        "source": source(),
        "verify": boolean(),
    },
    row_checks=(
        RowCheck("value", lambda df: (df["low"] <= df["value"]) & (df["value"] <= df["high"]),
                 lambda df, i: f"{float(df['value'].iloc[i])!r} is outside its band "
                               f"[{float(df['low'].iloc[i])!r}, {float(df['high'].iloc[i])!r}]"),
    ),
)

#: Every declared table, by name (the file name without ``.csv``). Only those whose CSV is in
#: the package are loaded (see :func:`abm.calibration.declared_tables`).
SCHEMAS: dict[str, TableSchema] = {s.name: s for s in (NATIONS, PROVIDERS, PROVIDER_SITES,
                                                       USECASES, OPEN_LABS, OUTSIDE_OWNERS,
                                                       PARAMETERS, TARGETS)}


# ------------------------------------------------------------------------------ across tables


def check_refs(df: pd.DataFrame, schema: TableSchema, label: str, column: str,
               allowed: pd.Series, what: str) -> None:
    """Every value of ``df[column]`` must be one of ``allowed`` (names in another table)."""
    bad = np.flatnonzero(~df[column].isin(allowed).to_numpy())
    if bad.size:
        raise table_error(label, [(column, int(i), schema._where(df, int(i))
                                   + f"{df[column].iloc[int(i)]!r} is not a {what}")
                                  for i in bad])


def check_sites_cover(sites: pd.DataFrame, providers: pd.DataFrame, nations: pd.DataFrame,
                      label: str) -> None:
    """Every provider has a site; no provider homed in a tier-1 nation sits in a tier-3 one."""
    no_site = ~providers["provider"].isin(sites["provider"]).to_numpy()
    if no_site.any():
        name = providers["provider"].to_numpy()[no_site][0]
        raise ValueError(f"{label}: column 'provider': provider {name!r} has no site")
    tier = nations.set_index("nation")["export_tier"]
    home = providers.set_index("provider")["home"]
    home_tier = sites["provider"].map(home).map(tier).to_numpy()
    site_tier = sites["nation"].map(tier).to_numpy()
    bad = np.flatnonzero((home_tier == 1) & (site_tier == 3))
    if bad.size:
        raise table_error(label, [("nation", int(i), PROVIDER_SITES._where(sites, int(i))
                                   + "a provider homed in a tier-1 nation has a site in a "
                                   "tier-3 (denied) nation") for i in bad])
