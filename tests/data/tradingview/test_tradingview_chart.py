"""Chart client against the loopback websocket server: chunks, heartbeats, faults."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import pytest

from clusterfolio.data.tradingview.chart import ChartClient, SeriesResult, bars_to_frame
from clusterfolio.errors import ProviderError, UnknownSymbolError
from clusterfolio.manifest import TradingViewSettings
from tests.fakes.tradingview import ChartFault, FakeChartServer

pytestmark = pytest.mark.timeout(60)

Settings = Callable[..., TradingViewSettings]
TODAY = date(2025, 12, 31)
START, END = date(2024, 1, 1), date(2025, 12, 19)


def _client(server: FakeChartServer, settings: TradingViewSettings, **kwargs: Any) -> ChartClient:
    return ChartClient(settings, websocket_url=server.url, today=lambda: TODAY, **kwargs)


def _fetch(client: ChartClient, symbol: str, start: date = START, end: date = END) -> SeriesResult:
    return asyncio.run(client.fetch(symbol, start, end))


def _wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_candles_match_the_server_history(
    chart_server: FakeChartServer, make_settings: Settings
) -> None:
    client = _client(chart_server, make_settings(bars_per_request=100))
    result = _fetch(client, "NASDAQ:AAPL")
    expected = chart_server.expected_frame("NASDAQ:AAPL", START, END)
    pd.testing.assert_frame_equal(result.frame, expected)
    assert len(result.frame) == len(pd.bdate_range(START, END))
    assert result.frame["session"].iloc[0] == pd.Timestamp("2024-01-01")
    assert (result.frame["session"] == result.frame["session"].dt.normalize()).all()
    assert result.frame["session"].dt.tz is None
    # 731 days since START: first series 100, then chunks of 100 until the oldest bar <= START
    assert result.requests == chart_server.stats.create_series + chart_server.stats.more_data
    assert result.requests >= 6
    assert chart_server.stats.requested_bars[0] == 100
    assert result.info["pro_name"] == "NASDAQ:AAPL"
    assert _wait_for(lambda: chart_server.stats.deleted_sessions == 1)


def test_one_request_when_it_can_carry_the_history(make_settings: Settings) -> None:
    with FakeChartServer(history=800) as server:
        client = _client(server, make_settings(bars_per_request=5000))
        result = _fetch(client, "BINANCE:BTCUSDT")
        assert server.stats.create_series == 1 and server.stats.more_data == 0
        assert server.stats.requested_bars == [(TODAY - START).days + 1]
        pd.testing.assert_frame_equal(
            result.frame, server.expected_frame("BINANCE:BTCUSDT", START, END)
        )
        assert len(result.frame) == (END - START).days + 1  # 24/7 sessions


def test_history_shorter_than_the_range_ends_the_chunks(
    chart_server: FakeChartServer, make_settings: Settings
) -> None:
    client = _client(chart_server, make_settings(bars_per_request=250))
    result = _fetch(client, "NYSE:JPM", date(2015, 1, 1), END)
    assert len(result.frame) == chart_server.history  # all it has
    # the server caps each request at 100 bars: 6 full chunks, then an empty one ends the loop
    assert result.requests == 600 // 100 + 1
    assert chart_server.stats.requested_bars[1:] == [250] * 6


def test_heartbeats_are_echoed_and_quote_packets_skipped(
    make_settings: Settings, captured_packets: list[dict[str, Any]]
) -> None:
    with FakeChartServer(
        history=300, max_bars_per_request=100, heartbeat_interval_s=0.02, preamble=captured_packets
    ) as server:
        client = _client(server, make_settings(bars_per_request=100))
        result = _fetch(client, "FX_IDC:EURUSD", date(2025, 1, 1))
        assert not result.frame.empty
        assert client.stats.heartbeats >= 1
        assert _wait_for(lambda: server.stats.heartbeats_echoed >= client.stats.heartbeats)


def test_token_and_adjustment(
    chart_server: FakeChartServer, make_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fetch(_client(chart_server, make_settings()), "NASDAQ:MSFT", date(2025, 6, 1))
    assert chart_server.stats.tokens == ["unauthorized_user_token"]
    assert chart_server.stats.specs[-1] == {"symbol": "NASDAQ:MSFT", "adjustment": "splits"}
    monkeypatch.setenv("TV_TEST_TOKEN", "secret-token")
    settings = make_settings(token_env="TV_TEST_TOKEN", adjustment="dividends")
    _fetch(_client(chart_server, settings), "NASDAQ:MSFT", date(2025, 6, 1))
    assert chart_server.stats.tokens[-1] == "secret-token"
    assert chart_server.stats.specs[-1] == {"symbol": "NASDAQ:MSFT", "adjustment": "dividends"}


@pytest.mark.parametrize(
    "faults",
    [
        [ChartFault("drop")],
        [ChartFault("drop", at_chunk=3)],
        [ChartFault("malformed")],
        [ChartFault("bad_json", at_chunk=1)],
        [ChartFault("critical")],
        [ChartFault("stall", at_chunk=2)],
        [ChartFault("drop"), ChartFault("malformed", at_chunk=2), ChartFault("drop", at_chunk=4)],
    ],
    ids=["drop", "drop-mid-chunks", "malformed", "bad-json", "critical", "stall", "storm"],
)
def test_transient_faults_end_in_the_full_series(
    chart_server: FakeChartServer, make_settings: Settings, faults: list[ChartFault]
) -> None:
    chart_server.inject("NASDAQ:NVDA", *faults)
    stalls = any(fault.kind == "stall" for fault in faults)
    settings = make_settings(bars_per_request=100, timeout_s=1.0 if stalls else 2.0)
    result = _fetch(_client(chart_server, settings), "NASDAQ:NVDA")
    pd.testing.assert_frame_equal(
        result.frame, chart_server.expected_frame("NASDAQ:NVDA", START, END)
    )
    assert result.attempts == len(faults) + 1
    assert chart_server.pending_faults("NASDAQ:NVDA") == 0
    assert chart_server.stats.connections == len(faults) + 1  # each retry starts from scratch


def test_persistent_drops_fail_naming_the_symbol(
    chart_server: FakeChartServer, make_settings: Settings
) -> None:
    chart_server.inject("NYSE:XOM", *[ChartFault("drop", at_chunk=1)] * 5)
    client = _client(chart_server, make_settings(max_retries=2))
    with pytest.raises(
        ProviderError, match=r"NYSE:XOM: TradingView candles failed after 3 attempts: .*dropped"
    ):
        _fetch(client, "NYSE:XOM")
    assert chart_server.stats.create_series == 3


def test_persistent_malformed_frames_fail_naming_the_symbol(
    chart_server: FakeChartServer, make_settings: Settings
) -> None:
    chart_server.inject("NYSE:XOM", *[ChartFault("malformed")] * 3)
    client = _client(chart_server, make_settings(max_retries=1))
    with pytest.raises(ProviderError, match=r"NYSE:XOM: .*malformed frame"):
        _fetch(client, "NYSE:XOM")


@pytest.mark.parametrize(
    ("kind", "message"),
    [("series_error", "series_error"), ("protocol_error", "protocol_error")],
)
def test_server_errors_are_not_retried(
    chart_server: FakeChartServer, make_settings: Settings, kind: Any, message: str
) -> None:
    chart_server.inject("AMEX:GLD", ChartFault(kind))
    client = _client(chart_server, make_settings())
    with pytest.raises(ProviderError, match=rf"AMEX:GLD: TradingView {message}") as info:
        _fetch(client, "AMEX:GLD")
    assert not isinstance(info.value, UnknownSymbolError)
    assert chart_server.stats.create_series == 1


def test_unknown_symbol(chart_server: FakeChartServer, make_settings: Settings) -> None:
    client = _client(chart_server, make_settings())
    with pytest.raises(UnknownSymbolError, match=r"NASDAQ:UNKNOWN1: unknown to TradingView"):
        _fetch(client, "NASDAQ:UNKNOWN1")
    assert client.stats.retries == 0


def test_fetch_many_bounded_concurrency_and_isolated_failures(
    chart_server: FakeChartServer, make_settings: Settings
) -> None:
    symbols = [f"NASDAQ:S{i:03d}" for i in range(10)] + ["NYSE:UNKNOWNZ", "BINANCE:ETHUSDT"]
    chart_server.inject("NASDAQ:S003", ChartFault("drop", at_chunk=1))
    client = _client(chart_server, make_settings(concurrency=3, bars_per_request=100))
    results = asyncio.run(client.fetch_many([*symbols, symbols[0]], date(2025, 1, 1), END))
    assert list(results) == symbols
    assert isinstance(results["NYSE:UNKNOWNZ"], UnknownSymbolError)
    for symbol in symbols:
        if symbol == "NYSE:UNKNOWNZ":
            continue
        result = results[symbol]
        assert isinstance(result, SeriesResult), result
        pd.testing.assert_frame_equal(
            result.frame, chart_server.expected_frame(symbol, date(2025, 1, 1), END)
        )
    assert chart_server.stats.connections == 3 + 1  # three workers, one reconnect after the drop


def test_bars_to_frame_rejects_bad_prices() -> None:
    with pytest.raises(ProviderError, match="X:Y: TradingView bars are invalid"):
        bars_to_frame(
            "X:Y", [(1_700_000_000, 1.0, 1.0, -1.0, 1.0, 0.0)], date(2023, 1, 1), date(2024, 1, 1)
        )
    assert bars_to_frame("X:Y", [], date(2023, 1, 1), date(2024, 1, 1)).empty


def test_unreachable_server_fails_naming_the_symbol(make_settings: Settings) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = make_settings(max_retries=1, timeout_s=0.5)
    client = ChartClient(settings, websocket_url=f"ws://127.0.0.1:{port}/socket.io/websocket")
    with pytest.raises(ProviderError, match=r"NASDAQ:AAPL: .*after 2 attempts: .*cannot connect"):
        _fetch(client, "NASDAQ:AAPL")
    assert client.stats.retries == 1
