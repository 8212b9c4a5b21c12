"""Writing a run's outputs: parquet tables, the resolved config and a manifest, atomically.

A run directory holds ``global.parquet``, ``nations.parquet``, ``providers.parquet``,
``markets.parquet``, ``config.yaml`` (the resolved, validated config) and ``manifest.json``.
Every file is written to a temporary file in the same directory, fsynced and renamed into
place, so a reader never sees half a file. The manifest is written first with status
``running``, and last with status ``complete`` (listing every file with its sha256) or
``failed`` (with the error): a run is complete only when its manifest says so.

Tables are written with fixed pyarrow settings and no index, so the same config and seed
give byte-identical parquet files; only the manifest's timings differ between two runs.

One run at a time writes into a directory: :func:`execute` holds an exclusive lock on
``<run dir>/.lock`` (``filelock``, an OS-level lock released when the process ends, even if
killed) for the whole run, and a second run into the same directory stops at once with
:class:`RunDirBusy` instead of both "succeeding" with one result lost.
:func:`verify_run` checks every file against the sha256 the manifest lists.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import platform
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from abm.threads import RUN_THREADS

log = logging.getLogger(__name__)

TABLES = ("global", "nations", "providers", "markets")
MANIFEST = "manifest.json"
CONFIG = "config.yaml"
LOCK = ".lock"
OUTPUT_FILES = (*(f"{t}.parquet" for t in TABLES), CONFIG)
MANIFEST_VERSION = 1
PACKAGES = ("numpy", "scipy", "pandas", "mesa", "hydra-core", "omegaconf", "pyarrow",
            "compute-abm")
# Fixed writer settings: part of what makes the tables byte-identical across runs.
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "version": "2.6",
    "use_dictionary": True,
    "write_statistics": True,
    "data_page_size": 1 << 20,
}


# --------------------------------------------------------------------------- atomic files
def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same dir, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, _FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def parquet_bytes(df: pd.DataFrame) -> bytes:
    """Serialise ``df`` (without its index) to parquet with fixed, deterministic settings."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    buf = io.BytesIO()
    pq.write_table(table, buf, **PARQUET_OPTIONS)
    return buf.getvalue()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- provenance
def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=True, default=str)


def config_hash(config: dict[str, Any]) -> str:
    """sha256 of what a run computes from: the resolved config (a plain dict) and the
    content of every calibration table it reads.

    The tables are the packaged ones, or those of the config's ``data_dir``
    (:func:`abm.calibration.fingerprint`); the data_dir's path is left out, so moving a
    data directory keeps the hash while editing any table (packaged or not) changes it, and
    a resumed sweep re-runs what an edit made stale.
    """
    from abm.calibration import fingerprint

    tables = fingerprint(config.get("data_dir"))["tables"]
    identity = {"config": {k: v for k, v in config.items() if k != "data_dir"},
                "calibration": {name: meta["sha256"] for name, meta in tables.items()}}
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()


@cache
def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@cache
def git_info() -> dict[str, Any]:
    """Commit and dirty flag of the checkout this package runs from ("unknown" outside one)."""
    root = Path(__file__).resolve().parent.parent
    info: dict[str, Any] = {"commit": "unknown", "dirty": None}
    if not (root / ".git").exists():
        return info
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], env=env,
                                capture_output=True, text=True, timeout=10, check=True)
        info["commit"] = commit.stdout.strip() or "unknown"
        status = subprocess.run(["git", "-C", str(root), "--no-optional-locks", "status",
                                 "--porcelain", "--untracked-files=no"], env=env,
                                capture_output=True, text=True, timeout=10, check=True)
        info["dirty"] = bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return info


class RunDirBusy(RuntimeError):
    """Another process is writing a run into this directory right now."""


@contextlib.contextmanager
def run_dir_lock(run_dir: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the exclusive lock of ``run_dir`` (see the module doc), or raise RunDirBusy."""
    from filelock import FileLock, Timeout

    path = Path(run_dir) / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RunDirBusy(f"{Path(run_dir)}: another run is writing into this directory right "
                         f"now (it holds {path}); wait for it to finish, or give this run its "
                         "own directory (hydra.run.dir=...)") from None
    try:
        yield
    finally:
        lock.release()


def read_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest of ``run_dir``, or None when there is none or it cannot be read."""
    path = Path(run_dir) / MANIFEST
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_manifest(run_dir: str | os.PathLike[str], manifest: dict[str, Any]) -> None:
    data = json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n"
    atomic_write_bytes(Path(run_dir) / MANIFEST, data.encode())


def verify_run(run_dir: str | os.PathLike[str], verify: bool = True) -> tuple[str, str]:
    """``(status, detail)`` of a run directory, checking its files against its manifest.

    ``status`` is the manifest's (``running``, ``failed``, ...) unless it says complete:
    then ``complete`` if every listed file exists with its recorded size and (``verify``)
    sha256, ``incomplete`` if a file is missing, ``corrupt`` if one differs. ``detail``
    names the first file that does not match ('' otherwise). ``unreadable`` when there is
    no readable manifest.
    """
    manifest = read_manifest(run_dir)
    if not manifest:
        return "unreadable", f"{MANIFEST} is missing or not JSON"
    status = str(manifest.get("status", "unknown"))
    if status != "complete":
        return status, ""
    files = manifest.get("files") or {}
    missing = sorted(set(OUTPUT_FILES) - set(files))
    if missing:
        return "incomplete", f"the manifest lists no {', '.join(missing)}"
    for name in sorted(files):
        if not (Path(run_dir) / name).is_file():
            return "incomplete", f"{name} is missing"
    for name, meta in sorted(files.items()):
        path = Path(run_dir) / name
        size = path.stat().st_size
        if size != meta.get("bytes"):
            return "corrupt", f"{name} has {size} bytes, the manifest says {meta.get('bytes')}"
        if verify and sha256_file(path) != meta.get("sha256"):
            return "corrupt", f"{name} does not match its sha256 in the manifest"
    return "complete", ""


def is_complete(run_dir: str | os.PathLike[str], expected_hash: str | None = None,
                verify: bool = True) -> bool:
    """True when ``run_dir`` holds a complete manifest (with ``expected_hash`` if given) and
    every file it lists exists with the recorded sha256 (``verify``) or size."""
    manifest = read_manifest(run_dir)
    if not manifest or manifest.get("status") != "complete":
        return False
    if expected_hash is not None and manifest.get("config_hash") != expected_hash:
        return False
    return verify_run(run_dir, verify)[0] == "complete"


# --------------------------------------------------------------------------- one run
def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def execute(cfg: Any, run_dir: str | os.PathLike[str], overrides: Sequence[str] = (),
            progress: Callable[[int, int], None] | None = None,
            run_fn: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Run the model for ``cfg`` (a validated RunConfig) and write its outputs to ``run_dir``.

    Skips the run (and returns the existing manifest) when ``run_dir`` already holds a
    complete run with the same config hash. ``run_fn`` defaults to :func:`abm.run.run`.
    Returns the final manifest; re-raises the model's exception after recording it.

    Raises
    ------
    RunDirBusy
        If another process is running into ``run_dir`` (nothing is touched then).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_dir_lock(run_dir):
        return _execute(cfg, run_dir, overrides, progress, run_fn)


def _execute(cfg: Any, run_dir: Path, overrides: Sequence[str],
             progress: Callable[[int, int], None] | None,
             run_fn: Callable[..., Any] | None) -> dict[str, Any]:
    from omegaconf import OmegaConf

    from abm.calibration import fingerprint
    from abm.config import to_dict

    resolved = to_dict(cfg)
    digest = config_hash(resolved)
    calibration = fingerprint(resolved.get("data_dir"))
    if is_complete(run_dir, digest):
        log.info("skipping complete run %s (config %s)", run_dir, digest[:12])
        manifest = read_manifest(run_dir) or {}
        manifest["skipped"] = True
        return manifest

    if run_fn is None:
        from abm.run import run as run_fn

    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "status": "running",
        "seed": cfg.seed,
        "months": cfg.months,
        "scenario": cfg.scenario.name,
        "size": cfg.size.name,
        "overrides": list(overrides),
        "config_hash": digest,
        "calibration": calibration,
        "versions": package_versions(),
        "git": git_info(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "threads": {"run_threads": RUN_THREADS, "ABM_THREADS": os.environ.get("ABM_THREADS")},
        "started_at": _now(),
        "finished_at": None,
        "wall_time_s": None,
        "files": {},
        "error": None,
    }
    # Leave nothing that looks complete from an earlier attempt while this one runs.
    write_manifest(run_dir, manifest)
    for name in OUTPUT_FILES:
        (run_dir / name).unlink(missing_ok=True)

    tic = time.perf_counter()
    try:
        result = run_fn(cfg, progress=progress)
        files: dict[str, dict[str, Any]] = {}
        missing = [t for t in TABLES if t not in result.tables]
        if missing:
            raise RuntimeError(f"the model returned no table(s) {missing}")
        for name in TABLES:
            data = parquet_bytes(result.tables[name])
            atomic_write_bytes(run_dir / f"{name}.parquet", data)
            files[f"{name}.parquet"] = {"sha256": sha256_bytes(data), "bytes": len(data),
                                        "rows": len(result.tables[name])}
        data = OmegaConf.to_yaml(OmegaConf.create(resolved)).encode()
        atomic_write_bytes(run_dir / CONFIG, data)
        files[CONFIG] = {"sha256": sha256_bytes(data), "bytes": len(data)}
        manifest.update(files=files, timings=dict(getattr(result, "timings", {}) or {}))
        manifest["threads"].update(getattr(result, "threads", {}) or {})
    except BaseException as exc:
        manifest.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                        finished_at=_now(), wall_time_s=round(time.perf_counter() - tic, 3))
        try:
            write_manifest(run_dir, manifest)
        except OSError:  # pragma: no cover - the original error matters more
            log.exception("could not record the failure in %s", run_dir / MANIFEST)
        raise
    manifest.update(status="complete", finished_at=_now(),
                    wall_time_s=round(time.perf_counter() - tic, 3))
    write_manifest(run_dir, manifest)
    return manifest
