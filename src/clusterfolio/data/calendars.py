"""Trading calendars: which days are sessions for each calendar family.

* :attr:`CalendarKind.NYSE` and :attr:`CalendarKind.LSE` come from ``exchange_calendars``
  (``XNYS`` and ``XLON``), holidays and special closures included (Thanksgiving, Christmas,
  national days of mourning ...). Their sessions are known for :data:`CALENDAR_START` ..
  :data:`CALENDAR_END`; a request outside that range is a :class:`~clusterfolio.errors.DataError`.
* :attr:`CalendarKind.CRYPTO_24_7`: every calendar day is a session.
* :attr:`CalendarKind.FOREX_24_5`: every weekday (Monday to Friday) is a session, no holidays.

Sessions are returned as timezone-naive midnight ``datetime64[ns]`` indexes, the same convention
as the ``session`` column of :data:`clusterfolio.data.schema.CANDLE_COLUMNS`. A daily bar for a
session is complete once the session's date has been reached, so "as of" a date means sessions on
or before it.

``exchange_calendars`` is imported lazily and each exchange calendar is built once per process
(:func:`functools.lru_cache`): its construction takes about a second.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from clusterfolio.enums import CalendarKind
from clusterfolio.errors import DataError

if TYPE_CHECKING:
    from exchange_calendars import ExchangeCalendar

PERIODS_PER_YEAR: dict[CalendarKind, int] = {
    CalendarKind.NYSE: 252,
    CalendarKind.LSE: 252,
    CalendarKind.CRYPTO_24_7: 365,
    CalendarKind.FOREX_24_5: 260,
}
"""Sessions per year of each calendar family: the one place annualisation factors are defined."""

EXCHANGE_PERIODS_PER_YEAR: int = PERIODS_PER_YEAR[CalendarKind.NYSE]
"""Sessions per year of an exchange calendar: the factor wherever one calendar is assumed (the
single-calendar estimators, the peers' inputs, a year of sessions as a sample size)."""

#: First date covered by the exchange calendars (NYSE, LSE).
CALENDAR_START = date(2000, 1, 1)
#: Last date covered by the exchange calendars (NYSE, LSE).
CALENDAR_END = date(2035, 12, 31)

#: Calendar of each exchange prefix of a symbol ``EXCHANGE:TICKER`` (upper case).
EXCHANGE_CALENDARS: dict[str, CalendarKind] = {
    # United States listings
    "NYSE": CalendarKind.NYSE,
    "NASDAQ": CalendarKind.NYSE,
    "AMEX": CalendarKind.NYSE,
    "ARCA": CalendarKind.NYSE,
    "NYSEARCA": CalendarKind.NYSE,
    "BATS": CalendarKind.NYSE,
    "CBOE": CalendarKind.NYSE,
    # London
    "LSE": CalendarKind.LSE,
    "LSIN": CalendarKind.LSE,
    # crypto venues (continuous trading)
    "BINANCE": CalendarKind.CRYPTO_24_7,
    "BINANCEUS": CalendarKind.CRYPTO_24_7,
    "BYBIT": CalendarKind.CRYPTO_24_7,
    "OKX": CalendarKind.CRYPTO_24_7,
    "COINBASE": CalendarKind.CRYPTO_24_7,
    "KRAKEN": CalendarKind.CRYPTO_24_7,
    "BITSTAMP": CalendarKind.CRYPTO_24_7,
    "BITFINEX": CalendarKind.CRYPTO_24_7,
    "BITGET": CalendarKind.CRYPTO_24_7,
    "KUCOIN": CalendarKind.CRYPTO_24_7,
    "GATEIO": CalendarKind.CRYPTO_24_7,
    "MEXC": CalendarKind.CRYPTO_24_7,
    "BITMEX": CalendarKind.CRYPTO_24_7,
    "DERIBIT": CalendarKind.CRYPTO_24_7,
    "CRYPTO": CalendarKind.CRYPTO_24_7,
    "CRYPTOCAP": CalendarKind.CRYPTO_24_7,
    # forex (Sunday evening to Friday evening: one daily bar per weekday)
    "FX": CalendarKind.FOREX_24_5,
    "FX_IDC": CalendarKind.FOREX_24_5,
    "OANDA": CalendarKind.FOREX_24_5,
    "FXCM": CalendarKind.FOREX_24_5,
    "FOREXCOM": CalendarKind.FOREX_24_5,
    "SAXO": CalendarKind.FOREX_24_5,
    "PEPPERSTONE": CalendarKind.FOREX_24_5,
}

_EXCHANGE_CODES: dict[CalendarKind, str] = {
    CalendarKind.NYSE: "XNYS",
    CalendarKind.LSE: "XLON",
}

DateLike = date | datetime | pd.Timestamp | str


def as_day(value: DateLike, what: str = "date") -> pd.Timestamp:
    """Return ``value`` as a naive midnight ``datetime64[ns]`` timestamp.

    Parameters
    ----------
    value : date, datetime, pandas.Timestamp or str
        A day; a time of day is dropped, a timezone is removed (wall date kept).
    what : str
        Name of the value in error messages.

    Raises
    ------
    DataError
        ``value`` is not a date.
    """
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{what}: {value!r} is not a date ({exc})") from exc
    if stamp is pd.NaT:
        raise DataError(f"{what}: {value!r} is not a date")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize().as_unit("ns")


@lru_cache(maxsize=8)
def exchange_calendar(kind: CalendarKind) -> ExchangeCalendar:
    """Return the ``exchange_calendars`` object of an exchange calendar kind (cached).

    Parameters
    ----------
    kind : CalendarKind
        :attr:`CalendarKind.NYSE` or :attr:`CalendarKind.LSE`.

    Returns
    -------
    exchange_calendars.ExchangeCalendar
        Built with bounds :data:`CALENDAR_START` .. :data:`CALENDAR_END`.

    Raises
    ------
    DataError
        ``kind`` is not backed by an exchange calendar (crypto, forex).
    """
    code = _EXCHANGE_CODES.get(CalendarKind(kind))
    if code is None:
        raise DataError(f"calendar {kind!s} is not an exchange calendar")
    import exchange_calendars

    return exchange_calendars.get_calendar(
        code, start=CALENDAR_START.isoformat(), end=CALENDAR_END.isoformat()
    )


@lru_cache(maxsize=8)
def _exchange_sessions(kind: CalendarKind) -> pd.DatetimeIndex:
    """All sessions of an exchange calendar within its bounds (naive, ns, no freq)."""
    raw = exchange_calendar(kind).sessions
    values = np.asarray(
        raw.tz_localize(None) if raw.tz is not None else raw, dtype="datetime64[ns]"
    )
    return pd.DatetimeIndex(values)


def _check_bounds(kind: CalendarKind, first: pd.Timestamp, last: pd.Timestamp) -> None:
    lo, hi = pd.Timestamp(CALENDAR_START), pd.Timestamp(CALENDAR_END)
    for stamp in (first, last):
        if stamp < lo or stamp > hi:
            raise DataError(
                f"calendar {kind!s}: {stamp.date()} is outside the supported range "
                f"{CALENDAR_START} .. {CALENDAR_END}"
            )


def _is_exchange(kind: CalendarKind) -> bool:
    return kind in _EXCHANGE_CODES


def sessions(kind: CalendarKind, start: DateLike, end: DateLike) -> pd.DatetimeIndex:
    """Return the sessions of calendar ``kind`` in ``[start, end]``.

    Parameters
    ----------
    kind : CalendarKind
        Calendar family.
    start, end : date
        Inclusive bounds (times of day are ignored). ``start > end`` gives an empty index.

    Returns
    -------
    pandas.DatetimeIndex
        Sorted, unique, timezone-naive midnight ``datetime64[ns]`` dates.

    Raises
    ------
    DataError
        A bound of an exchange calendar lies outside :data:`CALENDAR_START` ..
        :data:`CALENDAR_END`.
    """
    kind = CalendarKind(kind)
    first, last = as_day(start, "start"), as_day(end, "end")
    if first > last:
        return pd.DatetimeIndex(np.array([], dtype="datetime64[ns]"))
    if _is_exchange(kind):
        _check_bounds(kind, first, last)
        index = _exchange_sessions(kind)
        lo = int(index.searchsorted(first, side="left"))
        hi = int(index.searchsorted(last, side="right"))
        return index[lo:hi]
    if kind is CalendarKind.CRYPTO_24_7:
        out = pd.date_range(first, last, freq="D")
    else:
        out = pd.bdate_range(first, last)
    return pd.DatetimeIndex(np.asarray(out, dtype="datetime64[ns]"))


def is_session(kind: CalendarKind, day: DateLike) -> bool:
    """Return whether ``day`` is a session of calendar ``kind``."""
    stamp = as_day(day, "day")
    return len(sessions(kind, stamp, stamp)) == 1


def last_session(kind: CalendarKind, as_of: DateLike) -> pd.Timestamp:
    """Return the latest session on or before ``as_of`` (its daily bar is complete).

    Parameters
    ----------
    kind : CalendarKind
        Calendar family.
    as_of : date
        Reference date.

    Returns
    -------
    pandas.Timestamp
        Naive midnight timestamp.

    Raises
    ------
    DataError
        No session on or before ``as_of`` within the calendar's range.
    """
    return sessions_back(kind, as_of, 1)[0]


def sessions_back(kind: CalendarKind, end: DateLike, n: int) -> pd.DatetimeIndex:
    """Return the last ``n`` sessions of calendar ``kind`` on or before ``end``.

    Parameters
    ----------
    kind : CalendarKind
        Calendar family.
    end : date
        Last date considered (inclusive).
    n : int
        Number of sessions, ``>= 0``.

    Returns
    -------
    pandas.DatetimeIndex
        Exactly ``n`` sessions, ascending, naive midnight ``datetime64[ns]``.

    Raises
    ------
    DataError
        ``n`` is negative, or fewer than ``n`` sessions exist before ``end`` within the range of
        an exchange calendar.
    """
    kind = CalendarKind(kind)
    if n < 0:
        raise DataError(f"sessions_back: n must be >= 0, got {n}")
    last = as_day(end, "end")
    if n == 0:
        return pd.DatetimeIndex(np.array([], dtype="datetime64[ns]"))
    if _is_exchange(kind):
        if last > pd.Timestamp(CALENDAR_END):
            _check_bounds(kind, last, last)
        index = _exchange_sessions(kind)
        hi = int(index.searchsorted(last, side="right"))
        if hi < n:
            raise DataError(
                f"calendar {kind!s}: only {hi} sessions on or before {last.date()} "
                f"(supported range starts {CALENDAR_START}), {n} requested"
            )
        return index[hi - n : hi]
    if kind is CalendarKind.CRYPTO_24_7:
        out = pd.date_range(end=last, periods=n, freq="D")
    else:
        out = pd.bdate_range(end=last, periods=n)
    return pd.DatetimeIndex(np.asarray(out, dtype="datetime64[ns]"))


def calendar_for_exchange(exchange: str) -> CalendarKind:
    """Return the calendar of an exchange prefix (``NASDAQ``, ``BINANCE``, ``FX_IDC`` ...).

    Parameters
    ----------
    exchange : str
        Exchange part of a symbol, case-insensitive.

    Returns
    -------
    CalendarKind

    Raises
    ------
    DataError
        The exchange is unknown (the message names it and the known exchanges).
    """
    key = exchange.strip().upper()
    try:
        return EXCHANGE_CALENDARS[key]
    except KeyError:
        raise DataError(
            f"unknown exchange {exchange!r}: no trading calendar for it; "
            f"known exchanges: {sorted(EXCHANGE_CALENDARS)}"
        ) from None


def calendar_for_symbol(symbol: str) -> CalendarKind:
    """Return the calendar of a symbol ``EXCHANGE:TICKER`` (see :func:`calendar_for_exchange`)."""
    if ":" not in symbol:
        raise DataError(f"symbol {symbol!r} has no exchange prefix (expected EXCHANGE:TICKER)")
    return calendar_for_exchange(symbol.split(":", 1)[0])
