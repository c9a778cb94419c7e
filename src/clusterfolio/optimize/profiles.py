"""The custom engine's risk profiles.

Every profile returns gross, long-only weights summing to one over the whole universe (zeros
included), respecting the per-asset cap ``a`` and the per-cluster cap ``C`` (after the recorded
relaxation of :mod:`clusterfolio.optimize.caps` when they are infeasible), except ``market``.

Allocation level (see :class:`~clusterfolio.optimize.problem.AllocationLevel`)
-----------------------------------------------------------------------------
* Cluster-level by default: ``min_variance``, ``risk_parity``, ``max_sharpe``. Inside each cluster
  the weights ``v`` are the hybrid of inverse variance and execution score
  (:mod:`clusterfolio.optimize.hybrid`); the profile allocates ``w_K`` across the clusters'
  sub-portfolios (covariance ``V'ΣV``, means ``V'μ``) and asset weights are ``V w_K``. The asset
  cap becomes the cluster bound ``w_c <= a / max(v_c)``; so that this bound is never tighter than
  the cluster's asset-level capacity ``min(C, n_c a)``, ``v`` is capped inside each cluster at
  ``max(a / C, 1 / n_c)`` by water-filling (recorded in ``diagnostics["within_cluster"]``). The
  cap feasibility (and any relaxation) is therefore the same at both levels. Each of the three
  can be switched to ``ASSET``.
* Asset-level by definition: ``hrp``, ``barbell``, ``equal_weight``, ``market``.

With singleton clusters both levels coincide.

Profiles
--------
``min_variance``
    ``min w'Σw / v̄ + λ Σ_i f_i w_i + τ ||w - w_prev||₁`` under the caps, solved by the chain
    ``CLARABEL -> SCS -> OSQP``. ``v̄ = trace(Σ) / n`` (average asset variance) makes the
    fragility weight ``λ`` (``fragility_penalty``) unit-free: a fully fragile cluster (``f = 1``)
    costs ``λ`` average asset variances per unit of weight, which diverts weight from fragile
    clusters. At the cluster level the term is ``Σ_c (V'f)_c w_c`` (the same penalty in asset
    terms). The turnover term is present when ``turnover_cost`` and ``previous_weights`` are
    given: ``τ = turnover_cost * (252 / turnover_horizon) / v̄``, i.e. in raw units the
    objective is ``w'Σw + (annualised cost drag of the trade amortised over the horizon)``, a
    mean-variance utility with risk aversion 2. Whether the penalty moved the solution is
    measured (a second solve without it) and recorded under ``diagnostics["turnover"]``.
``max_sharpe``
    The homogenised convex program ``min y'Σy`` s.t. ``(μ - rf)'y = 1``, ``y >= 0``, caps times
    ``κ = 1'y``; ``w = y / κ``. No fragility or turnover term (either would change what is
    maximised). When no asset (cluster sub-portfolio) has a positive excess return, or no capped
    portfolio has one, minimum variance under the same caps is returned instead (fallback
    ``no_positive_excess_return``).
``risk_parity``
    Equal risk contributions (Newton on the log-barrier program,
    :mod:`clusterfolio.optimize.risk_parity`, accepted at a relative gap of 1e-6 when rounding
    stalls it; polished by the conic program when Newton fails). When the ERC weights break a
    cap, the caps become constraints of the homogenised program (``solve_risk_budgeting``):
    capped assets (clusters) sit at their caps and the others share the risk.
``hrp``
    López de Prado's hierarchical risk parity (:mod:`clusterfolio.optimize.hrp`) with the asset
    and cluster caps inside the recursive bisection (bounded HRP: every split is clamped to the
    interval that keeps the allocation feasible), so the caps hold by construction.
``equal_weight``
    ``1 / N`` over assets under the caps (water-filled where a cluster cap binds).
``market``
    100% ``AMEX:SPY`` gross and net, whatever its direction; caps do not apply.
``barbell``
    Aggressors: the ``n_aggressors`` assets with the highest antifragility, at most one per
    cluster (ties by symbol; assets without a score are never aggressors; at least one asset is
    left to the core). Each gets ``aggressor_share / n`` (the share is reduced, recorded, if that
    breaks a cap). The core, ``1 - share``, is bounded ``hrp`` on the other assets under the caps
    that remain once the aggressors' weight is counted in their clusters. Aggressors and core are
    disjoint (checked).

Caps and projection
-------------------
Every capped profile honours the caps by construction. The capping projection of
:mod:`clusterfolio.optimize.caps` remains only as a last resort in :func:`_finalise` (solver
rounding); it is recorded as a ``cap_projection`` fallback, with its L1 move, when it moves the
weights by more than :data:`POST_SOLVE_TOL`.

Turnover
--------
With ``turnover_cost`` and ``previous_weights`` (the signed book), every profile but ``market``
trades off against the turnover cost: see :mod:`clusterfolio.optimize.turnover`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.enums import Direction, ProfileName
from clusterfolio.errors import InfeasibleError, OptimizationError
from clusterfolio.optimize.calendar_risk import (
    CONVENTION,
    assign_calendars,
    calendar_covariance,
    calendar_expected_returns,
)
from clusterfolio.optimize.caps import (
    CAP_TOL,
    caps_violation,
    project_caps,
    relax_caps,
    waterfill,
)
from clusterfolio.optimize.estimators import (
    PERIODS_PER_YEAR,
    CovarianceEstimate,
    correlation_from_covariance,
    covariance,
)
from clusterfolio.optimize.hrp import GroupCaps, hrp_weights
from clusterfolio.optimize.hybrid import hybrid_weights
from clusterfolio.optimize.problem import AllocationLevel, OptimizationProblem
from clusterfolio.optimize.result import FallbackKind, ProfileResult
from clusterfolio.optimize.risk_parity import risk_budgeting_weights, risk_contributions
from clusterfolio.optimize.solvers import (
    LinearCaps,
    SolveOutcome,
    solve_max_sharpe,
    solve_min_variance,
    solve_risk_budgeting,
)
from clusterfolio.optimize.turnover import effect_record, trade_towards

POST_SOLVE_TOL = 1e-6
"""A post-solve projection moving more than this (L1) is recorded as a fallback; below it is
solver rounding, kept in the diagnostics only."""


# --------------------------------------------------------------------------------------------
# shared context
# --------------------------------------------------------------------------------------------


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
    fallbacks: list[dict[str, Any]] = field(default_factory=list)
    diagnostics: dict[str, Any] = field(default_factory=dict)


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
    records: list[dict[str, Any]]
    equal_momentum_clusters: list[int]
    hybrid_capped_clusters: list[int]


def _asset_caps(ctx: _Context, what: str) -> tuple[float, float, list[dict[str, Any]]]:
    p = ctx.problem
    relaxed = relax_caps(p.asset_cap, p.cluster_cap, ctx.sizes(), what=what)
    return relaxed.asset_cap, relaxed.cluster_cap, relaxed.records


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


# --------------------------------------------------------------------------------------------
# profiles
# --------------------------------------------------------------------------------------------


def _turnover_setup(
    ctx: _Context, average_variance: float
) -> tuple[np.ndarray | None, float, dict[str, Any]]:
    """Previous weights over the universe, τ, and the static verdict on the penalty."""
    p = ctx.problem
    info: dict[str, Any] = {
        "turnover_cost": p.turnover_cost,
        "horizon_sessions": p.turnover_horizon,
    }
    if p.previous_weights is None:
        info.update(active=False, reason="no previous weights")
        return None, 0.0, info
    previous = np.array([p.previous_weights.get(s, 0.0) for s in ctx.symbols])
    if p.turnover_cost is None:
        info.update(active=False, reason="turnover_cost is None (turnover penalty off)")
        return previous, 0.0, info
    if p.turnover_cost == 0:
        info.update(
            active=False, reason="turnover_cost is zero: the penalty cannot change anything"
        )
        return previous, 0.0, info
    tau = p.turnover_cost * (PERIODS_PER_YEAR / p.turnover_horizon) / average_variance
    info.update(active=True, tau=float(tau))
    return previous, float(tau), info


def _outside_previous(ctx: _Context) -> float:
    """Absolute previous weight held outside today's universe (sold whatever happens)."""
    held = ctx.problem.previous_weights or {}
    universe = set(ctx.symbols)
    return float(sum(abs(v) for k, v in held.items() if k not in universe))


_TRADE_OFF = frozenset(
    {
        ProfileName.HRP,
        ProfileName.RISK_PARITY,
        ProfileName.MAX_SHARPE,
        ProfileName.BARBELL,
        ProfileName.EQUAL_WEIGHT,
    }
)
"""Profiles whose target is traded off against the turnover cost after their allocation
(``min_variance`` carries the penalty in its own objective; ``market`` never trades off)."""


def _apply_turnover(ctx: _Context, profile: ProfileName, alloc: _Allocation) -> None:
    """Trade the profile's allocation off against the turnover cost (see ``optimize.turnover``)."""
    if profile not in _TRADE_OFF:
        return
    average_variance = float(np.trace(ctx.cov)) / ctx.n
    previous, tau, info = _turnover_setup(ctx, average_variance)
    if previous is not None and tau > 0:
        target = np.maximum(np.asarray(alloc.weights, dtype=np.float64), 0.0)
        target = target / target.sum()
        caps = _linear_caps(ctx, alloc.asset_cap, alloc.cluster_cap)
        weights, outcome = trade_towards(
            target,
            ctx.cov / average_variance,
            previous,
            tau,
            caps,
            solvers=ctx.problem.solvers,
            fallbacks=alloc.fallbacks,
            what=f"{profile.value} turnover trade-off",
        )
        info.update(effect_record(weights, target, previous, _outside_previous(ctx)))
        info["method"] = (
            "min (w - w*)'Σ(w - w*)/v̄ + τ||w - w_prev||₁ under the caps (w*: the profile's "
            "allocation)"
        )
        info["solver"] = outcome.solver
        alloc.weights = weights
    alloc.diagnostics["turnover_penalty"] = info


def _min_variance(ctx: _Context, level: AllocationLevel) -> _Allocation:
    p = ctx.problem
    fallbacks: list[dict[str, Any]] = []
    average_variance = float(np.trace(ctx.cov)) / ctx.n
    previous, tau, turnover = _turnover_setup(ctx, average_variance)
    diagnostics: dict[str, Any] = {}
    if level is AllocationLevel.CLUSTER:
        red = _reduce(ctx, "min_variance")
        cov, expand = red.cov, red.expand
        caps = LinearCaps(
            upper=red.upper, groups=np.zeros((0, ctx.n_clusters)), group_caps=np.zeros(0)
        )
        asset_cap, cluster_cap, records = red.asset_cap, red.cluster_cap, red.records
        linear = p.fragility_penalty * (expand.T @ ctx.fragility)
        diagnostics["within_cluster"] = _reduction_diagnostics(ctx, red)
    else:
        cov, expand = ctx.cov, np.eye(ctx.n)
        asset_cap, cluster_cap, records = _asset_caps(ctx, "min_variance")
        caps = _linear_caps(ctx, asset_cap, cluster_cap)
        linear = p.fragility_penalty * ctx.fragility
    fallbacks.extend(records)
    scaled = cov / average_variance
    turnover_arg = (expand, previous, tau) if previous is not None and tau > 0 else None
    x, outcome = solve_min_variance(
        scaled,
        caps,
        linear=linear,
        turnover=turnover_arg,
        solvers=p.solvers,
        fallbacks=fallbacks,
        what="min_variance",
    )
    weights = expand @ x
    if turnover_arg is not None and previous is not None:
        unpenalised, _ = solve_min_variance(
            scaled, caps, linear=linear, solvers=p.solvers, fallbacks=[], what="min_variance"
        )
        turnover.update(
            effect_record(weights, expand @ unpenalised, previous, _outside_previous(ctx))
        )
    frag_term = float(linear @ x)
    diagnostics["objective"] = {
        "name": "w'Σw / v̄ + λ Σ f w + τ ||w - w_prev||₁",
        "value": outcome.objective,
        "average_variance": average_variance,
        "variance_term": float(x @ scaled @ x),
        "fragility_term": frag_term,
        "fragility_penalty": p.fragility_penalty,
    }
    diagnostics["turnover_penalty"] = turnover
    return _Allocation(
        weights=weights,
        solver=outcome.solver,
        level=level,
        asset_cap=asset_cap,
        cluster_cap=cluster_cap,
        projection_is_fallback=False,
        fallbacks=fallbacks,
        diagnostics=diagnostics,
    )


def _pure_min_variance(
    cov: np.ndarray, caps: LinearCaps, ctx: _Context, fallbacks: list[dict[str, Any]]
) -> tuple[np.ndarray, SolveOutcome]:
    scaled = cov / (float(np.trace(cov)) / cov.shape[0])
    return solve_min_variance(
        scaled, caps, solvers=ctx.problem.solvers, fallbacks=fallbacks, what="min_variance"
    )


def _max_sharpe(ctx: _Context, level: AllocationLevel) -> _Allocation:
    p = ctx.problem
    fallbacks: list[dict[str, Any]] = []
    diagnostics: dict[str, Any] = {}
    if level is AllocationLevel.CLUSTER:
        red = _reduce(ctx, "max_sharpe")
        cov, mu, expand = red.cov, red.mu, red.expand
        caps = LinearCaps(
            upper=red.upper, groups=np.zeros((0, ctx.n_clusters)), group_caps=np.zeros(0)
        )
        asset_cap, cluster_cap = red.asset_cap, red.cluster_cap
        fallbacks.extend(red.records)
        diagnostics["within_cluster"] = _reduction_diagnostics(ctx, red)
        units = "cluster sub-portfolio"
    else:
        cov, mu, expand = ctx.cov, ctx.mu, np.eye(ctx.n)
        asset_cap, cluster_cap, records = _asset_caps(ctx, "max_sharpe")
        fallbacks.extend(records)
        caps = _linear_caps(ctx, asset_cap, cluster_cap)
        units = "asset"
    excess = mu - p.risk_free_rate
    scale = float(np.sqrt(np.trace(cov) / cov.shape[0]))
    reason: str | None = None
    if float(np.max(excess)) <= 0:
        reason = (
            f"no {units} has a positive expected excess return over rf={p.risk_free_rate} "
            f"(best {float(np.max(excess)):.6g})"
        )
    else:
        try:
            x, outcome = solve_max_sharpe(
                cov / scale**2,
                excess / scale,
                caps,
                solvers=p.solvers,
                fallbacks=fallbacks,
                what="max_sharpe",
            )
        except InfeasibleError as exc:
            reason = f"no portfolio within the caps has a positive excess return ({exc})"
    if reason is not None:
        fallbacks.append(
            {
                "kind": FallbackKind.NO_POSITIVE_EXCESS_RETURN.value,
                "detail": f"{reason}; using minimum variance under the same caps",
            }
        )
        x, outcome = _pure_min_variance(cov, caps, ctx, fallbacks)
        diagnostics["objective"] = {"name": "w'Σw / v̄ (fallback)", "value": outcome.objective}
    else:
        variance = float(x @ cov @ x)
        diagnostics["objective"] = {
            "name": "Sharpe ratio (μ - rf)'w / sqrt(w'Σw), annualised",
            "value": float(excess @ x) / np.sqrt(variance) if variance > 0 else None,
        }
    return _Allocation(
        weights=expand @ x,
        solver=outcome.solver,
        level=level,
        asset_cap=asset_cap,
        cluster_cap=cluster_cap,
        projection_is_fallback=False,
        fallbacks=fallbacks,
        diagnostics=diagnostics,
    )


_ERC_OBJECTIVE = "ERC residual max_i |RC_i / (1/N) - 1| (0 at the unconstrained optimum)"
_NO_OBJECTIVE = {"name": "none (closed-form allocation)", "value": None}


def _rc_dispersion(weights: np.ndarray, cov: np.ndarray) -> float:
    rc = risk_contributions(weights, cov)
    target = 1.0 / weights.shape[0]
    return float(np.max(np.abs(rc / target - 1.0)))


def _erc(
    ctx: _Context, cov: np.ndarray, caps: LinearCaps, fallbacks: list[dict[str, Any]], what: str
) -> tuple[np.ndarray, str, dict[str, Any]]:
    """Equal risk contributions with the caps as constraints (Newton first, then the program)."""
    info: dict[str, Any] = {}
    budgets = np.full(cov.shape[0], 1.0 / cov.shape[0])
    try:
        w, info["iterations"] = risk_budgeting_weights(cov)
        solver = "erc:newton"
    except OptimizationError as exc:
        fallbacks.append(
            {
                "kind": "solver",
                "solver": "newton",
                "detail": f"{what}: {exc}; polished by the log-barrier program (cvxpy)",
            }
        )
        w = np.zeros(cov.shape[0])
        solver = ""
    unconstrained_ok = bool(solver) and (caps_violation_linear(w, caps) <= CAP_TOL)
    info["caps_binding"] = not unconstrained_ok and bool(solver)
    if not unconstrained_ok:
        w, outcome = solve_risk_budgeting(
            cov, budgets, caps, solvers=_exp_cone_chain(ctx), fallbacks=fallbacks, what=what
        )
        solver = f"erc:{outcome.solver.lower()}"
        info["program"] = "min ½y'Σy - b'log y s.t. y <= a 1'y, G y <= C 1'y (caps inside)"
    info["max_relative_rc_deviation"] = _rc_dispersion(w, cov)
    return w, solver, info


def _exp_cone_chain(ctx: _Context) -> tuple[str, ...]:
    chain = tuple(s for s in ctx.problem.solvers if s in ("CLARABEL", "SCS"))
    return chain or ("CLARABEL", "SCS")


def caps_violation_linear(w: np.ndarray, caps: LinearCaps) -> float:
    """Largest excess of a variable or a group total over its cap (0 when all hold)."""
    excess = float(np.max(w - caps.upper, initial=0.0))
    if caps.groups.shape[0]:
        excess = max(excess, float(np.max(caps.groups @ w - caps.group_caps)))
    return max(0.0, excess)


def _risk_parity(ctx: _Context, level: AllocationLevel) -> _Allocation:
    fallbacks: list[dict[str, Any]] = []
    diagnostics: dict[str, Any] = {}
    if level is AllocationLevel.CLUSTER:
        red = _reduce(ctx, "risk_parity")
        fallbacks.extend(red.records)
        cov, expand = red.cov, red.expand
        caps = LinearCaps(
            upper=red.upper, groups=np.zeros((0, ctx.n_clusters)), group_caps=np.zeros(0)
        )
        asset_cap, cluster_cap = red.asset_cap, red.cluster_cap
        diagnostics["within_cluster"] = _reduction_diagnostics(ctx, red)
        units = "clusters"
    else:
        asset_cap, cluster_cap, records = _asset_caps(ctx, "risk_parity")
        fallbacks.extend(records)
        cov, expand = ctx.cov, np.eye(ctx.n)
        caps = _linear_caps(ctx, asset_cap, cluster_cap)
        units = "assets"
    x, solver, info = _erc(ctx, cov, caps, fallbacks, f"risk_parity ({units})")
    diagnostics["erc"] = {"units": units, **info}
    diagnostics["objective"] = {"name": _ERC_OBJECTIVE, "value": info["max_relative_rc_deviation"]}
    return _Allocation(
        weights=expand @ x,
        solver=solver,
        level=level,
        asset_cap=asset_cap,
        cluster_cap=cluster_cap,
        fallbacks=fallbacks,
        projection_is_fallback=False,
        diagnostics=diagnostics,
    )


def _hrp(ctx: _Context, level: AllocationLevel) -> _Allocation:
    p = ctx.problem
    asset_cap, cluster_cap, records = _asset_caps(ctx, "hrp")
    w, order = hrp_weights(
        ctx.cov,
        ctx.corr,
        linkage_method=p.linkage_method,
        optimal_leaf_ordering=p.optimal_leaf_ordering,
        upper=np.full(ctx.n, asset_cap),
        group_caps=GroupCaps(ctx.groups, np.full(ctx.n_clusters, cluster_cap)),
    )
    diagnostics = {
        "hrp": {
            "linkage_method": p.linkage_method,
            "optimal_leaf_ordering": p.optimal_leaf_ordering,
            "distance": "sqrt(0.5 * (1 - rho))",
            "leaf_order": [ctx.symbols[i] for i in order],
            "bounds": "asset and cluster caps inside the recursive bisection (bounded HRP)",
        }
    }
    return _Allocation(
        weights=w,
        solver="hrp:numpy",
        level=level,
        asset_cap=asset_cap,
        cluster_cap=cluster_cap,
        projection_is_fallback=False,
        fallbacks=list(records),
        diagnostics=diagnostics,
    )


def _equal_weight(ctx: _Context, level: AllocationLevel) -> _Allocation:
    asset_cap, cluster_cap, records = _asset_caps(ctx, "equal_weight")
    # the most equal allocation under the caps: 1/N, water-filled where a cluster cap binds
    weights, record = project_caps(
        np.full(ctx.n, 1.0 / ctx.n),
        ctx.groups,
        np.full(ctx.n, asset_cap),
        np.full(ctx.n_clusters, cluster_cap),
        symbols=ctx.symbols,
        group_labels=ctx.cluster_ids,
    )
    return _Allocation(
        weights=weights,
        diagnostics={"equal_weight": {"definition": "1/N under the caps", "capping": record}},
        solver="equal_weight",
        level=level,
        asset_cap=asset_cap,
        cluster_cap=cluster_cap,
        projection_is_fallback=False,
        uses_covariance=False,
        fallbacks=list(records),
    )


def _market(ctx: _Context, level: AllocationLevel) -> _Allocation:
    p = ctx.problem
    if p.market_symbol not in ctx.symbols:
        raise OptimizationError(
            f"market profile needs {p.market_symbol} in the returns; it is absent "
            f"({ctx.n} symbols given)"
        )
    w = np.zeros(ctx.n)
    w[ctx.symbols.index(p.market_symbol)] = 1.0
    note = "100% long; caps do not apply to the market baseline"
    if p.directions[p.market_symbol] is Direction.SHORT:
        note += f"; the SHORT direction given for {p.market_symbol} is ignored (never flipped)"
    return _Allocation(
        weights=w,
        solver="market",
        level=level,
        asset_cap=1.0,
        cluster_cap=1.0,
        apply_caps=False,
        uses_covariance=False,
        diagnostics={"market": {"symbol": p.market_symbol, "note": note}},
    )


def _select_aggressors(ctx: _Context) -> tuple[list[int], list[str]]:
    """Indices of the aggressors (distinct clusters, best antifragility first) and notes."""
    p = ctx.problem
    scored = [
        (-p.antifragility[s], s, i) for i, s in enumerate(ctx.symbols) if s in p.antifragility
    ]
    scored.sort()
    chosen: list[int] = []
    used_clusters: set[int] = set()
    notes: list[str] = []
    for _, _, i in scored:
        if len(chosen) >= p.n_aggressors:
            break
        if len(chosen) + 1 >= ctx.n:
            notes.append("stopped to leave at least one asset in the core")
            break
        if ctx.groups[i] in used_clusters:
            continue
        chosen.append(i)
        used_clusters.add(int(ctx.groups[i]))
    return chosen, notes


def _barbell(ctx: _Context, level: AllocationLevel) -> _Allocation:
    p = ctx.problem
    fallbacks: list[dict[str, Any]] = []
    asset_cap, cluster_cap, records = _asset_caps(ctx, "barbell")
    fallbacks.extend(records)
    share = p.aggressor_share if p.n_aggressors > 0 else 0.0
    aggressors: list[int] = []
    if share > 0:
        aggressors, notes = _select_aggressors(ctx)
        if len(aggressors) < p.n_aggressors:
            n_distinct = ctx.n_clusters
            fallbacks.append(
                {
                    "kind": FallbackKind.BARBELL_AGGRESSORS.value,
                    "detail": (
                        f"{len(aggressors)} aggressor(s) instead of {p.n_aggressors}: "
                        f"{n_distinct} cluster(s), {ctx.n - len(ctx.missing['antifragility'])} "
                        f"asset(s) with an antifragility score"
                        + (f"; {'; '.join(notes)}" if notes else "")
                    ),
                }
            )
        if not aggressors:
            share = 0.0
    per_aggressor = share / len(aggressors) if aggressors else 0.0
    limit = min(asset_cap, cluster_cap)
    if per_aggressor > limit:
        new_share = limit * len(aggressors)
        fallbacks.append(
            {
                "kind": FallbackKind.BARBELL_SHARE.value,
                "detail": (
                    f"aggressor share {share:.6g} over {len(aggressors)} aggressor(s) puts "
                    f"{per_aggressor:.6g} on each, above the cap {limit:.6g}; share reduced to "
                    f"{new_share:.6g}"
                ),
            }
        )
        share, per_aggressor = new_share, limit
    is_aggressor = np.zeros(ctx.n, dtype=bool)
    is_aggressor[aggressors] = True
    core = np.flatnonzero(~is_aggressor)
    if np.intersect1d(core, np.asarray(aggressors, dtype=np.intp)).size or core.size == 0:
        raise OptimizationError("barbell: aggressors and core overlap or the core is empty")
    used = (
        np.bincount(
            ctx.groups[aggressors] if aggressors else np.zeros(0, dtype=np.intp),
            minlength=ctx.n_clusters,
        ).astype(np.float64)
        * per_aggressor
    )
    core_total = 1.0 - share
    relaxed = relax_caps(
        asset_cap, cluster_cap, ctx.sizes(core), used=used, total=core_total, what="barbell core"
    )
    fallbacks.extend(relaxed.records)
    asset_cap, cluster_cap = relaxed.asset_cap, relaxed.cluster_cap
    # bounded HRP on the core, the caps expressed as fractions of the core's weight
    core_w, order = hrp_weights(
        ctx.cov[np.ix_(core, core)],
        ctx.corr[np.ix_(core, core)],
        linkage_method=p.linkage_method,
        optimal_leaf_ordering=p.optimal_leaf_ordering,
        upper=np.full(core.size, min(1.0, asset_cap / core_total)),
        group_caps=GroupCaps(
            ctx.groups[core], np.clip((cluster_cap - used) / core_total, 0.0, None)
        ),
    )
    core_symbols = [ctx.symbols[i] for i in core]
    projected, record = project_caps(
        core_w * core_total,
        ctx.groups[core],
        np.full(core.size, asset_cap),
        np.maximum(cluster_cap - used, 0.0),
        symbols=core_symbols,
        group_labels=ctx.cluster_ids,
    )
    diagnostics: dict[str, Any] = {
        "barbell": {
            "aggressors": [ctx.symbols[i] for i in aggressors],
            "aggressor_antifragility": {
                ctx.symbols[i]: p.antifragility[ctx.symbols[i]] for i in aggressors
            },
            "aggressor_share": float(share),
            "configured_share": float(p.aggressor_share),
            "regime": p.regime.value,
            "core": core_symbols,
            "core_method": "bounded hrp on the non-aggressor assets (caps inside)",
            "core_leaf_order": [core_symbols[i] for i in order],
        }
    }
    if record["applied"]:
        diagnostics["barbell"]["core_cap_projection"] = record
        if record["moved_l1"] > POST_SOLVE_TOL:
            fallbacks.append(_projection_fallback(record, "barbell core"))
    weights = np.zeros(ctx.n)
    weights[aggressors] = per_aggressor
    weights[core] = projected
    return _Allocation(
        weights=weights,
        solver="barbell:hrp",
        level=level,
        asset_cap=asset_cap,
        cluster_cap=cluster_cap,
        projection_is_fallback=False,
        fallbacks=fallbacks,
        diagnostics=diagnostics,
    )


_PROFILES = {
    ProfileName.MIN_VARIANCE: _min_variance,
    ProfileName.MAX_SHARPE: _max_sharpe,
    ProfileName.RISK_PARITY: _risk_parity,
    ProfileName.HRP: _hrp,
    ProfileName.EQUAL_WEIGHT: _equal_weight,
    ProfileName.MARKET: _market,
    ProfileName.BARBELL: _barbell,
}


# --------------------------------------------------------------------------------------------
# finalisation
# --------------------------------------------------------------------------------------------


def _projection_fallback(record: dict[str, Any], what: str) -> dict[str, Any]:
    return {
        "kind": FallbackKind.CAP_PROJECTION.value,
        "detail": (
            f"{what}: caps bound; weights projected by iterative capping with proportional "
            f"redistribution (moved {record['moved_l1']:.6g} in L1; capped clusters "
            f"{record.get('capped_clusters', [])}, capped assets {record.get('capped_assets', [])})"
        ),
        "moved_l1": record["moved_l1"],
    }


def _finalise(ctx: _Context, profile: ProfileName, alloc: _Allocation) -> ProfileResult:
    p = ctx.problem
    w = np.asarray(alloc.weights, dtype=np.float64).copy()
    if not np.all(np.isfinite(w)):
        raise OptimizationError(f"{profile.value}: non-finite weights")
    cleanup = float(np.abs(np.minimum(w, 0.0)).sum())
    w = np.maximum(w, 0.0)
    total = float(w.sum())
    if total <= 0:
        raise OptimizationError(f"{profile.value}: weights sum to {total}")
    cleanup += abs(total - 1.0)
    w = w / total
    fallbacks = list(alloc.fallbacks)
    if alloc.uses_covariance and ctx.estimate.repaired:
        fallbacks.insert(
            0,
            {
                "kind": FallbackKind.COVARIANCE_REPAIR.value,
                "detail": (
                    f"pairwise covariance not PSD (min eigenvalue {ctx.estimate.min_eigenvalue:.3g}); "
                    f"{ctx.estimate.clipped_eigenvalues} eigenvalue(s) clipped to zero "
                    f"(Frobenius change {ctx.estimate.repair_frobenius:.3g})"
                ),
            },
        )
    diagnostics: dict[str, Any] = {"cleanup_l1": cleanup}
    asset_caps = np.full(ctx.n, alloc.asset_cap)
    group_caps = np.full(ctx.n_clusters, alloc.cluster_cap)
    if alloc.apply_caps:
        violation = caps_violation(w, ctx.groups, asset_caps, group_caps)
        w, record = project_caps(
            w, ctx.groups, asset_caps, group_caps, symbols=ctx.symbols, group_labels=ctx.cluster_ids
        )
        record["violation_before"] = violation
        diagnostics["cap_projection"] = record
        if record["applied"] and (
            alloc.projection_is_fallback or record["moved_l1"] > POST_SOLVE_TOL
        ):
            fallbacks.append(_projection_fallback(record, profile.value))
        w = w / w.sum()
        diagnostics["effective_caps"] = {
            "asset_cap": float(alloc.asset_cap),
            "cluster_cap": float(alloc.cluster_cap),
            "configured_asset_cap": float(p.asset_cap),
            "configured_cluster_cap": float(p.cluster_cap),
        }
    diagnostics["objective"] = dict(_NO_OBJECTIVE)
    diagnostics["cap_relaxations"] = [
        f for f in fallbacks if f["kind"] == FallbackKind.CAP_RELAXATION
    ]
    diagnostics.update(alloc.diagnostics)
    diagnostics.update(_statistics(ctx, w))
    diagnostics["covariance"] = ctx.estimate.to_dict()
    diagnostics["missing_inputs"] = {k: v for k, v in ctx.missing.items() if v}
    diagnostics["regime"] = p.regime.value
    if p.previous_weights is not None:
        previous = np.array([p.previous_weights.get(s, 0.0) for s in ctx.symbols])
        outside = _outside_previous(ctx)
        diagnostics["turnover"] = {
            "l1_to_previous": float(np.abs(w - previous).sum() + outside),
            "previous_outside_universe": outside,
        }
    signs = np.array([p.directions[s].sign for s in ctx.symbols], dtype=np.float64)
    if profile is ProfileName.MARKET:
        signs = np.ones(ctx.n)
    gross = pd.Series(w, index=pd.Index(ctx.symbols, name="symbol"), name="weight")
    net = pd.Series(w * signs, index=gross.index, name="net_weight")
    cluster_gross = {
        int(c): float(v)
        for c, v in zip(
            ctx.cluster_ids,
            np.bincount(ctx.groups, weights=w, minlength=ctx.n_clusters),
            strict=True,
        )
    }
    cluster_net = {
        int(c): float(v)
        for c, v in zip(
            ctx.cluster_ids,
            np.bincount(ctx.groups, weights=w * signs, minlength=ctx.n_clusters),
            strict=True,
        )
    }
    return ProfileResult(
        profile=profile,
        weights=gross,
        net_weights=net,
        cluster_gross=cluster_gross,
        cluster_net=cluster_net,
        solver=alloc.solver,
        allocation_level=alloc.level,
        fallbacks=fallbacks,
        diagnostics=diagnostics,
    )


def _statistics(ctx: _Context, w: np.ndarray) -> dict[str, Any]:
    p = ctx.problem
    variance = float(w @ ctx.cov @ w)
    volatility = float(np.sqrt(max(variance, 0.0)))
    expected = float(ctx.mu @ w)
    rc = risk_contributions(w, ctx.cov)
    cluster_rc = np.bincount(ctx.groups, weights=rc, minlength=ctx.n_clusters)
    return {
        "portfolio": {
            "expected_return": expected,
            "variance": variance,
            "volatility": volatility,
            "sharpe": (expected - p.risk_free_rate) / volatility if volatility > 0 else None,
            "n_nonzero": int(np.sum(w > 1e-10)),
            "fragility_exposure": float(ctx.fragility @ w),
            "annualisation": CONVENTION,
        },
        "risk_contributions": {s: float(v) for s, v in zip(ctx.symbols, rc, strict=True)},
        "cluster_risk_contributions": {
            str(c): float(v) for c, v in zip(ctx.cluster_ids, cluster_rc, strict=True)
        },
    }


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def _optimize(ctx: _Context, profile: ProfileName) -> ProfileResult:
    profile = ProfileName(profile)
    level = ctx.problem.level(profile)
    alloc = _PROFILES[profile](ctx, level)
    _apply_turnover(ctx, profile, alloc)
    return _finalise(ctx, profile, alloc)


def optimize_profile(problem: OptimizationProblem, profile: ProfileName) -> ProfileResult:
    """Weights of one profile (see the module documentation for each definition).

    Parameters
    ----------
    problem : OptimizationProblem
        The inputs.
    profile : ProfileName
        The profile.

    Returns
    -------
    ProfileResult

    Raises
    ------
    DataError
        Unusable returns (e.g. a pair of assets sharing fewer than two sessions).
    InfeasibleError
        When the problem is infeasible even after the documented cap relaxation.
    OptimizationError
        When every solver fails, or ``market`` lacks its symbol.
    """
    return _optimize(_context(problem), profile)


def optimize_all(
    problem: OptimizationProblem, profiles: Iterable[ProfileName]
) -> dict[ProfileName, ProfileResult]:
    """Weights of several profiles, sharing one covariance estimate.

    Errors propagate (the first failing profile raises); every fallback of the others is on their
    results.
    """
    ctx = _context(problem)
    return {ProfileName(p): _optimize(ctx, ProfileName(p)) for p in profiles}


def hrp(
    returns: pd.DataFrame,
    *,
    linkage_method: str = "ward",
    optimal_leaf_ordering: bool = False,
) -> pd.Series:
    """Uncapped hierarchical risk parity weights straight from returns.

    Uses :func:`~clusterfolio.optimize.estimators.covariance` (pairwise-complete, PSD-repaired)
    and its correlation; see :mod:`clusterfolio.optimize.hrp`.

    Parameters
    ----------
    returns : pandas.DataFrame
        Returns (NaN allowed).
    linkage_method : str, default "ward"
        scipy linkage method.
    optimal_leaf_ordering : bool, default False
        Optimal leaf ordering instead of the plain dendrogram order.

    Returns
    -------
    pandas.Series
        Weights indexed like ``returns.columns``.
    """
    cov = covariance(returns).matrix.to_numpy()
    w, _ = hrp_weights(
        cov,
        correlation_from_covariance(cov),
        linkage_method=linkage_method,
        optimal_leaf_ordering=optimal_leaf_ordering,
    )
    return pd.Series(w, index=returns.columns, name="weight")
