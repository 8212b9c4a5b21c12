"""Ordered block sums of the user segments are np.bincount's bits (abm.economy.segment_sums)."""

from __future__ import annotations

import numpy as np
import pytest

from abm.economy import segment_sums as ss


def _values(rng, n):
    v = rng.lognormal(0.0, 4.0, size=n) * (rng.random(n) < 0.7)
    v[rng.random(n) < 0.05] = -0.0  # signed zeros: bincount starts from +0.0
    v[rng.random(n) < 0.05] = 1e300 * rng.random()  # large terms that swamp small ones
    return v


def _index(shape):
    n_nat, n_groups, n_inner = shape
    nation = np.repeat(np.arange(n_nat), n_groups * n_inner)
    group = np.tile(np.repeat(np.arange(n_groups), n_inner), n_nat)
    inner = np.tile(np.arange(n_inner), n_nat * n_groups)
    return nation, group, inner


@pytest.mark.parametrize("shape", [(1, 1, 2), (3, 1, 2), (2, 5, 6), (7, 11, 10), (200, 50, 12),
                                   (1, 50, 12), (1, 12, 2), (1, 1, 40), (2, 1, 40)])
def test_each_sum_is_bincounts_bits(shape):
    rng = np.random.default_rng(sum(shape))
    n_nat, n_groups, n_inner = shape
    v = _values(rng, n_nat * n_groups * n_inner)
    nation, group, inner = _index(shape)

    def same(a, b):
        assert a.shape == b.shape and a.tobytes() == b.tobytes()

    same(ss.by_nation(v, shape), np.bincount(nation, weights=v, minlength=n_nat))
    same(ss.by_cell(v, shape), np.bincount(nation * n_groups + group, weights=v,
                                           minlength=n_nat * n_groups))
    same(ss.by_class(v, shape), np.bincount(nation * n_inner + inner, weights=v,
                                            minlength=n_nat * n_inner))
    for g in {0, n_groups - 1}:
        mask = group == g
        same(ss.by_nation_in_group(v, shape, g),
             np.bincount(nation[mask], weights=v[mask], minlength=n_nat))
    s_nat = rng.integers(0, n_nat, size=9)
    s_val = _values(rng, 9)
    same(ss.with_startups(ss.by_nation(v, shape), s_nat, s_val),
         np.bincount(np.r_[nation, s_nat], weights=np.r_[v, s_val], minlength=n_nat))


def test_one_block_is_summed_in_order_not_pairwise():
    """A single block (one nation) must still add in order: a lone contiguous run is what
    numpy sums pairwise, which differs from bincount in the last bits for long runs."""
    v = np.array([1.0, 1e-16, 1e-16, 1e-16, 1e-16, 1e-16, 1e-16, 1e-16, 1e-16, 1e-16, 1e-16,
                  1e-16, 1e-16, 1e-16, 1e-16, 1e-16, 1e-16] * 8)
    want = np.bincount(np.zeros(v.size, int), weights=v)
    assert v.sum() != want[0]  # pairwise and in-order sums differ here
    assert ss.by_nation(v, (1, v.size // 2, 2)).tobytes() == want.tobytes()


def test_wrong_lengths_and_groups_are_refused():
    with pytest.raises(ValueError, match="one value per user segment"):
        ss.by_nation(np.zeros(5), (2, 1, 2))
    with pytest.raises(ValueError, match=r"group: must lie in \[0, 3\)"):
        ss.by_nation_in_group(np.zeros(12), (2, 3, 2), 3)
    with pytest.raises(ValueError, match="blocks, members, inner"):
        ss.ordered_sums(np.zeros((2, 2)))


@pytest.mark.parametrize("shape", [(1, 1, 2), (3, 4, 6), (7, 2, 10)])
def test_user_sums_give_the_same_bits_with_and_without_the_block_layout(shape):
    """UserSums dispatches to the block sums when the layout has ``user_shape`` and to
    np.bincount when it does not: every method gives the same bits either way, the startup
    tail included."""
    from types import SimpleNamespace

    rng = np.random.default_rng(sum(shape))
    nation, group, _ = _index(shape)
    n_start = 5
    start_nat = rng.integers(0, shape[0], n_start)
    layout = SimpleNamespace(segment_nation=np.r_[nation, start_nat],
                             segment_group=np.r_[group, -np.ones(n_start, int)],
                             n_user_segments=nation.size, user_shape=shape)
    blocks = ss.UserSums(layout, shape[0], shape[1])
    plain = ss.UserSums(SimpleNamespace(**{**vars(layout), "user_shape": None}),
                        shape[0], shape[1])
    users, every = _values(rng, nation.size), _values(rng, nation.size + n_start)
    pairs = [(blocks.by_nation(users), plain.by_nation(users)),
             (blocks.all_by_nation(every), plain.all_by_nation(every)),
             (blocks.by_cell(users), plain.by_cell(users))]
    pairs += [(blocks.by_nation_in_group(users, g), plain.by_nation_in_group(users, g))
              for g in range(shape[1])]
    for fast, slow in pairs:
        assert fast.tobytes() == slow.tobytes()
    with pytest.raises(ValueError, match="n_groups"):
        ss.UserSums(SimpleNamespace(**{**vars(layout), "user_shape": None}),
                    shape[0]).by_cell(users)
