"""Issue 9, kinds 3 and 6: the world, the labels and every job of every sweep source are checked
before anything runs; Hydra's sweep features work."""

from __future__ import annotations

import pytest

from abm.preflight import PreflightError, preflight

from .conftest import CONF, complete_manifests, manifest

SCENARIOS = sorted(p.stem for p in (CONF / "scenario").glob("*.yaml"))


def refused(proc, *words: str) -> str:
    """The one-paragraph refusal of a command: exit 2, no traceback, every word present."""
    assert proc.returncode == 2, proc.stderr[-2000:]
    message = proc.stderr.strip()
    assert message.startswith("abm: invalid configuration:"), message
    assert "Traceback" not in message and len(message.splitlines()) < 15
    flat = " ".join(message.split())
    for word in words:
        assert word in flat, f"{word!r} not in: {flat}"
    return flat


# ----------------------------------------------------------------------------- kind 3: world


def test_a_world_without_any_provider_is_refused_before_any_run(refuse_in, tmp_path):
    proc = refuse_in("size=small", "size.nations=[Nigeria]", "months=1",
                  f"hydra.run.dir={tmp_path / 'run'}")
    refused(proc, "size.nations=[Nigeria]", "no provider has capacity", "United States")
    assert not (tmp_path / "run").exists()


def test_an_unknown_nation_is_refused_at_preflight_with_no_run_directory(refuse_in, tmp_path):
    proc = refuse_in("size=small", "size.nations=[India,Atlantis]", "months=1",
                  f"hydra.run.dir={tmp_path / 'run'}")
    refused(proc, "Atlantis", "unknown nation", "allowed", "Nigeria", "Rest of World")
    assert not (tmp_path / "run").exists()


def test_a_misspelt_nation_gets_a_suggestion():
    with pytest.raises(PreflightError, match="did you mean 'Nigera' -> 'Nigeria'"):
        preflight(["size=small", "size.nations=[Nigera]"], False)
    with pytest.raises(PreflightError, match="listed more than once"):
        preflight(["size=small", "size.nations=[India,India]"], False)


def test_small_synthetic_is_refused_with_the_fix(refuse_in, tmp_path):
    proc = refuse_in("size=small", "size.synthetic=true", "months=1",
                  f"hydra.run.dir={tmp_path / 'a'}")
    refused(proc, "size.synthetic=true", "Synthetic 001", "size.nations=[]")
    assert not (tmp_path / "a").exists()


@pytest.mark.slow
def test_the_fix_for_small_synthetic_runs(run_in, tmp_path):
    proc = run_in("size=small", "size.synthetic=true", "size.nations=[]",
                  "size.synthetic_nations=12", "size.synthetic_providers=4", "months=1",
                  f"hydra.run.dir={tmp_path / 'b'}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert manifest(tmp_path / "b")["status"] == "complete"


def test_every_single_nation_world_with_a_provider_passes_the_check():
    from abm import calibration

    hosts = set(calibration.provider_sites()["nation"])
    for nation in calibration.nations()["nation"]:
        if nation in hosts:
            calibration.check_world("small", [nation])
        else:
            with pytest.raises(ValueError, match="no provider has capacity"):
                calibration.check_world("small", [nation])


# ----------------------------------------------------------------------------- kind 3: labels


def test_a_scenario_name_contradicting_the_group_is_refused(refuse_in, tmp_path):
    proc = refuse_in("size=small", "months=2", "scenario.name=energy_shock",
                  f"hydra.run.dir={tmp_path / 'run'}")
    refused(proc, "scenario.name=energy_shock", "scenario=baseline", "scenario=energy_shock")
    assert not (tmp_path / "run").exists()


def test_labels_that_agree_pass_and_size_labels_are_checked_too():
    assert preflight(["scenario=energy_shock", "scenario.name=energy_shock"], False).total == 1
    with pytest.raises(PreflightError, match=r"size\.name=world contradicts"):
        preflight(["size=small", "size.name=world"], False)


def _extra_scenario(tmp_path):
    extra = tmp_path / "extra"
    (extra / "scenario").mkdir(parents=True)
    (extra / "scenario" / "mine.yaml").write_text(
        "# @package _global_\nscenario:\n  name: mine\n  description: my scenario\n"
        "energy:\n  price_shock: 1.5\n")
    return extra


def test_config_dir_does_not_bypass_the_preflight(refuse_in, tmp_path):
    extra = _extra_scenario(tmp_path)
    proc = refuse_in("--config-dir", str(extra), "scenario=mine", "demand.elasticity=-1",
                  "size=small", "months=1", f"hydra.run.dir={tmp_path / 'bad'}")
    refused(proc, "demand.elasticity", "out of range")
    assert not (tmp_path / "bad").exists()
    proc = refuse_in("--config-dir", str(tmp_path / "missing"), "size=small", "months=1")
    refused(proc, "--config-dir", "no such directory")
    with pytest.raises(PreflightError, match="no provider has capacity"):
        preflight(["scenario=mine", "size=small", "size.nations=[Nigeria]"], False,
                  config_dir=str(extra))


@pytest.mark.slow
def test_a_scenario_from_a_config_dir_runs(run_in, tmp_path):
    extra = _extra_scenario(tmp_path)
    proc = run_in("--config-dir", str(extra), "scenario=mine", "size=small", "months=1",
                  f"hydra.run.dir={tmp_path / 'good'}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert manifest(tmp_path / "good")["scenario"] == "mine"


def _extra_size(tmp_path, name="tiny", label="tiny"):
    extra = tmp_path / "extra"
    (extra / "size").mkdir(parents=True, exist_ok=True)
    (extra / "size" / f"{name}.yaml").write_text(
        f"name: {label}\nnations: [United States, China]\nsynthetic: false\n"
        "income_groups: 3\n")
    return extra


def test_a_size_from_a_config_dir_is_checked_like_a_scenario_from_one(refuse_in, tmp_path):
    # size/tiny.yaml in a --config-dir was refused as "not a size; allowed: small, ..."
    # although the label message tells users to put a new size there.
    extra = _extra_size(tmp_path)
    plan = preflight(["size=tiny", "months=1"], False, config_dir=str(extra))
    assert plan.total == 1
    proc = refuse_in("--config-dir", str(extra), "size=tiny", "months=0",
                     f"hydra.run.dir={tmp_path / 'bad'}")
    refused(proc, "months", "[1, 1200]")
    _extra_size(tmp_path, "other", "tiny")  # its label is not its file
    proc = refuse_in("--config-dir", str(extra), "size=other", "months=1",
                     f"hydra.run.dir={tmp_path / 'bad'}")
    refused(proc, "size.name=tiny contradicts the size chosen (size=other)")
    proc = refuse_in("--config-dir", str(extra), "size=huge", "months=1")
    refused(proc, "size=huge", "unknown size", "tiny", "small")
    assert not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_a_size_from_a_config_dir_runs(run_in, tmp_path):
    extra = _extra_size(tmp_path)
    proc = run_in("--config-dir", str(extra), "size=tiny", "months=1",
                  f"hydra.run.dir={tmp_path / 'good'}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert manifest(tmp_path / "good")["size"] == "tiny"


@pytest.mark.parametrize(("text", "words"), [
    ("scenario:\n  name: mine\nenergy: [\n  price_shock: 1.5\n",
     ["not valid YAML", "while parsing a flow sequence at line 4, column 9"]),
    ("scenario:\n\tname: mine\n",
     ["not valid YAML", "found character '\\t'", "at line 3, column 1"]),
])
def test_malformed_yaml_in_a_config_dir_names_file_and_line(refuse_in, tmp_path, text, words):
    extra = tmp_path / "extra"
    (extra / "scenario").mkdir(parents=True)
    (extra / "scenario" / "mine.yaml").write_text("# @package _global_\n" + text)
    proc = refuse_in("--config-dir", str(extra), "scenario=mine", "size=small", "months=1",
                     f"hydra.run.dir={tmp_path / 'bad'}")
    refused(proc, "scenario/mine.yaml:", *words)


def test_config_path_is_preflighted_too(refuse_in, tmp_path):
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    proc = refuse_in("--config-path", str(conf), "months=0", f"hydra.run.dir={tmp_path / 'r'}")
    refused(proc, "months", "[1, 1200]")


def test_an_empty_run_dir_is_refused_instead_of_writing_into_the_cwd(refuse_in, tmp_path):
    proc = refuse_in("size=small", "months=1", "hydra.run.dir=")
    refused(proc, "hydra.run.dir is empty")
    assert not list(tmp_path.glob("*.parquet")) and not (tmp_path / "manifest.json").exists()
    proc = refuse_in("-m", "seed=0,1", "size=small", "months=1", "hydra.sweep.dir=")
    refused(proc, "hydra.sweep.dir is empty")
    assert not complete_manifests(tmp_path)


# ----------------------------------------------------------------------------- kind 6: sweeps


def test_glob_sweeps_expand_with_hydras_parser():
    plan = preflight(["scenario=glob(*)", "size=small", "months=1"], True)
    assert plan.total == len(SCENARIOS) == 10
    assert sorted(j[0] for j in plan.jobs) == sorted(f"scenario={s}" for s in SCENARIOS)
    plan = preflight(["scenario=glob([baseline,energy*])", "seed=range(0,3)"], True)
    assert plan.total == 6


@pytest.mark.slow
def test_a_glob_sweep_runs(run_in, tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_in("-m", "scenario=glob([baseline,energy*])", "size=small", "months=1",
                  f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ConfigLoader is not set" not in proc.stderr
    assert "sweep of 2 runs" in proc.stdout + proc.stderr and "[2/2] done" in proc.stderr
    assert {manifest(r)["scenario"] for r in complete_manifests(sweep)} == {
        "baseline", "energy_shock"}


def test_an_experiment_sweep_counts_its_own_params():
    plan = preflight(["+experiment=scenarios", "size=small", "months=1", "seed=0"], True)
    assert plan.total == 10  # ten scenarios from the experiment file, seed from the CLI
    assert all("seed=0" in job for job in plan.jobs)
    plan = preflight(["+experiment=scenarios", "size=small", "months=1"], True)
    assert plan.total == 100  # ... and its seeds when the command line gives none


def test_a_bad_value_in_an_experiment_file_is_found_before_any_job(refuse_in, tmp_path):
    extra = tmp_path / "extra"
    (extra / "experiment").mkdir(parents=True)
    (extra / "experiment" / "bad.yaml").write_text(
        "# @package _global_\nhydra:\n  sweeper:\n    params:\n"
        "      demand.elasticity: 0.8,0.9,-3\n")
    sweep = tmp_path / "sweep"
    proc = refuse_in("--config-dir", str(extra), "-m", "+experiment=bad", "size=small",
                  "months=1", f"hydra.sweep.dir={sweep}")
    refused(proc, "demand.elasticity=-3", "out of range")
    assert not sweep.exists()


def test_every_job_of_a_large_sweep_is_checked():
    # 160 jobs; every value is fine on its own (a check of each value once would pass), but
    # real nation names with a synthetic world are not.
    with pytest.raises(PreflightError, match=r"size.synthetic=true, size.nations=\[India\]"):
        preflight(["size.nations=[],[India]", "size.synthetic=false,true",
                   "seed=range(0,40)", "size=small"], True)
    plan = preflight(["size.nations=[],[India]", "seed=range(0,40)", "size=small"], True)
    assert plan.total == 80


def test_a_misspelt_launcher_setting_gets_a_suggestion(refuse_in, tmp_path):
    for prefix in ("", "+"):
        proc = refuse_in("-m", "seed=0,1", "size=small", "months=1", "hydra/launcher=joblib",
                      f"{prefix}hydra.launcher.njobs=2", f"hydra.sweep.dir={tmp_path / 's'}")
        refused(proc, "hydra.launcher.njobs", "did you mean `n_jobs`?")
        assert not (tmp_path / "s").exists()
    with pytest.raises(PreflightError, match="did you mean `max_batch_size`"):
        preflight(["seed=0,1", "+hydra.sweeper.max_batchsize=2"], True)


def test_a_sweep_dir_that_depends_on_a_swept_key_is_refused(refuse_in, tmp_path):
    proc = refuse_in("-m", "seed=0,1", "size=small", "months=1",
                  f"hydra.sweep.dir={tmp_path}/sweep_${{seed}}")
    refused(proc, "hydra.sweep.dir", "depends on a swept value", "2 directories")
    assert not list(tmp_path.glob("sweep_*"))
    # interpolating a value that is not swept is fine
    assert preflight(["seed=0,1", "months=1", "hydra.sweep.dir=out/m${months}"], True).total == 2


def test_two_jobs_sharing_a_subdirectory_are_refused():
    with pytest.raises(PreflightError, match="would write to the same directory"):
        preflight(["seed=0,1", "hydra.sweep.subdir=same"], True)


def test_a_swept_label_contradicting_the_group_is_refused(refuse_in, tmp_path):
    # The example of two configs mapped to one directory: refused outright here,
    # since scenario.name must be the scenario loaded (and subdirectory names are
    # injective anyway, see test_subdir_names_are_injective).
    proc = refuse_in("-m", "scenario.name=a/b,a_b", "size=small", "months=1",
                  f"hydra.sweep.dir={tmp_path / 'sweep'}")
    refused(proc, "scenario.name=a/b contradicts")
    assert not (tmp_path / "sweep").exists()


def test_help_shows_the_default_values_not_interpolations(tmp_path):
    from .conftest import run_main

    proc = run_main("--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert "abm_default" not in proc.stdout
    from abm.config import parameter_table

    value = parameter_table().set_index(["group", "name"]).loc[("demand", "elasticity"), "value"]
    assert f"demand.elasticity = {float(value):g}" in proc.stdout


@pytest.mark.slow
def test_an_experiment_sweep_reports_its_real_size(run_in, tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_in("-m", "+experiment=scenarios", "size=small", "months=1", "seed=0",
                  f"hydra.sweep.dir={sweep}", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert "sweep of 10 runs" in out and "[10/10] done" in out and "[10/1]" not in out
    assert len(complete_manifests(sweep)) == 10


# ------------------------------------------- issue 9: a run directory of the run's own


@pytest.mark.parametrize("run_dir", [".", "..", "{cwd}", "./"])
def test_the_current_directory_or_an_ancestor_is_refused_as_run_dir(refuse_in, tmp_path,
                                                                     run_dir):
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("mine")
    proc = run_main_in(work, "size=small", "months=1",
                       f"hydra.run.dir={run_dir.format(cwd=work)}")
    refused(proc, "hydra.run.dir=", "current directory", "hydra.run.dir=outputs/runs/mine")
    assert sorted(p.name for p in work.iterdir()) == ["notes.txt"]
    assert not list(tmp_path.glob("*.parquet"))


def test_the_current_directory_is_refused_as_sweep_dir(refuse_in, tmp_path):
    proc = refuse_in("-m", "seed=0,1", "size=small", "months=1", "hydra.sweep.dir=.")
    refused(proc, "hydra.sweep.dir=.", "current directory")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("where", ["file", "/dev/null", "below-a-file", "/proc/abm-x"])
def test_a_run_dir_that_cannot_be_a_directory_is_refused_naming_it(refuse_in, tmp_path,
                                                                   where):
    import os

    if where.startswith("/") and not os.path.exists(os.path.dirname(where)):
        pytest.skip(f"{os.path.dirname(where)} does not exist here")
    (tmp_path / "file").write_text("x")
    path = {"file": str(tmp_path / "file"),
            "below-a-file": str(tmp_path / "file" / "run")}.get(where, where)
    proc = refuse_in("size=small", "months=1", f"hydra.run.dir={path}")
    why = "cannot be created" if where.startswith("/proc") else "is not a directory"
    refused(proc, "hydra.run.dir=", why, "hydra.run.dir=outputs/runs/mine")
    assert (tmp_path / "file").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_new_or_existing_run_dir_of_its_own_passes_the_check(tmp_path):
    from abm.preflight import check_output_dir

    check_output_dir(str(tmp_path / "new" / "run"), "hydra.run.dir")
    (tmp_path / "old").mkdir()
    check_output_dir(str(tmp_path / "old"), "hydra.run.dir")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]  # the probe left nothing


def run_main_in(cwd, *args):
    from .conftest import run_main

    return run_main(*args, cwd=cwd)
