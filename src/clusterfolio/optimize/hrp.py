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

from typing import Literal

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


def recursive_bisection(cov: np.ndarray, order: np.ndarray) -> np.ndarray:
    """HRP weights by recursive bisection of ``order`` with inverse-variance cluster allocation.

    The tree is processed level by level. With the covariance reordered once and scaled to
    ``M = diag(1/σ²) Σ diag(1/σ²)``, the variance of the inverse-variance portfolio of a contiguous
    segment ``S`` is ``sum(M[S, S]) / sum(1/σ²[S])²``; the block sums of every segment of a level
    come from two ``np.add.reduceat`` calls, so each level costs a few numpy operations whatever
    its number of segments.

    Parameters
    ----------
    cov : numpy.ndarray
        Covariance matrix (any positive scale: weights are scale-free).
    order : numpy.ndarray
        Quasi-diagonal order of the assets.

    Returns
    -------
    numpy.ndarray
        Weights in the original asset order, summing to one.

    Raises
    ------
    OptimizationError
        When a variance is zero or not finite.
    """
    n = order.shape[0]
    ordered = cov[np.ix_(order, order)]
    variances = np.diag(ordered).copy()
    if not np.all(np.isfinite(variances)) or np.any(variances <= 0):
        raise OptimizationError("HRP needs strictly positive, finite variances")
    inv = 1.0 / variances
    scaled = ordered * inv[:, None] * inv[None, :]
    weights = np.ones(n)
    starts = np.array([0], dtype=np.intp)
    stops = np.array([n], dtype=np.intp)
    while True:
        sizes = stops - starts
        split = sizes > 1
        if not split.any():
            break
        mids = starts + sizes // 2
        # the next level: every segment of size > 1 replaced by its two halves (still a partition)
        new_starts = np.sort(np.concatenate([starts, mids[split]]))
        new_stops = np.append(new_starts[1:], n)
        blocks = np.add.reduceat(np.add.reduceat(scaled, new_starts, axis=0), new_starts, axis=1)
        inv_sums = np.add.reduceat(inv, new_starts)
        seg_var = np.diagonal(blocks) / (inv_sums * inv_sums)
        left = np.searchsorted(new_starts, starts[split])
        right = left + 1
        total = seg_var[left] + seg_var[right]
        if not np.all(np.isfinite(total)) or np.any(total <= 0):
            raise OptimizationError("HRP cannot split clusters with zero or non-finite variance")
        alpha = 1.0 - seg_var[left] / total
        factor = np.ones(new_starts.shape[0])
        factor[left] = alpha
        factor[right] = 1.0 - alpha
        weights *= np.repeat(factor, new_stops - new_starts)
        starts, stops = new_starts, new_stops
    out = np.empty(n)
    out[order] = weights
    return out


def hrp_weights(
    cov: np.ndarray,
    corr: np.ndarray,
    *,
    linkage_method: str = "ward",
    optimal_leaf_ordering: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Hierarchical risk parity weights.

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
    return recursive_bisection(cov, order), order
