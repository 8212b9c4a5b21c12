"""The Hydra app behind ``python -m abm`` and the ``abm`` console script.

``main()`` first expands and checks every job the command line asks for (a "preflight", see
:mod:`abm.preflight`: every sweep source, every job, the world and data it describes, where
it writes), so a wrong type, an unknown key, an unknown scenario or nation, an out-of-range
value or a contradictory label stops the command with one short paragraph on stderr and
exit code 2 before Hydra creates any directory. Then it hands
over to Hydra, whose task function (:func:`task`) runs the model through
:func:`abm.outputs.execute`, which writes the tables and a manifest into the job's output
directory and skips a run whose directory already holds a complete run of the same config.

The config directory is the repository's top-level ``conf/`` (found relative to this
package, which is how ``pip install -e .`` / ``make`` install it); a copy at ``abm/conf/``
(package data, for wheels) or ``$ABM_CONF_DIR`` is used instead when present.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from abm.config import ConfigError, schema_node, validate
from abm.preflight import Plan, PreflightError, explain, preflight

__all__ = ["CONF_DIR", "EXIT_CONFIG", "Plan", "PreflightError", "SweepProgress", "explain",
           "find_conf_dir", "main", "preflight", "subdir_name", "task"]

log = logging.getLogger("abm")

EXIT_CONFIG = 2
_SUBDIR_MAX = 120


# --------------------------------------------------------------------------- config dir
def find_conf_dir() -> Path:
    """The directory holding ``config.yaml``: $ABM_CONF_DIR, ``<repo>/conf``, ``abm/conf``."""
    pkg = Path(__file__).resolve().parent
    candidates = [Path(os.environ["ABM_CONF_DIR"])] if os.environ.get("ABM_CONF_DIR") else []
    candidates += [pkg.parent / "conf", pkg / "conf"]
    for cand in candidates:
        if (cand / "config.yaml").is_file():
            return cand.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise SystemExit(f"abm: no config directory with config.yaml found (tried {tried}); "
                     "run from a checkout installed with `pip install -e .` or set ABM_CONF_DIR.")


CONF_DIR = find_conf_dir()
ConfigStore.instance().store(name="run_schema", node=schema_node())


def subdir_name(override_dirname: str) -> str:
    """A sweep job's subdirectory: its sorted overrides (``scenario=x,seed=0``), made
    filesystem-safe without making two jobs share one: ``%`` and ``/`` (and NUL) are
    percent-escaped (``a/b`` -> ``a%2Fb``, so ``a/b`` and ``a_b`` stay apart), and names
    longer than 120 characters are shortened with a hash of the full name."""
    import hashlib

    name = (override_dirname.replace("%", "%25").replace("/", "%2F").replace("\0", "%00")
            or "default")
    if os.sep != "/":  # pragma: no cover - Windows
        name = name.replace(os.sep, "%5C")
    if name in (".", ".."):
        name = name.replace(".", "%2E")
    if len(name) > _SUBDIR_MAX:
        digest = hashlib.sha256(override_dirname.encode()).hexdigest()[:12]
        name = f"{name[:_SUBDIR_MAX - 13]}-{digest}"
    return name


def run_subdir_name(override_dirname: str) -> str:
    """A single run's directory under ``outputs/runs/<scenario>/``: its overrides as for
    :func:`subdir_name`, less ``scenario=...`` (already in the path); ``default`` for none."""
    rest = re.sub(r"(?:^|,)scenario=[A-Za-z0-9_.-]+(?=,|$)", "", override_dirname).lstrip(",")
    return subdir_name(rest)


OmegaConf.register_new_resolver("abm_subdir", subdir_name, replace=True)
OmegaConf.register_new_resolver("abm_run_subdir", run_subdir_name, replace=True)


# --------------------------------------------------------------------------- progress
def _progress_enabled(multirun: bool) -> bool:
    flag = os.environ.get("ABM_PROGRESS", "").strip().lower()
    if flag in ("0", "false", "no", "off"):
        return False
    if flag in ("1", "true", "yes", "on"):
        return True
    return not multirun and sys.stderr.isatty()


class _MonthBar:
    """A tqdm bar over months (to stderr), created lazily on the first callback."""

    def __init__(self, enabled: bool, label: str) -> None:
        self.enabled, self.label, self.bar = enabled, label, None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.label, unit="month", file=sys.stderr,
                            dynamic_ncols=True, leave=True)
        self.bar.update(max(0, done - self.bar.n))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


PROGRESS_DIR = ".progress"  # inside a sweep dir: one marker per job finished in this sweep


def _count_statuses(sweep_dir: Path) -> dict[str, int]:
    from abm.outputs import MANIFEST, read_manifest

    counts: dict[str, int] = {}
    if not sweep_dir.is_dir():
        return counts
    for path in sweep_dir.rglob(MANIFEST):
        status = (read_manifest(path.parent) or {}).get("status", "unreadable")
        counts[status] = counts.get(status, 0) + 1
    return counts


class SweepProgress(Callback):
    """Hydra callback: one "[k/N] done" line per finished job of a multirun, and a summary.

    Jobs may run in other processes or hosts (joblib, Ray, SLURM), so each finished job drops
    a marker file in ``<sweep dir>/.progress/`` and k counts the markers.
    """

    def __init__(self) -> None:
        self.tic = time.perf_counter()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        import shutil

        self.tic = time.perf_counter()
        sweep_dir = Path(config.hydra.sweep.dir).resolve()
        shutil.rmtree(sweep_dir / PROGRESS_DIR, ignore_errors=True)
        total = os.environ.get("ABM_SWEEP_TOTAL", "?")
        log.info("sweep of %s runs into %s", total, sweep_dir)

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        from hydra.core.utils import JobStatus
        from hydra.types import RunMode

        if config.hydra.mode != RunMode.MULTIRUN:
            return
        ok = job_return.status == JobStatus.COMPLETED
        value = job_return._return_value if ok else None
        skipped = isinstance(value, dict) and value.get("skipped")
        state = "skipped (already complete)" if skipped else ("complete" if ok else "FAILED")
        markers = Path(config.hydra.sweep.dir) / PROGRESS_DIR
        try:
            markers.mkdir(parents=True, exist_ok=True)
            (markers / subdir_name(config.hydra.job.override_dirname)).write_text(state)
            done = str(sum(1 for _ in markers.iterdir()))
        except OSError:
            done = "?"
        total = os.environ.get("ABM_SWEEP_TOTAL", "?")
        overrides = " ".join(config.hydra.overrides.task) or "(no overrides)"
        log.info("[%s/%s] done: %s: %s", done, total, overrides, state)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir).resolve()
        counts = _count_statuses(sweep_dir)
        other = sum(v for k, v in counts.items() if k not in ("complete", "failed"))
        log.info("sweep finished in %.1f s: %d complete, %d failed, %d incomplete in %s; "
                 "summarise with: python -m abm.collect %s", time.perf_counter() - self.tic,
                 counts.get("complete", 0), counts.get("failed", 0), other, sweep_dir,
                 sweep_dir)


# --------------------------------------------------------------------------- task
def quiet_mesa() -> None:
    """Silence Mesa's per-step INFO logging (its loggers are named "MESA.*")."""
    for name in ("MESA", "mesa"):
        logging.getLogger(name).setLevel(logging.WARNING)


def print_summary(run_dir: Path) -> None:
    """Print the headline metrics of a finished single run to stdout (abm.summary)."""
    from abm.summary import summarise_run

    try:
        text = summarise_run(run_dir)
    except Exception as exc:  # the run itself is complete; never fail it over the summary
        log.warning("no summary for %s: %s", run_dir, exc)
        return
    print(text, flush=True)


def task(cfg: DictConfig) -> dict[str, Any]:
    """Hydra task function: validate, run (or skip) and write one run's outputs."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from abm.outputs import execute

    quiet_mesa()
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    overrides = list(hc.overrides.task)
    multirun = hc.mode == RunMode.MULTIRUN
    try:
        run_cfg = validate(cfg)
    except ConfigError as exc:
        import contextlib

        from abm.outputs import RunDirBusy, run_dir_lock, write_manifest

        with contextlib.suppress(RunDirBusy), run_dir_lock(run_dir):  # never over a live run
            write_manifest(run_dir, {"status": "failed", "overrides": overrides,
                                     "seed": OmegaConf.select(cfg, "seed"),
                                     "scenario": OmegaConf.select(cfg, "scenario.name"),
                                     "size": OmegaConf.select(cfg, "size.name"),
                                     "error": f"ConfigError: {exc}"})
        raise
    bar = _MonthBar(_progress_enabled(multirun), f"{run_cfg.scenario.name} seed={run_cfg.seed}")
    try:
        manifest = execute(run_cfg, run_dir, overrides, progress=bar)
    finally:
        bar.close()
    if not manifest.get("skipped"):
        log.info("run %s in %.1f s -> %s", manifest["status"], manifest["wall_time_s"], run_dir)
    if not multirun:
        print_summary(run_dir)
    return {"status": manifest["status"], "run_dir": str(run_dir),
            "skipped": bool(manifest.get("skipped"))}


def _report(message: str) -> None:
    text = (f"abm: invalid configuration: {message.rstrip('.')}. Nothing was run. "
            "See `python -m abm --help` and conf/ for the allowed keys and options.")
    print(textwrap.fill(text, width=100), file=sys.stderr)


# --------------------------------------------------------------------------- entry point
def answer_informational(argv: Sequence[str]) -> bool:
    """Print ``--help`` (every key with unit, range and meaning) or ``--list-scenarios``
    (abm.cli_help) and return True; False for any other command line."""
    from abm import cli_help

    try:
        text = cli_help.respond(argv, CONF_DIR)
    except Exception as exc:
        _report(explain(exc, argv))
        raise SystemExit(EXIT_CONFIG) from None
    if text is None:
        return False
    print(text, end="")
    return True


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry: preflight the command line, then run it as a Hydra app."""
    import hydra
    from hydra._internal.utils import get_args_parser

    argv = list(sys.argv[1:] if argv is None else argv)
    if answer_informational(argv):
        return
    args, _ = get_args_parser().parse_known_args(argv)
    if (args.help or args.cfg == "job") and not args.resolve:
        # parameters at their default are \${abm_default:...} interpolations (see
        # abm.config.schema_node); --help and --cfg job show their values
        argv.append("--resolve")
    informational = any(getattr(args, name, None) for name in (
        "help", "hydra_help", "cfg", "info", "shell_completion", "experimental_rerun"))
    if not informational:
        try:
            plan = preflight(list(args.overrides), bool(args.multirun),
                             args.config_name or "config", config_path=args.config_path,
                             config_dir=args.config_dir)
        except PreflightError as exc:
            _report(str(exc))
            raise SystemExit(EXIT_CONFIG) from None
        os.environ["ABM_SWEEP_TOTAL"] = str(plan.total)
        os.environ["ABM_PREFLIGHT_JOBS"] = plan.digest
    quiet_mesa()
    app = hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")(task)
    old_argv = sys.argv
    sys.argv = [old_argv[0] if old_argv else "abm", *argv]
    try:
        app()
    finally:
        sys.argv = old_argv


if __name__ == "__main__":  # pragma: no cover
    main()
