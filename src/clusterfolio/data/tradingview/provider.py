"""The ``tradingview`` provider: screens over the scanner, candles over the chart websocket.

The provider only delivers: validated candle frames (never partial) and screen rows. Merging into
the lakehouse, freshness and health are the caller's job, as for every provider.

Sync over async: each ``candles``/``candles_many`` call runs one event loop (``asyncio.run``);
called from inside a running loop, it runs that batch on a helper thread instead. Connections
live for one call: prefer ``candles_many`` for a backfill (``concurrency`` connections reused
across its symbols) over a loop of ``candles`` (one connection per call).

Loopback use (tests, the end-to-end pipeline): point ``scanner_url`` and ``websocket_url`` at the
servers of the test suite (``tests/fakes/tradingview.py``), through the keywords or the manifest.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from clusterfolio.data.provider import ProviderStats
from clusterfolio.data.schema import Listing, empty_candles
from clusterfolio.data.tradingview.chart import ChartClient, SeriesResult
from clusterfolio.data.tradingview.client import WarningsClient
from clusterfolio.data.tradingview.fields import load_catalog
from clusterfolio.data.tradingview.listing import (
    listing_from_row,
    metadata_columns,
    symbol_market,
)
from clusterfolio.data.tradingview.probe import PROBE_TIMEOUT_S, Reachability
from clusterfolio.data.tradingview.ratelimit import TokenBucket
from clusterfolio.data.tradingview.scanner import ScannerClient, ScanResult
from clusterfolio.enums import ProviderName
from clusterfolio.errors import ProviderError, UnknownSymbolError
from clusterfolio.manifest import TradingViewSettings

#: Endpoints probed by :attr:`TradingViewProvider.reachability`.
SCANNER, CHART = 0, 1

_T = TypeVar("_T")


def _run(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to completion from synchronous code.

    The result is handed over through a box, not as the main task's result: on the main thread
    ``asyncio.run`` inspects its SIGINT handler when it ends, and Python 3.11 then formats the
    ``repr`` of that handler, whose main task shows its result (a candle frame rendered as text,
    about 0.1 s per call).
    """
    box: list[_T] = []

    async def main() -> None:
        box.append(await coro)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(main())
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, main()).result()
    return box[0]


class TradingViewProvider(WarningsClient):
    """Provider backed by TradingView's scanner (HTTP) and chart (websocket) protocols.

    Parameters
    ----------
    settings : TradingViewSettings
        ``data.tradingview`` of the manifest.
    scanner_url : str, optional
        Overrides ``settings.scanner_url``.
    websocket_url : str, optional
        Overrides ``settings.websocket_url``.
    metainfo_dir : Path, optional
        Folder of the scanner field lists; ``../shared/data/tradingview/shner-elmo/metainfo``
        relative to the repository by default. When absent, columns are not validated and a
        warning is recorded in :attr:`warnings`.
    token : str, optional
        Chart auth token; by default from the variable named by ``settings.token_env``, else the
        anonymous token.

    Attributes
    ----------
    remote_scanner : bool
        True: screens are evaluated by TradingView's scanner (:meth:`screen`), not locally
        from candles (:func:`clusterfolio.discovery.remote.has_remote_scanner`).
    stats : ProviderStats
        ``screen_calls`` (one per :meth:`screen`), ``candle_calls`` and ``by_symbol`` (one per
        symbol asked from the chart), ``metadata_calls`` (scanner look-ups of :meth:`metadata`
        and :meth:`metadata_many`).
    warnings : list of str
        What was not done as configured (field lists unavailable ...).
    failures : dict
        Symbol to error message of the last :meth:`candles_many` batch.
    """

    name: str = ProviderName.TRADINGVIEW.value
    remote_scanner: bool = True

    def __init__(
        self,
        settings: TradingViewSettings,
        *,
        scanner_url: str | None = None,
        websocket_url: str | None = None,
        metainfo_dir: Path | str | None = None,
        token: str | None = None,
    ) -> None:
        self.settings = settings
        self.stats = ProviderStats()
        self.warnings: list[str] = []
        self.failures: dict[str, str] = {}
        catalog, warning = load_catalog(Path(metainfo_dir) if metainfo_dir is not None else None)
        if warning:
            self._warn(warning)
        self.catalog = catalog
        self.limiter = TokenBucket(settings.rate_limit_per_s)
        self.scanner = ScannerClient(
            settings, base_url=scanner_url, catalog=catalog, limiter=self.limiter
        )
        self.chart = ChartClient(
            settings, websocket_url=websocket_url, token=token, limiter=self.limiter
        )
        self._listings: dict[str, Listing] = {}
        self.reachability = Reachability(  # SCANNER, CHART
            [self.scanner.base_url, websocket_url or settings.websocket_url],
            timeout_s=min(PROBE_TIMEOUT_S, settings.timeout_s),
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self.scanner.close()

    # -- screens and metadata ----------------------------------------------------------------

    def scan(self, request: Mapping[str, Any], *, market: str | None = None) -> ScanResult:
        """Run a screen and keep the listings it returns (see :meth:`screen`)."""
        self.stats.screen_calls += 1
        self.reachability.check()
        result = self.scanner.scan(request, market=market)
        for message in result.warnings:
            self._warn(message)
        for row in result.rows:
            fresh = listing_from_row(row, result.market)
            known = self._listings.get(fresh.symbol)
            self._listings[fresh.symbol] = fresh if known is None else _merge(known, fresh)
        return result

    def screen(self, request: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Evaluate a ``/scan`` request body on TradingView's scanner.

        Parameters
        ----------
        request : mapping
            ``columns``, ``filter``/``filter2``, ``sort``, ``range`` (the rows wanted, fetched in
            pages of ``settings.page_size``), ``markets``, ``symbols``, ``options`` ...

        Returns
        -------
        list of dict
            One per listing, in server order: ``{"symbol": "EXCHANGE:TICKER", column: value}``
            (:meth:`scan` keeps the raw ``{"s": ..., "d": [...]}`` items as well).

        Raises
        ------
        ConfigError
            A column unknown in the market's field list, a missing market or a bad range.
        ProviderError
            The scanner refused the request or failed after its retries.
        """
        return self.scan(request).rows

    def listings(self) -> Sequence[Listing]:
        """Return the listings seen in screens and metadata look-ups so far, by symbol."""
        return [self._listings[s] for s in sorted(self._listings)]

    def metadata(self, symbol: str) -> Listing:
        """Return the metadata of ``symbol``.

        A listing seen in a screen that carried its description is returned as is; otherwise
        one scanner look-up (``symbols.tickers``, counted in ``stats.metadata_calls``) fills it.

        Raises
        ------
        UnknownSymbolError
            The scanner does not list the symbol.
        """
        known = self._listings.get(symbol)
        if known is not None and known.description:
            return known
        self.reachability.check()
        market = symbol_market(symbol, self.catalog)
        request = {
            "columns": metadata_columns(market, self.catalog),
            "symbols": {"tickers": [symbol], "query": {"types": []}},
            "markets": [market],
            "options": {"lang": "en"},
            "range": [0, 1],
        }
        self.stats.metadata_calls += 1
        result = self.scanner.scan(request, market=market)
        rows = [row for row in result.rows if row["symbol"] == symbol]
        if not rows:
            raise UnknownSymbolError(f"{symbol}: not listed by the TradingView scanner ({market})")
        fresh = listing_from_row(rows[0], market)
        listing = fresh if known is None else _merge(known, fresh)
        self._listings[symbol] = listing
        return listing

    def metadata_many(self, symbols: Sequence[str], *, strict: bool = True) -> dict[str, Listing]:
        """Return the metadata of many symbols with few scanner requests.

        Listings already described (seen in a screen that carried ``description``, or looked
        up before) are returned as they are; the others are looked up together, one request
        per scanner market and page of ``settings.page_size`` tickers (each counted in
        ``stats.metadata_calls``).

        Parameters
        ----------
        symbols : sequence of str
            Duplicates are looked up once.
        strict : bool
            When true, symbols the scanner does not list raise; when false they are left out.

        Returns
        -------
        dict
            Symbol to :class:`~clusterfolio.data.schema.Listing`, in the order given.

        Raises
        ------
        UnknownSymbolError
            ``strict`` and the scanner does not list some symbols (all are named).
        ProviderError
            The scanner failed after its retries.
        """
        unique = list(dict.fromkeys(symbols))
        found: dict[str, Listing] = {}
        by_market: dict[str, list[str]] = {}
        for symbol in unique:
            known = self._listings.get(symbol)
            if known is not None and known.description:
                found[symbol] = known
            else:
                by_market.setdefault(symbol_market(symbol, self.catalog), []).append(symbol)
        size = self.settings.page_size
        for market, group in sorted(by_market.items()):
            for first in range(0, len(group), size):
                chunk = group[first : first + size]
                request = {
                    "columns": metadata_columns(market, self.catalog),
                    "symbols": {"tickers": chunk, "query": {"types": []}},
                    "markets": [market],
                    "options": {"lang": "en"},
                    "range": [0, len(chunk)],
                }
                self.stats.metadata_calls += 1
                self.reachability.check()
                result = self.scanner.scan(request, market=market)
                wanted = set(chunk)
                for row in result.rows:
                    symbol = str(row["symbol"])
                    if symbol not in wanted or symbol in found:
                        continue
                    fresh = listing_from_row(row, market)
                    known = self._listings.get(symbol)
                    listing = fresh if known is None else _merge(known, fresh)
                    self._listings[symbol] = found[symbol] = listing
        missing = [symbol for symbol in unique if symbol not in found]
        if missing and strict:
            raise UnknownSymbolError(f"not listed by the TradingView scanner: {', '.join(missing)}")
        return {symbol: found[symbol] for symbol in unique if symbol in found}

    # -- candles -----------------------------------------------------------------------------

    def candles(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Return the daily candles of ``symbol`` for sessions in ``[start, end]``.

        Returns
        -------
        pandas.DataFrame
            Validated :data:`~clusterfolio.data.schema.CANDLE_COLUMNS`; sessions are the UTC
            dates of the bars (naive midnight). Empty when no bar falls in the range.

        Raises
        ------
        UnknownSymbolError
            TradingView does not know ``symbol``.
        ProviderError
            Any other failure, after the retries of transient ones.
        """
        self.stats.record_candles(symbol)
        if end < start:
            return empty_candles()
        self.reachability.check(CHART)
        result = _run(self.chart.fetch(symbol, start, end))
        return result.frame

    def candles_many(
        self, symbols: Sequence[str], start: date, end: date, *, strict: bool = True
    ) -> dict[str, pd.DataFrame]:
        """Return the candles of many symbols, ``settings.concurrency`` at a time.

        Parameters
        ----------
        symbols : sequence of str
            Duplicates are fetched once.
        start, end : date
            Sessions kept (inclusive).
        strict : bool
            When true, any failure raises once the batch is done (the symbol's own error when
            only one failed, else a :class:`ProviderError` naming each); when false, failed
            symbols are left out and recorded in :attr:`failures`.

        Returns
        -------
        dict
            Symbol to validated candle frame, in the order given.
        """
        unique = list(dict.fromkeys(symbols))
        for symbol in unique:
            self.stats.record_candles(symbol)
        self.failures = {}
        if not unique:
            return {}
        if end < start:
            return {symbol: empty_candles() for symbol in unique}
        self.reachability.check(CHART)
        results = _run(self.chart.fetch_many(unique, start, end))
        frames: dict[str, pd.DataFrame] = {}
        errors: dict[str, ProviderError] = {}
        for symbol, result in results.items():
            if isinstance(result, SeriesResult):
                frames[symbol] = result.frame
            else:
                errors[symbol] = result
        self.failures = {symbol: str(exc) for symbol, exc in errors.items()}
        if errors and strict:
            if len(errors) == 1:
                raise next(iter(errors.values()))
            listed = "; ".join(str(exc) for exc in errors.values())
            raise ProviderError(f"{len(errors)} of {len(unique)} symbols failed: {listed}")
        return frames


def _merge(known: Listing, fresh: Listing) -> Listing:
    """Keep known metadata that a later screen (with other columns) does not carry."""
    extra = {**known.extra, **fresh.extra}
    typed = "type" in fresh.extra or "type" not in known.extra
    return Listing(
        symbol=fresh.symbol,
        asset_class=fresh.asset_class if typed else known.asset_class,
        calendar=fresh.calendar if typed else known.calendar,
        description=fresh.description or known.description,
        sector=fresh.sector or known.sector,
        industry=fresh.industry or known.industry,
        market_cap=known.market_cap if pd.isna(fresh.market_cap) else fresh.market_cap,
        base=fresh.base or known.base,
        quote=fresh.quote or known.quote,
        extra=extra,
    )
