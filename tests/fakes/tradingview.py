"""Loopback TradingView servers for tests and benchmarks (real sockets on 127.0.0.1).

- :class:`FakeScannerServer`: an HTTP server (threads) answering ``POST /<market>/scan`` over a
  deterministic universe (:func:`default_universe`): it evaluates ``columns``, ``filter``,
  ``filter2``, ``sort``, ``range`` and ``symbols.tickers``, rejects unknown fields with a 400 like
  the real endpoint, and returns ``{"totalCount", "data"}``. Given a chart server
  (``chart=``), price and indicator columns (``close``, ``Value.Traded``, ``RSI``, ``SMA50``,
  ``Perf.1M``, ``Recommend.All``, ``EMA20|1W`` ...) are computed from that server's history of
  each symbol (:class:`BarColumns`), so screens and candles tell the same story, and a string
  ``right`` operand that names a field is that field's value (``close greater SMA50``).
- :class:`FakeChartServer`: a websocket server (``websockets``, its own thread and event loop)
  speaking the chart protocol: framing, heartbeats (echo counted), ``set_auth_token``,
  ``chart_create_session``, ``resolve_symbol``, ``create_series``, ``request_more_data`` (older
  chunks, at most ``max_bars_per_request`` a request), ``timescale_update`` packets,
  ``series_completed``, ``symbol_error`` for unknown symbols and ``chart_delete_session``.

With ``calendar_sessions=True`` the chart server keeps each symbol's own trading calendar
(NYSE holidays closed, forex on weekdays, crypto every day) instead of plain weekdays.

Faults are queued and consumed one per request (scanner) or one per ``create_series`` of the
symbol (chart): HTTP status storms, delays past the client timeout, dropped connections,
malformed frames, stalls, ``critical_error``, ``series_error`` and ``protocol_error``.

Nothing here contacts the internet: both servers bind 127.0.0.1 on an ephemeral port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import ValidationError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from clusterfolio.data.tradingview import protocol
from clusterfolio.data.tradingview.chart import bars_to_frame
from clusterfolio.data.tradingview.fields import FieldCatalog, FieldInfo, request_fields
from clusterfolio.data.tradingview.listing import CRYPTO_EXCHANGES
from clusterfolio.data.tradingview.protocol import Bar, FrameError
from clusterfolio.discovery.evaluate import evaluate_screen
from clusterfolio.discovery.screens import ScanRequest, Screen
from clusterfolio.errors import ClusterfolioError

#: Last session of the fake chart server unless told otherwise.
DEFAULT_AS_OF = date(2025, 12, 19)

Row = dict[str, Any]


# =============================================================================================
# Deterministic market
# =============================================================================================


def _seed(*parts: object) -> int:
    return zlib.crc32("|".join(str(p) for p in parts).encode("utf-8"))


def is_24_7(symbol: str) -> bool:
    """Whether the fake market trades ``symbol`` every day (crypto venues)."""
    return symbol.split(":", 1)[0].upper() in CRYPTO_EXCHANGES | {"CRYPTO"}


def _calendar_days(symbol: str, as_of: date, n_bars: int) -> pd.DatetimeIndex:
    """The last ``n_bars`` sessions of the symbol's own trading calendar (NYSE by default)."""
    from clusterfolio.data.calendars import calendar_for_symbol, sessions_back
    from clusterfolio.enums import CalendarKind
    from clusterfolio.errors import DataError

    try:
        kind = calendar_for_symbol(symbol)
    except DataError:
        kind = CalendarKind.NYSE
    return sessions_back(kind, as_of, n_bars)


@lru_cache(maxsize=4096)
def _bars_cached(symbol: str, as_of: date, n_bars: int, calendar: bool) -> tuple[Bar, ...]:
    if is_24_7(symbol):
        days = pd.date_range(end=pd.Timestamp(as_of), periods=n_bars, freq="D")
        offset = 0
    else:
        if calendar:
            days = _calendar_days(symbol, as_of, n_bars)
        else:
            days = pd.bdate_range(end=pd.Timestamp(as_of), periods=n_bars)
        offset = 14 * 3600 + 30 * 60  # the session opens 14:30 UTC: the date stays the same
    rng = np.random.default_rng(_seed("bars", symbol))
    level = 20.0 + _seed("level", symbol) % 400
    close = level * np.exp(np.cumsum(rng.normal(0.0003, 0.015, n_bars)))
    prev = np.concatenate([[close[0]], close[:-1]])
    open_ = prev * (1.0 + rng.normal(0.0, 0.003, n_bars))
    high = np.maximum(open_, close) * (1.0 + np.abs(rng.normal(0.0, 0.005, n_bars)))
    low = np.minimum(open_, close) * (1.0 - np.abs(rng.normal(0.0, 0.005, n_bars)))
    volume = np.round(rng.lognormal(12.0, 1.0, n_bars))
    times = (days.as_unit("s").asi8 + offset).tolist()
    return tuple(
        (
            int(t),
            round(float(o), 4),
            round(float(h), 4),
            round(float(lo), 4),
            round(float(c), 4),
            float(v),
        )
        for t, o, h, lo, c, v in zip(times, open_, high, low, close, volume, strict=True)
    )


def synthetic_bars(
    symbol: str, *, as_of: date = DEFAULT_AS_OF, n_bars: int = 3000, calendar: bool = False
) -> list[Bar]:
    """The full daily history the fake chart server holds for ``symbol``, oldest first.

    Weekday sessions (bar time 14:30 UTC) for stock-like symbols, every day (00:00 UTC) for
    crypto venues; ``n_bars`` bars ending on ``as_of`` (or the last weekday before it). With
    ``calendar`` the sessions of stock-like symbols follow the symbol's trading calendar
    (:func:`~clusterfolio.data.calendars.calendar_for_symbol`, NYSE when the exchange is
    unknown: holidays have no bar; forex venues trade on weekdays). The values depend only on
    the symbol and ``n_bars``, not on the calendar.
    """
    return list(_bars_cached(symbol, as_of, n_bars, calendar))


def _synth_value(symbol: str, column: str, info: FieldInfo | None) -> Any:
    h = _seed("field", symbol, column)
    kind = info.type if info is not None else "number"
    values = (
        [v.get("id", v) if isinstance(v, dict) else v for v in (info.values or ())] if info else []
    )
    if kind == "bool":
        return h % 2 == 0
    if kind == "text":
        return values[h % len(values)] if values else f"{column}-{h % 997}"
    if kind == "set":
        return [values[h % len(values)]] if values else []
    if kind in ("time", "time-yyyymmdd"):
        return 1_700_000_000 + h % 10_000_000
    if kind in ("map", "interface"):
        return None
    return round((h % 1_000_000) / 100.0, 2)


_SECTORS = (
    "Electronic Technology",
    "Technology Services",
    "Finance",
    "Health Technology",
    "Retail Trade",
    "Energy Minerals",
    "Utilities",
    "Consumer Non-Durables",
)
_INDUSTRIES = (
    "Semiconductors",
    "Packaged Software",
    "Major Banks",
    "Pharmaceuticals: Major",
    "Internet Retail",
    "Integrated Oil",
    "Electric Utilities",
    "Beverages: Non-Alcoholic",
)
_HEAD_STOCKS = (
    ("AMEX:SPY", "fund", "SPDR S&P 500 ETF Trust"),
    ("NASDAQ:QQQ", "fund", "Invesco QQQ Trust"),
    ("AMEX:GLD", "fund", "SPDR Gold Shares"),
    ("NASDAQ:TLT", "fund", "iShares 20+ Year Treasury Bond ETF"),
    ("NASDAQ:AAPL", "stock", "Apple Inc."),
    ("NASDAQ:MSFT", "stock", "Microsoft Corporation"),
    ("NASDAQ:NVDA", "stock", "NVIDIA Corporation"),
    ("NYSE:JPM", "stock", "JPMorgan Chase & Co."),
    ("NYSE:XOM", "stock", "Exxon Mobil Corporation"),
    ("NYSE:TSM", "dr", "Taiwan Semiconductor Manufacturing Company Ltd."),
)
_COINS = (
    "BTC",
    "ETH",
    "SOL",
    "XRP",
    "BNB",
    "ADA",
    "DOGE",
    "TRX",
    "AVAX",
    "LINK",
    "DOT",
    "LTC",
    "BCH",
    "XLM",
    "UNI",
    "ATOM",
    "ETC",
    "FIL",
    "APT",
    "ARB",
    "NEAR",
    "OP",
    "ICP",
    "HBAR",
    "VET",
)
_CURRENCIES = ("EUR", "USD", "JPY", "GBP", "CHF", "AUD", "CAD", "NZD", "SEK", "NOK", "TRY", "ZAR")


def _stock_rows(n: int, rng: np.random.Generator) -> list[Row]:
    rows: list[Row] = []
    exchanges = ("NASDAQ", "NYSE", "AMEX")
    for i in range(n):
        if i < len(_HEAD_STOCKS):
            symbol, kind, description = _HEAD_STOCKS[i]
            exchange, ticker = symbol.split(":")
            specs = ["etf"] if kind == "fund" else ["common"]
        else:
            exchange = exchanges[i % 3]
            slot = i % 10
            if slot <= 5:
                kind, specs, prefix = "stock", ["common"], "S"
            elif slot == 6:
                kind, specs, prefix = "stock", ["preferred"], "P"
            elif slot == 7:
                kind, specs, prefix = "dr", [], "D"
            elif slot == 8:
                kind, specs, prefix = "fund", ["etf"], "E"
            else:
                kind, specs, prefix = "fund", ["mutual"], "M"
            ticker = f"{prefix}{i:03d}"
            symbol = f"{exchange}:{ticker}"
            description = f"Synthetic {kind} {ticker}"
        close = float(np.round(rng.lognormal(4.0, 0.8), 2))
        volume = float(np.round(rng.lognormal(14.0, 1.2)))
        is_etf = "etf" in specs
        rows.append(
            {
                "symbol": symbol,
                "name": ticker,
                "description": description,
                "type": kind,
                "typespecs": specs,
                "subtype": "etf" if is_etf else (specs[0] if specs else ""),
                "exchange": exchange,
                "is_primary": i % 17 != 5,
                "active_symbol": True,
                "sector": "Miscellaneous" if kind == "fund" else _SECTORS[i % len(_SECTORS)],
                "industry": "Investment Trusts/Mutual Funds"
                if kind == "fund"
                else _INDUSTRIES[i % len(_INDUSTRIES)],
                "close": close,
                "change": float(np.round(rng.normal(0.0, 1.5), 2)),
                "volume": volume,
                "Value.Traded": round(close * volume, 2),
                "market_cap_basic": None
                if kind == "fund"
                else float(np.round(rng.lognormal(23, 1.5))),
                "aum": float(np.round(rng.lognormal(21, 1.5))) if kind == "fund" else None,
                "currency": "USD",
                "fundamental_currency_code": "USD",
                "country": "United States",
                "update_mode": "streaming",
                "pricescale": 100,
                "minmov": 1,
                "fractional": False,
                "minmove2": 0,
            }
        )
    return rows


def _crypto_rows(rng: np.random.Generator) -> list[Row]:
    rows: list[Row] = []
    for exchange in ("BINANCE", "COINBASE", "KRAKEN", "BYBIT", "OKX"):
        for rank, base in enumerate(_COINS):
            quote = "USD" if exchange in ("COINBASE", "KRAKEN") else "USDT"
            close = float(np.round(rng.lognormal(2.0, 2.0), 4))
            volume = float(np.round(rng.lognormal(13.0, 1.5)))
            rows.append(
                {
                    "symbol": f"{exchange}:{base}{quote}",
                    "name": f"{base}{quote}",
                    "description": f"{base} / {quote}",
                    "type": "spot",
                    "typespecs": ["crypto"],
                    "subtype": "crypto",
                    "exchange": exchange,
                    "is_primary": True,
                    "active_symbol": True,
                    "currency": quote,
                    "close": close,
                    "volume": volume,
                    "24h_vol|5": round(close * volume / (1 + rank), 2),
                    "market_cap_calc": float(np.round(1e12 / (1 + rank) ** 1.5)),
                    "update_mode": "streaming",
                    "pricescale": 10000,
                    "minmov": 1,
                    "fractional": False,
                    "minmove2": 0,
                }
            )
    return rows


def _coin_rows() -> list[Row]:
    return [
        {
            "symbol": f"CRYPTO:{base}USD",
            "name": f"{base}USD",
            "description": base,
            "type": "spot",
            "typespecs": ["cryptoasset"],
            "crypto_total_rank": rank + 1,
            "market_cap_calc": float(np.round(1e12 / (1 + rank) ** 1.5)),
            "currency": "USD",
            "exchange": "CRYPTO",
        }
        for rank, base in enumerate(_COINS)
    ]


def _forex_rows() -> list[Row]:
    rows: list[Row] = []
    majors = {"EUR", "USD", "JPY", "GBP", "CHF", "AUD", "CAD", "NZD"}
    for i, base in enumerate(_CURRENCIES):
        for quote in _CURRENCIES[i + 1 :]:
            pair = f"{base}{quote}"
            if base in majors and quote in majors:
                sector = "Major" if "USD" in (base, quote) else "Minor"
            else:
                sector = "Exotic"
            rows.append(
                {
                    "symbol": f"FX_IDC:{pair}",
                    "name": pair,
                    "description": f"{base} / {quote}",
                    "type": "forex",
                    "sector": sector,
                    "currency": quote,
                    "exchange": "FX_IDC",
                }
            )
    return rows


def _bond_rows(n: int) -> list[Row]:
    ratings = ("500", "530", "560", "570", "580", "590", "600", "620")
    return [
        {
            "symbol": f"FINRA:BND{i:03d}",
            "name": f"BND{i:03d}",
            "description": f"Synthetic bond {i}",
            "type": "bond",
            "typespecs": ["government" if i % 3 == 0 else "corporate"],
            "sector": _SECTORS[i % len(_SECTORS)],
            "bond_snp_rating_lt": ratings[i % len(ratings)],
            "currency": "USD",
            "exchange": "FINRA",
        }
        for i in range(n)
    ]


def default_universe(
    seed: int = 0, *, n_stocks: int = 240, n_bonds: int = 60
) -> dict[str, list[Row]]:
    """A deterministic screener universe: ``stocks`` (US stocks, DRs, ETFs and funds),
    ``crypto`` (pairs on five venues), ``coin``, ``forex`` and ``bond`` rows."""
    rng = np.random.default_rng(seed)
    return {
        "stocks": _stock_rows(n_stocks, rng),
        "crypto": _crypto_rows(rng),
        "coin": _coin_rows(),
        "forex": _forex_rows(),
        "bond": _bond_rows(n_bonds),
    }


# =============================================================================================
# Scan evaluation
# =============================================================================================

_MARKET_GROUPS = {
    "crypto": "crypto",
    "coin": "coin",
    "forex": "forex",
    "bond": "bond",
    "bonds": "bond",
}


class ScanRejected(Exception):
    """The fake scanner refuses a request (answered with HTTP 400 and ``{"error": ...}``)."""


_ABSENT = object()


def _candles(bars: Sequence[Bar], as_of: date) -> pd.DataFrame:
    """Candles of generated bars up to ``as_of`` (sessions: UTC dates), without validation:
    :func:`~clusterfolio.data.tradingview.chart.bars_to_frame` for bars known to be valid."""
    values = np.asarray(bars, dtype="float64").reshape(-1, 6)
    seconds = values[:, 0].astype("int64")
    days = (seconds - seconds % 86_400).astype("datetime64[s]").astype("datetime64[ns]")
    keep = days <= np.datetime64(as_of, "ns")
    return pd.DataFrame(
        {
            "session": days[keep],
            "open": values[keep, 1],
            "high": values[keep, 2],
            "low": values[keep, 3],
            "close": values[keep, 4],
            "volume": values[keep, 5],
        }
    )


class BarColumns:
    """Price and indicator columns of each symbol, computed from its daily history.

    The definitions are :mod:`clusterfolio.discovery.columns`' (TradingView's field names:
    ``close``, ``Value.Traded``, ``RSI``, ``SMA50``, ``Perf.1M``, ``Recommend.All``, ``ATR``,
    ``NAME[k]`` for ``k`` bars earlier, ``NAME|1W`` / ``NAME|1M`` on weekly / monthly bars),
    read at the last bar on or before ``as_of``. Metadata columns (``name``, ``type``,
    ``market_cap_basic`` ...) are not computed here: they stay the universe rows'.

    Parameters
    ----------
    bars : callable
        ``symbol -> bars`` ``(time, open, high, low, close, volume)``, oldest first (e.g.
        :meth:`FakeChartServer.bars`).
    as_of : date
        Last session read.
    known : callable, optional
        ``symbol -> bool``: symbols without a history (``False``) have no computed value.

    Notes
    -----
    Values are computed for many symbols at once (:meth:`prefetch`, one
    :func:`~clusterfolio.discovery.columns.screener_table` per scan) and cached per symbol and
    column (thread-safe); NaN is returned as ``None``, as the real endpoint answers ``null``.
    """

    def __init__(
        self,
        bars: Callable[[str], Sequence[Bar]],
        *,
        as_of: date = DEFAULT_AS_OF,
        known: Callable[[str], bool] | None = None,
    ) -> None:
        self._bars = bars
        self.as_of = as_of
        self._known = known or (lambda symbol: True)
        self._values: dict[tuple[str, str], Any] = {}
        self._computable: dict[str, bool] = {}
        self._lock = threading.RLock()

    def is_column(self, column: str) -> bool:
        """Whether ``column`` is a price or indicator column computed from the bars."""
        with self._lock:
            if column not in self._computable:
                from clusterfolio.discovery.columns import parse_column
                from clusterfolio.errors import DataError

                try:
                    self._computable[column] = not parse_column(column).is_metadata
                except DataError:
                    self._computable[column] = False
            return self._computable[column]

    def prefetch(self, symbols: Iterable[str], columns: Iterable[str]) -> None:
        """Compute ``columns`` (those computed here) for ``symbols`` (those with a history)."""
        from clusterfolio.discovery.columns import screener_table

        wanted = [c for c in dict.fromkeys(columns) if self.is_column(c)]
        if not wanted:
            return
        with self._lock:
            todo = [
                s
                for s in dict.fromkeys(symbols)
                if self._known(s) and any((s, c) not in self._values for c in wanted)
            ]
            if not todo:
                return
            candles = {s: _candles(self._bars(s), self.as_of) for s in todo}
            table = screener_table(candles, {}, wanted, as_of=self.as_of)
            for symbol in todo:
                for column in wanted:
                    value: Any = table.at[symbol, column]
                    number = float(value) if _is_number(value) else float("nan")
                    self._values[(symbol, column)] = number if np.isfinite(number) else None

    def value(self, symbol: str, column: str) -> Any:
        """The column's value for ``symbol`` (``None`` when undefined); ``_ABSENT`` when the
        column is not computed here or the symbol has no history."""
        if not self.is_column(column) or not self._known(symbol):
            return _ABSENT
        with self._lock:
            if (symbol, column) not in self._values:
                self.prefetch([symbol], [column])
            return self._values[(symbol, column)]


def _value(
    row: Row,
    column: str,
    catalog: FieldCatalog | None,
    market: str,
    columns: BarColumns | None = None,
) -> Any:
    if columns is not None:
        computed = columns.value(row["symbol"], column)
        if computed is not _ABSENT:
            return computed
    if column in row:
        return row[column]
    base = column[: -len(".tr")] if column.endswith(".tr") else column
    if base in row:
        return row[base]
    if column == "ticker-view":
        return row["symbol"].split(":", 1)[1]
    info = catalog.info(market, column) if catalog is not None else None
    return _synth_value(row["symbol"], column, info)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_CROSSINGS = frozenset({"crosses", "crosses_above", "crosses_below"})


def _previous(column: str) -> str | None:
    """The column one bar earlier (``RSI|1W`` -> ``RSI[1]|1W``), ``None`` when it has none."""
    from clusterfolio.discovery.columns import previous_column
    from clusterfolio.errors import DataError

    try:
        return previous_column(column)
    except DataError:
        return None


def _leaves(node: Any) -> Iterable[Mapping[str, Any]]:
    """Every expression of a ``filter2`` tree, depth first."""
    if not isinstance(node, Mapping):
        return
    if "expression" in node:
        yield node["expression"]
    elif "operation" in node:
        yield from _leaves(node["operation"])
    else:
        for operand in node.get("operands") or []:
            yield from _leaves(operand)


def _named_fields(body: Mapping[str, Any]) -> list[str]:
    """Strings a body names: columns, sort key, filter operands and crossings' previous bars."""
    names = [str(c) for c in body.get("columns") or []]
    sort = body.get("sort")
    if isinstance(sort, Mapping) and sort.get("sortBy"):
        names.append(str(sort["sortBy"]))
    expressions = [*(body.get("filter") or []), *_leaves(body.get("filter2"))]
    for expr in expressions:
        if not isinstance(expr, Mapping):
            continue
        right = expr.get("right")
        sides = [expr.get("left"), *(right if isinstance(right, list) else [right])]
        strings = [str(v) for v in sides if isinstance(v, str)]
        names.extend(strings)
        if expr.get("operation") in _CROSSINGS:
            names.extend(p for p in map(_previous, strings) if p is not None)
    return list(dict.fromkeys(names))


def _table_columns(
    body: Mapping[str, Any], request: ScanRequest, is_column: Callable[[str], bool]
) -> list[str]:
    """Columns of the screener table a body is evaluated on: the requested ones, the sort key,
    every filter's left side and previous bar, and the right operands that name a field (a
    string naming no field stays a literal, as the real endpoint reads it)."""
    names = [str(c) for c in request.columns]
    if request.sort is not None:
        names.append(request.sort.sortBy)
    expressions = [*(request.filter or [])]
    if request.filter2 is not None:
        expressions += request.filter2.expressions()
    for expr in expressions:
        names.append(expr.left)
        right = expr.right
        operands = right if isinstance(right, list) else [right]
        fields = [v for v in operands if isinstance(v, str) and is_column(v)]
        names += fields
        if expr.operation in _CROSSINGS:
            names += [p for p in map(_previous, [expr.left, *fields]) if p is not None]
    return list(dict.fromkeys(names))


def _request(body: Mapping[str, Any]) -> ScanRequest:
    """The body's columns, filters and sort as a validated request (markets, tickers and the
    range are applied by the server itself)."""
    keys = ("columns", "filter", "filter2", "sort")
    try:
        return ScanRequest.model_validate({k: body[k] for k in keys if k in body})
    except ValidationError as exc:
        raise ScanRejected(str(exc)) from exc


def evaluate_scan(
    universe: Mapping[str, list[Row]],
    market: str,
    body: Mapping[str, Any],
    catalog: FieldCatalog | None = None,
    computed: BarColumns | None = None,
) -> dict[str, Any]:
    """Evaluate a ``/scan`` body over ``universe`` like the real endpoint.

    The filter grammar is the project's own: the rows become a screener table and
    :func:`clusterfolio.discovery.evaluate.evaluate_screen` applies the filters and the sort
    (missing values last, ties by symbol), so the fake server and the local evaluator cannot
    drift apart. A string ``right`` operand is a field when the field lists (``catalog``) know
    it or ``computed`` computes it, and a literal otherwise. With ``computed``, price and
    indicator values come from the bars (:class:`BarColumns`) instead of the rows.

    Raises
    ------
    ScanRejected
        Unknown field (unless ``ignore_unknown_fields``), operation, or a malformed body.
    """
    columns = body.get("columns")
    if not isinstance(columns, list):
        raise ScanRejected("'columns' must be a list")
    markets = [str(m) for m in body.get("markets") or []] or [market]
    if catalog is not None and not body.get("ignore_unknown_fields", False):
        for m in markets:
            for _, name in request_fields(body):
                if not catalog.is_known(m, name):
                    raise ScanRejected(f'Unknown field "{name}"')
    groups = {
        _MARKET_GROUPS.get(m, "stocks" if m in ("america", "global") else "")
        for m in (markets if market == "global" else [market])
    } - {""}
    rows: list[Row] = [row for g in sorted(groups) for row in universe.get(g, [])]
    tickers = (body.get("symbols") or {}).get("tickers") or []
    if tickers:
        wanted = set(tickers)
        rows = [row for row in rows if row["symbol"] in wanted]
    value_market = market if market != "global" else markets[0]
    if computed is not None:
        computed.prefetch([row["symbol"] for row in rows], _named_fields(body))

    def is_column(name: str) -> bool:
        if computed is not None and computed.is_column(name):
            return True
        return catalog is not None and catalog.is_known(value_market, name)

    def value(row: Row, column: str) -> Any:
        return _value(row, column, catalog, value_market, computed)

    request = _request(body)
    rows = list({row["symbol"]: row for row in rows}.values())
    names = _table_columns(body, request, is_column)
    table = pd.DataFrame(
        {name: [value(row, name) for row in rows] for name in names},
        index=pd.Index([row["symbol"] for row in rows], dtype="object"),
        columns=names,
    )
    try:
        selected = evaluate_screen(Screen(name="scan", request=request), table)
    except ClusterfolioError as exc:
        raise ScanRejected(str(exc)) from exc
    by_symbol = {row["symbol"]: row for row in rows}
    rows = [by_symbol[str(symbol)] for symbol in selected.index]
    total = len(rows)
    window = body.get("range") or [0, total]
    lo, hi = int(window[0]), int(window[1])
    page = rows[lo:hi]
    return {
        "totalCount": total,
        "data": [{"s": row["symbol"], "d": [value(row, str(c)) for c in columns]} for row in page],
    }


# =============================================================================================
# HTTP scanner server
# =============================================================================================


@dataclass(frozen=True)
class HttpFault:
    """One scripted scanner answer, consumed by the next request.

    Parameters
    ----------
    status : int
        When non-zero, answer this status (with ``Retry-After`` when ``retry_after`` is set).
    delay_s : float
        Sleep before answering normally (beyond the client timeout: a timeout).
    drop : bool
        Close the connection without answering.
    body : str, optional
        Answer 200 with this raw body (malformed JSON).
    retry_after : float, optional
        ``Retry-After`` header of a status answer.
    """

    status: int = 0
    delay_s: float = 0.0
    drop: bool = False
    body: str | None = None
    retry_after: float | None = None


_SCAN_PATH = re.compile(r"^/([A-Za-z0-9_]+)/scan/?(\?.*)?$")


class FakeScannerServer:
    """``POST /<market>/scan`` on ``127.0.0.1`` (ephemeral port), in a background thread.

    Parameters
    ----------
    universe : mapping, optional
        Rows per group (``stocks``, ``crypto``, ``coin``, ``forex``, ``bond``);
        :func:`default_universe` by default.
    catalog : FieldCatalog, optional
        Field lists: typed values for columns the rows lack, and 400 on unknown fields.
    chart : FakeChartServer, optional
        When given, price and indicator columns are computed from this server's history of
        each symbol it knows, as of its ``as_of`` (:class:`BarColumns`), and override the rows'.

    Attributes
    ----------
    requests : list of (str, dict)
        Market and body of every request received (faulted ones included).
    computed : BarColumns or None
        The columns computed from ``chart``.
    """

    def __init__(
        self,
        universe: Mapping[str, list[Row]] | None = None,
        *,
        catalog: FieldCatalog | None = None,
        chart: FakeChartServer | None = None,
    ) -> None:
        self.universe = dict(universe) if universe is not None else default_universe()
        self.catalog = catalog
        self.computed = (
            BarColumns(chart.bars, as_of=chart.as_of, known=chart.is_known)
            if chart is not None
            else None
        )
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._faults: deque[HttpFault] = deque()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL ``http://127.0.0.1:<port>``."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def inject(self, *faults: HttpFault) -> None:
        """Queue answers for the next requests, in order."""
        with self._lock:
            self._faults.extend(faults)

    def pending_faults(self) -> int:
        """Faults not consumed yet."""
        with self._lock:
            return len(self._faults)

    def clear_faults(self) -> int:
        """Drop the faults not consumed yet; return how many there were."""
        with self._lock:
            n = len(self._faults)
            self._faults.clear()
            return n

    def _next_fault(self) -> HttpFault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def start(self) -> FakeScannerServer:
        """Bind and serve in a daemon thread."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body are two writes: without this, Nagle's algorithm and the
            # client's delayed ACK hold every answer back by ~40 ms on a kept-alive connection
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _reply(self, status: int, payload: bytes, headers: Mapping[str, str] = {}) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    self.close_connection = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                match = _SCAN_PATH.match(self.path)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = None
                market = match.group(1) if match else ""
                owner.requests.append((market, body if isinstance(body, dict) else {}))
                fault = owner._next_fault()
                if fault is not None:
                    if fault.drop:
                        self.close_connection = True
                        with contextlib.suppress(OSError):
                            self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    if fault.delay_s:
                        time.sleep(fault.delay_s)
                    if fault.status:
                        headers = {}
                        if fault.retry_after is not None:
                            headers["Retry-After"] = str(fault.retry_after)
                        error = json.dumps({"error": f"injected HTTP {fault.status}"}).encode()
                        self._reply(fault.status, error, headers)
                        return
                    if fault.body is not None:
                        self._reply(200, fault.body.encode("utf-8"))
                        return
                if match is None:
                    self._reply(404, b'{"error":"not found"}')
                    return
                if not isinstance(body, dict):
                    self._reply(400, b'{"error":"body is not a JSON object"}')
                    return
                try:
                    doc = evaluate_scan(owner.universe, market, body, owner.catalog, owner.computed)
                except ScanRejected as exc:
                    payload = {"totalCount": 0, "error": str(exc), "data": None}
                    self._reply(400, json.dumps(payload).encode())
                    return
                except (KeyError, TypeError, ValueError) as exc:
                    self._reply(400, json.dumps({"error": f"bad request: {exc}"}).encode())
                    return
                self._reply(200, json.dumps(doc).encode())

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeScannerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# =============================================================================================
# Websocket chart server
# =============================================================================================

ChartFaultKind = Literal[
    "drop", "malformed", "bad_json", "stall", "critical", "series_error", "protocol_error"
]


@dataclass(frozen=True)
class ChartFault:
    """One scripted failure of a series, consumed by the symbol's next ``create_series``.

    Parameters
    ----------
    kind : str
        ``drop`` (part of the bars, then the connection is cut), ``malformed`` (a frame whose
        declared length is wrong), ``bad_json`` (a well-framed payload that is not JSON),
        ``stall`` (no answer), ``critical`` (``critical_error``), ``series_error`` or
        ``protocol_error``.
    at_chunk : int
        0: during the first series; k: during the k-th ``request_more_data``.
    """

    kind: ChartFaultKind
    at_chunk: int = 0


@dataclass
class ChartServerStats:
    """What the fake chart server saw."""

    connections: int = 0
    create_series: int = 0
    more_data: int = 0
    heartbeats_sent: int = 0
    heartbeats_echoed: int = 0
    deleted_sessions: int = 0
    tokens: list[str] = field(default_factory=list)
    specs: list[dict[str, Any]] = field(default_factory=list)
    requested_bars: list[int] = field(default_factory=list)


@dataclass
class _Series:
    symbol: str
    bars: list[Bar]
    first: int  # index of the oldest bar sent so far
    fault: ChartFault | None
    chunk: int = 0


@dataclass
class _ChartSession:
    symbols: dict[str, str] = field(default_factory=dict)
    series: dict[str, _Series] = field(default_factory=dict)


class _Cut(Exception):
    """Stop serving this connection (it was dropped on purpose)."""


class FakeChartServer:
    """The chart websocket on ``127.0.0.1`` (ephemeral port), in its own thread and loop.

    Parameters
    ----------
    as_of : date
        Last session of every history.
    history : int
        Bars held per symbol (:func:`synthetic_bars`).
    max_bars_per_request : int
        Most bars one ``create_series`` or ``request_more_data`` returns.
    bars_per_packet : int
        Bars per ``timescale_update`` packet.
    unknown_symbols : iterable of str
        Symbols answered with ``symbol_error`` (so is any ticker starting with ``UNKNOWN``).
    heartbeat_interval_s : float, optional
        Also send heartbeats periodically (one is always sent with the first packet of a
        series, in the same websocket message).
    preamble : sequence of dict, optional
        Packets sent right after the hello, in one websocket message (e.g. the ``qsd`` quote
        packets of a captured session), which a chart client must skip.
    latency_s : float
        Delay before answering each ``create_series`` and ``request_more_data`` (a network
        round trip plus the server's work; benchmarks).
    calendar_sessions : bool
        Serve each stock-like symbol on its own trading calendar (no bar on an NYSE holiday)
        rather than on every weekday (:func:`synthetic_bars`).
    """

    def __init__(
        self,
        *,
        as_of: date = DEFAULT_AS_OF,
        history: int = 3000,
        max_bars_per_request: int = 5000,
        bars_per_packet: int = 1000,
        unknown_symbols: Iterable[str] = (),
        heartbeat_interval_s: float | None = None,
        preamble: Sequence[Mapping[str, Any]] = (),
        latency_s: float = 0.0,
        calendar_sessions: bool = False,
    ) -> None:
        self.as_of = as_of
        self.calendar_sessions = calendar_sessions
        self.latency_s = latency_s
        self.preamble = [dict(p) for p in preamble]
        self.history = history
        self.max_bars_per_request = max_bars_per_request
        self.bars_per_packet = max(1, bars_per_packet)
        self.unknown_symbols = set(unknown_symbols)
        self.heartbeat_interval_s = heartbeat_interval_s
        self.stats = ChartServerStats()
        self._faults: dict[str, deque[ChartFault]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._port = 0
        self._error: BaseException | None = None

    # -- control (any thread) ----------------------------------------------------------------

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:<port>/socket.io/websocket``."""
        if not self._port:
            raise RuntimeError("server not started")
        return f"ws://127.0.0.1:{self._port}/socket.io/websocket"

    def inject(self, symbol: str, *faults: ChartFault) -> None:
        """Queue faults for the next series of ``symbol`` (one per ``create_series``)."""
        with self._lock:
            self._faults.setdefault(symbol, deque()).extend(faults)

    def pending_faults(self, symbol: str) -> int:
        """Faults of ``symbol`` not consumed yet."""
        with self._lock:
            return len(self._faults.get(symbol, ()))

    def is_known(self, symbol: str) -> bool:
        """Whether the server has a history for ``symbol``."""
        ticker = symbol.split(":", 1)[-1]
        return (
            ":" in symbol
            and symbol not in self.unknown_symbols
            and not ticker.startswith("UNKNOWN")
        )

    def bars(self, symbol: str) -> list[Bar]:
        """The full history served for ``symbol``."""
        return synthetic_bars(
            symbol, as_of=self.as_of, n_bars=self.history, calendar=self.calendar_sessions
        )

    def expected_frame(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """The candles a correct client must return for ``symbol`` and ``[start, end]``."""
        return bars_to_frame(symbol, self.bars(symbol), start, end)

    def start(self) -> FakeChartServer:
        """Bind and serve in a daemon thread; returns once the port is known."""
        self._thread = threading.Thread(target=self._run, name="fake-chart-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("fake chart server did not start within 10 s")
        if self._error is not None:
            raise RuntimeError(f"fake chart server failed to start: {self._error}")
        return self

    def stop(self) -> None:
        """Close every connection and the socket; join the thread."""
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> FakeChartServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- server loop -------------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # pragma: no cover - reported by start()
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server: Server
        async with serve(
            self._handle, "127.0.0.1", 0, max_size=2**24, ping_interval=None
        ) as server:
            self._port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop.wait()
            server.close(close_connections=True)

    async def _send(self, ws: ServerConnection, *frames: str) -> None:
        await ws.send("".join(frames))

    def _heartbeat(self, counter: list[int]) -> str:
        counter[0] += 1
        self.stats.heartbeats_sent += 1
        return protocol.encode_heartbeat(counter[0])

    async def _beat(self, ws: ServerConnection, counter: list[int]) -> None:
        assert self.heartbeat_interval_s is not None
        while True:
            await asyncio.sleep(self.heartbeat_interval_s)
            await self._send(ws, self._heartbeat(counter))

    async def _handle(self, ws: ServerConnection) -> None:
        self.stats.connections += 1
        counter = [0]
        sessions: dict[str, _ChartSession] = {}
        hello = {
            "session_id": f"fake_{self.stats.connections}",
            "timestamp": int(time.time()),
            "release": "fake",
            "protocol": "json",
            "auth_scheme_vsn": 2,
        }
        beat: asyncio.Task[None] | None = None
        try:
            await self._send(ws, protocol.encode_packet(hello))
            if self.preamble:
                await self._send(ws, *(protocol.encode_packet(p) for p in self.preamble))
            if self.heartbeat_interval_s:
                beat = asyncio.create_task(self._beat(ws, counter))
            async for message in ws:
                text = message.decode("utf-8") if isinstance(message, bytes) else message
                try:
                    frames = protocol.decode_frames(text)
                except FrameError as exc:
                    await self._send(ws, protocol.encode_message("protocol_error", [str(exc)]))
                    return
                for frame in frames:
                    if frame.is_heartbeat:
                        self.stats.heartbeats_echoed += 1
                        continue
                    try:
                        packet = protocol.parse_packet(frame.payload)
                    except FrameError as exc:
                        await self._send(ws, protocol.encode_message("protocol_error", [str(exc)]))
                        return
                    await self._dispatch(ws, packet, sessions, counter)
        except (_Cut, ConnectionClosed):
            return
        finally:
            if beat is not None:
                beat.cancel()

    async def _dispatch(
        self,
        ws: ServerConnection,
        packet: dict[str, Any],
        sessions: dict[str, _ChartSession],
        counter: list[int],
    ) -> None:
        method = packet.get("m")
        params = packet.get("p") or []
        if method == "set_auth_token":
            self.stats.tokens.append(str(params[0]))
        elif method == "chart_create_session":
            sessions[params[0]] = _ChartSession()
        elif method == "chart_delete_session":
            sessions.pop(params[0], None)
            self.stats.deleted_sessions += 1
        elif method == "resolve_symbol":
            cs, symbol_id, spec = params[0], params[1], params[2]
            parsed = protocol.parse_symbol_spec(spec)
            self.stats.specs.append(parsed)
            symbol = parsed["symbol"]
            session = sessions.setdefault(cs, _ChartSession())
            session.symbols[symbol_id] = symbol
            if not self.is_known(symbol):
                await self._send(
                    ws, protocol.encode_message("symbol_error", [cs, symbol_id, "invalid symbol"])
                )
                return
            exchange, ticker = symbol.split(":", 1)
            info = {
                "name": ticker,
                "full_name": symbol,
                "pro_name": symbol,
                "exchange": exchange,
                "description": f"{ticker} (fake)",
                "type": "spot" if is_24_7(symbol) else "stock",
                "session": "24x7" if is_24_7(symbol) else "0930-1600",
                "timezone": "Etc/UTC" if is_24_7(symbol) else "America/New_York",
                "pricescale": 10000,
                "minmov": 1,
                "currency_code": "USD",
            }
            await self._send(ws, protocol.encode_message("symbol_resolved", [cs, symbol_id, info]))
        elif method == "create_series":
            cs, series_id, turnaround, symbol_id, _resolution, count = params[:6]
            self.stats.create_series += 1
            self.stats.requested_bars.append(int(count))
            session = sessions.setdefault(cs, _ChartSession())
            symbol = session.symbols.get(symbol_id, "")
            if not self.is_known(symbol):
                await self._send(
                    ws,
                    protocol.encode_message(
                        "series_error", [cs, series_id, turnaround, "resolve error"]
                    ),
                )
                return
            with self._lock:
                queue = self._faults.get(symbol)
                fault = queue.popleft() if queue else None
            bars = self.bars(symbol)
            n = min(int(count), self.max_bars_per_request, len(bars))
            series = _Series(symbol=symbol, bars=bars, first=len(bars) - n, fault=fault)
            session.series[series_id] = series
            await self._serve_chunk(
                ws, cs, series_id, turnaround, series, series.first, len(bars), counter
            )
        elif method == "request_more_data":
            cs, series_id, count = params[0], params[1], int(params[2])
            self.stats.more_data += 1
            self.stats.requested_bars.append(count)
            known = sessions.get(cs)
            found = known.series.get(series_id) if known else None
            if found is None:
                await self._send(ws, protocol.encode_message("protocol_error", ["unknown series"]))
                return
            found.chunk += 1
            n = min(count, self.max_bars_per_request)
            lo = max(0, found.first - n)
            hi = found.first
            found.first = lo
            await self._serve_chunk(ws, cs, series_id, "s1", found, lo, hi, counter)
        elif method in (
            "quote_create_session",
            "quote_add_symbols",
            "quote_set_fields",
            "quote_fast_symbols",
            "quote_remove_symbols",
            "set_locale",
            "switch_timezone",
            "set_data_quality",
        ):
            return
        else:
            await self._send(
                ws, protocol.encode_message("protocol_error", [f"unknown method {method}"])
            )

    async def _serve_chunk(
        self,
        ws: ServerConnection,
        cs: str,
        series_id: str,
        turnaround: str,
        series: _Series,
        lo: int,
        hi: int,
        counter: list[int],
    ) -> None:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        fault = series.fault if series.fault and series.fault.at_chunk == series.chunk else None
        packets: list[str] = []
        for start in range(lo, hi, self.bars_per_packet):
            stop = min(hi, start + self.bars_per_packet)
            items = [{"i": i - lo, "v": list(series.bars[i])} for i in range(start, stop)]
            packets.append(
                protocol.encode_message(
                    "timescale_update",
                    [
                        cs,
                        {
                            series_id: {
                                "node": "fake",
                                "s": items,
                                "ns": {"d": "", "indexes": "nochange"},
                                "t": turnaround,
                                "lbs": {"bar_close_time": int(series.bars[hi - 1][0]) + 86400},
                            }
                        },
                    ],
                )
            )
        completed = protocol.encode_message(
            "series_completed", [cs, series_id, "streaming", turnaround]
        )
        beat = self._heartbeat(counter) if series.chunk == 0 else ""
        if fault is None:
            if not packets:
                await self._send(ws, beat + completed)
                return
            for index, packet in enumerate(packets):
                prefix = beat if index == 0 else ""
                suffix = completed if index == len(packets) - 1 else ""
                await self._send(ws, prefix + packet + suffix)
            return
        kind = fault.kind
        if kind == "drop":
            if packets:
                await self._send(ws, beat + packets[0])
            else:
                await self._send(ws, beat)
            ws.transport.abort()
            raise _Cut
        if kind == "malformed":
            good = packets[0] if packets else ""
            await self._send(ws, beat + good + '~m~999~m~{"m":"timescale_update","p":["' + cs + '"')
            return
        if kind == "bad_json":
            await self._send(
                ws, beat + protocol.encode_frame('{"m":"timescale_update","p":[' + '"' + cs)
            )
            return
        if kind == "stall":
            if beat:
                await self._send(ws, beat)
            return
        if kind == "critical":
            await self._send(
                ws,
                beat
                + protocol.encode_message(
                    "critical_error", [cs, "internal error", "create_series"]
                ),
            )
            return
        if kind == "series_error":
            await self._send(
                ws,
                beat
                + protocol.encode_message("series_error", [cs, series_id, turnaround, "no data"]),
            )
            return
        if kind == "protocol_error":
            await self._send(ws, beat + protocol.encode_message("protocol_error", ["wrong data"]))
            return
        raise ValueError(f"unknown chart fault {kind!r}")  # pragma: no cover
