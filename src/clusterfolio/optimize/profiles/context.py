"""The shared context of the profile optimisers: estimates, caps and the reduction to clusters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clusterfolio.artifacts.fallbacks import Fallback
from clusterfolio.optimize.calendar_risk import (
    assign_calendars,
    calendar_covariance,
    calendar_expected_returns,
)
from clusterfolio.optimize.caps import (
    CapRelaxation,
    relax_caps,
    waterfill,
)
from clusterfolio.optimize.estimators import (
    CovarianceEstimate,
    correlation_from_covariance,
)
from clusterfolio.optimize.hybrid import hybrid_weights
from clusterfolio.optimize.problem import AllocationLevel, OptimizationProblem
from clusterfolio.optimize.solvers import (
    LinearCaps,
)

POST_SOLVE_TOL = 1e-6
"""A post-solve projection moving more than this (L1) is recorded as a fallback; below it is
solver rounding, kept in the diagnostics only."""


@dataclass(frozen=True, eq=False)
class _Context:
    problem: OptimizationProblem
    symbols: list[str]
    estimate: CovarianceEstimate
    cov: np.ndarray
    corr: np.ndarray
    mu: np.ndarray
    groups: np.ndarray
    cluster_ids: list[int]
    fragility: np.ndarray
    scores: np.ndarray
    missing: dict[str, list[str]]

    @property
    def n(self) -> int:
        return len(self.symbols)

    @property
    def n_clusters(self) -> int:
        return len(self.cluster_ids)

    def sizes(self, members: np.ndarray | None = None) -> np.ndarray:
        groups = self.groups if members is None else self.groups[members]
        return np.bincount(groups, minlength=self.n_clusters).astype(np.float64)


def _context(problem: OptimizationProblem) -> _Context:
    symbols = problem.symbols
    returns = problem.returns.loc[:, symbols]
    assignment = assign_calendars(returns, problem.calendars)
    estimate = calendar_covariance(returns, assignment)
    cov = estimate.matrix.to_numpy(copy=True)
    mu = calendar_expected_returns(returns, assignment).to_numpy()
    cluster_of = [problem.clusters[s] for s in symbols]
    cluster_ids = sorted(set(cluster_of))
    index = {c: i for i, c in enumerate(cluster_ids)}
    groups = np.array([index[c] for c in cluster_of], dtype=np.intp)
    fragility = np.zeros(len(symbols))
    missing: dict[str, list[str]] = {"fragility": [], "execution_scores": [], "antifragility": []}
    for i, (s, c) in enumerate(zip(symbols, cluster_of, strict=True)):
        if s in problem.fragility:
            fragility[i] = problem.fragility[s]
        elif str(c) in problem.fragility:
            fragility[i] = problem.fragility[str(c)]
        else:
            missing["fragility"].append(s)
    scores = np.array([problem.execution_scores.get(s, 0.0) for s in symbols])
    missing["execution_scores"] = [s for s in symbols if s not in problem.execution_scores]
    missing["antifragility"] = [s for s in symbols if s not in problem.antifragility]
    return _Context(
        problem=problem,
        symbols=symbols,
        estimate=estimate,
        cov=cov,
        corr=correlation_from_covariance(cov),
        mu=mu,
        groups=groups,
        cluster_ids=cluster_ids,
        fragility=fragility,
        scores=scores,
        missing=missing,
    )


@dataclass
class _Allocation:
    """What a profile function hands to :func:`_finalise`."""

    weights: np.ndarray
    solver: str
    level: AllocationLevel
    asset_cap: float
    cluster_cap: float
    apply_caps: bool = True
    projection_is_fallback: bool = True
    uses_covariance: bool = True
    fallbacks: list[Fallback] = field(default_factory=list)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def inside_caps(
        cls,
        caps: CapRelaxation,
        weights: np.ndarray,
        solver: str,
        level: AllocationLevel,
        diagnostics: dict[str, Any],
        *,
        uses_covariance: bool = True,
    ) -> _Allocation:
        """An allocation whose method holds the (relaxed) ``caps`` itself: a projection is not a
        fallback, and the caps' relaxation records are its fallbacks."""
        return cls(
            weights,
            solver,
            level,
            caps.asset_cap,
            caps.cluster_cap,
            projection_is_fallback=False,
            uses_covariance=uses_covariance,
            fallbacks=list(caps.records),
            diagnostics=diagnostics,
        )


@dataclass(frozen=True)
class _Reduction:
    """A cluster-level reduction: within-cluster weights and the clusters' moments."""

    expand: np.ndarray  # n x K, asset weights = expand @ w_K
    within: np.ndarray  # v, per asset
    cov: np.ndarray
    mu: np.ndarray
    upper: np.ndarray  # per cluster bound min(C, a / max v)
    asset_cap: float
    cluster_cap: float
    records: list[Fallback]
    equal_momentum_clusters: list[int]
    hybrid_capped_clusters: list[int]


def _asset_caps(ctx: _Context, what: str) -> CapRelaxation:
    """The problem's caps for an asset-level allocation, relaxed where infeasible (recorded)."""
    p = ctx.problem
    return relax_caps(p.asset_cap, p.cluster_cap, ctx.sizes(), what=what)


def _linear_caps(ctx: _Context, asset_cap: float, cluster_cap: float) -> LinearCaps:
    sizes = ctx.sizes()
    upper = np.full(ctx.n, min(asset_cap, cluster_cap))
    multi = np.flatnonzero(sizes > 1)
    matrix = np.zeros((multi.size, ctx.n))
    for row, g in enumerate(multi):
        matrix[row, ctx.groups == g] = 1.0
    return LinearCaps(upper=upper, groups=matrix, group_caps=np.full(multi.size, cluster_cap))


def _reduce(ctx: _Context, what: str) -> _Reduction:
    p = ctx.problem
    hybrid = hybrid_weights(
        np.diag(ctx.cov),
        ctx.scores,
        ctx.groups,
        p.within_cluster_momentum_weight,
        group_labels=ctx.cluster_ids,
    )
    relaxed = relax_caps(p.asset_cap, p.cluster_cap, ctx.sizes(), what=what)
    a, c = relaxed.asset_cap, relaxed.cluster_cap
    # cap the hybrid at a / C (or 1 / n_c when a cluster cannot reach C) so that a cluster can
    # take as much weight as at the asset level without any asset breaching the asset cap
    v = hybrid.weights.copy()
    sizes = ctx.sizes()
    capped: list[int] = []
    for g in range(ctx.n_clusters):
        members = np.flatnonzero(ctx.groups == g)
        limit = max(a / c, 1.0 / sizes[g])
        if v[members].max() > limit + 1e-15:
            v[members] = waterfill(1.0, v[members], np.full(members.size, limit))
            capped.append(int(ctx.cluster_ids[g]))
    expand = np.zeros((ctx.n, ctx.n_clusters))
    expand[np.arange(ctx.n), ctx.groups] = v
    vmax = np.zeros(ctx.n_clusters)
    np.maximum.at(vmax, ctx.groups, v)
    upper = np.minimum(c, a / vmax)
    return _Reduction(
        expand=expand,
        within=v,
        cov=expand.T @ ctx.cov @ expand,
        mu=expand.T @ ctx.mu,
        upper=upper,
        asset_cap=a,
        cluster_cap=c,
        records=relaxed.records,
        equal_momentum_clusters=hybrid.equal_momentum_clusters,
        hybrid_capped_clusters=capped,
    )


def _reduction_diagnostics(ctx: _Context, red: _Reduction) -> dict[str, Any]:
    return {
        "hybrid": (
            f"(1 - m) * inverse variance + m * positive execution score share, "
            f"m = {ctx.problem.within_cluster_momentum_weight}"
        ),
        "weights": {s: float(v) for s, v in zip(ctx.symbols, red.within, strict=True)},
        "cluster_upper_bounds": {
            str(c): float(u) for c, u in zip(ctx.cluster_ids, red.upper, strict=True)
        },
        "equal_momentum_clusters": red.equal_momentum_clusters,
        "hybrid_capped_clusters": red.hybrid_capped_clusters,
        "hybrid_cap": "max(asset_cap / cluster_cap, 1 / cluster size), by water-filling",
    }


@dataclass(frozen=True)
class _Space:
    """What a convex profile optimises over: assets, or cluster sub-portfolios (``expand`` maps
    the solution back to assets)."""

    cov: np.ndarray
    mu: np.ndarray
    expand: np.ndarray
    caps: LinearCaps
    asset_cap: float
    cluster_cap: float
    records: list[Fallback]
    within_cluster: dict[str, Any] | None

    def allocation(
        self,
        x: np.ndarray,
        solver: str,
        level: AllocationLevel,
        fallbacks: list[Fallback],
        diagnostics: dict[str, Any],
    ) -> _Allocation:
        """The allocation of a solution ``x`` in this space (mapped back to assets)."""
        caps = (self.asset_cap, self.cluster_cap)
        return _Allocation(
            self.expand @ x,
            solver,
            level,
            *caps,
            projection_is_fallback=False,
            fallbacks=fallbacks,
            diagnostics=diagnostics,
        )


def _space(ctx: _Context, level: AllocationLevel, what: str) -> _Space:
    """The space of ``what`` at ``level``, with its caps and their relaxation records."""
    if level is AllocationLevel.CLUSTER:
        red = _reduce(ctx, what)
        caps = LinearCaps(
            upper=red.upper, groups=np.zeros((0, ctx.n_clusters)), group_caps=np.zeros(0)
        )
        return _Space(
            red.cov,
            red.mu,
            red.expand,
            caps,
            red.asset_cap,
            red.cluster_cap,
            list(red.records),
            _reduction_diagnostics(ctx, red),
        )
    relaxed = _asset_caps(ctx, what)
    a, c = relaxed.asset_cap, relaxed.cluster_cap
    caps = _linear_caps(ctx, a, c)
    return _Space(ctx.cov, ctx.mu, np.eye(ctx.n), caps, a, c, list(relaxed.records), None)
