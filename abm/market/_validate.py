"""Input checks shared by the market primitives: bad input raises a ValueError naming it."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def real_array(value: ArrayLike, name: str) -> np.ndarray:
    """``value`` as a float64 array of any shape, refusing what is not a real number.

    Only integer and floating dtypes (and Python ``int``/``float`` objects) are accepted:
    booleans, strings (even numeric ones), datetimes, complex numbers and masked arrays
    (whose mask would be silently dropped) are refused, as is an integer too large for a
    float64.  NaN and inf pass through; callers check finiteness.

    Raises
    ------
    ValueError
        Naming ``name`` and the allowed values.
    """
    allowed = "allowed: real numbers (int or float)"
    if isinstance(value, np.ma.MaskedArray):
        raise ValueError(f"{name}: masked arrays are not accepted (the mask would be "
                         f"ignored); pass a plain array of real numbers")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected an array of real numbers ({exc}); {allowed}") \
            from None
    kind = raw.dtype.kind
    if kind == "O":
        bad = [v for v in raw.ravel().tolist() if isinstance(v, (bool, np.bool_))
               or not isinstance(v, (int, float, np.integer, np.floating))]
        if bad:
            raise ValueError(f"{name}: holds {bad[0]!r} of type {type(bad[0]).__name__}; "
                             f"{allowed}")
    elif kind not in "iuf":
        raise ValueError(f"{name}: dtype {raw.dtype} is not accepted; {allowed}")
    try:
        return np.asarray(raw, dtype=np.float64)
    except OverflowError:
        raise ValueError(f"{name}: holds a number too large for a float64 "
                         f"(maximum {np.finfo(np.float64).max:.6g})") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected an array of real numbers ({exc}); {allowed}") \
            from None


def real_vector(value: ArrayLike, name: str, *, nonnegative: bool = False,
                min_size: int = 0) -> np.ndarray:
    """``value`` as a finite 1-D float64 array; raise ValueError naming ``name`` otherwise."""
    arr = real_array(value, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name} must have at least {min_size} element(s), got {arr.size}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if nonnegative and (arr < 0.0).any():
        raise ValueError(f"{name} must be non-negative, got a minimum of {arr.min()!r}")
    return arr


def tolerance(value, name: str = "tol") -> float:
    """``value`` as a float in (0, 1): a relative tolerance; raise ValueError naming ``name``.

    A tolerance of 1 or more (or ``inf``) would accept any price as an equilibrium.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}: must be a real number in (0, 1), got {value!r}")
    value = float(value)
    if not (0.0 < value < 1.0):
        raise ValueError(f"{name}: must be a real number in (0, 1), got {value!r}")
    return value


def count(value, name: str) -> int:
    """``value`` as a non-negative int; raise ValueError naming ``name`` otherwise.

    Integral floats (``200.0``) are accepted; NaN, inf, fractions and booleans are not.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}: must be a whole number >= 0, got {value!r}")
    if isinstance(value, (int, np.integer)):  # exact: no float conversion (10**30 is fine)
        if value < 0:
            raise ValueError(f"{name}: must be a whole number >= 0, got {value!r}")
        return int(value)
    if not (np.isfinite(value) and value >= 0 and float(value).is_integer()):
        raise ValueError(f"{name}: must be a whole number >= 0, got {value!r}")
    return int(value)


#: Money totals must stay below this ($/month): a margin of 2**10 under the float64 maximum.
MONEY_MAX = float(np.finfo(np.float64).max) / 1024.0


def money_fits(ask: np.ndarray, capacity: np.ndarray, tariff: np.ndarray) -> None:
    """Refuse a book whose money at the asks could exceed float64, naming the offer.

    Selling every offer's capacity at its ask, tariffs included, must total below
    :data:`MONEY_MAX` (about 1.8e305 $/month); otherwise revenue and spending would be
    ``inf`` and no identity could be checked.

    Raises
    ------
    ValueError
        Naming ``ask`` and ``capacity`` and the first offer whose ``ask x capacity`` is
        too large, or naming ``tariff`` when the untaxed money would fit.
    """
    n = max(ask.shape[0], 1)
    bound = MONEY_MAX / n / (1.0 + float(tariff.max(initial=0.0)))
    with np.errstate(over="ignore"):
        money = ask * capacity
    bad = np.flatnonzero(~(money < bound))
    if bad.size:
        i = int(bad[0])
        if money[i] < MONEY_MAX / n:  # fits untaxed: the tariff is what breaks it
            j = int(np.argmax(tariff))
            raise ValueError(f"tariff: {tariff[j]:.3g} (nation {j}) is too large: buyers would "
                             f"pay more than {MONEY_MAX:.3g} $/month at the asks, beyond "
                             f"float64; tariffs are a share of the price and must keep "
                             f"(1 + tariff) x ask x capacity below that")
        raise ValueError(f"ask x capacity: offer {i} would take {money[i]:.3g} $/month at its "
                         f"ask (ask {ask[i]:.3g}, capacity {capacity[i]:.3g}); money must stay "
                         f"below {bound:.3g} $/month per offer to be a float64")


def log_price_ceiling(capacity: np.ndarray, tariff: np.ndarray) -> float:
    """Highest log price ($/M tokens) at which selling all capacity stays below MONEY_MAX."""
    total = float(capacity.max(initial=0.0)) * max(capacity.shape[0], 1) * (
        1.0 + float(tariff.max(initial=0.0)))
    top = float(np.log(MONEY_MAX))
    return top if total <= 1.0 else top - float(np.log(total))
