"""Small configurations of the real model, shared by the model tests."""

from __future__ import annotations

import functools

import pandas as pd
from omegaconf import OmegaConf

from abm.config import RunConfig, SizeConfig, validate
from abm.run import run

SMALL_NATIONS = ["United States", "China", "European Union", "India", "Nigeria"]
CONF = __import__("pathlib").Path(__file__).resolve().parents[2] / "conf"


def small_config(months: int = 12, seed: int = 0, scenario: str | None = None,
                 **overrides) -> RunConfig:
    """A validated small config; ``overrides`` are ``group__name=value`` pairs."""
    cfg = RunConfig()
    cfg.seed, cfg.months = seed, months
    cfg.size = SizeConfig(name="small", nations=list(SMALL_NATIONS), income_groups=5)
    if scenario is not None:
        apply_scenario(cfg, scenario)
    for key, value in overrides.items():
        group, name = key.split("__")
        setattr(getattr(cfg, group), name, value)
    return validate(cfg)


def apply_scenario(cfg: RunConfig, name: str) -> None:
    """Apply ``conf/scenario/<name>.yaml`` the way Hydra would (global package)."""
    data = OmegaConf.to_container(OmegaConf.load(CONF / "scenario" / f"{name}.yaml"))
    for group, values in data.items():
        if group == "scenario":
            cfg.scenario.name = values["name"]
            continue
        for key, value in values.items():
            setattr(getattr(cfg, group), key, value)


@functools.cache
def _cached(months: int, seed: int, scenario: str | None, items: tuple) -> dict:
    return run(small_config(months, seed, scenario, **dict(items))).tables


def small_run(months: int = 12, seed: int = 0, scenario: str | None = None,
              **overrides) -> dict[str, pd.DataFrame]:
    """Tables of a small run (cached per argument set within a test session)."""
    return _cached(months, seed, scenario, tuple(sorted(overrides.items())))
