"""The barbell profile: the most antifragile assets as aggressors, bounded HRP on the core."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clusterfolio.artifacts.fallbacks import Fallback, FallbackKind
from clusterfolio.errors import OptimizationError
from clusterfolio.optimize.cap_effect import cap_effect
from clusterfolio.optimize.caps import (
    project_caps,
    relax_caps,
)
from clusterfolio.optimize.hrp import GroupCaps, hrp_weights, recursive_bisection
from clusterfolio.optimize.problem import AllocationLevel
from clusterfolio.optimize.profiles.context import (
    POST_SOLVE_TOL,
    _Allocation,
    _asset_caps,
    _Context,
)
from clusterfolio.optimize.profiles.finalise import _projection_fallback


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


def _aggressors(
    ctx: _Context, asset_cap: float, cluster_cap: float, fallbacks: list[Fallback]
) -> tuple[list[int], float, float]:
    """The aggressors, their total share and each one's weight (fallbacks recorded)."""
    p = ctx.problem
    share = p.aggressor_share if p.n_aggressors > 0 else 0.0
    aggressors: list[int] = []
    if share > 0:
        aggressors, notes = _select_aggressors(ctx)
        if len(aggressors) < p.n_aggressors:
            n_distinct = ctx.n_clusters
            fallbacks.append(
                Fallback(
                    FallbackKind.BARBELL_AGGRESSORS,
                    f"{len(aggressors)} aggressor(s) instead of {p.n_aggressors}: "
                    f"{n_distinct} cluster(s), {ctx.n - len(ctx.missing['antifragility'])} "
                    f"asset(s) with an antifragility score"
                    + (f"; {'; '.join(notes)}" if notes else ""),
                )
            )
        if not aggressors:
            share = 0.0
    per_aggressor = share / len(aggressors) if aggressors else 0.0
    limit = min(asset_cap, cluster_cap)
    if per_aggressor > limit:
        new_share = limit * len(aggressors)
        fallbacks.append(
            Fallback(
                FallbackKind.BARBELL_SHARE,
                f"aggressor share {share:.6g} over {len(aggressors)} aggressor(s) puts "
                f"{per_aggressor:.6g} on each, above the cap {limit:.6g}; share reduced to "
                f"{new_share:.6g}",
            )
        )
        share, per_aggressor = new_share, limit
    return aggressors, share, per_aggressor


@dataclass
class _Core:
    """The core of a barbell: its assets, weights (bounded and unbounded HRP, both scaled to the
    core's share), HRP leaf order and the caps it was held to."""

    assets: np.ndarray
    weights: np.ndarray
    unbounded: np.ndarray
    order: list[int]
    record: dict[str, Any]
    asset_cap: float
    cluster_cap: float


def _core(
    ctx: _Context,
    aggressors: list[int],
    per_aggressor: float,
    core_total: float,
    caps: tuple[float, float],
    fallbacks: list[Fallback],
) -> _Core:
    """Bounded HRP on the non-aggressors, under the caps left once the aggressors are counted."""
    p = ctx.problem
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
    relaxed = relax_caps(*caps, ctx.sizes(core), used=used, total=core_total, what="barbell core")
    fallbacks.extend(relaxed.records)
    asset_cap, cluster_cap = relaxed.asset_cap, relaxed.cluster_cap
    # bounded HRP on the core, the caps expressed as fractions of the core's weight
    cov = ctx.cov[np.ix_(core, core)]
    core_w, order = hrp_weights(
        cov,
        ctx.corr[np.ix_(core, core)],
        linkage_method=p.linkage_method,
        optimal_leaf_ordering=p.optimal_leaf_ordering,
        upper=np.full(core.size, min(1.0, asset_cap / core_total)),
        group_caps=GroupCaps(
            ctx.groups[core], np.clip((cluster_cap - used) / core_total, 0.0, None)
        ),
    )
    # the same tree without the caps: how far the caps moved the core (cap_effect)
    unbounded = recursive_bisection(cov, order)
    projected, record = project_caps(
        core_w * core_total,
        ctx.groups[core],
        np.full(core.size, asset_cap),
        np.maximum(cluster_cap - used, 0.0),
        symbols=[ctx.symbols[i] for i in core],
        group_labels=ctx.cluster_ids,
    )
    return _Core(
        core, projected, unbounded * core_total, list(order), record, asset_cap, cluster_cap
    )


def _barbell(ctx: _Context, level: AllocationLevel) -> _Allocation:
    p = ctx.problem
    fallbacks: list[Fallback] = []
    caps = _asset_caps(ctx, "barbell")
    asset_cap, cluster_cap = caps.asset_cap, caps.cluster_cap
    fallbacks.extend(caps.records)
    aggressors, share, per_aggressor = _aggressors(ctx, asset_cap, cluster_cap, fallbacks)
    core = _core(ctx, aggressors, per_aggressor, 1.0 - share, (asset_cap, cluster_cap), fallbacks)
    core_symbols = [ctx.symbols[i] for i in core.assets]
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
            "core_leaf_order": [core_symbols[i] for i in core.order],
        }
    }
    if core.record["applied"]:
        diagnostics["barbell"]["core_cap_projection"] = core.record
        if core.record["moved_l1"] > POST_SOLVE_TOL:
            fallbacks.append(_projection_fallback(core.record, "barbell core"))
    weights = np.zeros(ctx.n)
    weights[aggressors] = per_aggressor
    weights[core.assets] = core.weights
    unbounded = weights.copy()
    unbounded[core.assets] = core.unbounded
    diagnostics["barbell"]["cap_effect"] = cap_effect(ctx.symbols, unbounded, weights, ctx.cov)
    return _Allocation(
        weights=weights,
        solver="barbell:hrp",
        level=level,
        asset_cap=core.asset_cap,
        cluster_cap=core.cluster_cap,
        projection_is_fallback=False,
        fallbacks=fallbacks,
        diagnostics=diagnostics,
    )
