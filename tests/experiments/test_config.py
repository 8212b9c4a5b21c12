"""The Hydra config: every scenario and size composes and validates; bad input stops early."""

from __future__ import annotations

import re

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from abm.app import CONF_DIR, subdir_name
from abm.config import ConfigError, RunConfig, validate

from .conftest import CONF, complete_manifests

SCENARIOS = ("baseline", "open_weights_surge", "closed_frontier", "export_controls",
             "energy_shock", "test_time_compute_boom", "custom_silicon", "sovereign_cloud",
             "efficiency_breakthrough", "early_monopoly")
SEEDS = {p.name[:3] for p in (CONF.parents[1] / "shared" / "seeds").glob("*.txt")}


@pytest.fixture(scope="module")
def hydra_compose():
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        yield lambda *overrides: compose(config_name="config", overrides=list(overrides))


def _flatten(node, prefix=""):
    out = {}
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{path}."))
        else:
            out[path] = value
    return out


def test_conf_dir_is_the_repository_conf():
    assert CONF_DIR == CONF.resolve()


def test_scenario_files_are_the_ten_of_the_design():
    assert sorted(p.stem for p in (CONF / "scenario").glob("*.yaml")) == sorted(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_composes_validates_and_changes_only_what_it_names(hydra_compose, scenario):
    cfg = hydra_compose(f"scenario={scenario}")
    run_cfg = validate(cfg)
    assert isinstance(run_cfg, RunConfig)
    assert run_cfg.scenario.name == scenario
    assert run_cfg.scenario.description

    text = (CONF / "scenario" / f"{scenario}.yaml").read_text()
    assert text.startswith("# @package _global_")
    cited = re.findall(r"seed (\d{3}):", text)
    assert cited, f"{scenario}.yaml cites no seed claim"
    if SEEDS:
        assert set(cited) <= SEEDS
    named = set(_flatten(OmegaConf.to_container(OmegaConf.create(text))))
    base = _flatten(OmegaConf.to_container(hydra_compose("scenario=baseline")))
    this = _flatten(OmegaConf.to_container(cfg))
    changed = {k for k in this if this[k] != base[k]}
    assert changed <= named, f"{scenario} changes keys it does not name: {changed - named}"
    if scenario != "baseline":
        assert changed - {"scenario.name", "scenario.description"}, "changes nothing"


@pytest.mark.parametrize("size", ["small", "default", "world", "world_xl"])
def test_sizes_compose(hydra_compose, size):
    run_cfg = validate(hydra_compose(f"size={size}"))
    assert run_cfg.size.name == size
    if size == "small":
        assert run_cfg.size.nations == ["United States", "China", "European Union", "India",
                                        "Nigeria"]
        assert run_cfg.size.income_groups == 5
    if size == "world":
        assert run_cfg.size.synthetic and run_cfg.size.synthetic_nations == 200
    if size == "world_xl":  # issue 12: >= 1e6 user segments (nation x group x use-case x 2)
        from abm import calibration

        assert run_cfg.size.synthetic and run_cfg.size.synthetic_nations == 200
        assert run_cfg.size.synthetic_providers == 100
        n_usecases = len(calibration.usecases())
        assert 200 * run_cfg.size.income_groups * n_usecases * 2 >= 1_000_000


def test_cli_overrides_compose_on_top_of_a_scenario(hydra_compose):
    cfg = validate(hydra_compose("scenario=early_monopoly", "open_source.lag_months=12",
                                 "seed=7"))
    assert cfg.open_source.lag_months == 12 and cfg.seed == 7
    assert cfg.supply.scale_economy == 0.25


@pytest.mark.parametrize(("launcher", "target", "extra"), [
    ("joblib", "JoblibLauncher", ["hydra.launcher.n_jobs=2"]),
    ("submitit_slurm", "SlurmLauncher", ["hydra.launcher.partition=cpu",
                                         "hydra.launcher.timeout_min=120",
                                         "hydra.launcher.array_parallelism=64"]),
])
def test_launcher_configs_compose(hydra_compose, launcher, target, extra):
    # hydra_compose keeps Hydra initialised on conf/ for this module
    cfg = compose(config_name="config", return_hydra_config=True,
                  overrides=[f"hydra/launcher={launcher}", *extra, "scenario=baseline"])
    assert cfg.hydra.launcher._target_.endswith(target)
    assert cfg.hydra.sweep.subdir == "scenario=baseline"  # the sorted overrides


def test_subdir_names_are_stable_and_short():
    assert subdir_name("scenario=a,seed=0") == "scenario=a,seed=0"
    assert subdir_name("") == "default"
    long = ",".join(f"k{i}=v{i}" for i in range(100))
    assert subdir_name(long) == subdir_name(long)
    assert len(subdir_name(long)) <= 120 and subdir_name(long) != subdir_name(long + "x")
    assert "/" not in subdir_name("size.nations=[a/b]")


BAD_INPUTS = [
    # (override, words the message must contain)
    ("scenario=no_such_scenario", ["scenario", "baseline", "open_weights_surge",
                                   "early_monopoly"]),
    ("demand.foo=1", ["demand.foo", "unknown key", "elasticity"]),
    ("+demand.foo=1", ["demand.foo", "elasticity"]),
    ("months=abc", ["months", "integer", "abc"]),
    ("demand.elasticity=-1", ["demand.elasticity", "out of range", "0.05"]),
    ("policy.localisation_share=1.5", ["policy.localisation_share", "out of range", "1.0"]),
    ("size=huge", ["size", "small", "default", "world"]),
    ("open_source.enabled=maybe", ["open_source.enabled", "true or false"]),
    # OmegaConf turned these into true/false silently (issue 9)
    ("supply.neocloud_entry_exit=2", ["supply.neocloud_entry_exit", "true or false", "got 2"]),
    ("supply.neocloud_entry_exit=0", ["supply.neocloud_entry_exit", "true or false", "got 0"]),
    ("supply.neocloud_entry_exit=yes", ["supply.neocloud_entry_exit", "true or false",
                                        "'yes'"]),
    ('supply.neocloud_entry_exit="true"', ["supply.neocloud_entry_exit", "true or false",
                                           "'true'"]),
    ("supply.neocloud_entry_exit=null", ["supply.neocloud_entry_exit", "true or false",
                                         "None"]),
    # null gave "field 'demand.elasticity' is not Optional", with no allowed range
    ("demand.elasticity=null", ["demand.elasticity", "a number in [0.05, 3.0]", "None"]),
    ("market.max_rounds=null", ["market.max_rounds", "a number in [1.0,", "None"]),
    ("scenario=baseline,closed_frontier", ["--multirun"]),
]


@pytest.mark.parametrize("runner", ["in_process", pytest.param("subprocess",
                                                                 marks=pytest.mark.slow)])
@pytest.mark.parametrize(("override", "words"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_stops_before_any_work(run_in, refuse_in, tmp_path, override, words, runner):
    out = tmp_path / "run"
    key = override.split("=", 1)[0]
    rest = [a for a in ("months=6", "size=small") if a.split("=", 1)[0] != key]
    run = refuse_in if runner == "in_process" else run_in
    proc = run(override, *rest, f"hydra.run.dir={out}")
    assert proc.returncode == 2, proc.stderr
    message = proc.stderr.strip()
    assert "Traceback" not in message
    assert 0 < len(message.splitlines()) < 15
    for word in words:
        assert word in message, f"{word!r} not in: {message}"
    assert not complete_manifests(tmp_path)
    assert not list(tmp_path.rglob("*.parquet"))


def test_bad_value_in_a_sweep_stops_the_whole_sweep(refuse_in, tmp_path):
    proc = refuse_in("-m", "scenario=baseline", "demand.elasticity=1.0,-3", "months=6",
                  "size=small", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert proc.returncode == 2
    assert "demand.elasticity" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "sweep").exists()


def test_a_size_name_is_a_file_stem_not_a_fixed_list():
    # A size file in a --config-dir may name a new size (Hydra refuses one with no file).
    assert validate({"size": {"name": "tiny", "nations": ["China"]}}).size.name == "tiny"
    for bad in ("", "a b", "../x", 3):
        with pytest.raises(ConfigError, match=r"size\.name: .* is not a size name: letters, "
                                            r"digits.*packaged sizes: small, default, world"):
            validate({"size": {"name": bad}})


def test_a_true_bool_stays_true_and_a_number_stays_a_float(hydra_compose):
    # the schema leaves bools untyped (validate checks them) and numbers nullable
    cfg = validate(hydra_compose("supply.neocloud_entry_exit=false", "demand.elasticity=1"))
    assert cfg.supply.neocloud_entry_exit is False
    assert cfg.demand.elasticity == 1.0 and isinstance(cfg.demand.elasticity, float)
