"""Input checks shared by the market primitives: bad input raises a ValueError naming it."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def real_vector(value: ArrayLike, name: str, *, nonnegative: bool = False,
                min_size: int = 0) -> np.ndarray:
    """``value`` as a finite 1-D float64 array; raise ValueError naming ``name`` otherwise."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a 1-D array of real numbers ({exc})") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name} must have at least {min_size} element(s), got {arr.size}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if nonnegative and (arr < 0.0).any():
        raise ValueError(f"{name} must be non-negative, got a minimum of {arr.min()!r}")
    return arr
