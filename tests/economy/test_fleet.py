"""Vintage capital: chips age and retire, shells outlive them, each vintage keeps its price."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from abm.economy.fleet import Fleet


def fleet(life=4, install=2, build=3):
    return Fleet.empty([0, 1], [0, 1], [False, False], life=life, install_lead=install,
                       build_lead=build)


def test_chips_bought_serve_after_the_install_lead_and_retire_after_their_life():
    f = fleet()
    f.shells[:] = 10.0
    f.buy_chips(np.array([100.0, 0.0]), np.array([0.1, 0.0]), np.array([3e6, 0.0]))
    installed = []
    for _ in range(8):
        f.advance()
        installed.append(f.installed[0])
    # arrives after 2 months, serves 4 months, then retires (one-hoss shay)
    assert installed == [0.0, 100.0, 100.0, 100.0, 100.0, 0.0, 0.0, 0.0]


def test_retirement_frees_the_shell_for_new_chips():
    f = fleet()
    f.shells[:] = 0.1
    f.buy_chips(np.array([100.0, 0.0]), np.array([0.1, 0.0]), np.zeros(2))
    assert_allclose(f.empty_shell_mw()[0], 0.0)
    for _ in range(6):
        f.advance()
    assert_allclose(f.empty_shell_mw()[0], 0.1)


def test_shells_finish_after_the_build_lead():
    f = fleet()
    f.order_shells(np.array([5.0, 0.0]), np.array([5e7, 0.0]))
    ready = []
    for _ in range(4):
        f.advance()
        ready.append(f.shells[0])
    assert ready == [0.0, 0.0, 5.0, 5.0]
    assert_allclose(f.empty_shell_mw(within=0)[0], 5.0)


def test_each_vintage_is_depreciated_straight_line_at_its_own_price():
    f = fleet(life=4)
    f.shells[:] = 10.0
    f.buy_chips(np.array([1.0, 0.0]), np.array([0.001, 0.0]), np.array([400.0, 0.0]))
    f.advance()
    f.buy_chips(np.array([1.0, 0.0]), np.array([0.001, 0.0]), np.array([800.0, 0.0]))
    charges = []
    for _ in range(7):
        f.advance()
        charges.append(f.depreciation(life=4, shell_life=1_000_000)[0])
    # each vintage writes off its own purchase price over its life, and no more
    assert_allclose(sum(charges), 1200.0, rtol=1e-3)
    assert_allclose(charges[1], 100.0 + 200.0, rtol=1e-3)


def test_surviving_counts_what_is_still_in_service():
    f = fleet(life=4, install=1)
    f.chips[:, 0] = [1.0, 2.0, 3.0, 4.0]  # ages 0..3
    f.arriving[0, 0] = 10.0
    surv = f.surviving(np.array([0, 1, 3, 4]))[:, 0]
    assert_allclose(surv, [20.0, 16.0, 11.0, 10.0])


def test_sites_can_be_added_and_dropped():
    f = fleet()
    f.extend(Fleet.empty([2], [0], [True], life=4, install_lead=2, build_lead=3))
    assert f.n_sites == 3 and f.chips.shape == (4, 3) and f.tier_alloc.shape == (3, 4)
    f.keep(np.array([True, False, True]))
    assert f.provider.tolist() == [0, 2] and f.domestic.tolist() == [False, True]
