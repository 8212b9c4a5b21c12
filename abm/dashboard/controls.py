"""The dashboard's parameter controls, built from ``abm/calibration/parameters.csv``.

:data:`CONTROL_KEYS` is the one list of parameters the dashboard puts on sliders (numbers) or
checkboxes (switches). Everything else about a control comes from the parameter's row: its
unit, help text (the row's ``note``), type, validity bounds (``min``/``max``) and plausible
range (``low``/``high``), which is the slider's range (widened to take in the current value,
never beyond the validity bounds). A listed key that the table no longer has is skipped with
a warning (and listed by :data:`MISSING`, which a test keeps empty), so renaming a parameter
never breaks the page.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# The parameters on the dashboard, in order: edit this list (and only this) to change them.
CONTROL_KEYS: tuple[str, ...] = (
    "demand.elasticity",
    "demand.growth_initial",
    "demand.test_time_multiplier_final",
    "supply.build_lead_months",
    "supply.software_efficiency_growth",
    "supply.scale_economy",
    "supply.investment_adjustment_cost",
    "open_source.enabled",
    "open_source.lag_months",
    "chips.export_controls",
    "chips.tier2_cap_h100e_per_year",
    "energy.price_shock",
    "policy.localisation_share",
    "policy.subsidy",
    "policy.tariff",
)
SLIDER_STEPS = 100  # about this many steps across a slider's range


@dataclass(frozen=True)
class Control:
    """One dashboard control for the parameter ``key`` (``group.name``)."""

    key: str
    kind: str              # "float", "int" or "bool"
    unit: str
    help: str
    default: Any           # the value in parameters.csv
    valid: tuple[float | None, float | None]
    plausible: tuple[float | None, float | None]

    @property
    def unit_text(self) -> str:
        return "switch" if self.kind == "bool" else (
            "unitless" if self.unit.strip() == "1" else self.unit)

    @property
    def label(self) -> str:
        """The parameter's name in words, e.g. ``elasticity`` (its group and unit are in
        :attr:`description`)."""
        return self.key.split(".", 1)[1].replace("_", " ")

    @property
    def description(self) -> str:
        """The help line under the control: key and unit, meaning, plausible and valid
        range."""
        text = f"{self.key} [{self.unit_text}]: {self.help}"
        if self.kind == "bool":
            return text
        parts = [text]
        if self.plausible != (None, None):
            parts.append(f"plausible {_num(self.plausible[0])} to {_num(self.plausible[1])}")
        if self.valid != (None, None):
            lo = "-inf" if self.valid[0] is None else _num(self.valid[0])
            hi = "inf" if self.valid[1] is None else _num(self.valid[1])
            parts.append(f"valid {lo} to {hi}")
        return "; ".join(parts)

    def slider(self, value: float) -> tuple[float, float, float]:
        """``(min, max, step)`` of a slider showing ``value``: the plausible range widened to
        take in ``value``, clipped to the validity bounds, with a round step on whose grid
        ``value`` lies (so the slider never moves a value it is merely shown)."""
        lo, hi = self.plausible
        vlo, vhi = self.valid
        value = float(value)
        lo = lo if lo is not None else (vlo if vlo is not None else min(0.0, value))
        hi = hi if hi is not None else (vhi if vhi is not None else max(2 * value, lo + 1))
        lo, hi = min(lo, value), max(hi, value)
        if vlo is not None:
            lo = max(lo, vlo)
        if vhi is not None:
            hi = min(hi, vhi)
        step = nice_step((hi - lo) / SLIDER_STEPS)
        if self.kind == "int":
            step = max(1.0, float(round(step)))
        for _ in range(8):  # a finer step until the value lies on the grid
            if on_grid(value, step):
                break
            finer = _clean(step / 10)
            if self.kind == "int" and finer < 1:
                break
            step = finer
        lo = math.floor(lo / step + 1e-9) * step
        if vlo is not None and lo < vlo - 1e-12:
            lo += step
        hi = math.ceil(hi / step - 1e-9) * step
        if vhi is not None and hi > vhi + 1e-12:
            hi -= step
        return _clean(lo), _clean(hi), _clean(step)

    def override(self, value: Any) -> str:
        """``key=value`` as it goes on the command line (the same number the run uses)."""
        return f"{self.key}={format_value(self.kind, value)}"


def nice_step(raw: float) -> float:
    """The 1-2-5 number nearest above ``raw`` (positive), e.g. 0.0087 -> 0.01."""
    if not raw > 0 or not math.isfinite(raw):
        return 1.0
    exp = math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        step = mult * 10.0 ** exp
        if step >= raw * (1 - 1e-9):
            return _clean(step)
    return _clean(10.0 ** (exp + 1))  # pragma: no cover - the loop always returns


def on_grid(value: float, step: float) -> bool:
    """True when ``value`` is a whole multiple of ``step`` (to 1e-9 relative)."""
    k = round(value / step)
    return abs(k * step - value) <= 1e-9 * max(1.0, abs(value))


def _clean(x: float) -> float:
    """Drop binary noise: 0.30000000000000004 -> 0.3."""
    return float(f"{x:.12g}")


def _num(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:,.0f}" if float(x).is_integer() and abs(x) >= 1000 else f"{x:g}"


def format_value(kind: str, value: Any) -> str:
    """A parameter value as an override string: ``true``/``false``, an integer, or the
    shortest decimal that reads back as the same float."""
    if kind == "bool":
        return "true" if bool(value) else "false"
    if kind == "int":
        return str(round(float(value)))
    return repr(_clean(float(value)))


def _bound(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def resolve(keys: tuple[str, ...] = CONTROL_KEYS) -> tuple[list[Control], list[str]]:
    """The controls for ``keys`` that parameters.csv has, and the keys it does not have."""
    from abm.config import _parse, parameter_table

    table = parameter_table()
    rows = {f"{r.group}.{r.name}": r for r in table.itertuples()}
    found, missing = [], []
    for key in keys:
        row = rows.get(key)
        if row is None:
            missing.append(key)
            continue
        found.append(Control(key=key, kind=str(row.type), unit=str(row.unit),
                             help=str(row.note), default=_parse(row.value, row.type),
                             valid=(_bound(row.min), _bound(row.max)),
                             plausible=(_bound(row.low), _bound(row.high))))
    if missing:
        log.warning("dashboard: parameters no longer in parameters.csv are left out: %s",
                    ", ".join(missing))
    return found, missing


CONTROLS, MISSING = resolve()
