"""Random but well-formed market instances, for tests, oracles and the benchmark."""

from __future__ import annotations

import numpy as np

from abm.market.books import DemandBook, SupplyBook


def random_market(rng: np.random.Generator, *, n_segments: int = 200, n_offers: int = 12,
                  n_regions: int = 4, n_nations: int = 4, n_classes: int = 16,
                  tightness: float = 1.0, budget_share_capped: float = 0.3,
                  localised_share: float = 0.2, tariff: float = 0.1,
                  choice_sensitivity: tuple[float, float] = (2.0, 6.0),
                  elasticity: tuple[float, float] = (0.5, 2.0)
                  ) -> tuple[SupplyBook, DemandBook]:
    """A random (supply, demand) pair.

    ``tightness`` scales demand relative to capacity: at 1 roughly half the offers bind at
    their asks. Units as in :mod:`abm.market.books`.
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
    )
    return supply, demand
