"""Random but well-formed market instances, for tests, oracles and the benchmark."""

from __future__ import annotations

import numpy as np

from abm.market.books import DemandBook, SupplyBook


def random_market(rng: np.random.Generator, *, n_segments: int = 200, n_offers: int = 12,
                  n_regions: int = 4, n_nations: int = 4, n_classes: int = 16,
                  tightness: float = 1.0, budget_share_capped: float = 0.3,
                  localised_share: float = 0.2, tariff: float = 0.1,
                  choice_sensitivity: tuple[float, float] = (2.0, 6.0),
                  elasticity: tuple[float, float] = (0.5, 2.0),
                  nesting: tuple[float, float] = (0.0, 0.0),
                  home_bias: tuple[float, float] = (0.0, 0.0)
                  ) -> tuple[SupplyBook, DemandBook]:
    """A random (supply, demand) pair.

    ``tightness`` scales demand relative to capacity: at 1 roughly half the offers bind at
    their asks. ``nesting`` and ``home_bias`` are ranges of the classes' nested-logit
    parameter (nests are providers) and home bias; at their default (0, 0) nothing is drawn,
    so instances are those of a plain logit. Units as in :mod:`abm.market.books`.
    """
    n_nations = min(n_nations, n_regions)
    region_nation = np.concatenate([np.arange(n_nations),
                                    rng.integers(0, n_nations, n_regions - n_nations)])
    xy = rng.uniform(0, 100, size=(n_nations, 2))
    rxy = xy[region_nation] + rng.normal(0, 2, size=(n_regions, 2))
    latency = 5 + np.linalg.norm(xy[:, None, :] - rxy[None, :, :], axis=2)

    tier = rng.integers(0, 3, n_offers)
    base_cost = np.array([3.0, 0.5, 0.1])[tier]
    mc = base_cost * rng.uniform(0.5, 1.5, n_offers)
    ask = mc * rng.uniform(1.05, 3.0, n_offers)
    quality = np.array([1.0, 0.85, 0.7])[tier] * rng.uniform(0.95, 1.0, n_offers)
    capacity = rng.uniform(50, 150, n_offers)
    supply = SupplyBook(
        provider=rng.integers(0, max(1, n_offers // 3), n_offers),
        region=rng.integers(0, n_regions, n_offers),
        tier=tier,
        open_weights=rng.random(n_offers) < 0.2,
        capacity=capacity,
        marginal_cost=mc,
        ask=ask,
        quality=quality,
        latency_ms=rng.uniform(0, 20, n_offers),
        appeal=rng.normal(0, 0.3, n_offers),
    )

    segment_class = rng.integers(0, n_classes, n_segments)
    segment_class[:n_classes] = np.arange(min(n_classes, n_segments))
    ref = rng.lognormal(0, 1, n_segments)
    ref *= tightness * capacity.sum() / ref.sum()
    budget = ref * rng.uniform(0.2, 3.0, n_segments)
    budget = np.where(rng.random(n_segments) < budget_share_capped, budget, np.inf)
    demand = DemandBook(
        segment_class=segment_class,
        reference_demand=ref,
        budget=budget,
        population=rng.uniform(1e3, 1e6, n_segments),
        class_nation=rng.integers(0, n_nations, n_classes),
        choice_sensitivity=rng.uniform(*choice_sensitivity, n_classes),
        elasticity=rng.uniform(*elasticity, n_classes),
        latency_tolerance_ms=rng.uniform(20, 200, n_classes),
        latency_cost=rng.uniform(0, 0.01, n_classes),
        quality_threshold=rng.uniform(0.5, 1.0, n_classes),
        quality_cost=rng.uniform(0, 5, n_classes),
        localised=rng.random(n_classes) < localised_share,
        latency_matrix_ms=latency,
        region_nation=region_nation,
        tariff=np.full(n_nations, tariff),
        nesting=rng.uniform(*nesting, n_classes) if nesting[1] > 0 else None,
        home_bias=rng.uniform(*home_bias, n_classes) if home_bias[1] > 0 else None,
    )
    return supply, demand


# Use-case archetypes for :func:`benchmark_market`: (latency tolerance ms, quality threshold,
# relative volume, share of segments bound by data localisation).
_USECASES = (
    (300.0, 0.95, 1.0, 0.05),  # coding / agents: frontier quality, latency-tolerant
    (80.0, 0.80, 2.0, 0.10),  # chat assistants: interactive
    (1000.0, 0.70, 3.0, 0.05),  # batch / document processing
    (60.0, 0.85, 0.5, 0.50),  # public sector and health: often localised
    (150.0, 0.75, 1.5, 0.30),  # finance and enterprise back office
)


def benchmark_market(rng: np.random.Generator, n_segments: int, *, n_offers: int = 100,
                     n_regions: int = 20, n_nations: int = 20, n_usecases: int = 5,
                     n_income: int = 10, n_providers: int = 12, tightness: float = 1.5,
                     budget_share_capped: float = 0.3, tariff_max: float = 0.2
                     ) -> tuple[SupplyBook, DemandBook]:
    """A large, realistic-shaped instance for the benchmark (``python -m abm.bench market``).

    Segments are nation x income group x use-case x localised flag (with repeats when
    ``n_segments`` exceeds the ``n_nations * n_income * n_usecases * 2`` combinations: think
    firms or sub-national regions); they are grouped into classes by (nation, use-case,
    localised), so ``2 * n_nations * n_usecases`` classes (200 by default) and every class
    has a segment when ``n_segments`` allows. Reference demand rises with income and is
    lognormal within a cell; ``budget_share_capped`` of the segments have a budget that caps
    them at typical prices. ``tightness`` scales demand at typical asks relative to total
    capacity (above 1 many offers bind). Units as in :mod:`abm.market.books`.
    """
    if n_segments < 1:
        raise ValueError(f"n_segments: must be >= 1, got {n_segments}")
    n_usecases = max(1, min(n_usecases, len(_USECASES)))
    usecase_tab = np.array(_USECASES[:n_usecases])

    # Geography: every nation hosts a region first, the rest go to the largest nations.
    nation_weight = rng.lognormal(0.0, 1.0, n_nations)
    nation_weight /= nation_weight.sum()
    n_hosted = min(n_nations, n_regions)
    region_nation = np.concatenate([
        np.arange(n_hosted),
        rng.choice(n_nations, n_regions - n_hosted, p=nation_weight)]).astype(np.int64)
    xy = rng.uniform(0, 150, size=(n_nations, 2))
    rxy = xy[region_nation] + rng.normal(0, 3, size=(n_regions, 2))
    latency = 5.0 + np.linalg.norm(xy[:, None, :] - rxy[None, :, :], axis=2)

    # Supply: providers x regions x tiers, a fifth of them open weights.
    tier = rng.choice(3, n_offers, p=[0.3, 0.4, 0.3])
    base_cost = np.array([4.0, 0.6, 0.1])[tier]
    mc = base_cost * rng.uniform(0.6, 1.4, n_offers)
    ask = mc * rng.uniform(1.1, 2.5, n_offers)
    quality = np.array([1.0, 0.85, 0.7])[tier] * rng.uniform(0.95, 1.0, n_offers)
    capacity = rng.lognormal(0.0, 0.7, n_offers) * np.array([1.0, 3.0, 6.0])[tier]
    capacity *= 1e5 / capacity.sum()
    supply = SupplyBook(
        provider=rng.integers(0, n_providers, n_offers),
        region=rng.integers(0, n_regions, n_offers),
        tier=tier, open_weights=rng.random(n_offers) < 0.2, capacity=capacity,
        marginal_cost=mc, ask=ask, quality=quality,
        latency_ms=rng.uniform(0, 30, n_offers), appeal=rng.normal(0, 0.3, n_offers))

    # Classes: (nation, use-case, localised), localised fastest.
    n_cls = n_nations * n_usecases * 2
    cls = np.arange(n_cls)
    cls_localised = (cls % 2).astype(bool)
    cls_usecase = (cls // 2) % n_usecases
    cls_nation = cls // (2 * n_usecases)

    # Segments: the first ones enumerate the classes, the rest are drawn.
    nation = rng.choice(n_nations, n_segments, p=nation_weight)
    use_w = usecase_tab[:, 2] / usecase_tab[:, 2].sum()
    usecase = rng.choice(n_usecases, n_segments, p=use_w)
    localised = rng.random(n_segments) < usecase_tab[usecase, 3]
    k = min(n_cls, n_segments)
    nation[:k], usecase[:k], localised[:k] = cls_nation[:k], cls_usecase[:k], cls_localised[:k]
    segment_class = (nation * n_usecases + usecase) * 2 + localised
    income = rng.integers(0, n_income, n_segments)
    eps = rng.uniform(0.6, 1.6, n_cls)
    ref = (rng.lognormal(0.0, 1.0, n_segments) * np.exp(0.35 * income)
           * usecase_tab[usecase, 2])
    typical_price = float(np.median(ask))
    at_typical = ref * typical_price ** -eps[segment_class]
    ref *= tightness * capacity.sum() / at_typical.sum()
    spend = ref * typical_price ** (1.0 - eps[segment_class])
    budget = spend * rng.uniform(0.2, 1.5, n_segments)
    budget = np.where(rng.random(n_segments) < budget_share_capped, budget, np.inf)

    demand = DemandBook(
        segment_class=segment_class, reference_demand=ref, budget=budget,
        population=rng.uniform(1e3, 1e5, n_segments) * (n_income - income),
        class_nation=cls_nation,
        choice_sensitivity=rng.uniform(2.0, 6.0, n_cls),
        elasticity=eps,
        latency_tolerance_ms=usecase_tab[cls_usecase, 0] * rng.uniform(0.7, 1.3, n_cls),
        latency_cost=rng.uniform(0.0, 0.005, n_cls),
        quality_threshold=usecase_tab[cls_usecase, 1],
        quality_cost=rng.uniform(0.5, 4.0, n_cls),
        localised=cls_localised,
        latency_matrix_ms=latency,
        region_nation=region_nation,
        tariff=rng.uniform(0.0, tariff_max, n_nations),
    )
    return supply, demand


def wide_market(rng: np.random.Generator, orders: float, *, n_segments: int = 60,
                n_offers: int | None = None, n_classes: int | None = None
                ) -> tuple[SupplyBook, DemandBook]:
    """A random book whose magnitudes span ``orders`` orders of magnitude.

    A :func:`random_market` (random size, tightness, localisation, tariffs, nesting and
    open-weights-only classes) whose reference demands, budgets, capacities and asks are
    each multiplied by ``10 ** U(-orders / 2, orders / 2)``, drawn per element (per class
    for the demands and budgets of half the books). Used to
    check that the clearing core conserves tokens and money however far apart the classes
    and offers are in scale (``python scripts/conservation_sweep.py``).
    """
    if not (np.isfinite(orders) and orders >= 0):
        raise ValueError(f"orders: must be a finite number >= 0, got {orders!r}")
    n_offers = int(rng.integers(1, 26)) if n_offers is None else n_offers
    n_classes = int(rng.integers(1, 13)) if n_classes is None else n_classes
    nested = rng.random() < 0.5
    supply, demand = random_market(
        rng, n_segments=n_segments, n_offers=n_offers, n_regions=3, n_nations=3,
        n_classes=n_classes, tightness=float(np.exp(rng.uniform(np.log(0.05), np.log(20)))),
        localised_share=float(rng.random()), tariff=float(rng.random()),
        nesting=(0.0, 0.9) if nested else (0.0, 0.0))

    def spread(n: int) -> np.ndarray:
        return 10.0 ** rng.uniform(-orders / 2, orders / 2, n)

    n_seg, n_off = demand.n_segments, supply.n_offers
    ask = supply.ask * spread(n_off)
    supply = SupplyBook(
        provider=supply.provider, region=supply.region, tier=supply.tier,
        open_weights=supply.open_weights, capacity=supply.capacity * spread(n_off),
        marginal_cost=np.minimum(supply.marginal_cost, ask), ask=ask, quality=supply.quality,
        latency_ms=supply.latency_ms, appeal=supply.appeal, nest=supply.nest)
    only = rng.random(demand.n_classes) < 0.2
    # Half the books spread whole classes apart, half spread the segments of each class.
    by_class = rng.random() < 0.5
    cls = demand.segment_class

    def spread_demand() -> np.ndarray:
        return spread(demand.n_classes)[cls] if by_class else spread(n_seg)

    demand = DemandBook(
        cls, demand.reference_demand * spread_demand(), demand.budget * spread_demand(),
        demand.population, demand.class_nation,
        demand.choice_sensitivity, demand.elasticity, demand.latency_tolerance_ms,
        demand.latency_cost, demand.quality_threshold, demand.quality_cost, demand.localised,
        demand.latency_matrix_ms, demand.region_nation, demand.tariff, only, demand.nesting,
        demand.home_bias)
    return supply, demand
