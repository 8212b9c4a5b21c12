"""The default world as data: calibration tables and their loader.

Every number of the January-2025 world lives in a CSV beside this module, one row per entity
with the source of each number ("(verify)" marks secondary reporting or the author's
estimate):

========================  ===================================================================
``nations.csv``           20 nations and blocs: population, income, electricity, data-centre
                          electricity, grid head-room, export-control tier, data localisation
``providers.csv``         cloud and inference providers: kind, home, cloud share, frontier lab,
                          custom silicon, frontier lag
``provider_sites.csv``    where each provider's inference capacity sits (shares sum to 1)
``usecases.csv``          use-cases: token share, latency tolerance and cost, quality threshold
                          and cost, exposure to test-time compute
``open_labs.csv``         open-weight labs: home, release cadence, extra lag, funding
``outside_owners.csv``    owners of AI compute outside the modelled token market (Meta, ...)
``parameters.csv``        scalar model parameters (see :mod:`abm.config`)
``targets.csv``           validation targets: measured moments the baseline must reproduce
                          (see :mod:`abm.calibration.targets` and ``python -m abm.validate``)
========================  ===================================================================

Each loader validates its table and raises :class:`ValueError` naming the file, the column and
the row of the first problem. Reads are cached; every call returns a fresh copy, so callers may
modify what they get. :func:`world` bundles the five entity tables into a :class:`World`,
optionally restricted to a subset of nations, or replaced by a synthetic world of any size
(for scaling runs and tests) that has the same schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

__all__ = [
    "PROVIDER_KINDS",
    "SIZE_NAMES",
    "World",
    "clear_cache",
    "nations",
    "open_labs",
    "outside_owners",
    "parameters",
    "provider_sites",
    "providers",
    "usecases",
    "world",
]

#: Names of the run sizes (mirrors :data:`abm.config.SIZES`).
SIZE_NAMES: tuple[str, ...] = ("small", "default", "world")
#: Allowed values of ``providers.kind``.
PROVIDER_KINDS: tuple[str, ...] = ("hyperscaler", "chinese_cloud", "neocloud", "sovereign")
#: Allowed export-control tiers: 1 unrestricted, 2 capped, 3 denied.
EXPORT_TIERS: tuple[int, ...] = (1, 2, 3)

_SYNTHETIC = "synthetic"
_TOTAL_POPULATION_M = 8000.0
_TOTAL_DC_TWH = 415.0
_SYNTHETIC_CLOUD_SHARE = 0.9
_SYNTHETIC_COMPUTE_SHARE = 0.69
_SHARE_TOL = 1e-9
_INF = float("inf")


# ------------------------------------------------------------------------------ table specs


@dataclass(frozen=True)
class _Spec:
    """Schema of one entity table: column order, types, bounds and the row key."""

    file: str
    key: tuple[str, ...]
    text: tuple[str, ...]
    numeric: dict[str, tuple[float, float]]
    integer: tuple[str, ...] = ()
    boolean: tuple[str, ...] = ()
    sources: tuple[str, ...] = ("source",)
    choices: dict[str, tuple] = field(default_factory=dict)
    columns: tuple[str, ...] = ()


_NATIONS = _Spec(
    file="nations.csv",
    key=("nation",),
    columns=("nation", "code", "population_m", "gdp_pc_usd", "income_gini", "lat", "lon",
             "electricity_usd_kwh", "dc_twh_2024", "grid_headroom_mw", "grid_build_mw_per_year",
             "export_tier", "localisation_share", "source_population", "source_income",
             "source_electricity", "source_dc", "source_grid", "source_tier"),
    text=("nation", "code"),
    numeric={"population_m": (0.0, _INF), "gdp_pc_usd": (0.0, _INF), "income_gini": (0.0, 1.0),
             "lat": (-90.0, 90.0), "lon": (-180.0, 180.0), "electricity_usd_kwh": (0.0, _INF),
             "dc_twh_2024": (0.0, _INF), "grid_headroom_mw": (0.0, _INF),
             "grid_build_mw_per_year": (0.0, _INF), "export_tier": (1, 3),
             "localisation_share": (0.0, 1.0)},
    integer=("export_tier",),
    sources=("source_population", "source_income", "source_electricity", "source_dc",
             "source_grid", "source_tier"),
    choices={"export_tier": EXPORT_TIERS},
)
_PROVIDERS = _Spec(
    file="providers.csv",
    key=("provider",),
    columns=("provider", "kind", "home", "cloud_share", "compute_share", "frontier_lab",
             "custom_silicon", "frontier_lag_months", "source"),
    text=("provider", "kind", "home"),
    numeric={"cloud_share": (0.0, 1.0), "compute_share": (0.0, 1.0),
             "frontier_lag_months": (0.0, _INF)},
    boolean=("frontier_lab", "custom_silicon"),
    choices={"kind": PROVIDER_KINDS},
)
_SITES = _Spec(
    file="provider_sites.csv",
    key=("provider", "nation"),
    columns=("provider", "nation", "capacity_share", "source"),
    text=("provider", "nation"),
    numeric={"capacity_share": (0.0, 1.0)},
)
_USECASES = _Spec(
    file="usecases.csv",
    key=("usecase",),
    columns=("usecase", "token_share", "latency_tolerance_ms", "latency_cost",
             "quality_threshold", "quality_cost", "test_time_exposure", "source"),
    text=("usecase",),
    numeric={"token_share": (0.0, 1.0), "latency_tolerance_ms": (0.0, _INF),
             "latency_cost": (0.0, _INF), "quality_threshold": (0.0, 1.0),
             "quality_cost": (0.0, _INF), "test_time_exposure": (0.0, 1.0)},
)
_OPEN_LABS = _Spec(
    file="open_labs.csv",
    key=("lab",),
    columns=("lab", "home", "release_interval_months", "lag_offset_months",
             "funding_usd_per_year", "trains_on", "source"),
    text=("lab", "home", "trains_on"),
    numeric={"release_interval_months": (0.0, _INF), "lag_offset_months": (0.0, _INF),
             "funding_usd_per_year": (0.0, _INF)},
)
_OUTSIDE = _Spec(
    file="outside_owners.csv",
    key=("owner",),
    columns=("owner", "compute_share", "fragmented", "source"),
    text=("owner",),
    numeric={"compute_share": (0.0, 1.0)},
    boolean=("fragmented",),
)
_PARAMETER_COLUMNS = ("group", "name", "value", "type", "unit", "min", "max", "low", "high",
                      "source", "note")
_PARAMETER_TYPES = ("float", "int", "bool", "str")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


# ------------------------------------------------------------------------------ reading


def _read_csv(filename: str) -> pd.DataFrame:
    """Read one calibration CSV from the package, every cell as a string ('' if empty)."""
    with resources.files(__name__).joinpath(filename).open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


def _fail(label: str, column: str, df: pd.DataFrame, pos: int, key: tuple[str, ...],
          problem: str) -> ValueError:
    """A ValueError naming the file (or table), column and row (1-based data row and key)."""
    ident = ", ".join(str(df[k].iloc[pos]) for k in key if k in df.columns)
    return ValueError(f"{label}: column '{column}', row {pos + 1} ({ident}): {problem}")


def _check_table(raw: pd.DataFrame, spec: _Spec, label: str | None = None) -> pd.DataFrame:
    """Validate and type one entity table against its spec; return the typed table.

    String cells are stripped; numeric columns are parsed (no NaN, within bounds, integers where
    required); boolean columns accept true/false, 1/0, yes/no; the key must be unique; every
    source column must be non-empty.
    """
    label = label or spec.file
    missing = [c for c in spec.columns if c not in raw.columns]
    if missing:
        raise ValueError(f"{label}: missing required column(s) {missing}; "
                         f"expected columns: {', '.join(spec.columns)}")
    df = raw.loc[:, list(spec.columns)].reset_index(drop=True).copy()
    if df.empty:
        raise ValueError(f"{label}: the table has no rows")
    for col in (*spec.text, *spec.sources):
        values = df[col].astype(str).str.strip()
        bad = np.flatnonzero((values == "") | df[col].isna().to_numpy())
        if bad.size:
            what = "source is empty" if col in spec.sources else "value is empty"
            raise _fail(label, col, df, int(bad[0]), spec.key, what)
        df[col] = values
    for col, (lo, hi) in spec.numeric.items():
        values = pd.to_numeric(df[col], errors="coerce").astype(float)
        arr = values.to_numpy()
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise _fail(label, col, df, i, spec.key,
                        f"{df[col].iloc[i]!r} is not a finite number")
        bad = np.flatnonzero((arr < lo) | (arr > hi))
        if bad.size:
            i = int(bad[0])
            raise _fail(label, col, df, i, spec.key,
                        f"{arr[i]!r} is out of range; allowed [{lo}, {hi}]")
        if col in spec.integer:
            bad = np.flatnonzero(arr != np.round(arr))
            if bad.size:
                i = int(bad[0])
                raise _fail(label, col, df, i, spec.key, f"{arr[i]!r} is not an integer")
            df[col] = arr.astype(np.int64)
        else:
            df[col] = arr
    for col in spec.boolean:
        text = df[col].astype(str).str.strip().str.lower()
        bad = np.flatnonzero(~text.isin(_TRUE | _FALSE).to_numpy())
        if bad.size:
            i = int(bad[0])
            raise _fail(label, col, df, i, spec.key,
                        f"{df[col].iloc[i]!r} is not a boolean; allowed true or false")
        df[col] = text.isin(_TRUE).to_numpy()
    for col, allowed in spec.choices.items():
        bad = np.flatnonzero(~df[col].isin(allowed).to_numpy())
        if bad.size:
            i = int(bad[0])
            raise _fail(label, col, df, i, spec.key,
                        f"{df[col].iloc[i]!r} is not allowed; allowed: "
                        f"{', '.join(map(str, allowed))}")
    dupes = np.flatnonzero(df.duplicated(list(spec.key)).to_numpy())
    if dupes.size:
        raise _fail(label, spec.key[-1], df, int(dupes[0]), spec.key, "duplicate row")
    return df


def _check_refs(df: pd.DataFrame, column: str, allowed: pd.Series, spec: _Spec, label: str,
                what: str) -> None:
    """Every value of ``df[column]`` must be one of ``allowed`` (names in another table)."""
    bad = np.flatnonzero(~df[column].isin(allowed).to_numpy())
    if bad.size:
        i = int(bad[0])
        raise _fail(label, column, df, i, spec.key,
                    f"{df[column].iloc[i]!r} is not a {what}")


def _check_nations(raw: pd.DataFrame, label: str | None = None) -> pd.DataFrame:
    df = _check_table(raw, _NATIONS, label)
    dupes = np.flatnonzero(df.duplicated(["code"]).to_numpy())
    if dupes.size:
        raise _fail(label or _NATIONS.file, "code", df, int(dupes[0]), _NATIONS.key,
                    "duplicate code")
    return df


def _check_providers(raw: pd.DataFrame, nation_table: pd.DataFrame,
                     label: str | None = None) -> pd.DataFrame:
    label = label or _PROVIDERS.file
    df = _check_table(raw, _PROVIDERS, label)
    _check_refs(df, "home", nation_table["nation"], _PROVIDERS, label,
                "nation in the nations table")
    for col in ("cloud_share", "compute_share"):
        total = float(df[col].sum())
        if total > 1.0 + _SHARE_TOL:
            raise ValueError(f"{label}: column '{col}' sums to {total:.6g} over all rows; "
                             f"it must be at most 1")
    return df


def _check_outside(raw: pd.DataFrame, label: str | None = None) -> pd.DataFrame:
    return _check_table(raw, _OUTSIDE, label)


def _check_sites(raw: pd.DataFrame, provider_table: pd.DataFrame, nation_table: pd.DataFrame,
                 label: str | None = None) -> pd.DataFrame:
    label = label or _SITES.file
    df = _check_table(raw, _SITES, label)
    _check_refs(df, "provider", provider_table["provider"], _SITES, label,
                "provider in the providers table")
    _check_refs(df, "nation", nation_table["nation"], _SITES, label,
                "nation in the nations table")
    totals = df.groupby("provider", sort=False)["capacity_share"].transform("sum").to_numpy()
    bad = np.flatnonzero(np.abs(totals - 1.0) > _SHARE_TOL)
    if bad.size:
        i = int(bad[0])
        raise _fail(label, "capacity_share", df, i, _SITES.key,
                    f"shares of provider {df['provider'].iloc[i]!r} sum to {totals[i]!r}, "
                    f"not 1")
    no_site = ~provider_table["provider"].isin(df["provider"]).to_numpy()
    if no_site.any():
        name = provider_table["provider"].to_numpy()[no_site][0]
        raise ValueError(f"{label}: column 'provider': provider {name!r} has no site")
    # Export controls: providers homed in tier-1 nations hold no capacity in tier-3 nations.
    tier = nation_table.set_index("nation")["export_tier"]
    home = provider_table.set_index("provider")["home"]
    home_tier = df["provider"].map(home).map(tier).to_numpy()
    site_tier = df["nation"].map(tier).to_numpy()
    bad = np.flatnonzero((home_tier == 1) & (site_tier == 3))
    if bad.size:
        raise _fail(label, "nation", df, int(bad[0]), _SITES.key,
                    "a provider homed in a tier-1 nation has a site in a tier-3 (denied) nation")
    return df


def _check_usecases(raw: pd.DataFrame, label: str | None = None) -> pd.DataFrame:
    label = label or _USECASES.file
    df = _check_table(raw, _USECASES, label)
    total = float(df["token_share"].sum())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{label}: column 'token_share' sums to {total:.6g}; it must sum to 1")
    return df


def _check_open_labs(raw: pd.DataFrame, nation_table: pd.DataFrame,
                     label: str | None = None) -> pd.DataFrame:
    label = label or _OPEN_LABS.file
    df = _check_table(raw, _OPEN_LABS, label)
    _check_refs(df, "home", nation_table["nation"], _OPEN_LABS, label,
                "nation in the nations table")
    owners = pd.concat([pd.Series(["rental"]), _table("outside_owners")["owner"]])
    _check_refs(df, "trains_on", owners, _OPEN_LABS, label,
                "'rental' or an owner in outside_owners.csv")
    return df


def _check_parameters(raw: pd.DataFrame, label: str = "parameters.csv") -> pd.DataFrame:
    missing = [c for c in _PARAMETER_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"{label}: missing required column(s) {missing}; "
                         f"expected columns: {', '.join(_PARAMETER_COLUMNS)}")
    df = raw.loc[:, list(_PARAMETER_COLUMNS)].reset_index(drop=True).copy()
    for col in ("group", "name", "type", "unit", "source"):
        df[col] = df[col].astype(str).str.strip()
    key = ("group", "name")
    for col in ("group", "name", "type", "source"):
        bad = np.flatnonzero((df[col] == "").to_numpy())
        if bad.size:
            what = "source is empty" if col == "source" else "value is empty"
            raise _fail(label, col, df, int(bad[0]), key, what)
    bad = np.flatnonzero(~df["type"].isin(_PARAMETER_TYPES).to_numpy())
    if bad.size:
        i = int(bad[0])
        raise _fail(label, "type", df, i, key, f"{df['type'].iloc[i]!r} is not allowed; "
                    f"allowed: {', '.join(_PARAMETER_TYPES)}")
    dupes = np.flatnonzero(df.duplicated(list(key)).to_numpy())
    if dupes.size:
        raise _fail(label, "name", df, int(dupes[0]), key, "duplicate parameter")
    for col in ("min", "max", "low", "high"):
        text = df[col].astype(str).str.strip()
        values = pd.to_numeric(text.where(text != ""), errors="coerce").astype(float)
        bad = np.flatnonzero(((text != "") & values.isna()).to_numpy())
        if bad.size:
            i = int(bad[0])
            raise _fail(label, col, df, i, key, f"{text.iloc[i]!r} is not a number")
        df[col] = values.to_numpy()
    numeric = df["type"].isin(("float", "int")).to_numpy()
    value = pd.to_numeric(df["value"].where(numeric), errors="coerce").to_numpy(dtype=float)
    lo = np.nan_to_num(df["min"].to_numpy(), nan=-np.inf)
    hi = np.nan_to_num(df["max"].to_numpy(), nan=np.inf)
    bad = np.flatnonzero(numeric & ~np.isfinite(value))
    if bad.size:
        i = int(bad[0])
        raise _fail(label, "value", df, i, key, f"{df['value'].iloc[i]!r} is not a number")
    for col, arr in (("value", value), ("low", df["low"].to_numpy()),
                     ("high", df["high"].to_numpy())):
        bad = np.flatnonzero(numeric & ~np.isnan(arr) & ((arr < lo) | (arr > hi)))
        if bad.size:
            i = int(bad[0])
            raise _fail(label, col, df, i, key,
                        f"{arr[i]!r} is out of range; allowed [{lo[i]}, {hi[i]}]")
    is_bool = (df["type"] == "bool").to_numpy()
    text = df["value"].astype(str).str.strip().str.lower()
    bad = np.flatnonzero(is_bool & ~text.isin(_TRUE | _FALSE).to_numpy())
    if bad.size:
        i = int(bad[0])
        raise _fail(label, "value", df, i, key, f"{df['value'].iloc[i]!r} is not a boolean")
    return df


@cache
def _table(name: str) -> pd.DataFrame:
    """One validated table, read once (callers copy it)."""
    if name == "nations":
        return _check_nations(_read_csv(_NATIONS.file))
    if name == "providers":
        return _check_providers(_read_csv(_PROVIDERS.file), _table("nations"))
    if name == "provider_sites":
        return _check_sites(_read_csv(_SITES.file), _table("providers"), _table("nations"))
    if name == "usecases":
        return _check_usecases(_read_csv(_USECASES.file))
    if name == "open_labs":
        return _check_open_labs(_read_csv(_OPEN_LABS.file), _table("nations"))
    if name == "outside_owners":
        return _check_outside(_read_csv(_OUTSIDE.file))
    if name == "parameters":
        return _check_parameters(_read_csv("parameters.csv"))
    raise KeyError(name)


def clear_cache() -> None:
    """Forget every table read so far (the next call reads the CSV files again)."""
    _table.cache_clear()


# ------------------------------------------------------------------------------ public loaders


def nations() -> pd.DataFrame:
    """Nations and blocs of the default world (``nations.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per nation: ``nation``, ``code``, ``population_m`` (millions, 2024),
        ``gdp_pc_usd`` (current USD, 2024), ``income_gini`` (0-1), ``lat``/``lon`` (population
        centroid, degrees), ``electricity_usd_kwh`` (industrial), ``dc_twh_2024`` (data-centre
        electricity), ``grid_headroom_mw``, ``grid_build_mw_per_year``, ``export_tier``
        (1 unrestricted, 2 capped, 3 denied), ``localisation_share`` (0-1) and one
        ``source_*`` column per group of numbers.

    Raises
    ------
    ValueError
        If the table is malformed; the message names the file, column and row.
    """
    return _table("nations").copy()


def providers() -> pd.DataFrame:
    """Cloud and inference providers (``providers.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per provider: ``provider``, ``kind`` (one of :data:`PROVIDER_KINDS`),
        ``home`` (a nation), ``cloud_share`` (share of world cloud-infrastructure revenue; the
        column sums to at most 1), ``compute_share`` (share of the world's AI compute it owns
        in January 2025; sums to at most 1 with :func:`outside_owners`), ``frontier_lab``
        and ``custom_silicon`` (bool),
        ``frontier_lag_months`` (lag of the best model it serves behind the frontier at
        January 2025) and ``source``.

    Raises
    ------
    ValueError
        If the table is malformed or a home is not a nation of :func:`nations`.
    """
    return _table("providers").copy()


def provider_sites() -> pd.DataFrame:
    """Where each provider's inference capacity sits (``provider_sites.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per (``provider``, ``nation``) with ``capacity_share`` (the shares of each
        provider sum to 1) and ``source``.

    Raises
    ------
    ValueError
        If the table is malformed, names an unknown provider or nation, a provider's shares do
        not sum to 1, a provider has no site, or a provider homed in a tier-1 nation has a site
        in a tier-3 nation.
    """
    return _table("provider_sites").copy()


def usecases() -> pd.DataFrame:
    """Use-cases of AI tokens (``usecases.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per use-case: ``usecase``, ``token_share`` (sums to 1),
        ``latency_tolerance_ms``, ``latency_cost`` (log-price penalty per ms above tolerance),
        ``quality_threshold`` (frontier = 1), ``quality_cost`` (log-price penalty per unit of
        shortfall), ``test_time_exposure`` (0-1) and ``source``.

    Raises
    ------
    ValueError
        If the table is malformed or the token shares do not sum to 1.
    """
    return _table("usecases").copy()


def open_labs() -> pd.DataFrame:
    """Open-weight labs (``open_labs.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per lab: ``lab``, ``home`` (a nation), ``release_interval_months``,
        ``lag_offset_months`` (extra lag on top of the configured open-weight lag; 0 for the
        leading lab), ``funding_usd_per_year`` (its training budget), ``trains_on``
        (``rental``: it rents compute from the modelled fleets; or the name of an owner in
        :func:`outside_owners` whose own fleet it trains on) and ``source``.

    Raises
    ------
    ValueError
        If the table is malformed or a home is not a nation of :func:`nations`.
    """
    return _table("open_labs").copy()


def outside_owners() -> pd.DataFrame:
    """Owners of AI compute outside the modelled token market (``outside_owners.csv``).

    Their compute (Meta's, xAI's, enterprises') is not sold as tokens here, but it draws
    electricity and counts in the ownership concentration of the world's AI compute.

    Returns
    -------
    pandas.DataFrame
        One row per owner: ``owner``, ``compute_share`` (share of the world's AI compute in
        January 2025), ``fragmented`` (true for a residual of many small owners, which adds
        nothing to an HHI) and ``source``.

    Raises
    ------
    ValueError
        If the table is malformed; the message names the file, column and row.
    """
    return _table("outside_owners").copy()


def parameters() -> pd.DataFrame:
    """Scalar model parameters (``parameters.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``group``, ``name``, ``value`` (as text; its meaning depends on
        ``type``), ``type`` (float, int, bool or str), ``unit``, ``min``/``max`` (validity
        bounds, NaN if open), ``low``/``high`` (plausible range for sweeps, NaN if none),
        ``source`` and ``note``.

    Raises
    ------
    ValueError
        If a row has no source, an unknown type, or a numeric value (or its plausible range)
        outside ``[min, max]``.
    """
    return _table("parameters").copy()


# ------------------------------------------------------------------------------ world


@dataclass(frozen=True, eq=False)
class World:
    """The entity tables of one simulated world.

    Attributes
    ----------
    nations, providers, provider_sites, usecases, open_labs : pandas.DataFrame
        Tables with the schemas of :func:`nations`, :func:`providers`, :func:`provider_sites`,
        :func:`usecases` and :func:`open_labs`. In a world restricted to a subset of nations a
        provider's or lab's ``home`` may name a nation outside the subset (its sites do not).
    synthetic : bool
        True for a generated world; every output of a run on it must say so.
    size_name : str
        The run size this world was built for (one of :data:`SIZE_NAMES`).
    """

    nations: pd.DataFrame
    providers: pd.DataFrame
    provider_sites: pd.DataFrame
    usecases: pd.DataFrame
    open_labs: pd.DataFrame
    outside_owners: pd.DataFrame = field(default_factory=lambda: outside_owners())
    synthetic: bool = False
    size_name: str = "default"

    @property
    def n_nations(self) -> int:
        """Number of nations."""
        return len(self.nations)

    @property
    def n_providers(self) -> int:
        """Number of providers."""
        return len(self.providers)


def world(size_name: str, nations_subset: list[str] | None = None, synthetic: bool = False,
          n_nations: int = 200, n_providers: int = 50, seed: int = 0) -> World:
    """Build the world a run simulates.

    Parameters
    ----------
    size_name : str
        Name of the run size (one of :data:`SIZE_NAMES`); recorded on the world. What the world
        contains is set by the other arguments.
    nations_subset : list of str, optional
        Keep only these nations (None or empty: all). Sites elsewhere are dropped, each
        provider's remaining site shares are renormalised to 1, and providers left without a
        site are dropped.
    synthetic : bool, default False
        Build a synthetic world of ``n_nations`` nations and ``n_providers`` providers instead
        of the calibrated one: same schema, every source ``"synthetic"``.
    n_nations, n_providers : int
        Size of a synthetic world (ignored otherwise).
    seed : int, default 0
        Seed of the synthetic world; it is drawn from
        ``numpy.random.default_rng(numpy.random.SeedSequence(seed))`` only.

    Returns
    -------
    World

    Raises
    ------
    ValueError
        For an unknown size name or nation (the message lists the allowed values), invalid
        synthetic sizes or seed, or a malformed calibration table.
    """
    if size_name not in SIZE_NAMES:
        raise ValueError(f"size_name: {size_name!r} is not a size; allowed: "
                         f"{', '.join(SIZE_NAMES)}")
    if synthetic:
        w = _synthetic_world(n_nations, n_providers, seed, size_name)
    else:
        w = World(nations=nations(), providers=providers(), provider_sites=provider_sites(),
                  usecases=usecases(), open_labs=open_labs(), synthetic=False,
                  size_name=size_name)
    if nations_subset:
        w = _restrict(w, nations_subset)
    return w


def _restrict(w: World, names: list[str]) -> World:
    """The world ``w`` restricted to the nations ``names`` (see :func:`world`)."""
    if isinstance(names, str):
        raise ValueError(f"nations_subset: expected a list of nation names, got {names!r}")
    allowed = w.nations["nation"].tolist()
    allowed_set = set(allowed)
    unknown = [n for n in names if n not in allowed_set]
    if unknown:
        shown = ", ".join(allowed) if len(allowed) <= 50 else (
            ", ".join(allowed[:50]) + f", ... ({len(allowed)} in all)")
        raise ValueError(f"nations_subset: unknown nation(s) {unknown}; allowed: {shown}")
    keep = set(names)
    nat = w.nations[w.nations["nation"].isin(keep)].reset_index(drop=True)
    sites = w.provider_sites[w.provider_sites["nation"].isin(keep)].reset_index(drop=True)
    total = sites.groupby("provider", sort=False)["capacity_share"].transform("sum")
    sites = sites[total.to_numpy() > 0].reset_index(drop=True)
    total = total[total > 0].to_numpy()
    sites["capacity_share"] = sites["capacity_share"].to_numpy() / total
    prov = w.providers[w.providers["provider"].isin(set(sites["provider"]))]
    return World(nations=nat, providers=prov.reset_index(drop=True), provider_sites=sites,
                 usecases=w.usecases.copy(), open_labs=w.open_labs.copy(),
                 outside_owners=w.outside_owners.copy(), synthetic=w.synthetic,
                 size_name=w.size_name)


# ------------------------------------------------------------------------------ synthetic world


def _synthetic_world(n_nations: int, n_providers: int, seed: int, size_name: str) -> World:
    """A random world with the schema of the calibrated one (see :func:`world`)."""
    for name, value, lo in (("n_nations", n_nations, 3), ("n_providers", n_providers, 1),
                            ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lo:
            raise ValueError(f"{name}: expected an integer >= {lo}, got {value!r}")
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    nat = _synthetic_nations(rng, int(n_nations))
    prov, sites = _synthetic_providers(rng, nat, int(n_providers))
    uc = usecases()
    uc["source"] = _SYNTHETIC
    labs = open_labs()
    labs["home"] = _remap_homes(labs["home"], nat)
    labs["source"] = _SYNTHETIC
    # The generated tables pass the same checks as the calibrated ones.
    nat = _check_nations(nat, "synthetic nations")
    prov = _check_providers(prov, nat, "synthetic providers")
    sites = _check_sites(sites, prov, nat, "synthetic provider_sites")
    labs = _check_open_labs(labs, nat, "synthetic open_labs")
    return World(nations=nat, providers=prov, provider_sites=sites, usecases=uc,
                 open_labs=labs, synthetic=True, size_name=size_name)


def _names(prefix: str, n: int) -> list[str]:
    width = max(3, len(str(n)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, n + 1)]


def _synthetic_nations(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Nations with real-world-like spreads of size, income, power and data centres."""
    # National populations are roughly lognormal across countries (log-sd ~1.6-1.9).
    pop = rng.lognormal(0.0, 1.7, n)
    pop = _TOTAL_POPULATION_M * pop / pop.sum()
    # GDP per capita: median ~6,000 USD, log-sd ~1.1 (World Bank 2024 cross-section).
    gdp = np.clip(rng.lognormal(np.log(6000.0), 1.1, n), 200.0, 200_000.0)
    gini = np.clip(rng.normal(0.38, 0.07, n), 0.24, 0.65)
    lat = np.degrees(np.arcsin(rng.uniform(-0.7, 0.9, n)))
    lon = rng.uniform(-180.0, 180.0, n)
    elec = np.clip(rng.lognormal(np.log(0.1), 0.35, n), 0.02, 0.5)
    # Data-centre electricity grows a little faster than the economy; scaled to the world total.
    dc = (pop * gdp) ** 1.1 * rng.lognormal(0.0, 0.5, n)
    dc = _TOTAL_DC_TWH * dc / dc.sum()
    headroom = np.round(45.0 * dc * rng.lognormal(0.0, 0.5, n) + 20.0)
    build = np.round(headroom * rng.lognormal(np.log(1.2), 0.3, n))
    tier = rng.choice(np.array(EXPORT_TIERS, dtype=np.int64), size=n, p=[0.4, 0.5, 0.1])
    loc_draw = rng.uniform(0.0, 0.2, n)
    loc_flag = rng.random(n) < 0.1
    loc_denied = rng.uniform(0.3, 0.9, n)
    loc = np.where(tier == 3, loc_denied, np.where(loc_flag, loc_draw, 0.0))
    df = pd.DataFrame({
        "nation": _names("Synthetic ", n), "code": _names("S", n),
        "population_m": pop, "gdp_pc_usd": gdp, "income_gini": gini, "lat": lat, "lon": lon,
        "electricity_usd_kwh": elec, "dc_twh_2024": dc, "grid_headroom_mw": headroom,
        "grid_build_mw_per_year": build, "export_tier": tier, "localisation_share": loc,
    })
    for col in _NATIONS.sources:
        df[col] = _SYNTHETIC
    return df


def _synthetic_providers(rng: np.random.Generator, nat: pd.DataFrame,
                         p: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Providers with Pareto-like shares, homes in large economies and 3-15 sites each.

    Homes are drawn in proportion to GDP. A provider homed in a tier-3 nation is a
    ``chinese_cloud`` (read: cloud of a denied-tier nation) and sits only at home; of the
    others, the largest tenth are hyperscalers and the rest neoclouds or sovereign clouds.
    Sites are the home plus random tier-1/2 nations (3-15 in all, fewer only if fewer exist).
    """
    n = len(nat)
    tier = nat["export_tier"].to_numpy()
    econ = (nat["population_m"] * nat["gdp_pc_usd"]).to_numpy()
    share = np.sort(rng.pareto(1.16, p) + 1.0)[::-1]  # 80/20 tail, largest first
    share = _SYNTHETIC_CLOUD_SHARE * share / share.sum()
    home = rng.choice(n, size=p, p=econ / econ.sum())
    home_tier = tier[home]
    rank = np.arange(p)
    n_hyper = max(1, round(0.1 * p))
    coin = rng.random((p, 3))
    kind = np.where(home_tier == 3, "chinese_cloud",
                    np.where(rank < n_hyper, "hyperscaler",
                             np.where(coin[:, 0] < 0.5, "neocloud", "sovereign")))
    lab_p = np.select([kind == "hyperscaler", kind == "chinese_cloud"], [0.75, 0.5], 0.05)
    silicon_p = np.select([kind == "hyperscaler", kind == "chinese_cloud"], [0.6, 0.3], 0.05)
    frontier_lab = coin[:, 1] < lab_p
    custom_silicon = coin[:, 2] < silicon_p
    lag = np.where(frontier_lab & (home_tier == 1), 0.0, 6.0)
    names = _names("Synthetic Provider ", p)
    # Compute is less concentrated than revenue (Epoch AI owner data vs Synergy shares).
    compute = share ** 0.8
    compute = _SYNTHETIC_COMPUTE_SHARE * compute / compute.sum()
    prov = pd.DataFrame({
        "provider": names, "kind": kind, "home": nat["nation"].to_numpy()[home],
        "cloud_share": share, "compute_share": compute, "frontier_lab": frontier_lab,
        "custom_silicon": custom_silicon,
        "frontier_lag_months": lag, "source": _SYNTHETIC,
    })

    # Sites: the home plus random tier-1/2 nations, drawn in proportion to sqrt(data centres).
    eligible = np.flatnonzero(tier != 3)
    k_sites = rng.integers(3, 16, p)
    max_sites = 16
    draws = rng.random((p, 4 * max_sites))
    weights = rng.gamma(1.0, 1.0, (p, max_sites))
    site_prov: list[np.ndarray] = []
    site_nat: list[np.ndarray] = []
    site_share: list[np.ndarray] = []
    if eligible.size:
        w = np.sqrt(nat["dc_twh_2024"].to_numpy()[eligible])
        cdf = np.cumsum(w)
        cdf /= cdf[-1]
        cand_all = eligible[np.minimum(np.searchsorted(cdf, draws, side="right"),
                                       eligible.size - 1)]
    for i in range(p):
        if home_tier[i] == 3:
            chosen = np.array([home[i]])
        else:
            k = min(int(k_sites[i]), eligible.size)
            seq = np.concatenate(([home[i]], cand_all[i]))
            _, first = np.unique(seq, return_index=True)
            chosen = seq[np.sort(first)][:k]
            if chosen.size < k:  # few eligible nations: top up uniformly
                rest = np.setdiff1d(eligible, chosen)
                chosen = np.concatenate((chosen, rng.choice(rest, k - chosen.size,
                                                            replace=False)))
        wt = weights[i, :chosen.size].copy()
        wt[0] *= 3.0  # most capacity at home
        site_prov.append(np.full(chosen.size, i))
        site_nat.append(chosen)
        site_share.append(wt / wt.sum())
    sp = np.concatenate(site_prov)
    sites = pd.DataFrame({
        "provider": np.asarray(names, dtype=object)[sp],
        "nation": nat["nation"].to_numpy()[np.concatenate(site_nat)],
        "capacity_share": np.concatenate(site_share),
        "source": _SYNTHETIC,
    })
    return prov, sites


def _remap_homes(homes: pd.Series, nat: pd.DataFrame) -> np.ndarray:
    """Map real home nations to synthetic ones of the same export tier, largest economy first.

    The k-th distinct real home of tier t becomes the k-th largest synthetic economy of tier t
    (any tier if there is none).
    """
    real_tier = nations().set_index("nation")["export_tier"]
    econ = (nat["population_m"] * nat["gdp_pc_usd"]).to_numpy()
    order = np.argsort(-econ, kind="stable")
    names = nat["nation"].to_numpy()
    tiers = nat["export_tier"].to_numpy()[order]
    used: dict[int, int] = {}
    mapping: dict[str, str] = {}
    for home in dict.fromkeys(homes):
        t = int(real_tier.get(home, 2))
        cands = order[tiers == t]
        if cands.size == 0:
            cands = order
        k = used.get(t, 0)
        used[t] = k + 1
        mapping[home] = names[cands[k % cands.size]]
    return homes.map(mapping).to_numpy()
