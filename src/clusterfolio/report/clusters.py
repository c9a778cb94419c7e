"""``cluster_analysis.md``: the risk buckets of step 9 and their members' tail statistics.

The closest cluster of each bucket is the one with the smallest mean pairwise distance between
their members in ``clustermap.parquet`` (the averaged intersection-correlation distance the
clustering used); it says which bucket is the least diversifying substitute.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.artifacts.risk import cluster_records
from clusterfolio.report.artifacts import ANTIFRAGILITY, CLUSTERMAP, CLUSTERS, RunArtifacts
from clusterfolio.report.config import ReportConfig
from clusterfolio.report.markdown import Markdown, fmt_float, fmt_pct
from clusterfolio.report.portfolio import fragility_marker

__all__ = ["closest_clusters", "render_cluster_analysis"]


def closest_clusters(
    distance: pd.DataFrame, labels: dict[str, int]
) -> dict[int, tuple[int, float]]:
    """For each cluster, the other cluster with the smallest mean member distance.

    Parameters
    ----------
    distance : pandas.DataFrame
        Symmetric distance matrix (symbols × symbols).
    labels : dict of str to int
        Cluster of each symbol.

    Returns
    -------
    dict of int to (int, float)
        ``cluster -> (closest cluster, mean distance)``; clusters without another are absent.
    """
    groups: dict[int, list[str]] = {}
    for symbol, cluster in labels.items():
        if symbol in distance.index:
            groups.setdefault(int(cluster), []).append(symbol)
    out: dict[int, tuple[int, float]] = {}
    for a, members_a in sorted(groups.items()):
        best: tuple[int, float] | None = None
        for b, members_b in sorted(groups.items()):
            if a == b:
                continue
            block = distance.loc[members_a, members_b].to_numpy(dtype=np.float64)
            mean = float(np.nanmean(block)) if np.isfinite(block).any() else np.nan
            if np.isfinite(mean) and (best is None or mean < best[1]):
                best = (b, mean)
        if best is not None:
            out[a] = best
    return out


def _buckets_section(
    md: Markdown, clusters: list[dict[str, Any]], closest: dict[int, tuple[int, float]]
) -> None:
    """The risk buckets table: one row per cluster."""
    md.h2("Risk buckets")
    rows = []
    for c in clusters:
        cid = int(c["id"])
        near = closest.get(cid)
        rows.append(
            [
                cid,
                c.get("size", len(c.get("members", []))),
                c.get("lead_asset", ""),
                (
                    fmt_float(c.get("mean_intra_correlation"), 2)
                    if len(c.get("members", [])) > 1
                    else "— (single)"
                ),
                fmt_pct(c.get("volatility"), 1),
                fragility_marker(c.get("mean_fragility")),
                c.get("dominant_sector") or "—",
                fmt_pct(c.get("sector_homogeneity"), 0),
                f"{near[0]} ({fmt_float(near[1], 3)})" if near else "—",
            ]
        )
    md.table(
        [
            "Cluster",
            "Size",
            "Lead asset",
            "Intra corr",
            "Volatility",
            "Fragility",
            "Dominant sector",
            "Homogeneity",
            "Closest cluster (distance)",
        ],
        rows,
        "rrlrrllrl",
    )


def _members_section(md: Markdown, clusters: list[dict[str, Any]], arts: RunArtifacts) -> None:
    """The members table: one row per asset with its tail statistics."""
    md.h2("Members")
    table = arts.parquet(ANTIFRAGILITY)
    if table is None:
        md.missing(ANTIFRAGILITY, "members listed without tail statistics")
    member_rows = []
    for c in clusters:
        lead = c.get("lead_asset")
        directions = c.get("directions") or {}
        for m in sorted(c.get("members", [])):
            stats = table.loc[m] if table is not None and m in table.index else None

            def get(key: str, stats: Any = stats) -> Any:
                return None if stats is None else stats.get(key)

            member_rows.append(
                [
                    c["id"],
                    m,
                    "lead" if m == lead else "",
                    directions.get(m, "LONG"),
                    fragility_marker(get("fragility")),
                    fmt_float(get("antifragility"), 2),
                    fmt_float(get("skew"), 2),
                    fmt_pct(get("cvar_95"), 2),
                    fmt_pct(get("max_drawdown"), 1),
                ]
            )
    md.table(
        [
            "Cluster",
            "Asset",
            "Role",
            "Direction",
            "Fragility",
            "Antifragility",
            "Skew",
            "CVaR 95%",
            "Max drawdown",
        ],
        member_rows,
        "rlllrrrrr",
    )


def render_cluster_analysis(arts: RunArtifacts, config: ReportConfig) -> str:
    """Render ``cluster_analysis.md`` (``clusters.json`` is required)."""
    doc = arts.require_json(CLUSTERS)
    clusters = cluster_records(doc)
    md = Markdown()
    md.h1(f"Cluster analysis: {config.as_of}")
    sizes = [int(c.get("size", len(c.get("members", [])))) for c in clusters]
    md.bullets(
        [
            f"{len(clusters)} clusters of {sum(sizes)} assets (largest {max(sizes, default=0)}, "
            f"{sum(1 for s in sizes if s == 1)} singletons)",
            f"Ward linkage cut at distance {fmt_float(doc.get('threshold'), 4)} "
            f"(base {fmt_float(doc.get('base_threshold'), 4)}, regime {doc.get('regime', 'n/a')})",
            "Distance: intersection correlation averaged over the lookbacks "
            + ", ".join(str(x) for x in doc.get("lookbacks", []))
            + " sessions",
        ]
    )
    distance = arts.parquet(CLUSTERMAP)
    closest: dict[int, tuple[int, float]] = {}
    if distance is None:
        md.missing(CLUSTERMAP, "no closest-cluster column and no clustermap picture")
    else:
        closest = closest_clusters(
            distance, {str(k): int(v) for k, v in doc.get("labels", {}).items()}
        )
        md.add("![Clustermap](clustermap.png)")
    _buckets_section(md, clusters, closest)
    _members_section(md, clusters, arts)
    md.add(
        "Statistics on the synthetic-long returns of the audited matrix: a SHORT member is "
        "measured on its negated returns (see `antifragility.parquet`)."
    )
    return md.render()
