"""The sample file behind the ``abm_sobol`` Hydra sweeper: one job per row of parameter values.

A Sobol analysis needs the model at a given list of parameter rows (a Saltelli sample), which
is not a cartesian product, so Hydra's basic sweeper (``a=1,2 b=3,4``) cannot express it.
The sweeper ``hydra_plugins.abm_sobol_sweeper.SobolSweeper`` (registered as
``hydra/sweeper=abm_sobol``; ``conf/experiment/sobol.yaml`` selects it) reads a CSV written by
:func:`write_samples` and launches one job per row through whichever launcher is configured
(basic, joblib, Ray, SLURM), e.g.::

    python -m abm -m +experiment=sobol hydra.sweeper.samples=/abs/samples.csv \\
        hydra/launcher=joblib hydra.launcher.n_jobs=8

Each job gets the row's values as ordinary overrides (``demand.elasticity=0.8312...``), so
its manifest, ``config.yaml`` and ``abm.collect`` columns record them, and runs in the
subdirectory ``sample_<row>`` of the sweep directory. Without ``hydra.sweeper.samples`` the
sweeper draws the sample itself from ``hydra.sweeper.parameters`` (bounded by the plausible
ranges of ``parameters.csv``), ``n`` and ``sample_seed`` with
:func:`analysis.sensitivity.saltelli_sample`, and writes it to ``<sweep dir>/samples.csv``.

This module holds the sweeper's logic (file format, job overrides) and is imported lazily by
the plugin; the plugin class itself must live in the ``hydra_plugins`` namespace package,
where Hydra looks for plugins.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

SAMPLE_COLUMN = "sample"
SUBDIR_PREFIX = "sample_"


def subdir(index: int) -> str:
    """The run directory (under the sweep dir) of sample row ``index``."""
    return f"{SUBDIR_PREFIX}{index:05d}"


def index_of(run_id: str) -> int:
    """The sample row of a run directory named by :func:`subdir`."""
    name = Path(run_id).name
    if not name.startswith(SUBDIR_PREFIX):
        raise ValueError(f"{run_id!r} is not a Sobol sample directory ({SUBDIR_PREFIX}NNNNN)")
    return int(name[len(SUBDIR_PREFIX):])


def format_value(value: float, integer: bool) -> str:
    """A parameter value as an override string; ``repr`` round-trips floats exactly."""
    if integer:
        return str(round(float(value)))
    return repr(float(value))


def samples_csv(names: Sequence[str], rows, integer: Sequence[bool] | None = None) -> bytes:
    """The CSV bytes of a sample: a ``sample`` column (0..n-1), then one column per name.

    Numbers are written with :func:`format_value`; strings are written as they are."""
    integer = list(integer) if integer is not None else [False] * len(names)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([SAMPLE_COLUMN, *names])
    for i, row in enumerate(rows):
        if len(row) != len(names):
            raise ValueError(f"row {i} has {len(row)} values for {len(names)} parameters")
        writer.writerow([i, *(v if isinstance(v, str) else format_value(v, is_int)
                              for v, is_int in zip(row, integer, strict=True))])
    return buf.getvalue().encode()


def write_samples(path: str | Path, names: Sequence[str], rows,
                  integer: Sequence[bool] | None = None) -> Path:
    from abm.outputs import atomic_write_bytes

    path = Path(path)
    atomic_write_bytes(path, samples_csv(names, rows, integer))
    return path


def read_samples(path: str | Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(parameter names, [(sample index, [value strings])]) of a sample CSV.

    Read as UTF-8 with or without a byte-order mark (as spreadsheets save CSV). The sample
    index may be written as an integral number (``3`` or ``3.0``); every value must be a
    number written with a decimal point, except in a ``scenario`` column, which names a
    scenario (so one sweep can run rows under several scenarios). Every problem raises
    ``ValueError`` naming the file and the line (and the column), with a hint for a
    spreadsheet's ``;`` separators or decimal commas.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason}); save it as CSV UTF-8"
                         ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ValueError(f"{path}: empty sample file") from None
    if len(header) == 1 and ";" in header[0]:
        raise ValueError(f"{path}:1: the columns are separated by ';' (a spreadsheet set to a "
                         "decimal comma?); save it with ',' between columns and '.' as the "
                         "decimal point")
    if not header or header[0] != SAMPLE_COLUMN or len(header) < 2:
        raise ValueError(f"{path}:1: the first column must be '{SAMPLE_COLUMN}', followed "
                         f"by one column per parameter (e.g. demand.elasticity); got "
                         f"{', '.join(repr(h) for h in header[:4])}")
    names = header[1:]
    rows = []
    for line, record in enumerate(reader, start=2):
        if not record or all(not field.strip() for field in record):
            continue
        if len(record) != len(header):
            hint = (" (a decimal comma splits a number in two; use '.')"
                    if len(record) > len(header) else "")
            raise ValueError(f"{path}:{line}: {len(record)} fields, expected {len(header)}"
                             f"{hint}")
        index = _sample_index(record[0], path, line)
        values = [_sample_value(v, name, path, line) for v, name in zip(record[1:], names,
                                                                         strict=True)]
        rows.append((index, values))
    if not rows:
        raise ValueError(f"{path}: no sample rows")
    seen: dict[int, int] = {}
    for line, (i, _) in enumerate(rows, start=2):
        if i in seen:
            raise ValueError(f"{path}: sample index {i} appears twice")
        seen[i] = line
    return names, rows


def _sample_index(text: str, path: Path, line: int) -> int:
    raw = text.strip()
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (value == value and value == int(value) and value >= 0):  # NaN, fraction, < 0
        raise ValueError(f"{path}:{line}: column '{SAMPLE_COLUMN}': {raw!r} is not a sample "
                         "index (a whole number >= 0)")
    return int(value)


SCENARIO_COLUMN = "scenario"
_SCENARIO_NAME = re.compile(r"[A-Za-z0-9_]+")


def _sample_value(text: str, name: str, path: Path, line: int) -> str:
    import math

    raw = text.strip()
    if name == SCENARIO_COLUMN:  # a config-group choice (scenario=energy_shock), not a number
        if not _SCENARIO_NAME.fullmatch(raw):
            raise ValueError(f"{path}:{line}: column '{name}': {raw!r} is not a scenario name "
                             "(letters, digits and '_', as in conf/scenario/<name>.yaml)")
        return raw
    try:
        value = float(raw)
    except ValueError:
        comma = "," in raw and _is_number(raw.replace(",", "."))
        hint = " (a decimal comma? use a decimal point)" if comma else ""
        raise ValueError(f"{path}:{line}: column '{name}': {raw!r} is not a number{hint}"
                         ) from None
    if not math.isfinite(value):
        raise ValueError(f"{path}:{line}: column '{name}': {raw!r} is not a finite number")
    return raw


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def job_overrides(arguments: Sequence[str], names: Sequence[str],
                  rows: Sequence[tuple[int, Sequence[str]]]) -> list[list[str]]:
    """One override list per sample row: the command line's own overrides, the row's values,
    and the job's subdirectory. A parameter the command line also sets is an error (the
    sample must decide it)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(list(arguments))
    for o in parsed:
        if o.is_sweep_override():
            raise ValueError(f"{o.input_line}: the abm_sobol sweeper takes its jobs from the "
                             "sample file; give single values on the command line")
        if o.get_key_element().lstrip("+~") in names:
            raise ValueError(f"{o.get_key_element()} is both a sampled parameter and a "
                             "command-line override")
    base = [o.input_line for o in parsed]
    return [[*base, *(f"{n}={v}" for n, v in zip(names, values, strict=True)),
             f"hydra.sweep.subdir={subdir(index)}"] for index, values in rows]


def draw_samples(parameters: Sequence[str], n: int, seed: int, calc_second_order: bool,
                 data_dir: str | None = None) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """A Saltelli sample of ``parameters`` (plausible ranges of parameters.csv, or of
    ``data_dir``'s), as the rows :func:`read_samples` would return."""
    import warnings

    from analysis.sensitivity import Problem, SobolSampleWarning, check_n, saltelli_sample

    n = check_n(n, "hydra.sweeper.n")  # refuses n < 2, warns (naming the key) on 2**k + j
    problem = Problem.from_parameters(list(parameters), data_dir=data_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SobolSampleWarning)  # said once above
        x = saltelli_sample(problem, n, seed, calc_second_order)
    rows = [(i, [format_value(v, is_int) for v, is_int in zip(row, problem.integer,
                                                                 strict=True)])
            for i, row in enumerate(x)]
    return list(problem.names), rows
