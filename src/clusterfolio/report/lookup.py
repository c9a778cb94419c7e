"""Asset metadata for the reports, taken from the artifacts in a fixed order of precedence.

For each symbol: the portfolio row of ``portfolio_optimized.json`` (filled from ``winners.json``
by the optimisation step), then ``winners.json`` itself, then the raw pool (``raw_pool.parquet``
for the asset class, ``raw_pool.json`` for the alternative listings of an identity), then the
screener table (``screener.parquet`` for the sector). A field no artifact knows stays empty and
the reports say so (``unclassified``); nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from clusterfolio.artifacts.portfolio import profiles_of, section_assets
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


def _fill(target: AssetInfo, row: dict[str, Any]) -> None:
    """Set every field of ``target`` still empty from ``row`` (earlier sources take precedence)."""
    for key in ("identity", "asset_class", "sector", "direction"):
        value = _text(row.get(key))
        if value and not getattr(target, key):
            setattr(target, key, value)
    alts = row.get("alternatives")
    if alts and not target.alternatives:
        target.alternatives = [a for a in alts if not (isinstance(a, dict) and a.get("is_lead"))]


def _portfolio_rows(arts: RunArtifacts) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(symbol, row)`` of every asset of every profile of ``portfolio_optimized.json``."""
    portfolio = arts.json(PORTFOLIO)
    for section in profiles_of(portfolio if isinstance(portfolio, dict) else None).values():
        for row in section_assets(section):
            yield str(row["symbol"]), row


def _winner_rows(arts: RunArtifacts) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(symbol, row)`` of every winner of ``winners.json``."""
    winners = arts.json(WINNERS)
    if isinstance(winners, dict):
        for row in winners.get("winners", []):
            yield str(row["symbol"]), row


def _pool_rows(arts: RunArtifacts) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(symbol, identity/class/direction)`` of every listing of ``raw_pool.parquet``."""
    pool = arts.parquet(RAW_POOL)
    if pool is not None and "symbol" in pool.columns:
        for row in pool.to_dict(orient="records"):
            yield (
                str(row["symbol"]),
                {k: row.get(k) for k in ("identity", "asset_class", "direction")},
            )


def _alternative_rows(arts: RunArtifacts) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(lead symbol, alternatives)`` of every identity of ``raw_pool.json``."""
    pool_doc = arts.json(RAW_POOL_JSON)
    if isinstance(pool_doc, dict):
        for ident in pool_doc.get("identities", []):
            symbol = _text(ident.get("lead_symbol"))
            if symbol:
                yield symbol, {"alternatives": ident.get("alternatives", [])}


def _fill_sectors(arts: RunArtifacts, info: dict[str, AssetInfo]) -> None:
    """The sector of ``screener.parquet`` for the symbols already in ``info`` (adds none)."""
    screener = arts.parquet(SCREENER)
    if screener is None or "sector" not in screener.columns:
        return
    if screener.index.name != "symbol" and "symbol" in screener.columns:
        screener = screener.set_index("symbol")
    for key, sector in screener["sector"].items():
        if str(key) in info:
            _fill(info[str(key)], {"sector": sector})


def asset_table(arts: RunArtifacts) -> dict[str, AssetInfo]:
    """Metadata of every symbol any artifact mentions (see the module docstring)."""
    info: dict[str, AssetInfo] = {}
    for source in (_portfolio_rows, _winner_rows, _pool_rows, _alternative_rows):
        for symbol, row in source(arts):
            _fill(info.setdefault(symbol, AssetInfo(symbol=symbol)), row)
    _fill_sectors(arts, info)
    return info
