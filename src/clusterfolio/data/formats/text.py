"""Text access to candle files: sniffing the format and header, reading a delimited table."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clusterfolio.data.formats.issues import (
    _SESSION_ALIASES,
    _SNIFF_BYTES,
    IssueKind,
    Severity,
    SourceFormat,
    _Issues,
)
from clusterfolio.data.schema import PRICE_COLUMNS


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
    :mod:`clusterfolio.data.formats.layouts`).

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
