"""analysis.experiments echoes one progress line per finished sweep job, as it happens."""

from __future__ import annotations

from analysis import experiments
from analysis.experiments import Options, progress_line, run_experiment


def test_progress_lines_are_picked_from_the_sweep_output():
    assert progress_line("[07:23:14][INFO] [3/8] done: scenario=baseline seed=0: complete\n") \
        == "[3/8] scenario=baseline seed=0: complete"
    assert progress_line("[07:23:14][INFO] [?/?] done: months=3: FAILED") == (
        "[?/?] months=3: FAILED")
    assert progress_line("[07:23:20][INFO] sweep finished in 4.1 s: 2 complete, 0 failed, "
                         "0 incomplete in /x/y; summarise with: python -m abm.collect /x/y") \
        == "sweep finished in 4.1 s: 2 complete, 0 failed, 0 incomplete"
    assert progress_line("[07:23:14][INFO] run complete in 1.3 s -> /x") is None


def test_a_running_sweep_reports_each_finished_job(tmp_path, capsys):
    options = Options(size="small", months=2, seeds=1, scenarios=("baseline", "energy_shock"),
                      cache_dir=tmp_path, verbose=True)
    exp = run_experiment("scenarios", options)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("analysis: scenarios [")]
    assert len(lines) == 2, err
    assert {ln.split("]")[0] for ln in lines} == {"analysis: scenarios [1/2",
                                                   "analysis: scenarios [2/2"}
    assert all(ln.endswith(": complete") for ln in lines)
    assert "analysis: scenarios sweep finished in" in err
    assert "[2/2] done" in (exp.directory / experiments.SWEEP_LOG).read_text()  # still logged
    # cached: nothing runs, nothing is reported per job
    run_experiment("scenarios", options)
    again = capsys.readouterr().err
    assert "reusing 2 cached runs" in again and "[1/2]" not in again


def test_presentation_modules_do_not_invalidate_the_cache():
    files = [rel for rel, _ in experiments._code_files()]
    assert "abm/model.py" in files and "abm/app.py" in files
    assert not any(f.startswith(experiments.PRESENTATION) for f in files)
