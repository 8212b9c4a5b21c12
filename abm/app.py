"""The Hydra app behind ``python -m abm`` and the ``abm`` console script.

``main()`` first composes and validates every job the command line asks for (a "preflight":
one composition per job of a sweep, or per swept value for large sweeps), so a wrong type,
an unknown key, an unknown scenario or an out-of-range value stops the command with one
short paragraph on stderr and exit code 2 before Hydra creates any directory. Then it hands
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

from abm.config import ConfigError, RunConfig, validate

log = logging.getLogger("abm")

EXIT_CONFIG = 2
PREFLIGHT_FULL_LIMIT = 64  # compose every job of sweeps up to this size; larger: each value
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
ConfigStore.instance().store(name="run_schema", node=RunConfig)


def subdir_name(override_dirname: str) -> str:
    """A sweep job's subdirectory: its sorted overrides (``scenario=x,seed=0``), made
    filesystem-safe; long ones are shortened with a hash so they stay unique and stable."""
    import hashlib

    name = override_dirname.replace(os.sep, "_").replace("\0", "") or "default"
    if len(name) > _SUBDIR_MAX:
        digest = hashlib.sha256(name.encode()).hexdigest()[:12]
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
        from abm.outputs import write_manifest

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


# --------------------------------------------------------------------------- preflight
class PreflightError(Exception):
    """A command line that cannot run; the message is one paragraph for the user."""


def _group_options(group: str) -> list[str]:
    from hydra.core.global_hydra import GlobalHydra

    try:
        loader = GlobalHydra.instance().config_loader()
        return sorted(loader.get_group_options(group))
    except Exception:  # pragma: no cover - only used for messages
        return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def _allowed_keys(key: str) -> str:
    """Allowed keys next to ``key`` (e.g. the fields of ``demand`` for ``demand.foo``)."""
    import dataclasses

    parent = key.rpartition(".")[0]
    node: Any = RunConfig
    for part in [p for p in parent.split(".") if p]:
        fields = {f.name: f for f in dataclasses.fields(node)} if dataclasses.is_dataclass(
            node) else {}
        if part not in fields:
            return ""
        default = fields[part].default_factory  # type: ignore[misc]
        node = default() if callable(default) else None
    if not dataclasses.is_dataclass(node):
        return ""
    names = sorted(f.name for f in dataclasses.fields(node))
    where = f"in '{parent}'" if parent else "at the top level"
    return f"allowed keys {where}: {', '.join(names)}"


def _explain(exc: BaseException, overrides: Sequence[str]) -> str:
    """Turn a composition or validation error into one short paragraph."""
    from hydra.errors import (
        ConfigCompositionException,
        MissingConfigException,
        OverrideParseException,
    )
    from omegaconf.errors import (
        ConfigAttributeError,
        ConfigKeyError,
        OmegaConfBaseException,
        ValidationError,
    )

    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, MissingConfigException):
        missing = exc.missing_cfg_file or ""
        group, _, name = missing.rpartition("/")
        if group:
            options = exc.options or _group_options(group)
            hint = ""
            if group == "hydra/launcher" and name.startswith("ray"):
                hint = " (the Ray launcher is optional: pip install -e '.[ray]')"
            return (f"{group}={name}: unknown {group.rpartition('/')[2]}{hint}; allowed: "
                    f"{', '.join(options)}")
        return _first_line(str(exc))
    if isinstance(exc, OverrideParseException):
        return f"cannot parse the command line: {_first_line(str(exc))}"
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, OmegaConfBaseException):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ConfigAttributeError | ConfigKeyError | ValidationError):
        key = getattr(cause, "full_key", None) or _key_from(str(exc))
        if isinstance(cause, ConfigAttributeError | ConfigKeyError):
            if str(key).startswith("hydra."):
                return (f"{key}: unknown key; to add a key to Hydra's settings (e.g. a launcher "
                        f"option such as ray.init.num_cpus), prefix it with '+': +{key}=...")
            allowed = _allowed_keys(key) if key else ""
            return f"{key}: unknown key; {allowed or 'see conf/config.yaml for the keys'}"
        msg = _first_line(str(cause))
        value = getattr(cause, "value", None)
        kind = _expected_kind(msg)
        if kind:
            return f"{key}: expected {kind}, got {value!r}"
        return f"{key}: {msg}"
    if isinstance(exc, ConfigCompositionException):
        return _first_line(str(exc))
    return f"{type(exc).__name__}: {_first_line(str(exc))}"


def _expected_kind(msg: str) -> str:
    for pattern, kind in (("converted to Integer", "an integer"), ("converted to Float",
                          "a number"), ("valid bool", "true or false"), ("converted to String",
                          "a string"), ("is not a ListConfig", "a list, e.g. [a,b]"),
                          ("is not a DictConfig", "a mapping")):
        if pattern in msg:
            return kind
    return ""


def _key_from(message: str) -> str:
    match = re.search(r"override '([^']+)'", message)
    return match.group(1) if match else "?"


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0] if lines else text


def _jobs(overrides: list[str], multirun: bool) -> list[list[str]]:
    """The override lists of the jobs a command line asks for (a cover of large sweeps)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    sweeps = [o for o in parsed if o.is_sweep_override()]
    if sweeps and not multirun:
        keys = ", ".join(o.get_key_element() for o in sweeps)
        raise PreflightError(f"{keys}: a list of values sweeps; add --multirun (-m) to run one "
                             "job per value, or give a single value")
    if not sweeps:
        return [list(overrides)]
    batches = BasicSweeper.split_arguments(parsed, None)[0]
    if len(batches) <= PREFLIGHT_FULL_LIMIT:
        return [list(b) for b in batches]
    # Large sweep: every value of every key once, the other keys at their first value.
    per_key = [BasicSweeper.split_arguments([o], None)[0] for o in parsed]
    first = [values[0][0] for values in per_key]
    jobs = [first]
    for i, values in enumerate(per_key):
        jobs.extend([*first[:i], v[0], *first[i + 1:]] for v in values[1:])
    return jobs


def sweep_size(overrides: list[str]) -> int:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    total = 1
    for o in OverridesParser.create().parse_overrides(overrides):
        if o.is_discrete_sweep():
            total *= len(list(o.sweep_string_iterator()))
    return total


def preflight(overrides: list[str], multirun: bool, config_name: str = "config") -> int:
    """Compose and validate every job; return the number of jobs, or raise PreflightError."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="abm"):
        try:
            jobs = _jobs(overrides, multirun)
            for job in jobs:
                cfg = compose(config_name=config_name, overrides=job)
                validate(cfg)
        except PreflightError:
            raise
        except Exception as exc:
            raise PreflightError(_explain(exc, overrides)) from exc
    return sweep_size(overrides) if multirun else 1


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
        _report(_explain(exc, argv))
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
    informational = any(getattr(args, name, None) for name in (
        "help", "hydra_help", "cfg", "info", "shell_completion", "experimental_rerun"))
    if not informational and args.config_path is None and args.config_dir is None:
        try:
            total = preflight(list(args.overrides), bool(args.multirun),
                              args.config_name or "config")
        except PreflightError as exc:
            _report(str(exc))
            raise SystemExit(EXIT_CONFIG) from None
        os.environ["ABM_SWEEP_TOTAL"] = str(total)
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
