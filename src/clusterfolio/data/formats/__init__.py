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

from clusterfolio.data.formats.issues import (
    FileFormatError,
    FileIssue,
    IssueKind,
    ParsedFile,
    Severity,
    SourceFormat,
)
from clusterfolio.data.formats.layouts import Layout, LayoutInfo, detect_layout, read_multi
from clusterfolio.data.formats.readers import read_candle_file
from clusterfolio.data.formats.text import detect_format, generic_header

__all__ = [
    "FileFormatError",
    "FileIssue",
    "IssueKind",
    "Layout",
    "LayoutInfo",
    "ParsedFile",
    "Severity",
    "SourceFormat",
    "detect_format",
    "detect_layout",
    "generic_header",
    "read_candle_file",
    "read_multi",
]
