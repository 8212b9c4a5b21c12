"""Order books saved from a real month of a model run, for the clearing benchmark.

``python -m abm.bench market`` times :func:`abm.market.clear` on the books one month of the
``world`` preset actually handed to it (thousands of preference classes, hundreds of
(provider, site, tier) offers in nests, most of them binding), warm-started from the
previous month's prices as the model does. :func:`save_books` writes such a month to a
compressed ``.npz``; :func:`load_books` reads it back as ``(SupplyBook, DemandBook,
warm_start, clearing keywords)``. :func:`capture` runs the model and saves one month.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np

from abm.market.books import DemandBook, SupplyBook

#: The world preset's month saved with the package (see :func:`capture`).
WORLD_MONTH = Path(__file__).with_name("world_month.npz")
_NONE = "__none__"


def save_books(path: str | Path, supply: SupplyBook, demand: DemandBook,
               warm_start: np.ndarray | None, *, tol: float, max_rounds: int,
               note: str = "") -> None:
    """Write one month's books (and warm start and clearing settings) to ``path`` (.npz)."""
    arrays: dict[str, np.ndarray] = {}
    for prefix, book in (("supply.", supply), ("demand.", demand)):
        for f in fields(book):
            if not f.init:
                continue
            value = getattr(book, f.name)
            arrays[prefix + f.name] = np.array(_NONE) if value is None else np.asarray(value)
    arrays["warm_start"] = np.array(_NONE) if warm_start is None else np.asarray(warm_start)
    arrays["tol"] = np.array(float(tol))
    arrays["max_rounds"] = np.array(int(max_rounds))
    arrays["note"] = np.array(note)
    np.savez_compressed(path, **arrays)


def load_books(path: str | Path = WORLD_MONTH
               ) -> tuple[SupplyBook, DemandBook, np.ndarray | None, dict, str]:
    """``(supply, demand, warm_start, {"tol", "max_rounds"}, note)`` saved by :func:`save_books`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    """
    with np.load(path, allow_pickle=False) as data:
        def get(name):
            value = data[name]
            return None if value.dtype.kind == "U" and str(value) == _NONE else value

        books = []
        for prefix, cls in (("supply.", SupplyBook), ("demand.", DemandBook)):
            kwargs = {f.name: get(prefix + f.name) for f in fields(cls) if f.init}
            books.append(cls(**kwargs))
        warm = get("warm_start")
        settings = {"tol": float(data["tol"]), "max_rounds": int(data["max_rounds"])}
        note = str(data["note"])
    return books[0], books[1], warm, settings, note


def capture(month: int, path: str | Path = WORLD_MONTH, *, seed: int = 0) -> str:
    """Run the ``world`` preset to ``month`` (0-based) and save that month's books.

    Returns the note stored with them.
    """
    from abm.bench.model_bench import _world_config
    from abm.market import clearing
    from abm.model import ComputeEconomy

    cfg = _world_config(month + 1)
    cfg.seed = seed
    model = ComputeEconomy(cfg)
    for _ in range(month):
        model.step()
    seen = {}
    original = clearing.clear

    def spy(supply, demand, warm_start=None, **kw):
        seen.update(supply=supply, demand=demand, warm=warm_start, kw=kw)
        return original(supply, demand, warm_start=warm_start, **kw)

    import abm.model as model_module

    model_module.clear = spy
    try:
        model.step()
    finally:
        model_module.clear = original
    note = (f"world preset, seed {seed}, month {month}: {seen['demand'].n_classes} classes, "
            f"{seen['supply'].n_offers} offers, {seen['demand'].n_segments} segments")
    save_books(path, seen["supply"], seen["demand"], seen["warm"], note=note, **seen["kw"])
    return note
