"""The model's timers say what they measure (issue 12): the clearing core's demand at the
asks, called while the supply book is built, is counted as clearing, not as the agents'."""

from __future__ import annotations

import numpy as np

from abm.economy import exchange
from abm.model import ComputeEconomy
from tests.model.conftest import small_config


def test_build_supply_books_its_demand_evaluation_as_clearing(monkeypatch):
    model = ComputeEconomy(small_config(months=2))
    model.step()
    calls = []
    real = exchange.offer_demand

    def counted(supply, demand):
        calls.append(1)
        return real(supply, demand)

    monkeypatch.setattr(exchange, "offer_demand", counted)
    state = model.month_state(model.month)
    cost = model.site_costs(state)
    demand, _ = exchange.build_demand(
        model.cfg, state, model.geo, model.uc, model.users, model.nations, [],
        model.need_per_usecase(state), model.open_quality)
    timings: dict[str, float] = {}
    supply, _ = exchange.build_supply(model.cfg, state, model.fleet, model.providers, cost,
                                      model.site_utilisation(), model.cfg.demand.nesting,
                                      demand, timings=timings)
    assert calls == [1] and set(timings) == {"clearing"} and timings["clearing"] >= 0.0
    # without a timings dict nothing is recorded and the book is the same
    again, _ = exchange.build_supply(model.cfg, state, model.fleet, model.providers, cost,
                                     model.site_utilisation(), model.cfg.demand.nesting, demand)
    np.testing.assert_array_equal(again.capacity, supply.capacity)


def test_model_moves_the_demand_evaluation_from_agents_to_clearing(monkeypatch):
    """A fake clock that advances 1 s per reading inside offer_demand only: exactly that
    second per month lands in ``clearing`` and leaves ``agents``."""
    clock = {"t": 0.0}
    real_offer = exchange.offer_demand

    def slow_offer(supply, demand):
        clock["t"] += 1.0
        return real_offer(supply, demand)

    monkeypatch.setattr(exchange.time, "perf_counter", lambda: clock["t"])
    monkeypatch.setattr("abm.model.time.perf_counter", lambda: clock["t"])
    monkeypatch.setattr(exchange, "offer_demand", slow_offer)
    model = ComputeEconomy(small_config(months=2))
    model.step()
    model.step()
    t = model.timings()
    assert t["clearing"] == 2.0 and t["agents"] == 0.0 and t["metrics"] == 0.0
