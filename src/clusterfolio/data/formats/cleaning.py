"""Cleaning the raw columns of a candle file into canonical candles, every change an issue."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.data.formats.issues import IssueKind, Severity, _day, _Issues, _Raw
from clusterfolio.data.schema import PRICE_COLUMNS, validate_candles
from clusterfolio.enums import CalendarKind


def _take(raw: _Raw, index: Any) -> _Raw:
    """The rows of ``raw`` selected by a boolean mask or an order."""
    return _Raw(raw.rows[index], raw.session[index], raw.prices[index], raw.volume[index])


def _fill_partial_ohlc(raw: _Raw, issues: _Issues) -> _Raw:
    """A valid close without open/high/low keeps its close (each missing price set to it)."""
    prices = raw.prices
    close = prices[:, 3]
    partial = (
        np.isfinite(close) & (close > 0) & ~np.isfinite(prices[:, :3]).all(axis=1)
    ) & ~np.isnat(raw.session)
    if not partial.any():
        return raw
    prices = prices.copy()
    for k in np.flatnonzero(partial):
        gone = [
            c for c, v in zip(PRICE_COLUMNS[:3], prices[k, :3], strict=True) if not np.isfinite(v)
        ]
        issues.add(
            int(raw.rows[k]),
            IssueKind.OHLC_FILLED,
            f"session {_day(raw.session[k])}: no {'/'.join(gone)}: set to the close {close[k]!r}",
            session=raw.session[k],
        )
        prices[k, :3] = np.where(np.isfinite(prices[k, :3]), prices[k, :3], close[k])
    return _Raw(raw.rows, raw.session, prices, raw.volume)


def _drop_unparsable(raw: _Raw, issues: _Issues) -> _Raw:
    """Rows without a date or with a non-finite price are dropped."""
    bad = np.isnat(raw.session) | ~np.isfinite(raw.prices).all(axis=1)
    for k in np.flatnonzero(bad):
        what = "date" if np.isnat(raw.session[k]) else "price"
        issues.add(
            int(raw.rows[k]),
            IssueKind.BAD_ROW,
            f"unparsable {what}: row dropped",
            session=None if np.isnat(raw.session[k]) else raw.session[k],
        )
    return _take(raw, ~bad)


def _drop_duplicates(raw: _Raw, issues: _Issues) -> _Raw:
    """Sorted by session, the first occurrence in file order kept."""
    raw = _take(raw, np.lexsort((raw.rows, raw.session)))
    rows, session, prices, volume = raw.rows, raw.session, raw.prices, raw.volume
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
    return _take(raw, ~dup)


def _drop_nonpositive(raw: _Raw, issues: _Issues) -> _Raw:
    """Non-positive prices dropped: the leading block (pre-listing fill), then single rows."""
    rows, session, prices = raw.rows, raw.session, raw.prices
    nonpos = np.asarray((prices <= 0).any(axis=1), dtype=bool)
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
    return _take(raw, ~nonpos)


def _zero_bad_volume(raw: _Raw, issues: _Issues) -> _Raw:
    """A negative or non-finite volume is set to 0."""
    volume = raw.volume
    badvol = ~np.isfinite(volume) | (volume < 0)
    for k in np.flatnonzero(badvol):
        issues.add(
            int(raw.rows[k]),
            IssueKind.BAD_VOLUME,
            f"session {_day(raw.session[k])} volume {volume[k]!r}: set to 0",
            session=raw.session[k],
        )
    return _Raw(raw.rows, raw.session, raw.prices, np.where(badvol, 0.0, volume))


def _repair_ohlc(raw: _Raw, issues: _Issues) -> _Raw:
    """High and low widened to hold open and close."""
    prices = raw.prices
    high = prices.max(axis=1)
    low = prices.min(axis=1)
    fixed = (high != prices[:, 1]) | (low != prices[:, 2])
    for k in np.flatnonzero(fixed):
        o, h, lo, c = prices[k].tolist()
        issues.add(
            int(raw.rows[k]),
            IssueKind.OHLC_REPAIRED,
            f"session {_day(raw.session[k])}: open {o!r} close {c!r} outside high {h!r} / "
            f"low {lo!r}: high -> {high[k]!r}, low -> {low[k]!r}",
            session=raw.session[k],
        )
    prices = prices.copy()
    prices[:, 1], prices[:, 2] = high, low
    return _Raw(raw.rows, raw.session, prices, raw.volume)


def _report_gaps(raw: _Raw, issues: _Issues, calendar: CalendarKind | None) -> None:
    """Missing days of a 24/7 calendar, reported (not filled)."""
    if calendar is not CalendarKind.CRYPTO_24_7 or len(raw.session) <= 1:
        return
    days = raw.session.astype("datetime64[D]")
    step = np.diff(days).astype(np.int64)
    for k in np.flatnonzero(step > 1):
        missing = int(step[k]) - 1
        first, last = days[k] + 1, days[k + 1] - 1
        issues.add(
            int(raw.rows[k + 1]),
            IssueKind.GAP,
            f"{missing} missing day(s) {first}..{last} before session {days[k + 1]}: not filled",
            Severity.INFO,
            session=raw.session[k + 1],
        )


def _finish(raw: _Raw, issues: _Issues, calendar: CalendarKind | None) -> pd.DataFrame:
    """Apply the cleaning rules of the module docstring and validate the result."""
    raw = _drop_unparsable(_fill_partial_ohlc(raw, issues), issues)
    raw = _drop_duplicates(raw, issues)
    raw = _zero_bad_volume(_drop_nonpositive(raw, issues), issues)
    raw = _repair_ohlc(raw, issues)
    _report_gaps(raw, issues, calendar)
    prices = raw.prices
    frame = pd.DataFrame(
        {
            "session": raw.session,
            "open": prices[:, 0],
            "high": prices[:, 1],
            "low": prices[:, 2],
            "close": prices[:, 3],
            "volume": raw.volume,
        }
    )
    return validate_candles(frame, source=issues.file)
