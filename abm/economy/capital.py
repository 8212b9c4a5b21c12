"""Investment from expected profit: Tobin's q with adjustment costs, vectorised over sites
(mechanism 11; Hayashi 1982; Abel and Eberly 1994).

The value of one more H100e at a site, arriving after lead ``L``, is the present value of
what it earns over its life ``T`` (ECONOMICS.md):

    V = sum_{k=L}^{L+T} beta^k * E[ margin of the marginal H100e in month k ] * hours

The marginal unit serves tokens when the site's demand outgrows its planned capacity,
which happens with probability ``P_k = Phi((ln E[D_k] - ln(u_max K_k)) / sigma)``: expected
demand ``E[D_k]`` grows at the provider's expected growth (adaptive expectations), ``K_k``
is the capacity installed, arriving or with a shell ready for it, and ``sigma`` the forecast
uncertainty (the newsvendor view of capacity choice). Otherwise it is rented to a training run
(with the probability that spare capacity found a renter last months) or idles. Revenue per
busy H100e-hour includes any scarcity rent, so capacity shortages raise ``q``; revenue and
opex decline with hardware price-performance (obsolescence), energy does not.

``q = V / (expected chip price + shell cost)`` (net of any capex subsidy) and the yearly order
rate is ``I / K = max(0, (q - 1) / phi)``; orders are irreversible. They are shells, which
take ``build_lead_months`` and need grid head-room; chips are bought each month for the
shells that are (nearly) ready, bidding their value in the chip market. Each provider funds
orders from cash and credit (:meth:`abm.agents.Hyperscaler.available_funds`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from abm.economy import exchange
from abm.economy.costs import HOURS_PER_MONTH

#: Months per quadrature block when summing a unit's value over its life.
BLOCK_MONTHS = 6
#: Largest monthly change of demand read as growth (a provider's first sales, or its last,
#: are not a trend).
MAX_MONTHLY_CHANGE = 1.5


@dataclass
class Expectations:
    """Adaptive expectations per site (S,) that the investment rule reads.

    ``revenue_per_busy_hour``: $ per busy H100e-hour of serving; ``rent_probability``: chance
    spare capacity finds a training run; ``chip_price``: expected $ per H100e of the
    controlled (index 0) and domestic (index 1) pools; ``utilisation``: expected serving
    utilisation, which sets the queueing latency a site advertises (a provider's service
    level does not swing with one month's load).
    """

    revenue_per_busy_hour: np.ndarray
    rent_probability: np.ndarray
    chip_price: np.ndarray
    utilisation: np.ndarray

    def update(self, weight: float, revenue_per_busy_hour: np.ndarray, has_sales: np.ndarray,
               rent_probability: np.ndarray, chip_price: np.ndarray,
               utilisation: np.ndarray) -> None:
        w = weight
        self.utilisation = (1 - w) * self.utilisation + w * utilisation
        self.revenue_per_busy_hour = np.where(
            has_sales, (1 - w) * self.revenue_per_busy_hour + w * revenue_per_busy_hour,
            self.revenue_per_busy_hour)
        self.rent_probability = (1 - w) * self.rent_probability + w * rent_probability
        finite = np.isfinite(chip_price)
        self.chip_price = np.where(finite, np.exp((1 - w) * np.log(self.chip_price)
                                                  + w * np.log(np.where(finite, chip_price,
                                                                        1.0))),
                                   self.chip_price)

    def extend(self, n: int, revenue_per_busy_hour: float) -> None:
        self.revenue_per_busy_hour = np.r_[self.revenue_per_busy_hour,
                                           np.full(n, revenue_per_busy_hour)]
        self.rent_probability = np.r_[self.rent_probability, np.zeros(n)]
        self.utilisation = np.r_[self.utilisation, np.zeros(n)]

    def keep(self, mask: np.ndarray) -> None:
        self.revenue_per_busy_hour = self.revenue_per_busy_hour[mask]
        self.rent_probability = self.rent_probability[mask]
        self.utilisation = self.utilisation[mask]


def unit_value(*, start: int, life: int, demand: np.ndarray, growth: np.ndarray,
               planned: np.ndarray, planned_months: np.ndarray, max_utilisation: float,
               revenue_per_busy_hour: np.ndarray, energy_per_hour: np.ndarray,
               idle_share: float, opex_per_hour: np.ndarray, rental_price: np.ndarray,
               rent_probability: np.ndarray, uncertainty: float, discount: float,
               obsolescence: float) -> np.ndarray:
    """Present value, $, of one more H100e at each site serving from month ``start`` (S,).

    Parameters
    ----------
    start, life : months until it serves, and months it serves.
    demand : (S,) H100e the site's users demand at the posted asks.
    growth : (S,) expected yearly growth of that demand.
    planned : (M, S) planned capacity (H100e) at ``planned_months`` (M,) from now.
    revenue_per_busy_hour, energy_per_hour, opex_per_hour, rental_price : (S,) $ per
        H100e-hour (energy at full load).
    rent_probability : (S,) chance that spare capacity is rented.
    uncertainty : log sd of demand when the unit arrives.
    discount : monthly discount factor ``1 / (1 + i)``.
    obsolescence : monthly factor by which revenue, rents and opex per H100e-hour decline.
    """
    months = planned_months
    with np.errstate(divide="ignore", invalid="ignore"):
        log_demand = (np.log(demand)[None, :]
                      + np.log(growth)[None, :] * months[:, None] / 12.0)
        log_capacity = np.log(max_utilisation * planned)
        gap = np.where(np.isfinite(log_demand) & (planned > 0),
                       log_demand - log_capacity,
                       np.where(np.isfinite(log_demand), np.inf, -np.inf))
    busy = ndtr(gap / uncertainty)  # (M, S)
    decline = obsolescence ** months[:, None]
    serving = (max_utilisation * revenue_per_busy_hour * decline
               - energy_per_hour * (idle_share + (1 - idle_share) * max_utilisation))
    rented = rental_price * decline - energy_per_hour
    idle = -energy_per_hour * idle_share
    spare = rent_probability * np.maximum(rented, idle) + (1 - rent_probability) * idle
    margin = busy * serving + (1 - busy) * spare - opex_per_hour * decline
    weight = BLOCK_MONTHS * discount ** months[:, None]
    return (weight * margin).sum(axis=0) * HOURS_PER_MONTH


def quadrature_months(start: int, life: int) -> np.ndarray:
    """Mid-points of the blocks of ``BLOCK_MONTHS`` months covering ``[start, start + life)``."""
    n = max(1, life // BLOCK_MONTHS)
    return start + BLOCK_MONTHS * np.arange(n) + BLOCK_MONTHS / 2.0


def order_rate(q: np.ndarray, adjustment_cost: float) -> np.ndarray:
    """Monthly order rate ``I / K = max(0, q - 1) / (12 phi)`` (phi in years)."""
    return np.maximum(q - 1.0, 0.0) / (12.0 * adjustment_cost)


def scale_to_budget(spend: np.ndarray, owner: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Factor (per item) that scales each owner's ``spend`` down to its ``budget``."""
    total = np.bincount(owner, weights=spend, minlength=budget.size)
    factor = np.minimum(1.0, np.divide(budget, total, out=np.ones_like(budget),
                                       where=total > 0))
    return factor[owner]


def scale_to_headroom(mw: np.ndarray, nation: np.ndarray, headroom: np.ndarray) -> np.ndarray:
    """Factor (per item) that scales facility ``mw`` down to each nation's grid head-room."""
    want = np.bincount(nation, weights=mw, minlength=headroom.size)
    factor = np.minimum(1.0, np.divide(np.maximum(headroom, 0.0), want,
                                       out=np.ones_like(headroom), where=want > 0))
    return factor[nation]


# --------------------------------------------------------------------------- the stage
def invest(model, state, outcome, site_cost, rental, chip_clear) -> dict:
    """The capital stage: update expectations, order shells by Tobin's q, buy chips for ready
    shells in the chip market, and give each provider credit against its fleet's value.

    ``chip_clear(bids, prices, nations)`` clears the chip market (see
    :func:`abm.economy.chips.clear_chip_market`). Returns what the recorder reports.
    """
    cfg, fleet, geo = model.cfg, model.fleet, model.geo
    s = cfg.supply
    h = HOURS_PER_MONTH
    life = int(s.hardware_life_months)
    li, lb = int(s.install_lead_months), int(s.build_lead_months)
    exp = model.expectations
    w = s.expectation_weight
    providers = model.providers
    n_p = len(providers)

    # Expectations: revenue per busy H100e-hour, the chance spare capacity is rented, and
    # each provider's demand growth.
    busy_hours = outcome.busy_h100e * h
    site_revenue = outcome.revenue.sum(axis=1)
    has_sales = busy_hours > 0
    per_hour = np.divide(site_revenue, busy_hours, out=np.zeros_like(site_revenue),
                         where=has_sales)
    pool = (geo.export_tier[fleet.nation] == 3) & bool(cfg.chips.export_controls)
    # A site learns the chance its own spare capacity is rented (the auction fills the
    # cheapest asks first); one that offered nothing keeps its expectation.
    rented_share = np.divide(rental.site_h100e, rental.site_offered,
                             out=exp.rent_probability.copy(), where=rental.site_offered > 0)
    exp.update(w, per_hour, has_sales, rented_share, model.chip_price, outcome.utilisation)
    demand_p = np.bincount(fleet.provider, weights=outcome.demand_h100e, minlength=n_p)
    last = model.provider_demand
    if last is not None:
        # each provider's monthly demand growth, clipped, in one pass (the same values as
        # clipping provider by provider); the agents update their own expectations
        k = min(last.size, n_p)
        seen = (last[:k] > 0) & (demand_p[:k] > 0)
        monthly = np.clip(np.divide(demand_p[:k], last[:k], out=np.ones(k), where=seen),
                          1.0 / MAX_MONTHLY_CHANGE, MAX_MONTHLY_CHANGE)
        for i in np.flatnonzero(seen):
            providers[i].update_expectations(monthly[i] ** 12, w)
    model.provider_demand = demand_p
    growth = np.array([p.expected_growth for p in providers])[fleet.provider]

    # Value of one more H100e at each site, for a shell ordered now and a chip bought now.
    decline = state.price_performance_growth ** (-1.0 / 12.0)
    rental_price = rental.price[pool.astype(int)]
    kw_new = state.kw_per_h100e_new / np.where(fleet.domestic, cfg.chips.domestic_chip_perf,
                                               1.0)
    energy_new = state.electricity[fleet.nation] * kw_new * s.pue

    def value(start: int) -> tuple[np.ndarray, np.ndarray]:
        months = quadrature_months(start, life)
        planned = fleet.surviving(months) + fleet.empty_shell_mw(lb)[None, :] * 1000.0 / kw_new
        return unit_value(
            start=start, life=life, demand=outcome.demand_h100e, growth=growth,
            planned=planned, planned_months=months, max_utilisation=s.max_utilisation,
            revenue_per_busy_hour=exp.revenue_per_busy_hour, energy_per_hour=energy_new,
            idle_share=s.idle_power_share, opex_per_hour=site_cost.opex,
            rental_price=rental_price, rent_probability=exp.rent_probability,
            uncertainty=s.forecast_uncertainty, discount=state.monthly_discount,
            obsolescence=decline), planned[0]

    v_shell, planned = value(lb)
    v_chip, _ = value(li)
    # Credit against the expected value of each provider's installed fleet.
    fleet_value = np.bincount(fleet.provider, weights=np.maximum(v_chip, 0.0) * fleet.installed,
                              minlength=n_p)
    for p, v in zip(providers, fleet_value, strict=True):
        p.update_credit(v, s.loan_to_value, int(s.covenant_months))
    subsidy = np.array([n.subsidy for n in model.nations])[fleet.nation]
    # What each site pays per H100e: the expected market price, less any in-house discount.
    discount = exchange.silicon_discount(cfg, state, providers, fleet)
    market_chip = exp.chip_price[pool.astype(int)]
    chip_cost = market_chip * discount
    shell_cost = state.shell_cost_per_kw * kw_new
    # The chips for a shell ordered now are bought when it is nearly ready, at the expected
    # chip price then (falling with price-performance), discounted to today.
    wait = lb - li
    chip_later = chip_cost * (decline * state.monthly_discount) ** wait
    q = v_shell / ((chip_later + shell_cost) * (1.0 - subsidy))
    base = np.maximum(planned, outcome.demand_h100e / s.target_utilisation)
    order = base * order_rate(q, s.investment_adjustment_cost)  # H100e at arrival

    # Grid head-room and finance cap the orders; shells are paid now, chips when bought.
    kw_arrival = kw_new / state.perf_per_watt_growth ** (lb / 12.0)
    it_mw = order * kw_arrival / 1000.0
    headroom = np.array([n.grid_headroom_mw for n in model.nations])
    it_mw *= scale_to_headroom(it_mw * s.pue, fleet.nation, headroom)
    commit = it_mw * 1000.0 * (state.shell_cost_per_kw + chip_later / kw_arrival) * (1 - subsidy)
    funds = np.array([p.available_funds for p in providers])
    it_mw *= scale_to_budget(commit, fleet.provider, funds)
    shell_spend = it_mw * 1000.0 * state.shell_cost_per_kw
    facility_mw = np.bincount(fleet.nation, weights=it_mw * s.pue, minlength=geo.n)
    # (a nation building nothing reserves nothing: its head-room, never negative, is kept)
    for i in np.flatnonzero(facility_mw > 0):
        model.nations[i].reserve_power(float(facility_mw[i]))
    fleet.order_shells(it_mw, shell_spend)
    for p in providers:
        p.capex = 0.0
    paid_by_state = shell_spend * subsidy
    own_spend = np.bincount(fleet.provider, weights=shell_spend - paid_by_state, minlength=n_p)
    for p, amount in zip(providers, own_spend, strict=True):
        p.pay_capex(amount)

    # Chips for shells ready within the install lead, bid at their value.
    want = fleet.empty_shell_mw(li) * 1000.0 / kw_new
    # (bids are in market prices: a site with a discount can pay the market more)
    bid = np.maximum(v_chip, 0.0) / ((1.0 - subsidy) * discount)
    funds = np.array([p.available_funds for p in providers])
    want *= scale_to_budget(want * chip_cost * (1 - subsidy), fleet.provider, funds)
    alloc = chip_clear(want, bid, fleet.nation)
    mw = alloc.h100e * kw_new / 1000.0
    spend = alloc.spend * discount
    fleet.buy_chips(alloc.h100e, mw, spend)
    fleet.note_idle((bid >= market_chip) | (alloc.h100e > 0))
    state_pays = spend * subsidy
    for p, amount in zip(providers, np.bincount(fleet.provider, weights=spend - state_pays,
                                                minlength=n_p), strict=True):
        p.pay_capex(amount)
    for n, amount in zip(model.nations, np.bincount(fleet.nation,
                                                    weights=state_pays + paid_by_state,
                                                    minlength=geo.n), strict=True):
        n.subsidy_paid += float(amount)

    return {"q": q, "shell_mw": it_mw, "chips": alloc, "value": v_chip}
