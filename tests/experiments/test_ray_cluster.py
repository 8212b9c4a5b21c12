"""Issue 12: a sweep on a running Ray cluster gives the basic launcher's tables byte for byte.

The test runs the README's cluster block line by line (``README.md``, the block that starts
with ``# terminal 1: the head node``): a head node (``ray start --head`` on 127.0.0.1), a
second node joining it, a 4-job sweep with ``hydra.launcher.ray.init.address=<that
address>``; then it stops both nodes as Ctrl-C in their terminals does (SIGINT to each
node's process group, the processes this test started and no others) and checks that every
process of the cluster is gone. The only changes to the README's lines: ``.venv/bin/`` is
this interpreter's directory and the relative sweep directory lands in the test's tmp dir.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import TABLE_FILES, abm_env, complete_manifests, run_abm

pytestmark = [pytest.mark.ray, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
HAVE_RAY = (importlib.util.find_spec("ray") is not None
            and importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is not None)


def readme_cluster_lines() -> list[str]:
    """The commands of the README's cluster block (comments dropped), in order."""
    text = (REPO / "README.md").read_text()
    start = text.index("# terminal 1: the head node")
    block = text[start:text.index("```", start)]
    return [ln for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]


def _command(line: str) -> tuple[dict[str, str], list[str]]:
    """(environment assignments, argv) of one README line, .venv/bin/ made absolute."""
    words = shlex.split(line)
    env = {}
    while "=" in words[0] and not words[0].startswith((".", "/")):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    bindir = str(Path(sys.executable).parent) + "/"
    words = [bindir + w[len(".venv/bin/"):] if w.startswith(".venv/bin/") else w
             for w in words]
    return env, words


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _stop(proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Ctrl-C to the node's process group; SIGKILL to that group if it has not exited."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for_nodes(env: dict[str, str], address: str, n: int, timeout: float = 120.0) -> None:
    """Block until ``n`` nodes are alive in the cluster at ``address``."""
    code = ("import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR'); "
            "print(sum(1 for x in ray.nodes() if x['Alive']))")
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run([sys.executable, "-c", code, address], env=env,
                             capture_output=True, text=True, timeout=120)
        if out.returncode == 0 and out.stdout.strip().splitlines()[-1:] == [str(n)]:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{n} nodes not up at {address}: {out.stdout[-500:]} "
                                 f"{out.stderr[-2000:]}")
        time.sleep(2)


@pytest.mark.skipif(not HAVE_RAY, reason="needs the optional ray group: pip install -e '.[ray]'")
def test_sweep_on_a_two_node_ray_cluster_matches_the_basic_launcher(tmp_path):
    head_line, worker_line, sweep_line = readme_cluster_lines()
    head_env, head = _command(head_line)
    worker_env, worker = _command(worker_line)
    sweep_env, sweep = _command(sweep_line)
    address = next(w.split("=", 1)[1] for w in worker if w.startswith("--address="))
    port = int(address.rsplit(":", 1)[1])
    if not _port_free(port):
        pytest.skip(f"port {port} (the README's cluster) is in use on this machine")
    assert f"hydra.launcher.ray.init.address={address}" in sweep
    sweep_args = sweep[sweep.index("abm") + 1:]

    basic = run_abm(*[a for a in sweep_args if "launcher" not in a
                      and not a.startswith("hydra.sweep.dir")],
                    f"hydra.sweep.dir={tmp_path / 'basic'}", cwd=tmp_path, timeout=300)
    assert basic.returncode == 0, basic.stderr[-3000:]

    env = abm_env()
    nodes = []
    try:
        for extra, argv, name in ((head_env, head, "head"), (worker_env, worker, "worker")):
            log = open(tmp_path / f"{name}.log", "w")  # closed with its node
            nodes.append((subprocess.Popen(argv, env={**env, **extra}, cwd=tmp_path,
                                           stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True), log))
            _wait_for_nodes({**env, **extra}, address, len(nodes))
        ray = subprocess.run(sweep, env={**env, **sweep_env}, cwd=tmp_path,
                             capture_output=True, text=True, timeout=600)
        assert ray.returncode == 0, ray.stderr[-3000:]
    finally:
        for proc, log in reversed(nodes):
            _stop(proc)
            log.close()
    for proc, _ in nodes:  # the cluster is stopped: no process of either node is left
        assert proc.returncode is not None
        deadline = time.monotonic() + 30
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(1)
        assert not _group_alive(proc.pid), f"processes of node {proc.pid} still running"
    assert _port_free(port)

    sweep_dir = tmp_path / next(a.split("=", 1)[1] for a in sweep_args
                                if a.startswith("hydra.sweep.dir="))
    runs_basic = complete_manifests(tmp_path / "basic")
    runs_ray = complete_manifests(sweep_dir)
    assert [r.name for r in runs_basic] == [r.name for r in runs_ray] and len(runs_ray) == 4
    for a, b in zip(runs_basic, runs_ray, strict=True):
        for name in TABLE_FILES:
            assert (a / name).read_bytes() == (b / name).read_bytes(), (a.name, name)
