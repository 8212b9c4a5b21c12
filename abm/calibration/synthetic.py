"""The synthetic world: random nations, providers and sites with the calibrated schema.

Used by :func:`abm.calibration.world` for ``synthetic=True`` (scaling runs and tests); every
source column says ``synthetic``. All draws come from the generator passed in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from abm.calibration.tables import EXPORT_TIERS, NATIONS

SYNTHETIC = "synthetic"
_TOTAL_POPULATION_M = 8000.0
_TOTAL_DC_TWH = 415.0
_SYNTHETIC_COMPUTE_SHARE = 0.69  # modelled owners' share of world compute, as calibrated
_SYNTHETIC_CLOUD_SHARE = 0.9
NATION_SOURCES = tuple(c for c in NATIONS.columns if c.startswith("source_"))

__all__ = ["SYNTHETIC", "names", "remap_homes", "synthetic_nations", "synthetic_providers"]


def names(prefix: str, n: int) -> list[str]:
    width = max(3, len(str(n)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, n + 1)]


def synthetic_nations(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Nations with real-world-like spreads of size, income, power and data centres."""
    # National populations are roughly lognormal across countries (log-sd ~1.6-1.9).
    pop = rng.lognormal(0.0, 1.7, n)
    pop = _TOTAL_POPULATION_M * pop / pop.sum()
    # GDP per capita: median ~6,000 USD, log-sd ~1.1 (World Bank 2024 cross-section).
    gdp = np.clip(rng.lognormal(np.log(6000.0), 1.1, n), 200.0, 200_000.0)
    gini = np.clip(rng.normal(0.38, 0.07, n), 0.24, 0.65)
    lat = np.degrees(np.arcsin(rng.uniform(-0.7, 0.9, n)))
    lon = rng.uniform(-180.0, 180.0, n)
    elec = np.clip(rng.lognormal(np.log(0.1), 0.35, n), 0.02, 0.5)
    # Data-centre electricity grows a little faster than the economy; scaled to the world total.
    dc = (pop * gdp) ** 1.1 * rng.lognormal(0.0, 0.5, n)
    dc = _TOTAL_DC_TWH * dc / dc.sum()
    headroom = np.round(45.0 * dc * rng.lognormal(0.0, 0.5, n) + 20.0)
    build = np.round(headroom * rng.lognormal(np.log(1.2), 0.3, n))
    tier = rng.choice(np.array(EXPORT_TIERS, dtype=np.int64), size=n, p=[0.4, 0.5, 0.1])
    loc_draw = rng.uniform(0.0, 0.2, n)
    loc_flag = rng.random(n) < 0.1
    loc_denied = rng.uniform(0.3, 0.9, n)
    loc = np.where(tier == 3, loc_denied, np.where(loc_flag, loc_draw, 0.0))
    df = pd.DataFrame({
        "nation": names("Synthetic ", n), "code": names("S", n),
        "population_m": pop, "gdp_pc_usd": gdp, "income_gini": gini, "lat": lat, "lon": lon,
        "electricity_usd_kwh": elec, "dc_twh_2024": dc, "grid_headroom_mw": headroom,
        "grid_build_mw_per_year": build, "export_tier": tier, "localisation_share": loc,
    })
    for col in NATION_SOURCES:
        df[col] = SYNTHETIC
    return df


def synthetic_providers(rng: np.random.Generator, nat: pd.DataFrame,
                         p: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Providers with Pareto-like shares, homes in large economies and 3-15 sites each.

    Homes are drawn in proportion to GDP. A provider homed in a tier-3 nation is a
    ``chinese_cloud`` (read: cloud of a denied-tier nation) and sits only at home; of the
    others, the largest tenth are hyperscalers and the rest neoclouds or sovereign clouds.
    Sites are the home plus random tier-1/2 nations (3-15 in all, fewer only if fewer exist).
    """
    n = len(nat)
    tier = nat["export_tier"].to_numpy()
    econ = (nat["population_m"] * nat["gdp_pc_usd"]).to_numpy()
    share = np.sort(rng.pareto(1.16, p) + 1.0)[::-1]  # 80/20 tail, largest first
    share = _SYNTHETIC_CLOUD_SHARE * share / share.sum()
    # Compute is less concentrated than revenue (Epoch AI owner data vs Synergy shares).
    compute = share ** 0.8
    compute = _SYNTHETIC_COMPUTE_SHARE * compute / compute.sum()
    home = rng.choice(n, size=p, p=econ / econ.sum())
    home_tier = tier[home]
    rank = np.arange(p)
    n_hyper = max(1, round(0.1 * p))
    coin = rng.random((p, 3))
    kind = np.where(home_tier == 3, "chinese_cloud",
                    np.where(rank < n_hyper, "hyperscaler",
                             np.where(coin[:, 0] < 0.5, "neocloud", "sovereign")))
    lab_p = np.select([kind == "hyperscaler", kind == "chinese_cloud"], [0.75, 0.5], 0.05)
    silicon_p = np.select([kind == "hyperscaler", kind == "chinese_cloud"], [0.6, 0.3], 0.05)
    frontier_lab = coin[:, 1] < lab_p
    custom_silicon = coin[:, 2] < silicon_p
    lag = np.where(frontier_lab & (home_tier == 1), 0.0, 6.0)
    provider_names = names("Synthetic Provider ", p)
    prov = pd.DataFrame({
        "provider": provider_names, "kind": kind, "home": nat["nation"].to_numpy()[home],
        "cloud_share": share, "compute_share": compute, "frontier_lab": frontier_lab,
        "custom_silicon": custom_silicon,
        "frontier_lag_months": lag, "source": SYNTHETIC,
    })

    # Sites: the home plus random tier-1/2 nations, drawn in proportion to sqrt(data centres).
    eligible = np.flatnonzero(tier != 3)
    k_sites = rng.integers(3, 16, p)
    max_sites = 16
    draws = rng.random((p, 4 * max_sites))
    weights = rng.gamma(1.0, 1.0, (p, max_sites))
    site_prov: list[np.ndarray] = []
    site_nat: list[np.ndarray] = []
    site_share: list[np.ndarray] = []
    if eligible.size:
        w = np.sqrt(nat["dc_twh_2024"].to_numpy()[eligible])
        cdf = np.cumsum(w)
        cdf /= cdf[-1]
        cand_all = eligible[np.minimum(np.searchsorted(cdf, draws, side="right"),
                                       eligible.size - 1)]
    for i in range(p):
        if home_tier[i] == 3:
            chosen = np.array([home[i]])
        else:
            k = min(int(k_sites[i]), eligible.size)
            seq = np.concatenate(([home[i]], cand_all[i]))
            _, first = np.unique(seq, return_index=True)
            chosen = seq[np.sort(first)][:k]
            if chosen.size < k:  # few eligible nations: top up uniformly
                rest = np.setdiff1d(eligible, chosen)
                chosen = np.concatenate((chosen, rng.choice(rest, k - chosen.size,
                                                            replace=False)))
        wt = weights[i, :chosen.size].copy()
        wt[0] *= 3.0  # most capacity at home
        site_prov.append(np.full(chosen.size, i))
        site_nat.append(chosen)
        site_share.append(wt / wt.sum())
    sp = np.concatenate(site_prov)
    sites = pd.DataFrame({
        "provider": np.asarray(provider_names, dtype=object)[sp],
        "nation": nat["nation"].to_numpy()[np.concatenate(site_nat)],
        "capacity_share": np.concatenate(site_share),
        "source": SYNTHETIC,
    })
    return prov, sites


def remap_homes(homes: pd.Series, nat: pd.DataFrame, real_tier: pd.Series) -> np.ndarray:
    """Map real home nations to synthetic ones of the same export tier, largest economy first.

    The k-th distinct real home of tier t (``real_tier``: tier by real nation) becomes the
    k-th largest synthetic economy of tier t (any tier if there is none).
    """
    econ = (nat["population_m"] * nat["gdp_pc_usd"]).to_numpy()
    order = np.argsort(-econ, kind="stable")
    nation_names = nat["nation"].to_numpy()
    tiers = nat["export_tier"].to_numpy()[order]
    used: dict[int, int] = {}
    mapping: dict[str, str] = {}
    for home in dict.fromkeys(homes):
        t = int(real_tier.get(home, 2))
        cands = order[tiers == t]
        if cands.size == 0:
            cands = order
        k = used.get(t, 0)
        used[t] = k + 1
        mapping[home] = nation_names[cands[k % cands.size]]
    return homes.map(mapping).to_numpy()
