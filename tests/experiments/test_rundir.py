"""Single runs land in a directory that names their overrides."""

from __future__ import annotations

from abm.app import run_subdir_name

from .conftest import complete_manifests, run_abm


def test_run_subdir_names_the_overrides_but_not_the_scenario():
    assert run_subdir_name("") == "default"
    assert run_subdir_name("scenario=energy_shock") == "default"
    assert run_subdir_name("months=36,scenario=energy_shock,seed=4,size=small") == (
        "months=36,seed=4,size=small")
    assert run_subdir_name("demand.elasticity=1.5,scenario=baseline") == "demand.elasticity=1.5"
    assert run_subdir_name("months=2,scenario=baseline") == "months=2"
    # a value that merely contains "scenario=" stays; paths stay one directory deep
    assert run_subdir_name("size.nations=[a/b]") == "size.nations=[a%2Fb]"
    assert len(run_subdir_name(",".join(f"k{i}=v{i}" for i in range(100)))) <= 120


def test_runs_with_overrides_go_to_a_directory_that_names_them(tmp_path):
    proc = run_abm("scenario=energy_shock", "size=small", "months=2", "seed=4",
                   "demand.elasticity=1.5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    plain = run_abm("size=small", "months=2", "scenario=energy_shock", "seed=4", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    runs = [p.relative_to(tmp_path).parts for p in complete_manifests(tmp_path)]
    assert sorted(r[:4] for r in runs) == [
        ("outputs", "runs", "energy_shock", "demand.elasticity=1.5,months=2,seed=4,size=small"),
        ("outputs", "runs", "energy_shock", "months=2,seed=4,size=small")]
    assert all(len(r) == 5 for r in runs)  # .../<date>_<time>
