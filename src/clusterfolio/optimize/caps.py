"""Weight caps: feasibility, documented relaxation, and the capping projection.

Caps
----
Every profile except ``market`` respects a per-asset cap ``a`` and a per-cluster cap ``C`` (the
sum of the gross weights of a cluster). A group ``g`` (a cluster) can hold at most
``min(C - used_g, a * k_g)`` where ``k_g`` is its number of assets (or, for a cluster-level
allocation whose within-cluster weights ``v`` are fixed, ``1 / max(v)``) and ``used_g`` is weight
already placed in it (the barbell's aggressors). The caps are feasible when these capacities add up
to the weight to place.

Relaxation (:func:`relax_caps`)
-------------------------------
When the caps are infeasible they are raised, never silently:

1. the asset cap is raised to the smallest value that makes the problem feasible with the cluster
   cap lifted to one (``1 / n_assets`` when nothing is placed yet), then
2. the cluster cap is raised to the smallest value that makes it feasible with that asset cap
   (``1 / n_clusters`` for equal-size clusters),

each raised cap getting a relative margin of :data:`RELAXATION_MARGIN` (1%) so that the feasible
set keeps an interior. Each raise is returned as a record (kind ``cap_relaxation``) that the
profile adds to its fallbacks. Caps that are exactly feasible (the allocation is forced) are not
relaxed.

Projection (:func:`project_caps`)
---------------------------------
Profiles whose definition does not include the caps (``hrp``, ``risk_parity``, ``equal_weight``,
the barbell core) apply them afterwards, only when a cap binds, by iterative capping with
proportional redistribution, first across clusters and then inside each cluster:

1. cluster totals above ``min(C, sum of the cluster's asset caps)`` are cut to that level and the
   excess is spread over the other clusters in proportion to their totals, repeating until no
   cluster exceeds its cap;
2. inside each cluster the new total is split in proportion to the profile's weights, assets above
   the asset cap are cut to it and the excess is spread over the cluster's other assets likewise.

The projection keeps the ratios between the uncapped assets of a cluster and between the clusters
that are not capped (so between all assets of clusters holding no capped asset), sums to the same
total, and never raises a weight above a cap. It is not the Euclidean projection: it is chosen because it preserves
the profile's relative risk logic. What it moved is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clusterfolio.artifacts.fallbacks import Fallback, FallbackKind
from clusterfolio.errors import InfeasibleError

RELAXATION_MARGIN = 0.01
"""Relative margin added to a relaxed cap (1%)."""

FEASIBILITY_TOL = 1e-12
"""Capacities may fall short of the total by this much and still count as feasible."""

CAP_TOL = 1e-12
"""A weight may exceed its cap by this much before the projection runs."""


@dataclass(frozen=True)
class CapRelaxation:
    """The outcome of :func:`relax_caps`."""

    asset_cap: float
    cluster_cap: float
    records: list[Fallback] = field(default_factory=list)


def group_capacity(
    asset_cap: float,
    cluster_cap: float,
    k: np.ndarray,
    used: np.ndarray,
) -> np.ndarray:
    """Weight each group can still take: ``max(0, min(C - used, a * k))``."""
    return np.maximum(0.0, np.minimum(cluster_cap - used, asset_cap * k))


def _smallest(lo: float, hi: float, ok: Any) -> float:
    """Smallest value in ``[lo, hi]`` where the nondecreasing predicate ``ok`` holds."""
    for _ in range(200):
        if hi - lo <= 1e-15:
            break
        mid = 0.5 * (lo + hi)
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def relax_caps(
    asset_cap: float,
    cluster_cap: float,
    k: np.ndarray,
    *,
    used: np.ndarray | None = None,
    total: float = 1.0,
    what: str = "",
) -> CapRelaxation:
    """Raise infeasible caps to the smallest feasible values plus a 1% margin (recorded).

    Parameters
    ----------
    asset_cap, cluster_cap : float
        Configured caps.
    k : numpy.ndarray
        Per group, how many asset caps fit in it (its asset count, or ``1 / max(v)`` for fixed
        within-cluster weights ``v``).
    used : numpy.ndarray, optional
        Weight already placed in each group (zeros by default).
    total : float, default 1.0
        Weight to place.
    what : str
        Context for the record's detail.

    Returns
    -------
    CapRelaxation
        The caps to use and one record per raised cap.

    Raises
    ------
    InfeasibleError
        When even caps of one cannot hold ``total``.
    """
    k = np.asarray(k, dtype=np.float64)
    used = np.zeros_like(k) if used is None else np.asarray(used, dtype=np.float64)

    def feasible(a: float, c: float) -> bool:
        return bool(group_capacity(a, c, k, used).sum() >= total - FEASIBILITY_TOL)

    if feasible(asset_cap, cluster_cap):
        return CapRelaxation(asset_cap, cluster_cap)
    if not feasible(1.0, 1.0):
        raise InfeasibleError(
            f"{what or 'allocation'}: {total:.6g} of weight cannot be placed even with caps of 1 "
            f"(capacity {group_capacity(1.0, 1.0, k, used).sum():.6g})"
        )
    records: list[Fallback] = []
    new_asset = asset_cap
    if not feasible(asset_cap, 1.0):
        needed = _smallest(asset_cap, 1.0, lambda a: feasible(a, 1.0))
        new_asset = min(1.0, needed * (1.0 + RELAXATION_MARGIN))
        records.append(
            Fallback(
                FallbackKind.CAP_RELAXATION,
                f"{what + ': ' if what else ''}asset cap {asset_cap:.6g} cannot hold "
                f"{total:.6g} over {k.sum():.6g} asset slots; raised to the feasible minimum "
                f"{needed:.6g} plus a {RELAXATION_MARGIN:.0%} margin = {new_asset:.6g}",
                {"cap": "asset_cap", "from": float(asset_cap), "to": float(new_asset)},
            )
        )
    new_cluster = cluster_cap
    if not feasible(new_asset, cluster_cap):
        needed = _smallest(cluster_cap, 1.0, lambda c: feasible(new_asset, c))
        new_cluster = min(1.0, needed * (1.0 + RELAXATION_MARGIN))
        records.append(
            Fallback(
                FallbackKind.CAP_RELAXATION,
                f"{what + ': ' if what else ''}cluster cap {cluster_cap:.6g} over {len(k)} "
                f"clusters cannot hold {total:.6g}; raised to the feasible minimum "
                f"{needed:.6g} plus a {RELAXATION_MARGIN:.0%} margin = {new_cluster:.6g}",
                {"cap": "cluster_cap", "from": float(cluster_cap), "to": float(new_cluster)},
            )
        )
    return CapRelaxation(new_asset, new_cluster, records)


def waterfill(total: float, base: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Split ``total`` in proportion to ``base`` without exceeding ``caps``.

    Items whose share would exceed their cap are fixed at the cap and the rest is re-split over the
    others in proportion to ``base`` (in proportion to the free capacity when their base is all
    zero), until nothing exceeds.

    Parameters
    ----------
    total : float
        Amount to split (must not exceed ``caps.sum()`` beyond rounding).
    base : numpy.ndarray
        Nonnegative proportions.
    caps : numpy.ndarray
        Nonnegative upper bounds.

    Returns
    -------
    numpy.ndarray
        The split, summing to ``total``.
    """
    n = base.shape[0]
    out = np.zeros(n)
    free = np.ones(n, dtype=bool)
    remaining = float(total)
    for _ in range(n + 1):
        idx = np.flatnonzero(free)
        if idx.size == 0 or remaining <= 0.0:
            break
        weights = base[idx]
        if weights.sum() <= 0.0:
            weights = caps[idx]
        share = remaining * weights / weights.sum()
        over = share > caps[idx]
        if not over.any():
            out[idx] = share
            remaining = 0.0
            break
        hit = idx[over]
        out[hit] = caps[hit]
        remaining -= float(caps[hit].sum())
        free[hit] = False
    if remaining > 1e-9:
        raise InfeasibleError(f"caps cannot hold the weight ({remaining:.3g} left over)")
    return out


def caps_violation(
    weights: np.ndarray, groups: np.ndarray, asset_caps: np.ndarray, group_caps: np.ndarray
) -> float:
    """Largest excess of a weight or a group total over its cap (0 when all hold)."""
    totals = np.bincount(groups, weights=weights, minlength=group_caps.shape[0])
    return float(max(0.0, np.max(weights - asset_caps), np.max(totals - group_caps)))


def project_caps(
    weights: np.ndarray,
    groups: np.ndarray,
    asset_caps: np.ndarray,
    group_caps: np.ndarray,
    *,
    symbols: list[str] | None = None,
    group_labels: list[int] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Apply the caps by iterative capping with proportional redistribution (see module doc).

    Parameters
    ----------
    weights : numpy.ndarray
        Nonnegative weights (their sum is preserved).
    groups : numpy.ndarray
        Group (cluster) index ``0..K-1`` of each weight.
    asset_caps : numpy.ndarray
        Upper bound of each weight.
    group_caps : numpy.ndarray
        Upper bound of each group total.
    symbols, group_labels : list, optional
        Names used in the record.

    Returns
    -------
    tuple
        ``(projected, record)``; ``record["applied"]`` is False (and the weights untouched) when no
        cap binds.
    """
    w = np.asarray(weights, dtype=np.float64)
    if caps_violation(w, groups, asset_caps, group_caps) <= CAP_TOL:
        return w.copy(), {"applied": False, "moved_l1": 0.0}
    n_groups = group_caps.shape[0]
    totals = np.bincount(groups, weights=w, minlength=n_groups)
    asset_room = np.bincount(groups, weights=asset_caps, minlength=n_groups)
    effective = np.minimum(group_caps, asset_room)
    new_totals = waterfill(float(w.sum()), totals, effective)
    out = np.zeros_like(w)
    for g in range(n_groups):
        members = np.flatnonzero(groups == g)
        if members.size == 0:
            continue
        out[members] = waterfill(new_totals[g], w[members], asset_caps[members])
    capped_assets = np.flatnonzero(out >= asset_caps - 1e-12)
    capped_groups = np.flatnonzero(new_totals >= effective - 1e-12)
    names = symbols if symbols is not None else [str(i) for i in range(w.shape[0])]
    labels = group_labels if group_labels is not None else list(range(n_groups))
    record = {
        "applied": True,
        "moved_l1": float(np.abs(out - w).sum()),
        "capped_assets": [names[i] for i in capped_assets],
        "capped_clusters": [int(labels[g]) for g in capped_groups],
        "method": "iterative capping with proportional redistribution (clusters, then assets)",
    }
    return out, record
