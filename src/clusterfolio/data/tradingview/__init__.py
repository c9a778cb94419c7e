"""The ``tradingview`` provider: TradingView's scanner (HTTP) and chart (websocket) protocols.

Modules
-------
protocol
    Chart framing ``~m~<len>~m~<payload>``, heartbeats and session messages.
fields
    Scanner field lists per market and request validation.
client
    What the scanner client and the provider share: ``with`` closes, warnings logged once.
retry
    The retry policy of the scanner and the chart clients (tenacity).
scanner
    ``POST /<market>/scan`` client: paging, rate limit, retries.
chart
    Daily candles over the chart websocket: chunks, concurrency, retries.
listing
    Listing metadata from scanner rows.
provider
    :class:`TradingViewProvider`, the :class:`~clusterfolio.data.provider.Provider`.
testing
    Loopback scanner and chart servers with fault injection (tests and benchmarks).
"""

from __future__ import annotations

from clusterfolio.data.tradingview.provider import TradingViewProvider

__all__ = ["TradingViewProvider"]
