"""The ``tradingview`` provider end to end over both loopback servers."""

from __future__ import annotations

import asyncio
import copy
import math
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from clusterfolio.data.provider import Provider
from clusterfolio.data.schema import CANDLE_COLUMNS
from clusterfolio.data.tradingview import TradingViewProvider
from clusterfolio.enums import AssetClass, CalendarKind
from clusterfolio.errors import ConfigError, ProviderError, UnknownSymbolError
from clusterfolio.manifest import TradingViewSettings
from tests.fakes.tradingview import (
    ChartFault,
    FakeChartServer,
    FakeScannerServer,
    HttpFault,
)

pytestmark = pytest.mark.timeout(60)

START, END = date(2025, 1, 1), date(2025, 12, 19)


@pytest.fixture
def provider(
    scanner_server: FakeScannerServer,
    chart_server: FakeChartServer,
    make_settings: Callable[..., TradingViewSettings],
    metainfo_dir: Path,
) -> Iterator[TradingViewProvider]:
    with TradingViewProvider(
        make_settings(bars_per_request=100, page_size=50),
        scanner_url=scanner_server.url,
        websocket_url=chart_server.url,
        metainfo_dir=metainfo_dir,
    ) as tv:
        yield tv


def test_is_a_provider(provider: TradingViewProvider) -> None:
    assert isinstance(provider, Provider)
    assert provider.name == "tradingview"
    assert provider.warnings == []


def test_screens_feed_listings(
    provider: TradingViewProvider, real_screens: list[dict[str, Any]]
) -> None:
    for screen in real_screens:
        rows = provider.screen(screen["query"])
        assert rows and all(isinstance(r["symbol"], str) for r in rows)
    assert provider.stats.screen_calls == len(real_screens)
    listings = {item.symbol: item for item in provider.listings()}
    assert list(listings) == sorted(listings)
    spy = listings["AMEX:SPY"]
    assert (spy.asset_class, spy.calendar) == (AssetClass.ETF, CalendarKind.NYSE)
    assert spy.description == ""  # the ETF screen has no description column
    btc = listings["BINANCE:BTCUSDT"]
    assert (btc.asset_class, btc.base, btc.quote) == (AssetClass.CRYPTO, "BTC", "USDT")
    eur = listings["FX_IDC:EURUSD"]
    assert (eur.asset_class, eur.calendar, eur.base) == (
        AssetClass.FOREX,
        CalendarKind.FOREX_24_5,
        "EUR",
    )
    assert listings["CRYPTO:BTCUSD"].market_cap > 0
    described = next(item for item in listings.values() if item.description)
    assert provider.metadata(described.symbol) is described
    assert provider.stats.metadata_calls == 0
    spy_full = provider.metadata("AMEX:SPY")  # looked up, merged with what the screens said
    assert (spy_full.description, spy_full.asset_class) == (
        "SPDR S&P 500 ETF Trust",
        AssetClass.ETF,
    )
    assert provider.stats.metadata_calls == 1


def test_metadata_lookup(provider: TradingViewProvider, scanner_server: FakeScannerServer) -> None:
    aapl = provider.metadata("NASDAQ:AAPL")
    assert (aapl.description, aapl.asset_class) == ("Apple Inc.", AssetClass.EQUITY)
    assert aapl.sector and aapl.industry and aapl.market_cap > 0
    eth = provider.metadata("COINBASE:ETHUSD")
    assert (eth.asset_class, eth.base, eth.quote, eth.calendar) == (
        AssetClass.CRYPTO,
        "ETH",
        "USD",
        CalendarKind.CRYPTO_24_7,
    )
    assert math.isfinite(eth.market_cap)
    assert provider.metadata("NASDAQ:AAPL") is aapl  # cached
    assert provider.stats.metadata_calls == 2
    with pytest.raises(UnknownSymbolError, match="NASDAQ:NOPE"):
        provider.metadata("NASDAQ:NOPE")
    assert [m for m, _ in scanner_server.requests] == ["america", "crypto", "america"]


def test_candles(provider: TradingViewProvider, chart_server: FakeChartServer) -> None:
    frame = provider.candles("NASDAQ:AAPL", START, END)
    assert tuple(frame.columns) == CANDLE_COLUMNS
    assert str(frame["session"].dtype) == "datetime64[ns]"
    pd.testing.assert_frame_equal(frame, chart_server.expected_frame("NASDAQ:AAPL", START, END))
    assert provider.stats.candle_calls == 1 and provider.stats.by_symbol == {"NASDAQ:AAPL": 1}
    assert provider.candles("NASDAQ:AAPL", END, START).empty
    assert provider.candles("NASDAQ:AAPL", date(2030, 1, 1), date(2030, 2, 1)).empty


def test_candles_retry_then_error(
    provider: TradingViewProvider, chart_server: FakeChartServer
) -> None:
    chart_server.inject("NYSE:JPM", ChartFault("drop", at_chunk=1))
    frame = provider.candles("NYSE:JPM", START, END)
    pd.testing.assert_frame_equal(frame, chart_server.expected_frame("NYSE:JPM", START, END))
    with pytest.raises(UnknownSymbolError, match="NYSE:UNKNOWN"):
        provider.candles("NYSE:UNKNOWN", START, END)


def test_candles_many(provider: TradingViewProvider, chart_server: FakeChartServer) -> None:
    symbols = ["NASDAQ:AAPL", "BINANCE:BTCUSDT", "FX_IDC:EURUSD", "NYSE:JPM", "AMEX:SPY"]
    frames = provider.candles_many([*symbols, "AMEX:SPY"], START, END)
    assert list(frames) == symbols
    for symbol, frame in frames.items():
        pd.testing.assert_frame_equal(frame, chart_server.expected_frame(symbol, START, END))
    assert provider.stats.candle_calls == len(symbols)
    with pytest.raises(UnknownSymbolError, match="AMEX:UNKNOWN"):
        provider.candles_many(["AMEX:SPY", "AMEX:UNKNOWN"], START, END)
    chart_server.inject("NYSE:XOM", *[ChartFault("drop")] * 10)
    with pytest.raises(ProviderError, match=r"2 of 3 symbols failed: .*AMEX:UNKNOWN.*NYSE:XOM"):
        provider.candles_many(["AMEX:UNKNOWN", "NYSE:XOM", "AMEX:SPY"], START, END)
    lenient = provider.candles_many(["AMEX:UNKNOWN", "AMEX:SPY"], START, END, strict=False)
    assert list(lenient) == ["AMEX:SPY"]
    assert list(provider.failures) == ["AMEX:UNKNOWN"]


def test_sync_api_inside_a_running_loop(provider: TradingViewProvider) -> None:
    async def inside() -> pd.DataFrame:
        return provider.candles("NASDAQ:MSFT", START, END)

    assert not asyncio.run(inside()).empty


def test_scanner_faults_through_the_provider(
    provider: TradingViewProvider,
    scanner_server: FakeScannerServer,
    real_screens: list[dict[str, Any]],
) -> None:
    scanner_server.inject(HttpFault(status=429), HttpFault(status=500), HttpFault(drop=True))
    query = copy.deepcopy(real_screens[0]["query"])
    assert len(provider.screen(query)) == query["range"][1]
    bad = {**query, "columns": [*query["columns"], "no_such_field"]}
    with pytest.raises(ConfigError, match=r"'no_such_field'.*'america'"):
        provider.screen(bad)


def test_missing_field_lists_are_recorded(
    scanner_server: FakeScannerServer,
    make_settings: Callable[..., TradingViewSettings],
    tmp_path: Path,
) -> None:
    with TradingViewProvider(
        make_settings(), scanner_url=scanner_server.url, metainfo_dir=tmp_path
    ) as tv:
        assert tv.warnings and "not validated" in tv.warnings[0]
        assert tv.screen({"columns": ["name"], "markets": ["crypto"], "range": [0, 3]})


def test_urls_from_the_manifest_settings(
    scanner_server: FakeScannerServer,
    chart_server: FakeChartServer,
    make_settings: Callable[..., TradingViewSettings],
) -> None:
    settings = make_settings(scanner_url=scanner_server.url, websocket_url=chart_server.url)
    with TradingViewProvider(settings) as tv:  # as built by the provider factory
        assert tv.screen({"columns": ["name"], "markets": ["forex"], "range": [0, 2]})
        frame = tv.candles("FX_IDC:EURUSD", START, END)
    pd.testing.assert_frame_equal(frame, chart_server.expected_frame("FX_IDC:EURUSD", START, END))
