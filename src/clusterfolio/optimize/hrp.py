"""Hierarchical risk parity (López de Prado, 2016) on numpy index arrays.

Algorithm
---------
1. Distance ``d_ij = sqrt(0.5 * (1 - rho_ij))`` from the correlation (clipped to ``[0, 1]``), the
   same as skfolio's ``PearsonDistance``.
2. Agglomerative clustering of the condensed distance with scipy's ``linkage`` (Ward by default;
   any scipy method, e.g. ``single`` as in the original paper).
3. Quasi-diagonalisation: the dendrogram's leaf order (``leaves_list``). Optionally the optimal
   leaf ordering of Bar-Joseph et al. (scipy's ``optimal_leaf_ordering``), which is what skfolio's
   default ``HierarchicalSeriation`` applies; the classic algorithm (and our default) uses the
   plain leaf order.
4. Recursive bisection of the ordered list: each segment is split in two halves (``n // 2``);
   each half gets its inverse-variance portfolio, whose variance ``V`` is computed from the
   covariance; the left half's weights are multiplied by ``1 - V_left / (V_left + V_right)`` and
   the right half's by the complement.

The covariance is reordered once, so every half is a contiguous block, and the bisection runs
level by level with a few numpy operations per level (block sums by ``np.add.reduceat``), not per
split. The result equals skfolio's
``HierarchicalRiskParity(risk_measure=VARIANCE)`` given the same covariance, distance, linkage
method and leaf ordering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.cluster.hierarchy as sch
from scipy.spatial.distance import squareform

from clusterfolio.errors import OptimizationError

LinkageMethod = Literal["ward", "single", "complete", "average", "weighted", "centroid", "median"]
LINKAGE_METHODS: tuple[str, ...] = (
    "ward",
    "single",
    "complete",
    "average",
    "weighted",
    "centroid",
    "median",
)


def correlation_distance(corr: np.ndarray) -> np.ndarray:
    """Angular distance ``sqrt(clip(0.5 * (1 - rho), 0, 1))``."""
    return np.sqrt(np.clip(0.5 * (1.0 - corr), 0.0, 1.0))


def leaf_order(
    corr: np.ndarray,
    *,
    linkage_method: str = "ward",
    optimal_leaf_ordering: bool = False,
) -> np.ndarray:
    """Quasi-diagonal order of the assets (dendrogram leaves).

    Parameters
    ----------
    corr : numpy.ndarray
        Correlation matrix.
    linkage_method : str, default "ward"
        scipy linkage method.
    optimal_leaf_ordering : bool, default False
        Reorder the leaves optimally (skfolio's default seriation) instead of the plain order.

    Returns
    -------
    numpy.ndarray
        Permutation of ``range(n)``.
    """
    n = corr.shape[0]
    if n <= 2:
        return np.arange(n)
    if linkage_method not in LINKAGE_METHODS:
        raise OptimizationError(
            f"unknown linkage method {linkage_method!r}; allowed: {list(LINKAGE_METHODS)}"
        )
    condensed = squareform(correlation_distance(corr), checks=False)
    link = sch.linkage(condensed, method=linkage_method)
    if optimal_leaf_ordering:
        link = sch.optimal_leaf_ordering(link, condensed)
    return np.asarray(sch.leaves_list(link), dtype=np.intp)


def _segment_variances(scaled: np.ndarray, inv: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Variance of the inverse-variance portfolio of each contiguous segment."""
    blocks = np.add.reduceat(np.add.reduceat(scaled, starts, axis=0), starts, axis=1)
    inv_sums = np.add.reduceat(inv, starts)
    return np.asarray(np.diagonal(blocks) / (inv_sums * inv_sums))


def _clamp_to_bounds(
    alpha: np.ndarray,
    parent: np.ndarray,
    lower: tuple[np.ndarray, np.ndarray],
    upper: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """skfolio's bounded split: the left share within its bounds, then the right share."""
    lo_left, lo_right = lower
    up_left, up_right = upper
    alpha = np.minimum(up_left / parent, np.maximum(lo_left / parent, alpha))
    return np.asarray(1.0 - np.minimum(up_right / parent, np.maximum(lo_right / parent, 1 - alpha)))


def _ordered_bounds(
    order: np.ndarray, lower: np.ndarray | None, upper: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Lower and upper bounds in ``order`` (0 and 1 when absent), and whether any was given.

    Raises
    ------
    OptimizationError
        When the bounds cannot hold a total weight of one.
    """
    n = order.shape[0]
    lo = np.zeros(n) if lower is None else np.asarray(lower, dtype=np.float64)[order]
    up = np.ones(n) if upper is None else np.asarray(upper, dtype=np.float64)[order]
    bounded = lower is not None or upper is not None
    if bounded and (lo.sum() > 1.0 + 1e-12 or up.sum() < 1.0 - 1e-12):
        raise OptimizationError(
            f"HRP bounds cannot hold a weight of one (sum of lower {lo.sum():.6g}, "
            f"sum of upper {up.sum():.6g})"
        )
    return lo, up, bounded


def recursive_bisection(
    cov: np.ndarray,
    order: np.ndarray,
    *,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    group_caps: GroupCaps | None = None,
) -> np.ndarray:
    """HRP weights by recursive bisection of ``order`` with inverse-variance cluster allocation.

    The tree is processed level by level. With the covariance reordered once and scaled to
    ``M = diag(1/σ²) Σ diag(1/σ²)``, the variance of the inverse-variance portfolio of a contiguous
    segment ``S`` is ``sum(M[S, S]) / sum(1/σ²[S])²``; the block sums of every segment of a level
    come from two ``np.add.reduceat`` calls, so each level costs a few numpy operations whatever
    its number of segments.

    Bounds (bounded HRP)
    --------------------
    With per-asset ``lower`` / ``upper`` bounds each split factor ``α`` of a segment of weight
    ``W`` is clamped as skfolio's ``HierarchicalRiskParity(min_weights, max_weights)`` does: the
    left half's weight ``α W`` into ``[Σ lower_L, Σ upper_L]``, then the right half's ``(1-α) W``
    into ``[Σ lower_R, Σ upper_R]``. With ``group_caps`` (cluster caps on groups that need not be
    contiguous in the leaf order) each split is further clamped into the interval of left
    weights for which the whole allocation stays feasible given every segment fixed so far
    (:func:`feasible_split`: one linear program, three when the split must move; none when no
    group touching the segment can reach its cap); the splits of a level are taken left to
    right. Every bound is then honoured by construction: a projection is never needed.

    Parameters
    ----------
    cov : numpy.ndarray
        Covariance matrix (any positive scale: weights are scale-free).
    order : numpy.ndarray
        Quasi-diagonal order of the assets.
    lower, upper : numpy.ndarray, optional
        Per-asset bounds in the input order (``Σ lower <= 1 <= Σ upper``).
    group_caps : GroupCaps, optional
        Caps on the total weight of groups of assets (clusters).

    Returns
    -------
    numpy.ndarray
        Weights in the original asset order, summing to one.

    Raises
    ------
    OptimizationError
        When a variance is zero or not finite, or the bounds cannot hold a weight of one.
    """
    n = order.shape[0]
    ordered = cov[np.ix_(order, order)]
    variances = np.diag(ordered).copy()
    if not np.all(np.isfinite(variances)) or np.any(variances <= 0):
        raise OptimizationError("HRP needs strictly positive, finite variances")
    lo, up, bounded = _ordered_bounds(order, lower, upper)
    if group_caps is not None:
        # when the allocation without the group caps already holds them, no split could have been
        # clamped (the allocation itself completes every partial one): it is the answer
        free = recursive_bisection(cov, order, lower=lower, upper=upper)
        totals = np.bincount(group_caps.groups, weights=free, minlength=group_caps.caps.shape[0])
        if np.all(totals <= group_caps.caps + 1e-12):
            return free
    groups = None if group_caps is None else group_caps.reordered(order)
    inv = 1.0 / variances
    scaled = ordered * inv[:, None] * inv[None, :]
    weights = np.ones(n)
    starts = np.array([0], dtype=np.intp)
    while True:
        sizes = np.diff(np.append(starts, n))
        split = sizes > 1
        if not split.any():
            break
        mids = starts + sizes // 2
        # the next level: every segment of size > 1 replaced by its two halves (still a partition)
        new_starts = np.sort(np.concatenate([starts, mids[split]]))
        seg_var = _segment_variances(scaled, inv, new_starts)
        left = np.searchsorted(new_starts, starts[split])
        right = left + 1
        total = seg_var[left] + seg_var[right]
        if not np.all(np.isfinite(total)) or np.any(total <= 0):
            raise OptimizationError("HRP cannot split clusters with zero or non-finite variance")
        alpha = 1.0 - seg_var[left] / total
        parent = weights[new_starts[left]]
        live = parent > 0  # a segment left with no weight keeps none, whatever its split
        parent = np.where(live, parent, 1.0)
        if bounded:
            lo_sums, up_sums = np.add.reduceat(lo, new_starts), np.add.reduceat(up, new_starts)
            alpha = _clamp_to_bounds(
                alpha, parent, (lo_sums[left], lo_sums[right]), (up_sums[left], up_sums[right])
            )
        if groups is not None:
            alpha = _clamp_to_groups(alpha, weights, new_starts, left, starts, (lo, up), groups)
        alpha = np.where(live, alpha, 0.5)
        factor = np.ones(new_starts.shape[0])
        factor[left] = alpha
        factor[right] = 1.0 - alpha
        weights *= np.repeat(factor, np.diff(np.append(new_starts, n)))
        starts = new_starts
    out = np.empty(n)
    out[order] = weights
    return out


@dataclass(frozen=True)
class GroupCaps:
    """Caps on the total weight of groups of assets (clusters).

    Attributes
    ----------
    groups : numpy.ndarray
        Group index ``0..K-1`` of each asset (input order).
    caps : numpy.ndarray
        Cap of each group's total weight.
    """

    groups: np.ndarray
    caps: np.ndarray

    def reordered(self, order: np.ndarray) -> GroupCaps:
        """The same caps with the assets permuted by ``order``."""
        return GroupCaps(np.asarray(self.groups)[order], np.asarray(self.caps, dtype=np.float64))

    def can_bind(self, upper: np.ndarray) -> bool:
        """Whether some group cap is below what its members could hold (at most one in all)."""
        room = np.bincount(self.groups, weights=upper, minlength=self.caps.shape[0])
        return bool(np.any(np.minimum(room, 1.0) > self.caps + 1e-12))

    def slack_for(
        self, members: np.ndarray, segment_of: np.ndarray, totals: np.ndarray, upper: np.ndarray
    ) -> bool:
        """Whether no cap of a group holding one of ``members`` can bind, however they split.

        A group's total is at most ``Σ_s min(T_s, Σ_{i in s ∩ g} upper_i)`` over the segments
        ``s``; splitting a segment only lowers that bound, so when it is within the cap of every
        group touching ``members`` the split is free of the group caps.
        """
        touched = np.unique(self.groups[members])
        n_seg = totals.shape[0]
        for g in touched:
            in_group = self.groups == g
            room = np.bincount(segment_of[in_group], weights=upper[in_group], minlength=n_seg)
            if float(np.minimum(room, totals).sum()) > float(self.caps[g]) + 1e-12:
                return False
        return True


def feasible_split(
    segment_totals: np.ndarray,
    segment_of: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    groups: GroupCaps,
    left: np.ndarray,
    target: float,
) -> float:
    """The weight of the assets ``left`` nearest to ``target`` among the feasible allocations.

    Feasible: ``lower <= w <= upper``, each segment ``s`` sums to ``segment_totals[s]`` and each
    group total is at most its cap. One linear program (HiGHS) checks ``target``; only when it is
    infeasible two more give the interval ``[min, max]`` of ``Σ w[left]`` it is clamped into.

    Raises
    ------
    OptimizationError
        When no allocation is feasible.
    """
    from scipy.optimize import linprog

    n = lower.shape[0]
    a_eq = np.zeros((segment_totals.shape[0] + 1, n))
    a_eq[segment_of, np.arange(n)] = 1.0
    a_eq[-1, left] = 1.0
    a_ub = np.zeros((groups.caps.shape[0], n))
    a_ub[groups.groups, np.arange(n)] = 1.0
    bounds = np.column_stack([lower, upper])

    def solve(cost: np.ndarray, rows: int, rhs: np.ndarray) -> Any:
        return linprog(
            cost,
            A_ub=a_ub,
            b_ub=groups.caps,
            A_eq=a_eq[:rows],
            b_eq=rhs,
            bounds=bounds,
            method="highs",
        )

    n_rows = a_eq.shape[0]
    if solve(np.zeros(n), n_rows, np.append(segment_totals, target)).status == 0:
        return target
    out = []
    for sign in (1.0, -1.0):
        res = solve(sign * a_eq[-1], n_rows - 1, segment_totals)
        if res.status != 0:
            raise OptimizationError(f"HRP split under the caps is infeasible ({res.message})")
        out.append(sign * float(res.fun))
    return min(max(target, out[0]), out[1])


def _clamp_to_groups(
    alpha: np.ndarray,
    weights: np.ndarray,
    new_starts: np.ndarray,
    left: np.ndarray,
    starts: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
    groups: GroupCaps,
) -> np.ndarray:
    """Clamp each split of a level, left to right, into its feasible interval under group caps.

    ``weights[s]`` is the total of the segment starting at ``s`` (every member of a segment holds
    the product of the split factors above it).
    """
    lower, upper = bounds
    if not groups.can_bind(upper):
        return alpha
    n = lower.shape[0]
    alpha = alpha.copy()
    totals = {int(s): float(weights[s]) for s in starts}
    for j, li in enumerate(left):
        a, b = int(new_starts[li]), int(new_starts[li + 1])
        parent = totals[a]
        if parent <= 0:
            totals[b] = 0.0
            continue
        seg_starts = np.array(sorted(totals), dtype=np.intp)
        segment_of = np.searchsorted(seg_starts, np.arange(n), side="right") - 1
        seg_totals = np.array([totals[int(s)] for s in seg_starts])
        stop = int(seg_starts[np.searchsorted(seg_starts, a) + 1]) if a != seg_starts[-1] else n
        if groups.slack_for(np.arange(a, stop), segment_of, seg_totals, upper):
            totals[a] = alpha[j] * parent
            totals[b] = parent - totals[a]
            continue
        w_left = feasible_split(
            seg_totals, segment_of, lower, upper, groups, np.arange(a, b), alpha[j] * parent
        )
        alpha[j] = w_left / parent
        totals[a] = w_left
        totals[b] = parent - w_left
    return alpha


def hrp_weights(
    cov: np.ndarray,
    corr: np.ndarray,
    *,
    linkage_method: str = "ward",
    optimal_leaf_ordering: bool = False,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    group_caps: GroupCaps | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Hierarchical risk parity weights (bounded when bounds or group caps are given).

    Parameters
    ----------
    cov : numpy.ndarray
        Covariance matrix.
    corr : numpy.ndarray
        Correlation matrix used for the distance.
    linkage_method : str, default "ward"
        scipy linkage method.
    optimal_leaf_ordering : bool, default False
        Use scipy's optimal leaf ordering (skfolio's default) instead of the plain leaf order.
    lower, upper : numpy.ndarray, optional
        Per-asset weight bounds (see :func:`recursive_bisection`).
    group_caps : GroupCaps, optional
        Caps on group (cluster) totals.

    Returns
    -------
    tuple
        ``(weights, order)``: weights in the input order (sum one) and the leaf order used.
    """
    if cov.shape[0] == 1:
        return np.ones(1), np.zeros(1, dtype=np.intp)
    order = leaf_order(
        corr, linkage_method=linkage_method, optimal_leaf_ordering=optimal_leaf_ordering
    )
    weights = recursive_bisection(cov, order, lower=lower, upper=upper, group_caps=group_caps)
    return weights, order
