"""The budgeting profiles: equal risk contribution, risk parity, HRP, equal weight and market."""

from __future__ import annotations

from typing import Any

import numpy as np

from clusterfolio.artifacts.fallbacks import Fallback, FallbackKind
from clusterfolio.enums import Direction
from clusterfolio.errors import OptimizationError
from clusterfolio.optimize.cap_effect import cap_effect
from clusterfolio.optimize.caps import (
    CAP_TOL,
    project_caps,
)
from clusterfolio.optimize.hrp import GroupCaps, hrp_weights, recursive_bisection
from clusterfolio.optimize.problem import AllocationLevel
from clusterfolio.optimize.profiles.context import (
    _Allocation,
    _asset_caps,
    _Context,
    _space,
)
from clusterfolio.optimize.risk_parity import risk_budgeting_weights, risk_contributions
from clusterfolio.optimize.solvers import (
    LinearCaps,
    SolveRun,
    solve_risk_budgeting,
)

_ERC_OBJECTIVE = "ERC residual max_i |RC_i / (1/N) - 1| (0 at the unconstrained optimum)"
_NO_OBJECTIVE = {"name": "none (closed-form allocation)", "value": None}


def _rc_dispersion(weights: np.ndarray, cov: np.ndarray) -> float:
    rc = risk_contributions(weights, cov)
    target = 1.0 / weights.shape[0]
    return float(np.max(np.abs(rc / target - 1.0)))


def _erc(
    ctx: _Context, cov: np.ndarray, caps: LinearCaps, fallbacks: list[Fallback], what: str
) -> tuple[np.ndarray, str, dict[str, Any]]:
    """Equal risk contributions with the caps as constraints (Newton first, then the program)."""
    info: dict[str, Any] = {}
    budgets = np.full(cov.shape[0], 1.0 / cov.shape[0])
    try:
        w, info["iterations"] = risk_budgeting_weights(cov)
        solver = "erc:newton"
    except OptimizationError as exc:
        fallbacks.append(
            Fallback(
                FallbackKind.SOLVER,
                f"{what}: {exc}; polished by the log-barrier program (cvxpy)",
                {"solver": "newton"},
            )
        )
        w = np.zeros(cov.shape[0])
        solver = ""
    unconstrained_ok = bool(solver) and (caps_violation_linear(w, caps) <= CAP_TOL)
    info["caps_binding"] = not unconstrained_ok and bool(solver)
    if not unconstrained_ok:
        w, outcome = solve_risk_budgeting(
            cov, budgets, caps, SolveRun(_exp_cone_chain(ctx), fallbacks, what)
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
    space = _space(ctx, level, "risk_parity")
    fallbacks: list[Fallback] = list(space.records)
    diagnostics: dict[str, Any] = {}
    if space.within_cluster is not None:
        diagnostics["within_cluster"] = space.within_cluster
    units = "clusters" if space.within_cluster is not None else "assets"
    x, solver, info = _erc(ctx, space.cov, space.caps, fallbacks, f"risk_parity ({units})")
    diagnostics["erc"] = {"units": units, **info}
    diagnostics["objective"] = {"name": _ERC_OBJECTIVE, "value": info["max_relative_rc_deviation"]}
    return space.allocation(x, solver, level, fallbacks, diagnostics)


def _hrp(ctx: _Context, level: AllocationLevel) -> _Allocation:
    p = ctx.problem
    caps = _asset_caps(ctx, "hrp")
    w, order = hrp_weights(
        ctx.cov,
        ctx.corr,
        linkage_method=p.linkage_method,
        optimal_leaf_ordering=p.optimal_leaf_ordering,
        upper=np.full(ctx.n, caps.asset_cap),
        group_caps=GroupCaps(ctx.groups, np.full(ctx.n_clusters, caps.cluster_cap)),
    )
    # the same tree without the caps: how far the caps moved the profile (audit ``cap_effect``)
    unbounded = recursive_bisection(ctx.cov, order)
    diagnostics = {
        "hrp": {
            "linkage_method": p.linkage_method,
            "optimal_leaf_ordering": p.optimal_leaf_ordering,
            "distance": "sqrt(0.5 * (1 - rho))",
            "leaf_order": [ctx.symbols[i] for i in order],
            "bounds": "asset and cluster caps inside the recursive bisection (bounded HRP)",
            "cap_effect": cap_effect(ctx.symbols, unbounded, w, ctx.cov),
        }
    }
    return _Allocation.inside_caps(caps, w, "hrp:numpy", level, diagnostics)


def _equal_weight(ctx: _Context, level: AllocationLevel) -> _Allocation:
    caps = _asset_caps(ctx, "equal_weight")
    # the most equal allocation under the caps: 1/N, water-filled where a cluster cap binds
    weights, record = project_caps(
        np.full(ctx.n, 1.0 / ctx.n),
        ctx.groups,
        np.full(ctx.n, caps.asset_cap),
        np.full(ctx.n_clusters, caps.cluster_cap),
        symbols=ctx.symbols,
        group_labels=ctx.cluster_ids,
    )
    diagnostics = {"equal_weight": {"definition": "1/N under the caps", "capping": record}}
    return _Allocation.inside_caps(
        caps, weights, "equal_weight", level, diagnostics, uses_covariance=False
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
