"""Validation targets: the measured moments the baseline must reproduce (``targets.csv``).

One row per moment with the data value, the band that counts as reproduced across seeds, the
period it refers to, its unit, its source and whether the source is secondary (``verify``).
How the model computes each moment from its tables lives in :mod:`abm.validate`.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

COLUMNS = ("moment", "value", "low", "high", "period", "unit", "source", "verify")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def targets(path: str | None = None) -> pd.DataFrame:
    """The validation targets, typed and checked.

    Parameters
    ----------
    path : str, optional
        A CSV with the same columns to read instead of the packaged ``targets.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: ``moment`` (unique name), ``value``, ``low``, ``high``
        (floats, ``low <= value <= high``), ``period``, ``unit``, ``source`` (text) and
        ``verify`` (bool: secondary reporting or the author's estimate).

    Raises
    ------
    ValueError
        Naming the file, column and row of the first problem.
    """
    label = path or "targets.csv"
    if path is None:
        with resources.files("abm.calibration").joinpath("targets.csv").open(
                encoding="utf-8") as fh:
            raw = pd.read_csv(fh, dtype=str, keep_default_na=False)
    else:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"{label}: missing column(s) {missing}; expected {', '.join(COLUMNS)}")
    df = raw.loc[:, list(COLUMNS)].copy()
    for col in ("moment", "period", "unit", "source"):
        df[col] = df[col].str.strip()
        bad = np.flatnonzero(df[col] == "")
        if bad.size:
            raise ValueError(f"{label}: column '{col}', row {bad[0] + 1}: empty")
    for col in ("value", "low", "high"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = np.flatnonzero(~np.isfinite(values.to_numpy(dtype=float)))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{label}: column '{col}', row {i + 1} ({df['moment'].iloc[i]}): "
                             f"{df[col].iloc[i]!r} is not a finite number")
        df[col] = values.astype(float)
    flag = df["verify"].str.strip().str.lower()
    bad = np.flatnonzero(~flag.isin(_TRUE | _FALSE))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{label}: column 'verify', row {i + 1}: {df['verify'].iloc[i]!r} is "
                         "not a boolean; allowed true or false")
    df["verify"] = flag.isin(_TRUE)
    dupes = np.flatnonzero(df["moment"].duplicated())
    if dupes.size:
        raise ValueError(f"{label}: column 'moment', row {dupes[0] + 1}: duplicate moment")
    bad = np.flatnonzero(~((df["low"] <= df["value"]) & (df["value"] <= df["high"])))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{label}: row {i + 1} ({df['moment'].iloc[i]}): value "
                         f"{df['value'].iloc[i]} is outside its band [{df['low'].iloc[i]}, "
                         f"{df['high'].iloc[i]}]")
    return df.reset_index(drop=True)
