"""The research notebooks run clean under nbmake at small size."""

from __future__ import annotations

import pytest

from .conftest import REPO, run_module

NOTEBOOKS = REPO / "analysis" / "notebooks"


def test_there_are_research_notebooks_with_cleared_outputs():
    import nbformat

    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert {"explore_scenario.ipynb", "compare_scenarios.ipynb"} <= set(names)
    for name in names:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, name
                assert "/work/" not in cell.source and "glob(" not in cell.source, name


@pytest.mark.slow
def test_notebooks_run_under_nbmake(tmp_path):
    proc = run_module("pytest", "--nbmake", str(NOTEBOOKS), "-q", "-p", "no:cacheprovider",
                      cwd=REPO, timeout=900,
                      ABM_CACHE_DIR=str(tmp_path / "cache"), ABM_NB_SIZE="small",
                      ABM_NB_MONTHS="24", ABM_NB_SEEDS="2")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "2 passed" in proc.stdout
