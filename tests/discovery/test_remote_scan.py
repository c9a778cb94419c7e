"""Discovery on a remote scanner: ``remote_exports`` against the loopback TradingView servers.

The run context is built by hand and the provider by ``make_provider`` from the settings (the
servers' URLs in ``data.tradingview``). The scanner computes its columns from the chart
server's candles, and every export is checked against the local evaluator: the rows a remote
screen returns are exactly those the local evaluation of the same screen keeps, in its order.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from clusterfolio.data.tradingview import TradingViewProvider
from clusterfolio.data.tradingview.fields import load_catalog
from clusterfolio.discovery.evaluate import ScanExport, ScanStatus, evaluate_screen
from clusterfolio.discovery.remote import (
    has_remote_scanner,
    remote_listings,
    rows_frame,
    screener_table_of,
)
from clusterfolio.discovery.screens import Screen, screen_from_dict
from clusterfolio.enums import AssetClass, CalendarKind, Direction, ProviderName
from clusterfolio.errors import ConfigError, DataError
from clusterfolio.io import atomic_write_parquet, parquet_bytes, read_parquet
from clusterfolio.manifest import ResolvedManifest, Settings, TradingViewSettings
from clusterfolio.pipeline.context import RunContext, default_provider
from clusterfolio.pipeline.steps.discovery import remote_exports_for
from tests.fakes.tradingview import (
    DEFAULT_AS_OF,
    FakeChartServer,
    FakeScannerServer,
    HttpFault,
    default_universe,
)

pytestmark = pytest.mark.timeout(120)

FAST: dict[str, Any] = {
    "max_retries": 3,
    "backoff_base_s": 0.001,
    "backoff_max_s": 0.01,
    "timeout_s": 5.0,
    "rate_limit_per_s": 10_000.0,
    "page_size": 50,
}
COMMON = ["name", "close", "Value.Traded", "Perf.1M", "Perf.3M", "RSI", "SMA50", "SMA200"]


def _screen(name: str, folder: str, **body: Any) -> Screen:
    return screen_from_dict(
        body,
        source=f"test/{folder}/{name}.json",
        default_name=name,
        default_class={"equities": AssetClass.EQUITY, "crypto": AssetClass.CRYPTO}.get(
            folder, AssetClass.FOREX
        ),
    )


SCREENS = [
    _screen(
        "crypto_trend",
        "crypto",
        markets=["crypto"],
        columns=[*COMMON, "type", "EMA20", "EMA50"],
        filter=[
            {"left": "type", "operation": "equal", "right": "spot"},
            {"left": "close", "operation": "greater", "right": "EMA20"},
            {"left": "EMA20", "operation": "greater", "right": "EMA50"},
        ],
        sort={"sortBy": "Perf.1M", "sortOrder": "desc"},
        range=[0, 30],
    ),
    _screen(
        "equity_trend",
        "equities",
        markets=["america"],
        columns=[*COMMON, "type", "typespecs", "sector"],
        filter=[
            {"left": "type", "operation": "equal", "right": "stock"},
            {"left": "typespecs", "operation": "has", "right": ["common"]},
            {"left": "close", "operation": "greater", "right": "SMA50"},
            {"left": "Perf.3M", "operation": "greater", "right": 0},
        ],
        sort={"sortBy": "Perf.3M", "sortOrder": "desc"},
        range=[0, 500],
    ),
    _screen(
        "equity_impossible",
        "equities",
        direction="SHORT",
        markets=["america"],
        columns=[*COMMON],
        filter=[{"left": "RSI", "operation": "greater", "right": 101}],
    ),
    _screen(
        "forex_mtf",
        "forex",
        markets=["forex"],
        timeframes=["1D", "1M"],
        columns=[*COMMON, "close|1M", "SMA10|1M"],
        filter2={
            "operator": "or",
            "operands": [
                {"expression": {"left": "close|1M", "operation": "greater", "right": "SMA10|1M"}},
                {"expression": {"left": "RSI", "operation": "in_range", "right": [40, 60]}},
            ],
        },
        sort={"sortBy": "name", "sortOrder": "asc"},
        range=[0, 40],
    ),
]
NO_MARKET = _screen("no_market", "equities", columns=["close"])


@pytest.fixture(scope="module")
def chart() -> Iterator[FakeChartServer]:
    with FakeChartServer(history=300, calendar_sessions=True) as server:
        yield server


@pytest.fixture(scope="module")
def scanner(chart: FakeChartServer) -> Iterator[FakeScannerServer]:
    universe = default_universe(n_stocks=40, n_bonds=0)
    universe["crypto"] = [r for r in universe["crypto"] if r["exchange"] == "BINANCE"]
    majors = ("EUR", "USD", "JPY", "GBP", "CHF", "AUD")
    universe["forex"] = [r for r in universe["forex"] if r["name"][:3] in majors[:3]]
    catalog, _ = load_catalog()
    with FakeScannerServer(universe, catalog=catalog, chart=chart) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "scanner" in request.fixturenames:
        server: FakeScannerServer = request.getfixturevalue("scanner")
        assert server.clear_faults() == 0, "a test left scanner faults unconsumed"


def _context(tmp_path: Path, scanner: FakeScannerServer, chart: FakeChartServer) -> RunContext:
    settings = Settings()
    settings.data.provider = ProviderName.TRADINGVIEW
    settings.data.tradingview = TradingViewSettings(
        scanner_url=scanner.url, websocket_url=chart.url, **FAST
    )
    return RunContext(
        manifest=ResolvedManifest(profile="test", settings=settings),
        run_id="remote-scan-test",
        run_dir=tmp_path,
        project_root=tmp_path,
        as_of=DEFAULT_AS_OF,
        logger=logging.getLogger("clusterfolio.test.remote_scan"),
        provider_factory=default_provider,
    )


@pytest.fixture
def ctx(tmp_path: Path, scanner: FakeScannerServer, chart: FakeChartServer) -> Iterator[RunContext]:
    context = _context(tmp_path, scanner, chart)
    yield context
    provider = context.provider
    if isinstance(provider, TradingViewProvider):
        provider.close()


def _as_json(exports: list[ScanExport]) -> str:
    return json.dumps([e.to_json_dict() for e in exports], sort_keys=True)


# ------------------------------------------------------------------------------------ tests


def test_only_the_tradingview_provider_has_a_remote_scanner(ctx: RunContext) -> None:
    from clusterfolio.data.synthetic import SyntheticProvider

    assert has_remote_scanner(ctx.provider)
    assert not has_remote_scanner(SyntheticProvider(Settings().data.synthetic, as_of=DEFAULT_AS_OF))
    assert not has_remote_scanner(object())

    class Lookalike(TradingViewProvider):
        remote_scanner = False

    assert not has_remote_scanner(Lookalike(TradingViewSettings()))


def test_exports_are_the_local_evaluation_of_the_remote_rows(
    ctx: RunContext, tmp_path: Path
) -> None:
    exports, table = remote_exports_for(ctx, SCREENS)
    assert [e.scanner for e in exports] == [s.name for s in SCREENS]
    statuses = {e.scanner: e.status for e in exports}
    assert statuses == {
        "crypto_trend": ScanStatus.OK,
        "equity_trend": ScanStatus.OK,
        "equity_impossible": ScanStatus.EMPTY,
        "forex_mtf": ScanStatus.OK,
    }
    for export, screen in zip(exports, SCREENS, strict=True):
        assert (export.asset_class, export.direction) == (screen.asset_class, screen.direction)
        assert export.as_of == DEFAULT_AS_OF and export.run_id == ctx.run_id
        assert export.source == screen.source and export.error == ""
        rows = export.rows
        assert list(rows.columns) == screen.columns and rows.index.name == "symbol"
        assert rows.index.is_unique
        # the same screen evaluated locally on the returned rows keeps them all, in order
        local = evaluate_screen(screen, rows)
        assert list(local.index) == list(rows.index), screen.name
    trend = exports[1].rows
    assert (trend["close"] > trend["SMA50"]).all() and (trend["Perf.3M"] > 0).all()
    assert trend["Perf.3M"].is_monotonic_decreasing
    assert len(exports[0].rows) <= 30
    # the combined table: every symbol found once, sorted, the columns then class and market
    found = sorted({s for e in exports for s in e.rows.index})
    assert list(table.index) == found and table.index.name == "symbol"
    assert list(table.columns[-2:]) == ["asset_class", "market"]
    assert table.loc[trend.index, "asset_class"].eq("equity").all()
    assert table.loc[trend.index, "market"].eq("america").all()
    pd.testing.assert_series_equal(
        table.loc[trend.index, "Perf.3M"], trend["Perf.3M"], check_names=False
    )
    assert table["close"].dtype == np.float64 and table["close"].notna().all()
    # artifacts: JSON-ready exports, a Parquet table that reads back equal
    json.dumps([e.to_json_dict() for e in exports])
    atomic_write_parquet(tmp_path / "screener.parquet", table)
    back = read_parquet(tmp_path / "screener.parquet")  # text in the reading pandas' own dtype
    pd.testing.assert_frame_equal(back, table, check_dtype=False, check_index_type=False)
    assert back["close"].dtype == np.float64 and parquet_bytes(back) == parquet_bytes(table)


def test_screens_and_candles_agree(ctx: RunContext, chart: FakeChartServer) -> None:
    _, table = remote_exports_for(ctx, SCREENS[:2])
    for symbol in table.index[:5]:
        candles = chart.expected_frame(symbol, DEFAULT_AS_OF.replace(year=2024), DEFAULT_AS_OF)
        assert table.at[symbol, "close"] == pytest.approx(candles["close"].iloc[-1], rel=1e-12)
        value_traded = candles["close"].iloc[-1] * candles["volume"].iloc[-1]
        assert table.at[symbol, "Value.Traded"] == pytest.approx(value_traded, rel=1e-12)


def test_same_answers_give_identicalremote_exports_for(
    tmp_path: Path, scanner: FakeScannerServer, chart: FakeChartServer
) -> None:
    first_ctx = _context(tmp_path / "a", scanner, chart)
    second_ctx = _context(tmp_path / "b", scanner, chart)
    first, table_a = remote_exports_for(first_ctx, SCREENS)
    second, table_b = remote_exports_for(second_ctx, SCREENS)
    assert _as_json(first) == _as_json(second)
    pd.testing.assert_frame_equal(table_a, table_b)


def test_a_429_storm_is_absorbed(
    ctx: RunContext, tmp_path: Path, scanner: FakeScannerServer, chart: FakeChartServer
) -> None:
    calm, calm_table = remote_exports_for(_context(tmp_path / "calm", scanner, chart), SCREENS)
    scanner.inject(*[HttpFault(status=429, retry_after=0) for _ in range(FAST["max_retries"])])
    stormy, stormy_table = remote_exports_for(ctx, SCREENS)
    assert scanner.pending_faults() == 0
    assert _as_json(stormy) == _as_json(calm)
    pd.testing.assert_frame_equal(stormy_table, calm_table)


def test_a_failing_scanner_is_reported_and_the_others_go_on(
    ctx: RunContext, scanner: FakeScannerServer
) -> None:
    scanner.inject(*[HttpFault(status=500) for _ in range(FAST["max_retries"] + 1)])
    exports, table = remote_exports_for(ctx, [SCREENS[1], NO_MARKET, SCREENS[0]])
    assert [e.status for e in exports] == [ScanStatus.FAILED, ScanStatus.FAILED, ScanStatus.OK]
    assert exports[0].error.startswith("ProviderError") and "HTTP 500" in exports[0].error
    assert exports[1].error.startswith("ConfigError") and "market" in exports[1].error
    assert all(e.rows.empty for e in exports[:2])
    assert list(table.index) == sorted(exports[2].rows.index)
    assert table["asset_class"].eq("crypto").all()


def test_every_scanner_failing_is_a_data_error_naming_each(ctx: RunContext) -> None:
    broken = [NO_MARKET, NO_MARKET.model_copy(update={"name": "no_market_either"})]
    with pytest.raises(DataError, match="every scanner failed") as info:
        remote_exports_for(ctx, broken)
    assert "no_market:" in str(info.value) and "no_market_either:" in str(info.value)


def test_no_screen_or_a_local_provider_is_a_config_error(ctx: RunContext, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no scanners"):
        remote_exports_for(ctx, [])
    local = RunContext(
        manifest=ResolvedManifest(profile="test", settings=Settings()),
        run_id="local",
        run_dir=tmp_path,
        project_root=tmp_path,
        as_of=DEFAULT_AS_OF,
        logger=logging.getLogger("clusterfolio.test.remote_scan"),
        provider_factory=default_provider,
    )
    with pytest.raises(ConfigError, match="no remote scanner"):
        remote_exports_for(local, SCREENS)


def test_listings_of_the_exports_in_few_requests(
    ctx: RunContext, tmp_path: Path, scanner: FakeScannerServer, chart: FakeChartServer
) -> None:
    exports, _ = remote_exports_for(ctx, SCREENS)
    # the aggregation step gets a provider of its own: it has seen no screen
    aggregation = _context(tmp_path / "aggregation", scanner, chart)
    provider = aggregation.provider
    assert isinstance(provider, TradingViewProvider)
    listings = remote_listings(aggregation.provider, exports)
    symbols = sorted({s for e in exports for s in e.rows.index})
    assert list(listings) == symbols
    assert provider.stats.metadata_calls == 3  # america, crypto, forex: one page each
    calendars = {listing.calendar for listing in listings.values()}
    assert calendars == {CalendarKind.NYSE, CalendarKind.CRYPTO_24_7, CalendarKind.FOREX_24_5}
    btc = next(v for k, v in listings.items() if k.startswith("BINANCE:"))
    assert btc.asset_class is AssetClass.CRYPTO and btc.quote == "USDT" and btc.base
    assert all(listing.description for listing in listings.values())


# ------------------------------------------------------------------------ rows and the table


def test_rows_are_ordered_by_the_sort_then_symbol_and_kept_once() -> None:
    screen = Screen.from_request(
        {
            "markets": ["america"],
            "columns": ["close", "sector"],
            "sort": {"sortBy": "close", "sortOrder": "desc"},
        },
        name="ties",
        asset_class=AssetClass.EQUITY,
    )
    rows: list[dict[str, Any]] = [
        {"symbol": "NYSE:C", "close": 10, "sector": "Finance"},
        {"symbol": "NYSE:B", "close": 20, "sector": None},
        {"symbol": "NYSE:A", "close": 10, "sector": "Utilities"},
        {"symbol": "NYSE:D", "close": None, "sector": "Finance"},
        {"symbol": "NYSE:B", "close": 99, "sector": "duplicate"},
    ]
    frame = rows_frame(screen, rows)
    assert list(frame.index) == ["NYSE:B", "NYSE:A", "NYSE:C", "NYSE:D"]
    assert frame.at["NYSE:B", "close"] == 20.0 and frame["close"].dtype == np.float64
    assert frame["sector"].tolist() == [None, "Utilities", "Finance", "Finance"]
    unsorted = Screen.from_request({"markets": ["america"], "columns": ["close"]}, name="plain")
    assert list(rows_frame(unsorted, rows[:4]).index) == ["NYSE:A", "NYSE:B", "NYSE:C", "NYSE:D"]
    empty = rows_frame(unsorted, [])
    assert empty.empty and list(empty.columns) == ["close"] and empty.index.name == "symbol"
    with pytest.raises(DataError, match="no symbol"):
        rows_frame(unsorted, [{"close": 1.0}])


def test_mixed_values_become_text_and_lists_stay_lists() -> None:
    screen = Screen.from_request(
        {"markets": ["america"], "columns": ["odd", "typespecs", "flag"]}, name="kinds"
    )
    rows: list[dict[str, Any]] = [
        {"symbol": "NYSE:A", "odd": 1, "typespecs": ["common"], "flag": True},
        {"symbol": "NYSE:B", "odd": "n/a", "typespecs": [], "flag": None},
    ]
    frame = rows_frame(screen, rows)
    assert frame["odd"].tolist() == ["1", "n/a"]
    assert frame["typespecs"].tolist() == [["common"], []]
    assert frame["flag"].tolist() == [True, None]


def test_the_table_takes_the_first_value_found() -> None:
    def export(
        name: str, klass: AssetClass, rows: list[dict[str, Any]]
    ) -> tuple[ScanExport, Screen]:
        screen = Screen.from_request(
            {"markets": ["america"], "columns": ["close", "RSI"]}, name=name, asset_class=klass
        )
        frame = rows_frame(screen, rows)
        return ScanExport(
            name, klass, Direction.LONG, DEFAULT_AS_OF, "r", ScanStatus.OK, frame
        ), screen

    first, s1 = export("etf", AssetClass.ETF, [{"symbol": "AMEX:TLT", "close": 90.0, "RSI": None}])
    second, s2 = export(
        "bond",
        AssetClass.BOND,
        [
            {"symbol": "AMEX:TLT", "close": 91.0, "RSI": 44.0},
            {"symbol": "AMEX:IEF", "close": 95.0, "RSI": 51.0},
        ],
    )
    table = screener_table_of([first, second], [s1, s2])
    assert list(table.index) == ["AMEX:IEF", "AMEX:TLT"]
    assert list(table.loc["AMEX:TLT"]) == [90.0, 44.0, "etf", "america"]
    assert table.loc["AMEX:IEF", "asset_class"] == "bond"
