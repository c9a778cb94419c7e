"""Trading calendars: real exchange holidays, 24/7 crypto, 24/5 forex."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterfolio.data.calendars import (
    CALENDAR_END,
    CALENDAR_START,
    as_day,
    calendar_for_exchange,
    calendar_for_symbol,
    exchange_calendar,
    is_session,
    last_session,
    sessions,
    sessions_back,
)
from clusterfolio.enums import CalendarKind
from clusterfolio.errors import DataError

NYSE = CalendarKind.NYSE
LSE = CalendarKind.LSE
CRYPTO = CalendarKind.CRYPTO_24_7
FOREX = CalendarKind.FOREX_24_5


@pytest.mark.parametrize(
    "day",
    [date(2025, 11, 27), date(2025, 12, 25), date(2026, 1, 19), date(2025, 7, 4)],
    ids=["thanksgiving", "christmas", "mlk-day", "independence-day"],
)
def test_us_holidays_are_not_nyse_sessions(day: date) -> None:
    assert not is_session(NYSE, day)
    assert pd.Timestamp(day) not in sessions(NYSE, day - timedelta(days=7), day + timedelta(days=7))


@pytest.mark.parametrize("day", [date(2025, 12, 1), date(2026, 1, 20), date(2025, 11, 28)])
def test_normal_weekdays_are_nyse_sessions(day: date) -> None:
    assert is_session(NYSE, day)


def test_lse_has_its_own_holidays() -> None:
    assert not is_session(LSE, date(2025, 12, 26))  # Boxing Day
    assert not is_session(LSE, date(2025, 8, 25))  # summer bank holiday
    assert is_session(LSE, date(2025, 11, 27))  # US Thanksgiving is a London session
    assert is_session(NYSE, date(2025, 8, 25))


@pytest.mark.parametrize("kind", list(CalendarKind))
def test_sessions_are_naive_midnight_ns_sorted_unique(kind: CalendarKind) -> None:
    out = sessions(kind, date(2025, 1, 1), date(2025, 12, 31))
    assert isinstance(out, pd.DatetimeIndex)
    assert out.dtype == np.dtype("datetime64[ns]")
    assert out.tz is None
    assert (out == out.normalize()).all()
    assert out.is_monotonic_increasing and out.is_unique
    assert out[0] >= pd.Timestamp("2025-01-01") and out[-1] <= pd.Timestamp("2025-12-31")


def test_crypto_trades_every_day_and_forex_every_weekday() -> None:
    december = (date(2025, 12, 1), date(2025, 12, 31))
    crypto = sessions(CRYPTO, *december)
    forex = sessions(FOREX, *december)
    nyse = sessions(NYSE, *december)
    assert len(crypto) == 31
    assert pd.Timestamp("2025-12-06") in crypto  # a Saturday
    assert (forex.dayofweek < 5).all() and len(forex) == 23
    assert pd.Timestamp("2025-12-25") in forex  # no holidays on 24/5
    assert (nyse.dayofweek < 5).all() and len(nyse) == 22
    assert set(nyse) <= set(forex) <= set(crypto)


def test_empty_range_and_time_of_day() -> None:
    assert len(sessions(NYSE, date(2025, 12, 5), date(2025, 12, 1))) == 0
    stamped = sessions(CRYPTO, pd.Timestamp("2025-12-01 17:30"), "2025-12-02 01:00")
    assert list(stamped) == [pd.Timestamp("2025-12-01"), pd.Timestamp("2025-12-02")]
    assert as_day(pd.Timestamp("2025-12-01 23:00", tz="UTC")) == pd.Timestamp("2025-12-01")
    with pytest.raises(DataError, match="not a date"):
        as_day("not a day", "as_of")


@pytest.mark.parametrize(
    ("kind", "as_of", "expected"),
    [
        (NYSE, date(2025, 11, 27), date(2025, 11, 26)),  # Thanksgiving -> Wednesday
        (NYSE, date(2025, 11, 29), date(2025, 11, 28)),  # Saturday -> Friday
        (NYSE, date(2025, 12, 1), date(2025, 12, 1)),
        (CRYPTO, date(2025, 11, 29), date(2025, 11, 29)),
        (FOREX, date(2025, 11, 30), date(2025, 11, 28)),  # Sunday -> Friday
        (FOREX, date(2025, 12, 25), date(2025, 12, 25)),
        (LSE, date(2025, 12, 26), date(2025, 12, 24)),
    ],
)
def test_last_session(kind: CalendarKind, as_of: date, expected: date) -> None:
    assert last_session(kind, as_of) == pd.Timestamp(expected)


@pytest.mark.parametrize("kind", list(CalendarKind))
@pytest.mark.parametrize("n", [1, 5, 60, 500])
def test_sessions_back_has_exact_length(kind: CalendarKind, n: int) -> None:
    end = date(2025, 11, 30)  # a Sunday
    out = sessions_back(kind, end, n)
    assert len(out) == n
    assert out[-1] == last_session(kind, end)
    assert out.is_monotonic_increasing and out.is_unique
    assert out.equals(sessions(kind, out[0], end))


def test_sessions_back_edge_cases() -> None:
    assert len(sessions_back(NYSE, date(2025, 12, 31), 0)) == 0
    with pytest.raises(DataError, match="only"):
        sessions_back(NYSE, date(2000, 1, 10), 20)
    with pytest.raises(DataError, match="n must be"):
        sessions_back(CRYPTO, date(2025, 1, 1), -1)


def test_exchange_range_is_checked() -> None:
    assert len(sessions(NYSE, CALENDAR_START, date(2000, 1, 31))) > 15
    assert len(sessions(NYSE, date(2035, 12, 1), CALENDAR_END)) > 15
    with pytest.raises(DataError, match="outside the supported range"):
        sessions(NYSE, date(1995, 1, 1), date(1995, 2, 1))
    with pytest.raises(DataError, match="outside the supported range"):
        sessions(LSE, date(2035, 1, 1), date(2036, 6, 1))
    # crypto and forex are rule based: any range works
    assert len(sessions(CRYPTO, date(1995, 1, 1), date(1995, 1, 31))) == 31


def test_exchange_calendar_is_cached() -> None:
    assert exchange_calendar(NYSE) is exchange_calendar(NYSE)
    with pytest.raises(DataError, match="not an exchange calendar"):
        exchange_calendar(CRYPTO)


@pytest.mark.parametrize(
    ("exchange", "kind"),
    [
        ("NYSE", NYSE),
        ("NASDAQ", NYSE),
        ("AMEX", NYSE),
        ("ARCA", NYSE),
        ("BATS", NYSE),
        ("LSE", LSE),
        ("BINANCE", CRYPTO),
        ("BYBIT", CRYPTO),
        ("OKX", CRYPTO),
        ("COINBASE", CRYPTO),
        ("KRAKEN", CRYPTO),
        ("BITSTAMP", CRYPTO),
        ("BITFINEX", CRYPTO),
        ("FX", FOREX),
        ("FX_IDC", FOREX),
        ("OANDA", FOREX),
        ("FXCM", FOREX),
        ("nasdaq", NYSE),
    ],
)
def test_calendar_for_exchange(exchange: str, kind: CalendarKind) -> None:
    assert calendar_for_exchange(exchange) is kind


def test_unknown_exchange_is_named() -> None:
    with pytest.raises(DataError, match="NOWHERE_EX"):
        calendar_for_exchange("NOWHERE_EX")


def test_calendar_for_symbol() -> None:
    assert calendar_for_symbol("BINANCE:BTCUSDT.P") is CRYPTO
    assert calendar_for_symbol("FX_IDC:EURUSD") is FOREX
    assert calendar_for_symbol("AMEX:SPY") is NYSE
    with pytest.raises(DataError, match="SPY"):
        calendar_for_symbol("SPY")


@settings(max_examples=40, deadline=None)
@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2035, 11, 1)),
    length=st.integers(min_value=0, max_value=60),
)
def test_calendar_nesting_property(start: date, length: int) -> None:
    end = start + timedelta(days=length)
    nyse = sessions(NYSE, start, end)
    forex = sessions(FOREX, start, end)
    crypto = sessions(CRYPTO, start, end)
    assert len(crypto) == length + 1
    assert set(nyse) <= set(forex) <= set(crypto)
    assert (forex.dayofweek < 5).all()
    if len(nyse):
        assert last_session(NYSE, end) == nyse[-1]
