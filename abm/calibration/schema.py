"""Table schemas for the calibration CSVs, declared once with pandera.

A :class:`TableSchema` lists a table's columns, one line each, built from the field
constructors below (:func:`text`, :func:`source`, :func:`number`, :func:`integer`,
:func:`boolean`, :func:`choice`, :func:`optional_number`, :func:`free_text`), its key, and
any checks across rows (:class:`RowCheck`: one result per row, e.g. "the shares of each
provider sum to 1") or over the whole table (:class:`TableCheck`, e.g. "token shares sum to
1"). From that declaration it builds one ``pandera.DataFrameSchema`` whose parsers turn the
CSV's text cells into typed values and whose checks carry the messages. Adding a column to a
table is one line in its ``columns``.

:meth:`TableSchema.validate` takes the table as read (every cell a string, '' if empty),
runs the pandera schema lazily (every problem is collected) and returns the typed table in
the declared column order (columns not declared are dropped), or raises ``ValueError`` whose
message names the file, the column and the 1-based data row (with the row's key) of the first
problem, followed by up to four more.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

INF = math.inf
TRUE = frozenset({"true", "1", "yes"})
FALSE = frozenset({"false", "0", "no"})
MAX_REPORTED = 5  # problems listed in one message

__all__ = ["FALSE", "INF", "TRUE", "Field", "RowCheck", "TableCheck", "TableSchema",
           "boolean", "choice", "free_text", "integer", "number", "optional_number", "source",
           "table_error", "text"]


# ------------------------------------------------------------------------------ fields


@dataclass(frozen=True)
class Field:
    """One column: its kind, bounds or allowed values, and whether values must be unique."""

    kind: str
    lo: float = -INF
    hi: float = INF
    choices: tuple[Any, ...] = ()
    unique: bool = False

    @property
    def typed(self) -> str:
        """The dtype of the validated column: str, float64, int64 or bool."""
        return {"number": "float64", "optional_number": "float64", "integer": "int64",
                "boolean": "bool"}.get(self.kind, "str")


def text(*, unique: bool = False) -> Field:
    """A non-empty string (stripped), e.g. a name; ``unique``: no value twice."""
    return Field("text", unique=unique)


def source() -> Field:
    """Where the row's numbers come from: a non-empty string."""
    return Field("source")


def free_text() -> Field:
    """A string that may be empty (units, notes, values whose type another column gives)."""
    return Field("free_text")


def choice(options: Sequence[str]) -> Field:
    """One of ``options`` (strings)."""
    return Field("choice", choices=tuple(options))


def number(lo: float = -INF, hi: float = INF) -> Field:
    """A finite number in ``[lo, hi]``."""
    return Field("number", lo=lo, hi=hi)


def optional_number(lo: float = -INF, hi: float = INF) -> Field:
    """A number in ``[lo, hi]``, or empty (NaN)."""
    return Field("optional_number", lo=lo, hi=hi)


def integer(lo: float = -INF, hi: float = INF, choices: Sequence[int] = ()) -> Field:
    """A finite whole number in ``[lo, hi]`` (and one of ``choices`` if given)."""
    return Field("integer", lo=lo, hi=hi, choices=tuple(choices))


def boolean() -> Field:
    """true/false, 1/0 or yes/no (any case)."""
    return Field("boolean")


# ------------------------------------------------------------------------------ checks


@dataclass(frozen=True)
class RowCheck:
    """A check with one result per row, reported in ``column``.

    ``passes(df)`` gets the typed table and returns a boolean Series (True = fine);
    ``problem(df, i)`` describes the failure of row position ``i``.
    """

    column: str
    passes: Callable[[pd.DataFrame], pd.Series]
    problem: Callable[[pd.DataFrame, int], str]


@dataclass(frozen=True)
class TableCheck:
    """A check over the whole table, reported in ``column`` with no row."""

    column: str
    passes: Callable[[pd.DataFrame], bool]
    problem: Callable[[pd.DataFrame], str]


# ------------------------------------------------------------------------------ parsing


def _strip(s: pd.Series) -> pd.Series:
    return s.astype(str).str.strip()


def _to_number(s: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.astype(float)  # already typed (a generated table)
    text_ = _strip(s)
    return pd.to_numeric(text_.where(text_ != ""), errors="coerce").astype(float)


def _to_optional_number(s: pd.Series) -> pd.Series:
    """Numbers; empty cells NaN; text that is not a number stays text (the check fails)."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.astype(float)
    text_ = _strip(s)
    values = pd.to_numeric(text_.where(text_ != ""), errors="coerce").astype(float)
    bad = values.isna() & (text_ != "")
    if not bad.any():
        return values
    out = values.astype(object)
    out[bad] = text_[bad]
    return out


def _as_float(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").astype(float)


def _to_bool(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s):
        return s
    lowered = _strip(s).str.lower()
    return lowered.map(lambda v: True if v in TRUE else (False if v in FALSE else None))


def _fmt(x: float) -> str:
    return repr(float(x)) if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _not_a_number(raw: str) -> str:
    hint = ""
    if "," in raw and _to_number(pd.Series([raw.replace(",", ".")])).notna().all():
        hint = " (a decimal comma? write numbers with a decimal point)"
    return f"{raw!r} is not a finite number{hint}"


# ------------------------------------------------------------------------------ schema


@dataclass(frozen=True, eq=False)
class TableSchema:
    """The schema of one calibration table (see the module docstring)."""

    file: str
    key: tuple[str, ...]
    columns: dict[str, Field]
    row_checks: tuple[RowCheck, ...] = ()
    table_checks: tuple[TableCheck, ...] = ()
    _messages: dict[str, Callable[..., str]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """The table's name: its file name without ``.csv``."""
        return self.file.removesuffix(".csv")

    @cached_property
    def pandera(self) -> pa.DataFrameSchema:
        """The pandera schema: parsers type the text cells; each check carries a message."""
        columns = {}
        for col, spec in self.columns.items():
            columns[col] = self._column(col, spec)
        checks = []
        for i, rc in enumerate(self.row_checks):
            name = f"row:{i}"
            self._messages[name] = rc.problem
            checks.append(pa.Check(rc.passes, name=name, error=name))
        return pa.DataFrameSchema(columns, checks=checks, unique=list(self.key),
                                  report_duplicates="exclude_first", strict="filter",
                                  ordered=False, name=self.file)

    def _column(self, col: str, spec: Field) -> pa.Column:
        checks: list[pa.Check] = []

        def add(name: str, fn: Callable[[pd.Series], Any], message: Callable[..., str]) -> None:
            key = f"{col}:{name}"
            self._messages[key] = message
            checks.append(pa.Check(fn, name=key, error=key))

        parser: Callable[[pd.Series], pd.Series] = _strip
        nullable = False
        if spec.kind in ("text", "source"):
            what = "source is empty" if spec.kind == "source" else "value is empty"
            add("empty", lambda s: s != "", lambda raw, value: what)
        elif spec.kind == "choice":
            allowed = ", ".join(map(str, spec.choices))
            add("choice", lambda s, c=spec.choices: s.isin(c),
                lambda raw, value: f"{raw!r} is not allowed; allowed: {allowed}")
        elif spec.kind == "boolean":
            parser = _to_bool
            self._messages[f"{col}:null"] = (
                lambda raw, value: f"{raw!r} is not a boolean; allowed true or false")
        elif spec.kind in ("number", "integer", "optional_number"):
            parser = _to_number
            if spec.kind == "optional_number":
                parser = _to_optional_number
                nullable = True
                self._messages[f"{col}:null"] = lambda raw, value: ""
                add("number", lambda s: _as_float(s).notna(),
                    lambda raw, value: _not_a_number(raw).replace("a finite number",
                                                                  "a number (or empty)"))
            else:
                self._messages[f"{col}:null"] = lambda raw, value: _not_a_number(raw)
                add("finite", lambda s: np.isfinite(s), lambda raw, value: _not_a_number(raw))
            lo, hi = spec.lo, spec.hi
            if lo > -INF or hi < INF:
                add("range", lambda s, lo=lo, hi=hi: _as_float(s).isna()
                    | ((_as_float(s) >= lo) & (_as_float(s) <= hi)),
                    lambda raw, value, lo=lo, hi=hi:
                    f"{value!r} is out of range; allowed [{_fmt(lo)}, {_fmt(hi)}]")
            if spec.kind == "integer":
                add("integer", lambda s: ~np.isfinite(s) | (s == np.round(s)),
                    lambda raw, value: f"{value!r} is not an integer")
                if spec.choices:
                    allowed = ", ".join(map(str, spec.choices))
                    add("choice", lambda s, c=spec.choices: ~np.isfinite(s) | s.isin(c),
                        lambda raw, value: f"{raw!r} is not allowed; allowed: {allowed}")
        if spec.unique:
            self._messages[f"{col}:unique"] = lambda raw, value: f"duplicate {col}"
        return pa.Column(parsers=pa.Parser(parser), checks=checks, nullable=nullable,
                         unique=spec.unique, report_duplicates="exclude_first",
                         coerce=False, required=True, name=col)

    # ------------------------------------------------------------------ validation

    def validate(self, raw: pd.DataFrame, label: str | None = None) -> pd.DataFrame:
        """Check and type ``raw`` (cells as strings); return the typed table.

        Raises
        ------
        ValueError
            Naming ``label`` (default: the file name), the column and the row (1-based,
            with its key) of the first problem, and up to four more.
        """
        label = label or self.file
        missing = [c for c in self.columns if c not in raw.columns]
        if missing:
            raise ValueError(f"{label}: missing required column(s) {missing}; expected "
                             f"columns: {', '.join(self.columns)}")
        frame = raw.loc[:, list(self.columns)].reset_index(drop=True).copy()
        if frame.empty:
            raise ValueError(f"{label}: the table has no rows")
        schema = self.pandera
        try:
            typed = schema.validate(frame.copy(), lazy=True)
        except SchemaErrors as exc:
            raise table_error(label, self._problems(exc, frame)) from None
        typed = typed.loc[:, list(self.columns)]
        for col, spec in self.columns.items():
            typed[col] = typed[col].astype(spec.typed)
        for check in self.table_checks:
            if not check.passes(typed):
                raise ValueError(f"{label}: column '{check.column}' {check.problem(typed)}")
        return typed

    def _problems(self, exc: SchemaErrors, raw: pd.DataFrame) -> list[tuple[str, int, str]]:
        """(column, row position, message) of every failure, in column then row order."""
        order = {c: i for i, c in enumerate(self.columns)}
        found: dict[tuple[str, int], tuple[int, str]] = {}
        parsed = self._parsed(raw)
        for rank, err in enumerate(exc.schema_errors):
            check = getattr(err, "check", None)
            name = getattr(check, "name", None) if check is not None else None
            if name is None and isinstance(check, str):
                name = check
            cases = getattr(err, "failure_cases", None)
            if not isinstance(cases, pd.DataFrame) or "index" not in cases:
                continue
            rows = [int(i) for i in cases["index"].dropna().unique()]
            column = getattr(err, "column_name", None)
            if str(name).startswith("row:"):
                problem = self._messages[str(name)]
                column = self.row_checks[int(str(name)[4:])].column
                for i in rows:
                    found.setdefault((column, i), (rank, problem(parsed, i)))
                continue
            if name in ("not_nullable",):
                key = f"{column}:null"
            elif name in ("field_uniqueness", "multiple_fields_uniqueness"):
                if column is None or name == "multiple_fields_uniqueness":
                    column = self.key[-1]
                    for i in rows:
                        found.setdefault((column, i), (rank, "duplicate row"))
                    continue
                key = f"{column}:unique"
            else:
                key = str(name)
                column = column or key.partition(":")[0]
            message = self._messages.get(key)
            for i in rows:
                raw_value = str(raw[column].iloc[i]) if column in raw else ""
                value = parsed[column].iloc[i] if column in parsed else raw_value
                if isinstance(value, np.generic):
                    value = value.item()
                text_ = message(raw_value, value) if message else f"fails check {name}"
                if text_:
                    found.setdefault((column, i), (rank, text_))
        problems = sorted(found.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1],
                                                          kv[1][0]))
        return [(col, i, self._where(raw, i) + text_) for (col, i), (_, text_) in problems]

    def _parsed(self, raw: pd.DataFrame) -> pd.DataFrame:
        """``raw`` with every column parsed as its field (invalid cells NaN/None)."""
        out = raw.copy()
        for col, spec in self.columns.items():
            if spec.kind in ("number", "integer", "optional_number"):
                out[col] = _to_number(raw[col])
            elif spec.kind == "boolean":
                out[col] = _to_bool(raw[col])
            else:
                out[col] = _strip(raw[col])
        return out

    def _where(self, raw: pd.DataFrame, i: int) -> str:
        ident = ", ".join(str(raw[k].iloc[i]).strip() for k in self.key if k in raw.columns)
        return f"row {i + 1} ({ident}): "


def table_error(label: str, problems: list[tuple[str, int, str]]) -> ValueError:
    """One ValueError for a table's problems: the first in full, then up to four more."""
    if not problems:
        return ValueError(f"{label}: the table is invalid")
    (col, _, first), rest = problems[0], problems[1:]
    message = f"{label}: column '{col}', {first}"
    if rest:
        shown = "; ".join(f"column '{c}', {m}" for c, _, m in rest[:MAX_REPORTED - 1])
        more = len(rest) - (MAX_REPORTED - 1)
        message += f" (also: {shown}{f'; and {more} more' if more > 0 else ''})"
    return ValueError(message)
