"""Finalising an allocation: caps, the last-resort projection, statistics and the result."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.artifacts.fallbacks import Fallback, FallbackKind
from clusterfolio.enums import ProfileName
from clusterfolio.errors import OptimizationError
from clusterfolio.optimize.calendar_risk import (
    CONVENTION,
)
from clusterfolio.optimize.caps import (
    caps_violation,
    project_caps,
)
from clusterfolio.optimize.profiles.budgets import _NO_OBJECTIVE
from clusterfolio.optimize.profiles.context import POST_SOLVE_TOL, _Allocation, _Context
from clusterfolio.optimize.profiles.convex import _outside_previous
from clusterfolio.optimize.result import ProfileResult
from clusterfolio.optimize.risk_parity import risk_contributions


def _projection_fallback(record: dict[str, Any], what: str) -> Fallback:
    return Fallback(
        FallbackKind.CAP_PROJECTION,
        f"{what}: caps bound; weights projected by iterative capping with proportional "
        f"redistribution (moved {record['moved_l1']:.6g} in L1; capped clusters "
        f"{record.get('capped_clusters', [])}, capped assets {record.get('capped_assets', [])})",
        {"moved_l1": record["moved_l1"]},
    )


def _normalised(profile: ProfileName, weights: np.ndarray) -> tuple[np.ndarray, float]:
    """Weights clipped at zero and scaled to sum to one, and the L1 that clean-up moved."""
    w = np.asarray(weights, dtype=np.float64).copy()
    if not np.all(np.isfinite(w)):
        raise OptimizationError(f"{profile.value}: non-finite weights")
    cleanup = float(np.abs(np.minimum(w, 0.0)).sum())
    w = np.maximum(w, 0.0)
    total = float(w.sum())
    if total <= 0:
        raise OptimizationError(f"{profile.value}: weights sum to {total}")
    cleanup += abs(total - 1.0)
    return w / total, cleanup


def _covariance_repair_fallback(ctx: _Context) -> Fallback:
    """The fallback that records the PSD repair of the pairwise covariance."""
    est = ctx.estimate
    return Fallback(
        FallbackKind.COVARIANCE_REPAIR,
        f"pairwise covariance not PSD (min eigenvalue {est.min_eigenvalue:.3g}); "
        f"{est.clipped_eigenvalues} eigenvalue(s) clipped to zero "
        f"(Frobenius change {est.repair_frobenius:.3g})",
    )


def _enforce_caps(
    ctx: _Context,
    profile: ProfileName,
    alloc: _Allocation,
    w: np.ndarray,
    diagnostics: dict[str, Any],
    fallbacks: list[Fallback],
) -> np.ndarray:
    """The last-resort capping projection (recorded), and the caps the allocation was held to."""
    p = ctx.problem
    asset_caps = np.full(ctx.n, alloc.asset_cap)
    group_caps = np.full(ctx.n_clusters, alloc.cluster_cap)
    violation = caps_violation(w, ctx.groups, asset_caps, group_caps)
    w, record = project_caps(
        w, ctx.groups, asset_caps, group_caps, symbols=ctx.symbols, group_labels=ctx.cluster_ids
    )
    record["violation_before"] = violation
    diagnostics["cap_projection"] = record
    if record["applied"] and (alloc.projection_is_fallback or record["moved_l1"] > POST_SOLVE_TOL):
        fallbacks.append(_projection_fallback(record, profile.value))
    diagnostics["effective_caps"] = {
        "asset_cap": float(alloc.asset_cap),
        "cluster_cap": float(alloc.cluster_cap),
        "configured_asset_cap": float(p.asset_cap),
        "configured_cluster_cap": float(p.cluster_cap),
    }
    return w / w.sum()


def _cluster_sums(ctx: _Context, w: np.ndarray) -> dict[int, float]:
    """``w`` summed per cluster, keyed by cluster id."""
    sums = np.bincount(ctx.groups, weights=w, minlength=ctx.n_clusters)
    return {int(c): float(v) for c, v in zip(ctx.cluster_ids, sums, strict=True)}


def _finalise(ctx: _Context, profile: ProfileName, alloc: _Allocation) -> ProfileResult:
    p = ctx.problem
    w, cleanup = _normalised(profile, alloc.weights)
    fallbacks = list(alloc.fallbacks)
    if alloc.uses_covariance and ctx.estimate.repaired:
        fallbacks.insert(0, _covariance_repair_fallback(ctx))
    diagnostics: dict[str, Any] = {"cleanup_l1": cleanup}
    if alloc.apply_caps:
        w = _enforce_caps(ctx, profile, alloc, w, diagnostics, fallbacks)
    diagnostics["objective"] = dict(_NO_OBJECTIVE)
    diagnostics["cap_relaxations"] = [
        f.to_record() for f in fallbacks if f.is_kind(FallbackKind.CAP_RELAXATION)
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
    return ProfileResult(
        profile=profile,
        weights=gross,
        net_weights=net,
        cluster_gross=_cluster_sums(ctx, w),
        cluster_net=_cluster_sums(ctx, w * signs),
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
