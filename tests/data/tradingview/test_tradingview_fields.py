"""Field lists, rate limiter and listing metadata of the TradingView provider."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from tenacity import RetryCallState, Retrying

from clusterfolio.data.tradingview.fields import FieldCatalog, load_catalog, request_fields
from clusterfolio.data.tradingview.listing import (
    listing_from_row,
    metadata_columns,
    symbol_market,
)
from clusterfolio.data.tradingview.ratelimit import TokenBucket
from clusterfolio.data.tradingview.retry import TransientError, backoff_wait
from clusterfolio.enums import AssetClass, CalendarKind
from clusterfolio.errors import ConfigError
from clusterfolio.manifest import TradingViewSettings


def test_markets_map_to_field_lists(catalog: FieldCatalog) -> None:
    assert catalog.list_name("america") == "stocks"
    assert catalog.list_name("uk") == "stocks"
    assert catalog.list_name("global") == "stocks"
    assert catalog.list_name("crypto") == "crypto"
    assert catalog.list_name("coin") == "coin"
    assert catalog.list_name("forex") == "forex"
    assert catalog.list_name("bonds") == "bond"
    assert catalog.list_name("cfd") is None
    assert len(catalog.countries) > 60


def test_real_screens_pass_validation(
    catalog: FieldCatalog, real_screens: list[dict[str, Any]]
) -> None:
    assert len(real_screens) == 7
    for screen in real_screens:
        query = screen["query"]
        assert catalog.check_request(query, query["markets"]) == [], screen["name"]


def test_unknown_column_names_column_and_market(catalog: FieldCatalog) -> None:
    with pytest.raises(ConfigError, match=r"'closee'.*'america'.*did you mean"):
        catalog.check_request({"columns": ["name", "closee"]}, ["america"])
    with pytest.raises(ConfigError, match=r"'market_cap_basic'.*'crypto'"):
        catalog.check_request({"columns": ["name", "market_cap_basic"]}, ["crypto"])
    with pytest.raises(ConfigError, match=r"'nope'.*sort"):
        catalog.check_request({"columns": ["name"], "sort": {"sortBy": "nope"}}, ["forex"])
    with pytest.raises(ConfigError, match=r"'bogus'.*filter2"):
        catalog.check_request(
            {
                "columns": ["name"],
                "filter2": {
                    "operator": "and",
                    "operands": [
                        {"expression": {"left": "bogus", "operation": "equal", "right": 1}}
                    ],
                },
            },
            ["america"],
        )


def test_variants_and_unlisted_markets(catalog: FieldCatalog) -> None:
    assert catalog.is_known("america", "sector.tr")
    assert catalog.is_known("crypto", "24h_vol|5")
    assert catalog.is_known("america", "RSI|60")
    assert catalog.is_known("america", "Value.Traded")  # display-name dictionary
    assert not catalog.is_known("america", "RSI|60.tr.x")
    warnings = catalog.check_request({"columns": ["anything"]}, ["cfd"])
    assert warnings and "cfd" in warnings[0]
    assert "BINANCE" in catalog.exchanges("crypto")


def test_request_fields_walks_every_operand() -> None:
    body = {
        "columns": ["a"],
        "sort": {"sortBy": "b"},
        "filter": [{"left": "c", "operation": "equal", "right": 1}],
        "filter2": {
            "operator": "or",
            "operands": [
                {
                    "operation": {
                        "operator": "and",
                        "operands": [
                            {"expression": {"left": "d", "operation": "equal", "right": 1}}
                        ],
                    }
                }
            ],
        },
    }
    assert [f for _, f in request_fields(body)] == ["a", "b", "c", "d"]


def test_missing_field_lists_give_a_warning(tmp_path: Path) -> None:
    catalog, warning = load_catalog(tmp_path / "absent")
    assert catalog is None
    assert warning is not None and "not validated" in warning


def test_token_bucket_reserves_in_order() -> None:
    now = [0.0]
    bucket = TokenBucket(2.0, capacity=2.0, clock=lambda: now[0])
    assert [bucket.reserve() for _ in range(4)] == [0.0, 0.0, 0.5, 1.0]
    now[0] = 10.0  # refilled to capacity, the debt paid
    assert bucket.reserve() == 0.0
    with pytest.raises(ValueError):
        TokenBucket(0.0)


def test_symbol_market(catalog: FieldCatalog) -> None:
    assert symbol_market("NASDAQ:AAPL", catalog) == "america"
    assert symbol_market("BINANCE:BTCUSDT", catalog) == "crypto"
    assert symbol_market("CRYPTO:BTCUSD", catalog) == "coin"
    assert symbol_market("FX_IDC:EURUSD", catalog) == "forex"
    assert symbol_market("LSE:VOD", catalog) == "global"
    assert symbol_market("KRAKEN:XBTUSD") == "crypto"
    assert "market_cap_calc" in metadata_columns("crypto", catalog)
    assert "industry" in metadata_columns("america", catalog)


def test_listing_from_rows() -> None:
    etf = listing_from_row(
        {
            "symbol": "AMEX:SPY",
            "type": "fund",
            "typespecs": ["etf"],
            "description": "SPDR",
            "aum": 1.0,
        },
        "america",
    )
    assert (etf.asset_class, etf.calendar, etf.description) == (
        AssetClass.ETF,
        CalendarKind.NYSE,
        "SPDR",
    )
    assert math.isnan(etf.market_cap)
    stock = listing_from_row(
        {
            "symbol": "NASDAQ:AAPL",
            "type": "stock",
            "sector": "Electronic Technology",
            "industry": "Telecommunications Equipment",
            "market_cap_basic": 3e12,
        },
        "america",
    )
    assert (stock.asset_class, stock.sector, stock.market_cap) == (
        AssetClass.EQUITY,
        "Electronic Technology",
        3e12,
    )
    coin = listing_from_row(
        {"symbol": "BINANCE:BTCUSDT", "name": "BTCUSDT", "currency": "USDT"}, "crypto"
    )
    assert (coin.asset_class, coin.calendar, coin.base, coin.quote) == (
        AssetClass.CRYPTO,
        CalendarKind.CRYPTO_24_7,
        "BTC",
        "USDT",
    )
    perp = listing_from_row({"symbol": "BYBIT:ETHUSDT.P", "name": "ETHUSDT.P"}, "crypto")
    assert (perp.base, perp.quote) == ("ETH", "USDT")
    pair = listing_from_row({"symbol": "FX_IDC:EURUSD", "name": "EURUSD"}, "forex")
    assert (pair.asset_class, pair.calendar, pair.base, pair.quote) == (
        AssetClass.FOREX,
        CalendarKind.FOREX_24_5,
        "EUR",
        "USD",
    )
    foreign = listing_from_row({"symbol": "XETR:SAP", "type": "stock"}, "germany")
    assert foreign.extra["calendar"] == "fallback"
    assert (
        listing_from_row({"symbol": "LSE:VOD", "type": "stock"}, "uk").calendar is CalendarKind.LSE
    )


def test_backoff_wait_grows_honours_retry_after_and_is_capped() -> None:
    settings = TradingViewSettings(backoff_base_s=0.5, backoff_max_s=3.0)
    wait = backoff_wait(settings)

    def state(attempt: int, exc: BaseException | None = None) -> RetryCallState:
        retry_state = RetryCallState(Retrying(), None, (), {})
        retry_state.attempt_number = attempt
        if exc is not None:
            retry_state.set_exception((type(exc), exc, None))
        return retry_state

    assert 0.5 <= wait(state(1)) <= 1.0
    assert 1.0 <= wait(state(2)) <= 1.5
    assert wait(state(10)) == 3.0
    assert wait(state(1, TransientError("429", retry_after=2.0))) == 2.0
    assert wait(state(1, TransientError("429", retry_after=60.0))) == 3.0
