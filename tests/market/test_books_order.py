"""The demand book's class-major segment order (``_class_order``) is exactly the lexsort it
replaces (issue 12: agents and metrics vectorised without moving a number)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.market.books import _class_order


def _lexsort(cls: np.ndarray, key: np.ndarray) -> np.ndarray:
    return np.lexsort((key, cls))


def _check(cls: np.ndarray, key: np.ndarray, n_cls: int) -> None:
    counts = np.bincount(cls, minlength=n_cls)
    got = _class_order(cls, key, counts)
    np.testing.assert_array_equal(got, _lexsort(cls, key))


def test_order_of_a_model_shaped_book_matches_lexsort():
    # users: (nation, group, use-case, localised) in the build_demand layout, then startups
    rng = np.random.default_rng(0)
    n, g, u = 7, 5, 3
    cls = (np.arange(n)[:, None, None, None] * u * 2 + np.arange(u)[None, None, :, None] * 2
           + np.arange(2)[None, None, None, :])
    cls = np.broadcast_to(cls, (n, g, u, 2)).ravel()
    cls = np.concatenate([cls, n * u * 2 + np.arange(4)])
    key = rng.normal(size=cls.size)
    key[::7] = np.inf  # ties: never-capped markers
    key[3::11] = key[4::11][: key[3::11].size]  # equal keys within and across classes
    _check(cls, key, n * u * 2 + 4)


def test_order_with_classes_of_one_size_scattered_and_empty_classes():
    cls = np.array([4, 0, 4, 2, 0, 2, 2, 4, 0, 6])  # classes 1, 3, 5 empty; 6 has one
    key = np.array([3.0, 1.0, 1.0, 2.0, 1.0, -1.0, 2.0, 0.5, 0.0, 9.0])
    _check(cls, key, 7)


def test_order_with_more_classes_than_int16_holds():
    rng = np.random.default_rng(1)
    n_cls = 40_000
    cls = rng.integers(0, n_cls, 100_000)
    key = rng.integers(0, 5, cls.size).astype(float)  # many ties
    _check(cls, key, n_cls)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.sampled_from([-1.0, 0.0, 0.5, 2.0, np.inf])),
                min_size=1, max_size=60))
def test_order_matches_lexsort_on_any_small_book(pairs):
    cls = np.array([c for c, _ in pairs])
    key = np.array([k for _, k in pairs])
    _check(cls, key, 7)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_order_accepts_any_integer_class_dtype(dtype):
    cls = np.array([1, 0, 1, 0], dtype=dtype)
    key = np.array([2.0, 1.0, 1.0, 0.0])
    _check(cls, key, 2)


def _segmented_cumsum(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The masked scan the budget index used before issue 12: inclusive running sums of
    ``values`` restarted at each run's first position.

    ``first[i]`` is the position at which the run holding ``i`` starts (runs contiguous).
    A Hillis-Steele scan: ``log2(longest run)`` vectorised passes, no loop over runs.
    """
    out = values.copy()
    pos = np.arange(values.shape[0])
    longest = int((pos - first).max()) + 1 if values.size else 0
    step = 1
    while step < longest:
        inside = pos[step:] - step >= first[step:]
        out[step:] = out[step:] + np.where(inside, out[:-step], 0.0)
        step *= 2
    return out


def _reference_index(cls, ref, budget, n_cls):
    """The budget index as it was built before issue 12 (lexsort, masked scans)."""
    from abm.market.books import _capped_log_ratio

    # The thresholds are prepared as before; what changed is the sort and the scans.
    log_ratio, lo, hi = _capped_log_ratio(ref, budget)
    order = np.lexsort((log_ratio, cls))
    counts = np.bincount(cls, minlength=n_cls)
    end = np.cumsum(counts)
    start = end - counts
    span = hi - lo + 3.0
    sorted_key = cls[order] * span + (log_ratio[order] - (lo - 1.0))
    first = start[cls[order]]
    budget_sorted = np.where(np.isinf(budget[order]), 0.0, budget[order])
    budget_upto = _segmented_cumsum(budget_sorted, first)
    n = budget_sorted.shape[0]
    first_rev = (n - 1 - (end - 1)[cls[order]])[::-1]
    ref_from = _segmented_cumsum(ref[order][::-1], first_rev)[::-1]
    return (sorted_key, budget_upto, ref_from, start, end, span, lo, hi)


@pytest.mark.parametrize("seed", range(4))
def test_budget_index_equals_the_lexsort_and_masked_scan_it_replaces(seed):
    from abm.market.books import _budget_index

    rng = np.random.default_rng(seed)
    n, g, u = int(rng.integers(1, 12)), int(rng.integers(1, 40)), int(rng.integers(1, 5))
    cls = (np.arange(n)[:, None, None, None] * u * 2 + np.arange(u)[None, None, :, None] * 2
           + np.arange(2)[None, None, None, :])
    cls = np.broadcast_to(cls, (n, g, u, 2)).ravel()
    n_start = int(rng.integers(0, 6))
    n_cls = n * u * 2 + n_start + 2  # two empty classes at the end
    cls = np.concatenate([cls, n * u * 2 + np.arange(n_start)])
    if seed % 2:  # scattered classes of mixed sizes
        cls = rng.integers(0, n_cls - 2, cls.size)
    ref = rng.lognormal(0, 3, cls.size) * (rng.random(cls.size) < 0.9)
    budget = rng.lognormal(0, 3, cls.size)
    budget[rng.random(cls.size) < 0.1] = np.inf
    budget[rng.random(cls.size) < 0.05] = 0.0
    got = _budget_index(cls, ref, budget, n_cls)
    want = _reference_index(cls, ref, budget, n_cls)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


def test_class_major_sort_is_reused_only_for_the_same_classes():
    """The class-major permutation is cached on the segment classes: the same classes hit
    the cache, other classes (startups entered) miss it, and _class_order's in-place
    reordering within classes never corrupts the cached permutation."""
    from abm.market import books

    rng = np.random.default_rng(7)
    a = rng.integers(0, 30, size=400)
    b = np.r_[a, 30, 31]  # two startup classes joined
    for cls in (a, a, b, a, b, b):
        key = rng.normal(size=cls.size)  # keys differ every month
        counts = np.bincount(cls)
        assert np.array_equal(books._class_order(cls, key, counts), np.lexsort((key, cls)))
        cached = books._class_major(cls, counts.size)
        assert np.array_equal(cached, np.argsort(cls, kind="stable"))
        assert not cached.flags.writeable
    assert books._class_major(b.copy(), 32) is books._class_major(b, 32)
