"""Accounting identities checked after every month; a violation raises with month and quantity."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm.market import ClearingResult, DemandBook, SupplyBook

if TYPE_CHECKING:
    from abm.model import ComputeEconomy

RTOL = 1e-8


class InvariantViolation(RuntimeError):
    """An accounting identity failed: the message names the month and the quantity."""


def _close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= RTOL * max(scale, 1.0)


def _worst(arr: np.ndarray) -> tuple[tuple[int, ...], float]:
    """The index and value that break ``arr >= 0 and finite``: the first NaN or infinity if
    there is one (reported as such, never hidden by a NaN-ignoring minimum), else the
    minimum."""
    bad = ~np.isfinite(arr)
    flat = int(np.argmax(bad.ravel())) if bad.any() else int(np.argmin(arr.ravel()))
    idx = np.unravel_index(flat, arr.shape)
    return tuple(int(i) for i in idx), float(arr.ravel()[flat])


def _nonneg_finite(arr: np.ndarray) -> bool:
    """Every value of ``arr`` is finite and >= 0: its minimum >= 0 and its maximum < inf (a
    NaN makes both comparisons false), two fast reductions instead of elementwise masks."""
    return arr.size == 0 or bool(arr.min() >= 0 and arr.max() < np.inf)


def check_step(model: ComputeEconomy, result: ClearingResult, supply: SupplyBook,
               demand: DemandBook) -> None:
    """Check conservation of tokens and money, capacity limits and non-negative stocks."""
    month = model.month

    def fail(quantity: str, value) -> None:
        raise InvariantViolation(f"month {month}: {quantity} violated (value {value})")

    sold, bought = result.offer_tokens.sum(), result.segment_tokens.sum()
    if not _close(sold, bought, sold):
        fail("tokens sold = tokens bought", f"{sold} vs {bought}")
    paid = result.segment_spending.sum()
    received = result.offer_revenue.sum() + result.tariff_revenue.sum()
    if not _close(paid, received, paid):
        fail("money paid = money received (revenue + tariffs)", f"{paid} vs {received}")
    over = result.offer_tokens - supply.capacity * (1 + RTOL)
    if (over > 0).any():
        fail("tokens sold <= capacity", f"excess {over.max()} M tokens")
    for name in ("price", "offer_tokens", "segment_tokens", "segment_spending",
                 "segment_unserved"):
        arr = getattr(result, name)
        if not _nonneg_finite(arr):
            fail(f"{name} >= 0 and finite", _worst(arr)[1])
    if (result.price < supply.ask * (1 - 1e-12)).any():
        fail("clearing price >= ask", (result.price - supply.ask).min())
    fleet = model.fleet
    for stock in ("chips", "power", "cost", "arriving", "arriving_power", "arriving_cost",
                  "shells", "shell_pipeline", "shell_book", "training"):
        arr = getattr(fleet, stock)
        if arr.size and ((arr < -1e-9 * max(1.0, float(np.abs(arr).max()))).any()
                         or not np.isfinite(arr).all()):
            idx, value = _worst(arr)
            name = model.providers[int(fleet.provider[idx[-1]])].name
            fail(f"fleet.{stock} >= 0 and finite ({name})", value)
    over = fleet.training - fleet.installed * (1 + RTOL)
    if (over > 0).any():
        fail("H100e rented to training <= installed", over.max())
    if (fleet.occupied_mw > (fleet.shells + fleet.shell_pipeline.sum(axis=0)) * (1 + 1e-6)
            + 1e-9).any():
        fail("chips fit in their data-centre shells", (fleet.occupied_mw - fleet.shells).max())
    for p in model.providers:
        if not np.isfinite(p.cash):
            fail(f"{p.name}.cash finite", p.cash)
    # every nation's stocks checked at once; the first that fails is named, as before
    headroom = np.array([n.grid_headroom_mw for n in model.nations], dtype=float)
    share = np.array([n.localisation_share for n in model.nations], dtype=float)
    bad = (headroom < -1e-9) | ~((share >= 0.0) & (share <= 1.0))
    if bad.any():
        n = model.nations[int(np.argmax(bad))]
        if n.grid_headroom_mw < -1e-9:
            fail(f"{n.name}.grid_headroom_mw >= 0", n.grid_headroom_mw)
        fail(f"{n.name}.localisation_share in [0, 1]", n.localisation_share)
