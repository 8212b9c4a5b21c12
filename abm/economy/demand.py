"""Long-run demand adjustment: token demand grows into cheaper tokens (mechanism 11).

Users' short-run response to price is inelastic (``demand.elasticity``, 0.05-0.3: NBER
w34608), but as tokens get cheaper new uses are built around them, so the long-run response is
larger (``demand.long_run_elasticity``). Following the partial-adjustment demand of
Houthakker and Taylor (1970), reference demand carries a multiplier ``M`` that each month
moves a share ``adjustment_speed`` of the way (in logs) toward its long-run level

    ln M*_t = -(long_run_elasticity - elasticity) * ln P_t

where ``P_t`` is the users' inclusive price index (the nested-logit inclusive value, so better
models at the same price count as cheaper), chained month to month over user classes with
token weights and equal to 1 in January 2025.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class DemandAdjustment:
    """The multiplier ``M`` on reference demand and the chained log price index ``ln P``."""

    multiplier: float = 1.0
    log_price: float = 0.0
    _last: np.ndarray | None = None

    def update(self, class_price: np.ndarray, class_tokens: np.ndarray, n_user_classes: int,
               elasticity: float, long_run_elasticity: float, speed: float) -> None:
        """Chain this month's user-class prices into the index and adjust ``M``.

        ``class_price`` (C,) $/M tokens (inf where a class had no offer); ``class_tokens``
        (C,) its tokens; the first ``n_user_classes`` classes keep their identity month to
        month (startup classes come and go and are left out).
        """
        price = np.asarray(class_price[:n_user_classes], dtype=float)
        tokens = np.asarray(class_tokens[:n_user_classes], dtype=float)
        if self._last is not None and self._last.size == price.size:
            ok = np.isfinite(price) & np.isfinite(self._last) & (price > 0) & (self._last > 0) \
                & (tokens > 0)
            if ok.any():
                change = np.log(price[ok] / self._last[ok])
                self.log_price += float(np.average(change, weights=tokens[ok]))
        self._last = price
        target = -(long_run_elasticity - elasticity) * self.log_price
        self.multiplier = math.exp((1.0 - speed) * math.log(self.multiplier) + speed * target)
