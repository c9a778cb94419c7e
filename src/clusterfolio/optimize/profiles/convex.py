"""The convex profiles: minimum variance and maximum Sharpe, with the turnover trade-off."""

from __future__ import annotations

from typing import Any

import numpy as np

from clusterfolio.artifacts.fallbacks import Fallback, FallbackKind
from clusterfolio.enums import ProfileName
from clusterfolio.errors import InfeasibleError
from clusterfolio.optimize.estimators import (
    PERIODS_PER_YEAR,
)
from clusterfolio.optimize.problem import AllocationLevel
from clusterfolio.optimize.profiles.context import (
    _Allocation,
    _Context,
    _linear_caps,
    _Space,
    _space,
)
from clusterfolio.optimize.solvers import (
    LinearCaps,
    SolveOutcome,
    SolveRun,
    solve_max_sharpe,
    solve_min_variance,
)
from clusterfolio.optimize.turnover import effect_record, trade_towards


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
            SolveRun(ctx.problem.solvers, alloc.fallbacks, f"{profile.value} turnover trade-off"),
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
    fallbacks: list[Fallback] = []
    average_variance = float(np.trace(ctx.cov)) / ctx.n
    previous, tau, turnover = _turnover_setup(ctx, average_variance)
    diagnostics: dict[str, Any] = {}
    space = _space(ctx, level, "min_variance")
    cov, expand, caps = space.cov, space.expand, space.caps
    if space.within_cluster is not None:
        linear = p.fragility_penalty * (expand.T @ ctx.fragility)
        diagnostics["within_cluster"] = space.within_cluster
    else:
        linear = p.fragility_penalty * ctx.fragility
    fallbacks.extend(space.records)
    scaled = cov / average_variance
    turnover_arg = (expand, previous, tau) if previous is not None and tau > 0 else None
    x, outcome = solve_min_variance(
        scaled,
        caps,
        SolveRun(p.solvers, fallbacks, "min_variance"),
        linear=linear,
        turnover=turnover_arg,
    )
    weights = expand @ x
    if turnover_arg is not None and previous is not None:
        unpenalised, _ = solve_min_variance(
            scaled, caps, SolveRun(p.solvers, [], "min_variance"), linear=linear
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
    return space.allocation(x, outcome.solver, level, fallbacks, diagnostics)


def _pure_min_variance(
    cov: np.ndarray, caps: LinearCaps, ctx: _Context, fallbacks: list[Fallback]
) -> tuple[np.ndarray, SolveOutcome]:
    scaled = cov / (float(np.trace(cov)) / cov.shape[0])
    return solve_min_variance(
        scaled, caps, SolveRun(ctx.problem.solvers, fallbacks, "min_variance")
    )


def _max_sharpe_solution(
    ctx: _Context, space: _Space, excess: np.ndarray, fallbacks: list[Fallback]
) -> tuple[np.ndarray, SolveOutcome] | str:
    """The max-Sharpe solution, or why there is none (no positive excess return)."""
    p = ctx.problem
    if float(np.max(excess)) <= 0:
        units = "cluster sub-portfolio" if space.within_cluster is not None else "asset"
        return (
            f"no {units} has a positive expected excess return over rf={p.risk_free_rate} "
            f"(best {float(np.max(excess)):.6g})"
        )
    scale = float(np.sqrt(np.trace(space.cov) / space.cov.shape[0]))
    try:
        return solve_max_sharpe(
            space.cov / scale**2,
            excess / scale,
            space.caps,
            SolveRun(p.solvers, fallbacks, "max_sharpe"),
        )
    except InfeasibleError as exc:
        return f"no portfolio within the caps has a positive excess return ({exc})"


def _max_sharpe(ctx: _Context, level: AllocationLevel) -> _Allocation:
    p = ctx.problem
    diagnostics: dict[str, Any] = {}
    space = _space(ctx, level, "max_sharpe")
    fallbacks: list[Fallback] = list(space.records)
    if space.within_cluster is not None:
        diagnostics["within_cluster"] = space.within_cluster
    excess = space.mu - p.risk_free_rate
    solved = _max_sharpe_solution(ctx, space, excess, fallbacks)
    if isinstance(solved, str):
        fallbacks.append(
            Fallback(
                FallbackKind.NO_POSITIVE_EXCESS_RETURN,
                f"{solved}; using minimum variance under the same caps",
            )
        )
        x, outcome = _pure_min_variance(space.cov, space.caps, ctx, fallbacks)
        diagnostics["objective"] = {"name": "w'Σw / v̄ (fallback)", "value": outcome.objective}
    else:
        x, outcome = solved
        variance = float(x @ space.cov @ x)
        diagnostics["objective"] = {
            "name": "Sharpe ratio (μ - rf)'w / sqrt(w'Σw), annualised",
            "value": float(excess @ x) / np.sqrt(variance) if variance > 0 else None,
        }
    return space.allocation(x, outcome.solver, level, fallbacks, diagnostics)
