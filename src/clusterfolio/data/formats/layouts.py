"""File layouts of generic tables: one listing per file, long (tidy) files, wide files.

Detection (:func:`detect_layout`), on the column names after the column map
----------------------------------------------------------------------------
``long``
    A symbol column (the first of ``data.files.symbol_columns`` present, case-insensitive:
    ``symbol``, ``ticker``, ``name``) and a ``close`` column: one listing per distinct symbol.
``per_symbol``
    A ``close`` column (with or without open/high/low) and no symbol column: one listing, named
    after the file.
``wide``
    No ``close`` and no symbol column, one or more value columns: each is a listing's close.

A file with a symbol column but no close, or with a close beside two or more ticker-like
columns, is ambiguous: a :class:`~clusterfolio.data.formats.FileFormatError` names the file and
the columns seen, and ``data.files.layout`` settles it. Detection is recorded per file.

Reading
-------
Long and wide files are read whole (pandas' C parser, or Parquet), split per listing, and each
listing goes through the cleaning rules of :mod:`clusterfolio.data.formats` with its own
problem list (each issue carries the listing's key and the session). In a wide file an empty
cell is no quote (the listing not yet trading, or its market closed): skipped and counted once
per listing; a cell that is not a number is a bad row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clusterfolio.data.formats.cleaning import _finish
from clusterfolio.data.formats.issues import (
    _SESSION_ALIASES,
    FileFormatError,
    FileIssue,
    IssueKind,
    ParsedFile,
    Severity,
    SourceFormat,
    _Issues,
    _Raw,
)
from clusterfolio.data.formats.readers import _sessions_from_any
from clusterfolio.data.formats.text import _is_parquet, _open_text, _sniff_header
from clusterfolio.data.schema import empty_candles
from clusterfolio.enums import CalendarKind

__all__ = ["Layout", "LayoutInfo", "detect_layout", "read_multi"]

_NON_SYMBOL = frozenset(
    {*_SESSION_ALIASES, "open", "high", "low", "close", "volume", "adj close", "adj_close",
     "adjusted_close", "adjclose", "dividends", "stock splits", "capital gains", "vwap",
     "trades", "count", "transactions", "openinterest", "open_interest", "oi", "currency"}
)  # fmt: skip
_TICKERISH = re.compile(r"^[A-Z0-9^][A-Z0-9.\-=^:_/]{0,19}$")


class Layout(StrEnum):
    """How a generic table holds its listings."""

    PER_SYMBOL = "per_symbol"
    LONG = "long"
    WIDE = "wide"


@dataclass(frozen=True)
class LayoutInfo:
    """A detected layout: the symbol column (long), the listing columns (wide), the reason."""

    layout: Layout
    symbol_column: str | None
    value_columns: tuple[str, ...]
    reason: str


def _ambiguous(path: Path, line: int | None, why: str, names: Sequence[str]) -> FileFormatError:
    issue = FileIssue(
        str(path), line, IssueKind.AMBIGUOUS_LAYOUT,
        f"{why} (columns {list(names)}); set data.files.layout to per_symbol, long or wide",
        Severity.ERROR,
    )  # fmt: skip
    return FileFormatError(issue)


def detect_layout(
    path: Path,
    names: Sequence[str],
    *,
    symbol_columns: Sequence[str],
    forced: str = "auto",
    line: int | None = None,
) -> LayoutInfo:
    """Tell the layout of a generic table from its column names (rules in the module doc).

    Raises
    ------
    FileFormatError
        Ambiguous or impossible layout (the issue names the file and the columns).
    """
    lower = [n.strip().lower() for n in names]
    wanted = [c.strip().lower() for c in symbol_columns]
    symbol = next((names[lower.index(c)] for c in wanted if c in lower), None)
    has_close = "close" in lower
    others = tuple(
        n
        for n, low in zip(names, lower, strict=True)
        if low not in _NON_SYMBOL and n != symbol and not low.endswith("(unused)") and n.strip()
    )
    tickers = [n for n in others if _TICKERISH.match(n.strip())]
    if forced == Layout.LONG or (forced == "auto" and symbol is not None):
        if symbol is None or not has_close:
            why = "no symbol column" if symbol is None else f"symbol column {symbol!r} but no close"
            raise _ambiguous(path, line, f"long layout impossible: {why}", names)
        return LayoutInfo(Layout.LONG, symbol, (), f"symbol column {symbol!r} and a close column")
    if forced == Layout.WIDE or (forced == "auto" and not has_close):
        values = others
        if not values:
            raise _ambiguous(path, line, "no close column and no value columns", names)
        return LayoutInfo(
            Layout.WIDE, None, values, f"no close column: {len(values)} value columns"
        )
    if forced == "auto" and len(tickers) >= 2:
        raise _ambiguous(
            path, line, f"a close column beside ticker-like columns {tickers[:5]}", names
        )
    return LayoutInfo(Layout.PER_SYMBOL, None, (), "a close column and no symbol column")


# ----------------------------------------------------------------------------- reading


def _read_frame(
    path: Path, usecols: list[str], column_map: Mapping[str, str], text: Sequence[str]
) -> pd.DataFrame:
    """The wanted columns (names after the column map); ``text`` columns are read as text,
    the others as numbers where every cell is one (an empty cell is NaN)."""
    from clusterfolio.data.formats.text import _apply_column_map

    issues = _Issues(str(path))
    if _is_parquet(path):
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise issues.fail(None, IssueKind.UNREADABLE, f"corrupt Parquet ({exc})") from exc
        frame = table.to_pandas()
        frame.columns = _apply_column_map([str(c) for c in frame.columns], column_map)
        frame.index = pd.RangeIndex(1, len(frame) + 1)
        return frame.loc[:, usecols]
    line, delimiter, fields = _sniff_header(path, column_map, issues)
    mapped = _apply_column_map(fields, column_map)
    positions = [mapped.index(c) for c in usecols]
    try:
        with _open_text(path) as handle:
            frame = pd.read_csv(
                handle, sep=delimiter, header=None, skiprows=line, usecols=positions,
                dtype={mapped.index(c): str for c in text}, skip_blank_lines=False,
                engine="c", low_memory=False,
            )  # fmt: skip
    except (ValueError, OSError, EOFError, UnicodeError) as exc:
        raise issues.fail(None, IssueKind.UNREADABLE, f"cannot read ({exc})") from exc
    frame = frame.loc[:, positions]
    frame.columns = usecols
    frame.index = pd.RangeIndex(line + 1, line + 1 + len(frame))
    return frame


def _numbers(series: pd.Series) -> np.ndarray:
    if series.dtype.kind in "fiu":
        return series.to_numpy(dtype="float64")
    text = series.astype(str).str.strip()
    return pd.to_numeric(text.where(text != "", "nan"), errors="coerce").to_numpy(dtype="float64")


def _sessions(series: pd.Series, issues: _Issues) -> np.ndarray:
    """Sessions of a column, parsing each distinct value once."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    parsed = _sessions_from_any(np.asarray(uniques), issues, np.arange(1, len(uniques) + 1))
    out = np.full(len(series), np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = codes >= 0
    out[ok] = parsed[codes[ok]]
    return out


def _session_column(names: Sequence[str]) -> str:
    lower = [n.lower() for n in names]
    return next(names[lower.index(a)] for a in _SESSION_ALIASES if a in lower)


def _price_columns(names: Sequence[str]) -> tuple[list[str], str | None]:
    lower = {n.lower(): n for n in names}
    close = lower["close"]
    prices = [lower.get(c, close) for c in ("open", "high", "low")] + [close]
    return prices, lower.get("volume")


def _parsed(
    path: Path,
    fmt: SourceFormat,
    key: str,
    raw: _Raw,
    issues: _Issues,
    calendar: CalendarKind | None,
) -> ParsedFile:
    info = {"key": key}
    if len(raw.rows) == 0:
        issues.add(None, IssueKind.EMPTY, "no data rows", Severity.ERROR)
        return ParsedFile(path, fmt, empty_candles(), issues.items, info)
    frame = _finish(raw, issues, calendar)
    if frame.empty:
        issues.add(None, IssueKind.EMPTY, "no usable rows left after cleaning", Severity.ERROR)
    return ParsedFile(path, fmt, frame, issues.items, info)


def _symbol_codes(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes of the symbols of a long file (-1: no symbol) and the symbols, each stripped once.

    Symbols that differ only by surrounding spaces are one symbol.
    """
    raw_codes, raw_uniques = pd.factorize(column, use_na_sentinel=True)
    names: dict[str, int] = {}
    remap = np.full(len(raw_uniques) + 1, -1, dtype=np.int64)  # last slot: the NaN sentinel
    for i, value in enumerate(raw_uniques):
        text = str(value).strip()
        if text:
            remap[i] = names.setdefault(text, len(names))
    return remap[raw_codes], list(names)


def _read_long(
    path: Path, fmt: SourceFormat, info: LayoutInfo, names: Sequence[str],
    column_map: Mapping[str, str], calendar_of: Callable[[str], CalendarKind | None],
) -> tuple[dict[str, ParsedFile], list[FileIssue]]:  # fmt: skip
    assert info.symbol_column is not None
    session_col = _session_column(names)
    prices, volume = _price_columns(names)
    usecols = list(dict.fromkeys([session_col, info.symbol_column, *prices, *(
        [volume] if volume else [])]))  # fmt: skip
    frame = _read_frame(path, usecols, column_map, [session_col, info.symbol_column])
    file_issues = _Issues(str(path))
    codes, uniques = _symbol_codes(frame[info.symbol_column])
    blank = codes < 0
    if blank.any():
        first = int(frame.index[np.flatnonzero(blank)[0]])
        file_issues.add(first, IssueKind.BAD_ROW, f"{int(blank.sum())} rows without a symbol "
                        f"(first at row {first}): dropped")  # fmt: skip
    rows = frame.index.to_numpy(dtype=np.int64)
    session = _sessions(frame[session_col], file_issues)
    matrix = np.column_stack([_numbers(frame[c]) for c in prices])
    vol = _numbers(frame[volume]) if volume else np.zeros(len(frame))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    out: dict[str, ParsedFile] = {}
    for i, key in enumerate(uniques):
        idx = order[bounds[i] : bounds[i + 1]]
        issues = _Issues(str(path), symbol=str(key))
        raw = _Raw(rows[idx], session[idx], matrix[idx], vol[idx])
        out[str(key)] = _parsed(path, fmt, str(key), raw, issues, calendar_of(str(key)))
    return out, file_issues.items


def _read_wide(
    path: Path, fmt: SourceFormat, info: LayoutInfo, names: Sequence[str],
    column_map: Mapping[str, str], calendar_of: Callable[[str], CalendarKind | None],
) -> tuple[dict[str, ParsedFile], list[FileIssue]]:  # fmt: skip
    session_col = _session_column(names)
    frame = _read_frame(path, [session_col, *info.value_columns], column_map, [session_col])
    file_issues = _Issues(str(path))
    file_issues.add(None, IssueKind.OHLC_FILLED, f"wide file of closes ({len(info.value_columns)} "
                    "listings): open/high/low set to the close, volume 0", Severity.INFO)  # fmt: skip
    rows = frame.index.to_numpy(dtype=np.int64)
    session = _sessions(frame[session_col], file_issues)
    out: dict[str, ParsedFile] = {}
    for column in info.value_columns:
        key = column.strip()
        issues = _Issues(str(path), symbol=key)
        text = frame[column]
        values = _numbers(text)
        empty = pd.isna(text).to_numpy() | (text.astype(str).str.strip() == "").to_numpy()
        if empty.any():
            issues.add(None, IssueKind.GAP, f"{int(empty.sum())} empty cells (no quote): skipped",
                       Severity.INFO)  # fmt: skip
        keep = ~empty
        prices = np.repeat(values[keep, None], 4, axis=1)
        raw = _Raw(rows[keep], session[keep], prices, np.zeros(int(keep.sum())))
        out[key] = _parsed(path, fmt, key, raw, issues, calendar_of(key))
    return out, file_issues.items


def read_multi(
    path: Path,
    fmt: SourceFormat,
    info: LayoutInfo,
    names: Sequence[str],
    *,
    column_map: Mapping[str, str],
    calendar_of: Callable[[str], CalendarKind | None],
) -> tuple[dict[str, ParsedFile], list[FileIssue]]:
    """Read a long or wide file: ``(key -> ParsedFile, file-level issues)``.

    Raises
    ------
    FileFormatError
        The file cannot be read at all.
    """
    reader = _read_long if info.layout is Layout.LONG else _read_wide
    return reader(path, fmt, info, names, column_map, calendar_of)
