"""Asset metadata for the reports, taken from the artifacts in a fixed order of precedence.

For each symbol: the portfolio row of ``portfolio_optimized.json`` (filled from ``winners.json``
by the optimisation step), then ``winners.json`` itself, then the raw pool (``raw_pool.parquet``
for the asset class, ``raw_pool.json`` for the alternative listings of an identity), then the
screener table (``screener.parquet`` for the sector). A field no artifact knows stays empty and
the reports say so (``unclassified``); nothing is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clusterfolio.report.artifacts import (
    PORTFOLIO,
    RAW_POOL,
    RAW_POOL_JSON,
    SCREENER,
    WINNERS,
    RunArtifacts,
)

__all__ = ["AssetInfo", "asset_table", "describe_alternative"]


@dataclass
class AssetInfo:
    """What the reports show about one listing."""

    symbol: str
    identity: str = ""
    asset_class: str = ""
    sector: str = ""
    direction: str = ""
    alternatives: list[dict[str, Any]] = field(default_factory=list)

    @property
    def side(self) -> str:
        """The direction (``LONG`` when no artifact says otherwise)."""
        return self.direction or "LONG"

    @property
    def name(self) -> str:
        """The economic identity, or the ticker when no artifact gives one."""
        return self.identity or self.symbol.split(":", 1)[-1]

    @property
    def sector_label(self) -> str:
        """The sector, or ``unclassified (<asset class>)`` when no artifact gives one."""
        if self.sector:
            return self.sector
        return f"unclassified ({self.asset_class})" if self.asset_class else "unclassified"

    @property
    def class_label(self) -> str:
        """The asset class, or ``unknown``."""
        return self.asset_class or "unknown"


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return "" if text.lower() in {"nan", "none"} else text


def describe_alternative(alt: dict[str, Any] | str) -> str:
    """One alternative listing as ``SYMBOL (kind, direction)``."""
    if isinstance(alt, str):
        return alt
    symbol = _text(alt.get("symbol")) or "?"
    extras = [x for x in (_text(alt.get("kind")), _text(alt.get("direction"))) if x]
    return f"{symbol} ({', '.join(extras)})" if extras else symbol


def asset_table(arts: RunArtifacts) -> dict[str, AssetInfo]:
    """Metadata of every symbol any artifact mentions (see the module docstring)."""
    info: dict[str, AssetInfo] = {}

    def get(symbol: str) -> AssetInfo:
        if symbol not in info:
            info[symbol] = AssetInfo(symbol=symbol)
        return info[symbol]

    def fill(target: AssetInfo, row: dict[str, Any]) -> None:
        for key in ("identity", "asset_class", "sector", "direction"):
            value = _text(row.get(key))
            if value and not getattr(target, key):
                setattr(target, key, value)
        alts = row.get("alternatives")
        if alts and not target.alternatives:
            target.alternatives = [
                a for a in alts if not (isinstance(a, dict) and a.get("is_lead"))
            ]

    portfolio = arts.json(PORTFOLIO)
    if isinstance(portfolio, dict):
        for doc in portfolio.get("profiles", {}).values():
            for row in doc.get("assets", []):
                fill(get(str(row["symbol"])), row)
    winners = arts.json(WINNERS)
    if isinstance(winners, dict):
        for row in winners.get("winners", []):
            fill(get(str(row["symbol"])), row)
    pool = arts.parquet(RAW_POOL)
    if pool is not None and "symbol" in pool.columns:
        for row in pool.to_dict(orient="records"):
            fill(
                get(str(row["symbol"])),
                {k: row.get(k) for k in ("identity", "asset_class", "direction")},
            )
    pool_doc = arts.json(RAW_POOL_JSON)
    if isinstance(pool_doc, dict):
        for ident in pool_doc.get("identities", []):
            symbol = _text(ident.get("lead_symbol"))
            if symbol:
                fill(get(symbol), {"alternatives": ident.get("alternatives", [])})
    screener = arts.parquet(SCREENER)
    if screener is not None and "sector" in screener.columns:
        if screener.index.name != "symbol" and "symbol" in screener.columns:
            screener = screener.set_index("symbol")
        for key, sector in screener["sector"].items():
            if str(key) in info:
                fill(info[str(key)], {"sector": sector})
    return info
