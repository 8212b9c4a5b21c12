"""Count clearing-core conservation violations on random books spanning many magnitudes.

    .venv/bin/python scripts/conservation_sweep.py [--books 300] [--orders 9 12 30]

For each number of orders of magnitude, clears ``--books`` random books
(:func:`abm.market.synthetic.wide_market`, seeds 0..books-1) and prints how many break an
identity of :func:`abm.market.conservation.violations` (1e-9 relative), how many did not
converge, and how many of those claimed convergence while breaking an identity.
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from abm.market import clear
from abm.market.conservation import violations
from abm.market.synthetic import wide_market


def _gap(a: float, b: float) -> float:
    """Relative gap of two totals (inf when one is not finite, 0 when both are 0)."""
    if not (np.isfinite(a) and np.isfinite(b)):
        return np.inf
    top = max(abs(a), abs(b))
    return abs(a - b) / top if top > 0 else 0.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", type=int, default=300)
    parser.add_argument("--orders", type=float, nargs="+", default=[9.0, 12.0, 30.0])
    args = parser.parse_args(argv)
    for orders in args.orders:
        bad, unconverged, lying, errors = 0, 0, 0, 0
        kinds: Counter[str] = Counter()
        worst, worst_class, total_bad = 0.0, 0.0, 0
        for seed in range(args.books):
            supply, demand = wide_market(np.random.default_rng(seed), orders)
            try:
                with np.errstate(all="ignore"):
                    res = clear(supply, demand)
            except Exception as exc:  # counted and reported
                errors += 1
                kinds[f"raised {type(exc).__name__}"] += 1
                continue
            found = violations(supply, demand, res)
            worst = max(worst, _gap(res.offer_tokens.sum(), res.segment_tokens.sum()))
            by_class = np.bincount(demand.segment_class, weights=res.segment_tokens,
                                   minlength=demand.n_classes)
            for a, b in zip(res.class_offer_tokens.sum(axis=1), by_class, strict=True):
                worst_class = max(worst_class, _gap(a, b))
            total_bad += any(not f.endswith("per class") for f in found)
            unconverged += not res.converged
            if found:
                bad += 1
                lying += res.converged
                kinds.update(found)
        print(f"{orders:g} orders: {total_bad + errors}/{args.books} books break a market-wide "
              f"identity ({errors} raised), {bad + errors} break one counting the per-class "
              f"token balance; {unconverged} not converged, {lying} claim convergence while "
              f"breaking one; worst token gap {worst:.3g} market-wide, {worst_class:.3g} in "
              f"a class; {dict(kinds)}")


if __name__ == "__main__":
    main()
