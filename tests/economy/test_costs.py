"""Long-run marginal cost, the Hall-Jorgenson rental rate, energy and queueing latency."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from abm.economy import costs


def test_hall_jorgenson_rental_rate():
    # (i + delta) * P_K over the hours of a year
    assert_allclose(costs.capital_rental_per_hour(45_000.0, 0.09, 0.30), 0.39 * 45_000 / 8760)
    assert costs.capital_rental_per_hour(45_000.0, 0.12, 0.30) > \
        costs.capital_rental_per_hour(45_000.0, 0.09, 0.30)


def test_long_run_marginal_cost_spreads_idle_capacity_over_tokens_sold():
    hourly = costs.cost_per_h100e_hour(rental=2.0, energy=0.1, opex_share=0.15)
    assert_allclose(hourly, 2.0 * 1.15 + 0.1)
    assert_allclose(costs.cost_per_mtok(0.5, hourly, 0.7), 0.5 * hourly / 0.7)
    # scale economies lower opex only
    assert costs.cost_per_h100e_hour(2.0, 0.1, 0.15, scale_factor=0.5) < hourly


def test_model_cost_of_an_h100_hour_is_near_rental_prices():
    # CALIBRATION.md: H100 rental ~$2.3/h (1.5-3.5) early 2025; the defaults' full cost of an
    # H100e-hour (chip $30k + shell $18k/kW x 1.4 kW, 9% + 30% a year, opex, energy)
    replacement = 30_000 + 18_000 * 1.4
    hourly = costs.cost_per_h100e_hour(costs.capital_rental_per_hour(replacement, 0.09, 0.3),
                                       costs.energy_cost_per_h100e_hour(1.4, 1.3, 0.08), 0.15)
    assert 1.5 <= hourly <= 3.5


def test_energy_and_latency():
    # 1 MW at full load for a year at PUE 1 = 8.76 GWh = 0.00876 TWh
    assert_allclose(costs.fleet_energy_twh_per_year(1.0, 1.0, 1.0, 0.4), 0.00876)
    assert_allclose(costs.fleet_energy_twh_per_year(1.0, 1.0, 0.0, 0.4), 0.4 * 0.00876)
    lat = costs.queueing_latency_ms(np.array([0.0, 0.5, 0.9, 1.0]), 20.0)
    assert_allclose(lat[:3], [0.0, 20.0, 180.0])
    assert np.isfinite(lat[3]) and (np.diff(lat) > 0).all()
