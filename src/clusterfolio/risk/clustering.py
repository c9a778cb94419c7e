"""Hierarchical clustering of assets: Ward linkage, deterministic labels, cluster registry.

Determinism
-----------
:func:`ward_linkage` sorts the symbols before building the tree, so the observations of the
linkage are ``sorted(distance.columns)`` whatever the column order of the input: observation
``k`` of the linkage is the ``k``-th symbol in sorted order. :func:`cut` renumbers the flat
clusters by first appearance in that order: cluster 1 is the cluster of the first symbol in
sorted order, cluster 2 the cluster of the first symbol not in cluster 1, and so on.
:func:`cluster_labels` returns the labels as a Series indexed by symbol.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from clusterfolio.data.calendars import EXCHANGE_PERIODS_PER_YEAR
from clusterfolio.enums import Regime
from clusterfolio.errors import ConfigError, DataError
from clusterfolio.risk.correlation import intersection_correlation

__all__ = [
    "TRADING_DAYS",
    "ClusterInfo",
    "adaptive_threshold",
    "cluster_labels",
    "cluster_registry",
    "cut",
    "quasi_diag_order",
    "registry_records",
    "ward_linkage",
]

#: Sessions per year used to annualise volatility.
TRADING_DAYS = EXCHANGE_PERIODS_PER_YEAR

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _sorted_distance(distance: pd.DataFrame) -> pd.DataFrame:
    """Validate a distance matrix and return it with rows and columns in sorted symbol order."""
    if not isinstance(distance, pd.DataFrame):
        raise TypeError(f"distance must be a pandas DataFrame, got {type(distance).__name__}")
    if distance.shape[0] != distance.shape[1]:
        raise DataError(f"distance matrix must be square, got shape {distance.shape}")
    if distance.columns.has_duplicates:
        raise DataError("distance matrix has duplicated symbols")
    if set(distance.index) != set(distance.columns):
        raise DataError("distance matrix rows and columns name different symbols")
    order = sorted(distance.columns, key=str)
    return distance.loc[order, order]


def ward_linkage(distance: pd.DataFrame) -> FloatArray:
    """Ward linkage of a symmetric distance matrix.

    Parameters
    ----------
    distance : pandas.DataFrame
        Square, symmetric matrix of non-negative finite distances labelled by symbol on both
        axes (e.g. from :func:`~clusterfolio.risk.correlation.averaged_distance`).

    Returns
    -------
    numpy.ndarray
        SciPy linkage matrix of shape ``(n - 1, 4)`` (``(0, 4)`` for a single symbol) whose
        observations are the symbols in sorted order (see the module docstring).

    Raises
    ------
    DataError
        When the matrix is not square, not symmetric (beyond ``1e-10``), has NaN, infinite or
        negative entries, or rows and columns name different symbols.
    """
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    ordered = _sorted_distance(distance)
    d = ordered.to_numpy(dtype=np.float64, copy=True)
    if not np.isfinite(d).all():
        raise DataError("distance matrix has NaN or infinite entries")
    if (d < 0).any():
        raise DataError("distance matrix has negative entries")
    if not np.allclose(d, d.T, rtol=0.0, atol=1e-10):
        raise DataError("distance matrix is not symmetric")
    n = d.shape[0]
    if n < 2:
        return np.empty((0, 4), dtype=np.float64)
    d = 0.5 * (d + d.T)
    np.fill_diagonal(d, 0.0)
    condensed = squareform(d, checks=False)
    return np.asarray(linkage(condensed, method="ward"), dtype=np.float64)


def _renumber(raw: npt.ArrayLike) -> IntArray:
    """Renumber labels 1, 2, ... by order of first appearance."""
    raw_arr = np.asarray(raw)
    uniques, first, inverse = np.unique(raw_arr, return_index=True, return_inverse=True)
    rank = np.empty(uniques.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(1, uniques.size + 1)
    return rank[inverse.reshape(-1)]


def cut(linkage: npt.ArrayLike, threshold: float) -> IntArray:
    """Flat clusters of a linkage at a merge-height threshold.

    Parameters
    ----------
    linkage : array_like
        Linkage matrix from :func:`ward_linkage`.
    threshold : float
        Cophenetic distance threshold (``fcluster(criterion="distance")``): two observations
        share a cluster when they merge at a height of at most ``threshold``.

    Returns
    -------
    numpy.ndarray
        Integer labels, one per observation of the linkage (symbols in sorted order), renumbered
        by first appearance: the first observation is in cluster 1.
    """
    from scipy.cluster.hierarchy import fcluster

    if not np.isfinite(threshold) or threshold < 0:
        raise ValueError(f"threshold must be a finite non-negative number, got {threshold}")
    z = np.asarray(linkage, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] != 4:
        raise ValueError(f"linkage must have shape (n - 1, 4), got {z.shape}")
    if z.shape[0] == 0:
        return np.ones(1, dtype=np.int64)
    raw = fcluster(z, t=threshold, criterion="distance")
    return _renumber(raw)


def cluster_labels(distance: pd.DataFrame, threshold: float) -> pd.Series:
    """Ward clusters of a distance matrix cut at ``threshold``, as a Series indexed by symbol.

    Parameters
    ----------
    distance : pandas.DataFrame
        Distance matrix (see :func:`ward_linkage`).
    threshold : float
        Merge-height threshold (see :func:`cut`).

    Returns
    -------
    pandas.Series
        Integer cluster id per symbol (index in sorted symbol order, name ``"cluster"``).
    """
    z = ward_linkage(distance)
    symbols = sorted(distance.columns, key=str)
    return pd.Series(cut(z, threshold), index=pd.Index(symbols), name="cluster")


def quasi_diag_order(linkage: npt.ArrayLike) -> list[int]:
    """Leaf order of the dendrogram (quasi-diagonalisation for HRP and clustermaps).

    Parameters
    ----------
    linkage : array_like
        Linkage matrix from :func:`ward_linkage`.

    Returns
    -------
    list of int
        Observation indices (positions in sorted symbol order) from left to right.
    """
    from scipy.cluster.hierarchy import leaves_list

    z = np.asarray(linkage, dtype=np.float64)
    if z.shape[0] == 0:
        return [0]
    return [int(i) for i in leaves_list(z)]


def adaptive_threshold(base: float, regime: Regime, multipliers: Mapping[Regime, float]) -> float:
    """Clustering threshold scaled by the market regime.

    Parameters
    ----------
    base : float
        Base threshold (``RiskSettings.base_threshold``).
    regime : Regime
        Current regime.
    multipliers : mapping of Regime to float
        Multiplier per regime (``RiskSettings.threshold_by_regime``); below 1 in stress gives
        tighter (more, smaller) clusters.

    Returns
    -------
    float
        ``base * multipliers[regime]``.

    Raises
    ------
    ConfigError
        When the regime has no multiplier, or the base or multiplier is not positive.
    """
    key = Regime(regime)
    if key not in multipliers:
        raise ConfigError(
            f"risk.threshold_by_regime has no multiplier for {key.value}; "
            f"given: {sorted(str(getattr(k, 'value', k)) for k in multipliers)}"
        )
    factor = float(multipliers[key])
    if not base > 0 or not factor > 0:
        raise ConfigError(
            f"threshold base ({base}) and multiplier for {key.value} ({factor}) must be positive"
        )
    return float(base) * factor


@dataclass(frozen=True)
class ClusterInfo:
    """One risk bucket.

    Attributes
    ----------
    id : int
        Cluster id (see :func:`cut` for the numbering).
    members : tuple of str
        Symbols in sorted order.
    lead_asset : str
        Member with the highest lead score (ties, or no scores: first symbol in sorted order).
    mean_intra_correlation : float or None
        Mean intersection correlation over member pairs with a defined correlation; None for a
        singleton or when no pair is defined.
    volatility : float or None
        Annualised volatility (``sqrt(252)``) of the equal-weight cluster return (mean of the
        members that traded each session); None with fewer than two sessions.
    mean_fragility : float or None
        Mean fragility of the members that have one; None when none has.
    sector_homogeneity : float or None
        Share of members in the most common sector (members without a sector count in the
        denominator only); None when no sectors are given.
    dominant_sector : str or None
        The most common sector (ties by name); None when no member has a sector.
    """

    id: int
    members: tuple[str, ...]
    lead_asset: str
    mean_intra_correlation: float | None
    volatility: float | None
    mean_fragility: float | None
    sector_homogeneity: float | None
    dominant_sector: str | None = None
    size: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", len(self.members))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (plain ints, floats, strings, lists and None)."""
        return {
            "id": int(self.id),
            "members": list(self.members),
            "size": int(self.size),
            "lead_asset": self.lead_asset,
            "mean_intra_correlation": self.mean_intra_correlation,
            "volatility": self.volatility,
            "mean_fragility": self.mean_fragility,
            "sector_homogeneity": self.sector_homogeneity,
            "dominant_sector": self.dominant_sector,
        }


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _lead(members: Sequence[str], scores: Mapping[str, float] | None) -> str:
    """Highest score wins; missing or NaN scores rank last; ties go to the first symbol."""

    def key(symbol: str) -> tuple[float, str]:
        raw = scores.get(symbol) if scores is not None else None
        value = float(raw) if raw is not None and np.isfinite(raw) else -np.inf
        return (-value, symbol)

    return min(members, key=key)


#: The sector of a listing whose sector nobody stated (enrichment's placeholder).
UNCLASSIFIED = "Unclassified"


def _sector_stats(
    members: Sequence[str], sectors: Mapping[str, str] | None
) -> tuple[float | None, str | None]:
    if sectors is None:
        return None, None
    known = [sectors[m] for m in members if sectors.get(m) and sectors[m] != UNCLASSIFIED]
    if not known:
        return None, UNCLASSIFIED  # no member has a sector: no homogeneity to speak of
    counts = Counter(known)
    top = max(counts.values())
    dominant = min(s for s, c in counts.items() if c == top)
    return top / len(members), dominant


def cluster_registry(
    returns: pd.DataFrame,
    labels: pd.Series | Mapping[str, int],
    *,
    lead_scores: Mapping[str, float] | None = None,
    fragility: Mapping[str, float] | None = None,
    sectors: Mapping[str, str] | None = None,
    min_overlap: int = 20,
    periods_per_year: int = TRADING_DAYS,
) -> list[ClusterInfo]:
    """Describe every cluster: members, lead asset, correlation, volatility, fragility, sectors.

    Parameters
    ----------
    returns : pandas.DataFrame
        Return matrix (NaN where an asset did not trade); must contain every labelled symbol.
    labels : pandas.Series or mapping of str to int
        Cluster id per symbol (e.g. from :func:`cluster_labels`).
    lead_scores : mapping of str to float, optional
        Score per symbol; the lead asset of a cluster is its highest-scoring member.
    fragility : mapping of str to float, optional
        Fragility score per symbol (see :mod:`clusterfolio.risk.antifragility`).
    sectors : mapping of str to str, optional
        Sector per symbol.
    min_overlap : int, default 20
        Minimum overlap for the intra-cluster correlations (``SelectionSettings.min_overlap``).
    periods_per_year : int, default 252
        Annualisation factor of the cluster volatility.

    Returns
    -------
    list of ClusterInfo
        One entry per cluster, ordered by id; ``[c.to_dict() for c in ...]`` (or
        :func:`registry_records`) is JSON ready.

    Raises
    ------
    DataError
        When a labelled symbol is not a column of ``returns``.
    """
    series = labels if isinstance(labels, pd.Series) else pd.Series(dict(labels), dtype=object)
    missing = sorted(str(s) for s in series.index if s not in returns.columns)
    if missing:
        raise DataError(f"labelled symbols absent from the return matrix: {missing}")
    groups: dict[int, list[str]] = {}
    for symbol, label in series.items():
        groups.setdefault(int(label), []).append(str(symbol))
    out: list[ClusterInfo] = []
    for cid in sorted(groups):
        members = sorted(groups[cid])
        block = returns.loc[:, members]
        if len(members) > 1:
            corr = intersection_correlation(block, min_overlap=min_overlap).to_numpy()
            pairs = corr[np.triu_indices(len(members), k=1)]
            pairs = pairs[np.isfinite(pairs)]
            mean_corr = float(pairs.mean()) if pairs.size else None
        else:
            mean_corr = None
        with np.errstate(invalid="ignore"):
            ew = block.mean(axis=1, skipna=True).dropna()
        vol = (
            _finite_or_none(float(ew.std(ddof=1)) * float(np.sqrt(periods_per_year)))
            if len(ew) > 1
            else None
        )
        mean_frag: float | None = None
        if fragility is not None:
            vals = [float(fragility[m]) for m in members if m in fragility]
            finite = [v for v in vals if np.isfinite(v)]
            mean_frag = float(np.mean(finite)) if finite else None
        homogeneity, dominant = _sector_stats(members, sectors)
        out.append(
            ClusterInfo(
                id=cid,
                members=tuple(members),
                lead_asset=_lead(members, lead_scores),
                mean_intra_correlation=mean_corr,
                volatility=vol,
                mean_fragility=mean_frag,
                sector_homogeneity=homogeneity,
                dominant_sector=dominant,
            )
        )
    return out


def registry_records(clusters: Sequence[ClusterInfo]) -> list[dict[str, Any]]:
    """JSON-ready records of a cluster registry (one dict per cluster, ordered by id)."""
    return [c.to_dict() for c in clusters]
