"""The model's block sums over user segments (abm.economy.segment_sums) give the bits of the
np.bincount path they replace, on a real month of the model."""

from __future__ import annotations

import dataclasses

from abm.economy import entry
from abm.model import ComputeEconomy
from abm.recorder import Recorder
from tests.model.conftest import small_config


def _month():
    model = ComputeEconomy(small_config(months=3))
    captured = {}
    real = entry.startups

    def spy(m, result, layout):
        captured["args"] = (result, layout)
        return real(m, result, layout)

    entry.startups = spy
    try:
        for _ in range(3):
            model.step()
    finally:
        entry.startups = real
    return model, *captured["args"]


def test_access_with_and_without_the_block_layout_agree_bit_for_bit():
    model, result, layout = _month()
    assert layout.user_shape == (model.geo.n, model.cfg.size.income_groups, model.uc.n * 2)
    assert len(layout.startups) > 0  # the startup tail is exercised
    fast = Recorder.access(result, model.demand_book, layout, model.geo.n)
    slow = Recorder.access(result, model.demand_book,
                           dataclasses.replace(layout, user_shape=None), model.geo.n)
    assert fast.keys() == slow.keys()
    for k in fast:
        assert fast[k].tobytes() == slow[k].tobytes(), k


def test_whole_run_with_and_without_the_block_layout_is_the_same_bits(monkeypatch):
    """Every table of a run is the same whether the recorder, access and the startups' class
    prices use the block sums or the np.bincount fallback (layout without ``user_shape``)."""
    from abm.economy import exchange

    def tables():
        model = ComputeEconomy(small_config(months=4))
        for _ in range(4):
            model.step()
        return model.tables()

    fast = tables()
    real = exchange.build_demand

    def without_shape(*args, **kwargs):
        demand, layout = real(*args, **kwargs)
        return demand, dataclasses.replace(layout, user_shape=None)

    monkeypatch.setattr(exchange, "build_demand", without_shape)
    slow = tables()
    for name in fast:
        a, b = fast[name], slow[name]
        assert list(a.columns) == list(b.columns)
        for col in a.columns:
            x, y = a[col].to_numpy(), b[col].to_numpy()
            if x.dtype.kind == "f":
                assert x.tobytes() == y.tobytes(), (name, col)
            else:
                assert (x == y).all(), (name, col)
