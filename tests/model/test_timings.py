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


def test_end_of_month_stages_count_as_agents(monkeypatch):
    """Restructuring, neocloud entry and exit and the month's ageing run after the recorder:
    a fake clock that advances only inside each of them puts exactly that time in
    ``agents`` (it used to fall outside every timer)."""
    from abm.economy import entry

    clock = {"t": 0.0}
    monkeypatch.setattr(exchange.time, "perf_counter", lambda: clock["t"])
    monkeypatch.setattr("abm.model.time.perf_counter", lambda: clock["t"])

    def ticking(fn, seconds):
        def wrapped(*args, **kwargs):
            clock["t"] += seconds
            return fn(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(entry, "restructure", ticking(entry.restructure, 1.0))
    monkeypatch.setattr(entry, "neoclouds", ticking(entry.neoclouds, 2.0))
    monkeypatch.setattr(ComputeEconomy, "_time_passes",
                        ticking(ComputeEconomy._time_passes, 4.0))
    model = ComputeEconomy(small_config(months=2))
    model.step()
    model.step()
    t = model.timings()
    assert t == {"agents": 14.0, "clearing": 0.0, "metrics": 0.0}


def test_timers_cover_the_whole_step(monkeypatch):
    """A clock that advances 1 s at every reading: the three timers add up to the step's
    first-to-last reading, with nothing left out (each reading is one tick)."""
    clock = {"t": 0.0}

    def tick():
        clock["t"] += 1.0
        return clock["t"]

    model = ComputeEconomy(small_config(months=2))
    monkeypatch.setattr(exchange.time, "perf_counter", tick)
    monkeypatch.setattr("abm.model.time.perf_counter", tick)
    before = clock["t"]
    model.step()
    t = model.timings()
    # readings: t0..t5 in the step and two around the demand evaluation in build_supply;
    # the timers cover t0 -> t5, i.e. every tick but the first reading's own
    assert sum(t.values()) == clock["t"] - before - 1.0
