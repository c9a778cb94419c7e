"""The optimisation problem: inputs of every profile, validated once.

A problem describes one decision date: the synthetic-long returns (SHORT candidates already
negated once by the caller), the cluster of each symbol, the candidates' directions and the
signals the profiles use. Build it directly or from the manifest's ``risk`` settings with
:meth:`OptimizationProblem.from_settings`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

import numpy as np
import pandas as pd

from clusterfolio.enums import CalendarKind, Direction, ProfileName, Regime
from clusterfolio.errors import ConfigError, DataError
from clusterfolio.manifest import RiskSettings
from clusterfolio.optimize.hrp import LINKAGE_METHODS
from clusterfolio.optimize.solvers import DEFAULT_SOLVERS

MARKET_SYMBOL = "AMEX:SPY"
"""The market baseline (100% long, never direction-flipped)."""

AGGRESSOR_SHARE_BAND = (0.0, 0.5)
"""Accepted barbell aggressor share (inclusive): beyond one half the "core" is no longer the core.
The manifest's regime table (QUIET 15%, NORMAL 10%, TURBULENT 7%, CRISIS 5%) lies inside."""


class AllocationLevel(StrEnum):
    """Where a profile allocates.

    ``CLUSTER``: two stages. Inside each cluster the weights are fixed by the hybrid of inverse
    variance and execution score (see :mod:`clusterfolio.optimize.hybrid`); the profile then
    allocates across the clusters' sub-portfolios (covariance ``V'ΣV``, means ``V'μ``) and each
    cluster's weight is spread by its hybrid weights.
    ``ASSET``: the profile allocates across assets directly (its textbook definition).
    """

    ASSET = "asset"
    CLUSTER = "cluster"


DEFAULT_ALLOCATION_LEVELS: Mapping[ProfileName, AllocationLevel] = MappingProxyType(
    {
        ProfileName.MIN_VARIANCE: AllocationLevel.CLUSTER,
        ProfileName.RISK_PARITY: AllocationLevel.CLUSTER,
        ProfileName.MAX_SHARPE: AllocationLevel.CLUSTER,
        ProfileName.HRP: AllocationLevel.ASSET,
        ProfileName.BARBELL: AllocationLevel.ASSET,
        ProfileName.EQUAL_WEIGHT: AllocationLevel.ASSET,
        ProfileName.MARKET: AllocationLevel.ASSET,
    }
)
"""Default level of each profile. ``hrp`` (López de Prado's tree over assets), ``barbell``
(single-asset aggressors around an hrp core), ``equal_weight`` (1/N) and ``market`` are
asset-level by definition and cannot be switched; ``min_variance``, ``risk_parity`` and
``max_sharpe`` are cluster-aware by default and can be set to ``ASSET`` (their textbook
definition, the one the peer libraries implement)."""

SWITCHABLE_PROFILES = frozenset(
    {ProfileName.MIN_VARIANCE, ProfileName.RISK_PARITY, ProfileName.MAX_SHARPE}
)


def _frozen(mapping: Mapping[str, float] | None) -> Mapping[str, float]:
    return MappingProxyType(
        {} if mapping is None else {str(k): float(v) for k, v in mapping.items()}
    )


@dataclass(frozen=True, eq=False)
class OptimizationProblem:
    """Inputs of the custom engine for one decision date.

    Parameters
    ----------
    returns : pandas.DataFrame
        Synthetic-long simple returns (rows sessions, columns symbols; SHORT candidates already
        negated once by the caller; NaN where a market was closed).
    clusters : Mapping[str, int]
        Cluster id of every symbol.
    directions : Mapping[str, Direction]
        Direction of every symbol (net weight = sign x gross weight).
    execution_scores : Mapping[str, float]
        Momentum / execution score per symbol (higher is better; the hybrid uses its positive
        part). Missing symbols score 0 (recorded).
    fragility : Mapping[str, float]
        Fragility in [0, 1] keyed by symbol or by ``str(cluster id)``; a symbol's own value wins.
        Missing: 0 (recorded).
    antifragility : Mapping[str, float]
        Convexity score per symbol (higher is better); the barbell picks aggressors by it.
    regime : Regime
        Market regime (recorded; the caller derives ``aggressor_share`` from it).
    cluster_cap : float, default 0.25
        Maximum gross weight of a cluster.
    asset_cap : float, default 0.15
        Maximum gross weight of an asset.
    fragility_penalty : float, default 0.5
        Weight ``λ`` of the fragility term of ``min_variance``.
    risk_free_rate : float, default 0.0
        Annual risk-free rate (``max_sharpe``, diagnostics).
    aggressor_share : float, default 0.10
        Barbell aggressor share, within :data:`AGGRESSOR_SHARE_BAND`.
    n_aggressors : int, default 3
        Number of barbell aggressors.
    within_cluster_momentum_weight : float, default 0.3
        Blend ``m`` of the within-cluster hybrid: ``(1 - m) * inverse variance + m * score``.
    previous_weights : Mapping[str, float], optional
        The book currently held in the synthetic-long frame: ``sign x net weight`` with today's
        direction (:func:`~clusterfolio.optimize.turnover.previous_in_long_frame`), so a
        position held in the opposite direction is negative and a flip trades twice its weight.
        Plain gross weights (all nonnegative) are accepted as they are.
    turnover_cost : float, optional
        Cost per unit of weight traded from the cost model (slippage + commission). With
        ``previous_weights``, every profile but ``market`` trades off against the turnover
        cost (:mod:`clusterfolio.optimize.turnover`).
    linkage_method : str, default "ward"
        scipy linkage method of ``hrp`` (``single`` for the original paper).
    optimal_leaf_ordering : bool, default False
        ``hrp`` with scipy's optimal leaf ordering (skfolio's default seriation) instead of the
        plain dendrogram order. Not a manifest setting yet.
    turnover_horizon : int, default 20
        Sessions over which a trade's one-off cost is amortised in the turnover penalty (the
        walk-forward step). Not a manifest setting yet.
    allocation_levels : Mapping[ProfileName, AllocationLevel], optional
        Overrides of :data:`DEFAULT_ALLOCATION_LEVELS` (only the switchable profiles).
    market_symbol : str, default "AMEX:SPY"
        The market baseline symbol.
    solvers : tuple of str, default ("CLARABEL", "SCS", "OSQP")
        Solver chain.
    calendars : Mapping[str, CalendarKind], optional
        Trading calendar of a symbol, overriding the one of its exchange prefix (moments are
        annualised per calendar: :mod:`clusterfolio.optimize.calendar_risk`).

    Raises
    ------
    DataError
        Malformed returns, or a symbol without a cluster or a direction.
    ConfigError
        A parameter outside its domain (the message names it).
    """

    returns: pd.DataFrame
    clusters: Mapping[str, int]
    directions: Mapping[str, Direction]
    execution_scores: Mapping[str, float]
    fragility: Mapping[str, float]
    antifragility: Mapping[str, float]
    regime: Regime
    cluster_cap: float = 0.25
    asset_cap: float = 0.15
    fragility_penalty: float = 0.5
    risk_free_rate: float = 0.0
    aggressor_share: float = 0.10
    n_aggressors: int = 3
    within_cluster_momentum_weight: float = 0.3
    previous_weights: Mapping[str, float] | None = None
    turnover_cost: float | None = None
    linkage_method: str = "ward"
    optimal_leaf_ordering: bool = False
    turnover_horizon: int = 20
    allocation_levels: Mapping[ProfileName, AllocationLevel] = field(default_factory=dict)
    market_symbol: str = MARKET_SYMBOL
    solvers: tuple[str, ...] = DEFAULT_SOLVERS
    calendars: Mapping[str, CalendarKind] | None = None

    def __post_init__(self) -> None:
        self._validate_returns()
        set_ = object.__setattr__
        symbols = [str(c) for c in self.returns.columns]
        missing_cluster = [s for s in symbols if s not in self.clusters]
        if missing_cluster:
            raise DataError(f"no cluster for {missing_cluster}")
        missing_direction = [s for s in symbols if s not in self.directions]
        if missing_direction:
            raise DataError(f"no direction for {missing_direction}")
        set_(self, "clusters", MappingProxyType({str(k): int(v) for k, v in self.clusters.items()}))
        set_(
            self,
            "directions",
            MappingProxyType({str(k): Direction(v) for k, v in self.directions.items()}),
        )
        set_(self, "execution_scores", _frozen(self.execution_scores))
        set_(self, "fragility", _frozen(self.fragility))
        set_(self, "antifragility", _frozen(self.antifragility))
        if self.previous_weights is not None:
            set_(self, "previous_weights", _frozen(self.previous_weights))
        set_(self, "regime", Regime(self.regime))
        set_(self, "solvers", tuple(self.solvers))
        self._validate_parameters()
        levels = dict(DEFAULT_ALLOCATION_LEVELS)
        for profile, level in dict(self.allocation_levels).items():
            profile, level = ProfileName(profile), AllocationLevel(level)
            if profile not in SWITCHABLE_PROFILES and level != levels[profile]:
                raise ConfigError(
                    f"allocation_levels: {profile.value} is {levels[profile].value}-level by "
                    f"definition; switchable: {sorted(p.value for p in SWITCHABLE_PROFILES)}"
                )
            levels[profile] = level
        set_(self, "allocation_levels", MappingProxyType(levels))

    def _validate_returns(self) -> None:
        frame = self.returns
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"returns must be a pandas DataFrame, got {type(frame).__name__}")
        if frame.shape[0] < 2 or frame.shape[1] < 1:
            raise DataError(f"returns needs at least 2 sessions and 1 symbol, got {frame.shape}")
        if not frame.columns.is_unique:
            dup = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
            raise DataError(f"duplicated symbols in returns: {dup}")
        values = frame.to_numpy(dtype=np.float64)
        if np.isinf(values).any():
            raise DataError("returns hold infinite values")
        empty = [
            str(c) for c, col in zip(frame.columns, values.T, strict=True) if np.isnan(col).all()
        ]
        if empty:
            raise DataError(f"no return observed for {empty}")

    def _validate_parameters(self) -> None:
        def check(name: str, ok: bool, domain: str) -> None:
            if not ok:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be {domain}")

        def finite(x: float) -> bool:
            return isinstance(x, int | float) and math.isfinite(x)

        check("cluster_cap", finite(self.cluster_cap) and 0 < self.cluster_cap <= 1, "in (0, 1]")
        check("asset_cap", finite(self.asset_cap) and 0 < self.asset_cap <= 1, "in (0, 1]")
        check(
            "fragility_penalty",
            finite(self.fragility_penalty) and self.fragility_penalty >= 0,
            ">= 0",
        )
        check("risk_free_rate", finite(self.risk_free_rate), "finite")
        low, high = AGGRESSOR_SHARE_BAND
        check(
            "aggressor_share",
            finite(self.aggressor_share) and low <= self.aggressor_share <= high,
            f"in [{low}, {high}]",
        )
        check("n_aggressors", isinstance(self.n_aggressors, int) and self.n_aggressors >= 0, ">= 0")
        m = self.within_cluster_momentum_weight
        check("within_cluster_momentum_weight", finite(m) and 0 <= m <= 1, "in [0, 1]")
        if self.turnover_cost is not None:
            check("turnover_cost", finite(self.turnover_cost) and self.turnover_cost >= 0, ">= 0")
        check(
            "turnover_horizon",
            isinstance(self.turnover_horizon, int) and self.turnover_horizon >= 1,
            ">= 1",
        )
        check(
            "linkage_method",
            self.linkage_method in LINKAGE_METHODS,
            f"one of {list(LINKAGE_METHODS)}",
        )
        check("solvers", len(self.solvers) > 0, "a non-empty tuple")
        for name, mapping in (
            ("execution_scores", self.execution_scores),
            ("antifragility", self.antifragility),
        ):
            bad = sorted(k for k, v in mapping.items() if not math.isfinite(v))
            if bad:
                raise ConfigError(f"{name} not finite for {bad}")
        bad_fragility = sorted(k for k, v in self.fragility.items() if not 0.0 <= v <= 1.0)
        if bad_fragility:
            raise ConfigError(f"fragility outside [0, 1] for {bad_fragility}")
        if self.previous_weights is not None:
            bad = sorted(k for k, v in self.previous_weights.items() if not math.isfinite(v))
            if bad:
                raise ConfigError(f"previous_weights must be finite: {bad}")

    @property
    def symbols(self) -> list[str]:
        """The universe, sorted."""
        return sorted(str(c) for c in self.returns.columns)

    def level(self, profile: ProfileName) -> AllocationLevel:
        """The allocation level of ``profile``."""
        return self.allocation_levels[ProfileName(profile)]

    @classmethod
    def from_settings(
        cls,
        risk: RiskSettings,
        *,
        returns: pd.DataFrame,
        clusters: Mapping[str, int],
        directions: Mapping[str, Direction],
        execution_scores: Mapping[str, float],
        fragility: Mapping[str, float],
        antifragility: Mapping[str, float],
        regime: Regime,
        previous_weights: Mapping[str, float] | None = None,
        turnover_cost: float | None = None,
        **extra: object,
    ) -> OptimizationProblem:
        """Build a problem from the manifest's ``risk`` settings.

        The aggressor share is read from ``risk.barbell_aggressor_share[regime]``. Pass
        ``turnover_cost`` (slippage + commission) only when the turnover penalty feature is on.
        ``extra`` holds the keyword-only settings that are not in the manifest yet
        (``optimal_leaf_ordering``, ``turnover_horizon``, ``allocation_levels``, ``solvers``,
        ``market_symbol``).
        """
        regime = Regime(regime)
        if regime not in risk.barbell_aggressor_share:
            raise ConfigError(
                f"risk.barbell_aggressor_share has no entry for regime {regime.value}"
            )
        return cls(
            returns=returns,
            clusters=clusters,
            directions=directions,
            execution_scores=execution_scores,
            fragility=fragility,
            antifragility=antifragility,
            regime=regime,
            cluster_cap=risk.cluster_cap,
            asset_cap=risk.asset_cap,
            fragility_penalty=risk.fragility_penalty,
            risk_free_rate=risk.risk_free_rate,
            aggressor_share=risk.barbell_aggressor_share[regime],
            n_aggressors=risk.barbell_aggressors,
            within_cluster_momentum_weight=risk.within_cluster_momentum_weight,
            previous_weights=previous_weights,
            turnover_cost=turnover_cost,
            **extra,  # type: ignore[arg-type]
        )
