"""Outcomes of one run that the estimation and discovery analyses read, from its tables.

Every function takes the tables of one run (``{"global": df, "nations": df}``, as
:func:`abm.collect.load_run` returns them) and returns plain floats (NaN when the run does
not reach the period asked for). The validation moments are not redefined here:
:func:`moments` calls :func:`abm.validate.moments` (the registry ``abm.validate.MOMENTS``)
and adds the held-out 2026 moments of ``abm/calibration/holdout.csv``
(:data:`HELD_OUT_MOMENTS`), which use the same helpers.

Headline outcomes (:data:`HEADLINE`, the outputs of the Morris screening and the Sobol
analysis): revenue HHI (0-10,000), rent share of user spending, token-weighted Lerner index,
access Gini (population-weighted Gini of tokens per capita between nations), low-income
nations' unserved share and the open-weight share of tokens (all 0-1).

*Low-income nations* are the nations whose GDP per capita (``nations.csv``) is below
:data:`LOW_INCOME_GDP_PC_USD`, the World Bank's ceiling for lower-middle income (GNI per
capita $4,495, FY2026): India, Nigeria and Rest of Africa in the packaged world. Their shares
are population-weighted means over those nations.

Scenario-discovery conditions (:data:`CONDITIONS`):

- ``frontier_hhi_2030``: revenue HHI of the frontier tier (``hhi_frontier``), 2030 mean;
- ``divide_rise``: the rise of the access Gini (``gini_access``, the population-weighted
  Gini of tokens per capita between nations) from its 2025 mean to the mean of the run's
  final full year (2035 at 132 months): the "cognitive divide";
- ``low_income_excluded_2030``: low-income nations' unserved plus priced-out share of
  demand, 2030 mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np
import pandas as pd

Tables = dict[str, pd.DataFrame]

START_YEAR = 2025
LOW_INCOME_GDP_PC_USD = 4_495.0

#: The headline outcomes: name -> (column, table, how); "low_income" columns are
#: population-weighted means over low-income nations of the nations table.
HEADLINE: tuple[str, ...] = ("hhi_revenue", "rent_share", "lerner", "gini_access",
                             "low_income_unserved", "open_weight_share")
HEADLINE_LABELS = {
    "hhi_revenue": "revenue HHI", "rent_share": "rent share", "lerner": "Lerner (tokens)",
    "gini_access": "access Gini", "low_income_unserved": "low-income unserved",
    "open_weight_share": "open-weight share",
}

#: Scenario-discovery conditions: name -> (outcome, threshold); the condition holds when the
#: outcome exceeds the threshold.
CONDITIONS: dict[str, tuple[str, float]] = {
    "frontier_hhi_2030": ("frontier_hhi_2030", 2_500.0),
    "divide_rise": ("divide_rise", 0.1),
    "low_income_excluded_2030": ("low_income_excluded_2030", 0.2),
}
CONDITION_LABELS = {
    "frontier_hhi_2030": "frontier-tier HHI > 2,500 in 2030",
    "divide_rise": "between-nation Gini of tokens per capita rises > 0.1 over 2025",
    "low_income_excluded_2030": "low-income nations' unserved + priced-out share > 20% "
                                "in 2030",
}


@cache
def _low_income_nations() -> frozenset[str]:
    from abm import calibration

    nat = calibration.nations()
    return frozenset(nat.loc[nat["gdp_pc_usd"] < LOW_INCOME_GDP_PC_USD, "nation"])


def low_income_nations() -> list[str]:
    """The nations counted as low-income (see the module doc), sorted."""
    return sorted(_low_income_nations())


def _years(df: pd.DataFrame) -> pd.Series:
    return START_YEAR + df["month"] // 12


def _full_years(g: pd.DataFrame) -> list[int]:
    counts = _years(g).value_counts()
    return sorted(int(y) for y, n in counts.items() if n == 12)


def final_year(tables: Tables) -> int | None:
    """The last calendar year the run covers in full (None if none)."""
    years = _full_years(tables["global"])
    return years[-1] if years else None


def _global_year(tables: Tables, column: str, year: int) -> float:
    g = tables["global"]
    rows = g.loc[_years(g) == year, column]
    return float(rows.mean()) if len(rows) == 12 else math.nan


def _low_income(tables: Tables, columns: Sequence[str], months: np.ndarray) -> float:
    n = tables["nations"]
    n = n[n["nation"].isin(_low_income_nations()) & n["month"].isin(months)]
    if n.empty:
        return math.nan
    value = n[list(columns)].sum(axis=1).to_numpy(float)
    w = n["population"].to_numpy(float)
    return float(np.sum(value * w) / np.sum(w))


def _months_of(tables: Tables, year: int | None) -> np.ndarray:
    g = tables["global"]
    if year is None:  # the final 12 months
        last = int(g["month"].max())
        return np.arange(max(last - 11, 0), last + 1)
    return np.arange((year - START_YEAR) * 12, (year - START_YEAR + 1) * 12)


def headline(tables: Tables, year: int | None = None) -> dict[str, float]:
    """The :data:`HEADLINE` outcomes: means over calendar ``year`` (NaN unless the run covers
    it in full), or over the run's final 12 months when ``year`` is None."""
    g = tables["global"]
    months = _months_of(tables, year)
    if year is not None and not set(months) <= set(g["month"]):
        return dict.fromkeys(HEADLINE, math.nan)
    rows = g[g["month"].isin(months)]
    out = {m: float(rows[m].mean()) for m in HEADLINE if m in rows.columns}
    out["low_income_unserved"] = _low_income(tables, ["unserved_share"], months)
    return {m: out[m] for m in HEADLINE}


def conditions(tables: Tables) -> dict[str, float]:
    """The outcomes behind :data:`CONDITIONS` (NaN when the run does not reach 2030)."""
    g = tables["global"]
    last = final_year(tables)
    reaches_2030 = last is not None and last >= 2030
    months_2030 = _months_of(tables, 2030)
    return {
        "frontier_hhi_2030": _global_year(tables, "hhi_frontier", 2030),
        "divide_rise": (_global_year(tables, "gini_access", last)
                        - _global_year(tables, "gini_access", START_YEAR))
        if last is not None and last > START_YEAR else math.nan,
        "low_income_excluded_2030": _low_income(
            tables, ["unserved_share", "priced_out_share"], months_2030)
        if reaches_2030 and set(months_2030) <= set(g["month"]) else math.nan,
    }


# --------------------------------------------------------------------------- moments
def _held_out() -> dict[str, Callable[[Tables], float]]:
    from abm import validate as v

    def year(col: str, y: int) -> Callable[[Tables], float]:
        return lambda t: v._year(t["global"], y, col) if v._full_year(t["global"], y) \
            else math.nan

    return {
        # March 2026 is model month 14 (January 2025 = 0)
        "h100_rental_2026_03": lambda t: v._month(t["global"], 14, "h100_rental_usd_hour"),
        "inference_share_2026": year("inference_share", 2026),
        "open_weight_share_2026": year("open_weight_share", 2026),
    }


#: Held-out moments (``holdout.csv``) that :data:`abm.validate.MOMENTS` does not define.
HELD_OUT_MOMENTS: tuple[str, ...] = tuple(_held_out())


def moments(tables: Tables) -> dict[str, float]:
    """Every validation moment (:func:`abm.validate.moments`) plus :data:`HELD_OUT_MOMENTS`
    of one run (NaN where the run does not reach a moment's period)."""
    from abm import validate

    out = validate.moments(tables)
    for name, fn in _held_out().items():
        try:
            out[name] = float(fn(tables))
        except (KeyError, ZeroDivisionError, ValueError):
            out[name] = math.nan
    return out


def known_moments() -> list[str]:
    """Names every moment table may use: the validation registry and the held-out ones."""
    from abm.validate import MOMENTS

    return [*MOMENTS, *HELD_OUT_MOMENTS]


#: Key suffix of a headline outcome over a run's final 12 months in :func:`all_outcomes`.
FINAL = "final"


def all_outcomes(tables: Tables, years: Sequence[int] = ()) -> dict[str, float]:
    """Moments and conditions under their names, headline outcomes over the final 12 months
    (``<name>@final``) and at each of ``years`` (``<name>@<year>``): one flat record per run.

    The headline outcomes are suffixed because a name may also be a moment's:
    ``open_weight_share`` is the 2025 validation moment *and* the headline outcome at the
    horizon, and one key for both let the horizon value replace the 2025 moment.

    Raises
    ------
    ValueError
        If two parts of the record still share a key (a moment named like a condition).
    """
    parts = [moments(tables), conditions(tables),
             {f"{k}@{FINAL}": v for k, v in headline(tables).items()}]
    for y in years:
        parts.append({f"{k}@{y}": v for k, v in headline(tables, int(y)).items()})
    out: dict[str, float] = {}
    for part in parts:
        clash = sorted(set(out) & set(part))
        if clash:
            raise ValueError(f"outcome names {clash} are defined twice in one run's record")
        out.update(part)
    return out


__all__ = [
    "CONDITIONS",
    "CONDITION_LABELS",
    "FINAL",
    "HEADLINE",
    "HEADLINE_LABELS",
    "HELD_OUT_MOMENTS",
    "LOW_INCOME_GDP_PC_USD",
    "all_outcomes",
    "conditions",
    "final_year",
    "headline",
    "known_moments",
    "low_income_nations",
    "moments",
]
