"""What reading a candle file reports: formats, issue kinds and severities, the issue records."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.artifacts.encoding import record
from clusterfolio.errors import DataError

_SNIFF_BYTES = 8192
_SESSION_ALIASES = ("session", "date", "datetime", "time", "timestamp", "unix")


class SourceFormat(StrEnum):
    """Formats understood by :func:`read_candle_file`."""

    M6 = "m6"
    CRYPTODATADOWNLOAD = "cryptodatadownload"
    YAHOO_FX = "yahoo_fx"
    TRADINGVIEW_PARQUET = "tradingview_parquet"
    GENERIC_CSV = "generic_csv"
    GENERIC_PARQUET = "generic_parquet"


class Severity(StrEnum):
    """How much a problem matters: ``info`` (normal quirk handled), ``warning`` (data dropped or
    changed), ``error`` (the file or a listing is unusable)."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class IssueKind(StrEnum):
    """Kinds of problems found in a file."""

    UNREADABLE = "unreadable"
    EMPTY = "empty"
    UNKNOWN_FORMAT = "unknown_format"
    MISSING_COLUMNS = "missing_columns"
    BAD_ROW = "bad_row"
    BAD_VOLUME = "bad_volume"
    DUPLICATE_SESSION = "duplicate_session"
    LEADING_ZERO_PRICES = "leading_zero_prices"
    NONPOSITIVE_PRICE = "nonpositive_price"
    OHLC_REPAIRED = "ohlc_repaired"
    GAP = "gap"
    MIXED_TIME_UNITS = "mixed_time_units"
    DATE_MISMATCH = "date_mismatch"
    DUPLICATE_LISTING = "duplicate_listing"
    METADATA = "metadata"
    #: A row with a valid close but no open/high/low: those set to the close (close kept).
    OHLC_FILLED = "ohlc_filled"
    #: Something the file does not state was inferred (exchange, class, layout).
    INFERRED = "inferred"
    #: A file whose layout (per-symbol, long, wide) cannot be told apart.
    AMBIGUOUS_LAYOUT = "ambiguous_layout"


@dataclass(frozen=True, slots=True)
class FileIssue:
    """One problem found in a file (slotted: a large file can report one per row).

    Attributes
    ----------
    file : str
        The file (as given to the reader).
    row : int or None
        1-based line number (text files) or data row (Parquet); ``None`` for the whole file.
    kind : IssueKind
        What was found.
    detail : str
        What it is and what was done.
    severity : Severity
        ``info``, ``warning`` or ``error``.
    symbol : str or None
        The listing's key in a file holding several (long or wide layout); ``None`` otherwise.
    session : str or None
        The session (``YYYY-MM-DD``) the problem is about, when it is about one.
    """

    file: str
    row: int | None
    kind: IssueKind
    detail: str
    severity: Severity = Severity.WARNING
    symbol: str | None = None
    session: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary (:func:`~clusterfolio.artifacts.encoding.record`)."""
        return record(self)

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}:{self.row}"
        return f"{where}: {self.kind.value}: {self.detail}"


class FileFormatError(DataError):
    """A file cannot be read as candles at all (the message names the file and the reason)."""

    def __init__(self, issue: FileIssue):
        super().__init__(str(issue))
        self.issue = issue


@dataclass
class ParsedFile:
    """The result of reading one file: canonical candles and the problems met."""

    path: Path
    format: SourceFormat
    frame: pd.DataFrame
    issues: list[FileIssue] = field(default_factory=list)
    #: Information the file states about itself (pair, vendor symbol, ...).
    info: dict[str, str] = field(default_factory=dict)


@dataclass
class _Raw:
    """Parsed columns before cleaning; ``rows`` are the 1-based rows reported in issues."""

    rows: np.ndarray
    session: np.ndarray
    prices: np.ndarray  # (n, 4): open, high, low, close
    volume: np.ndarray


class _Issues:
    def __init__(self, file: str, symbol: str | None = None):
        self.file = file
        self.symbol = symbol
        self.items: list[FileIssue] = []

    def add(
        self,
        row: int | None,
        kind: IssueKind,
        detail: str,
        severity: Severity = Severity.WARNING,
        session: np.datetime64 | None = None,
    ) -> None:
        day = None if session is None else _day(session)
        self.items.append(FileIssue(self.file, row, kind, detail, severity, self.symbol, day))

    def fail(self, row: int | None, kind: IssueKind, detail: str) -> FileFormatError:
        issue = FileIssue(self.file, row, kind, detail, Severity.ERROR)
        self.items.append(issue)
        return FileFormatError(issue)


def _day(value: np.datetime64) -> str:
    return str(value)[:10]
