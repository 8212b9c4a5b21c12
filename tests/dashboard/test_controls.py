"""The dashboard's parameter controls come from parameters.csv; runs are specs."""

from __future__ import annotations

import math

import pytest

from abm.app import CONF_DIR
from abm.cli_help import scenarios
from abm.config import parameter_table
from abm.dashboard import CONTROL_KEYS, CONTROLS, MISSING, make_spec
from abm.dashboard.controls import format_value, nice_step, on_grid, resolve
from abm.dashboard.runs import RunSpec, scenario_values


def test_every_listed_parameter_is_in_parameters_csv():
    assert not MISSING, (f"dashboard controls name parameters that parameters.csv no longer "
                         f"has: {MISSING}; update CONTROL_KEYS in abm/dashboard/controls.py")
    assert 10 <= len(CONTROLS) <= 15
    assert [c.key for c in CONTROLS] == list(CONTROL_KEYS)


def test_an_unknown_key_is_skipped_not_fatal():
    found, missing = resolve(("demand.elasticity", "demand.no_such_parameter"))
    assert [c.key for c in found] == ["demand.elasticity"]
    assert missing == ["demand.no_such_parameter"]


def test_controls_carry_unit_ranges_and_help_from_the_table():
    row = parameter_table().set_index(["group", "name"]).loc[("demand", "elasticity")]
    c = next(c for c in CONTROLS if c.key == "demand.elasticity")
    assert c.kind == "float" and c.unit_text == "unitless"
    assert c.valid == (float(row["min"]), float(row["max"]))
    assert c.plausible == (float(row["low"]), float(row["high"]))
    assert "price elasticity" in c.help
    assert c.description.startswith("demand.elasticity [unitless]: price elasticity of a "
                                    "segment's token volume")
    assert "plausible" in c.description and "valid" in c.description
    lo, hi, step = c.slider(float(row["value"]))
    assert (lo, hi) == c.plausible and step == nice_step((hi - lo) / 100)


@pytest.mark.parametrize("scenario", [s.name for s in scenarios(CONF_DIR)])
def test_sliders_hold_every_scenarios_value_on_their_grid(scenario):
    values = scenario_values(scenario)
    for c in CONTROLS:
        if c.kind == "bool":
            assert isinstance(values[c.key], bool)
            continue
        v = float(values[c.key])
        lo, hi, step = c.slider(v)
        assert lo <= v <= hi, (c.key, v, lo, hi)
        if c.valid[0] is not None:
            assert lo >= c.valid[0]
        if c.valid[1] is not None:
            assert hi <= c.valid[1]
        assert on_grid(v, step) and on_grid(lo, step), (c.key, v, lo, step)
        assert (hi - lo) / step <= 2000
        if c.kind == "int":
            assert float(step).is_integer()


def test_nice_steps_and_value_formatting():
    assert nice_step(0.0087) == 0.01
    assert nice_step(0.011) == 0.02
    assert nice_step(900) == 1000
    assert format_value("float", 0.8100000000000001) == "0.81"
    assert format_value("int", 18.0) == "18"
    assert format_value("bool", False) == "false"
    for x in (0.1, 1 / 3, 2.5e-7, 12345.678):
        assert float(format_value("float", x)) == float(f"{x:.12g}")
    assert math.isclose(float(format_value("float", 1 / 3)), 1 / 3, rel_tol=1e-11)


def test_a_spec_overrides_only_what_differs_from_the_scenario():
    base = scenario_values("energy_shock")
    mine = {**base, "demand.elasticity": 0.81, "open_source.enabled": False}
    spec = make_spec("energy_shock", "small", 12, 3, mine, base)
    assert spec.params == (("demand.elasticity", "0.81"), ("open_source.enabled", "false"))
    assert spec.overrides() == ["scenario=energy_shock", "size=small", "months=12", "seed=3",
                                "demand.elasticity=0.81", "open_source.enabled=false"]
    assert spec.command() == ("python -m abm scenario=energy_shock size=small months=12 "
                              "seed=3 demand.elasticity=0.81 open_source.enabled=false")
    # the scenario's own values are not overrides
    assert make_spec("energy_shock", "small", 12, 3, base, base).params == ()
    assert RunSpec("baseline").overrides()[:2] == ["scenario=baseline", "size=small"]
