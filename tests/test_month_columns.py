"""The recorder's packed month store builds the same table as one DataFrame per month."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abm.recorder import MonthColumns


def _month(rng, month: int, n: int) -> dict:
    return {
        "month": np.full(n, month),
        "name": [f"p{i}" for i in range(n)],
        "value": rng.normal(size=n),
        "listed": [float(x) for x in rng.normal(size=n)],
        "ints": [int(x) for x in rng.integers(0, 5, size=n)],
        "tier": rng.integers(1, 4, size=n),
        "zero": [0] * n if month < 2 else [0.5] * n,  # ints early, floats later
        "nan": np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n)),
    }


@pytest.mark.parametrize("seed", range(5))
def test_frame_equals_concatenated_monthly_frames(seed):
    rng = np.random.default_rng(seed)
    store, frames = MonthColumns(), []
    for month in range(6):
        cols = _month(rng, month, int(rng.integers(1, 7)))
        frames.append(pd.DataFrame(cols))
        store.append(cols)
    expected = pd.concat(frames, ignore_index=True)
    got = store.frame()
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.dtypes.equals(expected.dtypes)
    for col in ("value", "nan"):  # the same bits, NaNs included
        assert got[col].to_numpy().tobytes() == expected[col].to_numpy().tobytes()


def test_store_refuses_a_month_with_other_columns_or_ragged_lengths():
    store = MonthColumns()
    assert store.frame().empty and len(store) == 0
    store.append({"a": np.zeros(2), "b": ["x", "y"]})
    with pytest.raises(ValueError, match="columns: expected"):
        store.append({"b": ["x"], "a": np.zeros(1)})
    with pytest.raises(ValueError, match="same length"):
        store.append({"a": np.zeros(2), "b": ["x"]})
    assert len(store) == 1


def test_a_month_without_rows_adds_none_and_changes_no_dtype():
    months = [{"name": ["a", "b"], "v": np.array([1.0, 2.0]), "i": np.array([1, 2])},
              {"name": [], "v": np.array([]), "i": np.array([], dtype=np.int64)},
              {"name": ["c"], "v": np.array([3.0]), "i": np.array([3])}]
    store = MonthColumns()
    for m in months:
        store.append(m)
    got = store.frame()
    expected = pd.concat([pd.DataFrame(m) for m in months if len(m["v"])], ignore_index=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    only_empty = MonthColumns()
    only_empty.append({"v": np.array([]), "name": []})
    assert list(only_empty.frame().columns) == ["v", "name"] and len(only_empty.frame()) == 0


def test_a_missing_value_in_a_list_is_nan_as_in_a_monthly_frame():
    months = [{"v": [1.0, None], "n": [1, None]}, {"v": [2.0, 3.0], "n": [4, 5]}]
    store = MonthColumns()
    for m in months:
        store.append(m)
    expected = pd.concat([pd.DataFrame(m) for m in months], ignore_index=True)
    pd.testing.assert_frame_equal(store.frame(), expected, check_exact=True)
    assert store.frame()["v"].dtype == np.float64


def test_appended_columns_are_copies_not_the_callers_arrays():
    ints, floats = np.array([1, 2]), np.array([0.5, 1.5])
    store = MonthColumns()
    store.append({"i": ints, "f": floats})
    ints[0], floats[0] = 99, 99.0
    got = store.frame()
    assert got["i"].tolist() == [1, 2] and got["f"].tolist() == [0.5, 1.5]
