"""The compute-rental market for training runs (mechanism 1: one compute stock, two uses).

Training runs do not get a separate pot of money-compute: they rent H100e-hours out of the
same fleets that serve tokens. Every site offers the capacity it does not need for serving at
its own full cost per H100e-hour (capital rental, energy, opex), so runs go where power is
cheap; every lab (frontier and open-weight) spends its monthly training budget, so its demand
for H100e is unit-elastic, ``budget / (price * hours)``, up to ``rental_bid_multiple`` times
the reference cost. Each export-control pool (sites and labs of tier-3 nations; everyone
else) clears as a uniform-price double auction (:func:`abm.market.double_auction`). The
clearing price of the open pool is the model's H100e rental price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abm.market.auction import double_auction

#: Bid ladder of a lab's unit-elastic demand, as multiples of the pool's reference cost.
BID_LADDER = np.geomspace(0.25, 1.0, 12)


@dataclass(frozen=True)
class RentalResult:
    """One month of the rental market.

    ``site_h100e`` (S,): H100e each site rents out of the ``site_offered`` (S,) it offered;
    ``site_income`` (S,): $ it earns;
    ``lab_h100e`` (L,): H100e each lab rents; ``lab_spend`` (L,): $ it pays;
    ``price`` (P,): clearing $ per H100e-hour of each pool (the reference cost where nothing
    traded); ``offered`` (P,) and ``rented`` (P,): H100e offered and rented per pool.
    """

    site_h100e: np.ndarray
    site_offered: np.ndarray
    site_income: np.ndarray
    lab_h100e: np.ndarray
    lab_spend: np.ndarray
    price: np.ndarray
    offered: np.ndarray
    rented: np.ndarray


def lab_bids(budget: float, reference: float, cap_multiple: float, hours: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Bid prices ($/H100e-hour) and H100e of a unit-elastic demand ``budget / (p * hours)``.

    Rungs run from a quarter of ``reference`` to ``cap_multiple * reference``; the units bid
    at a rung are those demanded at it but not at the next one up, so the cumulative bid
    quantity at any rung price ``p`` is ``budget / (p * hours)``.
    """
    prices = reference * cap_multiple * BID_LADDER
    wanted = budget / (prices * hours)
    qty = wanted - np.concatenate((wanted[1:], [0.0]))
    return prices, qty


def clear_rental(spare: np.ndarray, ask: np.ndarray, site_pool: np.ndarray,
                 budget: np.ndarray, lab_pool: np.ndarray, *, cap_multiple: float,
                 hours: float, n_pools: int = 2) -> RentalResult:
    """Clear the rental market of one month.

    Parameters
    ----------
    spare : (S,) H100e each site offers (not needed for serving).
    ask : (S,) its full cost per H100e-hour, $.
    site_pool, lab_pool : (S,), (L,) pool of each site and lab (0 open, 1 denied tier).
    budget : (L,) each lab's training budget this month, $.
    cap_multiple : a lab pays at most this multiple of its pool's reference cost.
    hours : hours in the month.
    """
    spare = np.maximum(np.asarray(spare, dtype=float), 0.0)
    site_h = np.zeros_like(spare)
    lab_h = np.zeros(len(budget))
    price = np.zeros(n_pools)
    offered = np.zeros(n_pools)
    rented = np.zeros(n_pools)
    for pool in range(n_pools):
        sites = np.flatnonzero((site_pool == pool) & (spare > 0))
        labs = np.flatnonzero((lab_pool == pool) & (np.asarray(budget) > 0))
        # Reference cost: the spare-capacity-weighted mean ask of the pool.
        if sites.size:
            reference = float(np.average(ask[sites], weights=spare[sites]))
        else:
            reference = float(np.median(ask)) if ask.size else 0.0
        price[pool] = reference
        offered[pool] = float(spare[sites].sum())
        if sites.size == 0 or labs.size == 0 or reference <= 0:
            continue
        rungs = [lab_bids(float(budget[j]), reference, cap_multiple, hours) for j in labs]
        bid_price = np.concatenate([r[0] for r in rungs])
        bid_qty = np.concatenate([r[1] for r in rungs])
        owner = np.repeat(labs, BID_LADDER.size)
        res = double_auction(bid_price, bid_qty, ask[sites], spare[sites])
        if not res.traded:
            continue
        price[pool] = float(res.price_low)
        site_h[sites] = res.ask_fill
        lab_h += np.bincount(owner, weights=res.bid_fill, minlength=lab_h.size)
        rented[pool] = float(res.volume)
    pool_price_site = price[site_pool] if site_pool.size else np.zeros(0)
    lab_price = price[lab_pool] if len(lab_pool) else np.zeros(0)
    return RentalResult(site_h100e=site_h, site_offered=spare,
                        site_income=site_h * pool_price_site * hours,
                        lab_h100e=lab_h, lab_spend=lab_h * lab_price * hours, price=price,
                        offered=offered, rented=rented)
