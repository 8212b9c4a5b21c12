"""Preflight: expand every job a command line asks for, and check each one, before Hydra runs.

:func:`preflight` composes the command line the way Hydra will (the same config search path,
including ``--config-path`` / ``--config-dir``, the same run mode), expands the jobs of a
multirun from *every* sweep source with Hydra's own parser and the configured sweeper's own
rules (command line, an experiment's ``hydra.sweeper.params``, ``glob(...)``/``range(...)``,
the ``abm_sobol`` sample file or drawn sample), and checks each job:

- its config composes and passes :func:`abm.config.validate` (types, ranges, the data
  directory, the world: nations that exist and someone to sell tokens);
- a group's label agrees with the group chosen (``scenario.name`` is the ``scenario``
  option, ``size.name`` the ``size`` option);
- it writes somewhere: a non-empty ``hydra.run.dir`` (single run), one ``hydra.sweep.dir``
  for the whole sweep (not one per swept value) and a different, non-empty subdirectory per
  job; neither directory is the current one or its ancestor, an existing non-directory, or
  a path that cannot be created (:func:`check_output_dir`);
- no unknown direct key in the launcher's or sweeper's settings (``hydra.launcher.njobs``
  gets "did you mean `n_jobs`?", also when added with ``+``).

Jobs that differ only in plain ``key=value`` overrides share one composition, to which the
values are applied with Hydra's own override code, so checking thousands of jobs takes
seconds. Any problem raises :class:`PreflightError` with one paragraph for the user; nothing
has been created then.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from abm.config import ConfigError, RunConfig, validate

SCHEMA_GROUPS = ("scenario", "size")  # groups whose option must equal the config's `name`
SETTINGS_NODES = ("hydra.launcher", "hydra.sweeper")


class PreflightError(Exception):
    """A command line that cannot run; the message is one paragraph for the user."""


@dataclass
class Plan:
    """What a checked command line will run: one override list per job."""

    jobs: list[list[str]]
    multirun: bool
    sweeper: str

    @property
    def total(self) -> int:
        return len(self.jobs)

    @property
    def digest(self) -> str:
        """sha256 of the job list: a sweeper that finds the same jobs need not check them
        again (``$ABM_PREFLIGHT_JOBS``, set by ``python -m abm``)."""
        return jobs_digest(self.jobs)


def jobs_digest(jobs: Sequence[Sequence[str]]) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps([list(j) for j in jobs]).encode()).hexdigest()


# --------------------------------------------------------------------------- Hydra session
@contextlib.contextmanager
def hydra_session(conf_dir: Path, config_path: str | None = None,
                  config_dir: str | None = None) -> Iterator[Any]:
    """A Hydra instance on the search path ``python -m abm`` will use (restored on exit).

    Mirrors ``hydra._internal.utils._run_hydra``: the primary config path (``--config-path``
    or the app's ``conf_dir``) and an additional ``--config-dir`` prepended before the
    schema provider.
    """
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import (
        create_automatic_config_search_path,
        detect_calling_file_or_module_from_task_function,
    )
    from hydra.core.config_search_path import SearchPathQuery
    from hydra.core.global_hydra import GlobalHydra
    from hydra.initialize import get_gh_backup, restore_gh_from_backup

    from abm.app import task

    backup = get_gh_backup()
    try:
        GlobalHydra.instance().clear()
        calling_file, calling_module = detect_calling_file_or_module_from_task_function(task)
        search_path = create_automatic_config_search_path(
            calling_file, calling_module, config_path if config_path else str(conf_dir))
        if config_dir is not None:
            abs_dir = Path(config_dir).expanduser().resolve()
            if not abs_dir.is_dir():
                raise PreflightError(f"--config-dir {config_dir}: no such directory")
            search_path.prepend(provider="command-line", path=f"file://{abs_dir}",
                                anchor=SearchPathQuery(provider="schema"))
        yield Hydra.create_main_hydra2(task_name="abm", config_search_path=search_path)
    finally:
        restore_gh_from_backup(backup)


# --------------------------------------------------------------------------- expansion
def _parser(loader: Any) -> Any:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create(config_loader=loader)


def expand(master: DictConfig, loader: Any, overrides: Sequence[str],
           multirun: bool) -> tuple[list[list[str]], str]:
    """(job override lists, sweeper name) of a composed master config."""
    if not multirun:
        return [list(overrides)], "none"
    target = str(OmegaConf.select(master, "hydra.sweeper._target_", default="") or "")
    arguments = [str(a) for a in master.hydra.overrides.task]
    if target.endswith("BasicSweeper"):
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

        params = OmegaConf.select(master, "hydra.sweeper.params", default=None) or {}
        params_conf = [f"{k}={v}" for k, v in params.items()]
        parsed = _parser(loader).parse_overrides([*params_conf, *arguments])
        return [list(job) for job in BasicSweeper.split_arguments(parsed, None)[0]], "basic"
    if target.endswith("SobolSweeper"):
        from analysis.sobol_sweeper import draw_samples, job_overrides, read_samples

        sweeper = master.hydra.sweeper
        try:
            if sweeper.samples:
                names, rows = read_samples(Path(str(sweeper.samples)).expanduser())
            elif sweeper.parameters:
                names, rows = draw_samples(list(sweeper.parameters), int(sweeper.n),
                                           int(sweeper.sample_seed),
                                           bool(sweeper.calc_second_order),
                                           OmegaConf.select(master, "data_dir"))
            else:
                raise ValueError("give hydra.sweeper.samples=<csv> or a list of "
                                 "hydra.sweeper.parameters to sample")
            return job_overrides(arguments, names, rows), "abm_sobol"
        except (ValueError, OSError) as exc:
            raise PreflightError(f"abm_sobol sweeper: {exc}") from None
    # A sweeper this preflight does not know: check the command line's fixed values only.
    parsed = _parser(loader).parse_overrides(arguments)
    return [[o.input_line for o in parsed if not o.is_sweep_override()]], target


# --------------------------------------------------------------------------- checks
_VALUE_ONLY_HYDRA = ("hydra.sweep.", "hydra.run.", "hydra.job.")


def _is_plain(override: Any, loader: Any) -> bool:
    """A ``key=value`` change of an existing value that cannot change what is composed: no
    config group, no +/++/~ prefix, no package, and among Hydra's settings only directories
    and job settings (the launcher and sweeper settings change the composition)."""
    from hydra.core.override_parser.types import OverrideType

    key = override.key_or_group
    if override.type != OverrideType.CHANGE or override.package is not None or "/" in key:
        return False
    if override.is_hydra_override():
        return key.startswith(_VALUE_ONLY_HYDRA)
    return not loader.repository.group_exists(key)


class JobChecker:
    """Checks the jobs of one command line against one master composition.

    Jobs are grouped by their structural overrides (groups, prefixes, launcher settings),
    each group composed once as Hydra composes a sweep job (``load_sweep_config``); a job's
    plain ``key=value`` overrides are then applied to that composition with Hydra's own code,
    the job is checked, and the values are put back.
    """

    def __init__(self, loader: Any, master: DictConfig, config_name: str, multirun: bool):
        self.loader = loader
        self.master = master
        self.config_name = config_name
        self.multirun = multirun
        self.parser = _parser(self.loader)
        self._bases: dict[tuple[str, ...], DictConfig] = {}
        self._parsed: dict[str, Any] = {}
        self.sweep_dirs: dict[str, list[str]] = {}
        self.subdirs: dict[str, list[str]] = {}

    def _parse(self, job: Sequence[str]) -> list[Any]:
        missing = [line for line in job if line not in self._parsed]
        if missing:
            for line, parsed in zip(missing, self.parser.parse_overrides(missing), strict=True):
                self._parsed[line] = parsed
        return [self._parsed[line] for line in job]

    def _base(self, structural: tuple[str, ...]) -> DictConfig:
        if structural not in self._bases:
            if self.multirun:
                cfg = self.loader.load_sweep_config(self.master, list(structural))
            else:
                cfg = self.master
            self._bases[structural] = cfg
        return self._bases[structural]

    @contextlib.contextmanager
    def _applied(self, cfg: DictConfig, plain: list[Any], parsed: list[Any]) -> Iterator[None]:
        """``cfg`` with the plain overrides applied (and the job's override_dirname), restored
        on exit."""
        from hydra._internal.config_loader_impl import (
            ConfigLoaderImpl,
            get_overrides_dirname,
        )

        saved: list[tuple[DictConfig, str, Any]] = []
        for o in [*plain, "hydra.job.override_dirname"]:
            key = o if isinstance(o, str) else o.key_or_group
            parent_key, _, last = key.rpartition(".")
            parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
            node = parent._get_node(last) if isinstance(parent, DictConfig) else None
            if node is not None:  # (`last in parent` would resolve the value)
                saved.append((parent, last, copy.deepcopy(node)))
        try:
            ConfigLoaderImpl._apply_overrides_to_config(plain, cfg)
            od = cfg.hydra.job.config.override_dirname
            cfg.hydra.job.override_dirname = get_overrides_dirname(
                overrides=[o for o in parsed if not o.is_hydra_override()],
                kv_sep=od.kv_sep, item_sep=od.item_sep, exclude_keys=od.exclude_keys)
            yield
        finally:
            for parent, last, node in reversed(saved):
                parent[last] = node

    def check(self, job: Sequence[str]) -> RunConfig:
        """Compose ``job`` as Hydra will and check it; return its validated config."""
        if not self.multirun:
            cfg = self._base(tuple(job))
            _check_labels(cfg)
            run_cfg = validate(cfg)
            self._check_dirs(cfg, job)
            return run_cfg
        parsed = self._parse(job)
        plain = [o for o in parsed if _is_plain(o, self.loader)]
        structural = tuple(o.input_line for o in parsed if not _is_plain(o, self.loader))
        cfg = self._base(structural)
        with self._applied(cfg, plain, parsed):
            _check_labels(cfg)
            run_cfg = validate(cfg)
            self._check_dirs(cfg, job)
        return run_cfg

    def _check_dirs(self, cfg: DictConfig, job: Sequence[str]) -> None:
        if not self.multirun:
            run_dir = str(OmegaConf.select(cfg, "hydra.run.dir") or "").strip()
            if not run_dir:
                raise ConfigError("hydra.run.dir is empty; the run would write its files into "
                                  "the current directory. Give a directory, e.g. "
                                  "hydra.run.dir=outputs/runs/mine")
            check_output_dir(run_dir, "hydra.run.dir")
            return
        sweep_dir = str(OmegaConf.select(cfg, "hydra.sweep.dir") or "").strip()
        if not sweep_dir:
            raise ConfigError("hydra.sweep.dir is empty; the sweep would write into the current "
                              "directory. Give a directory, e.g. hydra.sweep.dir=outputs/mine")
        if sweep_dir not in self.sweep_dirs:
            check_output_dir(sweep_dir, "hydra.sweep.dir")
        subdir = str(OmegaConf.select(cfg, "hydra.sweep.subdir") or "").strip()
        if not subdir:
            raise ConfigError("hydra.sweep.subdir is empty; every job would write into the "
                              "sweep directory itself")
        self.sweep_dirs.setdefault(sweep_dir, []).append(" ".join(job))
        self.subdirs.setdefault(subdir, []).append(" ".join(job))

    def check_layout(self) -> None:
        """One sweep directory for the whole sweep; one subdirectory per job."""
        if len(self.sweep_dirs) > 1:
            raw = OmegaConf.to_container(self.master.hydra.sweep, resolve=False)["dir"]
            dirs = list(self.sweep_dirs)
            shown = ", ".join(dirs[:3]) + (" ..." if len(dirs) > 3 else "")
            raise ConfigError(
                f"hydra.sweep.dir={raw} depends on a swept value, so this sweep would be split "
                f"over {len(dirs)} directories ({shown}); use one directory for the sweep "
                "(the jobs get their own subdirectories, named by hydra.sweep.subdir)")
        for subdir, jobs in self.subdirs.items():
            if len(jobs) > 1:
                raise ConfigError(
                    f"jobs [{jobs[0]}] and [{jobs[1]}] would write to the same directory "
                    f"{subdir!r} (hydra.sweep.subdir), so one would overwrite the other")

    def check_settings(self, overrides: Sequence[str]) -> None:
        """No unknown direct key in hydra.launcher / hydra.sweeper, however it was added
        (``hydra.launcher.njobs=2`` fails to compose; ``+hydra.launcher.njobs=2`` composes
        and would be ignored by the launcher, so it is refused here)."""
        added = [o for o in overrides if re.match(r"^[+~]*hydra\.(launcher|sweeper)\.", o)]
        if not added:
            return
        rest = [o for o in overrides if o not in added]
        plain = self.loader.load_configuration(self.config_name, rest,
                                               run_mode=_run_mode(self.multirun))
        for node in SETTINGS_NODES:
            have = OmegaConf.select(self.master, node)
            known = OmegaConf.select(plain, node)
            if not isinstance(have, DictConfig) or not isinstance(known, DictConfig):
                continue
            for key in have:
                if key not in known:
                    raise ConfigError(_unknown_setting(f"{node}.{key}", list(known)))


def _unknown_setting(key: str, allowed: list[str]) -> str:
    node, _, name = key.rpartition(".")
    allowed = [a for a in allowed if not str(a).startswith("_")]
    if not allowed:
        kind = node.rpartition(".")[2]
        return (f"{key}: unknown key; the chosen {kind} takes no settings (pick one that does "
                f"first, e.g. hydra/launcher=joblib hydra.launcher.n_jobs=2)")
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    hint = f"did you mean `{close[0]}`? " if close else ""
    return f"{key}: unknown key; {hint}allowed keys in {node}: {', '.join(map(str, allowed))}"


def _check_labels(cfg: DictConfig) -> None:
    """``scenario.name`` must be the chosen scenario option (and ``size.name`` the size)."""
    choices = OmegaConf.select(cfg, "hydra.runtime.choices") or {}
    for group in SCHEMA_GROUPS:
        chosen = choices.get(group)
        name = OmegaConf.select(cfg, f"{group}.name", default=None)
        if chosen is None or name is None or str(name) == str(chosen):
            continue
        raise ConfigError(
            f"{group}.name={name} contradicts the {group} chosen ({group}={chosen}): the name "
            f"labels every output, so it must be the {group} file that was loaded. To run "
            f"{name}, choose it: {group}={name} (a new {group} is a file "
            f"conf/{group}/<name>.yaml, or one in a --config-dir)")


def _run_mode(multirun: bool) -> Any:
    from hydra.types import RunMode

    return RunMode.MULTIRUN if multirun else RunMode.RUN


# --------------------------------------------------------------------------- entry
def preflight(overrides: Sequence[str], multirun: bool, config_name: str = "config",
              conf_dir: Path | None = None, config_path: str | None = None,
              config_dir: str | None = None) -> Plan:
    """Expand and check every job; return the :class:`Plan`, or raise PreflightError."""
    from abm.app import CONF_DIR

    overrides = list(overrides)
    with hydra_session(conf_dir or CONF_DIR, config_path, config_dir) as hydra:
        loader = hydra.config_loader
        label = ""
        try:
            parsed = _parser(loader).parse_overrides(overrides)
            sweeps = [o for o in parsed if o.is_sweep_override()]
            if sweeps and not multirun:
                keys = ", ".join(o.get_key_element() for o in sweeps)
                raise PreflightError(f"{keys}: a list of values sweeps; add --multirun (-m) to "
                                     "run one job per value, or give a single value")
            master = hydra.compose_config(config_name, overrides, run_mode=_run_mode(multirun),
                                          with_log_configuration=False)
            if multirun:
                OmegaConf.select(master, "hydra.sweep.dir")  # fix ${now:} for every job
            jobs, sweeper = expand(master, loader, overrides, multirun)
            if not jobs:
                raise PreflightError("the sweep has no jobs")
            checker = JobChecker(loader, master, config_name, multirun)
            checker.check_settings(overrides)
            for job in jobs:
                label = _job_label(job, sweeper) if multirun and len(jobs) > 1 else ""
                checker.check(job)
            label = ""
            checker.check_layout()
        except PreflightError:
            raise
        except Exception as exc:
            message = explain(exc, overrides, loader)
            raise PreflightError(f"{label}: {message}" if label else message) from exc
    return Plan(jobs=jobs, multirun=multirun, sweeper=sweeper)


def _job_label(job: Sequence[str], sweeper: str) -> str:
    if sweeper == "abm_sobol":
        return next((o.partition("=")[2] for o in job if o.startswith("hydra.sweep.subdir=")),
                    " ".join(job))
    return f"job [{' '.join(job)}]"


# --------------------------------------------------------------------------- messages
def explain(exc: BaseException, overrides: Sequence[str], loader: Any = None) -> str:
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

    if isinstance(exc, ConfigError | PreflightError):
        return str(exc)
    bad_yaml = _yaml_error(exc)
    if bad_yaml is not None:
        return bad_yaml
    if isinstance(exc, MissingConfigException):
        missing = exc.missing_cfg_file or ""
        group, _, name = missing.rpartition("/")
        if group:
            options = exc.options or _group_options(group, loader)
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
            node = str(key).rpartition(".")[0]
            if node in SETTINGS_NODES:
                known = _settings_keys(node, overrides, loader)
                if known:
                    return _unknown_setting(str(key), known)
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


def _yaml_error(exc: BaseException) -> str | None:
    """A YAML syntax error anywhere in ``exc``'s chain (a config file in conf/ or a
    --config-dir), as file, line and column; None if there is none."""
    import yaml

    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, yaml.MarkedYAMLError):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return None
    parts = []
    for what, mark in ((cause.context, cause.context_mark), (cause.problem, cause.problem_mark)):
        if what:
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            parts.append(f"{what}{at}")
    mark = cause.context_mark or cause.problem_mark
    where = mark.name if mark is not None else "a config file"
    return f"{where}: not valid YAML: {'; '.join(parts) or _first_line(str(cause))}"


def _settings_keys(node: str, overrides: Sequence[str], loader: Any) -> list[str]:
    """The keys of hydra.launcher / hydra.sweeper for the launcher/sweeper the command line
    picks (composed without the command line's settings of that node)."""
    if loader is None:
        return []
    from hydra.types import RunMode

    rest = [o for o in overrides if not re.match(rf"^[+~]*{re.escape(node)}\.", o)
            and "," not in o.partition("=")[2]]
    try:
        cfg = loader.load_configuration("config", rest, run_mode=RunMode.RUN)
    except Exception:
        return []
    value = OmegaConf.select(cfg, node)
    return [str(k) for k in value] if isinstance(value, DictConfig) else []


def _group_options(group: str, loader: Any) -> list[str]:
    try:
        return sorted(loader.get_group_options(group))
    except Exception:  # pragma: no cover - only used for messages
        from abm.app import CONF_DIR

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
    close = difflib.get_close_matches(key.rpartition(".")[2], names, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{hint}allowed keys {where}: {', '.join(names)}"


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


__all__ = ["JobChecker", "Plan", "PreflightError", "expand", "explain", "hydra_session",
           "jobs_digest", "preflight"]


def check_output_dir(path: str, key: str) -> None:
    """Refuse an output directory (``key`` = ``hydra.run.dir``/``hydra.sweep.dir``) that
    cannot hold a run's files on their own.

    Refused: the current directory or one of its ancestors (``.``, ``..``: the run's files
    would be mixed into the directory the command runs from, as with an empty value); an
    existing path that is not a directory (``/dev/null``, a regular file); a path whose
    nearest existing ancestor is not a directory or does not accept a new directory there
    (``/proc/x``), probed by creating and removing an empty temporary directory.  Hydra
    creates the directory later; nothing is left behind here.

    Raises
    ------
    ConfigError
        Naming ``key``, the path and what to give instead.
    """
    import os
    import tempfile

    hint = f"Give a new directory of its own, e.g. {key}=outputs/runs/mine"
    target = Path(os.path.abspath(os.path.expanduser(path)))
    resolved, cwd = target.resolve(), Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        where = "the current directory" if resolved == cwd else "an ancestor of the current " \
            "directory"
        raise ConfigError(f"{key}={path} is {where} ({cwd}); the run would write its files "
                          f"among yours. {hint}")
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{key}={path} exists and is not a directory, so the run cannot "
                          f"write into it. {hint}")
    ancestor = target
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"{key}={path}: {ancestor} is not a directory, so {path} cannot be "
                          f"created. {hint}")
    probe_in = target if target.exists() else ancestor
    try:
        with tempfile.TemporaryDirectory(prefix=".abm-preflight-", dir=probe_in):
            pass
    except OSError as exc:
        raise ConfigError(f"{key}={path} cannot be created or written ({probe_in}: "
                          f"{exc.strerror or exc}). {hint}") from None
