"""Scanner client against the loopback ``/scan`` server: real screens, paging, faults."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from clusterfolio.data.tradingview.fields import FieldCatalog
from clusterfolio.data.tradingview.ratelimit import TokenBucket
from clusterfolio.data.tradingview.scanner import ScannerClient, request_market
from clusterfolio.errors import ConfigError, ProviderError
from clusterfolio.manifest import TradingViewSettings
from tests.fakes.tradingview import FakeScannerServer, HttpFault

pytestmark = pytest.mark.timeout(60)

Settings = Callable[..., TradingViewSettings]


def _client(
    server: FakeScannerServer, settings: TradingViewSettings, catalog: FieldCatalog | None
) -> ScannerClient:
    return ScannerClient(settings, base_url=server.url, catalog=catalog)


def _screen(real_screens: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return copy.deepcopy(next(s["query"] for s in real_screens if s["name"] == name))


def test_every_real_screen_body(
    scanner_server: FakeScannerServer,
    make_settings: Settings,
    catalog: FieldCatalog,
    real_screens: list[dict[str, Any]],
) -> None:
    with _client(scanner_server, make_settings(page_size=40), catalog) as client:
        for screen in real_screens:
            query = screen["query"]
            result = client.scan(query)
            lo, hi = query["range"]
            assert result.market == query["markets"][0]
            assert result.total_count > 0, screen["name"]
            assert len(result.rows) == min(hi - lo, result.total_count), screen["name"]
            assert len({row["symbol"] for row in result.rows}) == len(result.rows)
            for row in result.rows:
                assert list(row) == ["symbol", *query["columns"]]
            key, order = query["sort"]["sortBy"], query["sort"]["sortOrder"]
            if key in query["columns"]:
                values = [r[key] for r in result.rows if r[key] is not None]
                assert values == sorted(values, reverse=order == "desc"), screen["name"]
    sent = [body for _, body in scanner_server.requests]
    assert all(b["columns"] for b in sent)
    assert all(b["range"][1] - b["range"][0] <= 40 for b in sent)


def test_filters_are_honoured(
    scanner_server: FakeScannerServer,
    make_settings: Settings,
    catalog: FieldCatalog,
    real_screens: list[dict[str, Any]],
) -> None:
    with _client(scanner_server, make_settings(), catalog) as client:
        legacy = client.scan(_screen(real_screens, "Stocks (legacy)")).rows
        assert {r["symbol"].split(":")[0] for r in legacy} <= {"AMEX", "NASDAQ", "NYSE"}
        assert {r["type"] for r in legacy} <= {"stock", "dr", "fund"}
        forex = client.scan(_screen(real_screens, "Forex")).rows
        assert forex and all(r["symbol"].startswith("FX_IDC:") for r in forex)
        names = [r["name"] for r in forex]
        assert names == sorted(names)
        v2 = client.scan(_screen(real_screens, "Stocks (v2)")).rows
        assert all(r["type"] in ("stock", "dr", "fund") for r in v2)
        assert not any(r["type"] == "fund" and "etf" in r["typespecs"] for r in v2)
        etfs = client.scan(_screen(real_screens, "ETFs")).rows
        assert etfs and all("etf" in r["typespecs"] for r in etfs)


def test_paging_stops_at_total_count(
    scanner_server: FakeScannerServer, make_settings: Settings, catalog: FieldCatalog
) -> None:
    body = {"columns": ["name", "close"], "markets": ["crypto"], "range": [0, 10_000]}
    with _client(scanner_server, make_settings(page_size=30), catalog) as client:
        result = client.scan(body)
    total = len(scanner_server.universe["crypto"])
    assert result.total_count == total == len(result.rows)
    assert result.requests == -(-total // 30)
    assert [b["range"] for _, b in scanner_server.requests][:2] == [[0, 30], [30, 60]]


def test_no_range_fetches_everything_and_offset_is_kept(
    scanner_server: FakeScannerServer, make_settings: Settings, catalog: FieldCatalog
) -> None:
    with _client(scanner_server, make_settings(page_size=50), catalog) as client:
        everything = client.scan({"columns": ["name"], "markets": ["coin"]})
        tail = client.scan({"columns": ["name"], "markets": ["coin"], "range": [20, 30]})
    assert len(everything.rows) == everything.total_count
    assert [r["symbol"] for r in tail.rows] == [r["symbol"] for r in everything.rows][20:]


def test_unknown_column_fails_before_sending(
    scanner_server: FakeScannerServer, make_settings: Settings, catalog: FieldCatalog
) -> None:
    with (
        _client(scanner_server, make_settings(), catalog) as client,
        pytest.raises(ConfigError, match=r"'market_cap_basic'.*'forex'"),
    ):
        client.scan({"columns": ["name", "market_cap_basic"], "markets": ["forex"]})
        with pytest.raises(ConfigError, match="no market"):
            client.scan({"columns": ["name"]})
        with pytest.raises(ConfigError, match="range"):
            client.scan({"columns": ["name"], "markets": ["crypto"], "range": [5, 1]})
    assert scanner_server.requests == []


def test_without_field_lists_the_server_rejects_with_a_clear_error(
    scanner_server: FakeScannerServer, make_settings: Settings
) -> None:
    with (
        _client(scanner_server, make_settings(), None) as client,
        pytest.raises(ProviderError, match=r'HTTP 400: Unknown field "closee"'),
    ):
        client.scan({"columns": ["name", "closee"], "markets": ["america"]})
        assert client.warnings and "not validated" in client.warnings[0]
    assert len(scanner_server.requests) == 1  # a 400 is not retried


def test_429_storm_then_success(
    scanner_server: FakeScannerServer, make_settings: Settings, catalog: FieldCatalog
) -> None:
    scanner_server.inject(
        HttpFault(status=429), HttpFault(status=429, retry_after=0.01), HttpFault(status=429)
    )
    with _client(scanner_server, make_settings(max_retries=3), catalog) as client:
        result = client.scan({"columns": ["name"], "markets": ["crypto"], "range": [0, 5]})
        assert len(result.rows) == 5
        assert client.retries == 3
    assert len(scanner_server.requests) == 4


@pytest.mark.parametrize(
    "fault",
    [
        HttpFault(status=500),
        HttpFault(status=503),
        HttpFault(drop=True),
        HttpFault(body="{not json"),
    ],
    ids=["500", "503", "dropped", "garbled"],
)
def test_transient_failure_then_success(
    scanner_server: FakeScannerServer,
    make_settings: Settings,
    catalog: FieldCatalog,
    fault: HttpFault,
) -> None:
    scanner_server.inject(fault)
    with _client(scanner_server, make_settings(), catalog) as client:
        result = client.scan({"columns": ["name"], "markets": ["forex"], "range": [0, 3]})
        assert len(result.rows) == 3
        assert client.retries == 1


def test_timeout_then_success(
    scanner_server: FakeScannerServer, make_settings: Settings, catalog: FieldCatalog
) -> None:
    scanner_server.inject(HttpFault(delay_s=2.0))
    with _client(scanner_server, make_settings(timeout_s=0.5), catalog) as client:
        result = client.scan({"columns": ["name"], "markets": ["coin"], "range": [0, 2]})
        assert len(result.rows) == 2
        assert client.retries >= 1


def test_retries_are_bounded(
    scanner_server: FakeScannerServer, make_settings: Settings, catalog: FieldCatalog
) -> None:
    scanner_server.inject(*[HttpFault(status=502)] * 10)
    with (
        _client(scanner_server, make_settings(max_retries=2), catalog) as client,
        pytest.raises(ProviderError, match=r"/crypto/scan: failed after 3 attempts: HTTP 502"),
    ):
        client.scan({"columns": ["name"], "markets": ["crypto"]})
    assert len(scanner_server.requests) == 3


def test_other_4xx_fails_at_once(
    scanner_server: FakeScannerServer, make_settings: Settings, catalog: FieldCatalog
) -> None:
    scanner_server.inject(HttpFault(status=403))
    with (
        _client(scanner_server, make_settings(), catalog) as client,
        pytest.raises(ProviderError, match="HTTP 403"),
    ):
        client.scan({"columns": ["name"], "markets": ["crypto"]})
    assert len(scanner_server.requests) == 1


def test_malformed_rows_are_rejected(
    scanner_server: FakeScannerServer, make_settings: Settings, catalog: FieldCatalog
) -> None:
    scanner_server.inject(HttpFault(body='{"totalCount": 1, "data": [{"s": "X:Y", "d": [1, 2]}]}'))
    with (
        _client(scanner_server, make_settings(), catalog) as client,
        pytest.raises(ProviderError, match="malformed row 0"),
    ):
        client.scan({"columns": ["name"], "markets": ["crypto"]})


def test_tickers_lookup_and_global_market(
    scanner_server: FakeScannerServer, make_settings: Settings, catalog: FieldCatalog
) -> None:
    body = {
        "columns": ["name", "description", "sector"],
        "markets": ["america", "uk"],
        "symbols": {"tickers": ["NASDAQ:AAPL", "AMEX:SPY"], "query": {"types": []}},
    }
    assert request_market(body) == "global"
    with _client(scanner_server, make_settings(), catalog) as client:
        rows = client.scan(body).rows
    assert sorted(r["symbol"] for r in rows) == ["AMEX:SPY", "NASDAQ:AAPL"]
    assert scanner_server.requests[-1][0] == "global"


def test_every_request_takes_a_token(
    scanner_server: FakeScannerServer, make_settings: Settings, catalog: FieldCatalog
) -> None:
    bucket = TokenBucket(1000.0, capacity=1.0, clock=lambda: 0.0)  # time stands still
    scanner_server.inject(HttpFault(status=429))
    client = ScannerClient(
        make_settings(page_size=20), base_url=scanner_server.url, catalog=catalog, limiter=bucket
    )
    with client:
        client.scan({"columns": ["name"], "markets": ["crypto"], "range": [0, 60]})
    assert len(scanner_server.requests) == 4  # one retry and three pages
    assert bucket.waited_s == pytest.approx(0.001 + 0.002 + 0.003)
