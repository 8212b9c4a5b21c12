"""What the dashboard runs: a :class:`RunSpec` (scenario, size, months, seed and parameter
overrides), the command line that reproduces it byte for byte, and running it into a run
directory exactly as ``python -m abm`` would (same composition, validation and writer).
"""

from __future__ import annotations

import io
import shlex
import threading
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from abm.dashboard.controls import CONTROLS, Control

SIZES = ("small", "default", "world")
_COMPOSE_LOCK = threading.Lock()  # Hydra's global state is not thread-safe


@dataclass(frozen=True)
class RunSpec:
    """One run as the dashboard asks for it.

    ``params`` holds only the parameters that differ from the scenario's own values, as
    ``(key, override string)`` pairs in the order of the controls.
    """

    scenario: str
    size: str = "small"
    months: int = 132
    seed: int = 0
    params: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def overrides(self) -> list[str]:
        """The command line's overrides, e.g. ``["scenario=x", "size=small", ...]``."""
        return [f"scenario={self.scenario}", f"size={self.size}", f"months={int(self.months)}",
                f"seed={int(self.seed)}", *(f"{k}={v}" for k, v in self.params)]

    def command(self, python: str = "python") -> str:
        """The shell command that reproduces this run's tables byte for byte."""
        return " ".join([python, "-m", "abm", *(shlex.quote(o) for o in self.overrides())])


def make_spec(scenario: str, size: str, months: int, seed: int,
              values: Mapping[str, Any], scenario_values: Mapping[str, Any],
              controls: Sequence[Control] = CONTROLS) -> RunSpec:
    """A :class:`RunSpec` from the page's controls: a parameter is overridden only when its
    value (as the command line would write it) differs from the scenario's."""
    params = []
    for c in controls:
        if c.key not in values:
            continue
        mine = c.override(values[c.key])
        if mine != c.override(scenario_values.get(c.key, c.default)):
            params.append((c.key, mine.split("=", 1)[1]))
    return RunSpec(scenario=scenario, size=size, months=int(months), seed=int(seed),
                   params=tuple(params))


def compose(overrides: Sequence[str]) -> Any:
    """Compose ``conf/config.yaml`` with ``overrides`` and validate it, as ``python -m abm``
    does (raises :class:`abm.config.ConfigError` or Hydra's errors on bad input)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from abm.app import CONF_DIR
    from abm.config import validate

    with _COMPOSE_LOCK, initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3",
                                              job_name="abm"):
        cfg = hydra_compose(config_name="config", overrides=list(overrides))
    return validate(cfg)


def scenario_values(scenario: str, controls: Sequence[Control] = CONTROLS) -> dict[str, Any]:
    """The values the controls take in ``scenario`` (its YAML over parameters.csv)."""
    cfg = compose([f"scenario={scenario}"])
    out = {}
    for c in controls:
        group, name = c.key.split(".", 1)
        out[c.key] = getattr(getattr(cfg, group), name)
    return out


def run_dir_for(spec: RunSpec, out_dir: Path) -> Path:
    """A new directory for ``spec``: ``<out>/<scenario>/<sorted overrides>/<date_time_us>``."""
    from abm.app import run_subdir_name

    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S_%f")
    return Path(out_dir) / spec.scenario / run_subdir_name(",".join(
        sorted(spec.overrides()))) / stamp


def execute(spec: RunSpec, out_dir: Path,
            progress: Callable[[int, int], None] | None = None) -> Path:
    """Run ``spec`` into a new run directory under ``out_dir`` and return it.

    The run goes through :func:`abm.outputs.execute` (which calls :func:`abm.run.run`), so
    its tables, config.yaml and manifest are what ``spec.command()`` writes.
    """
    from abm.app import quiet_mesa
    from abm.outputs import execute as write_run

    quiet_mesa()
    cfg = compose(spec.overrides())
    run_dir = run_dir_for(spec, out_dir)
    write_run(cfg, run_dir, spec.overrides(), progress=progress)
    return run_dir


def run_files(run_dir: Path) -> list[Path]:
    """The files of a run a user may download: the tables, config.yaml, manifest.json."""
    from abm.outputs import MANIFEST, OUTPUT_FILES

    return [run_dir / name for name in (*OUTPUT_FILES, MANIFEST) if (run_dir / name).is_file()]


def run_zip(run_dir: Path) -> bytes:
    """Every downloadable file of a run in one zip (``<run name>/<file>``)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in run_files(run_dir):
            info = zipfile.ZipInfo(f"{run_dir.name}/{path.name}", date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return buf.getvalue()
