"""Gather the runs of a sweep into one tidy table.

``python -m abm.collect DIR [--out FILE]`` walks ``DIR`` for run directories (those holding a
``manifest.json``) and writes ``DIR/summary.parquet`` (or ``FILE``): one row per run and
month for every complete run, with the run's id (its path under ``DIR``), scenario, seed,
size, status, one column per command-line override key (``demand.elasticity``, ...) and the
columns of its ``global.parquet``. Runs that failed or never finished get one row with their
status and error and no table columns, so a sweep with failed jobs still collects.

Every file of a run is checked against the sha256 its manifest lists before it is read: a
run whose files do not match (or whose table cannot be read) is collected as ``corrupt``,
with the reason in ``error``, and the collection goes on. Override columns keep their types
whatever the status of each run (values of runs without a config are parsed as Hydra
parses the command line), so a killed run does not turn a numeric column into strings.

From Python (e.g. in a notebook)::

    from abm.collect import collect, load_run, horizon
    summary = collect("outputs/multirun/2025-01-01_00-00-00")
    final = horizon(summary)            # the last month of every complete run
    tables = load_run(summary.run_dir.iloc[0])   # {"global": ..., "nations": ..., ...}
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.outputs import (
    CONFIG,
    MANIFEST,
    TABLES,
    atomic_write_bytes,
    parquet_bytes,
    read_manifest,
    verify_run,
)

RUN_COLUMNS = ("run_id", "run_dir", "scenario", "seed", "size", "months", "status",
               "config_hash", "wall_time_s", "error")
_BASE_KEYS = {"scenario", "seed", "size", "months"}


def find_runs(directory: str | Path) -> list[Path]:
    """Run directories under ``directory`` (itself included), sorted by path."""
    root = Path(directory)
    runs = {p.parent for p in root.rglob(MANIFEST) if ".hydra" not in p.parts}
    return sorted(runs)


def load_run(run_dir: str | Path, require_complete: bool = True) -> dict[str, pd.DataFrame]:
    """The tables of one run: ``{"global": df, "nations": df, "providers": df, "markets": df}``.

    Raises ``ValueError`` when the run is not complete or a file does not match its sha256
    in the manifest (unless ``require_complete=False``, which loads whatever tables exist).
    """
    run_dir = Path(run_dir)
    if require_complete:
        status, detail = verify_run(run_dir)
        if status != "complete":
            raise ValueError(f"{run_dir} is not a complete run (status: {status}"
                             f"{': ' + detail if detail else ''})")
    tables = {}
    for name in TABLES:
        path = run_dir / f"{name}.parquet"
        if path.is_file():
            tables[name] = pd.read_parquet(path)
    return tables


def _override_items(overrides: list[str]) -> list[tuple[str, str]]:
    items = []
    for item in overrides or []:
        key, sep, value = str(item).partition("=")
        if not sep or key.startswith("hydra") or key.startswith("~"):
            continue
        items.append((key.lstrip("+"), value))
    return items


def _config_value(config: dict[str, Any] | None, key: str, raw: str) -> Any:
    """The resolved value of an override key (typed), or its command-line value typed as
    Hydra types it (``0.8`` a float, ``3`` an int, ``true`` a bool) when there is no config
    (a run that failed or was killed)."""
    node: Any = config
    for part in key.replace("/", ".").split("."):
        if not isinstance(node, dict) or part not in node:
            return _typed(key, raw)
        node = node[part]
    if isinstance(node, dict):  # a config-group choice such as size=small
        return node.get("name", raw)
    if isinstance(node, list):
        return raw
    return node


def _typed(key: str, raw: str) -> Any:
    """``raw`` parsed by Hydra's override grammar; scalars only (else the raw string)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        (override,) = OverridesParser.create().parse_overrides([f"{key}={raw}"])
        value = override.value()
    except Exception:
        return raw
    return value if isinstance(value, bool | int | float | str) else raw


def _read_config(run_dir: Path) -> dict[str, Any] | None:
    from omegaconf import OmegaConf

    path = run_dir / CONFIG
    if not path.is_file():
        return None
    try:
        return OmegaConf.to_container(OmegaConf.load(path))  # type: ignore[return-value]
    except Exception:
        return None


def collect(directory: str | Path) -> pd.DataFrame:
    """One tidy table of every run under ``directory`` (see the module doc)."""
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"no such directory: {root}")
    frames: list[pd.DataFrame] = []
    override_keys: list[str] = []
    int_columns = {"seed", "months"}
    for run_dir in find_runs(root):
        manifest = read_manifest(run_dir) or {"status": "unreadable"}
        status, detail = verify_run(run_dir)
        run_id = run_dir.relative_to(root).as_posix()
        info: dict[str, Any] = {
            "run_id": run_id, "run_dir": str(run_dir.resolve()),
            "scenario": manifest.get("scenario"), "seed": manifest.get("seed"),
            "size": manifest.get("size"), "months": manifest.get("months"),
            "status": status, "config_hash": manifest.get("config_hash"),
            "wall_time_s": manifest.get("wall_time_s"),
            "error": detail or manifest.get("error"),
        }
        table = None
        if status == "complete":
            try:
                table = pd.read_parquet(run_dir / "global.parquet")
            except Exception as exc:  # a file that matches its hash but will not read
                status = info["status"] = "corrupt"
                info["error"] = f"global.parquet cannot be read: {type(exc).__name__}: {exc}"
        config = _read_config(run_dir) if status == "complete" else None
        for key, raw in _override_items(manifest.get("overrides", [])):
            if key in _BASE_KEYS:
                if info.get(key) is None:  # e.g. a run that failed before it started
                    info[key] = int(raw) if key in ("seed", "months") and raw.isdigit() else raw
                continue
            if key not in override_keys:
                override_keys.append(key)
            info[key] = _config_value(config, key, raw)
        if table is not None:
            int_columns.update(c for c in table.columns if pd.api.types.is_integer_dtype(
                table[c]) and not pd.api.types.is_bool_dtype(table[c]))
            for col in [c for c in info if c in table.columns]:
                table = table.rename(columns={col: f"global.{col}"})
            # one block of columns, not one insert per key: with a hundred overrides pandas
            # warned of a fragmented frame for every run collected
            extra = pd.DataFrame({k: [v] * len(table) for k, v in info.items()},
                                 index=table.index)
            frame = pd.concat([table, extra], axis=1)
        else:
            frame = pd.DataFrame([info])
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=list(RUN_COLUMNS))
    summary = pd.concat(frames, ignore_index=True, sort=False)
    for col in int_columns & set(summary.columns):  # NaN rows of failed runs made them float
        try:
            summary[col] = summary[col].astype("Int64")
        except (TypeError, ValueError):
            pass
    front = [*RUN_COLUMNS, *override_keys]
    summary = summary[front + [c for c in summary.columns if c not in front]]
    order = ["run_id", "month"] if "month" in summary.columns else ["run_id"]
    return summary.sort_values(order, kind="stable", na_position="first").reset_index(drop=True)


def horizon(summary: pd.DataFrame) -> pd.DataFrame:
    """The final month of every complete run in a :func:`collect` table."""
    done = summary[summary["status"] == "complete"]
    if "month" not in done.columns or done.empty:
        return done
    last = done.groupby("run_id")["month"].transform("max")
    return done[done["month"] == last].reset_index(drop=True)


def _kind(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | float | np.integer | np.floating):
        return "number"
    return type(value).__name__


def write_summary(summary: pd.DataFrame, out: str | Path) -> None:
    """Write a :func:`collect` table to parquet (atomically).

    Object columns holding numbers only (ints and floats mixed) become float64, and
    booleans only a nullable boolean; a column mixing kinds (e.g. 1 and "a") becomes
    strings.
    """
    frame = summary.copy()
    for col in frame.columns:
        if frame[col].dtype != object:
            continue
        kinds = {_kind(v) for v in frame[col].dropna()}
        if kinds == {"number"}:
            frame[col] = pd.to_numeric(frame[col], errors="raise").astype(float)
        elif kinds == {"bool"}:
            frame[col] = frame[col].astype("boolean")
        elif len(kinds) > 1:
            frame[col] = frame[col].map(lambda v: None if pd.isna(v) else str(v))
    atomic_write_bytes(out, parquet_bytes(frame))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m abm.collect",
        description="Gather every run of a sweep (complete or not) into one summary.parquet.")
    parser.add_argument("directory", help="a sweep directory (or any folder of runs)")
    parser.add_argument("--out", help="output file (default: DIRECTORY/summary.parquet)")
    args = parser.parse_args(argv)
    try:
        summary = collect(args.directory)
    except FileNotFoundError as exc:
        print(f"abm.collect: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(args.directory) / "summary.parquet"
    write_summary(summary, out)
    runs = summary.drop_duplicates("run_id")
    counts = runs["status"].value_counts()
    other = int(counts.drop(["complete", "failed"], errors="ignore").sum())
    corrupt = int(counts.get("corrupt", 0))
    other -= corrupt
    print(f"{len(runs)} runs: {int(counts.get('complete', 0))} complete, "
          f"{int(counts.get('failed', 0))} failed, {corrupt} corrupt, {other} incomplete "
          f"-> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
