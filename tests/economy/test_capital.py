"""Tobin's q investment: the value of a marginal H100e, order rates, finance and grid limits."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from abm.economy import capital


def value(**over):
    months = capital.quadrature_months(18, 60)
    args = dict(start=18, life=60, demand=np.array([100.0]), growth=np.array([2.0]),
                planned=np.full((months.size, 1), 100.0), planned_months=months,
                max_utilisation=0.9, revenue_per_busy_hour=np.array([5.0]),
                energy_per_hour=np.array([0.1]), idle_share=0.4,
                opex_per_hour=np.array([0.3]), rental_price=np.array([2.0]),
                rent_probability=np.array([0.5]), uncertainty=0.3,
                discount=1.09 ** (-1 / 12), obsolescence=1.4 ** (-1 / 12))
    args.update(over)
    return float(capital.unit_value(**args)[0])


def test_a_unit_is_worth_more_where_demand_outgrows_capacity():
    base = value()
    assert value(growth=np.array([3.0])) > base > value(growth=np.array([0.5]))
    assert value(demand=np.array([400.0])) > base
    assert value(revenue_per_busy_hour=np.array([8.0])) > base  # scarcity rents raise q
    assert value(rental_price=np.array([4.0])) > base  # so does a tight rental market


def test_a_unit_nobody_needs_is_worth_only_its_rentals():
    idle = value(demand=np.array([0.0]), rent_probability=np.array([0.0]))
    rented = value(demand=np.array([0.0]), rent_probability=np.array([1.0]))
    assert idle < 0 < rented


def test_quadrature_covers_the_life():
    months = capital.quadrature_months(18, 60)
    assert months.size == 10 and months[0] == 21 and months[-1] == 75


def test_orders_follow_q_with_adjustment_costs():
    rate = capital.order_rate(np.array([0.5, 1.0, 2.0, 3.0]), 0.5)
    assert_allclose(rate, [0.0, 0.0, 1 / 6, 2 / 6])


def test_budgets_and_grids_scale_orders_down_proportionally():
    owner = np.array([0, 0, 1])
    factor = capital.scale_to_budget(np.array([60.0, 40.0, 10.0]), owner, np.array([50.0, 20.0]))
    assert_allclose(factor, [0.5, 0.5, 1.0])
    factor = capital.scale_to_headroom(np.array([30.0, 10.0, 5.0]), np.array([0, 0, 1]),
                                       np.array([20.0, -1.0]))
    assert_allclose(factor, [0.5, 0.5, 0.0])
