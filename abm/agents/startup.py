"""Startups: route tasks across tiers, self-host open weights when volume pays, enter and exit
(mechanisms 10 and 14)."""

from __future__ import annotations

import mesa


class Startup(mesa.Agent):
    """An application company buying tokens for one use-case in one nation.

    Its demand is a share of that nation's use-case demand. Its router picks offers with a
    high choice sensitivity (it sends each task to the cheapest tier that meets the quality
    threshold); once its volume exceeds ``self_host_tokens`` and an open-weight model meets
    its threshold, it self-hosts (buys only open-weight capacity, near cost). It sells at
    ``value_multiple`` times the price users pay for raw tokens and exits after
    ``exit_after_months`` consecutive months of losses.
    """

    def __init__(self, model: mesa.Model, nation: int, usecase: int) -> None:
        super().__init__(model)
        self.nation = nation
        self.usecase = usecase
        self.cash = 0.0
        self.loss_streak = 0
        self.self_hosting = False
        self.tokens = 0.0
        self.spend = 0.0
        self.revenue = 0.0
        self.profit = 0.0
        self.age = 0

    def settle(self, tokens: float, spend: float, user_price: float, cfg) -> None:
        """Book a month: ``tokens`` bought (M), ``spend`` ($), users' price ($/M tokens)."""
        self.tokens, self.spend = tokens, spend
        self.revenue = tokens * cfg.value_multiple * user_price
        self.profit = self.revenue - spend - cfg.fixed_cost_usd
        self.cash += self.profit
        self.loss_streak = self.loss_streak + 1 if self.profit < 0 else 0
        self.age += 1

    def decide(self, open_quality: float, threshold: float, cfg) -> bool:
        """Decide on self-hosting; return True when it exits after sustained losses."""
        self.self_hosting = bool(open_quality >= threshold and self.tokens > cfg.self_host_tokens)
        return self.loss_streak >= cfg.exit_after_months
