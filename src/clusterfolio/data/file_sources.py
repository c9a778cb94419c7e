"""What the files provider discovers: a file's source (the listing it serves) and its report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from clusterfolio.artifacts.encoding import record
from clusterfolio.data.formats import (
    FileIssue,
    LayoutInfo,
    SourceFormat,
)
from clusterfolio.data.naming import NameGuess
from clusterfolio.data.schema import Listing
from clusterfolio.enums import CalendarKind


def _key_guess(key: str) -> NameGuess:
    """What a long file's symbol or a wide file's column says: ``NYSE:AAPL`` or ``AAPL``."""
    text = key.strip().upper()
    if ":" in text:
        exchange, ticker = text.split(":", 1)
        return NameGuess(exchange, ticker, "EXCHANGE:TICKER key")
    return NameGuess("", text, "ticker key")


@dataclass(frozen=True)
class FileSource:
    """A discovered candle file and the listing it provides (``key``: the listing's symbol
    or column in a long or wide file, ``None`` for a file of one listing)."""

    path: Path
    relpath: str
    format: SourceFormat
    listing: Listing
    named_after_symbol: bool = False
    key: str | None = None


@dataclass
class FileReport:
    """Summary of one discovered file: what it gave and what was wrong with it.

    ``status`` is ``listed`` (serves one listing, or several for a long or wide file),
    ``shadowed`` (another file serves the same symbol), ``metadata`` (a universe table or a
    sidecar), ``ignored`` (not a data file), ``skipped`` (not a readable candle file) or
    ``failed`` (parsing failed).
    """

    file: str
    symbol: str | None
    format: str | None
    status: str
    rows: int | None = None
    first: date | None = None
    last: date | None = None
    issues: list[FileIssue] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary."""
        return record(self)


@dataclass
class _Entry:
    status: str
    symbol: str | None = None
    format: SourceFormat | None = None
    calendar: CalendarKind | None = None
    layout: LayoutInfo | None = None
