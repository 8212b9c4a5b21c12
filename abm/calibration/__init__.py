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
``open_labs.csv``         open-weight labs: home, release cadence, extra lag, funding, where
                          they train
``outside_owners.csv``    owners of AI compute outside the modelled token market (Meta, ...)
``targets.csv``           validation targets: measured moments the baseline must reproduce
                          (:mod:`abm.calibration.targets`, ``python -m abm.validate``)
``parameters.csv``        scalar model parameters (see :mod:`abm.config`)
``holdout.csv``           held-out 2026 moments for the hindcast of ``python -m
                          analysis.estimate`` (same columns as ``targets.csv``)
========================  ===================================================================

Beside them, and read by no run (:data:`abm.calibration.sources.NOT_TABLES`):
``estimated.csv`` and ``posterior.parquet``, the estimates and posterior sample that
``python -m analysis.estimate`` writes (README, "Estimating the parameters").

The schema of every table is declared once, in :mod:`abm.calibration.tables` (pandera, one
line per column). Each loader validates its table and raises :class:`ValueError` naming the
file, the column and the row of the first problem (and up to four more). Reads are cached;
every call returns a fresh copy, so callers may modify what they get.

Users' own data: every loader, :func:`world` and :func:`check_world` take ``data_dir``, a
directory holding any subset of these files (same names and columns; see
:mod:`abm.calibration.sources`). A file there replaces the packaged table; the others stay
packaged. ``parameters.csv`` there may list only some parameters: its rows replace the
packaged rows of the same ``group`` and ``name`` (same ``type``, and a ``min``/``max`` range
within the packaged one: the packaged range is the one the model is tested on); a parameter the
model does not have is an error. Tables are checked against each other whichever directory they come
from (a provider's home must be a nation of the nations table in use, ...).

:func:`world` bundles the five entity tables into a :class:`World`, optionally restricted to
a subset of nations, or replaced by a synthetic world of any size (for scaling runs and
tests) that has the same schema. :func:`check_world` checks, cheaply and before any run, that
the world a config describes can be built and has someone to sell tokens.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.calibration import sources
from abm.calibration import synthetic as _synthetic
from abm.calibration.sources import DataDirError, fingerprint
from abm.calibration.tables import (
    EXPORT_TIERS,
    NATIONS,
    OPEN_LABS,
    PARAMETERS,
    PROVIDER_KINDS,
    PROVIDER_SITES,
    PROVIDERS,
    SCHEMAS,
    USECASES,
    check_refs,
    check_sites_cover,
)

__all__ = [
    "EXPORT_TIERS",
    "PROVIDER_KINDS",
    "SCHEMAS",
    "SIZE_NAMES",
    "DataDirError",
    "World",
    "cache_stamp",
    "check_data_dir",
    "check_world",
    "clear_cache",
    "declared_tables",
    "fingerprint",
    "nations",
    "open_labs",
    "outside_owners",
    "parameters",
    "provider_sites",
    "providers",
    "read_table",
    "usecases",
    "world",
]

#: Names of the packaged run sizes (mirrors :data:`abm.config.SIZES`).
SIZE_NAMES: tuple[str, ...] = ("small", "default", "world", "world_xl")

DataDir = str | os.PathLike[str] | None
_Key = tuple[tuple[str, str, int, int], ...]  # (file, path, mtime_ns, size) of user files


# ------------------------------------------------------------------------------ reading


def _read_csv(filename: str) -> pd.DataFrame:
    """Read one packaged calibration CSV, every cell as a string ('' if empty)."""
    return sources.parse_csv(sources.packaged_bytes(filename), filename)


def _key(data_dir: DataDir) -> _Key:
    """The user files a data_dir supplies, with their stats (the cache key of its tables)."""
    out = []
    for name, path in sources.data_files(data_dir).items():
        st = path.stat()
        out.append((name, str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)


def _raw(filename: str, key: _Key) -> tuple[pd.DataFrame, str]:
    """(cells, label) of a table: from the data_dir when it has the file, else packaged.

    The label is the file's path for a user's file, its name for a packaged one (with
    "(packaged)" when a data_dir is in use, so a message says which one is meant).
    """
    for name, path, _, _ in key:
        if name == filename:
            return sources.parse_csv(Path(path).read_bytes(), path), path
    return _read_csv(filename), _raw_label(filename, key)


def read_table(name: str, data_dir: DataDir = None) -> pd.DataFrame:
    """Any calibration table as read (every cell a string), from ``data_dir`` if it has it.

    For tables with a declared schema use the typed loaders (:func:`nations`, ...); this
    reads the others (a new table is readable, and replaceable by users, as soon as its CSV
    is in the package).
    """
    filename = name if name.endswith(".csv") else f"{name}.csv"
    if filename not in sources.packaged_tables():
        raise ValueError(f"{name!r} is not a calibration table; tables: "
                         f"{', '.join(sources.packaged_tables())}")
    return _raw(filename, _key(data_dir))[0]


@cache
def _table(name: str, key: _Key = ()) -> pd.DataFrame:
    """One validated table, read once per content (callers copy it)."""
    schema = SCHEMAS[name]
    raw, label = _raw(schema.file, key)
    if name == "parameters":
        return _parameters(raw, label, key)
    df = schema.validate(raw, label)
    if name in ("providers", "open_labs"):
        _refs(df, schema, label, "home", "nations", key)
    if name == "open_labs":
        owners = pd.concat([pd.Series(["rental"]), _table("outside_owners", key)["owner"]])
        check_refs(df, schema, label, "trains_on", owners,
                   "'rental' or an owner in outside_owners.csv")
    elif name == "provider_sites":
        _refs(df, schema, label, "provider", "providers", key)
        _refs(df, schema, label, "nation", "nations", key)
        check_sites_cover(df, _table("providers", key), _table("nations", key), label)
    return df


def _refs(df: pd.DataFrame, schema: Any, label: str, column: str, table: str,
          key: _Key) -> None:
    other = _table(table, key)
    where = _raw_label(SCHEMAS[table].file, key)
    what = {"nations": "nation", "providers": "provider"}[table]
    suffix = f" ({where})" if key else ""
    check_refs(df, schema, label, column, other[SCHEMAS[table].key[0]],
               f"{what} in the {table} table{suffix}")


def _raw_label(filename: str, key: _Key) -> str:
    packaged = f"{filename} (packaged)" if key else filename
    return next((path for name, path, _, _ in key if name == filename), packaged)


def _parameters(raw: pd.DataFrame, label: str, key: _Key) -> pd.DataFrame:
    """The parameter table: packaged, with the rows of a data_dir's parameters.csv replacing
    the packaged rows of the same (group, name)."""
    df = PARAMETERS.validate(raw, label)
    if not any(name == PARAMETERS.file for name, _, _, _ in key):
        return df
    base = _table("parameters", ())  # the packaged table
    index = {(g, n): i for i, (g, n) in enumerate(zip(base["group"], base["name"],
                                                          strict=True))}
    problems = []
    for i, row in enumerate(df.itertuples(index=False)):
        where = f"row {i + 1} ({row.group}, {row.name}): "
        if (row.group, row.name) not in index:
            names = [f"{g}.{n}" for g, n in index]
            close = difflib.get_close_matches(f"{row.group}.{row.name}", names, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            problems.append(("name", i, where + f"not a parameter of the model; {hint}a "
                                                "data_dir's parameters.csv may only replace "
                                                "rows of the packaged one"))
        elif row.type != base["type"].iloc[index[(row.group, row.name)]]:
            want = base["type"].iloc[index[(row.group, row.name)]]
            problems.append(("type", i, where + f"{row.type!r} differs from the model's type "
                                                f"{want!r}"))
        else:
            problems += _wider_than_packaged(row, base.iloc[index[(row.group, row.name)]],
                                             i, where)
    if problems:
        from abm.calibration.schema import table_error

        raise table_error(label, problems)
    merged = base.copy()
    for row in df.itertuples(index=False):
        merged.loc[index[(row.group, row.name)]] = list(row)
    return merged


def _wider_than_packaged(row: Any, packaged: pd.Series, i: int, where: str) -> list:
    """Problems of a data_dir parameter row whose ``min``/``max`` reach beyond the packaged
    range: that range is what the model is tested on (every parameter runs at both ends,
    ``tests/model/test_parameter_extremes.py``), so a data_dir may narrow it, never widen it.
    """
    lo, hi = float(packaged["min"]), float(packaged["max"])
    out = []
    for column, value, bound, wider in (("min", row.min, lo, lambda v, b: v < b),
                                        ("max", row.max, hi, lambda v, b: v > b)):
        if np.isfinite(bound) and (not np.isfinite(value) or wider(value, bound)):
            shown = f"{value:g}" if not np.isnan(value) else "empty (unbounded)"
            out.append((column, i, where + f"{column} {shown} is wider than the packaged "
                                           f"range [{lo:g}, {hi:g}], which the model is tested "
                                           "on; a data_dir may narrow a range, not widen it"))
    return out


_generation = [0]


def cache_stamp(data_dir: DataDir = None) -> tuple:
    """Changes whenever the tables ``data_dir`` gives may have changed: its files' stats and
    a counter bumped by :func:`clear_cache` (for caches built on these tables elsewhere)."""
    return (_generation[0], _key(data_dir))


def clear_cache() -> None:
    """Forget every table read so far (the next call reads the CSV files again)."""
    _generation[0] += 1
    _table.cache_clear()
    sources.packaged_tables.cache_clear()
    sources._packaged_sha256.cache_clear()


def declared_tables() -> tuple[str, ...]:
    """Names of the tables with a declared schema whose CSV is in the package."""
    packaged = set(sources.packaged_tables())
    return tuple(name for name, schema in SCHEMAS.items() if schema.file in packaged)


def check_data_dir(data_dir: DataDir) -> dict[str, Any]:
    """Validate every table a ``data_dir`` supplies, with the packaged ones it leaves.

    Returns :func:`fingerprint` of the tables in use. Raises :class:`ValueError` naming the
    file, column and row of the first problem (:class:`DataDirError` for the directory).
    Tables without a declared schema must have at least the packaged table's columns.
    """
    key = _key(data_dir)
    for name in declared_tables():
        _table(name, key)
    for name, path, _, _ in key:
        if name.removesuffix(".csv") in declared_tables():
            continue
        have = sources.parse_csv(Path(path).read_bytes(), path).columns
        want = _read_csv(name).columns
        missing = [c for c in want if c not in have]
        if missing:
            raise ValueError(f"{path}: missing required column(s) {missing}; expected "
                             f"columns: {', '.join(want)}")
    return fingerprint(data_dir)


# ------------------------------------------------------------------------------ public loaders


def nations(data_dir: DataDir = None) -> pd.DataFrame:
    """Nations and blocs of the default world (``nations.csv``).

    Parameters
    ----------
    data_dir : path, optional
        A directory whose ``nations.csv`` (if any) replaces the packaged one.

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
    return _table("nations", _key(data_dir)).copy()


def providers(data_dir: DataDir = None) -> pd.DataFrame:
    """Cloud and inference providers (``providers.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per provider: ``provider``, ``kind`` (one of :data:`PROVIDER_KINDS`),
        ``home`` (a nation), ``cloud_share`` (share of world cloud-infrastructure revenue; the
        column sums to at most 1), ``frontier_lab`` and ``custom_silicon`` (bool),
        ``frontier_lag_months`` (lag of the best model it serves behind the frontier at
        January 2025) and ``source``.

    Raises
    ------
    ValueError
        If the table is malformed or a home is not a nation of :func:`nations`.
    """
    return _table("providers", _key(data_dir)).copy()


def provider_sites(data_dir: DataDir = None) -> pd.DataFrame:
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
    return _table("provider_sites", _key(data_dir)).copy()


def usecases(data_dir: DataDir = None) -> pd.DataFrame:
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
    return _table("usecases", _key(data_dir)).copy()


def open_labs(data_dir: DataDir = None) -> pd.DataFrame:
    """Open-weight labs (``open_labs.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per lab: ``lab``, ``home`` (a nation), ``lag_offset_months`` (extra lag on top
        of the configured open-weight lag; 0 for the leading lab), ``funding_usd_per_year``,
        ``trains_on`` and ``source``. Every lab releases every
        ``open_source.release_interval_months`` (staggered), a scenario lever.

    Raises
    ------
    ValueError
        If the table is malformed or a home is not a nation of :func:`nations`.
    """
    return _table("open_labs", _key(data_dir)).copy()


def outside_owners(data_dir: DataDir = None) -> pd.DataFrame:
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
    return _table("outside_owners", _key(data_dir)).copy()


def parameters(data_dir: DataDir = None) -> pd.DataFrame:
    """Scalar model parameters (``parameters.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``group``, ``name``, ``value`` (as text; its meaning depends on
        ``type``), ``type`` (float, int, bool or str), ``unit``, ``min``/``max`` (validity
        bounds, NaN if open), ``low``/``high`` (plausible range for sweeps, NaN if none),
        ``source`` and ``note``. With ``data_dir``, its ``parameters.csv`` rows replace the
        packaged rows of the same group and name.

    Raises
    ------
    ValueError
        If a row has no source, an unknown type, a value that is not of its type, a numeric
        value (or its plausible range) outside ``[min, max]``, or (in a data_dir) names a
        parameter the model does not have; the message names the file, column and row.
    """
    return _table("parameters", _key(data_dir)).copy()


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
        The run size this world was built for (:data:`SIZE_NAMES` or a --config-dir size).
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
          n_nations: int = 200, n_providers: int = 50, seed: int = 0,
          data_dir: DataDir = None) -> World:
    """Build the world a run simulates.

    Parameters
    ----------
    size_name : str
        Name of the run size (:data:`SIZE_NAMES` or a size file of a ``--config-dir``);
        recorded on the world. What the world
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
    data_dir : path, optional
        A directory whose calibration tables replace the packaged ones (see the module doc).

    Returns
    -------
    World

    Raises
    ------
    ValueError
        For a size name that is not a non-empty string, an unknown nation (the message
        lists the allowed values), invalid synthetic sizes or seed, a malformed calibration
        table, or a world in which no provider has a site (nobody could sell tokens; see
        :func:`check_world`).
    """
    _check_size_name(size_name)
    if synthetic:
        w = _synthetic_world(n_nations, n_providers, seed, size_name, data_dir)
    else:
        w = World(nations=nations(data_dir), providers=providers(data_dir),
                  provider_sites=provider_sites(data_dir), usecases=usecases(data_dir),
                  open_labs=open_labs(data_dir), outside_owners=outside_owners(data_dir),
                  synthetic=False, size_name=size_name)
    if nations_subset:
        w = _restrict(w, nations_subset)
    if w.n_providers == 0:
        raise ValueError(_no_provider_message(w, nations_subset, data_dir))
    return w


def check_world(size_name: str, nations_subset: list[str] | None = None,
                synthetic: bool = False, n_nations: int = 200, n_providers: int = 50,
                data_dir: DataDir = None) -> None:
    """Check, before any run, that :func:`world` can build this world and that it works.

    Cheap: the tables are cached, and a synthetic world is generated only when a subset of
    its nations is asked for (any seed gives the same nation names; the check uses seed 0
    for which providers a synthetic subset keeps).

    Raises
    ------
    ValueError
        With a message for a person: a size name that is not a string, a malformed or
        inconsistent table (file, column, row), nations listed twice, names that are not
        nations of this world (real names for a synthetic world get their own explanation),
        or a world in which no provider has capacity, so nobody could sell tokens.
    """
    _check_size_name(size_name)
    names = _subset_names(nations_subset)
    if synthetic:
        for label, value, lo in (("n_nations", n_nations, 3), ("n_providers", n_providers, 1)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lo:
                raise ValueError(f"{label}: expected an integer >= {lo}, got {value!r}")
        usecases(data_dir), open_labs(data_dir), nations(data_dir)  # tables it copies
        if not names:
            return  # every synthetic provider has at least one site
        allowed = _synthetic.names("Synthetic ", int(n_nations))
        real = [n for n in names if n in set(nations(data_dir)["nation"])]
        if real:
            raise ValueError(
                f"nations {real} are nations of the calibrated world, but a synthetic world "
                f"is asked for: its {n_nations} nations are named {allowed[0]!r} .. "
                f"{allowed[-1]!r}. Keep the whole synthetic world with an empty nation list, "
                "(size.nations=[] in a run config), or name synthetic nations")
        _unknown(names, allowed)
        world(size_name, names, True, n_nations, n_providers, 0, data_dir)
        return
    w = World(nations=nations(data_dir), providers=providers(data_dir),
              provider_sites=provider_sites(data_dir), usecases=usecases(data_dir),
              open_labs=open_labs(data_dir), outside_owners=outside_owners(data_dir),
              size_name=size_name)
    if names:
        _unknown(names, w.nations["nation"].tolist())
        # The same restriction the run makes (a site with zero capacity_share is no capacity).
        if _restrict(w, names).n_providers == 0:
            raise ValueError(_no_provider_message(w, names, data_dir))


def _check_size_name(size_name: Any) -> None:
    """A size name labels the world (packaged ones: :data:`SIZE_NAMES`; a size file in a
    ``--config-dir`` adds others); what the world holds is set by the other arguments."""
    if not isinstance(size_name, str) or not size_name.strip():
        raise ValueError(f"size_name: {size_name!r} is not a size name; expected a non-empty "
                         f"string such as {', '.join(SIZE_NAMES)}")


def _subset_names(nations_subset: Any) -> list[str]:
    if nations_subset is None:
        return []
    if isinstance(nations_subset, str) or not isinstance(nations_subset, list | tuple):
        raise ValueError(f"expected a list of nation names, got {nations_subset!r}")
    bad = [n for n in nations_subset if not isinstance(n, str)]
    if bad:
        raise ValueError(f"nation names must be strings, got {bad}")
    names = list(nations_subset)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"nation(s) {twice} listed more than once")
    return names


def _unknown(names: list[str], allowed: list[str]) -> None:
    allowed_set = set(allowed)
    unknown = [n for n in names if n not in allowed_set]
    if unknown:
        shown = ", ".join(allowed) if len(allowed) <= 50 else (
            ", ".join(allowed[:50]) + f", ... ({len(allowed)} in all)")
        hints = [f"{n!r} -> {c[0]!r}" for n in unknown
                 if (c := difflib.get_close_matches(n, allowed, n=1))]
        hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
        raise ValueError(f"unknown nation(s) {unknown}{hint}; allowed: {shown}")


def _no_provider_message(w: World, names: Any, data_dir: DataDir) -> str:
    sites = provider_sites(data_dir) if not w.synthetic else w.provider_sites
    sites = sites[sites["capacity_share"] > 0]
    hosts = list(dict.fromkeys(sites["nation"])) if len(sites) else []
    where = _raw_label(PROVIDER_SITES.file, _key(data_dir)) if not w.synthetic else \
        "the synthetic provider sites"
    return (f"no provider has capacity in the nation(s) {list(names or [])} "
            f"({where} lists no site with capacity_share > 0 there), so nobody could sell "
            "tokens in this world; "
            f"add a nation that hosts capacity: {', '.join(hosts[:12])}"
            f"{f' (and {len(hosts) - 12} more)' if len(hosts) > 12 else ''}")


def _restrict(w: World, names: list[str]) -> World:
    """The world ``w`` restricted to the nations ``names`` (see :func:`world`)."""
    try:
        names = _subset_names(names)
        _unknown(names, w.nations["nation"].tolist())
    except ValueError as exc:
        raise ValueError(f"nations_subset: {exc}") from None
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


def _synthetic_world(n_nations: int, n_providers: int, seed: int, size_name: str,
                     data_dir: DataDir = None) -> World:
    """A random world with the schema of the calibrated one (see :func:`world`)."""
    for name, value, lo in (("n_nations", n_nations, 3), ("n_providers", n_providers, 1),
                            ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lo:
            raise ValueError(f"{name}: expected an integer >= {lo}, got {value!r}")
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    nat = _synthetic.synthetic_nations(rng, int(n_nations))
    prov, sites = _synthetic.synthetic_providers(rng, nat, int(n_providers))
    uc = usecases(data_dir)
    uc["source"] = _synthetic.SYNTHETIC
    labs = open_labs(data_dir)
    real_tier = nations(data_dir).set_index("nation")["export_tier"]
    labs["home"] = _synthetic.remap_homes(labs["home"], nat, real_tier)
    labs["source"] = _synthetic.SYNTHETIC
    # The generated tables pass the same checks as the calibrated ones.
    nat = NATIONS.validate(nat, "synthetic nations")
    prov = PROVIDERS.validate(prov, "synthetic providers")
    check_refs(prov, PROVIDERS, "synthetic providers", "home", nat["nation"],
               "nation in the nations table")
    sites = PROVIDER_SITES.validate(sites, "synthetic provider_sites")
    check_refs(sites, PROVIDER_SITES, "synthetic provider_sites", "provider",
               prov["provider"], "provider in the providers table")
    check_refs(sites, PROVIDER_SITES, "synthetic provider_sites", "nation", nat["nation"],
               "nation in the nations table")
    check_sites_cover(sites, prov, nat, "synthetic provider_sites")
    labs = OPEN_LABS.validate(labs, "synthetic open_labs")
    check_refs(labs, OPEN_LABS, "synthetic open_labs", "home", nat["nation"],
               "nation in the nations table")
    uc = USECASES.validate(uc, "synthetic usecases")
    return World(nations=nat, providers=prov, provider_sites=sites, usecases=uc,
                 open_labs=labs, outside_owners=outside_owners(data_dir), synthetic=True,
                 size_name=size_name)
