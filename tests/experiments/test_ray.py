"""The Ray launcher (optional group ``.[ray]``) gives byte-identical tables to the basic one."""

from __future__ import annotations

import importlib.util

import pytest

from .conftest import SMALL, TABLE_FILES, complete_manifests, run_abm

pytestmark = pytest.mark.ray

HAVE_RAY = (importlib.util.find_spec("ray") is not None
            and importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is not None)


@pytest.mark.skipif(not HAVE_RAY, reason="needs the optional ray group: pip install -e '.[ray]'")
def test_ray_local_multirun_matches_the_basic_launcher_byte_for_byte(tmp_path):
    common = ("--multirun", "scenario=open_weights_surge", "seed=0,1", *SMALL)
    basic = run_abm(*common, f"hydra.sweep.dir={tmp_path / 'basic'}", cwd=tmp_path)
    assert basic.returncode == 0, basic.stderr[-3000:]
    ray = run_abm(*common, "hydra/launcher=ray", "+hydra.launcher.ray.init.num_cpus=2",
                  "+hydra.launcher.ray.init.include_dashboard=false",
                  f"hydra.sweep.dir={tmp_path / 'ray'}", cwd=tmp_path, timeout=300)
    assert ray.returncode == 0, ray.stderr[-3000:]
    runs_basic = complete_manifests(tmp_path / "basic")
    runs_ray = complete_manifests(tmp_path / "ray")
    assert [r.name for r in runs_basic] == [r.name for r in runs_ray] and len(runs_ray) == 2
    for a, b in zip(runs_basic, runs_ray, strict=True):
        for name in TABLE_FILES:
            assert (a / name).read_bytes() == (b / name).read_bytes(), (a.name, name)
