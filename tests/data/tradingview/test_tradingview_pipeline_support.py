"""What the pipeline needs from the TradingView provider and its loopback servers.

- ``metadata_many``: the listings of many symbols in one scanner request per market;
- ``calendar_sessions``: the chart server keeps each symbol's trading calendar;
- the scanner with ``chart=``: columns computed from the chart's candles, field references on
  the right of a filter, crossings and the percentage operations, as TradingView evaluates them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from clusterfolio.data.tradingview import TradingViewProvider
from clusterfolio.data.tradingview.scanner import ScannerClient
from clusterfolio.discovery.columns import screener_row
from clusterfolio.enums import AssetClass, CalendarKind
from clusterfolio.errors import UnknownSymbolError
from clusterfolio.manifest import TradingViewSettings
from tests.fakes.tradingview import (
    DEFAULT_AS_OF,
    BarColumns,
    FakeChartServer,
    FakeScannerServer,
    default_universe,
    evaluate_scan,
    synthetic_bars,
)

pytestmark = pytest.mark.timeout(60)

Settings = Callable[..., TradingViewSettings]
#: Stocks of the default universe (the scanner fixture's).
STOCKS = [r["symbol"] for r in default_universe()["stocks"][10:] if r["type"] == "stock"]


@pytest.fixture
def provider(
    scanner_server: FakeScannerServer,
    chart_server: FakeChartServer,
    make_settings: Settings,
    metainfo_dir: Path,
) -> Iterator[TradingViewProvider]:
    with TradingViewProvider(
        make_settings(page_size=50),
        scanner_url=scanner_server.url,
        websocket_url=chart_server.url,
        metainfo_dir=metainfo_dir,
    ) as tv:
        yield tv


@pytest.fixture(scope="module")
def priced() -> Iterator[tuple[FakeScannerServer, FakeChartServer]]:
    """A scanner without field lists whose columns come from the chart's candles."""
    universe = default_universe(n_stocks=30, n_bonds=0)
    universe["crypto"] = [r for r in universe["crypto"] if r["exchange"] == "BINANCE"]
    with (
        FakeChartServer(history=300) as chart,
        FakeScannerServer(universe, chart=chart) as scanner,
    ):
        yield scanner, chart


def _rows(server: FakeScannerServer, body: dict[str, Any], settings: Settings) -> list[dict]:  # type: ignore[type-arg]
    with ScannerClient(settings(), base_url=server.url) as client:
        return client.scan(body).rows


# ------------------------------------------------------------------------------ metadata_many


def test_metadata_many_asks_once_per_market_and_page(
    provider: TradingViewProvider, scanner_server: FakeScannerServer
) -> None:
    stocks = STOCKS[:40]  # one page of 50
    symbols = ["AMEX:SPY", "BINANCE:BTCUSDT", "FX_IDC:EURUSD", *stocks, "AMEX:SPY"]
    listings = provider.metadata_many(symbols)
    assert list(listings) == list(dict.fromkeys(symbols))
    assert provider.stats.metadata_calls == 3
    assert len(scanner_server.requests) == 3
    spy, btc, eur = listings["AMEX:SPY"], listings["BINANCE:BTCUSDT"], listings["FX_IDC:EURUSD"]
    assert (spy.asset_class, spy.calendar) == (AssetClass.ETF, CalendarKind.NYSE)
    assert (btc.calendar, btc.base, btc.quote) == (CalendarKind.CRYPTO_24_7, "BTC", "USDT")
    assert (eur.calendar, eur.base, eur.quote) == (CalendarKind.FOREX_24_5, "EUR", "USD")
    # the same answers as one look-up each, and nothing asked again once described
    for symbol in ("AMEX:SPY", stocks[0]):
        assert provider.metadata(symbol) == listings[symbol]
    assert provider.metadata_many(symbols) == listings
    assert provider.stats.metadata_calls == 3


def test_metadata_many_pages_and_unknown_symbols(
    provider: TradingViewProvider, make_settings: Settings
) -> None:
    provider.settings = make_settings(page_size=7)
    stocks = STOCKS[:19]  # 19 + 2 unknown tickers: 3 pages of 7
    with pytest.raises(UnknownSymbolError, match=r"NYSE:NOPE, NASDAQ:NADA$"):
        provider.metadata_many([*stocks, "NYSE:NOPE", "NASDAQ:NADA"])
    assert provider.stats.metadata_calls == 3
    found = provider.metadata_many(["NYSE:NOPE", stocks[0]], strict=False)
    assert list(found) == [stocks[0]]


# -------------------------------------------------------------------------- calendar sessions


def test_calendar_sessions_follow_each_symbols_calendar() -> None:
    def days(symbol: str, calendar: bool) -> set[date]:
        bars = synthetic_bars(symbol, as_of=DEFAULT_AS_OF, n_bars=300, calendar=calendar)
        return {pd.Timestamp(t, unit="s").date() for t, *_ in bars}

    thanksgiving, saturday = date(2025, 11, 27), date(2025, 11, 29)
    assert thanksgiving in days("NYSE:JPM", calendar=False)
    nyse = days("NYSE:JPM", calendar=True)
    assert thanksgiving not in nyse and saturday not in nyse and max(nyse) == DEFAULT_AS_OF
    forex = days("FX_IDC:EURUSD", calendar=True)
    assert thanksgiving in forex and saturday not in forex
    assert saturday in days("BINANCE:BTCUSDT", calendar=True)
    closes = [b[4] for b in synthetic_bars("NYSE:JPM", n_bars=300, calendar=True)]
    assert closes == [b[4] for b in synthetic_bars("NYSE:JPM", n_bars=300)]
    with FakeChartServer(history=300, calendar_sessions=True) as server:
        frame = server.expected_frame("NYSE:JPM", date(2025, 11, 20), DEFAULT_AS_OF)
        assert pd.Timestamp(thanksgiving) not in set(frame["session"])


# ------------------------------------------------------------------- columns from the candles


def test_columns_are_computed_from_the_charts_candles(
    priced: tuple[FakeScannerServer, FakeChartServer], make_settings: Settings
) -> None:
    scanner, chart = priced
    columns = ["close", "Value.Traded", "RSI", "SMA50", "Perf.1M", "EMA20|1W", "close[1]"]
    body = {"markets": ["america"], "columns": ["name", "type", *columns], "range": [0, 6]}
    rows = _rows(scanner, body, make_settings)
    assert len(rows) == 6
    for row in rows:
        candles = chart.expected_frame(row["symbol"], date(2024, 1, 1), DEFAULT_AS_OF)
        local = screener_row(candles, columns, symbol=row["symbol"], as_of=DEFAULT_AS_OF)
        assert [row[c] for c in columns] == pytest.approx([local[c] for c in columns])
        assert row["name"] == row["symbol"].split(":")[1]  # metadata stays the row's


def test_field_references_crossings_and_percentages(
    priced: tuple[FakeScannerServer, FakeChartServer], make_settings: Settings
) -> None:
    scanner, _ = priced
    cols = ["close", "SMA50", "EMA20", "close[1]", "EMA20[1]", "type"]
    everything = _rows(scanner, {"markets": ["crypto"], "columns": cols}, make_settings)

    def kept(*filters: dict[str, Any]) -> set[str]:
        body = {"markets": ["crypto"], "columns": cols, "filter": list(filters)}
        return {r["symbol"] for r in _rows(scanner, body, make_settings)}

    def where(test: Callable[[dict[str, Any]], bool]) -> set[str]:
        return {r["symbol"] for r in everything if test(r)}

    above = kept({"left": "close", "operation": "greater", "right": "SMA50"})
    assert above == where(lambda r: r["close"] > r["SMA50"]) and 0 < len(above) < len(everything)
    assert kept({"left": "type", "operation": "equal", "right": "spot"}) == where(lambda r: True)
    crossed = kept({"left": "close", "operation": "crosses_above", "right": "EMA20"})
    assert crossed == where(lambda r: r["close[1]"] <= r["EMA20[1]"] and r["close"] > r["EMA20"])
    crosses = kept({"left": "close", "operation": "crosses", "right": "EMA20"})
    below = kept({"left": "close", "operation": "crosses_below", "right": "EMA20"})
    assert crosses == crossed | below
    pct = kept({"left": "close", "operation": "above%", "right": ["SMA50", 1.05]})
    assert pct == where(lambda r: r["close"] > 1.05 * r["SMA50"])
    band = kept({"left": "close", "operation": "in_range%", "right": ["SMA50", 0.95, 1.05]})
    assert band == where(lambda r: 0.95 * r["SMA50"] <= r["close"] <= 1.05 * r["SMA50"])
    outside = kept({"left": "close", "operation": "not_in_range%", "right": ["SMA50", 0.95, 1.05]})
    assert outside == where(lambda r: True) - band
    names = kept({"left": "name", "operation": "nmatch", "right": "btc"})
    assert "BINANCE:BTCUSDT" not in names and len(names) == len(everything) - 1


def test_bar_columns_alone() -> None:
    history = synthetic_bars("NASDAQ:AAPL", n_bars=300)
    computed = BarColumns(lambda symbol: history, known=lambda s: s != "NASDAQ:GONE")
    assert computed.is_column("RSI|1W") and not computed.is_column("sector")
    assert not computed.is_column("no_such_field")
    close = computed.value("NASDAQ:AAPL", "close")
    assert close == pytest.approx(history[-1][4])
    assert computed.value("NASDAQ:AAPL", "SMA200[250]") is None  # before the history: null
    universe = {"stocks": [{"symbol": "NASDAQ:AAPL", "close": -1.0, "name": "AAPL"}]}
    body = {"columns": ["close", "name"], "markets": ["america"]}
    doc = evaluate_scan(universe, "america", body, computed=computed)
    assert doc["data"] == [{"s": "NASDAQ:AAPL", "d": [close, "AAPL"]}]
    gone = {"stocks": [{"symbol": "NASDAQ:GONE", "close": 7.0}]}
    assert evaluate_scan(gone, "america", body, computed=computed)["data"][0]["d"][0] == 7.0
