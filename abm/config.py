"""Run configuration: typed parameter groups generated from the calibration table.

Every scalar parameter of the model is one row of ``abm/calibration/parameters.csv`` (value,
unit, validity bounds, plausible range, source). This module turns those rows into one frozen
dataclass per group, so that Hydra's ConfigStore can type-check overrides and reject unknown
keys, while the numbers themselves stay data.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd

PARAMETER_GROUPS = ("demand", "supply", "tiers", "training", "open_source", "chips", "energy",
                    "policy", "startups", "market")
SIZES = ("small", "default", "world")
_TYPES = {"float": float, "int": int, "bool": bool, "str": str}


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key and what is allowed."""


@cache
def parameter_table() -> pd.DataFrame:
    """The calibration table of scalar parameters (one row per number, with its source)."""
    with resources.files("abm.calibration").joinpath("parameters.csv").open() as fh:
        table = pd.read_csv(fh, dtype={"value": str})
    dupes = table.duplicated(["group", "name"])
    if dupes.any():
        raise ConfigError(f"parameters.csv: duplicate rows {table[dupes][['group', 'name']]}")
    unknown = set(table["group"]) - set(PARAMETER_GROUPS)
    if unknown:
        raise ConfigError(f"parameters.csv: unknown groups {sorted(unknown)}")
    return table


def _parse(value: str, kind: str) -> Any:
    if kind == "bool":
        return str(value).strip().lower() in ("true", "1", "yes")
    if kind == "int":
        return int(float(value))
    return _TYPES[kind](value)


def _group_class(group: str) -> type:
    rows = parameter_table().query("group == @group")
    fields = []
    for row in rows.itertuples():
        kind = _TYPES[row.type]
        fields.append((row.name, kind, field(default=_parse(row.value, row.type))))
    cls_name = "".join(p.capitalize() for p in group.split("_")) + "Params"
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
    (``demand``, ``supply``, ...) hold the rows of ``parameters.csv``.
    """

RunConfig = dataclasses.make_dataclass(
    "RunConfig",
    [("seed", int, field(default=0)),
     ("months", int, field(default=132)),
     ("size", SizeConfig, field(default_factory=SizeConfig)),
     ("scenario", ScenarioConfig, field(default_factory=ScenarioConfig))]
    + [(g, GROUP_CLASSES[g], field(default_factory=GROUP_CLASSES[g]))
       for g in PARAMETER_GROUPS],
    namespace={"__module__": __name__, "__doc__": RUN_DOC},
)


def validate(cfg: Any) -> Any:
    """Check ranges and names of a composed config; return it as a :class:`RunConfig`.

    Accepts a :class:`RunConfig`, an OmegaConf ``DictConfig`` or a plain mapping. Raises
    :class:`ConfigError` naming the first offending key and what is allowed.
    """
    from omegaconf import OmegaConf

    if not isinstance(cfg, RunConfig):
        if OmegaConf.is_config(cfg):
            cfg = OmegaConf.to_container(cfg, resolve=True)
        cfg = dict(cfg)
        cfg.pop("hydra", None)
        allowed = {f.name for f in dataclasses.fields(RunConfig)}
        for key in cfg:
            if key not in allowed:
                raise ConfigError(f"unknown key '{key}'; allowed top-level keys: "
                                  f"{', '.join(sorted(allowed))}")
        kwargs: dict[str, Any] = {}
        for key, value in cfg.items():
            if key in GROUP_CLASSES:
                kwargs[key] = _build_group(key, value)
            elif key == "size":
                kwargs[key] = _build_simple(SizeConfig, "size", value)
            elif key == "scenario":
                kwargs[key] = _build_simple(ScenarioConfig, "scenario", value)
            else:
                kwargs[key] = value
        cfg = RunConfig(**kwargs)
    _check_int("seed", cfg.seed, 0, 2**63 - 1)
    _check_int("months", cfg.months, 1, 1200)
    if cfg.size.name not in SIZES:
        raise ConfigError(f"size.name: '{cfg.size.name}' is not a size; allowed: "
                          f"{', '.join(SIZES)}")
    _check_int("size.income_groups", cfg.size.income_groups, 2, 1000)
    _check_int("size.synthetic_nations", cfg.size.synthetic_nations, 3, 10_000)
    _check_int("size.synthetic_providers", cfg.size.synthetic_providers, 3, 5_000)
    table = parameter_table()
    for row in table.itertuples():
        value = getattr(getattr(cfg, row.group), row.name)
        key = f"{row.group}.{row.name}"
        kind = _TYPES[row.type]
        if kind is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{key}: expected true or false, got {value!r}")
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}: expected a number ({row.unit}), got {value!r}")
        if kind is int and float(value) != int(value):
            raise ConfigError(f"{key}: expected an integer ({row.unit}), got {value!r}")
        if not math.isfinite(float(value)):
            raise ConfigError(f"{key}: must be finite, got {value!r}")
        lo = None if pd.isna(row.min) else float(row.min)
        hi = None if pd.isna(row.max) else float(row.max)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            allowed = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
            raise ConfigError(f"{key}: {value!r} is out of range; allowed {allowed} "
                              f"({row.unit}): {row.note}")
    return cfg


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


def _build_group(group: str, value: Any):
    if not isinstance(value, dict):
        raise ConfigError(f"{group}: expected a mapping of parameters, got {value!r}")
    cls = GROUP_CLASSES[group]
    names = {f.name for f in dataclasses.fields(cls)}
    for k in value:
        if k not in names:
            raise ConfigError(f"unknown key '{group}.{k}'; allowed: {', '.join(sorted(names))}")
    return cls(**value)


def to_dict(cfg: Any) -> dict[str, Any]:
    """A plain, JSON-serialisable dict of the config."""
    return dataclasses.asdict(cfg)
