"""Where each calibration table comes from: the package, or a user's ``data_dir``.

A *data directory* holds any subset of the packaged calibration tables under the same file
names (``nations.csv``, ``providers.csv``, ...); each file there replaces the packaged table
of that name. Files not ending in ``.csv`` and hidden files are ignored; a ``.csv`` whose name
is not a packaged table is an error (a misspelt ``nation.csv`` would otherwise be ignored
silently). CSVs are read as UTF-8 with or without a byte-order mark (as spreadsheets save
them), every cell as a string.

:func:`fingerprint` identifies the content of every table a run reads (sha256 per file and
where it came from); run hashes and manifests include it.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

PACKAGE = "abm.calibration"
#: CSVs beside the tables that no run reads: outputs of ``python -m analysis.estimate``.
#: They are not tables (a data_dir cannot supply them) and not in the fingerprint, so
#: writing new estimates changes no run's config hash.
NOT_TABLES = frozenset({"estimated.csv"})

__all__ = ["DataDirError", "data_files", "fingerprint", "packaged_bytes", "packaged_tables",
           "parse_csv", "resolve_data_dir"]


class DataDirError(ValueError):
    """``data_dir`` is not a directory or holds a file that is not a calibration table."""


@cache
def packaged_tables() -> tuple[str, ...]:
    """File names of the packaged calibration tables (``nations.csv``, ...), sorted."""
    root = resources.files(PACKAGE)
    return tuple(sorted(p.name for p in root.iterdir()
                        if p.name.endswith(".csv") and p.name not in NOT_TABLES))


def packaged_bytes(filename: str) -> bytes:
    """The bytes of a packaged table."""
    return resources.files(PACKAGE).joinpath(filename).read_bytes()


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path | None:
    """``data_dir`` as an absolute path (None for None or ''); it must be a directory."""
    if data_dir is None or str(data_dir).strip() == "":
        return None
    path = Path(os.path.expanduser(str(data_dir))).resolve()
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a directory"
        raise DataDirError(f"data_dir: {str(data_dir)!r} {what}; give a directory holding "
                           f"any of the calibration tables ({', '.join(packaged_tables())})")
    return path


def data_files(data_dir: str | os.PathLike[str] | None) -> dict[str, Path]:
    """The tables ``data_dir`` replaces: ``{file name: path}`` (empty without a data_dir).

    Raises
    ------
    DataDirError
        If ``data_dir`` is not a directory or holds a ``.csv`` that is not a calibration
        table (the message suggests the closest table name).
    """
    root = resolve_data_dir(data_dir)
    if root is None:
        return {}
    known = packaged_tables()
    found: dict[str, Path] = {}
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or not path.name.lower().endswith(".csv"):
            continue
        if path.name not in known:
            close = difflib.get_close_matches(path.name, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise DataDirError(f"data_dir: {path} is not a calibration table{hint}; the "
                               f"tables a data_dir may replace: {', '.join(known)}")
        if not path.is_file():
            raise DataDirError(f"data_dir: {path} is not a file")
        found[path.name] = path
    return found


def parse_csv(data: bytes, label: str) -> pd.DataFrame:
    """A CSV's cells as strings ('' if empty), read as UTF-8 with an optional byte-order mark.

    Raises ``ValueError`` naming ``label`` (and the line, when the parser gives it).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ValueError(f"{label}: line {line}: not UTF-8 text ({exc.reason}); save the "
                         "file as CSV UTF-8") from None
    if not text.strip():
        raise ValueError(f"{label}: the file is empty; expected a header row and data rows")
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise ValueError(f"{label}: not a valid CSV table: {exc}") from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fingerprint(data_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """What a run reads: ``{"data_dir": path or None, "tables": {file: {"sha256",
    "source"}}}`` with ``source`` "packaged" or "data_dir", for every packaged table name.

    The data_dir's path is recorded but two directories with the same content give the
    same ``tables``.
    """
    user = data_files(data_dir)
    tables = {}
    for name in packaged_tables():
        if name in user:
            tables[name] = {"sha256": _sha256(user[name].read_bytes()), "source": "data_dir"}
        else:
            tables[name] = {"sha256": _packaged_sha256(name), "source": "packaged"}
    root = resolve_data_dir(data_dir)
    return {"data_dir": str(root) if root else None, "tables": tables}


@cache
def _packaged_sha256(name: str) -> str:
    return _sha256(packaged_bytes(name))
