"""How much a listing got, and why: the allocation half of ``clusterfolio explain SYMBOL``.

:func:`allocation` reads ``portfolio_optimized.json`` (and ``selection.parquet`` for the
direction's reason) of a run and returns, for one symbol, ticker or identity: the net and gross
weight in every risk profile, its cluster with the cluster's total and cap, the asset cap, why
the direction (a SHORT candidate is optimised on its negated returns, the "synthetic long"), and
every recorded fallback that moved it (a cap projection naming it or its cluster).

:func:`resolve_subject` says which listing a subject names; an unknown subject is a
:class:`~clusterfolio.errors.DataError` naming the closest known symbols and identities.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import pandas as pd

from clusterfolio.artifacts.discovery import RAW_POOL
from clusterfolio.artifacts.fallbacks import fallbacks_of
from clusterfolio.artifacts.portfolio import (
    PORTFOLIO,
    profiles_of,
    section_assets,
    section_clusters,
)
from clusterfolio.artifacts.selection import SELECTION_TABLE as SELECTION
from clusterfolio.errors import DataError
from clusterfolio.io import read_json


def _known(run_dir: Path, portfolio: dict[str, Any]) -> dict[str, set[str]]:
    """Key (symbol, ticker, identity; upper case) to the symbols it names."""
    out: dict[str, set[str]] = {}

    def add(symbol: str, identity: str = "") -> None:
        for key in {symbol, symbol.rpartition(":")[2], identity} - {""}:
            out.setdefault(key.upper(), set()).add(symbol)

    for name in (SELECTION, RAW_POOL):
        path = run_dir / name
        if path.exists():
            frame = pd.read_parquet(path, columns=["symbol", "identity"])
            for row in frame.itertuples(index=False):
                add(str(row.symbol), str(row.identity))
    for section in profiles_of(portfolio).values():
        for asset in section_assets(section):
            add(str(asset["symbol"]), str(asset.get("identity", "")))
    return out


def resolve_subject(subject: str, run_dir: Path) -> list[str]:
    """The symbols ``subject`` names in a run (a symbol, a ticker or an identity).

    Raises
    ------
    DataError
        When the run knows no such listing; the message lists the closest matches.
    """
    portfolio = read_json(run_dir / PORTFOLIO) if (run_dir / PORTFOLIO).exists() else {}
    known = _known(run_dir, portfolio)
    key = subject.strip().upper()
    if key in known:
        return sorted(known[key])
    close = difflib.get_close_matches(key, sorted(known), n=5, cutoff=0.5)
    raise DataError(
        f"{subject!r} is not a listing or identity of run {run_dir.name}; closest: "
        + (", ".join(close) if close else "none")
    )


def _direction_reason(direction: str, row: dict[str, Any] | None) -> str:
    if direction == "SHORT":
        base = (
            "SHORT: the candidate was found by a short screen and is optimised on its negated "
            "returns exactly once (synthetic long); its net weight is minus its gross weight"
        )
    else:
        base = "LONG: held as is"
    if row is not None and row.get("total_return") is not None:
        base += (
            f"; synthetic-long return over the selection window {float(row['total_return']):+.1%}"
        )
    return base


def _fallbacks(portfolio: dict[str, Any], symbol: str, cluster: Any) -> list[str]:
    out = []
    for name, section in sorted(profiles_of(portfolio).items()):
        for fb in fallbacks_of(section.get("fallbacks")):
            detail = fb.detail or ""
            clusters = re.search(r"capped clusters \[([^\]]*)\]", detail)
            in_cluster = clusters is not None and str(cluster) in [
                c.strip() for c in clusters.group(1).split(",")
            ]
            if f"'{symbol}'" in detail or symbol in detail.split() or in_cluster:
                why = "names it" if symbol in detail else f"caps its cluster {cluster}"
                out.append(f"{name}: {fb.kind or 'fallback'} ({why}): {detail}")
    return out


def allocation(symbol: str, run_dir: Path) -> dict[str, Any]:
    """The allocation of one listing in every profile (see the module docstring)."""
    portfolio = read_json(run_dir / PORTFOLIO) if (run_dir / PORTFOLIO).exists() else {}
    profiles: dict[str, dict[str, Any]] = {}
    info: dict[str, Any] = {}
    for name, section in sorted(profiles_of(portfolio).items()):
        asset = next((a for a in section_assets(section) if a["symbol"] == symbol), None)
        clusters = section_clusters(section)
        if asset is None:
            profiles[name] = {"net": 0.0, "gross": 0.0}
            continue
        info = info or asset
        total = clusters.get(str(asset.get("cluster"))) or {}
        profiles[name] = {
            "net": float(asset.get("net", 0.0)),
            "gross": float(asset.get("gross", 0.0)),
            "cluster_gross": total.get("gross"),
        }
    row: dict[str, Any] | None = None
    if (run_dir / SELECTION).exists():
        frame = pd.read_parquet(run_dir / SELECTION)
        hit = frame[frame["symbol"] == symbol]
        if not hit.empty:
            row = {str(k): v for k, v in hit.iloc[0].to_dict().items()}
    direction = str(info.get("direction") or (row or {}).get("direction") or "LONG")
    cluster = info.get("cluster", (row or {}).get("cluster"))
    return {
        "symbol": symbol,
        "identity": info.get("identity") or (row or {}).get("identity"),
        "asset_class": info.get("asset_class") or (row or {}).get("asset_class"),
        "cluster": cluster,
        "cluster_cap": portfolio.get("cluster_cap"),
        "asset_cap": portfolio.get("asset_cap"),
        "direction": direction,
        "direction_reason": _direction_reason(direction, row),
        "profiles": profiles,
        "in_portfolio": bool(info),
        "fallbacks": _fallbacks(portfolio, symbol, cluster) if info else [],
    }


def allocation_lines(doc: dict[str, Any], accepted: str | None = None) -> list[str]:
    """An allocation as terminal lines (weights as percentages)."""
    if not doc["in_portfolio"]:
        return [f"{doc['symbol']}: no weight in any profile (not among the optimised winners)"]
    cap = doc.get("cluster_cap")
    out = [
        f"{doc['symbol']}: cluster {doc['cluster']} (cluster cap "
        + (f"{float(cap):.0%}" if cap is not None else "?")
        + (f", asset cap {float(doc['asset_cap']):.0%}" if doc.get("asset_cap") is not None else "")
        + f"); direction {doc['direction_reason']}",
        f"  {'profile':<14} {'net':>9} {'gross':>9} {'cluster gross':>14}",
    ]
    for name, w in doc["profiles"].items():
        mark = " (accepted)" if name == accepted else ""
        cluster_gross = w.get("cluster_gross")
        shown = "" if cluster_gross is None else f"{float(cluster_gross):.2%}"
        out.append(f"  {name:<14} {w['net']:>+9.2%} {w['gross']:>9.2%} {shown:>14}{mark}")
    for fb in doc["fallbacks"]:
        out.append(f"  fallback {fb}")
    return out
