"""Within-cluster hybrid weights: stability (inverse variance) blended with momentum.

For the assets ``i`` of a cluster, with ``m`` = ``within_cluster_momentum_weight``:

* stability leg ``s_i = (1 / σ_i²) / Σ_j (1 / σ_j²)`` (inverse variance, the minimum-variance
  portfolio of uncorrelated assets);
* momentum leg ``p_i = max(score_i, 0) / Σ_j max(score_j, 0)`` from the execution scores (ratio
  scale, so the score's units do not matter); when no asset of the cluster has a positive score the
  momentum leg is equal weight (recorded);
* hybrid ``v_i = (1 - m) s_i + m p_i`` (sums to one inside the cluster).

A cluster of one asset has ``v = 1``. A cluster-level profile allocates across the clusters'
hybrid sub-portfolios and spreads each cluster's weight by ``v`` (after capping ``v`` at
``max(asset_cap / cluster_cap, 1 / n_c)``, see :mod:`clusterfolio.optimize.profiles`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class HybridWeights:
    """Within-cluster weights and the clusters whose momentum leg fell back to equal weight."""

    weights: np.ndarray
    equal_momentum_clusters: list[int] = field(default_factory=list)


def hybrid_weights(
    variances: np.ndarray,
    scores: np.ndarray,
    groups: np.ndarray,
    momentum_weight: float,
    *,
    group_labels: list[int] | None = None,
) -> HybridWeights:
    """Within-cluster hybrid weights (see module doc).

    Parameters
    ----------
    variances : numpy.ndarray
        Asset variances (positive).
    scores : numpy.ndarray
        Execution scores (missing ones already set to 0).
    groups : numpy.ndarray
        Cluster index ``0..K-1`` of each asset.
    momentum_weight : float
        Blend ``m`` in [0, 1].
    group_labels : list of int, optional
        Cluster ids for the record.

    Returns
    -------
    HybridWeights
        ``weights`` sum to one inside each cluster.
    """
    n_groups = int(groups.max()) + 1 if groups.size else 0
    inv = 1.0 / variances
    inv_sum = np.bincount(groups, weights=inv, minlength=n_groups)
    stability = inv / inv_sum[groups]
    positive = np.maximum(scores, 0.0)
    pos_sum = np.bincount(groups, weights=positive, minlength=n_groups)
    sizes = np.bincount(groups, minlength=n_groups).astype(np.float64)
    flat = pos_sum <= 0.0
    momentum = np.where(
        flat[groups], 1.0 / sizes[groups], positive / np.where(flat, 1.0, pos_sum)[groups]
    )
    weights = (1.0 - momentum_weight) * stability + momentum_weight * momentum
    total = np.bincount(groups, weights=weights, minlength=n_groups)
    weights = weights / total[groups]
    labels = group_labels if group_labels is not None else list(range(n_groups))
    equal = (
        [int(labels[g]) for g in np.flatnonzero(flat & (sizes > 1))] if momentum_weight > 0 else []
    )
    return HybridWeights(weights=weights, equal_momentum_clusters=equal)
