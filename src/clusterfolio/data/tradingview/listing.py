"""Listing metadata from scanner rows, and the scanner market of a symbol.

Asset class and calendar
------------------------
- ``crypto`` and ``coin`` markets: :attr:`AssetClass.CRYPTO`, 24/7.
- ``forex``: :attr:`AssetClass.FOREX`, 24/5.
- ``bond``/``bonds``: :attr:`AssetClass.BOND`.
- stock markets: ``type == "fund"`` with ``etf`` in ``typespecs`` (or an ``etf`` subtype) is an
  :attr:`AssetClass.ETF`, ``type == "index"`` an :attr:`AssetClass.INDEX`, anything else an
  :attr:`AssetClass.EQUITY`.
- Calendar of non-crypto, non-forex listings: LSE for the ``uk`` market or the ``LSE`` exchange,
  NYSE otherwise; a listing of another country gets NYSE and ``extra["calendar"] = "fallback"``.

Base and quote (crypto, forex): ``currency`` is the quote; the base is ``name`` without the quote
suffix (``BTCUSDT`` with ``USDT`` gives ``BTC``), or the first three letters of a forex pair.
Without a ``currency`` column the quote is the longest of :data:`COMMON_QUOTES` that ends the
ticker (a perpetual's ``.P`` suffix removed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from clusterfolio.data.schema import Listing
from clusterfolio.data.tradingview.fields import FieldCatalog
from clusterfolio.enums import AssetClass, CalendarKind

#: US exchanges (their scanner market is ``america``).
AMERICA_EXCHANGES = frozenset({"AMEX", "NASDAQ", "NYSE", "NYSEARCA", "BATS", "CBOE", "OTC"})
#: Crypto exchanges used when no field list is available.
CRYPTO_EXCHANGES = frozenset(
    {
        "BINANCE",
        "BINANCEUS",
        "BITFINEX",
        "BITGET",
        "BITMEX",
        "BITSTAMP",
        "BYBIT",
        "COINBASE",
        "CRYPTOCOM",
        "DERIBIT",
        "GEMINI",
        "HTX",
        "KRAKEN",
        "KUCOIN",
        "MEXC",
        "OKX",
        "POLONIEX",
        "WHITEBIT",
    }
)
#: Forex venues used when no field list is available.
FOREX_EXCHANGES = frozenset({"FX", "FX_IDC", "OANDA", "FXCM", "FOREXCOM", "SAXO", "PEPPERSTONE"})

#: Quote currencies recognised at the end of a crypto ticker when no ``currency`` is given.
COMMON_QUOTES = (
    "FDUSD",
    "USDT",
    "USDC",
    "BUSD",
    "TUSD",
    "USD",
    "EUR",
    "GBP",
    "JPY",
    "TRY",
    "BRL",
    "DAI",
    "BTC",
    "ETH",
    "BNB",
)

#: Columns asked by a metadata look-up, per field list.
METADATA_COLUMNS: dict[str, tuple[str, ...]] = {
    "stocks": (
        "name",
        "description",
        "type",
        "typespecs",
        "subtype",
        "sector",
        "industry",
        "market_cap_basic",
        "currency",
        "exchange",
    ),
    "crypto": ("name", "description", "type", "typespecs", "market_cap_calc", "currency"),
    "coin": ("name", "description", "type", "market_cap_calc", "currency"),
    "forex": ("name", "description", "type", "sector", "currency"),
    "bond": ("name", "description", "type", "sector", "industry", "currency"),
}


def symbol_market(symbol: str, catalog: FieldCatalog | None = None) -> str:
    """Return the scanner market that lists ``symbol`` (``america``, ``crypto``, ``coin``,
    ``forex`` or ``global``), from its exchange."""
    exchange = symbol.split(":", 1)[0].upper()
    if exchange in AMERICA_EXCHANGES:
        return "america"
    if exchange == "CRYPTO":
        return "coin"
    crypto = catalog.exchanges("crypto") if catalog else frozenset()
    forex = catalog.exchanges("forex") if catalog else frozenset()
    stocks = catalog.exchanges("america") if catalog else frozenset()
    if exchange in (crypto or CRYPTO_EXCHANGES):
        return "crypto"
    if exchange in (forex or FOREX_EXCHANGES) and exchange not in stocks:
        return "forex"
    return "global"


def metadata_columns(market: str, catalog: FieldCatalog | None = None) -> list[str]:
    """Columns of a metadata look-up in ``market`` (those its field list knows)."""
    list_name = catalog.list_name(market) if catalog else None
    if list_name is None:
        list_name = {"crypto": "crypto", "coin": "coin", "forex": "forex", "bond": "bond"}.get(
            market, "stocks"
        )
    columns = METADATA_COLUMNS.get(list_name, METADATA_COLUMNS["stocks"])
    if catalog is None:
        return list(columns)
    return [c for c in columns if catalog.is_known(market, c)]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return float("nan")
    return float(value) if math.isfinite(value) else float("nan")


def _specs(row: Mapping[str, Any]) -> set[str]:
    specs = row.get("typespecs")
    if isinstance(specs, list):
        return {str(s) for s in specs}
    return {str(specs)} if specs else set()


def classify(row: Mapping[str, Any], market: str) -> tuple[AssetClass, CalendarKind, bool]:
    """Return asset class, calendar and whether the calendar is a fallback guess."""
    if market in ("crypto", "coin"):
        return AssetClass.CRYPTO, CalendarKind.CRYPTO_24_7, False
    if market == "forex":
        return AssetClass.FOREX, CalendarKind.FOREX_24_5, False
    exchange = str(row.get("symbol", "")).split(":", 1)[0].upper()
    if market == "uk" or exchange == "LSE":
        calendar, fallback = CalendarKind.LSE, False
    elif market == "america" or exchange in AMERICA_EXCHANGES:
        calendar, fallback = CalendarKind.NYSE, False
    else:
        calendar, fallback = CalendarKind.NYSE, True
    if market in ("bond", "bonds"):
        return AssetClass.BOND, calendar, fallback
    kind = _text(row.get("type")).lower()
    subtype = _text(row.get("subtype")).lower()
    if kind == "index":
        return AssetClass.INDEX, calendar, fallback
    if "etf" in _specs(row) or subtype.startswith("etf"):
        return AssetClass.ETF, calendar, fallback
    return AssetClass.EQUITY, calendar, fallback


def listing_from_row(row: Mapping[str, Any], market: str) -> Listing:
    """Build a :class:`Listing` from a screen row ``{"symbol": ..., column: value}``.

    Parameters
    ----------
    row : mapping
        Must hold ``symbol``; ``description``, ``sector``, ``industry``, ``market_cap_basic`` or
        ``market_cap_calc``, ``name``, ``currency``, ``type``, ``typespecs``, ``subtype`` are used
        when present.
    market : str
        The scanner market the row came from.
    """
    symbol = str(row["symbol"])
    asset_class, calendar, fallback = classify(row, market)
    cap = _number(row.get("market_cap_basic"))
    if math.isnan(cap):
        cap = _number(row.get("market_cap_calc"))
    base = quote = ""
    if asset_class in (AssetClass.CRYPTO, AssetClass.FOREX):
        quote = _text(row.get("currency"))
        name = _text(row.get("name")) or symbol.split(":", 1)[-1]
        name = name.removesuffix(".P")
        if not quote and asset_class is AssetClass.CRYPTO:
            quote = next((q for q in COMMON_QUOTES if name.endswith(q) and len(name) > len(q)), "")
        if quote and name.endswith(quote) and len(name) > len(quote):
            base = name[: -len(quote)]
        elif asset_class is AssetClass.FOREX and len(name) == 6:
            base, quote = name[:3], quote or name[3:]
    extra = {"market": market}
    for key in ("name", "type", "subtype", "exchange"):
        if row.get(key) not in (None, ""):
            extra[key] = _text(row.get(key))
    if fallback:
        extra["calendar"] = "fallback"
    return Listing(
        symbol=symbol,
        asset_class=asset_class,
        calendar=calendar,
        description=_text(row.get("description")),
        sector=_text(row.get("sector")),
        industry=_text(row.get("industry")),
        market_cap=cap,
        base=base,
        quote=quote,
        extra=extra,
    )
