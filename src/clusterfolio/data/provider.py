"""The provider protocol: screens, candle histories and metadata."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from clusterfolio.data.schema import Listing


@dataclass
class ProviderStats:
    """Counts of calls made to the outside (a fresh cache must make zero)."""

    candle_calls: int = 0
    screen_calls: int = 0
    metadata_calls: int = 0
    by_symbol: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """All calls together."""
        return self.candle_calls + self.screen_calls + self.metadata_calls

    def record_candles(self, symbol: str) -> None:
        """Count one candle request for ``symbol``."""
        self.candle_calls += 1
        self.by_symbol[symbol] = self.by_symbol.get(symbol, 0) + 1


@runtime_checkable
class Provider(Protocol):
    """A source of listings, screens and daily candles.

    Implementations: ``synthetic`` (embedded deterministic market), ``files`` (a folder of
    CSV/Parquet files) and ``tradingview`` (live scanner and chart protocols).
    """

    name: str
    stats: ProviderStats

    def listings(self) -> Sequence[Listing]:
        """Return every listing the provider knows (the scan universe)."""
        ...

    def metadata(self, symbol: str) -> Listing:
        """Return the listing metadata of ``symbol`` (raises ``UnknownSymbolError``)."""
        ...

    def candles(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Return daily candles of ``symbol`` for sessions in ``[start, end]``.

        The frame has :data:`clusterfolio.data.schema.CANDLE_COLUMNS`; it may be empty.
        Raises ``UnknownSymbolError`` for an unknown symbol, ``ProviderError`` on failure.
        """
        ...

    def screen(self, request: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Evaluate a TradingView-style ``/scan`` request body; rows are ``{"s": ..., "d": [...]}``.

        Providers without a remote scanner may raise ``NotImplementedError``; discovery then
        evaluates the screen locally from candles.
        """
        ...
