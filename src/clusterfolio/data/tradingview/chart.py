"""Daily candles over TradingView's chart websocket (asyncio, ``websockets``).

One symbol, on an open connection::

    set_auth_token(token)                      (once per connection)
    chart_create_session(cs)
    resolve_symbol(cs, "sds_sym_1", ={"symbol": ..., "adjustment": ...})
    create_series(cs, "sds_1", "s1", "sds_sym_1", "1D", n0)
      <- symbol_resolved, timescale_update*, series_completed
    request_more_data(cs, "sds_1", n)          (while the oldest bar is after ``start``)
      <- timescale_update*, series_completed
    chart_delete_session(cs)

Bars are keyed by their time, so overlapping chunks merge. A session date is the UTC calendar
date of the bar time (naive midnight), as :func:`clusterfolio.data.schema.validate_candles` wants.

Choices
-------
- **Chunks.** At most ``(today - start).days + 1`` daily bars can exist since ``start``; the first
  series asks for ``min(bars_per_request, that)`` and ``request_more_data`` asks for the rest in
  chunks of at most ``bars_per_request`` while the oldest bar is after ``start``, the last chunk
  added bars and fewer than that bound arrived, so the loop always ends.
- **Concurrency.** ``fetch_many`` runs ``settings.concurrency`` workers; each owns one websocket
  and fetches its symbols one after the other, each in a fresh chart session (sessions of a reused
  connection are told apart by their id). The worker count is the concurrency bound, so at most
  ``concurrency`` connections and series are open at once. Opening a connection takes a token of
  the shared rate limiter.
- **Failures.** A dropped connection, a timeout (no ``series_completed`` within
  ``settings.timeout_s`` of a request), a malformed frame or bar and ``critical_error`` are
  transient: the connection is closed and the symbol is fetched again from scratch on a new one
  (tenacity: at most ``max_retries`` retries, exponential backoff with jitter); bars of a failed
  attempt are discarded, so a partial series is never returned. ``symbol_error`` raises
  :class:`~clusterfolio.errors.UnknownSymbolError`; ``series_error``, ``protocol_error`` and
  exhausted retries raise :class:`~clusterfolio.errors.ProviderError`; every message names the
  symbol.
- **Heartbeats** ``~h~N`` are echoed back verbatim as soon as they are read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeGuard
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
from tenacity import AsyncRetrying
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from clusterfolio.data.schema import empty_candles, validate_candles
from clusterfolio.data.tradingview import protocol
from clusterfolio.data.tradingview.protocol import Bar, FrameError
from clusterfolio.data.tradingview.ratelimit import TokenBucket
from clusterfolio.data.tradingview.retry import TransientError, retry_options
from clusterfolio.errors import ConfigError, ProviderError, SchemaError, UnknownSymbolError
from clusterfolio.manifest import TradingViewSettings

SERIES_ID = "sds_1"
SYMBOL_ID = "sds_sym_1"
TURNAROUND = "s1"
#: Hard bound on the requests of one series (the loop ends long before in practice).
MAX_REQUESTS_PER_SERIES = 10_000
_ORIGIN = "https://www.tradingview.com"


def resolve_token(token_env: str) -> str:
    """Return the auth token from the environment variable ``token_env``, or the anonymous one."""
    value = os.environ.get(token_env, "").strip() if token_env else ""
    return value or protocol.ANONYMOUS_TOKEN


def _is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in {"127.0.0.1", "localhost", "::1"}


@dataclass
class ChartStats:
    """Counters of the chart client (cumulated over its lifetime)."""

    connections: int = 0
    requests: int = 0
    retries: int = 0
    heartbeats: int = 0
    bars: int = 0

    def count_retry(self) -> None:
        """Count one retry (called by the retry policy before it sleeps)."""
        self.retries += 1


@dataclass(frozen=True)
class SeriesResult:
    """The candles of one symbol.

    Attributes
    ----------
    symbol : str
        ``EXCHANGE:TICKER``.
    frame : pandas.DataFrame
        Validated candles of the sessions in ``[start, end]``.
    bars_received : int
        Distinct bars received (before the date filter).
    requests : int
        ``create_series`` plus ``request_more_data`` of the successful attempt.
    attempts : int
        Attempts made (1 when no retry was needed).
    info : dict
        The ``symbol_resolved`` payload (description, exchange, type ...).
    """

    symbol: str
    frame: pd.DataFrame
    bars_received: int
    requests: int
    attempts: int
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class _SeriesState:
    bars: dict[int, Bar] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    requests: int = 0

    def oldest_day(self) -> date | None:
        if not self.bars:
            return None
        return datetime.fromtimestamp(min(self.bars), tz=UTC).date()


class _Connection:
    """One websocket: framing, heartbeat echo and a queue of decoded packets."""

    def __init__(self, ws: ClientConnection, stats: ChartStats) -> None:
        self._ws = ws
        self._stats = stats
        self._pending: deque[dict[str, Any]] = deque()

    @classmethod
    async def open(
        cls, url: str, token: str, timeout_s: float, stats: ChartStats, symbol: str
    ) -> _Connection:
        ws = await connect(
            url,
            open_timeout=timeout_s,
            close_timeout=1.0,
            ping_interval=None,
            max_size=2**25,
            additional_headers={"Origin": _ORIGIN},
            proxy=None if _is_loopback(url) else True,
        )
        stats.connections += 1
        conn = cls(ws, stats)
        await conn.send(protocol.set_auth_token(token), symbol)
        return conn

    async def send(self, frame: str, symbol: str) -> None:
        try:
            await self._ws.send(frame)
        except ConnectionClosed as exc:
            raise TransientError(f"{symbol}: connection closed while sending ({exc})") from exc

    async def next_packet(self, deadline: float, symbol: str, timeout_s: float) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        while not self._pending:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TransientError(f"{symbol}: no answer within {timeout_s}s")
            try:
                message = await asyncio.wait_for(self._ws.recv(), remaining)
            except TimeoutError as exc:
                raise TransientError(f"{symbol}: no answer within {timeout_s}s") from exc
            except ConnectionClosed as exc:
                raise TransientError(f"{symbol}: connection dropped ({exc})") from exc
            if isinstance(message, bytes):
                try:
                    message = message.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise TransientError(f"{symbol}: malformed frame (not UTF-8)") from exc
            try:
                frames = protocol.decode_frames(message)
            except FrameError as exc:
                raise TransientError(f"{symbol}: malformed frame: {exc}") from exc
            for frame in frames:
                if frame.is_heartbeat:
                    await self.send(frame.raw, symbol)
                    self._stats.heartbeats += 1
                    continue
                try:
                    self._pending.append(protocol.parse_packet(frame.payload))
                except FrameError as exc:
                    raise TransientError(f"{symbol}: malformed frame: {exc}") from exc
        return self._pending.popleft()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._ws.close(), 2.0)


@dataclass
class _Slot:
    conn: _Connection | None = None

    async def drop(self) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            await conn.close()


class ChartClient:
    """Daily candles from the chart websocket, with chunks, concurrency and retries.

    Parameters
    ----------
    settings : TradingViewSettings
        ``websocket_url``, ``token_env``, ``adjustment``, ``timeout_s``, ``max_retries``,
        ``backoff_base_s``, ``backoff_max_s``, ``concurrency``, ``bars_per_request``.
    websocket_url : str, optional
        Overrides ``settings.websocket_url`` (a loopback server in tests).
    token : str, optional
        Auth token; by default the value of the variable ``settings.token_env``, else the
        anonymous ``unauthorized_user_token``.
    limiter : TokenBucket, optional
        Shared rate limiter (one token per connection opened).
    today : callable, optional
        Returns today's UTC date (bounds the bars a range can need); for tests.
    """

    def __init__(
        self,
        settings: TradingViewSettings,
        *,
        websocket_url: str | None = None,
        token: str | None = None,
        limiter: TokenBucket | None = None,
        today: Callable[[], date] | None = None,
    ) -> None:
        self.settings = settings
        self.url = websocket_url or settings.websocket_url
        self.token = token if token is not None else resolve_token(settings.token_env)
        self.limiter = limiter or TokenBucket(settings.rate_limit_per_s)
        self.stats = ChartStats()
        self._today = today or (lambda: datetime.now(UTC).date())

    def bars_needed(self, start: date) -> int:
        """Upper bound of the daily bars from ``start`` to today (one per calendar day)."""
        return max(1, (self._today() - start).days + 1)

    async def fetch(self, symbol: str, start: date, end: date) -> SeriesResult:
        """Fetch the candles of one symbol for sessions in ``[start, end]``.

        Raises
        ------
        UnknownSymbolError
            TradingView does not know the symbol.
        ProviderError
            Any other failure, after the retries of transient ones.
        """
        result = (await self.fetch_many([symbol], start, end))[symbol]
        if isinstance(result, ProviderError):
            raise result
        return result

    async def fetch_many(
        self, symbols: Sequence[str], start: date, end: date
    ) -> dict[str, SeriesResult | ProviderError]:
        """Fetch many symbols with ``settings.concurrency`` workers.

        Returns
        -------
        dict
            Symbol (in the order given, duplicates removed) to its :class:`SeriesResult` or to
            the :class:`~clusterfolio.errors.ProviderError` that ended it.
        """
        unique = list(dict.fromkeys(symbols))
        queue: asyncio.Queue[str] = asyncio.Queue()
        for symbol in unique:
            queue.put_nowait(symbol)
        results: dict[str, SeriesResult | ProviderError] = {}

        async def worker() -> None:
            slot = _Slot()
            try:
                while True:
                    try:
                        symbol = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    try:
                        results[symbol] = await self._fetch_with_retries(slot, symbol, start, end)
                    except ProviderError as exc:
                        results[symbol] = exc
            finally:
                await slot.drop()

        n_workers = min(self.settings.concurrency, len(unique))
        await asyncio.gather(*(worker() for _ in range(n_workers)))
        return {symbol: results[symbol] for symbol in unique}

    async def _open(self, symbol: str) -> _Connection:
        await self.limiter.acquire_async()
        try:
            return await _Connection.open(
                self.url, self.token, self.settings.timeout_s, self.stats, symbol
            )
        except InvalidURI as exc:
            raise ConfigError(f"tradingview websocket_url is not a websocket URL: {exc}") from exc
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise TransientError(
                f"{symbol}: cannot connect to {self.url} ({type(exc).__name__}: {exc})"
            ) from exc

    async def _fetch_with_retries(
        self, slot: _Slot, symbol: str, start: date, end: date
    ) -> SeriesResult:
        attempts = 0
        state = _SeriesState()
        retrying = AsyncRetrying(
            **retry_options(self.settings, label="chart", on_retry=self.stats.count_retry)
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    if slot.conn is None:
                        slot.conn = await self._open(symbol)
                    try:
                        state = await self._fetch_on(slot.conn, symbol, start)
                    except TransientError:
                        await slot.drop()
                        raise
        except TransientError as exc:
            raise ProviderError(
                f"{symbol}: TradingView candles failed after {attempts} attempts: {exc}"
            ) from exc
        self.stats.bars += len(state.bars)
        return SeriesResult(
            symbol=symbol,
            frame=bars_to_frame(symbol, state.bars.values(), start, end),
            bars_received=len(state.bars),
            requests=state.requests,
            attempts=attempts,
            info=state.info,
        )

    async def _fetch_on(self, conn: _Connection, symbol: str, start: date) -> _SeriesState:
        chart_session = protocol.new_session_id("cs_")
        needed = self.bars_needed(start)
        per_request = self.settings.bars_per_request
        state = _SeriesState()
        await conn.send(protocol.chart_create_session(chart_session), symbol)
        try:
            await conn.send(
                protocol.resolve_symbol(chart_session, SYMBOL_ID, symbol, self.settings.adjustment),
                symbol,
            )
            await conn.send(
                protocol.create_series(
                    chart_session,
                    SERIES_ID,
                    TURNAROUND,
                    SYMBOL_ID,
                    protocol.DAILY_RESOLUTION,
                    min(per_request, needed),
                ),
                symbol,
            )
            state.requests = 1
            self.stats.requests += 1
            added = await self._collect(conn, chart_session, symbol, state)
            while (
                added > 0
                and len(state.bars) < needed
                and (state.oldest_day() or start) > start
                and state.requests < MAX_REQUESTS_PER_SERIES
            ):
                chunk = min(per_request, needed - len(state.bars))
                await conn.send(protocol.request_more_data(chart_session, SERIES_ID, chunk), symbol)
                state.requests += 1
                self.stats.requests += 1
                added = await self._collect(conn, chart_session, symbol, state)
        except TransientError:
            raise
        except ProviderError:
            with contextlib.suppress(TransientError):
                await conn.send(protocol.chart_delete_session(chart_session), symbol)
            raise
        with contextlib.suppress(TransientError):
            await conn.send(protocol.chart_delete_session(chart_session), symbol)
        return state

    async def _collect(
        self, conn: _Connection, chart_session: str, symbol: str, state: _SeriesState
    ) -> int:
        """Read packets until ``series_completed``; return the number of new bars."""
        timeout_s = self.settings.timeout_s
        deadline = asyncio.get_running_loop().time() + timeout_s
        before = len(state.bars)
        while True:
            packet = await conn.next_packet(deadline, symbol, timeout_s)
            method = packet.get("m")
            if method is None:
                continue  # server hello
            params = packet.get("p")
            if not _own_packet(params, symbol, method, chart_session):
                continue  # hello, quote packets, or a deleted session of this connection
            if method == "symbol_resolved":
                if len(params) > 2 and isinstance(params[2], dict):
                    state.info = params[2]
            elif method in ("timescale_update", "du"):
                try:
                    bars = protocol.series_bars(packet, SERIES_ID)
                except FrameError as exc:
                    raise TransientError(f"{symbol}: malformed {method}: {exc}") from exc
                for bar in bars:
                    state.bars[bar[0]] = bar
            elif method == "series_completed" and (len(params) < 2 or params[1] == SERIES_ID):
                return len(state.bars) - before


def _own_packet(params: Any, symbol: str, method: str, chart_session: str) -> TypeGuard[list[Any]]:
    """Whether a packet is of ``chart_session``; raises on an error packet that concerns it
    (or the whole connection)."""
    if not isinstance(params, list):
        raise TransientError(f"{symbol}: malformed {method} packet (no parameter list)")
    if method == "protocol_error":
        raise ProviderError(f"{symbol}: TradingView protocol_error: {params}")
    own = bool(params) and params[0] == chart_session
    if method == "critical_error" and (own or not (params and str(params[0]).startswith("cs_"))):
        raise TransientError(f"{symbol}: TradingView critical_error: {params}")
    if not own:
        return False
    if method == "symbol_error":
        reason = params[2] if len(params) > 2 else params[1:]
        raise UnknownSymbolError(f"{symbol}: unknown to TradingView ({reason})")
    if method == "series_error":
        raise ProviderError(f"{symbol}: TradingView series_error: {params[1:]}")
    return True


def bars_to_frame(symbol: str, bars: Any, start: date, end: date) -> pd.DataFrame:
    """Turn bars ``(time, open, high, low, close, volume)`` into validated candles.

    Parameters
    ----------
    symbol : str
        Named in errors.
    bars : iterable of tuple
        Bars with unix-second UTC times.
    start, end : date
        Sessions kept (inclusive); a session is the UTC date of the bar time.

    Raises
    ------
    ProviderError
        The bars break the candle schema (non-positive price, duplicated session ...).
    """
    rows = sorted(bars)
    if not rows:
        return empty_candles()
    values = np.asarray(rows, dtype="float64")
    seconds = values[:, 0].astype("int64")
    days = (seconds - seconds % 86_400).astype("datetime64[s]").astype("datetime64[ns]")
    lo = np.datetime64(start, "ns")
    hi = np.datetime64(end, "ns")
    keep = (days >= lo) & (days <= hi)
    frame = pd.DataFrame(
        {
            "session": days[keep],
            "open": values[keep, 1],
            "high": values[keep, 2],
            "low": values[keep, 3],
            "close": values[keep, 4],
            "volume": values[keep, 5],
        }
    )
    try:
        return validate_candles(frame, source=f"tradingview {symbol}")
    except SchemaError as exc:
        raise ProviderError(f"{symbol}: TradingView bars are invalid: {exc}") from exc
