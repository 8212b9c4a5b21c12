"""Mesa agents of the compute economy. Decision-makers are agents; populations are arrays."""

from abm.agents.hyperscaler import TIER_NAMES, Hyperscaler
from abm.agents.nation import Nation
from abm.agents.open_source_lab import OpenSourceLab
from abm.agents.startup import Startup
from abm.agents.user_population import UserPopulation

__all__ = ["TIER_NAMES", "Hyperscaler", "Nation", "OpenSourceLab", "Startup",
           "UserPopulation"]
