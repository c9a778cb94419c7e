"""Readers of candle files in the formats found in the wild, with a per-row problem report.

Every reader turns one file into a canonical candle frame
(:data:`~clusterfolio.data.schema.CANDLE_COLUMNS`) and a list of :class:`FileIssue` naming the
file, the row and what was done. Rows are numbered from 1 as a person sees the file: for a
text file, the **line number** (preamble and header lines count); for a Parquet file, the
position of the data row. Nothing is dropped or changed without an issue.

Formats (:class:`SourceFormat`)
-------------------------------
``m6``
    EOD Historical Data export of the M6 competition: ``Date,Open,High,Low,Close,
    Adjusted_close,Volume``. Prices are made **total-return consistent**: open, high, low and
    close are multiplied by ``Adjusted_close / Close`` so that close-to-close returns include
    dividends and splits; the volume stays as reported (shares traded).
``cryptodatadownload``
    CryptoDataDownload exports: an optional URL line above the header, rows newest first,
    ``unix,date,symbol,open,...`` or ``Date,Symbol,Open,...``. The session comes from the
    ``unix`` column when present, converted **per row by magnitude** (seconds below 1e11,
    milliseconds below 1e14, then micro- and nanoseconds), since Binance files mix seconds and
    milliseconds; otherwise from the date text (``YYYY-MM-DD`` or ``DD/MM/YYYY`` as Kraken
    writes it; slashed dates are read day-first unless the file proves month-first). The volume
    is the base-currency volume (``Volume BTC`` for BTC/USD).
``yahoo_fx``
    Yahoo Finance export with ``;`` separators and decimal commas:
    ``Date;Adj Close;Close;High;Low;Open;Volume``. The close is ``Close``.
``tradingview_parquet``
    A TradingView candle cache: ``timestamp`` (unix seconds, float) and ``open high low close
    volume``.
``generic_csv`` / ``generic_parquet``
    Any other table: the column map (source name -> canonical name) is applied, then columns
    are matched case-insensitively (``session``/``date``/``datetime``/``time``/``timestamp``/
    ``unix`` for the session). Numeric sessions are unix times (unit by magnitude).

Cleaning rules, applied to every format in this order
-----------------------------------------------------
1. Rows whose date or prices do not parse, or with the wrong number of fields, are dropped
   (``bad_row``).
2. Rows are sorted by session. A **duplicated session keeps its first occurrence in file
   order** (CryptoDataDownload files are newest first, so the most recent export wins); each
   dropped copy is reported with both values (``duplicate_session``).
3. Leading rows with a zero or negative price (pre-listing fill, as Bitstamp writes) are
   dropped and reported as one block (``leading_zero_prices``); later such rows are dropped one
   by one (``nonpositive_price``). A missing or negative volume becomes 0 (``bad_volume``).
4. OHLC consistency is repaired by widening: ``high = max(o, h, l, c)``, ``low = min(o, h, l,
   c)`` (``ohlc_repaired``, one issue per row).
5. On a 24/7 calendar, each run of missing days is reported (``gap``); nothing is filled.
"""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clusterfolio.data.schema import PRICE_COLUMNS, empty_candles, validate_candles
from clusterfolio.enums import CalendarKind
from clusterfolio.errors import CorruptFileError, DataError, SchemaError

__all__ = [
    "FileFormatError",
    "FileIssue",
    "IssueKind",
    "ParsedFile",
    "Severity",
    "SourceFormat",
    "detect_format",
    "read_candle_file",
]

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


@dataclass(frozen=True)
class FileIssue:
    """One problem found in a file.

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
        """Return a JSON-ready dictionary."""
        return {
            "file": self.file,
            "row": self.row,
            "kind": self.kind.value,
            "detail": self.detail,
            "severity": self.severity.value,
            "symbol": self.symbol,
            "session": self.session,
        }

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


# ----------------------------------------------------------------------------- text access


def _open_text(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace", newline="")
    return path.open("r", encoding="utf-8-sig", errors="replace", newline="")


def _head_lines(path: Path, n: int = 5) -> list[str]:
    with _open_text(path) as handle:
        text = handle.read(_SNIFF_BYTES)
    return text.splitlines()[:n]


def _is_parquet(path: Path) -> bool:
    return path.name.lower().endswith((".parquet", ".pq"))


def _delimiter(line: str) -> str:
    """The field separator of a header line: the most frequent of ``,``, ``;`` and tab."""
    return max((",", ";", "\t"), key=line.count)


def _is_header(fields: Sequence[str], column_map: Mapping[str, str]) -> bool:
    names = _apply_column_map([f.strip().strip('"') for f in fields], column_map)
    return len(fields) >= 2 and any(n.lower() in _SESSION_ALIASES for n in names)


def _sniff_header(
    path: Path, column_map: Mapping[str, str], issues: _Issues
) -> tuple[int, str, list[str]]:
    """Find the header among the first lines: ``(line number, delimiter, fields)``."""
    try:
        lines = _head_lines(path, 8)
    except (OSError, EOFError) as exc:
        raise issues.fail(None, IssueKind.UNREADABLE, f"cannot read ({exc})") from exc
    if not any(line.strip() for line in lines):
        raise issues.fail(None, IssueKind.EMPTY, "file is empty (no header line)")
    seen = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        delimiter = _delimiter(line)
        fields = next(csv.reader([line], delimiter=delimiter))
        if _is_header(fields, column_map):
            return number, delimiter, [f.strip() for f in fields]
        seen += 1
        if seen >= 5:
            break
    first = next(line for line in lines if line.strip())
    raise issues.fail(
        1,
        IssueKind.UNKNOWN_FORMAT,
        f"no header with a date column in the first lines (first line {first[:80]!r})",
    )


def _parquet_names(path: Path, issues: _Issues) -> list[str]:
    try:
        return list(pq.read_schema(path).names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise issues.fail(
            None, IssueKind.UNREADABLE, f"not a readable Parquet file ({exc})"
        ) from exc


def detect_format(
    path: Path, column_map: Mapping[str, str] | None = None, *, check_columns: bool = True
) -> SourceFormat:
    """Recognise the format of ``path`` from its name and its first lines.

    Generic files are also checked for the required columns (after ``column_map``) unless
    ``check_columns`` is false (the files provider then tells the layout apart first:
    :mod:`clusterfolio.data.layouts`).

    Raises
    ------
    FileFormatError
        Empty or unreadable file, no recognisable header, or missing columns (the issue says
        which, with the header's line).
    """
    path = Path(path)
    column_map = dict(column_map or {})
    issues = _Issues(str(path))
    if _is_parquet(path):
        names = _parquet_names(path, issues)
        lower = [n.lower() for n in names]
        if "timestamp" in lower and all(c in lower for c in PRICE_COLUMNS):
            return SourceFormat.TRADINGVIEW_PARQUET
        if check_columns:
            _generic_indices(_apply_column_map(names, column_map), issues, None)
        return SourceFormat.GENERIC_PARQUET
    line, delimiter, fields = _sniff_header(path, column_map, issues)
    lower = [f.lower() for f in fields]
    if delimiter == ";" and "adj close" in lower:
        return SourceFormat.YAHOO_FX
    if lower[:7] == ["date", "open", "high", "low", "close", "adjusted_close", "volume"]:
        return SourceFormat.M6
    if any(f.startswith("volume ") for f in lower) and "symbol" in lower:
        return SourceFormat.CRYPTODATADOWNLOAD
    if check_columns:
        _generic_indices(_apply_column_map(fields, column_map), issues, line)
    return SourceFormat.GENERIC_CSV


def generic_header(path: Path, column_map: Mapping[str, str]) -> tuple[list[str], int | None]:
    """The column names of a generic file after ``column_map``, and the header's line.

    Raises
    ------
    FileFormatError
        Unreadable, empty, or no header with a date column.
    """
    issues = _Issues(str(path))
    if _is_parquet(path):
        return _apply_column_map(_parquet_names(path, issues), column_map), None
    line, _, fields = _sniff_header(path, column_map, issues)
    return _apply_column_map(fields, column_map), line


@dataclass
class _TextTable:
    """The data rows of a delimited text file, as text columns, with their line numbers."""

    header: list[str]
    header_line: int
    lines: np.ndarray
    columns: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.lines)

    def column(self, i: int) -> np.ndarray:
        return self.columns[i]


def _find_header(
    path: Path, issues: _Issues, delimiter: str, column_map: Mapping[str, str]
) -> tuple[list[str], int]:
    """Return the header fields and the header's line number (1-based)."""
    seen = 0
    try:
        with _open_text(path) as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            for fields in reader:
                if not fields or not any(f.strip() for f in fields):
                    continue
                if _is_header(fields, column_map):
                    return [f.strip() for f in fields], reader.line_num
                seen += 1
                if seen >= 5:
                    break
    except (OSError, EOFError, csv.Error) as exc:
        raise issues.fail(None, IssueKind.UNREADABLE, f"cannot read ({exc})") from exc
    if not seen:
        raise issues.fail(None, IssueKind.EMPTY, "file is empty (no header line)")
    raise issues.fail(1, IssueKind.UNKNOWN_FORMAT, "no header with a date column")


def _read_text_table(
    path: Path, issues: _Issues, delimiter: str, column_map: Mapping[str, str] | None = None
) -> _TextTable:
    """Read a delimited text file below its header.

    Fast path: pandas' C parser, one record per line (line numbers follow from positions;
    blank lines are skipped quietly; a short row is padded with empty fields, which the
    cleaning rules then report). A file it cannot parse (a row with too many fields, a
    truncated stream) is read again with :mod:`csv`, which names the offending line.
    """
    header, header_line = _find_header(path, issues, delimiter, column_map or {})
    width = len(header)
    try:
        with _open_text(path) as handle:
            frame = pd.read_csv(
                handle,
                sep=delimiter,
                header=None,
                skiprows=header_line,
                names=list(range(width)),
                dtype=str,
                na_filter=False,
                skip_blank_lines=False,
                engine="c",
            )
    except (ValueError, OSError, EOFError, UnicodeError):  # ParserError, EmptyDataError, gzip
        return _read_text_table_slowly(path, issues, delimiter, header, header_line)
    values = frame.to_numpy(dtype=object)
    lines = header_line + 1 + np.arange(len(values), dtype=np.int64)
    blank = (values == "").all(axis=1) if len(values) else np.zeros(0, dtype=bool)
    values, lines = values[~blank], lines[~blank]
    return _TextTable(header, header_line, lines, [values[:, i] for i in range(width)])


def _read_text_table_slowly(
    path: Path, issues: _Issues, delimiter: str, header: list[str], header_line: int
) -> _TextTable:
    width = len(header)
    lines: list[int] = []
    kept: list[list[str]] = []
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            for fields in reader:
                line = reader.line_num
                if line <= header_line or not fields or not any(f.strip() for f in fields):
                    continue
                if len(fields) != width:
                    issues.add(
                        line, IssueKind.BAD_ROW, f"{len(fields)} fields instead of {width}: dropped"
                    )
                    continue
                lines.append(line)
                kept.append(fields)
        except (OSError, EOFError, csv.Error, UnicodeError) as exc:
            raise issues.fail(
                reader.line_num + 1, IssueKind.UNREADABLE, f"cannot read from this line on ({exc})"
            ) from exc
    columns = [np.array([r[i] for r in kept], dtype=object) for i in range(width)]
    return _TextTable(header, header_line, np.asarray(lines, dtype=np.int64), columns)


def _numbers(texts: Sequence[str] | np.ndarray, decimal_comma: bool = False) -> np.ndarray:
    """Parse number texts; anything unparsable becomes NaN (reported by the cleaning rules)."""
    if decimal_comma:
        texts = [t.replace(".", "").replace(",", ".") for t in texts]
    try:
        return np.array(texts, dtype="float64")  # fast path: every field is a plain number
    except ValueError:
        series = pd.Series(list(texts), dtype="object").str.strip()
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")


# ----------------------------------------------------------------------------- sessions


def _unix_to_sessions(values: np.ndarray, issues: _Issues, rows: np.ndarray) -> np.ndarray:
    """Convert unix times to sessions, choosing the unit of each row by its magnitude."""
    out = np.full(values.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    finite = np.isfinite(values)
    mag = np.abs(np.where(finite, values, 0.0))
    units = {
        "s": mag < 1e11,
        "ms": (mag >= 1e11) & (mag < 1e14),
        "us": (mag >= 1e14) & (mag < 1e17),
    }
    units["ns"] = mag >= 1e17
    scale = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}
    used = {}
    for unit, mask in units.items():
        mask = mask & finite
        if mask.any():
            used[unit] = int(mask.sum())
            out[mask] = (
                (np.round(values[mask] * scale[unit])).astype("int64").astype("datetime64[ns]")
            )
    if len(used) > 1:
        counts = ", ".join(f"{n} rows in {u}" for u, n in used.items())
        issues.add(
            None,
            IssueKind.MIXED_TIME_UNITS,
            f"unix times mix units ({counts}); converted per row",
            Severity.INFO,
        )
    elif used:
        issues.add(
            None,
            IssueKind.INFERRED,
            f"unix times read as {next(iter(used))} (by magnitude), converted to UTC dates",
            Severity.INFO,
        )
    return out.astype("datetime64[D]").astype("datetime64[ns]")


_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_days(items: list[str]) -> np.ndarray | None:
    """Fast path: every text is exactly ``YYYY-MM-DD`` (None when one is not, or is no date)."""
    try:
        days = np.array(items, dtype="datetime64[D]")
    except ValueError:
        return None
    if np.isnat(days).any() or any(
        len(t) != 10 or t[4] != "-" for t in items[:: max(1, len(items) // 50)]
    ):
        return None
    return days.astype("datetime64[ns]")


def _text_to_sessions(
    texts: Sequence[str] | np.ndarray, dayfirst: bool | None = None
) -> np.ndarray:
    """Parse date texts: ISO (``YYYY-MM-DD``, a time may follow) or slashed ``DD/MM/YYYY``.

    Slashed dates are day-first unless ``dayfirst`` is false or, when it is ``None``, the file
    proves them month-first (a second field above 12 and no first field above 12).
    Unparsable texts give NaT.
    """
    items = [str(t).strip() for t in texts]
    out = np.full(len(items), np.datetime64("NaT"), dtype="datetime64[ns]")
    if not items:
        return out
    fast = _iso_days(items)
    if fast is not None:
        return fast
    if sum("/" in t[:10] for t in items) * 2 > len(items):
        parts = [_SLASHED.match(t) for t in items]
        ok = np.array([m is not None for m in parts], dtype=bool)
        nums = np.array(
            [[int(g) for g in m.groups()] if m else [0, 0, 0] for m in parts], dtype=np.int64
        )
        if dayfirst is None:
            dayfirst = not (bool((nums[ok, 1] > 12).any()) and not bool((nums[ok, 0] > 12).any()))
        day, month = (nums[:, 0], nums[:, 1]) if dayfirst else (nums[:, 1], nums[:, 0])
        frame = pd.DataFrame({"year": nums[:, 2], "month": month, "day": day})[ok]
        parsed = pd.to_datetime(frame, errors="coerce").to_numpy(dtype="datetime64[ns]")
        out[ok] = parsed
        return out
    ok = np.array([_ISO.match(t) is not None for t in items], dtype=bool)
    if ok.any():
        heads = [t[:10] for t, good in zip(items, ok, strict=True) if good]
        try:
            out[ok] = np.array(heads, dtype="datetime64[D]").astype("datetime64[ns]")
        except ValueError:  # an impossible date such as 2021-02-30: parse one by one
            out[ok] = pd.to_datetime(pd.Series(heads), format="%Y-%m-%d", errors="coerce").to_numpy(
                dtype="datetime64[ns]"
            )
    return out


# ----------------------------------------------------------------------------- cleaning


def _day(value: np.datetime64) -> str:
    return str(value)[:10]


def _finish(raw: _Raw, issues: _Issues, calendar: CalendarKind | None) -> pd.DataFrame:
    """Apply the cleaning rules of the module docstring and validate the result."""
    # 1. a valid close without open/high/low keeps its close; unparsable rows are dropped
    prices = raw.prices
    close = prices[:, 3]
    partial = (
        np.isfinite(close) & (close > 0) & ~np.isfinite(prices[:, :3]).all(axis=1)
    ) & ~np.isnat(raw.session)
    if partial.any():
        prices = prices.copy()
        for k in np.flatnonzero(partial):
            gone = [
                c
                for c, v in zip(PRICE_COLUMNS[:3], prices[k, :3], strict=True)
                if not np.isfinite(v)
            ]
            issues.add(
                int(raw.rows[k]),
                IssueKind.OHLC_FILLED,
                f"session {_day(raw.session[k])}: no {'/'.join(gone)}: set to the close "
                f"{close[k]!r}",
                session=raw.session[k],
            )
            prices[k, :3] = np.where(np.isfinite(prices[k, :3]), prices[k, :3], close[k])
        raw = _Raw(raw.rows, raw.session, prices, raw.volume)
    bad = np.isnat(raw.session) | ~np.isfinite(raw.prices).all(axis=1)
    for k in np.flatnonzero(bad):
        what = "date" if np.isnat(raw.session[k]) else "price"
        issues.add(
            int(raw.rows[k]),
            IssueKind.BAD_ROW,
            f"unparsable {what}: row dropped",
            session=None if np.isnat(raw.session[k]) else raw.session[k],
        )
    keep = ~bad
    rows, session, prices, volume = (
        raw.rows[keep],
        raw.session[keep],
        raw.prices[keep],
        raw.volume[keep],
    )

    # 2. sort by session, keep the first occurrence in file order
    order = np.lexsort((rows, session))
    rows, session, prices, volume = rows[order], session[order], prices[order], volume[order]
    dup = np.zeros(len(session), dtype=bool)
    if len(session) > 1:
        dup[1:] = session[1:] == session[:-1]
    kept_index = np.maximum.accumulate(np.where(dup, 0, np.arange(len(session))))
    for k in np.flatnonzero(dup):
        kept_at = int(kept_index[k])
        same = np.allclose(prices[k], prices[kept_at], rtol=1e-9) and np.isclose(
            volume[k], volume[kept_at], rtol=1e-9
        )
        issues.add(
            int(rows[k]),
            IssueKind.DUPLICATE_SESSION,
            f"session {_day(session[k])} already at row {int(rows[kept_at])}"
            + (
                " with the same values"
                if same
                else f" with other values (kept OHLC {prices[kept_at].tolist()}, "
                f"dropped {prices[k].tolist()})"
            )
            + ": kept the first in file order",
            session=session[k],
        )
    rows, session, prices, volume = rows[~dup], session[~dup], prices[~dup], volume[~dup]

    # 3. non-positive prices: leading block (pre-listing fill), then single rows
    nonpos = (prices <= 0).any(axis=1)
    lead = 0
    while lead < len(nonpos) and nonpos[lead]:
        lead += 1
    if lead:
        issues.add(
            int(rows[:lead].min()),
            IssueKind.LEADING_ZERO_PRICES,
            f"{lead} leading rows with zero prices before the first traded session "
            f"({_day(session[0])}..{_day(session[lead - 1])}, rows {int(rows[:lead].min())}-"
            f"{int(rows[:lead].max())}): dropped",
            session=session[0],
        )
    for k in np.flatnonzero(nonpos[lead:]) + lead:
        issues.add(
            int(rows[k]),
            IssueKind.NONPOSITIVE_PRICE,
            f"session {_day(session[k])} has OHLC {prices[k].tolist()}: dropped",
            session=session[k],
        )
    keep = ~nonpos
    rows, session, prices, volume = rows[keep], session[keep], prices[keep], volume[keep]
    badvol = ~np.isfinite(volume) | (volume < 0)
    for k in np.flatnonzero(badvol):
        issues.add(
            int(rows[k]),
            IssueKind.BAD_VOLUME,
            f"session {_day(session[k])} volume {volume[k]!r}: set to 0",
            session=session[k],
        )
    volume = np.where(badvol, 0.0, volume)

    # 4. OHLC consistency
    high = prices.max(axis=1)
    low = prices.min(axis=1)
    fixed = (high != prices[:, 1]) | (low != prices[:, 2])
    for k in np.flatnonzero(fixed):
        o, h, lo, c = prices[k].tolist()
        issues.add(
            int(rows[k]),
            IssueKind.OHLC_REPAIRED,
            f"session {_day(session[k])}: open {o!r} close {c!r} outside high {h!r} / low {lo!r}: "
            f"high -> {high[k]!r}, low -> {low[k]!r}",
            session=session[k],
        )
    prices = prices.copy()
    prices[:, 1], prices[:, 2] = high, low

    # 5. gaps on a 24/7 calendar
    if calendar is CalendarKind.CRYPTO_24_7 and len(session) > 1:
        days = session.astype("datetime64[D]")
        step = np.diff(days).astype(np.int64)
        for k in np.flatnonzero(step > 1):
            missing = int(step[k]) - 1
            first, last = days[k] + 1, days[k + 1] - 1
            issues.add(
                int(rows[k + 1]),
                IssueKind.GAP,
                f"{missing} missing day(s) {first}..{last} before session {days[k + 1]}: not filled",
                Severity.INFO,
                session=session[k + 1],
            )

    frame = pd.DataFrame(
        {
            "session": session,
            "open": prices[:, 0],
            "high": prices[:, 1],
            "low": prices[:, 2],
            "close": prices[:, 3],
            "volume": volume,
        }
    )
    return validate_candles(frame, source=issues.file)


# ----------------------------------------------------------------------------- readers


def _find(header: Sequence[str], *names: str) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name.lower() in lowered:
            return lowered.index(name.lower())
    return None


def _require(
    header: Sequence[str], names: Sequence[str], issues: _Issues, line: int | None
) -> list[int]:
    found = [_find(header, n) for n in names]
    missing = [n for n, i in zip(names, found, strict=True) if i is None]
    if missing:
        raise issues.fail(
            line, IssueKind.MISSING_COLUMNS, f"missing columns {missing} (header {list(header)})"
        )
    return [int(i) for i in found if i is not None]


def _read_m6(path: Path, issues: _Issues) -> tuple[_Raw, dict[str, str]]:
    table = _read_text_table(path, issues, ",")
    idx = _require(
        table.header,
        ["Date", "Open", "High", "Low", "Close", "Adjusted_close", "Volume"],
        issues,
        table.header_line,
    )
    lines = table.lines
    session = _text_to_sessions(table.column(idx[0]))
    raw_prices = np.column_stack([_numbers(table.column(i)) for i in idx[1:5]])
    adjusted = _numbers(table.column(idx[5]))
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = adjusted / raw_prices[:, 3]
    usable = np.isfinite(factor) & (factor > 0)
    clean = np.isfinite(raw_prices).all(axis=1) & (raw_prices > 0).all(axis=1) & ~np.isnat(session)
    drop = ~usable & clean
    for k in np.flatnonzero(drop):
        issues.add(
            int(lines[k]),
            IssueKind.BAD_ROW,
            f"adjusted close {adjusted[k]!r} unusable: row dropped",
        )
    # rows without a usable factor keep their raw values: the cleaning rules report them
    prices = raw_prices * np.where(usable, factor, 1.0)[:, None]
    keep = ~drop
    volume = _numbers(table.column(idx[6]))
    return _Raw(lines[keep], session[keep], prices[keep], volume[keep]), {}


def _read_cryptodatadownload(path: Path, issues: _Issues) -> tuple[_Raw, dict[str, str]]:
    table = _read_text_table(path, issues, ",")
    header, line, lines = table.header, table.header_line, table.lines
    price_idx = _require(header, ["open", "high", "low", "close"], issues, line)
    unix_i = _find(header, "unix")
    date_i = _find(header, "date")
    if unix_i is None and date_i is None:
        raise issues.fail(
            line, IssueKind.MISSING_COLUMNS, f"no 'unix' or 'date' column (header {header})"
        )
    info: dict[str, str] = {}
    sym_i = _find(header, "symbol")
    if sym_i is not None and len(table):
        info["pair"] = str(table.column(sym_i)[0]).strip()
    base = info.get("pair", "").split("/")[0] if "/" in info.get("pair", "") else ""
    vol_cols = [(i, h) for i, h in enumerate(header) if h.lower().startswith("volume")]
    vol_i = next((i for i, h in vol_cols if base and h.lower() == f"volume {base.lower()}"), None)
    if vol_i is None and vol_cols:
        # without a "/" in the pair the base volume is the first "Volume X" column of the export
        vol_i = vol_cols[0][0]
    date_sessions = _text_to_sessions(table.column(date_i)) if date_i is not None else None
    if unix_i is not None:
        session = _unix_to_sessions(_numbers(table.column(unix_i)), issues, lines)
        if date_sessions is not None:
            both = ~np.isnat(session) & ~np.isnat(date_sessions)
            for k in np.flatnonzero(both & (session != date_sessions)):
                issues.add(
                    int(lines[k]),
                    IssueKind.DATE_MISMATCH,
                    f"unix time gives {_day(session[k])} but the date column says "
                    f"{_day(date_sessions[k])}: used the unix time",
                )
            session = np.where(np.isnat(session), date_sessions, session)
    else:
        assert date_sessions is not None
        session = date_sessions
    prices = np.column_stack([_numbers(table.column(i)) for i in price_idx])
    volume = _numbers(table.column(vol_i)) if vol_i is not None else np.zeros(len(table))
    if vol_i is not None:
        info["volume_column"] = header[vol_i]
    return _Raw(lines, session, prices, volume), info


def _read_yahoo(path: Path, issues: _Issues) -> tuple[_Raw, dict[str, str]]:
    table = _read_text_table(path, issues, ";")
    idx = _require(
        table.header, ["Date", "Open", "High", "Low", "Close"], issues, table.header_line
    )
    vol_i = _find(table.header, "Volume")
    session = _text_to_sessions(table.column(idx[0]))
    prices = np.column_stack([_numbers(table.column(i), decimal_comma=True) for i in idx[1:5]])
    volume = (
        _numbers(table.column(vol_i), decimal_comma=True)
        if vol_i is not None
        else np.zeros(len(table))
    )
    return _Raw(table.lines, session, prices, volume), {}


def _apply_column_map(columns: Sequence[str], column_map: Mapping[str, str]) -> list[str]:
    """Rename columns by ``column_map`` (exact, then case-insensitive source names).

    A column the map targets wins over an unmapped column of the same name, which is renamed
    ``"<name> (unused)"`` (mapping ``Adj Close`` to ``close`` sets the original ``Close`` aside).
    """
    lowered = {k.strip().lower(): v.strip() for k, v in column_map.items()}
    out: list[str] = []
    explicit: list[bool] = []
    for column in columns:
        name = column.strip()
        target = column_map.get(column, lowered.get(name.lower()))
        explicit.append(target is not None)
        out.append(target.strip() if target is not None else name)
    targets = {n.lower() for n, e in zip(out, explicit, strict=True) if e}
    return [
        f"{orig.strip()} (unused)" if not e and n.lower() in targets else n
        for orig, n, e in zip(columns, out, explicit, strict=True)
    ]


def _generic_indices(
    names: Sequence[str], issues: _Issues, line: int | None
) -> tuple[int, list[int], int | None]:
    """Columns of the session, the prices and the volume.

    A file with a close and none of open/high/low is a close-only file: the returned price
    indices repeat the close's (each of open/high/low is the close), reported once per file.
    """
    lowered = [n.lower() for n in names]
    session_i = next((lowered.index(a) for a in _SESSION_ALIASES if a in lowered), None)
    missing = [c for c in PRICE_COLUMNS if c not in lowered]
    if missing == ["open", "high", "low"] and session_i is not None:
        issues.add(
            None,
            IssueKind.OHLC_FILLED,
            "close-only file (no open/high/low columns): each set to the close",
            Severity.INFO,
        )
        close_i = lowered.index("close")
        vol_i = lowered.index("volume") if "volume" in lowered else None
        return session_i, [close_i] * 4, vol_i
    if session_i is None:
        missing.insert(0, "session")
    if missing:
        raise issues.fail(
            line,
            IssueKind.MISSING_COLUMNS,
            f"missing columns {missing} after the column map (have {list(names)})",
        )
    assert session_i is not None
    vol_i = lowered.index("volume") if "volume" in lowered else None
    return session_i, [lowered.index(c) for c in PRICE_COLUMNS], vol_i


def _sessions_from_any(
    values: Sequence[Any] | np.ndarray, issues: _Issues, rows: np.ndarray
) -> np.ndarray:
    array = np.asarray(values)
    if np.issubdtype(array.dtype, np.datetime64) or isinstance(array.dtype, pd.DatetimeTZDtype):
        return (
            pd.to_datetime(array).tz_localize(None).normalize().to_numpy(dtype="datetime64[ns]")
            if len(array)
            else array.astype("datetime64[ns]")
        )
    texts = [str(v).strip() for v in array]
    if texts and all(len(t) >= 10 and t[4] == "-" for t in texts[:5]):
        return _text_to_sessions(texts)  # ISO dates: no unix or compact numbers to look for
    numeric = _numbers(texts)
    finite = numeric[np.isfinite(numeric)]
    if (
        finite.size
        and finite.size * 2 > len(texts)
        and np.all((finite >= 19000101) & (finite <= 21001231) & (finite == np.floor(finite)))
    ):  # compact YYYYMMDD dates
        compact = [t.split(".")[0] for t in texts]
        return pd.to_datetime(pd.Series(compact), format="%Y%m%d", errors="coerce").to_numpy(
            dtype="datetime64[ns]"
        )
    if (
        len(array)
        and np.isfinite(numeric).mean() > 0.5
        and not any("-" in t or "/" in t for t in texts[:5])
    ):
        return _unix_to_sessions(numeric, issues, rows)
    return _text_to_sessions(texts)


def _read_generic_csv(
    path: Path, issues: _Issues, column_map: Mapping[str, str]
) -> tuple[_Raw, dict[str, str]]:
    _, delimiter, _ = _sniff_header(path, column_map, issues)
    table = _read_text_table(path, issues, delimiter, column_map)
    names = _apply_column_map(table.header, column_map)
    session_i, price_idx, vol_i = _generic_indices(names, issues, table.header_line)
    session = _sessions_from_any(table.column(session_i), issues, table.lines)
    prices = np.column_stack([_numbers(table.column(i)) for i in price_idx])
    volume = _numbers(table.column(vol_i)) if vol_i is not None else np.zeros(len(table))
    return _Raw(table.lines, session, prices, volume), {}


def _read_parquet(
    path: Path, issues: _Issues, column_map: Mapping[str, str], fmt: SourceFormat
) -> tuple[_Raw, dict[str, str]]:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise issues.fail(
            None, IssueKind.UNREADABLE, f"corrupt or truncated Parquet ({exc})"
        ) from exc
    names = list(table.column_names)
    if fmt is SourceFormat.TRADINGVIEW_PARQUET:
        names = ["session" if n.lower() == "timestamp" else n for n in names]
    else:
        names = _apply_column_map(names, column_map)
    session_i, price_idx, vol_i = _generic_indices(names, issues, None)
    n = table.num_rows
    rows = np.arange(1, n + 1, dtype=np.int64)
    col = table.column(session_i)
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        if getattr(col.type, "tz", None):
            issues.add(
                None,
                IssueKind.INFERRED,
                f"timestamps in time zone {col.type.tz}: the local date is the session",
                Severity.INFO,
            )
        session = (
            pd.to_datetime(col.to_pandas()).dt.tz_localize(None)
            if getattr(col.type, "tz", None)
            else pd.to_datetime(col.to_pandas())
        )
        values = session.dt.normalize().to_numpy(dtype="datetime64[ns]")
    elif pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        values = _unix_to_sessions(
            col.to_numpy(zero_copy_only=False).astype("float64"), issues, rows
        )
    else:
        values = _sessions_from_any(col.to_numpy(zero_copy_only=False), issues, rows)

    def num(i: int) -> np.ndarray:
        return pd.to_numeric(table.column(i).to_pandas(), errors="coerce").to_numpy(dtype="float64")

    prices = np.column_stack([num(i) for i in price_idx]) if n else np.empty((0, 4))
    volume = num(vol_i) if vol_i is not None else np.zeros(n)
    return _Raw(rows, values, prices, volume), {}


def read_candle_file(
    path: Path,
    fmt: SourceFormat | None = None,
    *,
    column_map: Mapping[str, str] | None = None,
    calendar: CalendarKind | None = None,
) -> ParsedFile:
    """Read one candle file into canonical candles and a problem report.

    Parameters
    ----------
    path : Path
        The file (``.csv``, ``.csv.gz``, ``.parquet``).
    fmt : SourceFormat, optional
        Format; detected with :func:`detect_format` when omitted.
    column_map : mapping, optional
        Source column name -> canonical name, for the generic formats.
    calendar : CalendarKind, optional
        The listing's calendar (gaps are reported on a 24/7 calendar).

    Returns
    -------
    ParsedFile
        Candles validated by :func:`~clusterfolio.data.schema.validate_candles` (possibly
        empty) and the issues met.

    Raises
    ------
    FileFormatError
        The file cannot be read as candles at all (unreadable, empty, missing columns); its
        ``issue`` names the file, the row and the reason.
    """
    path = Path(path)
    column_map = dict(column_map or {})
    if fmt is None:
        fmt = detect_format(path, column_map)
    issues = _Issues(str(path))
    try:
        if fmt is SourceFormat.M6:
            raw, info = _read_m6(path, issues)
        elif fmt is SourceFormat.CRYPTODATADOWNLOAD:
            raw, info = _read_cryptodatadownload(path, issues)
        elif fmt is SourceFormat.YAHOO_FX:
            raw, info = _read_yahoo(path, issues)
        elif fmt in (SourceFormat.TRADINGVIEW_PARQUET, SourceFormat.GENERIC_PARQUET):
            raw, info = _read_parquet(path, issues, column_map, fmt)
        else:
            raw, info = _read_generic_csv(path, issues, column_map)
    except (OSError, EOFError, UnicodeError, CorruptFileError) as exc:
        raise issues.fail(None, IssueKind.UNREADABLE, f"cannot read ({exc})") from exc
    if len(raw.rows) == 0:
        issues.add(None, IssueKind.EMPTY, "no data rows", Severity.ERROR)
        return ParsedFile(path, fmt, empty_candles(), issues.items, info)
    try:
        frame = _finish(raw, issues, calendar)
    except SchemaError as exc:  # pragma: no cover - the cleaning rules make this unreachable
        raise issues.fail(None, IssueKind.BAD_ROW, str(exc)) from exc
    if frame.empty:
        issues.add(None, IssueKind.EMPTY, "no usable rows left after cleaning", Severity.ERROR)
    return ParsedFile(path, fmt, frame, issues.items, info)
