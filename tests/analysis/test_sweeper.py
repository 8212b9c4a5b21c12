"""The abm_sobol Hydra sweeper: one job per sample row, through any launcher."""

from __future__ import annotations

import json

import pytest
import yaml

from analysis.sobol_sweeper import index_of, job_overrides, read_samples, samples_csv, subdir

from .conftest import REPO, run_module


def test_sample_files_round_trip_exactly(tmp_path):
    values = [[0.1 + 1e-17 * i, 12.0] for i in range(3)] + [[1 / 3, 17.4]]
    path = tmp_path / "s.csv"
    path.write_bytes(samples_csv(["demand.elasticity", "supply.build_lead_months"], values,
                                 integer=[False, True]))
    names, rows = read_samples(path)
    assert names == ["demand.elasticity", "supply.build_lead_months"]
    assert [i for i, _ in rows] == [0, 1, 2, 3]
    assert float(rows[3][1][0]) == 1 / 3      # repr round-trips floats
    assert rows[3][1][1] == "17"              # integers are written as integers
    assert index_of(subdir(12)) == 12


def test_a_scenario_column_names_a_scenario_and_nothing_else(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(samples_csv(["scenario", "demand.elasticity"],
                                 [["energy_shock", 0.7], ["baseline", 0.9]]))
    names, rows = read_samples(path)
    assert rows == [(0, ["energy_shock", "0.7"]), (1, ["baseline", "0.9"])]
    assert job_overrides([], names, rows)[0][:2] == ["scenario=energy_shock",
                                                     "demand.elasticity=0.7"]
    path.write_text("sample,scenario,demand.elasticity\n0,energy shock!,0.7\n")
    with pytest.raises(ValueError, match=r"s.csv:2: column 'scenario': 'energy shock!' is "
                                         "not a scenario name"):
        read_samples(path)
    path.write_text("sample,demand.elasticity\n0,baseline\n")
    with pytest.raises(ValueError, match="not a number"):  # only the scenario column
        read_samples(path)


def test_job_overrides_keep_the_command_line_and_refuse_conflicts():
    jobs = job_overrides(["size=small", "months=2"], ["demand.elasticity"],
                         [(0, ["0.7"]), (1, ["0.9"])])
    assert jobs == [["size=small", "months=2", "demand.elasticity=0.7",
                     "hydra.sweep.subdir=sample_00000"],
                    ["size=small", "months=2", "demand.elasticity=0.9",
                     "hydra.sweep.subdir=sample_00001"]]
    with pytest.raises(ValueError, match="both a sampled parameter"):
        job_overrides(["demand.elasticity=1"], ["demand.elasticity"], [(0, ["0.7"])])
    with pytest.raises(ValueError, match="single values"):
        job_overrides(["seed=0,1"], ["demand.elasticity"], [(0, ["0.7"])])


@pytest.mark.slow
def test_the_sobol_experiment_runs_one_job_per_row_with_joblib(tmp_path):
    samples = tmp_path / "samples.csv"
    rows = [[0.7, 12], [1.2, 20], [0.9, 15]]
    samples.write_bytes(samples_csv(["demand.elasticity", "supply.build_lead_months"], rows,
                                    integer=[False, True]))
    sweep = tmp_path / "sweep"
    proc = run_module("abm", "--multirun", "+experiment=sobol", "size=small", "months=2",
                      f"hydra.sweeper.samples={samples}", "hydra/launcher=joblib",
                      "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}", cwd=REPO,
                      timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[3/3] done" in proc.stderr
    for i, (elasticity, lead) in enumerate(rows):
        run = sweep / subdir(i)
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["status"] == "complete"
        assert f"demand.elasticity={elasticity!r}" in manifest["overrides"]
        config = yaml.safe_load((run / "config.yaml").read_text())
        assert config["demand"]["elasticity"] == elasticity
        assert config["supply"]["build_lead_months"] == lead
        assert config["seed"] == 0 and config["months"] == 2


def test_an_out_of_range_sample_stops_the_sweep_before_any_run(tmp_path):
    samples = tmp_path / "samples.csv"
    samples.write_bytes(samples_csv(["demand.elasticity"], [[0.8], [-3.0]]))
    sweep = tmp_path / "sweep"
    proc = run_module("abm", "--multirun", "+experiment=sobol", "size=small", "months=1",
                      f"hydra.sweeper.samples={samples}", f"hydra.sweep.dir={sweep}",
                      cwd=REPO, timeout=300)
    assert proc.returncode != 0
    assert "sample_00001: demand.elasticity: -3.0 is out of range" in proc.stderr
    assert not list(sweep.glob("sample_*"))
