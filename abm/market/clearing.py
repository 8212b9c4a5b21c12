"""The market-clearing core: prices and allocations of inference capacity for one month.

Each class of demand segments chooses among the offers it may buy by a multinomial logit on
log effective price (so the choice is scale-free across tiers whose prices differ 100-fold):

    effective_price[c, o] = price[o] * (1 + tariff on foreign tokens)      (money paid)
                            * exp(quality_cost[c] * max(0, threshold[c] - quality[o]))
                            * exp(latency_cost[c] * max(0, latency[c, o] - tolerance[c]))
    share[c, o]  ∝ exp(appeal[o]) * effective_price[c, o] ** -choice_sensitivity[c]

Both penalties scale with the price (a weaker model needs more retries and checking per
useful token; a slow one costs its user waiting time in proportion to the work bought), so
they keep their weight as token prices fall by orders of magnitude.

The class's inclusive price ``P_c`` is the CES/logit price index of those effective prices; a
segment buys ``reference_demand * P_c ** -elasticity`` M tokens/month unless that would cost
more than its budget, in which case it spends its budget. With log-price logit demand a
provider's own-price elasticity is ``alpha (1 - s) + elasticity * s``, so Nash-Bertrand
Lerner indices are ``1 / (alpha (1 - s) + elasticity s)`` (see :mod:`abm.market.pricing`).

Clearing: offers post asks; where demand at the ask exceeds capacity the price rises by a
scarcity premium until excess demand is zero (a damped Newton tatonnement over the binding
offers: logit demand is a gross-substitutes system). Any excess left after the bounded number
of rounds is rationed pro rata, so capacity is never exceeded. A round's Jacobian is exact
(budget-capped volume included, :func:`_jacobian_parts`), assembled with float32 products
at the model's sizes, LU-factorised, and reused for cheaper *chord* rounds while the binding
offers stay the same and the steps keep cutting the excess demand 100-fold.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from scipy.sparse.linalg import LinearOperator

from abm.market import _validate
from abm.market.auction import double_auction
from abm.market.books import DemandBook, SupplyBook, _as_float, class_reference, class_volume

FloatArray = np.ndarray
#: Class volumes saturate at about exp(this) M tokens/month (see _demand_at).
_LOG_VOLUME_MAX = 690.0
#: Above exp(this) at the starting prices a class's demand is lifted (_lift_start).
_LOG_VIEW_MAX = 600.0


@dataclass(frozen=True)
class ClearingResult:
    """Prices and allocations of one clearing.

    All quantities in M tokens/month, prices in $/M tokens, money in $/month.

    Attributes
    ----------
    price : (O,) clearing price per offer: the ask where capacity is slack, ask plus a
        scarcity premium where it binds.
    scarcity_premium : (O,) ``price - ask``.
    offer_tokens : (O,) tokens sold per offer (<= capacity).
    offer_revenue : (O,) money received per offer.
    segment_tokens : (S,) tokens bought per segment.
    segment_spending : (S,) money paid per segment, tariffs included.
    segment_unserved : (S,) tokens the segment would buy at the asks with no budget cap,
        minus what it bought: priced out by budget or scarcity, or rationed.
    segment_unserved_budget : (S,) demand at the clearing prices that the budget cap removes.
    segment_latent : (S,) demand at the asks with no budget cap (saturated at the largest
        float64 where an ask of, say, 1e-300 makes it overflow).
    segment_demand : (S,) demand at the clearing prices within the budget; what it bought
        is this times the share of its offers' demand that capacity could serve, so
        ``segment_demand - segment_tokens`` is demand rationed by capacity (zero when the
        clearing converged).
    class_offer_tokens : (C, O) tokens each class buys from each offer.
    class_effective_price : (C,) inclusive (CES) effective price per class at clearing.
    class_shares : (C, O) logit choice shares at the clearing prices.
    tariff_revenue : (N,) tariff collected by each nation.
    excess_demand : (O,) demand minus capacity at the final prices before rationing.
    demand_at_ask : (O,) what each offer's buyers would take if every offer sold at its ask
        (no scarcity premia anywhere), M tokens/month.
    rounds : number of price-adjustment rounds used.
    converged : whether the equilibrium tolerance was met at the final prices: no offer's
        demand above its capacity and every offer priced above its ask selling its capacity,
        both to ``tol`` (else the residual was rationed; ``excess_demand`` shows it). Also
        false when the equilibrium price would take money beyond float64 (prices stop there).
    """

    price: FloatArray
    scarcity_premium: FloatArray
    offer_tokens: FloatArray
    offer_revenue: FloatArray
    segment_tokens: FloatArray
    segment_spending: FloatArray
    segment_unserved: FloatArray
    segment_unserved_budget: FloatArray
    segment_latent: FloatArray
    segment_demand: FloatArray
    class_offer_tokens: FloatArray
    class_effective_price: FloatArray
    class_shares: FloatArray
    tariff_revenue: FloatArray
    excess_demand: FloatArray
    demand_at_ask: FloatArray
    rounds: int
    converged: bool

    @property
    def tokens_total(self) -> float:
        return float(self.offer_tokens.sum())


@dataclass(frozen=True)
class ChoiceTerms:
    """Everything about a (supply, demand) pair that does not depend on prices.

    ``effective_price = price * price_factor`` for each (class, offer); the buyer pays
    ``price * tariff_factor``. The nests of the nested logit are held as a permutation that
    makes each nest's offers contiguous (``perm``, None when they already are), the start of
    each nest in that order (``starts``) and each offer's nest number (``nest_of``).
    """

    allowed: np.ndarray  # (C, O) bool
    tariff_factor: FloatArray  # (C, O) 1 + tariff where foreign
    log_penalty: FloatArray  # (C, O) log quality-shortfall and latency factors
    log_weight: FloatArray  # (C, O) appeal + home bias - alpha * log(price_factor), -inf
    alpha: FloatArray  # (C, 1)
    eps: FloatArray  # (C,)
    rho: FloatArray  # (C, 1) 1 - nesting parameter
    nest_of: np.ndarray  # (O,) nest number 0..G-1
    perm: np.ndarray | None  # (O,) offers sorted by nest, None if already sorted
    starts: np.ndarray  # (G,) first position of each nest in sorted order

    @property
    def nested(self) -> bool:
        return bool((self.rho < 1.0).any())

    @property
    def price_factor(self) -> FloatArray:
        """(C, O) tariff x quality-shortfall x latency factors of the effective price."""
        return self.tariff_factor * np.exp(self.log_penalty)

    @cached_property
    def kernel(self) -> _Kernel:
        """The factorised choice weights of these terms (:class:`_Kernel`)."""
        return _Kernel(self)

    def __getstate__(self) -> dict:
        # the cached kernel holds these terms by a weak reference, which neither pickle nor
        # deepcopy can copy: a copy rebuilds its own kernel when it is first asked for
        state = dict(self.__dict__)
        state.pop("kernel", None)
        return state

    def rows(self, rows: np.ndarray) -> ChoiceTerms:
        """The same terms restricted to the classes ``rows``."""
        return replace(self, allowed=self.allowed[rows], tariff_factor=self.tariff_factor[rows],
                       log_penalty=self.log_penalty[rows], log_weight=self.log_weight[rows],
                       alpha=self.alpha[rows], eps=self.eps[rows], rho=self.rho[rows])


def _nest_layout(nest: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Nest numbers 0..G-1 per offer, the sorting permutation (None if sorted), nest starts."""
    _, nest_of = np.unique(nest, return_inverse=True)
    perm = np.argsort(nest_of, kind="stable")
    sorted_nests = nest_of[perm]
    starts = np.flatnonzero(np.r_[True, sorted_nests[1:] != sorted_nests[:-1]])
    if np.array_equal(perm, np.arange(perm.size)):
        perm = None
    return nest_of, perm, starts


def choice_terms(supply: SupplyBook, demand: DemandBook) -> ChoiceTerms:
    n_reg = demand.region_nation.shape[0]
    if supply.region.size and supply.region.max() >= n_reg:
        raise ValueError(f"supply.region: index {supply.region.max()} outside the "
                         f"{n_reg} regions of demand.latency_matrix_ms")
    offer_nation = demand.region_nation[supply.region]  # (O,)
    cls_nation = demand.class_nation[:, None]  # (C, 1)
    foreign = offer_nation[None, :] != cls_nation
    allowed = ~(demand.localised[:, None] & foreign)
    allowed &= ~demand.open_weights_only[:, None] | supply.open_weights[None, :]
    tariff = demand.tariff[demand.class_nation]
    tariff_factor = 1.0 + np.where(foreign, tariff[:, None], 0.0)
    # log penalty: latency above tolerance and quality shortfall, built in place
    log_penalty = np.take(np.take(demand.latency_matrix_ms, supply.region, axis=1),
                          demand.class_nation, axis=0)
    log_penalty += supply.latency_ms[None, :]
    log_penalty -= demand.latency_tolerance_ms[:, None]
    np.maximum(log_penalty, 0.0, out=log_penalty)
    log_penalty *= demand.latency_cost[:, None]
    shortfall = np.maximum(0.0, demand.quality_threshold[:, None] - supply.quality[None, :])
    shortfall *= demand.quality_cost[:, None]
    log_penalty += shortfall
    alpha = demand.choice_sensitivity[:, None]
    # weight = appeal + home bias - alpha * log(price_factor)
    weight = log_penalty * -alpha
    if (tariff != 0).any():
        weight -= alpha * np.log(tariff_factor)
    weight += supply.appeal[None, :]
    if (demand.home_bias != 0).any():
        weight += np.where(foreign, 0.0, demand.home_bias[:, None])
    log_weight = np.where(allowed, weight, -np.inf)
    nest_of, perm, starts = _nest_layout(supply.nest)
    return ChoiceTerms(allowed, tariff_factor, log_penalty, log_weight, alpha,
                       demand.elasticity, 1.0 - demand.nesting[:, None], nest_of, perm, starts)


#: The inputs of :func:`choice_terms`: the supply's offer attributes and the demand's
#: class attributes and geography (not its segments, capacities or asks).
_SUPPLY_KEYS = ("region", "latency_ms", "quality", "appeal", "open_weights", "nest")
_DEMAND_KEYS = ("class_nation", "choice_sensitivity", "elasticity", "latency_tolerance_ms",
                "latency_cost", "quality_threshold", "quality_cost", "localised",
                "latency_matrix_ms", "region_nation", "tariff", "open_weights_only",
                "nesting", "home_bias")
_terms_cache: list = []


def _cached_choice_terms(supply: SupplyBook, demand: DemandBook) -> ChoiceTerms:
    """:func:`choice_terms`, reused when called again with equal inputs.

    A month's books are seen twice (:func:`offer_demand` while sellers split capacity, then
    :func:`clear`) with the same offers and classes; the terms (several classes x offers
    arrays) are built once. The cache holds one entry, compared by value (copies of the
    inputs, a few arrays of length O or C), so a book changed in place is never served stale.
    """
    key = ([getattr(supply, k) for k in _SUPPLY_KEYS]
           + [getattr(demand, k) for k in _DEMAND_KEYS])
    if _terms_cache:
        old_key, terms = _terms_cache[0]
        if all(a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
               for a, b in zip(key, old_key, strict=True)):
            return terms
    terms = choice_terms(supply, demand)
    _terms_cache[:] = [([np.array(a, copy=True) for a in key], terms)]
    return terms


@dataclass(frozen=True)
class _Demand:
    rows: np.ndarray  # (A,) the active classes (positive reference demand)
    shares: FloatArray  # (A, O)
    log_price_index: FloatArray  # (C,), inf for classes with nothing to buy
    class_volume: FloatArray  # (C,)
    capped_fraction: FloatArray  # (C,)
    offer_demand: FloatArray  # (O,)
    nest_share: FloatArray | None  # (A, G) share of each nest (nested logit only)
    price: FloatArray | None = None  # (O,) the prices demand was evaluated at
    mean_paid: FloatArray | None = None  # (A,) mean price paid per token, tariffs included


def _active_terms(terms: ChoiceTerms, demand: DemandBook) -> tuple[np.ndarray, ChoiceTerms]:
    """Classes with positive reference demand, and the choice terms of those rows only.

    Classes that demand nothing (e.g. the localised half of a nation without localisation)
    are skipped in every price round.
    """
    total = np.bincount(demand.segment_class, weights=demand.reference_demand,
                        minlength=demand.n_classes)
    rows = np.flatnonzero(total > 0)
    if rows.size == demand.n_classes:
        return rows, terms
    last = terms.__dict__.get("_active")  # the same rows as last time: reuse their terms
    if last is not None and np.array_equal(last[0], rows):
        return rows, last[1]
    active = terms.rows(rows)
    terms.__dict__["_active"] = (rows, active)
    return rows, active


def _nest_sums(values: FloatArray, terms: ChoiceTerms) -> FloatArray:
    """Sum of ``values`` (A, O) over the offers of each nest: (A, G)."""
    ordered = values if terms.perm is None else np.take(values, terms.perm, axis=1)
    return np.add.reduceat(ordered, terms.starts, axis=1)


def _choice(util: FloatArray, terms: ChoiceTerms
            ) -> tuple[FloatArray, FloatArray, np.ndarray, FloatArray | None]:
    """Choice shares (A, O), inclusive value (A,), whether a class has any offer, nest shares.

    ``util`` is the systematic utility ``V`` (``-inf`` for offers a class may not buy).
    Nested logit (McFadden 1978; Berry 1994): with ``rho = 1 - sigma``, an offer's share is
    ``exp(V / rho) / D_g * D_g ** rho / sum_h D_h ** rho`` with ``D_g = sum_{j in g}
    exp(V_j / rho)``; the inclusive value is ``log sum_h D_h ** rho``. With ``rho = 1``
    this is the plain logit. This is the direct evaluation (one ``exp`` over classes x
    offers); price rounds use :class:`_Kernel`, which gives the same numbers without it.
    """
    if not terms.nested:
        top = util.max(axis=1, keepdims=True)
        has_choice = np.isfinite(top[:, 0])
        top = np.where(np.isfinite(top), top, 0.0)
        expu = np.exp(util - top)
        total = expu.sum(axis=1, keepdims=True)
        shares = np.divide(expu, total, out=np.zeros_like(expu), where=total > 0)
        iv = np.log(np.where(total[:, 0] > 0, total[:, 0], 1.0)) + top[:, 0]
        return shares, iv, has_choice, None
    rho = terms.rho
    scaled = util / rho
    top = scaled.max(axis=1, keepdims=True)
    has_choice = np.isfinite(top[:, 0])
    top = np.where(np.isfinite(top), top, 0.0)
    expu = np.exp(scaled - top)
    inner = _nest_sums(expu, terms)  # (A, G), scaled by exp(-top)
    return _nest_shares(expu, inner, top[:, 0], has_choice, terms)


def _nest_shares(expu: FloatArray, inner: FloatArray, top: FloatArray, has_choice: np.ndarray,
                 terms: ChoiceTerms, sorted_nests: bool = False,
                 nest_col: np.ndarray | None = None
                 ) -> tuple[FloatArray, FloatArray, np.ndarray, FloatArray]:
    """Nested-logit shares from ``expu = exp(V / rho - top)`` (A, O) and its nest sums.

    With ``sorted_nests`` the columns of ``expu`` are already in nest order (``terms.perm``)
    and the shares are returned in that order; ``nest_col``, the nest of each of those
    columns, may be given. ``expu`` is overwritten by the shares.
    """
    rho = terms.rho
    with np.errstate(divide="ignore"):
        log_inner = np.log(inner) + (top if top.ndim == 2 else top[:, None])  # -inf: empty
    nest_u = rho * log_inner
    ntop = nest_u.max(axis=1, keepdims=True)
    ntop = np.where(np.isfinite(ntop), ntop, 0.0)
    nexp = np.exp(nest_u - ntop)
    ntotal = nexp.sum(axis=1, keepdims=True)
    nest_share = np.divide(nexp, ntotal, out=np.zeros_like(nexp), where=ntotal > 0)
    # share = expu * (nest share / nest sum); where a nest sum is so small that the ratio
    # could overflow, those rows are done as (expu / nest sum) * nest share instead.
    tiny = (inner > 0) & (inner < _NEST_SUM_FLOOR)
    factor = np.divide(nest_share, inner, out=np.zeros_like(inner), where=(inner > 0) & ~tiny)
    if not sorted_nests:
        nest_col = terms.nest_of
    elif nest_col is None:
        sizes = np.diff(np.r_[terms.starts, expu.shape[1]])
        nest_col = np.repeat(np.arange(sizes.size), sizes)
    bad = np.flatnonzero(tiny.any(axis=1))
    if bad.size:
        sums = np.take(inner[bad], nest_col, axis=1)
        within = np.divide(expu[bad], sums, out=np.zeros_like(sums), where=sums > 0)
    shares = np.multiply(expu, np.take(factor, nest_col, axis=1), out=expu)
    if bad.size:
        shares[bad] = within * np.take(nest_share[bad], nest_col, axis=1)
    iv = np.log(np.where(ntotal[:, 0] > 0, ntotal[:, 0], 1.0)) + ntop[:, 0]
    return shares, iv, has_choice, nest_share


#: Nest sums below this are divided out of the shares one at a time (no overflow).
_NEST_SUM_FLOOR = 1e-280
#: Classes whose largest kernel weight falls below this are evaluated directly (the
#: factorised weights would lose precision in the subnormal range).
_KERNEL_FLOOR = 1e-200
#: With more runs of classes sharing ``kappa`` than this, the price term is gathered per row.
_KERNEL_RUNS = 8


class _Kernel:
    """The price-independent part of the choice, computed once per clearing.

    ``V[c, o] / rho_c = log_weight[c, o] / rho_c - kappa_c log p_o`` with ``kappa = alpha /
    rho``, so ``exp(V / rho - top) = E[c, o] * P_k(c)[o]`` where ``E = exp(log_weight / rho
    - top0)`` is fixed and ``P_k = exp(-kappa_k (log p - min log p))`` is one (O,) vector per
    distinct ``kappa`` (the model has two: users and startup routers). A price round then
    costs one product over classes x offers instead of an ``exp``. Offers are held in nest
    order (``terms.perm``) so nest sums are contiguous. ``top0`` is each class's largest
    ``log_weight / rho`` within each nest (nested logit: every nest sum is then at least
    ``min P``, so a nest of small share, which matters as ``sum ** rho``, never underflows)
    or over all offers (plain logit).
    """

    def __init__(self, terms: ChoiceTerms) -> None:
        # a weak reference: ``terms.kernel`` is this kernel, and a strong one would make a
        # reference cycle that keeps the month's (C, O) arrays alive until the cyclic
        # collector runs (~50 MB a month at world size; peak RSS grew to 6.6 GB at world_xl)
        self._terms = weakref.ref(terms)
        rho = terms.rho[:, 0]
        lw = terms.log_weight if terms.perm is None else np.take(
            terms.log_weight, terms.perm, axis=1)
        if terms.nested:
            base = lw / terms.rho
            top = np.maximum.reduceat(base, terms.starts, axis=1)  # (A, G)
            self.nest_col = np.repeat(np.arange(terms.starts.size),
                                      np.diff(np.r_[terms.starts, lw.shape[1]]))
            self.nest_live = np.isfinite(top)  # (A, G) the class may buy in the nest
            self.has_choice = self.nest_live.any(axis=1)
            self.base_top = np.where(self.nest_live, top, 0.0)
            shift = np.take(self.base_top, self.nest_col, axis=1)
        else:
            base = lw
            top = base.max(axis=1)
            self.has_choice = np.isfinite(top)
            self.base_top = np.where(self.has_choice, top, 0.0)
            shift = self.base_top[:, None]
        self.weight = np.exp(base - shift)  # (A, O), 0 where barred
        self.kappa, group = np.unique(terms.alpha[:, 0] / rho, return_inverse=True)
        # contiguous runs of classes sharing a kappa
        change = np.flatnonzero(group[1:] != group[:-1]) + 1
        self.runs = [] if group.size == 0 else list(  # no active class: nothing to buy
            zip(np.r_[0, change], np.r_[change, group.size], group[np.r_[0, change]],
                strict=True))
        self.group = group
        self.tariffed = bool((terms.tariff_factor != 1.0).any())
        self.unsort = None if terms.perm is None else np.argsort(terms.perm)
        # classes that may buy few offers (localised: their home offers only), whose part
        # of an assembled Jacobian is summed over their pairs of offers (_assemble)
        n_offers = terms.allowed.shape[1]
        allowed = terms.allowed.sum(axis=1)
        self.few = np.flatnonzero(allowed * _FEW_OFFERS <= n_offers)
        self.few_pair_count = int((allowed[self.few].astype(np.int64) ** 2).sum())

    @property
    def terms(self) -> ChoiceTerms:
        """The choice terms this kernel factorises (held weakly: see ``__init__``)."""
        terms = self._terms()
        if terms is None:
            raise RuntimeError("the ChoiceTerms of this kernel no longer exist; keep the "
                               "terms, not only their kernel")
        return terms

    @cached_property
    def few_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every (class, offer a, offer b) with both offers allowed to the class, over the
        classes ``few`` (positions among the active classes), and whether a and b share a
        nest: the only entries of those classes' part of the Jacobian."""
        cls, offer = np.nonzero(self.terms.allowed[self.few])  # sorted by class
        n = np.bincount(cls, minlength=self.few.size)
        start = np.cumsum(n) - n
        reps = n[cls]  # each entry pairs with every entry of its class
        first = np.repeat(np.arange(cls.size), reps)
        within = np.arange(first.size) - np.repeat(np.cumsum(reps) - reps, reps)
        second = start[cls[first]] + within
        a, b = offer[first], offer[second]
        nest = self.terms.nest_of
        return self.few[cls[first]], a, b, nest[a] == nest[b]

    def expu(self, log_price: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``exp(V / rho - top)`` (A, O) in nest order, and ``top``: (A, G) per nest for the
        nested logit, (A,) for the plain logit."""
        lp = log_price if self.terms.perm is None else log_price[self.terms.perm]
        low = lp.min()
        power = np.exp(-self.kappa[:, None] * (lp - low)[None, :])  # (K, O)
        if len(self.runs) > _KERNEL_RUNS:
            out = self.weight * power[self.group]
        else:
            out = np.empty_like(self.weight)
            for a, b, k in self.runs:  # a few runs of classes, not one pass per class
                np.multiply(self.weight[a:b], power[k], out=out[a:b])
        shift = self.kappa[self.group] * low
        if self.terms.nested:
            return out, self.base_top - shift[:, None]
        return out, np.where(self.has_choice, self.base_top - shift, 0.0)

    def choice(self, price: FloatArray
               ) -> tuple[FloatArray, FloatArray, np.ndarray, FloatArray | None]:
        """As :func:`_choice` at ``price`` (shares in the original offer order)."""
        terms = self.terms
        log_price = np.log(price)
        expu, top = self.expu(log_price)
        has_choice = self.has_choice
        if terms.nested:
            inner = np.add.reduceat(expu, terms.starts, axis=1)
            # a nest whose sum fell below the floor (prices spread over e**(700 / kappa))
            small = ((inner < _KERNEL_FLOOR) & self.nest_live).any(axis=1)
            out = _nest_shares(expu, inner, top, has_choice, terms, sorted_nests=True,
                               nest_col=self.nest_col)
            shares, iv, _, nest_share = out
        else:
            total = expu.sum(axis=1)
            small = has_choice & ~(total >= _KERNEL_FLOOR)
            shares = np.divide(expu, total[:, None], out=np.zeros_like(expu),
                               where=total[:, None] > 0)
            iv = np.log(np.where(total > 0, total, 1.0)) + top
            nest_share = None
        if self.unsort is not None:
            shares = np.take(shares, self.unsort, axis=1)
        if small.any():  # direct evaluation where the factorised weights underflow
            rows = np.flatnonzero(small)
            sub = terms.rows(rows)
            util = sub.log_weight - sub.alpha * log_price[None, :]
            s2, iv2, _, ns2 = _choice(util, sub)
            shares[rows], iv[rows] = s2, iv2
            if nest_share is not None:
                nest_share[rows] = ns2
        return shares, iv, has_choice, nest_share


def _demand_at(price: FloatArray, rows: np.ndarray, terms: ChoiceTerms,
               demand: DemandBook) -> _Demand:
    """Demand at ``price`` for the active classes ``rows`` (``terms`` holds those rows)."""
    n_cls = demand.n_classes
    shares, iv, has_choice, nest_share = terms.kernel.choice(price)
    log_index = np.full(n_cls, np.inf)
    log_index[rows] = np.where(has_choice, -iv / terms.alpha[:, 0], np.inf)
    if terms.kernel.tariffed:
        mean_paid = (shares * terms.tariff_factor) @ price
    else:
        mean_paid = shares @ price
    volume_mult = np.zeros(n_cls)
    budget_mult = np.zeros(n_cls)
    # Saturated where a class would ask for more than ~1e300 M tokens (an ask of 1e-300):
    # beyond float64, and far beyond any capacity, so prices must rise either way.
    log_volume = np.minimum(-terms.eps * log_index[rows], _log_volume_ceiling(demand)[rows])
    volume_mult[rows] = np.where(has_choice, np.exp(log_volume), 0.0)
    budget_mult[rows] = np.where(has_choice,
                                 1.0 / np.where(mean_paid > 0, mean_paid, 1.0), 0.0)
    volume, capped = class_volume(demand, volume_mult, budget_mult)
    capped_fraction = np.divide(capped, volume, out=np.zeros_like(volume), where=volume > 0)
    offer_demand = np.minimum(volume[rows], _FLOAT_MAX) @ shares  # no inf * 0
    return _Demand(rows, shares, log_index, volume, capped_fraction, offer_demand, nest_share,
                   price, mean_paid)


def _log_volume_ceiling(demand: DemandBook) -> FloatArray:
    """Highest log volume multiplier of each class (C,): its volume stays below ~1e300."""
    with np.errstate(divide="ignore"):
        return np.minimum(_LOG_VOLUME_MAX - np.log(class_reference(demand)), _LOG_VOLUME_MAX)


def _lift_start(log_price: FloatArray, ask: FloatArray, rows: np.ndarray, terms: ChoiceTerms,
                demand: DemandBook, cap: FloatArray) -> tuple[FloatArray, _Demand | None]:
    """Starting log prices from which the tatonnement can reach an equilibrium (issue 9).

    An ask of 1e-300 would ask for ~1e450 M tokens: beyond float64, where demand saturates
    (:func:`_demand_at`) and no longer tells the tatonnement how far prices must rise; and
    a price that must rise 1e200-fold would take 460 rounds of at most a factor e. The
    offers of each class that would ask for more than ``exp(_LOG_VIEW_MAX)`` M tokens, or
    ``exp(_FAR_LOG_GAP)`` times the market's whole capacity, start at least at the uniform
    price at which it would ask for that capacity (plain-logit price index: a starting
    point only). Returns the starting log prices and the demand at them, or ``log_price``
    itself (the same object) and the demand there when nothing is lifted, so ordinary
    books cost nothing extra.
    """
    price = np.maximum(np.exp(log_price), ask)
    d = _demand_at(price, rows, terms, demand)
    li = d.log_price_index[rows]
    with np.errstate(divide="ignore"):
        log_ref = np.log(class_reference(demand)[rows])
    log_volume = np.where(np.isfinite(li), log_ref - terms.eps * li, -np.inf)
    total = float(cap.sum())
    log_total = np.log(total) if 0.0 < total < np.inf else 0.0
    huge = log_volume > min(_LOG_VIEW_MAX, log_total + _FAR_LOG_GAP)
    if not huge.any():
        return log_price, d
    w = terms.log_weight[huge]
    top = w.max(axis=1, keepdims=True)
    lse = np.log(np.exp(w - top).sum(axis=1)) + top[:, 0]
    alpha = terms.alpha[huge, 0]
    floor = lse / alpha + (log_ref[huge] - log_total) / terms.eps[huge]  # (H,)
    buyable = np.isfinite(w)
    lifted = np.where(buyable, floor[:, None], -np.inf).max(axis=0)
    return np.maximum(log_price, lifted), None


@dataclass(frozen=True)
class _JacobianParts:
    """Factors of the Jacobian of log offer demand in log prices over binding offers ``idx``."""

    idx: np.ndarray  # (B,)
    u: FloatArray  # (B, A)
    v: FloatArray  # (B, A)
    own: FloatArray  # (B,)
    nest_b: np.ndarray | None  # (B,) nest numbers, nested logit only
    wn: FloatArray | None  # (A, B) within-nest block factor
    few: tuple | None = None  # classes (columns of U, V) that may buy few offers (_few)

    def dense(self) -> FloatArray:
        jac = self.u @ self.v.T
        if self.wn is not None:
            jac += (self.u @ self.wn) * (self.nest_b[:, None] == self.nest_b[None, :])
        jac[np.diag_indices_from(jac)] -= self.own
        return jac


def _jacobian_parts(d: _Demand, terms: ChoiceTerms, idx: np.ndarray, *,
                    single: bool = False) -> _JacobianParts:
    """The Jacobian of log offer demand in log prices, restricted to the offers ``idx``.

    It is ``-diag(own) + U V^T + N``, with ``U[o, c] = Q_c s_co / q_o``,
    ``V[o', c] = s_co' (alpha_c - eps_c)``, ``own[o] = sum_c U[o, c] alpha_c / rho_c`` and,
    for the nested logit, the within-nest block ``N[o, o'] = sum_c U[o, c] alpha_c
    (1 / rho_c - 1) s_{o'|g,c}`` for offers of the same nest (zero across nests).
    Budget-capped segments spend a fixed amount, so their volume is ``budget / m_c`` with
    ``m_c = sum_o pi_co s_co`` the class's mean price paid (``pi = price x tariff
    factor``): its log derivative is ``s_co (alpha + (1 - alpha / rho) pi_co / m_c) +
    alpha (1 / rho - 1) s_{o|g,c} M_gc / m_c`` with ``M_gc = sum_{o' in g} pi_co' s_co'``
    (unit elastic only when every offer costs the same), taken into ``V`` for the capped
    fraction ``f_c`` of the class's volume (:func:`_capped_correction`). An exact Jacobian
    keeps Newton's convergence quadratic where budgets bind.

    With ``single`` (for :func:`_dense_jacobian`'s float32 products) ``U``, ``V`` and ``W``
    are float32 (``own``, the diagonal, stays float64), unless class volumes or offer
    demands lie beyond 1e30 or below 1e-30, where float32 would overflow.
    """
    q = d.offer_demand[idx]
    sh = d.shares if idx.size == d.shares.shape[1] else np.take(d.shares, idx, axis=1)
    alpha = terms.alpha[:, 0]
    rho = terms.rho[:, 0]
    capped = d.capped_fraction[d.rows]
    eps_eff = terms.eps * (1 - capped) + capped
    vol = d.class_volume[d.rows]
    inv_q = 1.0 / np.where(q > 0, q, 1.0)
    own = ((alpha / rho) * vol) @ sh * inv_q
    sh64 = sh
    if single and vol.max(initial=0.0) < 1e30 and inv_q.max(initial=0.0) < 1e30:
        f32 = np.float32
        sh = sh.astype(f32)
        vol, inv_q = vol.astype(f32), inv_q.astype(f32)
        alpha, rho, eps_eff = alpha.astype(f32), rho.astype(f32), eps_eff.astype(f32)
    u = sh * vol[:, None]
    u *= inv_q[None, :]
    u = u.T  # (B, A): U[o, c] = Q_c s_co / q_o
    v = (sh * (alpha - eps_eff)[:, None]).T  # (B, A)
    capped_rows = np.flatnonzero(capped > 0)
    if capped_rows.size and d.mean_paid is not None:
        if 2 * capped_rows.size >= capped.size:  # most classes: every row, none gathered
            vt = v.T  # (A, B) C-ordered, a fresh array
            vt += _capped_correction(d, terms, idx, None, sh64).astype(v.dtype, copy=False)
        else:
            v = np.array(v, order="F")  # (B, A), columns of classes, a fresh array
            v[:, capped_rows] += _capped_correction(d, terms, idx,
                                                    capped_rows).T.astype(v.dtype)
    if d.nest_share is None:
        return _JacobianParts(idx, u, v, own, None, None, _few(terms, idx))
    nest_b = terms.nest_of[idx]
    # W[c, o] = alpha_c (1 / rho_c - 1) s_{o|g,c} with s_{o|g,c} = s_co / S_gc, divided
    # offer by offer: 1 / S_gc overflows for a subnormal nest share (and inf * 0 is NaN),
    # while s_co / S_gc is a share within [0, 1].
    ns = np.take(d.nest_share, nest_b, axis=1).astype(sh.dtype, copy=False)  # (A, B)
    with np.errstate(over="ignore"):
        wn = np.divide(sh, ns, out=np.zeros_like(sh), where=ns > 0)
    np.minimum(wn, 1.0, out=wn)
    wn *= (alpha * (1.0 / rho - 1.0))[:, None]
    return _JacobianParts(idx, u, v, own, nest_b, wn, _few(terms, idx))


def _few(terms: ChoiceTerms, idx: np.ndarray) -> tuple | None:
    """The classes that buy few offers, their pairs of offers, ``idx`` and the number of
    offers, for :func:`_assemble`; None when there are none, or when summing over their
    pairs would not save time: the dense product spends ``2 B^2`` flops on each such class,
    the pairs about :data:`_PAIR_FLOPS` each (a dozen NumPy passes over them), and the
    split gathers the other classes' rows of ``U``, ``V``, ``W`` (:data:`_GATHER_FLOPS`
    per entry). Measured on the saved world month (822 of 2,087 classes, 479 binding
    offers): 12.5 ms a product whole, 9.9 ms split; at the default size (60 of ~300
    classes) the split would cost more than it saves and is not taken."""
    kernel = terms.kernel
    n_classes, n = terms.allowed.shape[0], idx.size
    saved = 2.0 * kernel.few.size * n * n
    if not kernel.few.size or saved <= (_PAIR_FLOPS * kernel.few_pair_count
                                        + _GATHER_FLOPS * 3 * n_classes * n):
        return None
    return kernel.few, kernel.few_pairs, idx, terms.allowed.shape[1]


def _capped_correction(d: _Demand, terms: ChoiceTerms, idx: np.ndarray,
                       rows: np.ndarray | None, sh: FloatArray | None = None) -> FloatArray:
    """``V``'s exact budget-cap term minus the unit-elastic one, (R, B), for the active
    classes ``rows`` (positions among the active classes) that have budget-capped volume,
    or for every active class when ``rows`` is None (zero for those with none capped);
    ``sh``, the shares of the offers ``idx`` (A, B), may then be given.

    ``-f [s_co ((alpha - 1) + (1 - alpha / rho) pi_co / m_c) + alpha (1 / rho - 1)
    s_{o|g,c} M_gc / m_c]`` (see :func:`_jacobian_parts`), zero when every offer the class
    buys costs it the same; float64.
    """
    if rows is None:  # every active class: no gathers
        f = d.capped_fraction[d.rows]
        alpha, rho, m, shares = terms.alpha[:, 0], terms.rho[:, 0], d.mean_paid, d.shares
        tariff, nest_share = terms.tariff_factor, d.nest_share
    else:
        f = d.capped_fraction[d.rows[rows]]
        alpha, rho, m, shares = terms.alpha[rows, 0], terms.rho[rows, 0], d.mean_paid[rows], \
            d.shares[rows]
        tariff = terms.tariff_factor[rows]
        nest_share = None if d.nest_share is None else d.nest_share[rows]
        sh = None
    inv_m = 1.0 / np.where(m > 0, m, 1.0)
    paid = d.price[None, :] * (tariff if terms.kernel.tariffed else 1.0)
    if sh is None:
        sh = np.take(shares, idx, axis=1)  # (R, B)
    with np.errstate(over="ignore", invalid="ignore"):
        ratio = np.take(paid, idx, axis=1) * inv_m[:, None] if paid.ndim == 2 else (
            d.price[idx][None, :] * inv_m[:, None])
        corr = sh * ((alpha - 1.0)[:, None] + (1.0 - alpha / rho)[:, None] * ratio)
        if d.nest_share is not None:
            nest_b = terms.nest_of[idx]
            ns = np.take(nest_share, nest_b, axis=1)
            within = np.minimum(np.divide(sh, ns, out=np.zeros_like(sh), where=ns > 0), 1.0)
            spent = _nest_sums(shares * paid, terms) * inv_m[:, None]  # (R, G); by offer
            corr += (alpha * (1.0 / rho - 1.0))[:, None] * within * np.take(spent, nest_b,
                                                                              axis=1)
        corr *= -f[:, None]
    return np.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0)


def _newton_step(d: _Demand, terms: ChoiceTerms, binding: np.ndarray,
                 residual: FloatArray) -> FloatArray:
    """Newton step in log prices for the binding offers (zero elsewhere): see
    :func:`_newton_solve`."""
    return _newton_solve(d, terms, binding, residual)[0]


@dataclass(frozen=True)
class _Factor:
    """An LU factorisation of the Jacobian over the binding offers ``idx``, kept for chord
    steps (:func:`clear`)."""

    idx: np.ndarray
    lu: tuple

    def step(self, residual: FloatArray) -> FloatArray:
        """The chord step ``-J0^-1 residual`` over ``idx`` (zero elsewhere)."""
        from scipy.linalg import lu_solve

        step = np.zeros_like(residual)
        step[self.idx] = lu_solve(self.lu, -residual[self.idx], check_finite=False)
        return step


def _lu(jac: FloatArray) -> tuple | None:
    """``scipy.linalg.lu_factor`` of ``jac``, or None when it is singular or not finite."""
    import warnings

    from scipy.linalg import LinAlgWarning, lu_factor

    if not np.isfinite(jac).all():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LinAlgWarning)
        lu = lu_factor(jac, check_finite=False)
    return lu if (np.diagonal(lu[0]) != 0).all() else None


def _newton_solve(d: _Demand, terms: ChoiceTerms, binding: np.ndarray,
                  residual: FloatArray) -> tuple[FloatArray, _Factor | None]:
    """Newton step in log prices for the binding offers (zero elsewhere), and the LU
    factorisation of the Jacobian when it was assembled (else None).

    The Jacobian over the ``B`` binding offers is ``M + U V^T`` (:func:`_jacobian_parts`):
    ``M`` block diagonal by nest, ``U V^T`` of rank at most the ``A`` active classes. The
    solver is chosen by its cost: below :data:`_DENSE_NEWTON_MAX` binding offers, or while
    assembling ``J`` (``2 A B^2`` flops, one BLAS-3 product) costs less than
    :data:`_GMRES_PRODUCTS` matrix-free products, ``J`` is assembled and LU-solved; with few
    classes the Woodbury identity solves it exactly; otherwise GMRES, each product two BLAS
    matrix-vector passes over ``B x A`` plus the sparse nest blocks, preconditioned by the
    inverse nest blocks (block Jacobi).
    """
    idx = np.flatnonzero(binding)
    step = np.zeros_like(residual)
    if idx.size == 0:
        return step, None
    n = idx.size
    if n > _DENSE_ASSEMBLY_MAX and terms.alpha.shape[0] > _WOODBURY_MAX_CLASSES:
        from abm.market.krylov import newton_krylov_step  # matrix-free (issue 12)

        step[idx] = newton_krylov_step(d, terms, idx, -residual[idx])
        return step, None
    single = _DENSE_NEWTON_MAX < n <= _DENSE_ASSEMBLY_MAX and n >= _SINGLE_PRECISION_MIN
    parts = _jacobian_parts(d, terms, idx, single=single)
    rhs = -residual[idx]
    a = parts.u.shape[1]
    groups = _nest_groups(parts.nest_b if parts.wn is not None else terms.nest_of[idx])
    if n <= _DENSE_ASSEMBLY_MAX:
        jac = parts.dense() if n <= _DENSE_NEWTON_MAX else _dense_jacobian(parts, groups)
        lu = _lu(jac)
        if lu is not None:
            factor = _Factor(idx, lu)
            return factor.step(residual), factor
    if parts.u.dtype != np.float64:  # the exact solvers below work in float64
        parts = _jacobian_parts(d, terms, idx)
    blocks = _nest_blocks(parts, groups)
    if a <= _WOODBURY_MAX_CLASSES:
        solved = _woodbury_solve(parts, blocks, rhs)
        if solved is not None:
            step[idx] = solved
            return step, None
    from scipy.sparse.linalg import gmres

    u, vt = parts.u, parts.v.T  # transposed views: BLAS reads them as they are
    block = _block_matrix(blocks, n, inverse=False)
    inverse = _block_matrix(blocks, n, inverse=True)

    def matvec(x):
        x = np.ravel(x)
        return u @ (vt @ x) + block @ x

    jac_op = LinearOperator((n, n), matvec=matvec, dtype=float)
    precond = LinearOperator((n, n), matvec=lambda x: inverse @ np.ravel(x), dtype=float)
    # Inexact Newton: a loose inner tolerance is enough, the outer loop corrects.
    sol, _ = gmres(jac_op, rhs, M=precond, rtol=1e-4, restart=40, maxiter=2)
    step[idx] = sol
    return step, None


def _dense_jacobian(parts: _JacobianParts, groups) -> FloatArray:
    """``J`` assembled: ``U V^T`` (one BLAS-3 product) plus each nest's diagonal block.

    With float32 parts (``_jacobian_parts(..., single=True)``) the products run in float32
    (about four times faster than float64 at the model's 2,500 classes x 500 binding
    offers) and ``J`` is returned in float32 with its diagonal ``-own`` added in float64
    and then rounded (or in float64 where that diagonal leaves float32's range), so its
    LU factorisation runs in float32 too (about twice as fast).
    ``U``'s entries are class shares of an offer's demand and ``V``'s shares times ``alpha
    - eps``, so ``J`` is exact to ~1e-6 relative: an inexact Newton direction (as GMRES's,
    to 1e-4), corrected by the outer rounds, whose convergence test is in float64. Should
    a product leave float32's range (an edge book), ``J`` is assembled in float64.
    """
    if parts.u.dtype != np.float64:
        with np.errstate(over="ignore", invalid="ignore"):
            jac = _assemble(parts.u, parts.v, parts.wn, groups, parts.few)
        if np.isfinite(jac).all():
            diag = jac.diagonal().astype(np.float64) - parts.own
            if np.isfinite(diag).all() and np.abs(diag).max(initial=0.0) < _F32_MAX:
                jac[np.diag_indices_from(jac)] = diag
                return jac
            jac = jac.astype(np.float64)
            jac[np.diag_indices_from(jac)] -= parts.own
            return jac
        parts = replace(parts, u=parts.u.astype(np.float64), v=parts.v.astype(np.float64),
                        wn=None if parts.wn is None else parts.wn.astype(np.float64))
    jac = _assemble(parts.u, parts.v, parts.wn, groups, parts.few)
    jac[np.diag_indices_from(jac)] -= parts.own
    return jac


def _assemble(u: FloatArray, v: FloatArray, wn: FloatArray | None, groups,
              few: tuple | None = None) -> FloatArray:
    """``U V^T`` plus the within-nest blocks ``U_g W_g`` (no diagonal term), in the dtype
    of the factors.

    The classes of ``few`` (:func:`_few`; columns of ``U`` and ``V``, rows of ``W``) may
    buy only a few offers (a localised class: its nation's), so their columns are nearly
    all zero: their part is summed over their pairs of offers (``n_c^2`` terms for a class
    that may buy ``n_c`` offers) and added to the dense product of the other classes,
    instead of ``2 B^2`` flops each. The same sum, in another order.
    """
    if few is not None:
        few, pairs, idx, n_offers = few
        many = np.ones(u.shape[1], dtype=bool)
        many[few] = False
        many = np.flatnonzero(many)
        # rows of the (A, B) arrays behind U and V (U and V are their transposes)
        u_many, v_many = u.T[many].T, v.T[many].T
        jac = _assemble(u_many, v_many, None if wn is None else wn[many], groups)
        _add_pairs(jac, u.T, v.T, wn, pairs, idx, n_offers)
        return jac
    jac = u @ v.T
    if wn is not None:
        order, starts, _ = groups
        ends = np.r_[starts[1:], order.size]
        contiguous = bool((order[1:] > order[:-1]).all())
        for a, b in zip(starts, ends, strict=True):  # one product per nest
            if contiguous:
                jac[a:b, a:b] += u[a:b] @ wn[:, a:b]
            else:
                members = order[a:b]
                jac[np.ix_(members, members)] += u[members] @ wn[:, members]
    return jac


def _add_pairs(jac: FloatArray, ut: FloatArray, vt: FloatArray, wn: FloatArray | None,
               pairs, idx: np.ndarray, n_offers: int) -> None:
    """Add the part ``U_F (V_F^T + W_F on same-nest pairs)`` of the classes ``F`` that buy
    few offers (rows of ``ut = U^T``, ``vt = V^T``, ``wn``: (A, B), zero outside those
    offers), summed over their ``pairs`` (:attr:`_Kernel.few_pairs`) of binding offers
    ``idx``."""
    cls, a, b, same = pairs
    pos = np.full(n_offers, -1)
    pos[idx] = np.arange(idx.size)
    ja, jb = pos[a], pos[b]
    keep = np.flatnonzero((ja >= 0) & (jb >= 0))
    cls, ja, jb = cls[keep], ja[keep], jb[keep]
    right = vt[cls, jb]
    if wn is not None:
        right = right + np.where(same[keep], wn[cls, jb], 0.0)
    n = jac.shape[0]
    jac += np.bincount(ja * n + jb, weights=ut[cls, ja] * right,
                       minlength=n * n).reshape(n, n).astype(jac.dtype, copy=False)


def _nest_groups(nest_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binding offers grouped by nest: the sorting order, group starts, group of each offer."""
    order = np.argsort(nest_b, kind="stable")
    sorted_b = nest_b[order]
    change = sorted_b[1:] != sorted_b[:-1]
    starts = np.flatnonzero(np.r_[True, change])
    group_of = np.empty(nest_b.size, dtype=int)
    group_of[order] = np.cumsum(np.r_[0, change.astype(int)])
    return order, starts, group_of


@dataclass(frozen=True)
class _NestBlock:
    """One nest's diagonal block of ``M`` (``-diag(own) + U_g W_g^T``) and its inverse."""

    members: np.ndarray
    block: FloatArray
    inverse: FloatArray


def _nest_blocks(parts: _JacobianParts, groups) -> list[_NestBlock]:
    """Each nest's block ``-diag(own) + U_g W_g^T`` of the Jacobian without its across-class
    low-rank term ``U V^T``, with its inverse."""
    order, starts, _ = groups
    ends = np.r_[starts[1:], order.size]
    contiguous = bool((order[1:] > order[:-1]).all())  # offers already sorted by nest
    blocks = []
    for a, b in zip(starts, ends, strict=True):
        members = order[a:b]
        sel = slice(a, b) if contiguous else members  # a view, not a gather, when sorted
        own = parts.own[members]
        if parts.wn is None:
            blocks.append(_NestBlock(members, np.diag(-own),
                                     np.diag(-1.0 / np.maximum(own, 1e-300))))
            continue
        jac = parts.u[sel] @ parts.wn[:, sel]
        jac[np.diag_indices_from(jac)] -= own
        try:
            blocks.append(_NestBlock(members, jac, np.linalg.inv(jac)))
        except np.linalg.LinAlgError:
            blocks.append(_NestBlock(members, jac, np.diag(-1.0 / np.maximum(own, 1e-300))))
    return blocks


def _block_matrix(blocks: list[_NestBlock], n: int, *, inverse: bool):
    """The nest blocks (or their inverses) as one sparse (n, n) matrix in offer order."""
    from scipy import sparse

    rows = np.concatenate([np.repeat(b.members, b.members.size) for b in blocks])
    cols = np.concatenate([np.tile(b.members, b.members.size) for b in blocks])
    vals = np.concatenate([(b.inverse if inverse else b.block).ravel() for b in blocks])
    return sparse.csr_array((vals, (rows, cols)), shape=(n, n))


def _apply_blocks(blocks: list[_NestBlock], x: FloatArray) -> FloatArray:
    out = np.empty_like(x)
    for b in blocks:
        out[b.members] = b.inverse @ x[b.members]
    return out


def _woodbury_solve(parts: _JacobianParts, blocks, rhs: FloatArray) -> FloatArray | None:
    """Exact Newton direction by the Sherman-Morrison-Woodbury identity.

    The Jacobian is ``M + U V^T`` with ``M`` block diagonal by nest (:func:`_nest_blocks`)
    and ``U V^T`` of rank at most the number of active classes ``A``, so
    ``J^-1 b = M^-1 b - M^-1 U (I + V^T M^-1 U)^-1 V^T M^-1 b`` costs one ``A x A`` solve.
    Returns None when that system is singular.
    """
    y = _apply_blocks(blocks, parts.u)  # (B, A) = M^-1 U
    z = _apply_blocks(blocks, rhs)  # M^-1 b
    k = parts.v.T @ y
    k[np.diag_indices_from(k)] += 1.0
    try:
        t = np.linalg.solve(k, parts.v.T @ z)
    except np.linalg.LinAlgError:
        return None
    return z - y @ t


def _bounded(step: FloatArray) -> FloatArray:
    """``step`` finite and within a factor e per round, its direction kept.

    A step longer than :data:`_MAX_STEP` in any price is scaled down as a whole (a
    trust-region step in the max norm; Nocedal & Wright 2006, ch. 4), not clipped entry by
    entry: clipping keeps the small moves and cuts the large ones, so it changes relative
    prices the Newton step did not ask for. With inelastic demand (elasticity ~0.06) the
    step is mostly a common rise in all prices, and a clipped one shifts the logit shares
    between offers by up to e^10: in 2 of the default Sobol design's first 32 runs months
    failed to clear in ``market.max_rounds`` (then 80; 52 of 132 months in one, which took
    10x the CPU of the others; ``tests/market/test_clearing_convergence.py``).

    A Jacobian that overflowed (a nest share near 1e-300) gives inf/NaN entries: no step
    there, rather than NaN prices that no test could flag.
    """
    step = np.nan_to_num(step, nan=0.0, posinf=_MAX_STEP, neginf=-_MAX_STEP)
    longest = float(np.abs(step).max(initial=0.0))
    return step * (_MAX_STEP / longest) if longest > _MAX_STEP else step


_DENSE_NEWTON_MAX = 150
#: Classes that may buy at most 1 / this of the offers are assembled as sparse products.
_FEW_OFFERS = 8
#: Cost of one offer pair of such a class, and of gathering one entry, in BLAS flops.
_PAIR_FLOPS = 3000.0
_GATHER_FLOPS = 60.0
#: A chord step (last round's Jacobian) is kept when it cuts the merit to this share.
_CHORD_RATE = 0.01
_MAX_STEP = 1.0
#: Halvings of a Newton step that does not reduce the squared excess demand.
_BACKTRACK = 4
#: The rounds end, unconverged, when this many in a row within ``_STALL_GAP`` of clearing,
#: on the same binding offers, have not halved the lowest squared excess demand reached on
#: them: the iteration has stalled at the floating-point floor of the relative excess demand
#: (~1e-13 in the small world) under a tolerance below that floor, where the merit only
#: wanders. Dennis and Schnabel (1996), sec. 7.2 (stopping on a lack of progress).
_STALL_ROUNDS = 16
#: Largest relative excess demand (log) counted as at the floor: a ``tol`` of 1e-9 or more
#: is met before any round counts, so ordinary tolerances never stop on a stall.
_STALL_GAP = 1e-9


def _halved_premium(log_ask: FloatArray, log_price: FloatArray) -> FloatArray:
    """Log prices with their premium over the ask halved; a premium that halving does not
    shrink (one ulp, where the midpoint rounds back up) becomes none, or the offer would
    stay a stale premium for ever."""
    half = 0.5 * (log_ask + log_price)
    return np.where(half < log_price, half, log_ask)


def _merit(d: _Demand, log_price: FloatArray, log_ask: FloatArray, cap: FloatArray,
           tol: float, stale: np.ndarray) -> float:
    """Squared log excess demand over the offers that bind at ``log_price``.

    ``stale`` offers (a premium nobody pays, halving on their own) are left out, as they
    are from the Newton step's own merit.
    """
    q = d.offer_demand
    with np.errstate(divide="ignore", invalid="ignore"):
        residual = np.nan_to_num(np.log(q) - np.log(cap), nan=0.0)
    binding = (((log_price > log_ask + 1e-15) | (q > cap * (1 + tol))) & (cap > 0) & (q > 0)
               & ~stale)
    residual = np.where(binding, residual, 0.0)
    return float(residual @ residual)


#: Above this many active classes the Woodbury solve gives way to GMRES.
_WOODBURY_MAX_CLASSES = 800
_FLOAT_MAX = float(np.finfo(np.float64).max)
_NORMAL_MIN = float(np.finfo(np.float64).tiny)  # smallest normal float64, 2.2e-308
_VOLUME_FLOOR = 1e-290
#: A premium offer whose demand is below exp(-this) of its capacity halves its log premium.
_STALE_LOG_GAP = 30.0
#: A class asking for more than exp(this) times the market's capacity is lifted.
_FAR_LOG_GAP = 30.0
#: Up to this many binding offers the Jacobian is assembled and LU-solved (one BLAS-3
#: product, ``2 A B^2`` flops) rather than solved by GMRES (``4 A B`` flops a product, but
#: memory-bound and tens of products).
_DENSE_ASSEMBLY_MAX = 1200
#: From this many binding offers the assembled Jacobian's products run in float32.
_SINGLE_PRECISION_MIN = 150
_F32_MAX = 1e37


def clear(supply: SupplyBook, demand: DemandBook, warm_start: FloatArray | None = None, *,
          tol: float = 1e-9, max_rounds: int = 200,
          reservation_price: FloatArray | None = None) -> ClearingResult:
    """Clear one month of the inference market.

    Parameters
    ----------
    supply : SupplyBook
        Offers (capacity in M tokens/month, asks in $/M tokens).
    demand : DemandBook
        Segments, their classes and the geography.
    warm_start : (O,) array, optional
        Last month's clearing prices, $/M tokens; prices start from ``max(ask, warm_start)``.
    tol : float
        Equilibrium tolerance on relative excess demand of binding offers, in (0, 1).
    max_rounds : int
        Bound on price-adjustment rounds (a whole number >= 0); residual excess demand is
        then rationed. The rounds also end, unconverged and rationed, once 16 in a row within
        1e-9 of clearing have not halved their lowest squared excess demand (a ``tol``
        below the ~1e-13 floating-point floor of the relative excess demand).
    reservation_price : (S,) array, optional
        $/M tokens. Clear the book as a *step-demand* market instead of by logit: segment
        ``s`` buys its whole ``reference_demand[s]`` if the price it faces is at most
        ``reservation_price[s]`` (and the purchase fits its budget), else nothing. Solved
        exactly as a uniform-price double auction; only for homogeneous offers. See
        :func:`clear_step`.

    Returns
    -------
    ClearingResult

    Raises
    ------
    ValueError
        Naming the argument: ``tol`` outside (0, 1) or not a number, ``max_rounds`` not a
        whole number >= 0, ``warm_start`` or ``reservation_price`` of the wrong length or
        not finite, a supply region outside the demand's geography, an offer whose
        ``ask x capacity`` would take money beyond float64 (about 1e305 $/month).

    Notes
    -----
    Guaranteed for every accepted book: tokens sold <= capacity (to 1e-12 relative),
    converged or not (the ration is kept as mantissa and exponent, and an offer still over
    capacity by rounding is scaled down); ``converged`` is True only when the tolerance is
    met at finite demand (a step that overflowed is dropped, not turned into NaN prices).
    A class served under ~1e-290 M tokens (near the subnormal floats) buys nothing on both
    sides of the book, and a segment buying a subnormal quantity buys nothing.  Every identity of
    :func:`abm.market.conservation.violations` is tested on books whose sizes and prices
    span 300 orders of magnitude (``synthetic.wide_market(rng, 300)``, each quantity in
    about 1e-150..1e150 times its ordinary size); beyond that many books are refused
    (money beyond float64) and conservation is checked, not guaranteed.
    """
    tol = _validate.tolerance(tol, "tol")
    max_rounds = _validate.count(max_rounds, "max_rounds")
    if reservation_price is not None:
        if warm_start is not None:
            _check_warm_start(warm_start, supply.ask)
        return clear_step(supply, demand, reservation_price)
    _validate.money_fits(supply.ask, supply.capacity, demand.tariff)
    terms = _cached_choice_terms(supply, demand)
    rows, active = _active_terms(terms, demand)
    ask = supply.ask
    cap = supply.capacity
    # Prices saturate where money would leave float64 (the market is then rationed).
    log_ceiling = np.maximum(_validate.log_price_ceiling(cap, demand.tariff), np.log(ask))
    if (cap == 0).any():
        # An offer without capacity is not on the market this month.
        active = replace(active, log_weight=np.where(cap[None, :] == 0, -np.inf,
                                                     active.log_weight))
    log_ask = np.log(ask)
    if warm_start is None:
        log_price = log_ask.copy()
    else:
        warm = _validate.real_array(warm_start, "warm_start")
        if warm.shape != ask.shape or not np.isfinite(warm).all():
            raise ValueError(f"warm_start: expected {ask.shape[0]} finite prices, got "
                             f"shape {warm.shape}")
        log_price = np.maximum(log_ask, np.log(np.maximum(warm, 1e-300)))
    log_price = np.minimum(log_price, log_ceiling)
    start, d = _lift_start(log_price, ask, rows, active, demand, cap)
    at_ask = None
    if warm_start is not None or start is not log_price:
        at_ask = _remembered_demand(ask, rows, active, demand)
    log_price = np.minimum(start, log_ceiling)
    rounds = 0
    converged = False
    damping, last_gap = 1.0, np.inf
    # Rounds since the merit last halved its lowest value on the same binding offers.
    stalled, record, record_idx = 0, np.inf, None
    chord: _Factor | None = None
    price = np.maximum(np.exp(log_price), ask)
    if d is None:  # lifted: _lift_start's demand was at the unlifted prices
        d = _demand_at(price, rows, active, demand)
    if at_ask is None:
        at_ask = d
    while True:
        q = d.offer_demand
        with np.errstate(divide="ignore", invalid="ignore"):
            residual = np.log(q) - np.log(cap)  # +inf where cap == 0 and q > 0
        residual = np.nan_to_num(residual, nan=0.0)
        premium = log_price > log_ask + 1e-15
        over = q > cap * (1 + tol)
        off_target = premium & (np.abs(residual) > tol)
        if not (over.any() or off_target.any()) and np.isfinite(q).all():
            converged = True
            break
        if rounds >= max_rounds:
            break
        # A premium nobody pays (an overshoot far from the equilibrium) halves in log.
        stale = premium & (residual < -_STALE_LOG_GAP)
        binding = (premium | over) & (cap > 0) & (q > 0) & ~stale
        residual = np.where(binding, residual, 0.0)
        gap = float(np.abs(residual).max())
        # Damp the Newton step while the largest excess demand is not shrinking.
        damping = min(1.0, 2.0 * damping) if gap < last_gap else max(damping / 2.0, 1 / 16)
        last_gap = gap
        merit = float(residual @ residual)
        idx = np.flatnonzero(binding)
        # (a stale premium halving is progress the merit leaves out)
        if stale.any() or record_idx is None or not np.array_equal(idx, record_idx):
            stalled, record, record_idx = 0, merit, idx
        elif merit < 0.5 * record or gap >= _STALL_GAP:
            stalled, record = 0, min(merit, record)
        else:
            stalled += 1
            if stalled >= _STALL_ROUNDS:
                break
        # A chord step: last round's factorised Jacobian, while the binding offers are the
        # same and it was a full step that cut the merit well. Kept only if it too cuts the
        # merit to _CHORD_RATE, else this round takes a Newton step after all.
        chord_d = None
        if chord is not None and damping == 1.0 and np.array_equal(chord.idx, idx):
            with np.errstate(over="ignore", invalid="ignore"):
                step = _bounded(chord.step(residual))
            trial_log = np.where(stale, _halved_premium(log_ask, log_price),
                                 np.maximum(log_ask, np.minimum(log_price + step, log_ceiling)))
            trial_price = np.maximum(np.exp(trial_log), ask)
            trial_d = _demand_at(trial_price, rows, active, demand)
            trial_merit = _merit(trial_d, trial_log, log_ask, cap, tol, stale)
            if trial_merit < _CHORD_RATE * merit:
                chord_d = trial_d
        if chord_d is not None:
            log_price, price, d = trial_log, trial_price, chord_d
            rounds += 1
            continue
        chord = None
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite entries: see below
            newton, factor = _newton_solve(d, active, binding, residual)
        step = _bounded(damping * newton)
        # Backtrack while the step does not reduce the squared excess demand of the offers
        # that bind (Armijo): a full Newton step can jump between two binding sets for ever.
        # A premium nobody pays halves in log whatever the step.
        for trial in range(_BACKTRACK + 1):
            trial_log = np.where(stale, _halved_premium(log_ask, log_price),
                                 np.maximum(log_ask, np.minimum(log_price + step, log_ceiling)))
            trial_price = np.maximum(np.exp(trial_log), ask)
            trial_d = _demand_at(trial_price, rows, active, demand)
            trial_merit = _merit(trial_d, trial_log, log_ask, cap, tol, stale)
            if trial == _BACKTRACK or trial_merit < (1.0 - 1e-4) * merit:
                break
            step = step / 2.0
        if trial == 0 and damping == 1.0 and trial_merit < _CHORD_RATE * merit:
            chord = factor  # a full step that worked: its Jacobian serves the next rounds
        log_price, price, d = trial_log, trial_price, trial_d
        rounds += 1

    excess = d.offer_demand - cap
    # The ration cap / demand as mantissa x 2**exponent: with demand 1e258 and capacity
    # 1e-64 the ratio itself is subnormal and keeps too few digits to hold sales within
    # capacity (0.5% over was seen).  Bit for bit the plain ratio whenever that is normal.
    rationed = d.offer_demand > cap
    ration_m, ration_e = _ration(cap, d.offer_demand, rationed)
    n_cls = demand.n_classes
    # A class buying under ~1e-290 M tokens has lost its digits to subnormal floats: it
    # buys nothing, on both sides of the book.
    live = d.class_volume >= _VOLUME_FLOOR
    full = rows.size == n_cls
    flows = np.where(live, d.class_volume, 0.0)[rows, None] * d.shares
    flows = _scaled(flows, ration_m[None, :], ration_e[None, :])
    # The offer's sales may still exceed its capacity by rounding (the demand the ration
    # divides by is a separate matrix product): scale such offers down to capacity, so
    # tokens sold <= capacity holds whether or not the prices converged.
    # A class served under the volume floor (~1e-290 M tokens) after rationing is near the
    # subnormals, where its sales and its segments' purchases lose different digits: it
    # buys nothing, on both sides of the book (as a class demanding that little).
    starved = flows.sum(axis=1) < _VOLUME_FLOOR  # (A,)
    flows[starved] = 0.0
    sold = flows.sum(axis=0)
    still_over = sold > cap * (1.0 + 1e-12)  # beyond rounding: ordinary books untouched
    if still_over.any():
        flows[:, still_over] *= np.nextafter(cap[still_over] / sold[still_over], 0.0)
    if full:
        shares, class_offer = d.shares, flows
    else:
        shares = np.zeros((n_cls, supply.n_offers))
        shares[rows] = d.shares
        class_offer = np.zeros_like(shares)
        class_offer[rows] = flows
    offer_tokens = class_offer.sum(axis=0)
    offer_revenue = offer_tokens * price

    # Segment level: one pass over segments at the final prices.
    cls = demand.segment_class
    x_mult = np.exp(np.minimum(-terms.eps * d.log_price_index, _log_volume_ceiling(demand)))
    x_mult = np.where(np.isfinite(d.log_price_index), x_mult, 0.0)
    mean_paid = np.zeros(n_cls)
    paid_per_token = np.zeros(n_cls)
    tariffed = active.kernel.tariffed
    paid_shares = d.shares * active.tariff_factor if tariffed else d.shares  # (A, O)
    mean_paid[rows] = paid_shares @ price
    # The share of each class's demand that is served, per offer, scaled by 2**-top (top:
    # the largest ration exponent among the offers the class buys from) so a class
    # served only by deeply rationed offers keeps its digits; scaled back per segment.
    if ration_e.any():
        bought = d.shares > 0
        top = np.where(bought, ration_e[None, :], np.iinfo(np.int32).min).max(
            axis=1, initial=np.iinfo(np.int32).min)
        top = np.where(bought.any(axis=1), top, 0)
        served_e = ration_e[None, :] - top[:, None]
    else:  # every exponent 0 (the usual case): so is every class's largest
        top = np.zeros(rows.size, dtype=np.int64)
        served_e = ration_e[None, :]
    served = _scaled(d.shares, ration_m[None, :], served_e)
    served_scaled = np.zeros(n_cls)
    served_exp = np.zeros(n_cls, dtype=np.int64)
    served_scaled[rows] = np.where(live[rows] & ~starved, served.sum(axis=1), 0.0)
    served_exp[rows] = top
    # Price paid per token served, averaged with weights that sum to one (the product of
    # a tiny ration and a tiny price would lose its digits in subnormals).
    total = served_scaled[rows, None]
    weight = np.divide(served, total, out=np.zeros_like(served), where=total > 0)
    if tariffed:
        weight *= active.tariff_factor
    paid_per_token[rows] = weight @ price
    uncapped = demand.reference_demand * x_mult[cls]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # inf: not binding
        affordable = np.where(mean_paid[cls] > 0, demand.budget / mean_paid[cls], np.inf)
    wanted = np.minimum(uncapped, affordable)
    segment_tokens = np.ldexp(wanted * served_scaled[cls], served_exp[cls])
    # A segment buying a subnormal quantity has lost its digits (its spending exceeded its
    # budget by 3e-5 relative): it buys nothing; its class, above the floor, cannot notice.
    segment_tokens = np.where(segment_tokens < _NORMAL_MIN, 0.0, segment_tokens)
    segment_spending = segment_tokens * paid_per_token[cls]
    with np.errstate(over="ignore"):  # demand at an ask of 1e-300 may overflow: saturated
        latent_mult = np.exp(-terms.eps * at_ask.log_price_index)
    latent_mult = np.where(np.isfinite(at_ask.log_price_index), latent_mult, 0.0)
    with np.errstate(over="ignore"):  # saturated at the float maximum, as documented
        segment_latent = np.minimum(demand.reference_demand * latent_mult[cls], _FLOAT_MAX)
    segment_unserved = np.maximum(segment_latent - segment_tokens, 0.0)
    segment_unserved_budget = np.maximum(uncapped - wanted, 0.0)

    tariff_paid = np.zeros(n_cls)
    if tariffed:
        tariff_paid[rows] = (flows * (active.tariff_factor - 1.0)) @ price
    tariff_revenue = np.bincount(demand.class_nation, weights=tariff_paid,
                                 minlength=demand.tariff.shape[0])
    return ClearingResult(
        price=price, scarcity_premium=price - ask, offer_tokens=offer_tokens,
        offer_revenue=offer_revenue, segment_tokens=segment_tokens,
        segment_spending=segment_spending, segment_unserved=segment_unserved,
        segment_unserved_budget=segment_unserved_budget, segment_latent=segment_latent,
        segment_demand=wanted, class_offer_tokens=class_offer,
        class_effective_price=np.exp(d.log_price_index), class_shares=shares,
        tariff_revenue=tariff_revenue, excess_demand=excess,
        demand_at_ask=at_ask.offer_demand, rounds=rounds, converged=converged)


def _scaled(x: FloatArray, m: FloatArray, e: np.ndarray) -> FloatArray:
    """``np.ldexp(x * m, e)`` (broadcast), without the ``ldexp`` pass when every exponent
    is 0 (demand and capacity in one binade: the usual case), where it changes nothing."""
    if e.any():
        return np.ldexp(x * m, e)
    return x * m


def _ration(cap: FloatArray, demand: FloatArray,
            rationed: np.ndarray) -> tuple[FloatArray, np.ndarray]:
    """``cap / demand`` where ``rationed`` (else 1) as ``(m, e)`` with value ``m * 2**e``.

    The mantissas are divided and the exponents subtracted, so the ratio keeps 53 bits
    however small it is; ``m * 2**e`` equals ``cap / demand`` bit for bit when that is a
    normal float.
    """
    cm, ce = np.frexp(np.where(rationed, cap, 1.0))
    dm, de = np.frexp(np.where(rationed, demand, 1.0))
    m = np.where(rationed, cm / dm, 1.0)
    e = np.where(rationed, ce - de, 0)
    return m, e.astype(np.int64)


def offer_demand(supply: SupplyBook, demand: DemandBook,
                 price: FloatArray | None = None) -> FloatArray:
    """What each offer's buyers would take at ``price`` (default: the asks), M tokens/month.

    Capacity plays no part: this is demand, not a clearing. Used by sellers to split
    capacity across their offers before the market clears.

    Parameters
    ----------
    supply, demand : SupplyBook, DemandBook
    price : (O,) array, optional
        $/M tokens, > 0; the asks when omitted.

    Returns
    -------
    (O,) float array

    Raises
    ------
    ValueError
        If ``price`` is not a length-O array of finite positive numbers.
    """
    if price is None:
        price = supply.ask
    else:
        price = _as_float("price", price, supply.n_offers, positive=True)
    terms = _cached_choice_terms(supply, demand)
    rows, active = _active_terms(terms, demand)
    return _remembered_demand(np.asarray(price, dtype=float), rows, active, demand,
                              remember=True).offer_demand.copy()  # the caller's own


#: The demand book's segment arrays that :func:`_demand_at` reads (besides the choice terms).
_SEGMENT_KEYS = ("segment_class", "reference_demand", "budget")


def _remembered_demand(price: FloatArray, rows: np.ndarray, terms: ChoiceTerms,
                       demand: DemandBook, remember: bool = False) -> _Demand:
    """:func:`_demand_at`, served from the last evaluation remembered on ``terms`` when
    the prices and the demand's segments are equal to it (compared by value).

    The sellers' split of capacity (:func:`offer_demand` at the asks) and the month's
    :func:`clear` (demand at the asks) evaluate the same demand on the same choice terms;
    the first remembers it (``remember``), the second reuses it, once. Any change in the
    prices, segments or choice terms (an offer without capacity bars itself: new terms)
    evaluates afresh.
    """
    key = [price] + [getattr(demand, k) for k in _SEGMENT_KEYS]
    last = terms.__dict__.pop("_remembered", None)
    if last is not None and last[0] is demand and all(
            a.shape == b.shape and np.array_equal(a, b) for a, b in zip(key, last[1],
                                                                        strict=True)):
        return last[2]
    d = _demand_at(price, rows, terms, demand)
    if remember:
        terms.__dict__["_remembered"] = (demand, [np.array(a, copy=True) for a in key], d)
    return d


# --------------------------------------------------------------------------- step demand


def _check_warm_start(warm_start, ask: FloatArray) -> None:
    warm = _validate.real_array(warm_start, "warm_start")
    if warm.shape != ask.shape or not np.isfinite(warm).all():
        raise ValueError(f"warm_start: expected {ask.shape[0]} finite prices, got "
                         f"shape {warm.shape}")


def _heterogeneity(supply: SupplyBook, demand: DemandBook) -> list[str]:
    """What makes offers differ, for some class, in anything but their asks."""
    terms = choice_terms(supply, demand)
    problems = []
    if not terms.allowed.all():
        problems.append("localisation or open-weights-only exclusions")
    if (terms.tariff_factor != 1.0).any():
        problems.append("tariffs on foreign offers")
    if (terms.price_factor != terms.tariff_factor).any():
        problems.append("quality-shortfall or latency penalties")
    if (supply.appeal != supply.appeal[0]).any():
        problems.append("unequal appeal")
    if (demand.home_bias != 0).any():
        problems.append("home bias")
    return problems


def clear_step(supply: SupplyBook, demand: DemandBook,
               reservation_price: FloatArray) -> ClearingResult:
    """Clear a homogeneous book exactly with step (all-or-nothing) demand.

    Segment ``s`` buys its whole ``reference_demand[s]`` (M tokens/month) if the price it
    faces is at most its *bid* ``b_s = min(reservation_price[s], budget[s] /
    reference_demand[s])`` ($/M tokens; the budget term makes a segment that cannot afford
    its whole quantity buy nothing), else nothing. When offers differ only in their asks
    (every class may buy every offer, no tariffs, no latency or quality penalties, equal
    appeal), the competitive equilibrium is the uniform-price double auction of the
    segments (bids ``b_s``, quantity ``reference_demand``) against the offers (asks
    ``ask``, quantity ``capacity``), which maximises ``sum b_s x_s - sum ask_o y_o``.

    Result fields (``p`` is the uniform price: the *lowest* price of the auction's
    clearing interval, i.e. the minimal Walrasian price, which a tatonnement raising prices
    from the asks reaches; NaN-free: when nothing trades ``p`` is undefined and
    ``p_face`` below is the lowest ask):

    * ``price = max(ask, p)`` for every offer when anything trades, else ``ask``: every
      traded offer (ask <= p) gets ``p``, so the marginal, partially sold offer (whose ask
      equals ``p``) too; offers priced out keep their ask. ``scarcity_premium = price -
      ask``.
    * ``offer_tokens`` = ask fills, ``segment_tokens`` = bid fills (the marginal tie group
      is filled in input order); ``segment_spending = segment_tokens * p`` and
      ``offer_revenue = offer_tokens * price``, so money is conserved: every traded unit
      changes hands at ``p``.
    * ``class_offer_tokens[c, o]``: class ``c``'s tokens spread over offers pro rata to the
      offer fills; ``class_shares`` the same shares (rows of zeros when nothing trades);
      ``class_effective_price`` = ``p_face`` for every class (``p`` if anything trades,
      else the lowest ask).
    * ``segment_latent`` = ``reference_demand`` where ``reservation_price >= min(ask)``
      (demand at the asks, no budget cap), else 0; ``segment_unserved = latent - bought``
      (priced out by scarcity, or the unfilled part of a tied marginal segment, or the
      budget); ``segment_unserved_budget`` = the unserved part of segments whose budget
      lowers their bid (``b_s < reservation_price``) although their reservation price
      covers ``p_face``.
    * ``excess_demand = offer_tokens - capacity`` (the market clears exactly: zero where
      capacity binds, minus the spare capacity elsewhere); ``tariff_revenue`` zeros;
      ``rounds = 0``, ``converged = True``.

    Raises
    ------
    ValueError
        If ``reservation_price`` is not a length-S finite array >= 0, or the book is not
        homogeneous.
    """
    ref = demand.reference_demand
    r = _as_float("reservation_price", reservation_price, demand.n_segments)
    problems = _heterogeneity(supply, demand)
    if problems:
        raise ValueError(
            "reservation_price: step demand is cleared exactly only for homogeneous offers "
            "(no latency/quality penalties, tariffs or localisation); this book has "
            + ", ".join(problems) + ". Clear it with the logit core (no reservation_price).")
    ask = supply.ask
    cap = supply.capacity
    with np.errstate(divide="ignore", invalid="ignore"):
        affordable = np.where(ref > 0, demand.budget / np.where(ref > 0, ref, 1.0), np.inf)
    bid = np.minimum(r, affordable)
    auction = double_auction(bid, ref, ask, cap)
    traded = auction.volume > 0.0
    p_face = auction.price_low if traded else float(ask.min())

    segment_tokens = np.array(auction.bid_fill, dtype=np.float64)
    offer_tokens = np.array(auction.ask_fill, dtype=np.float64)
    price = np.maximum(ask, p_face) if traded else ask.copy()
    offer_revenue = offer_tokens * price
    segment_spending = segment_tokens * (p_face if traded else 0.0)

    n_cls = demand.n_classes
    class_tokens = np.bincount(demand.segment_class, weights=segment_tokens, minlength=n_cls)
    offer_share = offer_tokens / auction.volume if traded else np.zeros_like(offer_tokens)
    class_offer = class_tokens[:, None] * offer_share[None, :]
    class_shares = np.broadcast_to(offer_share, (n_cls, offer_share.shape[0])).copy()

    segment_latent = np.where(r >= ask.min(), ref, 0.0)
    segment_unserved = np.maximum(segment_latent - segment_tokens, 0.0)
    segment_unserved_budget = np.where((bid < r) & (r >= p_face), ref - segment_tokens, 0.0)
    return ClearingResult(
        price=price, scarcity_premium=price - ask, offer_tokens=offer_tokens,
        offer_revenue=offer_revenue, segment_tokens=segment_tokens,
        segment_spending=segment_spending, segment_unserved=segment_unserved,
        segment_unserved_budget=segment_unserved_budget, segment_latent=segment_latent,
        segment_demand=np.where(bid >= p_face, ref, 0.0) if traded else np.zeros_like(ref),
        class_offer_tokens=class_offer, class_effective_price=np.full(n_cls, p_face),
        class_shares=class_shares, tariff_revenue=np.zeros(demand.tariff.shape[0]),
        excess_demand=offer_tokens - cap, demand_at_ask=np.where(ask <= p_face, cap, 0.0)
        if traded else np.zeros_like(cap), rounds=0, converged=True)
