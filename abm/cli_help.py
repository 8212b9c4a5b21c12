"""``python -m abm --help`` and ``python -m abm --list-scenarios``.

``--help`` lists the groups and their options, then every key of the config with its current
value (after any overrides on the same command line, e.g. ``scenario=energy_shock --help``),
its unit, its valid range, its plausible range and its one-line meaning, all read from
``abm/calibration/parameters.csv``. ``--list-scenarios`` prints each scenario of
``conf/scenario/`` with its one-line description, the seed-essay claim of its YAML comment
header and the keys it changes.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WIDTH = 100
HELP_FLAGS = ("--help", "-h")
LIST_FLAG = "--list-scenarios"
RUN_KEYS = (
    ("seed", "integer", "0 .. 2**63-1", "random seed: the same config and seed give identical "
                                          "tables"),
    ("months", "months", "1 .. 1200", "months simulated from January 2025 (132 = through "
                                       "December 2035)"),
)


# --------------------------------------------------------------------------- scenarios
@dataclass(frozen=True)
class ScenarioInfo:
    """One scenario file: its name, description, claim (comment header) and changed keys."""

    name: str
    description: str
    claim: str
    changes: dict[str, Any]


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{path}."))
        else:
            out[path] = value
    return out


def read_scenario(path: Path) -> ScenarioInfo:
    """Parse ``conf/scenario/<name>.yaml``: the comment header above the first key is the
    claim (the ``# @package`` line left out)."""
    from omegaconf import OmegaConf

    text = path.read_text()
    claim_lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        body = stripped.lstrip("#").strip()
        if body.startswith("@package"):
            continue
        claim_lines.append(body)
    data = OmegaConf.to_container(OmegaConf.create(text)) or {}
    assert isinstance(data, dict)
    scenario = data.pop("scenario", {}) or {}
    return ScenarioInfo(name=str(scenario.get("name", path.stem)),
                        description=str(scenario.get("description", "")),
                        claim=" ".join(claim_lines), changes=_flatten(data))


def scenarios(conf_dir: Path) -> list[ScenarioInfo]:
    """Every scenario of ``conf_dir/scenario``, baseline first, then by name."""
    paths = sorted((conf_dir / "scenario").glob("*.yaml"),
                   key=lambda p: (p.stem != "baseline", p.stem))
    return [read_scenario(p) for p in paths]


def list_scenarios(conf_dir: Path) -> str:
    """The text of ``--list-scenarios``."""
    out = ["Scenarios (conf/scenario/*.yaml; run one with python -m abm scenario=NAME):", ""]
    for info in scenarios(conf_dir):
        out.append(f"{info.name}: {info.description}")
        changes = ", ".join(f"{k}={v}" for k, v in info.changes.items()) or "nothing"
        for label, body in (("claim", info.claim), ("changes", changes)):
            out.extend(textwrap.wrap(f"{label}: {body}", WIDTH, initial_indent="    ",
                                     subsequent_indent="      "))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------- help
def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    value = float(value)
    return f"{int(value):,}" if value.is_integer() and abs(value) < 1e6 else f"{value:g}"


def _range(lo: Any, hi: Any) -> str:
    lo_s, hi_s = _num(lo), _num(hi)
    if not lo_s and not hi_s:
        return ""
    return f"{lo_s or '-inf'} .. {hi_s or 'inf'}"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def parameter_lines(values: dict[str, Any] | None = None) -> list[str]:
    """One entry per row of parameters.csv, grouped: key, value, unit, valid and plausible
    range on the first line, the meaning (the row's ``note``) on the second."""
    from abm.config import PARAMETER_GROUPS, parameter_table

    table = parameter_table()
    values = values or {}
    out: list[str] = []
    for group in PARAMETER_GROUPS:
        rows = table[table["group"] == group]
        if rows.empty:
            continue
        out.append(f"{group}:")
        for row in rows.itertuples():
            key = f"{row.group}.{row.name}"
            value = _value(values.get(key, row.value))
            unit = "switch (true/false)" if row.type == "bool" else (
                "unitless" if str(row.unit).strip() == "1" else str(row.unit))
            parts = [f"  {key} = {value}", f"[{unit}]"]
            valid = _range(row.min, row.max)
            if valid and row.type != "bool":
                parts.append(f"valid {valid}")
            plausible = _range(row.low, row.high)
            if plausible:
                parts.append(f"plausible {plausible}")
            out.append("  ".join(parts))
            out.extend(textwrap.wrap(str(row.note), WIDTH, initial_indent="      ",
                                     subsequent_indent="      "))
    return out


def _compose(conf_dir: Path, overrides: Sequence[str]) -> tuple[Any, list[str], str, str]:
    """The composed config, the launcher options, and the help header and footer."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3", job_name="abm"):
        cfg = compose(config_name="config", overrides=list(overrides),
                      return_hydra_config=True)
        loader = GlobalHydra.instance().config_loader()
        launchers = sorted(loader.get_group_options("hydra/launcher"))
    header = str(OmegaConf.select(cfg, "hydra.help.header", default="") or "")
    footer = str(OmegaConf.select(cfg, "hydra.help.footer", default="") or "")
    # Hydra's help goes through string.Template, where "$$" is a literal "$"
    return cfg, launchers, header.replace("$$", "$"), footer.replace("$$", "$")


def help_text(conf_dir: Path, overrides: Sequence[str] = ()) -> str:
    """The text of ``--help`` for a command line's ``overrides``.

    Raises whatever composing the config raises (an unknown key or option); the caller turns
    it into the usual one-paragraph error.
    """
    from abm.config import plain_values, validate

    cfg, launchers, header, footer = _compose(conf_dir, overrides)
    plain = plain_values(cfg)  # defaults filled in; the hydra node dropped
    run_cfg = validate(plain)
    values = _flatten(plain)
    sizes = sorted(p.stem for p in (conf_dir / "size").glob("*.yaml"))
    scen = scenarios(conf_dir)
    out = [header, "",
           "Usage:",
           "  python -m abm [KEY=VALUE ...]               one run (here: "
           f"scenario={run_cfg.scenario.name}, size={run_cfg.size.name})",
           "  python -m abm -m KEY=A,B [KEY=C,D ...]     a sweep: one job per combination",
           "  python -m abm --list-scenarios             every scenario with its claim",
           "  python -m abm [KEY=VALUE ...] --help       this text, with those values",
           "  python -m abm --hydra-help                 Hydra's own flags (--cfg job, ...)",
           "",
           "Groups (pick one option each, e.g. scenario=energy_shock):"]
    out.extend(textwrap.wrap("scenario: " + ", ".join(s.name for s in scen), WIDTH,
                             initial_indent="  ", subsequent_indent="    "))
    out.extend(textwrap.wrap("size: " + ", ".join(sizes) + " (small = 5 nations x 5 income "
                             "groups; default = ~20 nations x 10; world = synthetic, 200 x 50; "
                             "world_xl = synthetic, 200 x 420, 100 providers, 1e6 segments)",
                             WIDTH, initial_indent="  ", subsequent_indent="    "))
    out.extend(textwrap.wrap("hydra/launcher: " + ", ".join(launchers) + " (sweeps only)",
                             WIDTH, initial_indent="  ", subsequent_indent="    "))
    out += ["", "Run keys:"]
    for key, unit, valid, meaning in RUN_KEYS:
        out.append(f"  {key} = {values.get(key)}  [{unit}]  valid {valid}")
        out.append(f"      {meaning}")
    out += ["", "Parameters (KEY = current value  [unit]  valid range  plausible range; then "
                "its meaning).", "Every number and its source is a row of "
                "abm/calibration/parameters.csv.", ""]
    out.extend(parameter_lines(values))
    out += ["", footer]
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------- dispatch
def wants(argv: Sequence[str]) -> str | None:
    """``"list"`` for ``--list-scenarios``, ``"help"`` for ``--help``/``-h``, else None."""
    if LIST_FLAG in argv:
        return "list"
    if any(a in HELP_FLAGS for a in argv):
        return "help"
    return None


def respond(argv: Sequence[str], conf_dir: Path) -> str | None:
    """The text to print for an informational command line, or None for any other."""
    kind = wants(argv)
    if kind == "list":
        return list_scenarios(conf_dir)
    if kind == "help":
        overrides = [a for a in argv if not a.startswith("-") and "=" in a]
        return help_text(conf_dir, overrides)
    return None
