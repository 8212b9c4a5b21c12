"""Latency between nations and serving regions from great-circle distance."""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0
FIBRE_MS_PER_KM = 0.01  # round trip at 2/3 c (physics, not a calibration choice)


def great_circle_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Distance in km between points given in degrees (broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def latency_matrix_ms(lat, lon, region_lat, region_lon, *, base_ms: float,
                      route_factor: float) -> np.ndarray:
    """Round-trip network latency, ms, from each nation (rows) to each region (columns).

    ``base_ms`` (last mile and handshakes) plus light in fibre over the great-circle distance
    times ``route_factor`` (cables do not follow great circles): ``supply.network_base_latency_ms``
    and ``supply.fibre_route_factor``.
    """
    lat = np.asarray(lat, float)[:, None]
    lon = np.asarray(lon, float)[:, None]
    km = great_circle_km(lat, lon, np.asarray(region_lat, float)[None, :],
                         np.asarray(region_lon, float)[None, :])
    return base_ms + FIBRE_MS_PER_KM * route_factor * km
