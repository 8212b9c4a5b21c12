"""Run configuration: typed parameter groups generated from the calibration table.

Every scalar parameter of the model is one row of ``abm/calibration/parameters.csv`` (value,
unit, validity bounds, plausible range, source). This module turns those rows into one frozen
dataclass per group, so that Hydra's ConfigStore can type-check overrides and reject unknown
keys, while the numbers themselves stay data.

``data_dir`` (top level, default null) names a directory of the user's own calibration
tables (see :mod:`abm.calibration`), validated by :func:`validate` before any work. Its
``parameters.csv``, if any, gives the defaults and ranges of the parameters it lists. In a
config composed by Hydra (:func:`schema_node` is the node stored in the ConfigStore) every
parameter the config does not set is an interpolation ``${abm_default:group.name,${data_dir}}``
resolved from that table, so precedence is: packaged table < data_dir < scenario file <
command line. A :class:`RunConfig` built in Python holds explicit values for every field
(the packaged defaults unless you set them); :func:`default_config` gives one whose
parameters are the defaults of a data_dir.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

PARAMETER_GROUPS = ("demand", "supply", "tiers", "training", "open_source", "chips", "energy",
                    "policy", "startups", "market")
#: The packaged sizes (``conf/size/<name>.yaml``). A size file in a ``--config-dir`` adds
#: another, as a scenario file there does: Hydra refuses a size option with no file, and the
#: preflight checks that ``size.name`` labels the file that was loaded.
SIZES = ("small", "default", "world", "world_xl")
#: What a size (or scenario) name may be: the stem of its YAML file, used to label outputs.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_TYPES = {"float": float, "int": int, "bool": bool, "str": str}


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key and what is allowed."""


def parameter_table(data_dir: str | None = None) -> pd.DataFrame:
    """The calibration table of scalar parameters (one row per number, with its source).

    The packaged ``parameters.csv``, with the rows of ``data_dir``'s ``parameters.csv`` (if
    any) in place of the packaged rows they name. Raises :class:`ConfigError` naming the
    file, column and row of a problem (see :func:`abm.calibration.parameters`).
    """
    from abm import calibration

    try:
        table = calibration.parameters(data_dir)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    bad = [i for i, g in enumerate(table["group"]) if g not in PARAMETER_GROUPS]
    if bad:
        i = bad[0]
        raise ConfigError(f"parameters.csv: column 'group', row {i + 1} ({table['group'][i]}, "
                          f"{table['name'][i]}): {table['group'][i]!r} is not a parameter "
                          f"group; allowed: {', '.join(PARAMETER_GROUPS)}")
    return table


def _parse(value: str, kind: str) -> Any:
    if kind == "bool":
        return str(value).strip().lower() in ("true", "1", "yes")
    if kind == "int":
        return int(float(value))
    return _TYPES[kind](value)


def _group_class(group: str, schema: bool = False) -> type:
    """The dataclass of a parameter group. ``schema``: the variant Hydra composes into, whose
    bool parameters are typed ``Any``, because OmegaConf would turn ``2``, ``0``, ``"yes"`` or
    ``"true"`` into a bool, and the others may be null, which OmegaConf would refuse with no
    word of the allowed range: :func:`validate` refuses both, naming the key and the allowed
    values."""
    rows = parameter_table().query("group == @group")
    fields = []
    for row in rows.itertuples():
        kind = _TYPES[row.type]
        if schema:
            kind = Any if kind is bool else kind | None
        fields.append((row.name, kind, field(default=_parse(row.value, row.type))))
    cls_name = "".join(p.capitalize() for p in group.split("_")) + (
        "Schema" if schema else "Params")
    return dataclasses.make_dataclass(cls_name, fields, frozen=False,
                                      namespace={"__module__": __name__})


GROUP_CLASSES: dict[str, type] = {g: _group_class(g) for g in PARAMETER_GROUPS}
globals().update({cls.__name__: cls for cls in GROUP_CLASSES.values()})


@dataclass
class SizeConfig:
    """How big a world to simulate.

    ``nations``: names from ``nations.csv`` to keep (empty: all of them); ``synthetic``: build
    a synthetic world of ``synthetic_nations`` nations and ``synthetic_providers`` providers
    instead (labelled synthetic in every output); ``income_groups``: income quantiles per nation.
    """

    name: str = "default"
    nations: list[str] = field(default_factory=list)
    synthetic: bool = False
    synthetic_nations: int = 200
    synthetic_providers: int = 50
    income_groups: int = 10


@dataclass
class ScenarioConfig:
    """Which scenario this run encodes (its YAML overrides the parameter groups)."""

    name: str = "baseline"
    description: str = "The world as calibrated for January 2025, no policy change."


RUN_DOC = """One model run: a pure function of this config and ``seed``.

    ``months`` counts from January 2025 (132 = through December 2035). The parameter groups
    (``demand``, ``supply``, ...) hold the rows of ``parameters.csv``. ``data_dir``: a
    directory of your own calibration tables replacing the packaged ones (null: none).
    """


def _run_class(name: str, groups: dict[str, type]) -> type:
    """A run's dataclass: seed, months, data_dir, size, scenario, then one field per group."""
    return dataclasses.make_dataclass(
        name,
        [("seed", int, field(default=0)),
         ("months", int, field(default=132)),
         ("data_dir", str | None, field(default=None)),
         ("size", SizeConfig, field(default_factory=SizeConfig)),
         ("scenario", ScenarioConfig, field(default_factory=ScenarioConfig))]
        + [(g, groups[g], field(default_factory=groups[g])) for g in PARAMETER_GROUPS],
        namespace={"__module__": __name__, "__doc__": RUN_DOC},
    )


RunConfig = _run_class("RunConfig", GROUP_CLASSES)

#: :class:`RunConfig` as Hydra composes it (bool parameters untyped; see :func:`_group_class`).
_SCHEMA_GROUPS: dict[str, type] = {g: _group_class(g, schema=True) for g in PARAMETER_GROUPS}
_RunSchema = _run_class("RunSchema", _SCHEMA_GROUPS)


def validate(cfg: Any) -> Any:
    """Check ranges, names, the data and the world of a config; return it as a RunConfig.

    Accepts a :class:`RunConfig`, an OmegaConf ``DictConfig`` or a plain mapping (in a
    mapping, a parameter not given takes its default from ``data_dir``'s table, else the
    packaged one). Checks, in order: ``data_dir`` (every table it supplies, see
    :func:`abm.calibration.check_data_dir`), types and ranges of every key, and the world
    (:func:`abm.calibration.check_world`: nations that exist, someone to sell tokens). The
    returned config's ``data_dir`` is an absolute path (or None).

    Raises
    ------
    ConfigError
        Naming the first offending key (or file, column and row of a data table) and what
        is allowed.
    """
    from omegaconf import OmegaConf

    if not isinstance(cfg, RunConfig):
        if OmegaConf.is_config(cfg):
            cfg = plain_values(cfg)
        cfg = dict(cfg)
        cfg.pop("hydra", None)
        allowed = {f.name for f in dataclasses.fields(RunConfig)}
        for key in cfg:
            if key not in allowed:
                raise ConfigError(f"unknown key '{key}'; allowed top-level keys: "
                                  f"{', '.join(sorted(allowed))}")
        data_dir = _check_data_dir(cfg.get("data_dir"))
        defaults = _defaults(data_dir)
        kwargs: dict[str, Any] = {}
        for key, value in cfg.items():
            if key in GROUP_CLASSES:
                kwargs[key] = _build_group(key, value, defaults)
            elif key == "size":
                kwargs[key] = _build_simple(SizeConfig, "size", value)
            elif key == "scenario":
                kwargs[key] = _build_simple(ScenarioConfig, "scenario", value)
            else:
                kwargs[key] = value
        for group in GROUP_CLASSES:
            if group not in kwargs and defaults:
                kwargs[group] = _build_group(group, {}, defaults)
        kwargs["data_dir"] = data_dir
        cfg = RunConfig(**kwargs)
    else:
        cfg = dataclasses.replace(cfg, data_dir=_check_data_dir(cfg.data_dir))
    _check_int("seed", cfg.seed, 0, 2**63 - 1)
    _check_int("months", cfg.months, 1, 1200)
    if not isinstance(cfg.size.name, str) or not NAME_PATTERN.fullmatch(cfg.size.name):
        raise ConfigError(f"size.name: {cfg.size.name!r} is not a size name: letters, digits, "
                          f"'_', '-' or '.' (the stem of its file); packaged sizes: "
                          f"{', '.join(SIZES)}; a new size is a file conf/size/<name>.yaml, "
                          "or one in a --config-dir")
    _check_int("size.income_groups", cfg.size.income_groups, 2, 1000)
    _check_int("size.synthetic_nations", cfg.size.synthetic_nations, 3, 10_000)
    _check_int("size.synthetic_providers", cfg.size.synthetic_providers, 3, 5_000)
    if not isinstance(cfg.size.synthetic, bool):
        raise ConfigError(f"size.synthetic: expected true or false, got {cfg.size.synthetic!r}")
    for row in _rows(cfg.data_dir):
        value = getattr(getattr(cfg, row.group), row.name)
        key = f"{row.group}.{row.name}"
        kind = _TYPES[row.type]
        if kind is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{key}: expected true or false, got {value!r}")
            continue
        if kind is str:
            if not isinstance(value, str):
                raise ConfigError(f"{key}: expected a string, got {value!r}")
            continue
        lo = None if pd.isna(row.min) else float(row.min)
        hi = None if pd.isna(row.max) else float(row.max)
        allowed = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}: expected a number in {allowed} ({row.unit}), got "
                              f"{value!r}")
        if kind is int and float(value) != int(value):
            raise ConfigError(f"{key}: expected an integer in {allowed} ({row.unit}), got "
                              f"{value!r}")
        if not math.isfinite(float(value)):
            raise ConfigError(f"{key}: must be finite, in {allowed} ({row.unit}), got "
                              f"{value!r}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ConfigError(f"{key}: {value!r} is out of range; allowed {allowed} "
                              f"({row.unit}): {row.note}")
    _check_world(cfg)
    return cfg


_DEFAULT = re.compile(r"^\$\{abm_default:([A-Za-z0-9_]+\.[A-Za-z0-9_]+),\$\{data_dir\}\}$")


def plain_values(cfg: Any) -> dict[str, Any]:
    """A composed config (hydra node dropped) as plain values, interpolations resolved.

    Parameters still at their default (``${abm_default:group.name,${data_dir}}``, see
    :func:`schema_node`) are filled from the data_dir's table directly, which is much
    faster than OmegaConf's interpolation grammar; anything else goes through OmegaConf.
    """
    from omegaconf import OmegaConf

    out: dict[str, Any] = {}
    for key in cfg:
        if key == "hydra":
            continue
        node = cfg[key]
        out[key] = OmegaConf.to_container(node, resolve=False) if OmegaConf.is_config(
            node) else node
    data_dir = _check_data_dir(out.get("data_dir"))
    rest = False
    for group, values in out.items():
        if group not in GROUP_CLASSES or not isinstance(values, dict):
            continue
        for name, value in values.items():
            if isinstance(value, str) and value.startswith("${"):
                match = _DEFAULT.match(value)
                if match:
                    values[name] = default_value(match.group(1), data_dir)
                else:
                    rest = True
    if rest or any(isinstance(v, str) and "${" in v for v in _leaves(out)):
        out = OmegaConf.to_container(OmegaConf.create(out), resolve=True)
    return out


def _leaves(node: Any):
    if isinstance(node, dict):
        for value in node.values():
            yield from _leaves(value)
    elif isinstance(node, list):
        for value in node:
            yield from _leaves(value)
    else:
        yield node


def _check_data_dir(data_dir: Any) -> str | None:
    """``data_dir`` as an absolute path after checking every table it supplies (or None)."""
    from abm import calibration

    if data_dir is None or (isinstance(data_dir, str) and not data_dir.strip()):
        return None
    if not isinstance(data_dir, str):
        raise ConfigError(f"data_dir: expected a path (a string) or null, got {data_dir!r}")
    try:
        return calibration.check_data_dir(data_dir)["data_dir"]
    except ValueError as exc:
        raise ConfigError(f"data_dir={data_dir}: {exc}") from None


def _rows(data_dir: str | None) -> list[Any]:
    """The rows of the parameter table in use (cached per content)."""
    from abm import calibration

    return _rows_for(data_dir, calibration.cache_stamp(data_dir))


@lru_cache(maxsize=32)
def _rows_for(data_dir: str | None, stamp: tuple) -> list[Any]:
    return list(parameter_table(data_dir).itertuples())


@lru_cache(maxsize=256)
def _world_ok(size_name: str, names: tuple[str, ...], synthetic: bool, n_nations: int,
              n_providers: int, data_dir: str | None, stamp: tuple) -> None:
    from abm import calibration

    calibration.check_world(size_name, list(names) or None, synthetic, n_nations,
                            n_providers, data_dir)


def _check_world(cfg: Any) -> None:
    """The world the config describes can be built and has providers (before any run)."""
    from abm import calibration

    size = cfg.size
    names = list(size.nations) if size.nations is not None else []
    try:
        if not all(isinstance(n, str) for n in names):
            raise ValueError(f"nation names must be strings, got {names}")
        _world_ok(size.name, tuple(names), bool(size.synthetic), size.synthetic_nations,
                  size.synthetic_providers, cfg.data_dir,
                  calibration.cache_stamp(cfg.data_dir))
    except ValueError as exc:
        what = f"size.nations=[{','.join(map(str, names))}]"
        if size.synthetic:
            what = f"size.synthetic=true, {what}"
        raise ConfigError(f"{what}: {exc}") from None


@lru_cache(maxsize=32)
def _defaults_for(data_dir: str | None, stamp: tuple) -> dict[tuple[str, str], Any]:
    table = parameter_table(data_dir)
    return {(r.group, r.name): _parse(r.value, r.type) for r in table.itertuples()}


def _defaults(data_dir: str | None) -> dict[tuple[str, str], Any]:
    """Typed default of every parameter, from ``data_dir``'s table (or the packaged one)."""
    from abm import calibration

    if data_dir is None:
        return {}  # the dataclass defaults are the packaged ones
    return _defaults_for(data_dir, calibration.cache_stamp(data_dir))


def default_value(key: str, data_dir: str | None = None) -> Any:
    """The default of parameter ``group.name``: ``data_dir``'s table, else the packaged."""
    from abm.calibration.sources import resolve_data_dir

    group, _, name = key.partition(".")
    try:
        root = resolve_data_dir(data_dir)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if root is None:
        return _packaged_defaults()[(group, name)]
    return _defaults(str(root))[(group, name)]


@lru_cache(maxsize=1)
def _packaged_defaults() -> dict[tuple[str, str], Any]:
    return {(g, f.name): f.default for g, cls in GROUP_CLASSES.items()
            for f in dataclasses.fields(cls)}


def default_config(data_dir: str | None = None) -> Any:
    """A :class:`RunConfig` whose parameters are the defaults of ``data_dir`` (validated)."""
    return validate({"data_dir": data_dir})


def schema_node() -> Any:
    """The node stored as ``run_schema`` in Hydra's ConfigStore: :class:`RunConfig`, with
    every parameter an interpolation of its default from ``${data_dir}`` (see the module
    doc), so a data_dir's parameters.csv gives the defaults of a composed config."""
    from omegaconf import OmegaConf

    node = OmegaConf.structured(_RunSchema)
    for row in parameter_table().itertuples():
        node[row.group][row.name] = f"${{abm_default:{row.group}.{row.name},${{data_dir}}}}"
    return node


def _register_resolver() -> None:
    from omegaconf import OmegaConf

    OmegaConf.register_new_resolver("abm_default", lambda key, data_dir=None:
                                    default_value(str(key), data_dir), replace=True)


_register_resolver()


def _check_int(key: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{key}: expected an integer in [{lo}, {hi}], got {value!r}")


def _build_simple(cls: type, key: str, value: Any):
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping, got {value!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    for k in value:
        if k not in names:
            raise ConfigError(f"unknown key '{key}.{k}'; allowed: {', '.join(sorted(names))}")
    return cls(**value)


def _build_group(group: str, value: Any, defaults: dict | None = None):
    """The group's dataclass from ``value``; keys not given take ``defaults`` (if any)."""
    if not isinstance(value, dict):
        raise ConfigError(f"{group}: expected a mapping of parameters, got {value!r}")
    cls = GROUP_CLASSES[group]
    names = {f.name for f in dataclasses.fields(cls)}
    for k in value:
        if k not in names:
            raise ConfigError(f"unknown key '{group}.{k}'; allowed: {', '.join(sorted(names))}")
    given = dict(value)
    for (g, name), default in (defaults or {}).items():
        if g == group and name not in given:
            given[name] = default
    return cls(**given)


def to_dict(cfg: Any) -> dict[str, Any]:
    """A plain, JSON-serialisable dict of the config."""
    return dataclasses.asdict(cfg)
