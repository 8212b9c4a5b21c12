"""Users' own calibration data (issue 9, kind 9): a data_dir replaces any packaged table,
is validated before the run with messages naming file, row and column, and its content is in
the config hash and the manifest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import abm.calibration as cal
from abm.calibration.sources import packaged_bytes, packaged_tables
from abm.config import ConfigError, RunConfig, default_config, parameter_table, validate
from abm.outputs import config_hash

PARAM_HEADER = "group,name,value,type,unit,min,max,low,high,source,note\n"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cal.clear_cache()
    yield
    cal.clear_cache()


def packaged(name: str) -> pd.DataFrame:
    return pd.read_csv(f"{Path(cal.__file__).parent / name}", dtype=str, keep_default_na=False)


def write(directory: Path, name: str, table: pd.DataFrame, **kwargs) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    table.to_csv(path, index=False, **kwargs)
    return path


def nigeria_sites() -> pd.DataFrame:
    """The packaged sites with AWS's Mexico capacity moved to Nigeria (no provider there)."""
    sites = packaged("provider_sites.csv")
    row = (sites["provider"] == "AWS") & (sites["nation"] == "Mexico")
    sites.loc[row, "nation"] = "Nigeria"
    sites.loc[row, "source"] = "my survey 2025"
    return sites


def test_a_zero_share_site_is_no_capacity_in_the_preflight_as_in_the_run(tmp_path):
    # AWS,Nigeria,0.0 passed check_world (it only asked whether a site was listed there) and
    # the run then raised "no provider has capacity"; both now use the same restriction.
    sites = packaged("provider_sites.csv")
    zero = sites.iloc[[0]].copy()
    zero[["provider", "nation", "capacity_share", "source"]] = ["AWS", "Nigeria", "0.0", "me"]
    write(tmp_path, "provider_sites.csv", pd.concat([sites, zero], ignore_index=True))
    for build in (cal.check_world, cal.world):
        with pytest.raises(ValueError, match=r"no provider has capacity in the nation\(s\) "
                                             r"\['Nigeria'\] .*capacity_share > 0"):
            build("small", ["Nigeria"], data_dir=tmp_path)
    cal.check_world("small", ["Nigeria", "Mexico"], data_dir=tmp_path)  # a real site: fine


# ----------------------------------------------------------------------------- loading


def test_a_table_in_data_dir_replaces_the_packaged_one(tmp_path):
    nat = packaged("nations.csv")
    nat.loc[nat["nation"] == "India", "electricity_usd_kwh"] = "0.07"
    write(tmp_path, "nations.csv", nat)
    mine = cal.nations(tmp_path).set_index("nation")
    assert mine.loc["India", "electricity_usd_kwh"] == 0.07
    assert cal.nations().set_index("nation").loc["India", "electricity_usd_kwh"] == 0.09
    # the other tables stay packaged, and are checked against the user's nations
    pd.testing.assert_frame_equal(cal.providers(tmp_path), cal.providers())


def test_the_world_is_built_from_the_data_dir(tmp_path):
    write(tmp_path, "provider_sites.csv", nigeria_sites())
    with pytest.raises(ValueError, match="no provider has capacity"):
        cal.world("small", ["Nigeria"])
    w = cal.world("small", ["Nigeria"], data_dir=tmp_path)
    assert w.providers["provider"].tolist() == ["AWS"]
    cal.check_world("small", ["Nigeria"], data_dir=tmp_path)


def test_spreadsheet_csv_with_a_byte_order_mark_reads(tmp_path):
    write(tmp_path, "usecases.csv", packaged("usecases.csv"), encoding="utf-8-sig")
    assert (tmp_path / "usecases.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    pd.testing.assert_frame_equal(cal.usecases(tmp_path), cal.usecases())


@pytest.mark.parametrize(("name", "column", "row", "value", "words"), [
    ("nations.csv", "population_m", 2, "many",
     ["nations.csv", "column 'population_m'", "row 3 (European Union)", "'many'"]),
    ("nations.csv", "lat", 4, "36,2",
     ["column 'lat'", "row 5 (Japan)", "decimal comma"]),
    ("providers.csv", "kind", 1, "bank",
     ["providers.csv", "column 'kind'", "row 2 (Microsoft Azure)", "hyperscaler"]),
    ("provider_sites.csv", "nation", 0, "Atlantis",
     ["provider_sites.csv", "column 'nation'", "row 1 (AWS, Atlantis)", "not a nation"]),
    ("open_labs.csv", "funding_usd_per_year", 0, "-1",
     ["open_labs.csv", "column 'funding_usd_per_year'", "row 1 (DeepSeek)", "out of range"]),
])
def test_a_bad_cell_is_named_by_file_column_and_row(tmp_path, name, column, row, value, words):
    table = packaged(name)
    table.loc[row, column] = value
    path = write(tmp_path, name, table)
    with pytest.raises(ValueError) as err:
        cal.check_data_dir(tmp_path)
    message = str(err.value)
    assert str(path) in message
    for word in words:
        assert word in message, message


def test_a_packaged_table_inconsistent_with_the_users_says_which_file(tmp_path):
    nat = packaged("nations.csv")
    write(tmp_path, "nations.csv", nat[nat["nation"] != "Japan"])
    with pytest.raises(ValueError) as err:
        cal.check_data_dir(tmp_path)
    message = str(err.value)
    assert "provider_sites.csv (packaged)" in message and "'Japan'" in message
    assert str(tmp_path / "nations.csv") in message


def test_every_problem_of_a_table_is_listed(tmp_path):
    table = packaged("usecases.csv")
    table.loc[0, "latency_cost"] = "x"
    table.loc[1, "quality_threshold"] = "2"
    table.loc[3, "source"] = ""
    write(tmp_path, "usecases.csv", table)
    with pytest.raises(ValueError) as err:
        cal.usecases(tmp_path)
    message = str(err.value)
    for where in ("row 1 (chat)", "row 2 (assistant)", "row 4 (voice)"):
        assert where in message, message


def test_unknown_file_and_missing_directory_are_refused(tmp_path):
    with pytest.raises(cal.DataDirError, match="does not exist"):
        cal.check_data_dir(tmp_path / "nope")
    write(tmp_path, "nation.csv", packaged("nations.csv"))
    with pytest.raises(cal.DataDirError, match=r"did you mean nations\.csv"):
        cal.check_data_dir(tmp_path)


def test_files_other_than_csv_are_ignored(tmp_path):
    (tmp_path / "README.md").write_text("my data")
    (tmp_path / ".nations.csv.swp").write_text("x")
    assert cal.check_data_dir(tmp_path)["data_dir"] == str(tmp_path.resolve())


def test_a_new_packaged_table_is_readable_and_replaceable(tmp_path):
    # Tables without a declared schema (e.g. a new targets.csv) are read as text, replaced
    # by a data_dir's file, and must keep the packaged columns.
    assert "parameters.csv" in packaged_tables()
    raw = cal.read_table("parameters")
    assert list(raw.columns) == list(packaged("parameters.csv").columns)
    with pytest.raises(ValueError, match="not a calibration table"):
        cal.read_table("no_such_table")


# ----------------------------------------------------------------------------- parameters


def test_a_data_dir_parameters_file_replaces_the_rows_it_names(tmp_path):
    (tmp_path / "parameters.csv").write_text(
        PARAM_HEADER + "demand,elasticity,1.2,float,1,0.05,3,0.6,1.5,my estimate,note\n")
    table = parameter_table(str(tmp_path)).set_index(["group", "name"])
    assert table.loc[("demand", "elasticity"), "value"] == "1.2"
    assert table.loc[("demand", "elasticity"), "source"] == "my estimate"
    assert len(table) == len(parameter_table())
    cfg = default_config(str(tmp_path))
    assert cfg.demand.elasticity == 1.2
    assert cfg.demand.growth_initial == RunConfig().demand.growth_initial
    # a mapping gets the data_dir defaults for the parameters it does not give
    assert validate({"data_dir": str(tmp_path), "demand": {}}).demand.elasticity == 1.2
    assert validate({"data_dir": str(tmp_path),
                     "demand": {"elasticity": 0.7}}).demand.elasticity == 0.7


@pytest.mark.parametrize(("row", "words"), [
    ("demand,elastic,1.2,float,1,0.05,10,0.6,1.5,me,n",
     ["column 'name'", "row 1 (demand, elastic)", "not a parameter", "demand.elasticity"]),
    ("demand,elasticity,1,int,1,0.05,10,0.6,1.5,me,n",
     ["column 'type'", "row 1 (demand, elasticity)", "'float'"]),
    ("demand,elasticity,abc,float,1,0.05,3,0.6,1.5,me,n",
     ["column 'value'", "row 1 (demand, elasticity)", "'abc' is not a number"]),
    ("demand,elasticity,20,float,1,0.05,3,0.6,1.5,me,n",
     ["column 'value'", "row 1 (demand, elasticity)", "out of range"]),
    ("demand,elasticity,1.2,float,1,0.05,3,0.6,1.5,,n",
     ["column 'source'", "row 1 (demand, elasticity)", "source is empty"]),
    ("demand,elasticity,1.2,float,1,abc,10,0.6,1.5,me,n",
     ["column 'min'", "row 1 (demand, elasticity)", "'abc' is not a number"]),
    ("demand,elasticity,1.2,float,1,0.05,3,1.5,0.6,me,n",
     ["column 'high'", "row 1 (demand, elasticity)", "plausible range is empty"]),
])
def test_a_corrupt_parameters_file_names_file_and_row(tmp_path, row, words):
    (tmp_path / "parameters.csv").write_text(PARAM_HEADER + row + "\n")
    with pytest.raises(ConfigError) as err:
        validate({"data_dir": str(tmp_path)})
    message = str(err.value)
    assert str(tmp_path / "parameters.csv") in message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize(("bounds", "column", "words"), [
    ("1e3,1e300", "max", "max 1e+300 is wider than the packaged range [1000, 1e+12]"),
    ("1,1e12", "min", "min 1 is wider than the packaged range [1000, 1e+12]"),
    ("1e3,inf", "max", "max inf is wider than the packaged range [1000, 1e+12]"),
    ("1e3,", "max", "max empty (unbounded) is wider than the packaged range [1000, 1e+12]"),
])
def test_a_data_dir_may_narrow_a_parameter_range_but_not_widen_it(tmp_path, bounds, column,
                                                                   words):
    # The packaged ranges are the ones every parameter is run at (test_parameter_extremes);
    # a data_dir widening tokens_month0 to 1e300 let demand.tokens_month0=1e60 crash mid-run.
    (tmp_path / "parameters.csv").write_text(
        PARAM_HEADER + f"demand,tokens_month0,4e9,float,M tokens/month,{bounds},2e9,8e9,me,n\n")
    with pytest.raises(ConfigError) as err:
        validate({"data_dir": str(tmp_path), "demand": {"tokens_month0": 1e60}})
    message = str(err.value)
    for word in (str(tmp_path / "parameters.csv"), f"column '{column}'",
                 "row 1 (demand, tokens_month0)", words):
        assert word in message, message
    (tmp_path / "parameters.csv").write_text(
        PARAM_HEADER + "demand,tokens_month0,4e9,float,M tokens/month,1e6,1e10,2e9,8e9,me,n\n")
    assert validate({"data_dir": str(tmp_path)}).demand.tokens_month0 == 4e9  # narrower: fine
    with pytest.raises(ConfigError, match=r"demand\.tokens_month0: .* out of range"):
        validate({"data_dir": str(tmp_path), "demand": {"tokens_month0": 1e11}})


def test_a_corrupt_packaged_parameters_file_names_file_and_row(monkeypatch):
    original = cal._read_csv

    def corrupt(name: str) -> pd.DataFrame:
        table = original(name)
        if name == "parameters.csv":
            table.loc[2, "value"] = "1,5"
        return table

    name = original("parameters.csv").loc[2, "name"]
    monkeypatch.setattr(cal, "_read_csv", corrupt)
    cal.clear_cache()
    with pytest.raises(ConfigError, match=rf"parameters\.csv: column 'value', row 3 \(demand, "
                                          rf"{name}\): '1,5' is not a number"):
        parameter_table()


# ----------------------------------------------------------------------------- hash, manifest


def test_the_config_hash_covers_the_tables_content_not_the_directory(tmp_path):
    base = validate(RunConfig())
    plain = config_hash(_dict(base))
    mine = tmp_path / "mine"
    nat = packaged("nations.csv")
    write(mine, "nations.csv", nat)
    same = validate(RunConfig(data_dir=str(mine)))
    assert config_hash(_dict(same)) == plain  # identical content: the same computation
    moved = tmp_path / "moved"
    shutil.copytree(mine, moved)
    assert config_hash(_dict(validate(RunConfig(data_dir=str(moved))))) == plain
    nat.loc[0, "gdp_pc_usd"] = "85811"
    write(mine, "nations.csv", nat)
    cal.clear_cache()
    edited = config_hash(_dict(validate(RunConfig(data_dir=str(mine)))))
    assert edited != plain


def test_the_config_hash_covers_the_packaged_tables(monkeypatch):
    before = config_hash(_dict(validate(RunConfig())))
    original = packaged_bytes

    def edited(name: str) -> bytes:
        data = original(name)
        return data.replace(b"0.08", b"0.081", 1) if name == "nations.csv" else data

    monkeypatch.setattr("abm.calibration.sources.packaged_bytes", edited)
    cal.clear_cache()
    assert config_hash(_dict(validate(RunConfig()))) != before


def test_a_relative_data_dir_becomes_absolute(tmp_path, monkeypatch):
    write(tmp_path / "d", "usecases.csv", packaged("usecases.csv"))
    monkeypatch.chdir(tmp_path)
    assert validate(RunConfig(data_dir="d")).data_dir == str((tmp_path / "d").resolve())
    with pytest.raises(ConfigError, match="data_dir"):
        validate(RunConfig(data_dir="missing"))


def _dict(cfg) -> dict:
    from abm.config import to_dict

    return to_dict(cfg)


# ----------------------------------------------------------------------------- new tables


def test_only_tables_in_the_package_are_loaded():
    from abm.calibration.tables import SCHEMAS

    packaged = set(packaged_tables())
    assert set(cal.declared_tables()) == {n for n, s in SCHEMAS.items() if s.file in packaged}
    assert {"nations", "providers", "provider_sites", "usecases", "open_labs",
            "parameters"} <= set(cal.declared_tables())


def test_the_targets_schema_checks_what_a_target_needs():
    from abm.calibration.tables import TARGETS

    raw = pd.DataFrame({
        "moment": ["revenue_hhi", "capacity_hhi"], "value": ["2110", "1400"],
        "low": ["1700", "900"], "high": ["2500", "1800"], "period": ["2025-01", "2025"],
        "unit": ["HHI (0-10000)", "HHI (0-10000)"], "source": ["Synergy", "Epoch AI"],
        "verify": ["false", "true"]})
    typed = TARGETS.validate(raw)
    assert typed["verify"].tolist() == [False, True] and typed["value"].dtype == float
    bad = raw.copy()
    bad.loc[1, "value"] = "2000"
    with pytest.raises(ValueError, match=r"targets\.csv: column 'value', row 2 "
                                         r"\(capacity_hhi\): 2000\.0 is outside its band"):
        TARGETS.validate(bad)
    bad = raw.copy()
    bad.loc[0, "moment"] = "capacity_hhi"
    with pytest.raises(ValueError, match="duplicate row"):
        TARGETS.validate(bad)


def test_the_outside_owners_schema():
    from abm.calibration.tables import OUTSIDE_OWNERS

    raw = pd.DataFrame({"owner": ["Meta", "others"], "compute_share": ["0.12", "0.2"],
                        "fragmented": ["false", "true"], "source": ["Epoch AI", "residual"]})
    assert OUTSIDE_OWNERS.validate(raw)["fragmented"].tolist() == [False, True]
    raw.loc[0, "compute_share"] = "1.2"
    with pytest.raises(ValueError, match=r"column 'compute_share', row 1 \(Meta\)"):
        OUTSIDE_OWNERS.validate(raw)
