"""The readers of each candle file format, and :func:`read_candle_file`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clusterfolio.data.formats.cleaning import _finish
from clusterfolio.data.formats.issues import (
    IssueKind,
    ParsedFile,
    Severity,
    SourceFormat,
    _day,
    _Issues,
    _Raw,
)
from clusterfolio.data.formats.sessions import _text_to_sessions, _unix_to_sessions
from clusterfolio.data.formats.text import (
    _apply_column_map,
    _generic_indices,
    _numbers,
    _read_text_table,
    _sniff_header,
    detect_format,
)
from clusterfolio.data.schema import empty_candles
from clusterfolio.enums import CalendarKind
from clusterfolio.errors import CorruptFileError, SchemaError


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
