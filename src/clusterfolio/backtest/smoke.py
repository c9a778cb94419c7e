"""A smoke optimisation of every profile of a resolved manifest (``clusterfolio config check``).

Each profile of ``risk.profiles`` is solved once on a small seeded factor-model market (24 assets
in 6 clusters of uneven size, one SHORT candidate, two years of sessions, ``AMEX:SPY`` included),
with the manifest's caps, penalties, barbell settings, solver chain and, when
``feat_turnover_penalty`` is on, the cost model's turnover cost against a skewed previous book.
A profile that cannot solve (an infeasible configuration, a solver that fails) is reported
before a run instead of during one.

It sits in :mod:`clusterfolio.backtest`, not :mod:`clusterfolio.optimize`, because it prices the
turnover with :class:`~clusterfolio.backtest.costs.CostModel` and ``optimize`` is the lower layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clusterfolio.enums import Direction, ProfileName, Regime
from clusterfolio.errors import ClusterfolioError
from clusterfolio.manifest import Settings

SMOKE_ASSETS = 24
SMOKE_SESSIONS = 504
SMOKE_CLUSTER_SIZES = (7, 5, 4, 4, 2, 2)


@dataclass(frozen=True)
class SmokeOutcome:
    """The verdict of one profile: ``ok`` and a one-line detail."""

    profile: ProfileName
    ok: bool
    detail: str


def _smoke_market(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    factors = rng.normal(scale=0.01, size=(SMOKE_SESSIONS, 3))
    loadings = rng.normal(scale=0.6, size=(3, SMOKE_ASSETS))
    idio = rng.normal(size=(SMOKE_SESSIONS, SMOKE_ASSETS)) * rng.uniform(
        0.004, 0.03, size=SMOKE_ASSETS
    )
    values = factors @ loadings + idio + rng.normal(0.0003, 0.0004, size=SMOKE_ASSETS)
    symbols = [f"NASDAQ:S{i:02d}" for i in range(SMOKE_ASSETS - 1)] + ["AMEX:SPY"]
    index = pd.bdate_range("2020-01-06", periods=SMOKE_SESSIONS)
    return pd.DataFrame(values, index=index, columns=symbols)


def smoke_optimize(settings: Settings, *, seed: int = 7) -> list[SmokeOutcome]:
    """Solve every profile of ``settings.risk.profiles`` once on the smoke market.

    Parameters
    ----------
    settings : Settings
        Resolved settings (``risk``, ``features``, ``backtest``).
    seed : int, default 7
        Seed of the smoke market.

    Returns
    -------
    list of SmokeOutcome
        One per profile, in the manifest's order.
    """
    from clusterfolio.backtest.costs import CostModel
    from clusterfolio.optimize.problem import OptimizationProblem
    from clusterfolio.optimize.profiles import optimize_profile

    returns = _smoke_market(seed)
    symbols = list(returns.columns)
    labels = np.repeat(np.arange(len(SMOKE_CLUSTER_SIZES)), SMOKE_CLUSTER_SIZES)
    directions = {s: Direction.LONG for s in symbols}
    directions[symbols[0]] = Direction.SHORT
    ramp = np.arange(1, len(symbols) + 1, dtype=np.float64)
    turnover_on = settings.features.feat_turnover_penalty
    problem = OptimizationProblem.from_settings(
        settings.risk,
        returns=returns.mul([d.sign for d in directions.values()], axis=1),
        clusters={s: int(c) for s, c in zip(symbols, labels, strict=True)},
        directions=directions,
        execution_scores={s: float(v) for s, v in zip(symbols, ramp / ramp.sum(), strict=True)},
        fragility={str(c): 0.1 * (c % 3) for c in range(len(SMOKE_CLUSTER_SIZES))},
        antifragility={s: float(v) for s, v in zip(symbols, np.sin(ramp), strict=True)},
        regime=Regime.NORMAL,
        previous_weights=dict(zip(symbols, ramp[::-1] / ramp.sum(), strict=True)),
        turnover_cost=CostModel.from_settings(settings.backtest).per_unit if turnover_on else None,
        market_symbol="AMEX:SPY",
    )
    outcomes = []
    for profile in settings.risk.profiles:
        try:
            result = optimize_profile(problem, profile)
        except ClusterfolioError as exc:
            outcomes.append(SmokeOutcome(profile, False, f"{type(exc).__name__}: {exc}"))
            continue
        kinds = sorted(set(result.fallback_kinds))
        detail = f"solver {result.solver}" + (f", fallbacks {kinds}" if kinds else "")
        outcomes.append(SmokeOutcome(profile, True, detail))
    return outcomes
