"""Run the experiments behind the figures as Hydra multiruns, and reuse their results.

An experiment is a Hydra config in ``conf/experiment/<name>.yaml`` that ``python -m abm -m
+experiment=<name>`` runs by itself:

- ``scenarios`` (a grid: ``hydra.sweeper.params`` lists the scenarios and seeds) feeds
  figures 1-8 and 10 with ``--draws 0``; with posterior draws they come from
  ``scenario_draws``, a rows experiment (:func:`prepare_rows`) that :mod:`analysis.bands`
  writes;
- ``sobol`` (the ``abm_sobol`` sweeper: one job per row of a Saltelli sample) feeds figure 9.

:func:`run_experiment` turns an experiment and a few :class:`Options` (size, months, how many
seeds, which scenarios, the Sobol sample size, the launcher) into one command line,
``python -m abm --multirun +experiment=<name> ... hydra.sweep.dir=<cache dir>``, and runs it
in a subprocess. The cache dir is ``<cache>/<name>-<hash>``, where the hash covers the
experiment (its YAML file and the resolved options) and the model code (every
``abm/**/*.py``, ``abm/calibration/*.csv`` and the run configs in ``conf/``), so results are
reused only when both match. A finished experiment leaves ``experiment.json`` (its spec and
runs) in its directory; the next call with the same hash finds it and runs nothing. An
interrupted one is resumed: the sweep is repeated into the same directory and
``python -m abm`` skips the runs that are complete.

From a notebook::

    from analysis.experiments import run_experiment
    exp = run_experiment("scenarios", size="small", months=24, seeds=2,
                         scenarios=["baseline", "open_weights_surge"])
    exp.directory        # the sweep directory; read it with analysis.loading.load_sweep
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.calibration.sources import NOT_TABLES

REPO = Path(__file__).resolve().parents[1]
SIZES = ("small", "default", "world")
LAUNCHERS = ("basic", "joblib", "ray")
MARKER = "experiment.json"
SWEEP_LOG = "sweep.log"
FINAL_MONTHS = 12  # "at the horizon" = the mean over the final 12 months of a run


class ExperimentError(RuntimeError):
    """An experiment could not be run (bad options, or the sweep failed)."""


# --------------------------------------------------------------------------- locations
def json_default(obj: Any) -> Any:
    """``json.dumps(default=...)`` for the analysis records: NumPy scalars and paths.

    Raises
    ------
    TypeError
        For any other type, naming it.
    """
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Path):
        return obj.as_posix()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def conf_dir() -> Path:
    """The config directory ``python -m abm`` uses (``<repo>/conf`` in a checkout)."""
    from abm.app import CONF_DIR

    return Path(CONF_DIR)


def scenario_values(scenario: str) -> dict[str, Any]:
    """The ``group.name`` parameter values ``conf/scenario/<scenario>.yaml`` sets (a run of
    posterior draws under that scenario keeps them)."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(OmegaConf.load(conf_dir() / "scenario" / f"{scenario}.yaml"))
    assert isinstance(cfg, dict)
    return {f"{g}.{k}": v for g, d in cfg.items() if isinstance(d, dict) and g != "scenario"
            for k, v in d.items()}


def experiment_file(name: str) -> Path:
    path = conf_dir() / "experiment" / f"{name}.yaml"
    if not path.is_file():
        options = sorted(p.stem for p in (conf_dir() / "experiment").glob("*.yaml"))
        raise ExperimentError(f"no experiment {name!r}; options: {', '.join(options)}")
    return path


def default_cache_dir() -> Path:
    """``$ABM_CACHE_DIR`` or ``<repo>/outputs/cache``."""
    env = os.environ.get("ABM_CACHE_DIR")
    return Path(env).expanduser().resolve() if env else REPO / "outputs" / "cache"


def scenario_names() -> list[str]:
    return sorted(p.stem for p in (conf_dir() / "scenario").glob("*.yaml"))


# --------------------------------------------------------------------------- hashing
# Modules that only show results (they never change a run's tables): editing them must not
# throw away cached experiments.
PRESENTATION = ("abm/dashboard/", "abm/plots.py", "abm/report.py", "abm/summary.py",
                "abm/cli_help.py")
# Outputs of ``python -m analysis.estimate`` kept beside the calibration tables: the model
# never reads them, and rewriting them must not throw away the experiments behind them.
ESTIMATION_OUTPUTS = tuple(f"abm/calibration/{name}" for name in sorted(NOT_TABLES))


def _code_files() -> list[tuple[str, Path]]:
    import abm

    pkg = Path(abm.__file__).resolve().parent
    conf = conf_dir()
    files = [(rel, p) for p in pkg.rglob("*.py") if "__pycache__" not in p.parts
             for rel in [f"abm/{p.relative_to(pkg).as_posix()}"]
             if not rel.startswith(PRESENTATION)]
    files += [(f"abm/calibration/{p.name}", p) for p in (pkg / "calibration").glob("*.csv")
              if f"abm/calibration/{p.name}" not in ESTIMATION_OUTPUTS]
    files += [(f"conf/{p.relative_to(conf).as_posix()}", p)
              for pattern in ("config.yaml", "scenario/*.yaml", "size/*.yaml")
              for p in conf.glob(pattern)]
    return sorted(files)


def code_hash() -> str:
    """sha256 over the model's code, calibration tables and run configs (paths + contents)."""
    h = hashlib.sha256()
    for rel, path in _code_files():
        h.update(rel.encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\n")
    return h.hexdigest()


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


# --------------------------------------------------------------------------- options
@dataclass(frozen=True)
class Options:
    """How big to run an experiment, and how.

    ``None`` keeps the experiment's own value (``months`` 132, all its seeds and scenarios,
    its Sobol ``n``). ``seeds=k`` runs the first ``k`` seeds of the experiment's list.
    ``launcher``/``jobs`` pick Hydra's launcher (``jobs`` = joblib's n_jobs, -1 = every core);
    ``hydra_args`` are passed through verbatim (e.g. Ray cluster settings).
    """

    size: str = "default"
    months: int | None = None
    seeds: int | None = None
    scenarios: tuple[str, ...] | None = None
    sobol_n: int | None = None
    launcher: str = "basic"
    jobs: int = -1
    hydra_args: tuple[str, ...] = ()
    cache_dir: Path | None = None
    verbose: bool = True

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ExperimentError(f"size must be one of {', '.join(SIZES)}, got {self.size!r}")
        if self.months is not None and not 1 <= int(self.months) <= 1200:
            raise ExperimentError(f"months must be in [1, 1200], got {self.months}")
        if self.seeds is not None and int(self.seeds) < 1:
            raise ExperimentError(f"seeds must be >= 1, got {self.seeds}")
        if self.sobol_n is not None:
            from analysis.sensitivity import check_n

            try:
                check_n(self.sobol_n, "sobol_n (--sobol-n)")
            except ValueError as exc:
                raise ExperimentError(str(exc)) from None
        if self.launcher not in LAUNCHERS:
            raise ExperimentError(f"launcher must be one of {', '.join(LAUNCHERS)}, "
                                  f"got {self.launcher!r}")
        if self.scenarios is not None:
            object.__setattr__(self, "scenarios", tuple(self.scenarios))

    @property
    def cache(self) -> Path:
        return Path(self.cache_dir).resolve() if self.cache_dir else default_cache_dir()

    def launcher_args(self) -> list[str]:
        args: list[str] = []
        if self.launcher == "joblib":
            args += ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={int(self.jobs)}"]
        elif self.launcher == "ray":
            args += ["hydra/launcher=ray"]
        return [*args, *self.hydra_args]


# --------------------------------------------------------------------------- experiments
@dataclass
class Experiment:
    """One experiment resolved against :class:`Options`: what runs, and where."""

    name: str
    kind: str                     # "grid" (basic sweeper), "sobol" or "rows" (abm_sobol)
    overrides: tuple[str, ...]    # the command line after `python -m abm --multirun`
    spec: dict[str, Any]          # what the hash covers (besides the code)
    hash: str
    code_hash: str
    directory: Path
    expected_runs: int
    scenarios: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()
    sobol: dict[str, Any] = field(default_factory=dict)
    samples: bytes = b""          # a rows experiment's sample CSV (see prepare_rows)

    @property
    def key(self) -> str:
        """The directory name under the cache: ``<name>-<hash[:12]>``."""
        return self.directory.name

    def runs(self) -> pd.DataFrame:
        """One row per run: run_id, scenario, seed, config_hash, status (from manifests)."""
        from abm.collect import collect

        summary = collect(self.directory)
        cols = ["run_id", "scenario", "seed", "config_hash", "status"]
        return summary.drop_duplicates("run_id")[cols].reset_index(drop=True)

    def is_complete(self) -> bool:
        from abm.outputs import is_complete

        marker = self.directory / MARKER
        try:
            recorded = json.loads(marker.read_text())
        except (OSError, ValueError):
            return False
        if recorded.get("hash") != self.hash:
            return False
        runs = recorded.get("runs") or []
        return len(runs) == self.expected_runs and all(
            is_complete(self.directory / r["run"], r["config_hash"], verify=False)
            for r in runs)

    def record(self) -> dict[str, Any]:
        """The provenance of this experiment for figures.json (no absolute paths)."""
        return {"experiment": self.name, "config": f"conf/experiment/{self.name}.yaml",
                "hash": self.hash, "code_hash": self.code_hash, "directory": self.key,
                "command": ["python", "-m", "abm", "--multirun",
                            *[o for o in self.overrides if not o.startswith(
                                "hydra.sweeper.samples=")]],
                "spec": self.spec}


def _sweep_values(key: str, value: str) -> list[str]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    (parsed,) = OverridesParser.create().parse_overrides([f"{key}={value}"])
    if parsed.is_sweep_override():
        return [str(v) for v in parsed.sweep_string_iterator()]
    return [str(parsed.get_value_element_as_str())]


def prepare(name: str, options: Options | None = None) -> Experiment:
    """Resolve experiment ``name`` against ``options`` (nothing runs)."""
    from omegaconf import OmegaConf

    options = options or Options()
    path = experiment_file(name)
    text = path.read_text()
    cfg = OmegaConf.load(path)
    sweeper = OmegaConf.select(cfg, "hydra.sweeper") or {}
    months = int(options.months if options.months is not None else cfg.get("months", 132))
    base = [f"+experiment={name}", f"size={options.size}", f"months={months}"]
    code = code_hash()
    if "parameters" in sweeper or "samples" in sweeper:
        return _prepare_sobol(name, text, cfg, options, months, base, code)
    params = dict(OmegaConf.to_container(sweeper.get("params") or {}, resolve=True))
    if "scenario" not in params or "seed" not in params:
        raise ExperimentError(f"{path}: a grid experiment sweeps hydra.sweeper.params.scenario "
                              "and hydra.sweeper.params.seed")
    all_scenarios = _sweep_values("scenario", str(params.pop("scenario")))
    all_seeds = [int(s) for s in _sweep_values("seed", str(params.pop("seed")))]
    scenarios = list(options.scenarios) if options.scenarios is not None else all_scenarios
    unknown = sorted(set(scenarios) - set(scenario_names()))
    if unknown or not scenarios:
        raise ExperimentError(f"unknown scenario(s) {unknown or scenarios}; allowed: "
                              f"{', '.join(scenario_names())}")
    if options.seeds is None:
        seeds = all_seeds
    else:
        k = int(options.seeds)
        seeds = all_seeds[:k] if k <= len(all_seeds) else list(range(k))
    extra = [f"{k}={v}" for k, v in sorted(params.items())]
    overrides = [*base, f"scenario={','.join(scenarios)}",
                 f"seed={','.join(str(s) for s in seeds)}", *extra]
    n_extra = int(np.prod([len(_sweep_values(k, str(v))) for k, v in params.items()] or [1]))
    spec = {"experiment": name, "kind": "grid", "size": options.size, "months": months,
            "scenarios": scenarios, "seeds": seeds, "extra": extra,
            "file_sha256": hashlib.sha256(text.encode()).hexdigest()}
    digest = hashlib.sha256(_canonical({"spec": spec, "code": code}).encode()).hexdigest()
    return Experiment(name=name, kind="grid", overrides=tuple(overrides), spec=spec,
                      hash=digest, code_hash=code,
                      directory=options.cache / f"{name}-{digest[:12]}",
                      expected_runs=len(scenarios) * len(seeds) * n_extra,
                      scenarios=tuple(scenarios), seeds=tuple(seeds))


def _prepare_sobol(name: str, text: str, cfg: Any, options: Options, months: int,
                   base: list[str], code: str) -> Experiment:
    from omegaconf import OmegaConf

    from analysis.sensitivity import Problem, rows_per_sample

    sweeper = OmegaConf.to_container(cfg.hydra.sweeper, resolve=True)
    assert isinstance(sweeper, dict)
    parameters = list(sweeper.get("parameters") or [])
    if not parameters:
        raise ExperimentError(f"experiment {name}: hydra.sweeper.parameters is empty")
    problem = Problem.from_parameters(parameters)
    n = int(options.sobol_n if options.sobol_n is not None else sweeper.get("n", 64))
    second = bool(sweeper.get("calc_second_order", False))
    outputs = list(sweeper.get("outputs") or [])
    if not outputs:
        raise ExperimentError(f"experiment {name}: hydra.sweeper.outputs is empty")
    seed = int(cfg.get("seed", 0))
    sobol = {"parameters": parameters, "bounds": [list(b) for b in problem.bounds],
             "n": n, "sample_seed": int(sweeper.get("sample_seed", 0)),
             "calc_second_order": second, "outputs": outputs, "seed": seed,
             "final_months": FINAL_MONTHS}
    spec = {"experiment": name, "kind": "sobol", "size": options.size, "months": months,
            **sobol, "file_sha256": hashlib.sha256(text.encode()).hexdigest()}
    digest = hashlib.sha256(_canonical({"spec": spec, "code": code}).encode()).hexdigest()
    directory = options.cache / f"{name}-{digest[:12]}"
    overrides = [*base, f"hydra.sweeper.samples={_quote(directory / 'samples.csv')}"]
    return Experiment(name=name, kind="sobol", overrides=tuple(overrides), spec=spec,
                      hash=digest, code_hash=code, directory=directory,
                      expected_runs=n * rows_per_sample(problem, second),
                      scenarios=("baseline",), seeds=(seed,), sobol={**sobol,
                                                                     "problem": problem})


def _quote(path: Path) -> str:
    """A path as a Hydra override value (quoted, so any character is safe)."""
    text = str(path).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


# --------------------------------------------------------------------------- running
@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (two builds never run one sweep at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _say(options: Options, message: str) -> None:
    if options.verbose:
        print(f"analysis: {message}", file=sys.stderr, flush=True)


def command(exp: Experiment, options: Options) -> list[str]:
    """The ``python -m abm --multirun ...`` command that runs ``exp`` into its directory."""
    return [sys.executable, "-m", "abm", "--multirun", *exp.overrides,
            *options.launcher_args(), f"hydra.sweep.dir={_quote(exp.directory)}"]


def ensure(exp: Experiment, options: Options | None = None) -> Experiment:
    """Run ``exp`` unless its directory already holds every run; return it."""
    options = options or Options()
    if exp.is_complete():
        _say(options, f"{exp.name}: reusing {exp.expected_runs} cached runs in {exp.directory}")
        return exp
    with _locked(exp.directory.parent / f".{exp.key}.lock"):
        if exp.is_complete():  # another process finished it while we waited
            return exp
        exp.directory.mkdir(parents=True, exist_ok=True)
        cmd = command(exp, options)
        _say(options, f"{exp.name}: running {exp.expected_runs} runs "
                      f"({options.launcher} launcher) into {exp.directory}")
        env = dict(os.environ)
        env["ABM_PROGRESS"] = "0"
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)  # hydra_plugins/
        log_path = exp.directory / SWEEP_LOG
        returncode = _run_logged(cmd, env, log_path, exp, options)
        runs = _check_runs(exp, returncode, log_path)
        _write_marker(exp, runs)
    return exp


_JOB_DONE = re.compile(r"\[(\d+|\?)/(\d+|\?)\] done: (.*)$")
_SWEEP_DONE = re.compile(r"(sweep finished in .*?) in /")


def progress_line(line: str) -> str | None:
    """The progress worth echoing from one line of a sweep's output: ``[k/N] done: ...``
    per finished job (from :class:`abm.app.SweepProgress`) and the final tally; else None."""
    match = _JOB_DONE.search(line)
    if match:
        return f"[{match.group(1)}/{match.group(2)}] {match.group(3).strip()}"
    match = _SWEEP_DONE.search(line)
    return match.group(1) if match else None


def _run_logged(cmd: list[str], env: dict[str, str], log_path: Path, exp: Experiment,
                options: Options) -> int:
    """Run the sweep, append its output to ``log_path`` and echo one progress line per
    finished job (``analysis: <experiment> [k/N] <overrides>: <state>``) as it happens."""
    with open(log_path, "ab") as log:
        log.write(("$ " + " ".join(cmd[1:]) + "\n").encode())
        log.flush()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        for raw in proc.stdout:
            log.write(raw)
            log.flush()
            shown = progress_line(raw.decode(errors="replace"))
            if shown:
                if len(shown) > 200:  # a rows job names every sampled value: keep the ends
                    shown = f"{shown[:110]} ... {shown[-60:]}"
                _say(options, f"{exp.name} {shown}")
        return proc.wait()


def _check_runs(exp: Experiment, returncode: int, log_path: Path) -> pd.DataFrame:
    runs = exp.runs() if exp.directory.is_dir() else pd.DataFrame()
    done = runs[runs["status"] == "complete"] if len(runs) else runs
    if returncode != 0 or len(done) != exp.expected_runs:
        tail = log_path.read_text(errors="replace").splitlines()[-25:]
        raise ExperimentError(
            f"experiment {exp.name}: the sweep exited with {returncode} and left "
            f"{len(done)} of {exp.expected_runs} runs complete in {exp.directory}; "
            f"the end of {log_path}:\n" + "\n".join(tail))
    return done


def _write_marker(exp: Experiment, runs: pd.DataFrame) -> None:
    from abm.outputs import atomic_write_bytes

    record = {**exp.record(), "runs": [
        {"run": r.run_id, "scenario": r.scenario, "seed": int(r.seed),
         "config_hash": r.config_hash} for r in runs.itertuples()]}
    atomic_write_bytes(exp.directory / MARKER,
                       (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())


def run_records(exp: Experiment) -> list[dict[str, Any]]:
    """The runs of a finished experiment as recorded in its ``experiment.json``."""
    data = json.loads((exp.directory / MARKER).read_text())
    return [{**r, "run": f"{exp.key}/{r['run']}"} for r in data["runs"]]


def _options(options: Options | None, kwargs: dict[str, Any]) -> Options:
    if options is None:
        return Options(**kwargs)
    return dataclasses.replace(options, **kwargs) if kwargs else options


def run_experiment(name: str, options: Options | None = None, **kwargs: Any) -> Experiment:
    """Prepare and (unless cached) run experiment ``name``; keyword arguments are
    :class:`Options` fields, e.g. ``run_experiment("scenarios", size="small", seeds=2)``."""
    options = _options(options, kwargs)
    return ensure(prepare(name, options), options)


# --------------------------------------------------------------------------- sobol
def sobol_outputs(exp: Experiment, rows: int) -> pd.DataFrame:
    """Outputs of a finished Sobol experiment: one row per sample row (in order), one column
    per output, each the mean over the final :data:`FINAL_MONTHS` months of the run."""
    from abm.collect import collect
    from analysis.loading import final_months
    from analysis.sobol_sweeper import index_of

    outputs = exp.sobol["outputs"]
    summary = collect(exp.directory)
    summary = summary[summary["status"] == "complete"]
    last = final_months(summary, FINAL_MONTHS)
    means = last.groupby("run_id")[outputs].mean()
    means.index = [index_of(r) for r in means.index]
    missing = sorted(set(range(rows)) - set(means.index))
    if missing:
        raise ExperimentError(f"experiment {exp.name}: no complete run for sample rows "
                              f"{missing[:10]}{' ...' if len(missing) > 10 else ''}")
    return means.sort_index().loc[list(range(rows)), outputs].reset_index(drop=True)


def run_sobol(options: Options | None = None, name: str = "sobol", **kwargs: Any):
    """Sobol indices of the model through :func:`analysis.sensitivity.sobol_indices` (the
    code path the Ishigami test checks): the sample is written to ``samples.csv`` in the
    experiment's directory and evaluated as one ``abm_sobol`` sweep.

    Returns ``(experiment, SobolResult)``.
    """
    from analysis.sensitivity import sobol_indices
    from analysis.sobol_sweeper import samples_csv

    options = _options(options, kwargs)
    exp = prepare(name, options)
    if exp.kind != "sobol":
        raise ExperimentError(f"experiment {name} is not a Sobol experiment")
    problem = exp.sobol["problem"]

    def evaluate(samples: np.ndarray) -> pd.DataFrame:
        from abm.outputs import atomic_write_bytes

        data = samples_csv(problem.names, samples, problem.integer)
        path = exp.directory / "samples.csv"
        if not path.is_file() or path.read_bytes() != data:
            with _locked(exp.directory.parent / f".{exp.key}.lock"):
                atomic_write_bytes(path, data)
        ensure(exp, options)
        return sobol_outputs(exp, len(samples))

    result = sobol_indices(problem, evaluate, exp.sobol["n"], seed=exp.sobol["sample_seed"],
                           calc_second_order=exp.sobol["calc_second_order"])
    return exp, result


# --------------------------------------------------------------------------- rows
def experiment_settings(name: str) -> dict[str, Any]:
    """The analysis settings of a rows experiment: ``hydra.sweeper.settings`` of its YAML
    (the sweeper ignores them; they live there so that one file describes the experiment)."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(experiment_file(name))
    node = OmegaConf.select(cfg, "hydra.sweeper.settings")
    out = OmegaConf.to_container(node, resolve=True) if node is not None else {}
    assert isinstance(out, dict)
    return out


def prepare_rows(name: str, options: Options, names: list[str], rows: Any,
                 integer: list[bool] | None = None, overrides: tuple[str, ...] = (),
                 months: int | None = None, spec: dict[str, Any] | None = None) -> Experiment:
    """A *rows* experiment: one run per row of parameter values (``names`` columns, e.g.
    ``demand.elasticity`` or ``seed``), run as one sweep of the ``abm_sobol`` sweeper that
    experiment ``name`` selects. The hash covers the rows (the bytes of their CSV), the
    command-line ``overrides`` (e.g. ``scenario=energy_shock``), ``months`` (else the
    experiment's, else ``options.months``), ``spec`` and the model code, so the same rows are
    run once and reused; :func:`run_rows` writes the rows and runs them.
    """
    from omegaconf import OmegaConf

    from analysis.sobol_sweeper import samples_csv

    path = experiment_file(name)
    cfg = OmegaConf.load(path)
    if OmegaConf.select(cfg, "hydra.sweeper.samples", default="absent") == "absent":
        raise ExperimentError(f"{path}: a rows experiment selects the abm_sobol sweeper "
                              "(defaults: override /hydra/sweeper: abm_sobol; "
                              "hydra.sweeper.samples: null)")
    rows = [list(r) for r in rows]
    if not rows:
        raise ExperimentError(f"experiment {name}: no rows to run")
    data = samples_csv(list(names), rows, integer)
    if months is None:
        months = int(options.months if options.months is not None else cfg.get("months", 132))
    code = code_hash()
    # The hash covers the YAML as Hydra reads it, less `hydra.sweeper.settings` (the
    # analysis's settings, which the sweeper ignores: what they change reaches the runs only
    # through the rows, hashed above) and less comments, so editing a preset the rows do not
    # use, or a comment, keeps the cached runs.
    plain = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(plain, dict)
    plain.get("hydra", {}).get("sweeper", {}).pop("settings", None)
    full_spec = {"experiment": name, "kind": "rows", "size": options.size,
                 "months": int(months), "overrides": list(overrides),
                 "columns": list(names), "rows": len(rows),
                 "samples_sha256": hashlib.sha256(data).hexdigest(),
                 "config_sha256": hashlib.sha256(_canonical(plain).encode()).hexdigest(),
                 **(spec or {})}
    digest = hashlib.sha256(_canonical({"spec": full_spec, "code": code}).encode()).hexdigest()
    directory = options.cache / f"{name}-{digest[:12]}"
    base = [f"+experiment={name}", f"size={options.size}", f"months={int(months)}",
            *overrides, f"hydra.sweeper.samples={_quote(directory / 'samples.csv')}"]
    exp = Experiment(name=name, kind="rows", overrides=tuple(base), spec=full_spec,
                     hash=digest, code_hash=code, directory=directory,
                     expected_runs=len(rows), scenarios=(_scenario_of(overrides),),
                     seeds=())
    exp.samples = data
    return exp


def _scenario_of(overrides: tuple[str, ...]) -> str:
    for o in overrides:
        if o.startswith("scenario="):
            return o.partition("=")[2]
    return "baseline"


def run_rows(exp: Experiment, options: Options | None = None) -> Experiment:
    """Write the rows of a :func:`prepare_rows` experiment and run the ones not yet done."""
    from abm.outputs import atomic_write_bytes

    options = options or Options()
    if exp.is_complete():
        return ensure(exp, options)
    data = exp.samples
    path = exp.directory / "samples.csv"
    if not path.is_file() or path.read_bytes() != data:
        with _locked(exp.directory.parent / f".{exp.key}.lock"):
            atomic_write_bytes(path, data)
    return ensure(exp, options)


def row_dir(exp: Experiment, index: int) -> Path:
    """The run directory of row ``index`` of a rows experiment."""
    from analysis.sobol_sweeper import subdir

    return exp.directory / subdir(index)


def row_results(exp: Experiment, fn: Any, key: str,
                tables: tuple[str, ...] = ("global", "nations")) -> pd.DataFrame:
    """``fn(tables) -> dict`` for every row of a finished rows experiment: one row per
    sample row (index = row), one column per key. Cached in the experiment's directory as
    ``results-<key>.parquet`` (``key`` names ``fn`` and its version: change it when ``fn``
    changes)."""
    from abm.outputs import atomic_write_bytes, parquet_bytes

    cache = exp.directory / f"results-{key}.parquet"
    if cache.is_file():
        out = pd.read_parquet(cache)
        if len(out) == exp.expected_runs:
            out.index = pd.RangeIndex(len(out), name="row")
            return out
    records = []
    for i in range(exp.expected_runs):
        run = row_dir(exp, i)
        data = {t: pd.read_parquet(run / f"{t}.parquet") for t in tables}
        records.append(fn(data))
    out = pd.DataFrame.from_records(records)
    out.index = pd.RangeIndex(len(out), name="row")
    atomic_write_bytes(cache, parquet_bytes(out))
    return out


__all__ = ["Experiment", "ExperimentError", "Options", "code_hash", "default_cache_dir",
           "ensure", "experiment_settings", "prepare", "prepare_rows", "row_dir",
           "row_results", "run_experiment", "run_records", "run_rows", "run_sobol",
           "sobol_outputs"]
