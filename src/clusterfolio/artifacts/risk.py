"""Risk artifacts (steps 9 and 10): clusters, antifragility statistics, regime."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ANTIFRAGILITY",
    "CLUSTERMAP",
    "CLUSTERS",
    "REGIME",
    "REGIME_SERIES",
    "cluster_records",
]

CLUSTERS = "clusters.json"
"""The risk buckets: Ward clusters of the audited universe and their registry."""
CLUSTERMAP = "clustermap.parquet"
"""The ordered correlation matrix behind the clusters."""
ANTIFRAGILITY = "antifragility.parquet"
"""Antifragility and fragility statistics per symbol."""
REGIME = "regime.json"
"""The market regime as of the run's date, its features and score."""
REGIME_SERIES = "regime_series.parquet"
"""The regime score and label per session."""


def cluster_records(doc: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The clusters of a ``clusters.json`` document, by id (records that are not objects are left
    out; empty when the document has no ``clusters`` list)."""
    raw = (doc or {}).get("clusters")
    records = [c for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []
    return sorted(records, key=lambda c: int(c["id"]))
