"""A nation's users: demand segments (income group x use-case x localised flag) as arrays."""

from __future__ import annotations

import mesa
import numpy as np

from abm.economy.income import quantile_group_means

REFERENCE_INCOME = 12_000.0  # $/person/yr at which need per person is 1 (normalisation)


class UserPopulation(mesa.Agent):
    """All users of one nation, held as NumPy arrays (never one object per person).

    Segment arrays have shape (income groups, use-cases, 2): the last axis splits demand
    that data-localisation confines to domestic regions (1) from the rest (0).

    Reference demand of a segment (M tokens/month at an inclusive price of 1 $/M tokens) is

        scale * population * (income / 12,000) ** income_elasticity * usecase_weight
              * adoption(t) * use_per_adopter(t) * test_time(t) * exp(shock)

    with Bass (1969) adoption and use per adopter that saturates (paths in
    :mod:`abm.economy.technology`) and the cross-country income elasticity of AI use
    (Anthropic Economic Index: ~0.7). Budgets follow the linear expenditure system
    (Stone 1954; Geary 1950): a segment may spend ``budget_share`` of its income *above
    subsistence* on tokens, so budgets bind first for the poorest groups of poor nations.

    Attributes
    ----------
    population : (G,) people per income group.
    income : (G,) mean income per group, $/person/yr.
    need_weight : (G,) relative token need, ``population * (income / 12,000) ** income_elasticity``.
    log_shock : this month's AR(1) demand shock (log).
    """

    def __init__(self, model: mesa.Model, nation, row, n_groups: int,
                 income_elasticity: float, subsistence: float) -> None:
        super().__init__(model)
        self.nation = nation
        self.population = np.full(n_groups, float(row.population_m) * 1e6 / n_groups)
        self.income = quantile_group_means([float(row.gdp_pc_usd)], [float(row.income_gini)],
                                           n_groups)[0]
        self.need_weight = self.population * (self.income / REFERENCE_INCOME) ** income_elasticity
        self.supernumerary = np.maximum(self.income - subsistence, 0.0)
        # fixed for the run: read-only, so population_segments may stack them once
        for arr in (self.population, self.income, self.need_weight, self.supernumerary):
            arr.flags.writeable = False
        self.log_shock = 0.0

    def draw_shock(self, sd: float, persistence: float) -> None:
        """Draw this month's demand shock (AR(1) in logs, from the model's RNG)."""
        self.log_shock = persistence * self.log_shock + sd * float(
            self.model.rng.standard_normal())

    def segments(self, need_per_usecase: np.ndarray, usecase_share: np.ndarray,
                 budget_share: float, carve: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Reference demand, budget ($/month) and population of every segment (G, U, 2).

        ``need_per_usecase`` (U,) is the month's need per unit of ``need_weight`` (scale x
        use-case weight x adoption x use per adopter x test-time multiplier); ``usecase_share``
        (U,) splits budgets and people across use-cases; ``carve`` (U,) is the share of each
        use-case that startups intermediate in this nation (their users pay the startups).
        Startups buy on the open market only, so they take their share of the free part;
        the localised part stays with the users (:func:`abm.economy.exchange.build_demand`).
        """
        loc = self.nation.localisation_share
        split = np.array([1.0 - loc, loc])
        keep = np.stack([1.0 - carve, np.ones_like(carve)], axis=1) * split  # (U, 2)
        ref = (np.exp(self.log_shock) * self.need_weight[:, None, None]
               * (need_per_usecase[:, None] * keep)[None, :, :])
        budget = (budget_share * self.supernumerary[:, None, None] / 12.0
                  * self.population[:, None, None] * (usecase_share[:, None] * keep)[None, :, :])
        pop = (self.population[:, None, None] * usecase_share[None, :, None]
               * split[None, None, :])
        return ref, budget, pop

    def total_need(self, need_per_usecase: np.ndarray) -> np.ndarray:
        """Reference demand per use-case before any carve-out (U,), M tokens/month at 1 $/M."""
        return np.exp(self.log_shock) * self.need_weight.sum() * need_per_usecase


#: the last users' (need_weight, supernumerary, population) arrays and their (N, G) stacks
_LAST_STACKS: list = []


def _stacked(users: list[UserPopulation]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.stack`` of every nation's need weights, supernumerary incomes and populations,
    reused while the users hold the very same (read-only) arrays: a nation's income groups
    are fixed for the run, so the stacks are built once, not every month."""
    arrays = [(u.need_weight, u.supernumerary, u.population) for u in users]
    if _LAST_STACKS:
        last, stacks = _LAST_STACKS
        if len(last) == len(arrays) and all(
                a is x and b is y and c is z
                for (a, b, c), (x, y, z) in zip(arrays, last, strict=True)):
            return stacks
    n_groups = {group[2].shape[0] for group in arrays}
    if len(n_groups) != 1:
        raise ValueError(f"users: every nation needs the same number of income groups, got "
                         f"{sorted(n_groups)}")
    stacks = tuple(np.stack([group[k] for group in arrays]) for k in range(3))
    if all(not arr.flags.writeable for group in arrays for arr in group):
        for arr in stacks:
            arr.flags.writeable = False
        _LAST_STACKS[:] = [arrays, stacks]
    return stacks


def draw_shocks(users: list[UserPopulation], rng: np.random.Generator, sd: float,
                persistence: float) -> None:
    """:meth:`UserPopulation.draw_shock` for every population, in list order, at once.

    One ``rng.standard_normal(len(users))`` gives the draws that ``len(users)`` scalar calls
    would, in the same order, and the AR(1) update is the same two products and a sum per
    element, so every shock has the same bits (tested).
    """
    if not users:
        return
    z = rng.standard_normal(len(users))
    old = np.array([u.log_shock for u in users], dtype=float)
    new = persistence * old + sd * z
    for u, value in zip(users, new.tolist(), strict=True):
        u.log_shock = value


def population_segments(users: list[UserPopulation], need_per_usecase: np.ndarray,
                        usecase_share: np.ndarray, budget_share: float, carve: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:meth:`UserPopulation.segments` of every nation at once: arrays (N, G, U, 2).

    The agents keep their state (shock, localisation, incomes); the arithmetic runs across
    all of them in one pass, operation for operation as :meth:`UserPopulation.segments`
    (so the same bits). ``carve`` is (N, U).

    Raises
    ------
    ValueError
        If the nations do not all have the same number of income groups, or ``carve`` is
        not (N, U).
    """
    carve = np.asarray(carve, dtype=float)
    if carve.shape != (len(users), need_per_usecase.shape[0]):
        raise ValueError(f"carve: expected shape {(len(users), need_per_usecase.shape[0])}, "
                         f"got {carve.shape}")
    loc = np.array([u.nation.localisation_share for u in users], dtype=float)
    shock = np.exp(np.array([u.log_shock for u in users], dtype=float))
    need_weight, supernumerary, population = _stacked(users)  # (N, G) each (same G checked)
    split = np.stack([1.0 - loc, loc], axis=1)  # (N, 2)
    keep = np.stack([1.0 - carve, np.ones_like(carve)], axis=2) * split[:, None, :]  # (N, U, 2)
    ref = (shock[:, None, None, None] * need_weight[:, :, None, None]
           * (need_per_usecase[None, :, None] * keep)[:, None, :, :])
    budget = (budget_share * supernumerary[:, :, None, None] / 12.0
              * population[:, :, None, None]
              * (usecase_share[None, :, None] * keep)[:, None, :, :])
    return ref, budget, _people(population, usecase_share, split)


def _bytes(values) -> bytes:
    return np.ascontiguousarray(values, dtype=float).tobytes()


#: the last (population stack, use-case shares, localisation split) and their segments' people
_LAST_PEOPLE: list = []


def _people(population: np.ndarray, usecase_share: np.ndarray, split: np.ndarray
            ) -> np.ndarray:
    """People per segment (N, G, U, 2), read-only; recomputed only when a nation's
    localisation (``split``) or the use-case shares change (most months neither does)."""
    if _LAST_PEOPLE:
        pop_src, share_src, split_src, pop = _LAST_PEOPLE
        if pop_src is population and share_src.tobytes() == _bytes(usecase_share) \
                and split_src.tobytes() == _bytes(split):  # bit for bit (signed zeros too)
            return pop
    pop = (population[:, :, None, None] * usecase_share[None, None, :, None]
           * split[:, None, None, :])
    if not population.flags.writeable:  # a cached stack: its people may be cached too
        pop.flags.writeable = False
        _LAST_PEOPLE[:] = [population, np.ascontiguousarray(usecase_share, dtype=float).copy(),
                           np.ascontiguousarray(split, dtype=float).copy(), pop]
    return pop
