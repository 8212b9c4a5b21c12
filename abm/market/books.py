"""Order books handed to the clearing core: who offers inference capacity, who demands tokens.

Units throughout the market core: token quantities in **M tokens per month** (so money is
quantity x price in dollars), prices in **$/M tokens**, latency in **ms**; quality and latency
penalties are log-price factors (per unit of quality shortfall, per ms beyond tolerance).

A demand *segment* is a group of people (nation x income decile x use-case) with a reference
demand and a budget. Segments that share every preference parameter form a *class*: they see
the same effective prices, so the same choice shares, and differ only in scale (reference
demand) and budget. The core works on classes x offers, never on segments x offers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from abm.market._validate import real_array

FloatArray = np.ndarray
IntArray = np.ndarray

TIERS = ("frontier", "mid", "small")


def _as_float(name: str, values, n: int | None = None, *, allow_inf: bool = False,
              nonneg: bool = True, positive: bool = False) -> FloatArray:
    arr = real_array(values, name)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name}: expected length {n}, got {arr.shape[0]}")
    if np.isnan(arr).any() or (not allow_inf and np.isinf(arr).any()):
        raise ValueError(f"{name}: contains NaN{'' if allow_inf else ' or inf'}")
    if positive and (arr <= 0).any():
        raise ValueError(f"{name}: must be > 0 (min {arr.min():.6g})")
    if nonneg and (arr < 0).any():
        raise ValueError(f"{name}: must be >= 0 (min {arr.min():.6g})")
    return arr


def _as_index(name: str, values, n: int | None, upper: int | None,
              lower: int = 0) -> IntArray:
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected a 1-D array of integer indices, got dtype "
                         f"{arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name}: expected length {n}, got {arr.shape[0]}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ValueError(f"{name}: must hold integer indices")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < lower or (upper is not None and arr.max() >= upper)):
        raise ValueError(f"{name}: indices must lie in [{lower}, {upper}), "
                         f"got [{arr.min()}, {arr.max()}]")
    return arr


@dataclass(frozen=True)
class SupplyBook:
    """Offers of inference capacity: one row per (provider, region, tier, open-weights flag).

    Parameters
    ----------
    provider, region, tier : int arrays (O,)
        Provider index, serving-region index, model tier (0 frontier, 1 mid, 2 small).
    open_weights : bool array (O,)
        Whether the offer serves an open-weight model.
    capacity : float array (O,)
        Servable volume, M tokens/month.
    marginal_cost : float array (O,)
        $/M tokens.
    ask : float array (O,)
        Posted price, $/M tokens (> 0).
    quality : float array (O,)
        Capability relative to the current frontier, in (0, 1].
    latency_ms : float array (O,), optional
        Serving latency added to the network latency (queueing at high utilisation), ms.
    appeal : float array (O,), optional
        Log choice weight (brand, switching cost, the size variable of a site); 0 is neutral.
    nest : int array (O,), optional
        Nest of each offer in the nested logit (default: its provider, so a segment first
        picks a provider, then one of its sites and tiers; Berry 1994, Verboven 1996).
    """

    provider: IntArray
    region: IntArray
    tier: IntArray
    open_weights: np.ndarray
    capacity: FloatArray
    marginal_cost: FloatArray
    ask: FloatArray
    quality: FloatArray
    latency_ms: FloatArray | None = None
    appeal: FloatArray | None = None
    nest: IntArray | None = None

    def __post_init__(self) -> None:
        ask = _as_float("ask", self.ask, allow_inf=True, nonneg=False)
        if ask.ndim != 1:
            raise ValueError(f"ask: expected a 1-D array, got shape {ask.shape}")
        n = ask.shape[0]
        if n == 0:
            raise ValueError("supply: the book is empty (no offers)")
        set_ = object.__setattr__
        set_(self, "ask", _as_float("ask", self.ask, n, positive=True))
        set_(self, "capacity", _as_float("capacity", self.capacity, n))
        set_(self, "marginal_cost", _as_float("marginal_cost", self.marginal_cost, n))
        set_(self, "quality", _as_float("quality", self.quality, n, positive=True))
        if (self.quality > 1.0).any():
            raise ValueError(f"quality: must lie in (0, 1] (relative to the frontier), got "
                             f"max {self.quality.max():.6g}")
        set_(self, "provider", _as_index("provider", self.provider, n, None))
        set_(self, "region", _as_index("region", self.region, n, None))
        set_(self, "tier", _as_index("tier", self.tier, n, len(TIERS)))
        ow = np.asarray(self.open_weights, dtype=bool)
        if ow.shape != (n,):
            raise ValueError(f"open_weights: expected length {n}, got shape {ow.shape}")
        set_(self, "open_weights", ow)
        lat = np.zeros(n) if self.latency_ms is None else self.latency_ms
        set_(self, "latency_ms", _as_float("latency_ms", lat, n))
        app = np.zeros(n) if self.appeal is None else self.appeal
        set_(self, "appeal", _as_float("appeal", app, n, nonneg=False))
        nest = self.provider if self.nest is None else self.nest
        set_(self, "nest", _as_index("nest", nest, n, None))

    @property
    def n_offers(self) -> int:
        return int(self.ask.shape[0])


@dataclass(frozen=True)
class DemandBook:
    """Token demand by segment, grouped into preference classes, plus geography.

    Segment volume at inclusive effective price ``P`` ($/M tokens) is
    ``reference_demand * P ** -elasticity``, capped so that spending stays within ``budget``.

    Parameters
    ----------
    segment_class : int array (S,)
        Class of each segment.
    reference_demand : float array (S,)
        M tokens/month the segment would buy at an inclusive effective price of 1 $/M tokens.
    budget : float array (S,)
        Most the segment spends on tokens, $/month (``inf`` for no cap).
    population : float array (S,)
        People in the segment (reporting only).
    class_nation : int array (C,)
        Nation of each class.
    choice_sensitivity : float array (C,)
        Logit coefficient on log effective price (> 0): substitution between offers.
    elasticity : float array (C,)
        Price elasticity of the segment's total volume (> 0).
    latency_tolerance_ms, latency_cost : float arrays (C,)
        Latency above tolerance scales the effective price by ``exp(latency_cost * excess_ms)``
        (``latency_cost`` is a log-price penalty per ms).
    quality_threshold, quality_cost : float arrays (C,)
        Quality below threshold scales the effective price by ``exp(quality_cost * shortfall)``
        (``quality_cost`` is a log-price penalty per unit of relative quality).
    localised : bool array (C,)
        Data-localisation: the class may only buy from regions in its own nation.
    latency_matrix_ms : float array (N, R)
        Network round-trip latency from nation to serving region, ms.
    region_nation : int array (R,)
        Nation that hosts each region.
    tariff : float array (N,)
        Ad-valorem tariff a nation levies on tokens served from abroad (fraction of price).
    open_weights_only : bool array (C,), optional
        The class buys only open-weight offers (e.g. a startup self-hosting open weights).
    nesting : float array (C,), optional
        Nesting parameter sigma in [0, 1) of the nested logit over the supply's nests: 0 is
        the plain logit; near 1, offers within a nest are near-perfect substitutes (Berry
        1994). Default 0.
    home_bias : float array (C,), optional
        Utility bonus (log choice weight) of offers served from the class's own nation.
        Default 0.
    """

    segment_class: IntArray
    reference_demand: FloatArray
    budget: FloatArray
    population: FloatArray
    class_nation: IntArray
    choice_sensitivity: FloatArray
    elasticity: FloatArray
    latency_tolerance_ms: FloatArray
    latency_cost: FloatArray
    quality_threshold: FloatArray
    quality_cost: FloatArray
    localised: np.ndarray
    latency_matrix_ms: FloatArray
    region_nation: IntArray
    tariff: FloatArray
    open_weights_only: np.ndarray | None = None
    nesting: FloatArray | None = None
    home_bias: FloatArray | None = None
    _budget_index: tuple = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        lat = np.asarray(self.latency_matrix_ms, dtype=np.float64)
        if lat.ndim != 2 or lat.size == 0:
            raise ValueError(f"latency_matrix_ms: expected a non-empty (nations x regions) "
                             f"matrix, got shape {lat.shape}")
        if np.isnan(lat).any() or np.isinf(lat).any() or (lat < 0).any():
            raise ValueError("latency_matrix_ms: must be finite and >= 0")
        n_nat, n_reg = lat.shape
        set_(self, "latency_matrix_ms", lat)
        set_(self, "region_nation", _as_index("region_nation", self.region_nation, n_reg,
                                              n_nat, lower=-1))
        set_(self, "tariff", _as_float("tariff", self.tariff, n_nat))
        sc = np.asarray(self.segment_class)
        if sc.ndim != 1 or sc.shape[0] == 0:
            raise ValueError("segment_class: the demand book is empty (no segments)")
        n_seg = sc.shape[0]
        cn = np.asarray(self.class_nation)
        if cn.ndim != 1 or cn.shape[0] == 0:
            raise ValueError("class_nation: expected a non-empty 1-D array")
        n_cls = cn.shape[0]
        set_(self, "class_nation", _as_index("class_nation", cn, n_cls, n_nat))
        set_(self, "segment_class", _as_index("segment_class", sc, n_seg, n_cls))
        set_(self, "reference_demand", _as_float("reference_demand", self.reference_demand,
                                                 n_seg))
        set_(self, "budget", _as_float("budget", self.budget, n_seg, allow_inf=True))
        set_(self, "population", _as_float("population", self.population, n_seg))
        set_(self, "choice_sensitivity", _as_float("choice_sensitivity",
                                                   self.choice_sensitivity, n_cls,
                                                   positive=True))
        set_(self, "elasticity", _as_float("elasticity", self.elasticity, n_cls,
                                           positive=True))
        for name in ("latency_tolerance_ms", "latency_cost", "quality_threshold",
                     "quality_cost"):
            set_(self, name, _as_float(name, getattr(self, name), n_cls))
        if (self.quality_threshold > 1.0).any():
            raise ValueError(f"quality_threshold: must lie in [0, 1] (quality relative to the "
                             f"frontier, which is at most 1), got max "
                             f"{self.quality_threshold.max():.6g}")
        loc = np.asarray(self.localised, dtype=bool)
        if loc.shape != (n_cls,):
            raise ValueError(f"localised: expected length {n_cls}, got shape {loc.shape}")
        set_(self, "localised", loc)
        only = np.zeros(n_cls, bool) if self.open_weights_only is None else self.open_weights_only
        only = np.asarray(only, dtype=bool)
        if only.shape != (n_cls,):
            raise ValueError(f"open_weights_only: expected length {n_cls}, got shape {only.shape}")
        set_(self, "open_weights_only", only)
        sigma = np.zeros(n_cls) if self.nesting is None else self.nesting
        sigma = _as_float("nesting", sigma, n_cls)
        if (sigma >= 1.0).any():
            raise ValueError(f"nesting: must lie in [0, 1), got max {sigma.max():.6g}")
        set_(self, "nesting", sigma)
        bias = np.zeros(n_cls) if self.home_bias is None else self.home_bias
        set_(self, "home_bias", _as_float("home_bias", bias, n_cls, nonneg=False))
        set_(self, "_budget_index", _budget_index(self.segment_class, self.reference_demand,
                                                  self.budget, n_cls))

    @property
    def n_segments(self) -> int:
        return int(self.segment_class.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.class_nation.shape[0])

    def with_scale(self, reference_demand: FloatArray, budget: FloatArray) -> DemandBook:
        """The same classes and geography with new segment volumes and budgets."""
        return DemandBook(
            self.segment_class, reference_demand, budget, self.population, self.class_nation,
            self.choice_sensitivity, self.elasticity, self.latency_tolerance_ms,
            self.latency_cost, self.quality_threshold, self.quality_cost, self.localised,
            self.latency_matrix_ms, self.region_nation, self.tariff, self.open_weights_only,
            self.nesting, self.home_bias)


# Budget-cap aggregation. Within a class every segment faces the same volume multiplier X
# (= P ** -elasticity) and budget multiplier Y (= 1 / mean price paid); segment s buys
# min(A_s X, B_s Y) and is budget-capped iff B_s / A_s < X / Y. Sorting segments by that
# ratio once lets each price round total a class with one searchsorted instead of a pass
# over all segments.
#
# The totals are sums restarted in every class (budgets from the class's first segment up to
# the split, reference demands from the split to its last segment), never differences of one
# running sum over the whole book: a class of 100 M tokens next to one of 1e24 would vanish
# into the rounding of the larger (issue 9). Each is a direct sum of non-negative terms, so
# it is exact to a few ulps of itself at any magnitude.


def _class_blocks(counts: IntArray) -> list[tuple[int, IntArray | slice]]:
    """The positions of a class-major book's segments, one (classes x size) matrix per class
    size: ``[(size, pos), ...]``; ``pos`` indexes a flat array so that ``a[pos]`` reshaped
    to ``(-1, size)`` has one class's segments per row (a slice when the classes of that size
    are one run, else an index matrix).

    ``counts`` (C,) is the number of segments in each class; empty classes are left out.
    A demand book's user classes all have one segment per income group and its startup
    classes one each, so there are one or two blocks.
    """
    start = np.cumsum(counts) - counts
    blocks: list[tuple[int, IntArray | slice]] = []
    for size in np.unique(counts):
        if size == 0:
            continue
        which = np.flatnonzero(counts == size)
        lo = int(start[which[0]])
        if which[-1] - which[0] + 1 == which.size:  # one run of classes
            pos: IntArray | slice = slice(lo, lo + which.size * int(size))
        else:
            pos = (start[which][:, None] + np.arange(size)[None, :]).ravel()
        blocks.append((int(size), pos))
    return blocks


#: the last book's segment classes and their stable class-major permutation
_LAST_CLASS_MAJOR: list = []


def _class_major(segment_class: IntArray, n_cls: int) -> IntArray:
    """``np.argsort(segment_class, kind="stable")`` (read-only), reused while the books'
    segment classes are the same: a month's book has the same classes in the same order
    as last month's unless startups entered or left, so the sort runs once per change."""
    if _LAST_CLASS_MAJOR:
        classes, order = _LAST_CLASS_MAJOR
        if np.array_equal(classes, segment_class):
            return order
    small = segment_class.astype(np.int16) if n_cls <= np.iinfo(np.int16).max else \
        segment_class
    order = np.argsort(small, kind="stable")  # radix sort for 16-bit keys
    classes = segment_class.copy()
    for arr in (classes, order):
        arr.flags.writeable = False
    _LAST_CLASS_MAJOR[:] = [classes, order]
    return order


def _class_order(segment_class: IntArray, key: FloatArray, counts: IntArray,
                 blocks: list | None = None) -> IntArray:
    """``np.lexsort((key, segment_class))``: segments class-major, by ``key`` within a class,
    ties in original order; ``counts`` (C,) is the number of segments in each class and
    ``blocks`` its :func:`_class_blocks` (computed when omitted).

    The same permutation as the lexsort, found faster: one stable integer sort groups the
    segments by class, then the classes of each size are sorted together as the rows of one
    (classes x size) matrix, so the float comparisons run on rows of a few dozen segments
    instead of over the whole book; a row already in order (a user class's income groups
    usually are: budgets per unit of need rise with income) is left as it is, which is what
    a stable sort does to it.
    """
    order = _class_major(segment_class, counts.size).copy()
    for size, pos in _class_blocks(counts) if blocks is None else blocks:
        if size <= 1:
            continue
        members = order[pos].reshape(-1, size)
        keys = key[members]
        unsorted = np.flatnonzero((keys[:, 1:] < keys[:, :-1]).any(axis=1))
        if unsorted.size == 0:
            continue
        within = np.argsort(keys[unsorted], axis=1, kind="stable")
        members[unsorted] = np.take_along_axis(members[unsorted], within, axis=1)
        order[pos] = members.ravel()
    return order


def _class_cumsum(values: FloatArray, blocks: list, *, reverse: bool = False) -> FloatArray:
    """Inclusive running sums of a class-major array within each class: Hillis-Steele passes
    (``log2(largest class)`` vectorised passes, no loop over classes), run on each block of
    :func:`_class_blocks` as rows, so no run-boundary masks (the same bits as the masked scan
    over the flat array it replaced, tested). ``reverse``: sums from each class's last
    segment back (``i..end``).
    """
    out = values.copy()
    for size, pos in blocks:
        if size <= 1:
            continue
        rows = values[pos].reshape(-1, size)
        # One column per class (segment position along axis 0), so every pass adds
        # contiguous blocks; each pass reads one buffer and writes the other.
        cols = np.ascontiguousarray((rows[:, ::-1] if reverse else rows).T)
        spare = np.empty_like(cols)
        step = 1
        while step < size:
            spare[:step] = cols[:step]
            np.add(cols[step:], cols[:-step], out=spare[step:])
            cols, spare = spare, cols
            step *= 2
        out[pos] = (cols.T[:, ::-1] if reverse else cols.T).ravel()
    return out


def _capped_log_ratio(ref: FloatArray, budget: FloatArray) -> tuple[FloatArray, float, float]:
    """Each segment's ``log(budget / reference demand)``, the price-index level at which its
    budget starts to bind, with the bounds ``lo``/``hi`` that thresholds are clipped to."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(budget) - np.log(ref)
    # Never capped: no demand, or no budget cap (+inf); always capped: a zero budget (-inf).
    log_ratio = np.where((ref == 0) | np.isnan(log_ratio), np.inf, log_ratio)
    finite = log_ratio[np.isfinite(log_ratio)]
    # Thresholds are clipped to [lo, hi], strictly inside the never/always-capped markers.
    lo = float(finite.min()) - 1.0 if finite.size else -1.0
    hi = float(finite.max()) + 1.0 if finite.size else 1.0
    return np.clip(log_ratio, lo - 1.0, hi + 1.0), lo, hi


def _budget_index(segment_class: IntArray, ref: FloatArray, budget: FloatArray,
                  n_cls: int) -> tuple:
    log_ratio, lo, hi = _capped_log_ratio(ref, budget)
    counts = np.bincount(segment_class, minlength=n_cls)
    blocks = _class_blocks(counts)
    order = _class_order(segment_class, log_ratio, counts, blocks)
    end = np.cumsum(counts)
    start = end - counts
    # Searchsorted key: class-major, then log ratio (offset so that it is >= 0).
    span = hi - lo + 3.0
    sorted_key = segment_class[order] * span + (log_ratio[order] - (lo - 1.0))
    sorted_budget = budget[order]
    budget_sorted = np.where(np.isinf(sorted_budget), 0.0, sorted_budget)
    budget_upto = _class_cumsum(budget_sorted, blocks)  # start..i inclusive
    ref_from = _class_cumsum(ref[order], blocks, reverse=True)  # i..end-1
    return (sorted_key, budget_upto, ref_from, start, end, span, lo, hi)


def class_volume(demand: DemandBook, volume_multiplier: FloatArray,
                 budget_multiplier: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Total volume of each class, M tokens/month, and the part bought by budget-capped segments.

    ``volume_multiplier`` (C,) is ``P ** -elasticity``; ``budget_multiplier`` (C,) is
    ``1 / mean price paid`` (M tokens per $). Each class's total is summed over its own
    segments only, so it is accurate relative to itself however large the other classes are.
    """
    sorted_key, budget_upto, ref_from, start, end, span, lo, hi = demand._budget_index
    with np.errstate(divide="ignore", invalid="ignore"):
        log_threshold = np.log(volume_multiplier) - np.log(budget_multiplier)
    # A class with no offer to choose from has both multipliers 0: it buys nothing either way.
    log_threshold = np.clip(np.nan_to_num(log_threshold, nan=lo), lo, hi)
    query = np.arange(demand.n_classes) * span + (log_threshold - (lo - 1.0))
    split = np.clip(np.searchsorted(sorted_key, query, side="left"), start, end)
    n = sorted_key.shape[0]
    capped_sum = np.where(split > start, budget_upto[np.maximum(split - 1, 0)], 0.0)
    free_sum = np.where(split < end, ref_from[np.minimum(split, n - 1)], 0.0)
    with np.errstate(invalid="ignore"):
        capped = np.where(capped_sum > 0, budget_multiplier * capped_sum, 0.0)
        free = np.where(free_sum > 0, volume_multiplier * free_sum, 0.0)
    return capped + free, capped


def class_reference(demand: DemandBook) -> FloatArray:
    """Total reference demand of each class, M tokens/month (C,), summed per class."""
    _, _, ref_from, start, end, *_ = demand._budget_index
    if ref_from.size == 0:
        return np.zeros(demand.n_classes)
    return np.where(end > start, ref_from[np.minimum(start, ref_from.size - 1)], 0.0)
