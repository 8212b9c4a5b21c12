"""The ``abm_sobol`` Hydra sweeper: launches one job per row of a Sobol (Saltelli) sample.

Select it with ``hydra/sweeper=abm_sobol`` (``conf/experiment/sobol.yaml`` does). Settings:

- ``samples``: a CSV written by ``analysis.sobol_sweeper.write_samples`` (a ``sample``
  column, then one column per parameter key); when null, a sample is drawn from
  ``parameters`` / ``n`` / ``sample_seed`` / ``calc_second_order`` and saved as
  ``<sweep dir>/samples.csv``;
- ``max_batch_size``: jobs handed to the launcher at a time (null: all at once);
- ``outputs``: the outputs the analysis reads (recorded here so the experiment is one file);
- ``settings``: any other settings of the analysis that draws the rows (Morris, estimation,
  discovery; see ``analysis.experiments.experiment_settings``); the sweeper ignores them.

Jobs run through the configured launcher (basic, joblib, Ray, SLURM) like any sweep.

(No ``from __future__ import annotations`` here: Hydra's plugin scanner executes this module
before registering it in ``sys.modules``, and dataclasses then cannot resolve string
annotations.)
"""

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


@dataclass
class SobolSweeperConf:
    _target_: str = "hydra_plugins.abm_sobol_sweeper.sobol_sweeper.SobolSweeper"
    samples: str | None = None
    parameters: list[str] = field(default_factory=list)
    n: int = 64
    sample_seed: int = 0
    calc_second_order: bool = False
    outputs: list[str] = field(default_factory=list)
    max_batch_size: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)


ConfigStore.instance().store(group="hydra/sweeper", name="abm_sobol", node=SobolSweeperConf,
                             provider="compute-abm")


class SobolSweeper(Sweeper):
    """One job per sample row; see the module docstring."""

    def __init__(self, samples: str | None = None, parameters: list[str] | None = None,
                 n: int = 64, sample_seed: int = 0, calc_second_order: bool = False,
                 outputs: list[str] | None = None, max_batch_size: int | None = None,
                 settings: Any = None) -> None:
        super().__init__()
        self.samples = samples
        self.parameters = list(parameters or [])
        self.n = n
        self.sample_seed = sample_seed
        self.calc_second_order = calc_second_order
        self.outputs = list(outputs or [])
        self.max_batch_size = max_batch_size
        self.settings = settings
        self.hydra_context: HydraContext | None = None
        self.config: DictConfig | None = None
        self.launcher: Launcher | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction,
              config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def _rows(self, sweep_dir: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
        from analysis.sobol_sweeper import draw_samples, read_samples, write_samples

        if self.samples:
            return read_samples(Path(self.samples).expanduser())
        if not self.parameters:
            raise ValueError("abm_sobol sweeper: give hydra.sweeper.samples=<csv> or a list "
                             "of hydra.sweeper.parameters to sample")
        names, rows = draw_samples(self.parameters, self.n, self.sample_seed,
                                   self.calc_second_order,
                                   OmegaConf.select(self.config, "data_dir", default=None))
        write_samples(sweep_dir / "samples.csv", names, [values for _, values in rows])
        return names, rows

    def _validate(self, jobs: list[list[str]]) -> None:
        """Check every job (as ``python -m abm``'s preflight does) before the first starts."""
        from abm.preflight import JobChecker, explain

        assert self.hydra_context is not None and self.config is not None
        checker = JobChecker(self.hydra_context.config_loader, self.config,
                             str(self.config.hydra.job.config_name or "config"), True)
        for overrides in jobs:
            try:
                checker.check(overrides)
            except Exception as exc:
                job = overrides[-1].rpartition("=")[2]
                message = explain(exc, overrides, self.hydra_context.config_loader)
                raise ValueError(f"abm_sobol sweeper: {job}: {message}; nothing was run"
                                 ) from None
        try:
            checker.check_layout()
        except Exception as exc:
            raise ValueError(f"abm_sobol sweeper: {exc}; nothing was run") from None

    def sweep(self, arguments: list[str]) -> Any:
        from analysis.sobol_sweeper import job_overrides

        assert self.config is not None and self.launcher is not None
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        names, rows = self._rows(sweep_dir)
        jobs = job_overrides(arguments, names, rows)
        from abm.preflight import jobs_digest

        if os.environ.get("ABM_PREFLIGHT_JOBS") != jobs_digest(jobs):  # else checked already
            self._validate(jobs)
        os.environ["ABM_SWEEP_TOTAL"] = str(len(jobs))  # for the [k/N] progress lines
        log.info("abm_sobol: %d jobs over %d parameters (%s)", len(jobs), len(names),
                 ", ".join(names))
        size = self.max_batch_size or len(jobs)
        returns: list[list[JobReturn]] = []
        for start in range(0, len(jobs), size):
            batch = jobs[start:start + size]
            results = self.launcher.launch(batch, initial_job_idx=start)
            for r in results:
                _ = r.return_value  # re-raise a failed job's exception
            returns.append(list(results))
        return returns
