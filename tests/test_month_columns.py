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
