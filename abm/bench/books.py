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


def scaled_month(supply: SupplyBook, demand: DemandBook, copies: int, *, seed: int = 0,
                 jitter: float = 0.1, cross_latency_ms: float = 30.0
                 ) -> tuple[SupplyBook, DemandBook]:
    """A real-structure book ``copies`` times the size of a saved month.

    The month's world is repeated ``copies`` times as new nations and regions (``copies x``
    the classes, segments and offers), so the class structure (nations x use-cases x
    localised, plus startups, with their two choice sensitivities), the per-offer
    attributes (tiers, quality, latency, appeal) and the demand/capacity balance carry over
    unchanged. What ties the copies into one market:

    * providers are the same firms in every copy (an offer's nest is its provider), so a
      nest holds ``copies x`` the sites, as a larger world's providers run more sites;
    * a class may buy from every copy's regions (the region latencies repeat the saved
      matrix, plus ``cross_latency_ms`` between copies) as a foreign buyer: tariffs apply
      and localised classes stay at home, as in the saved month.

    Each copy's reference demand, budgets, capacities and asks (marginal costs with them)
    are scaled by independent lognormal factors of sd ``jitter`` (so copies are not exact
    ties), which keeps the spread of log asks, the share of binding offers and the capacity
    per unit of demand close to the saved month's (``tests/test_bench.py`` checks each
    against stated tolerances).

    Raises
    ------
    ValueError
        If ``copies`` is not a whole number >= 1 or ``jitter`` / ``cross_latency_ms`` is
        negative or not finite.
    """
    if isinstance(copies, bool) or not isinstance(copies, int | np.integer) or copies < 1:
        raise ValueError(f"copies: expected a whole number >= 1, got {copies!r}")
    for name, value in (("jitter", jitter), ("cross_latency_ms", cross_latency_ms)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    rng = np.random.default_rng(seed)
    k = int(copies)
    n_reg = demand.region_nation.shape[0]
    n_nat = demand.tariff.shape[0]
    n_cls = demand.n_classes
    copy_seg = np.repeat(np.arange(k), demand.n_segments)
    copy_cls = np.repeat(np.arange(k), n_cls)
    copy_off = np.repeat(np.arange(k), supply.n_offers)

    def tile(a):
        return None if a is None else np.tile(np.asarray(a), k)

    def noise(n):  # one lognormal factor per copy and item
        return rng.lognormal(0.0, jitter, n)

    lat = np.tile(demand.latency_matrix_ms, (k, k))
    lat += cross_latency_ms * (np.repeat(np.arange(k), n_reg)[:, None]
                               != np.repeat(np.arange(k), n_reg)[None, :])
    demand_scale = noise(k * demand.n_segments)
    new_demand = DemandBook(
        segment_class=tile(demand.segment_class) + n_cls * copy_seg,
        reference_demand=tile(demand.reference_demand) * demand_scale,
        budget=tile(demand.budget) * demand_scale,
        population=tile(demand.population),
        class_nation=tile(demand.class_nation) + n_nat * copy_cls,
        choice_sensitivity=tile(demand.choice_sensitivity), elasticity=tile(demand.elasticity),
        latency_tolerance_ms=tile(demand.latency_tolerance_ms),
        latency_cost=tile(demand.latency_cost), quality_threshold=tile(demand.quality_threshold),
        quality_cost=tile(demand.quality_cost), localised=tile(demand.localised),
        latency_matrix_ms=lat,
        region_nation=tile(demand.region_nation) + n_nat * np.repeat(np.arange(k), n_reg),
        tariff=tile(demand.tariff), open_weights_only=tile(demand.open_weights_only),
        nesting=tile(demand.nesting), home_bias=tile(demand.home_bias))
    price_scale = noise(k * supply.n_offers)
    new_supply = SupplyBook(
        provider=tile(supply.provider), region=tile(supply.region) + n_reg * copy_off,
        tier=tile(supply.tier), open_weights=tile(supply.open_weights),
        capacity=tile(supply.capacity) * noise(k * supply.n_offers),
        marginal_cost=tile(supply.marginal_cost) * price_scale,
        ask=tile(supply.ask) * price_scale, quality=tile(supply.quality),
        latency_ms=tile(supply.latency_ms), appeal=tile(supply.appeal), nest=tile(supply.nest))
    return new_supply, new_demand


def month_summary(supply: SupplyBook, demand: DemandBook, result=None) -> dict[str, float]:
    """The shape statistics :func:`scaled_month` keeps, for comparing books.

    Classes per nation, segments per class, offers per nest, the share of localised
    classes and of the faster-switching (startup router) classes, the sd of log asks,
    capacity over reference demand and, given a clearing ``result``, the share of offers
    that bind (priced above their asks).
    """
    nations = np.unique(demand.class_nation).size
    nests = np.unique(supply.nest if supply.nest is not None else supply.provider).size
    alpha = demand.choice_sensitivity
    out = {
        "classes_per_nation": demand.n_classes / nations,
        "segments_per_class": demand.n_segments / demand.n_classes,
        "offers_per_nest": supply.n_offers / nests,
        "localised_share": float(np.mean(demand.localised)),
        "router_share": float(np.mean(alpha > alpha.min())),
        "log_ask_sd": float(np.std(np.log(supply.ask))),
        "capacity_per_demand": float(supply.capacity.sum() / demand.reference_demand.sum()),
    }
    if result is not None:
        out["binding_share"] = float(np.mean(result.scarcity_premium > 0))
    return out
