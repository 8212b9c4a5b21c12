"""Issue 9, kind 9 through the command line: data_dir=PATH runs on the user's tables, is
validated before the run, and its content is in the config hash and the manifest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from hydra import compose

import abm.calibration as cal
from abm.config import parameter_table, validate
from abm.preflight import hydra_session

from .conftest import CONF, manifest

PARAM_HEADER = "group,name,value,type,unit,min,max,low,high,source,note\n"


def packaged(name: str) -> pd.DataFrame:
    return pd.read_csv(Path(cal.__file__).parent / name, dtype=str, keep_default_na=False)


@pytest.fixture
def my_data(tmp_path) -> Path:
    """A data_dir with a site in Nigeria (AWS's Mexico capacity moved there) and my own
    price elasticity."""
    data = tmp_path / "my data"
    data.mkdir()
    sites = packaged("provider_sites.csv")
    row = (sites["provider"] == "AWS") & (sites["nation"] == "Mexico")
    sites.loc[row, ["nation", "source"]] = ["Nigeria", "my survey"]
    sites.to_csv(data / "provider_sites.csv", index=False)
    (data / "parameters.csv").write_text(
        PARAM_HEADER + "demand,elasticity,1.2,float,1,0.05,3,0.6,1.5,my estimate,n\n")
    return data


@pytest.mark.slow
def test_a_run_on_my_own_tables(run_in, tmp_path, my_data):
    run_dir = tmp_path / "run"
    proc = run_in("size=small", "size.nations=[Nigeria]", "months=2", f"data_dir={my_data}",
                  f"hydra.run.dir={run_dir}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = manifest(run_dir)
    assert m["status"] == "complete"
    tables = m["calibration"]["tables"]
    assert m["calibration"]["data_dir"] == str(my_data.resolve())
    assert tables["provider_sites.csv"]["source"] == "data_dir"
    assert tables["parameters.csv"]["source"] == "data_dir"
    assert tables["nations.csv"]["source"] == "packaged"
    assert all(len(t["sha256"]) == 64 for t in tables.values())
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["demand"]["elasticity"] == 1.2
    assert config["data_dir"] == str(my_data.resolve())
    providers = pd.read_parquet(run_dir / "providers.parquet")
    assert set(providers["provider"]) == {"AWS"}

    # an edit of the data makes the run stale: the same command runs again
    again = run_in("size=small", "size.nations=[Nigeria]", "months=2", f"data_dir={my_data}",
                   f"hydra.run.dir={run_dir}")
    assert "skipping complete run" in again.stderr, again.stderr[-3000:]
    (my_data / "parameters.csv").write_text(
        PARAM_HEADER + "demand,elasticity,1.3,float,1,0.05,3,0.6,1.5,my estimate,n\n")
    edited = run_in("size=small", "size.nations=[Nigeria]", "months=2", f"data_dir={my_data}",
                    f"hydra.run.dir={run_dir}")
    assert edited.returncode == 0, edited.stderr[-2000:]
    assert "skipping" not in edited.stderr
    assert manifest(run_dir)["config_hash"] != m["config_hash"]


def test_a_bad_data_table_is_refused_before_the_run_naming_file_row_and_column(
        refuse_in, tmp_path, my_data):
    nat = packaged("nations.csv")
    nat.loc[13, "gdp_pc_usd"] = "2,100"
    nat.to_csv(my_data / "nations.csv", index=False)
    run_dir = tmp_path / "run"
    proc = refuse_in("size=small", "months=1", f"data_dir={my_data}", f"hydra.run.dir={run_dir}")
    assert proc.returncode == 2
    flat = " ".join(proc.stderr.split())
    for word in ("nations.csv", "column 'gdp_pc_usd'", "row 14 (Nigeria)", "'2,100'",
                 "decimal comma"):
        assert word in flat, flat
    assert "Traceback" not in proc.stderr
    assert not run_dir.exists()
    proc = refuse_in("size=small", "months=1", f"data_dir={tmp_path / 'nowhere'}",
                  f"hydra.run.dir={run_dir}")
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_precedence_packaged_then_data_dir_then_scenario_then_command_line(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    (data / "parameters.csv").write_text(
        PARAM_HEADER + "demand,elasticity,1.2,float,1,0.05,3,0.6,1.5,me,n\n"
        "energy,price_shock,1.7,float,x,1,20,1,3,me,n\n")
    with hydra_session(CONF):
        def cfg(*overrides):
            return validate(compose(config_name="config", overrides=list(overrides)))

        packaged = float(parameter_table().set_index(["group", "name"]).loc[
            ("demand", "elasticity"), "value"])
        assert cfg().demand.elasticity == packaged and cfg().energy.price_shock == 1.0
        mine = cfg(f"data_dir={data}")
        assert mine.demand.elasticity == 1.2 and mine.energy.price_shock == 1.7
        shock = cfg(f"data_dir={data}", "scenario=energy_shock")
        assert shock.energy.price_shock == 2.5  # the scenario file wins over the data
        assert shock.demand.elasticity == 1.2
        assert cfg(f"data_dir={data}", "demand.elasticity=0.9").demand.elasticity == 0.9
        # the packaged default given explicitly still wins over the data
        given = cfg(f"data_dir={data}", f"demand.elasticity={packaged}")
        assert given.demand.elasticity == packaged


def test_a_data_dir_changes_the_sobol_ranges(tmp_path):
    from analysis.sensitivity import Problem

    data = tmp_path / "d"
    data.mkdir()
    (data / "parameters.csv").write_text(
        PARAM_HEADER + "demand,elasticity,1.2,float,1,0.05,3,0.9,1.4,me,n\n")
    row = parameter_table().set_index(["group", "name"]).loc[("demand", "elasticity")]
    assert Problem.from_parameters(["demand.elasticity"]).bounds == (
        (float(row["low"]), float(row["high"])),)
    assert Problem.from_parameters(["demand.elasticity"], data_dir=str(data)).bounds == (
        (0.9, 1.4),)
