"""A dashboard run writes exactly the tables its command line writes."""

from __future__ import annotations

from abm.dashboard.runs import RunSpec, execute, run_files, run_zip

from ..experiments.conftest import TABLE_FILES, run_abm


def test_the_shown_command_reproduces_the_run_byte_for_byte(tmp_path):
    spec = RunSpec(scenario="energy_shock", size="small", months=4, seed=2,
                   params=(("demand.elasticity", "0.81"), ("open_source.enabled", "false")))
    seen = []
    run_dir = execute(spec, tmp_path / "dash", progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (4, 4) and len(seen) == 4
    assert run_dir.parent.name == ("demand.elasticity=0.81,months=4,open_source.enabled=false,"
                                   "seed=2,size=small")
    command = spec.command()
    args = command.split()[3:]  # after "python -m abm"
    assert command.startswith("python -m abm ")
    cli = tmp_path / "cli"
    proc = run_abm(*args, f"hydra.run.dir={cli}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in (*TABLE_FILES, "config.yaml"):
        assert (cli / name).read_bytes() == (run_dir / name).read_bytes(), name


def test_downloads_hold_the_run_files(tmp_path):
    import io
    import zipfile

    run_dir = execute(RunSpec(scenario="baseline", size="small", months=1), tmp_path)
    names = [p.name for p in run_files(run_dir)]
    assert names == [*TABLE_FILES, "config.yaml", "manifest.json"]
    with zipfile.ZipFile(io.BytesIO(run_zip(run_dir))) as zf:
        assert sorted(zf.namelist()) == sorted(f"{run_dir.name}/{n}" for n in names)
        data = zf.read(f"{run_dir.name}/global.parquet")
    assert data == (run_dir / "global.parquet").read_bytes()
