"""``python -m abm --help`` (unit, range and meaning of every key) and ``--list-scenarios``."""

from __future__ import annotations

import pytest

from abm.cli_help import read_scenario
from abm.config import parameter_table

from .conftest import CONF, run_abm


@pytest.fixture(scope="module")
def help_out(tmp_path_factory):
    proc = run_abm("--help", cwd=tmp_path_factory.mktemp("help"))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _entry(text: str, key: str) -> tuple[str, str]:
    lines = text.splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.strip().startswith(f"{key} = "))
    return lines[i], lines[i + 1]


def test_help_gives_every_parameter_its_unit_ranges_and_meaning(help_out):
    table = parameter_table()
    for row in table.itertuples():
        head, meaning = _entry(help_out, f"{row.group}.{row.name}")
        if row.type == "bool":
            assert "[switch (true/false)]" in head
        else:
            unit = "unitless" if row.unit == "1" else row.unit
            assert f"[{unit}]" in head, head
            assert "valid " in head, head
        if row.type != "bool" and row.low == row.low:  # a plausible range is given
            assert "plausible " in head, head
        assert meaning.strip() and meaning.strip() in row.note, (meaning, row.note)
    head, meaning = _entry(help_out, "demand.elasticity")
    row = table.set_index(["group", "name"]).loc[("demand", "elasticity")]
    assert f"valid {row['min']:g} .. {row['max']:g}" in head
    assert f"plausible {row['low']:g} .. {row['high']:g}" in head
    assert "price elasticity" in meaning
    assert "seed = 0" in help_out and "months = 132" in help_out
    assert "scenario: baseline," in help_out and "size: default, small, world" in help_out


def test_help_shows_the_values_after_the_overrides(tmp_path):
    proc = run_abm("scenario=energy_shock", "demand.elasticity=1.2", "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _entry(proc.stdout, "energy.price_shock")[0].strip().startswith(
        "energy.price_shock = 2.5 ")
    assert _entry(proc.stdout, "demand.elasticity")[0].strip().startswith(
        "demand.elasticity = 1.2 ")
    assert "scenario=energy_shock" in proc.stdout
    assert not list(tmp_path.rglob("*.parquet"))


def test_help_with_a_bad_override_is_the_usual_error(tmp_path):
    proc = run_abm("demand.elasticity=-1", "--help", cwd=tmp_path)
    assert proc.returncode == 2
    assert "demand.elasticity" in proc.stderr and "out of range" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_list_scenarios_prints_description_claim_and_changes(tmp_path):
    proc = run_abm("--list-scenarios", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    paths = sorted((CONF / "scenario").glob("*.yaml"))
    assert len(paths) >= 10
    for path in paths:
        info = read_scenario(path)
        assert f"{info.name}: {info.description}" in text
        assert info.claim.startswith("seed 0"), info.claim
    flat = " ".join(text.split())
    assert "changes: energy.price_shock=2.5, energy.price_shock_month=12" in flat
    assert '"Energy Becomes the Bottleneck' in flat
    assert text.index("baseline:") < text.index("closed_frontier:")


def test_read_scenario_takes_the_comment_header_as_the_claim(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("# @package _global_\n# seed 009: \"a claim\"\n# more words.\n"
                    "scenario:\n  name: x\n  description: D.\nsupply:\n  pue: 1.2\n"
                    "# a trailing comment\n")
    info = read_scenario(path)
    assert info.claim == 'seed 009: "a claim" more words.'
    assert info.description == "D." and info.changes == {"supply.pue": 1.2}
