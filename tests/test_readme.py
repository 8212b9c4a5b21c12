"""The README runs as written, from a fresh copy of the checkout.

Rule: every fenced ``bash``/``python`` block of README.md is preceded (on the line above its
opening fence) by ``<!-- readme-test: run -->`` or ``<!-- readme-test: skip (reason) -->``;
an unmarked block fails :func:`test_every_block_is_marked`. The blocks marked ``run`` are run
in order, exactly as printed (bash with ``-euo pipefail``; python with the venv's
interpreter), in a temporary copy of the checkout (its tracked and untracked, not ignored
files) whose ``.venv`` links to this checkout's. Heavy blocks (servers, benchmarks, cluster
launchers, the full figure build) are marked skip with their reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
RUNNABLE = ("bash", "python")
MARKER = re.compile(r"^\s*<!--\s*readme-test:\s*(run|skip)\b\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
BLOCK_TIMEOUT_S = 600


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int            # 1-based line of the opening fence
    action: str | None   # "run", "skip" or None (unmarked)
    reason: str


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block with its language, code (dedented) and marker."""
    lines = text.splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = len(m.group(1)), m.group(2)
        start = i
        i += 1
        body = []
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        i += 1
        marker = MARKER.match(lines[start - 1]) if start else None
        out.append(Block(lang=lang, code="\n".join(body) + "\n", line=start + 1,
                         action=marker.group(1) if marker else None,
                         reason=marker.group(2) if marker else ""))
    return out


BLOCKS = readme_blocks(README.read_text())


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["ABM_PROGRESS"] = "0"
    env.pop("HYDRA_FULL_ERROR", None)
    env.pop("PYTHONPATH", None)
    return env


def _checkout_files() -> list[str]:
    proc = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others",
                           "--exclude-standard"], capture_output=True, check=True)
    return sorted({f for f in proc.stdout.decode().split("\0") if f})


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A fresh copy of the checkout with this checkout's .venv linked in."""
    root = tmp_path_factory.mktemp("readme") / "compute-abm"
    for rel in _checkout_files():
        src = REPO / rel
        if src.is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, root / rel)
    (root / ".venv").symlink_to(REPO / ".venv", target_is_directory=True)
    return root


def _complete_runs(directory: Path) -> list[Path]:
    return sorted(p.parent for p in directory.rglob("manifest.json")
                  if json.loads(p.read_text()).get("status") == "complete")


def test_every_block_is_marked():
    unmarked = [b.line for b in BLOCKS if b.lang in RUNNABLE and b.action is None]
    assert not unmarked, (f"README.md blocks at lines {unmarked} have no "
                          "<!-- readme-test: run --> or <!-- readme-test: skip (reason) --> "
                          "marker on the line above")
    for b in BLOCKS:
        if b.action == "skip":
            assert b.reason.startswith("(") and len(b.reason) > 5, f"line {b.line}: why skip?"
    assert sum(b.action == "run" for b in BLOCKS) >= 5


def test_the_readme_links_no_missing_design_doc():
    text = README.read_text()
    assert "DESIGN.md" not in text
    assert "(docs/model.md)" in text


@pytest.mark.slow
def test_readme_blocks_run_as_printed(checkout):
    ran = 0
    for block in BLOCKS:
        if block.action != "run":
            continue
        if block.lang == "bash":
            cmd = ["bash", "-euo", "pipefail", "-c", block.code]
        elif block.lang == "python":
            cmd = [str(checkout / ".venv" / "bin" / "python"), "-c", block.code]
        else:
            continue
        proc = subprocess.run(cmd, cwd=checkout, env=_env(), capture_output=True, text=True,
                              timeout=BLOCK_TIMEOUT_S)
        assert proc.returncode == 0, (f"README.md block at line {block.line} failed "
                                      f"({proc.returncode}):\n{block.code}\n--- stderr:\n"
                                      f"{proc.stderr[-4000:]}")
        ran += 1
    assert ran >= 5
    out = checkout / "outputs"
    # what the blocks promise
    assert (out / "runs" / "quicklook" / "energy_shock" / "report.png").is_file()
    assert (out / "compare.png").is_file()
    assert [p.parent.name for p in _complete_runs(out / "runs" / "energy_shock")
            if "quicklook" not in p.parts] == ["months=36,seed=4,size=small"]
    assert _complete_runs(out / "runs" / "baseline")[0].parent.name == "default"
    named = {p.parent.name for p in _complete_runs(out / "runs" / "baseline")}
    assert "demand.elasticity=0.4,months=24,open_source.lag_months=12,size=small" in named
    assert len(_complete_runs(out / "multirun" / "demo")) == 4
    assert len(_complete_runs(out / "multirun" / "demo-joblib")) == 4  # its own directory
    assert (out / "multirun" / "demo" / "summary.parquet").is_file()
    assert (checkout / "outputs" / "demo.parquet").is_file()


def _venv_ready_for(extras: str) -> bool:
    """True when scripts/setup.sh would install nothing for ``extras`` (a stamp for them or
    a superset, newer than pyproject.toml): only then may `make` run against the linked
    .venv without reinstalling into it."""
    want = set(extras.split(","))
    py = REPO / "pyproject.toml"
    for stamp in (REPO / ".venv").glob(".installed-*"):
        have = set(stamp.name.removeprefix(".installed-").split(","))
        if want <= have and stamp.stat().st_mtime > py.stat().st_mtime:
            return True
    return False


@pytest.mark.slow
def test_make_run_ends_with_the_summary_table(checkout):
    if not _venv_ready_for("dev"):
        pytest.skip("the .venv is older than pyproject.toml: run `make setup-test` first")
    proc = subprocess.run(["make", "run"], cwd=checkout, env=_env(), capture_output=True,
                          text=True, timeout=BLOCK_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.rstrip().splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.startswith("metric "))
    assert lines[header].split()[-3:] == ["2025-01", "2030-01", "2035-12"]
    assert lines[header - 1].startswith("baseline (size default, seed 0, 132 months): ")
    assert "outputs/runs/baseline/default/" in lines[header - 1]
    from abm.summary import HEADLINE

    table = lines[header + 2:]
    assert table and all(len(ln.split()) >= 4 for ln in table)
    assert table[0].startswith(HEADLINE[0].label)
    assert len(table) >= 10  # nothing printed after the table but its rows
