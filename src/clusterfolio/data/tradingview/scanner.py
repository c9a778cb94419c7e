"""Client of TradingView's screener endpoint ``POST {scanner_url}/<market>/scan``.

Request grammar (the bodies of the screener pages): ``columns``, ``filter`` (a list of
``{left, operation, right}``), ``filter2`` (an ``and``/``or`` tree of ``expression`` and
``operation`` nodes), ``sort`` (``{sortBy, sortOrder}``), ``range`` (``[from, to)``), ``markets``,
``symbols`` (``{"tickers": [...], "query": {"types": [...]}}``), ``options`` and page-specific
keys (``price_conversion``, ``ignore_unknown_fields`` ...), all passed through unchanged.

Response: ``{"totalCount": N, "data": [{"s": "EXCHANGE:SYMBOL", "d": [values in column order]}]}``.

Policy
------
- The columns, the sort key and the filter operands are checked against the market's field list
  (:class:`~clusterfolio.data.tradingview.fields.FieldCatalog`) before anything is sent.
- The request's ``range`` is the window wanted; it is fetched in pages of
  ``settings.page_size`` rows and stops at ``totalCount``.
- Each HTTP request takes a token of the shared :class:`TokenBucket`, has a timeout of
  ``settings.timeout_s``, and is retried (tenacity, exponential backoff with jitter, at least the
  ``Retry-After`` the server sent) on 429, 5xx, timeouts, connection errors and unreadable JSON,
  at most ``settings.max_retries`` times. Any other 4xx fails at once with the server's message.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import Retrying

from clusterfolio.data.tradingview.client import WarningsClient
from clusterfolio.data.tradingview.fields import FieldCatalog
from clusterfolio.data.tradingview.ratelimit import TokenBucket
from clusterfolio.data.tradingview.retry import TransientError, retry_options
from clusterfolio.errors import ConfigError, ProviderError
from clusterfolio.manifest import TradingViewSettings

_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "Origin": "https://www.tradingview.com",
    "Referer": "https://www.tradingview.com/",
    "User-Agent": "clusterfolio (+https://www.tradingview.com/screener/)",
}


@dataclass(frozen=True)
class ScanPage:
    """One response of ``/scan``: ``totalCount`` and the raw ``{"s", "d"}`` items."""

    total_count: int
    items: list[dict[str, Any]]


@dataclass(frozen=True)
class ScanResult:
    """All pages of one screen.

    Attributes
    ----------
    market : str
        Market of the URL (``america``, ``crypto`` ... or ``global``).
    columns : tuple of str
        Requested columns, in order.
    total_count : int
        ``totalCount`` of the last page (matches of the filters, before ``range``).
    items : list of dict
        Raw ``{"s": symbol, "d": [values]}`` items, in server order.
    requests : int
        HTTP requests made (pages, retries included).
    """

    market: str
    columns: tuple[str, ...]
    total_count: int
    items: list[dict[str, Any]]
    requests: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Items as ``{"symbol": "EXCHANGE:TICKER", column: value, ...}`` dicts."""
        return [
            {"symbol": item["s"], **dict(zip(self.columns, item["d"], strict=True))}
            for item in self.items
        ]


def request_market(request: Mapping[str, Any], market: str | None = None) -> str:
    """Return the URL market of a request: ``market``, its single market, or ``global``.

    Raises
    ------
    ConfigError
        Neither ``market`` nor ``request["markets"]`` names a market.
    """
    if market:
        return market
    markets = request.get("markets")
    if isinstance(markets, list) and markets:
        return str(markets[0]) if len(markets) == 1 else "global"
    raise ConfigError("screen request names no market: set 'markets' (e.g. ['america'])")


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in {"127.0.0.1", "localhost", "::1"}


def _window(request: Mapping[str, Any]) -> tuple[int, int | None]:
    window = request.get("range")
    if window is None:
        return 0, None
    if (
        not isinstance(window, list | tuple)
        or len(window) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in window)
        or window[0] < 0
        or window[1] < window[0]
    ):
        raise ConfigError(f"screen 'range' must be [from, to] with 0 <= from <= to, got {window!r}")
    return int(window[0]), int(window[1])


class ScannerClient(WarningsClient):
    """HTTP client of ``/<market>/scan`` with validation, paging, rate limit and retries.

    Parameters
    ----------
    settings : TradingViewSettings
        ``scanner_url``, ``page_size``, ``timeout_s``, ``max_retries``, ``backoff_base_s``,
        ``backoff_max_s``, ``rate_limit_per_s``.
    base_url : str, optional
        Overrides ``settings.scanner_url`` (a loopback server in tests).
    catalog : FieldCatalog, optional
        Field lists; without one, columns are not validated and a warning is recorded.
    limiter : TokenBucket, optional
        Shared rate limiter; a private one at ``settings.rate_limit_per_s`` when omitted.
    transport : httpx.BaseTransport, optional
        For tests of the client alone.
    """

    def __init__(
        self,
        settings: TradingViewSettings,
        *,
        base_url: str | None = None,
        catalog: FieldCatalog | None = None,
        limiter: TokenBucket | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.base_url = (base_url or settings.scanner_url).rstrip("/")
        self.catalog = catalog
        self.limiter = limiter or TokenBucket(settings.rate_limit_per_s)
        self.warnings: list[str] = []
        self.http_requests = 0
        self.retries = 0
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout_s),
            headers=_HEADERS,
            transport=transport,
            trust_env=not _is_loopback(self.base_url),
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def validate(self, request: Mapping[str, Any], market: str) -> None:
        """Check the fields of ``request`` for ``market`` (and every market it lists).

        Raises
        ------
        ConfigError
            An unknown column, naming the column and the market.
        """
        if self.catalog is None:
            self._warn("scanner field lists unavailable: screen columns are not validated")
            return
        markets = [str(m) for m in request.get("markets") or []] or [market]
        for message in self.catalog.check_request(request, markets):
            self._warn(message)

    def scan(self, request: Mapping[str, Any], *, market: str | None = None) -> ScanResult:
        """Run a screen: validate it, then fetch every page of its ``range``.

        Parameters
        ----------
        request : mapping
            A ``/scan`` body; ``range`` is the window wanted (everything when absent).
        market : str, optional
            URL market; by default the request's single market, or ``global`` for several.

        Returns
        -------
        ScanResult

        Raises
        ------
        ConfigError
            Unknown column, missing market or bad range (nothing is sent).
        ProviderError
            A 4xx other than 429, a malformed response, or retries exhausted.
        """
        url_market = request_market(request, market)
        columns = request.get("columns")
        if not isinstance(columns, list) or not columns:
            raise ConfigError("screen request needs a non-empty 'columns' list")
        self.validate(request, url_market)
        lo, hi = _window(request)
        body = copy.deepcopy(dict(request))
        before = self.http_requests
        items: list[dict[str, Any]] = []
        total: int | None = None
        offset = lo
        while True:
            stop = hi if total is None else (total if hi is None else min(hi, total))
            if stop is not None and offset >= stop:
                break
            upper = offset + self.settings.page_size
            if stop is not None:
                upper = min(upper, stop)
            body["range"] = [offset, upper]
            page = self.fetch_page(url_market, body, n_columns=len(columns))
            total = page.total_count
            if not page.items:
                break
            items.extend(page.items)
            offset += len(page.items)
        return ScanResult(
            market=url_market,
            columns=tuple(str(c) for c in columns),
            total_count=total or 0,
            items=items,
            requests=self.http_requests - before,
            warnings=list(self.warnings),
        )

    def fetch_page(self, market: str, body: Mapping[str, Any], *, n_columns: int) -> ScanPage:
        """POST one body to ``/<market>/scan`` with rate limit and retries.

        Raises
        ------
        ProviderError
            A non-retryable answer, a malformed response, or retries exhausted.
        """
        url = f"{self.base_url}/{market}/scan"
        retrying = Retrying(
            **retry_options(self.settings, label="scanner", on_retry=self._count_retry)
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._post(url, body, n_columns)
        except TransientError as exc:
            attempts = self.settings.max_retries + 1
            raise ProviderError(f"scanner {url}: failed after {attempts} attempts: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _count_retry(self) -> None:
        self.retries += 1

    def _post(self, url: str, body: Mapping[str, Any], n_columns: int) -> ScanPage:
        self.limiter.acquire()
        self.http_requests += 1
        try:
            response = self._client.post(url, json=body)
        except httpx.TimeoutException as exc:
            raise TransientError(
                f"timed out after {self.settings.timeout_s}s ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise TransientError(f"connection error ({type(exc).__name__}: {exc})") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientError(
                f"HTTP {status}: {_error_text(response)}", retry_after=_retry_after(response)
            )
        if status != 200:
            raise ProviderError(
                f"scanner {url} rejected the request: HTTP {status}: {_error_text(response)}"
            )
        try:
            doc = response.json()
        except ValueError as exc:
            raise TransientError(f"response is not JSON: {response.text[:120]!r}") from exc
        return _parse_page(url, doc, n_columns)


def _error_text(response: httpx.Response) -> str:
    try:
        doc = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(doc, dict) and doc.get("error"):
        return str(doc["error"])
    return response.text[:200]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _parse_page(url: str, doc: Any, n_columns: int) -> ScanPage:
    if not isinstance(doc, dict):
        raise ProviderError(f"scanner {url}: response is not a JSON object")
    total = doc.get("totalCount")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise ProviderError(f"scanner {url}: response without a valid totalCount ({total!r})")
    data = doc.get("data") or []
    if not isinstance(data, list):
        raise ProviderError(f"scanner {url}: 'data' is not a list")
    for index, item in enumerate(data):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("s"), str)
            or not isinstance(item.get("d"), list)
            or len(item["d"]) != n_columns
        ):
            raise ProviderError(
                f"scanner {url}: malformed row {index} (expected {{'s': str, 'd': "
                f"[{n_columns} values]}}): {str(item)[:120]}"
            )
    return ScanPage(total_count=total, items=data)
