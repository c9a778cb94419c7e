"""One connectivity probe per TradingView provider, with a circuit breaker.

Before its first request to a host (the scanner's, the chart's) the provider opens one TCP
connection to it (a few seconds at most). When one cannot be reached (no network, DNS failure, a refused
port) the circuit opens: that call and every later one raise the same
:class:`~clusterfolio.errors.ProviderError` at once, instead of each scanner and each symbol
retrying for tens of seconds. Nothing was asked, so the lakehouse is untouched.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from clusterfolio.errors import ProviderError

__all__ = ["PROBE_TIMEOUT_S", "Reachability"]

#: Longest wait for one probe connection (seconds).
PROBE_TIMEOUT_S = 5.0
_DEFAULT_PORTS = {"https": 443, "wss": 443, "http": 80, "ws": 80}


class Reachability:
    """The probe and its circuit breaker.

    Parameters
    ----------
    urls : sequence of str
        Endpoints the provider talks to (``https://...``, ``wss://...``).
    timeout_s : float
        Longest wait for each connection.
    """

    def __init__(self, urls: Sequence[str], timeout_s: float = PROBE_TIMEOUT_S) -> None:
        self.urls = list(urls)
        self.timeout_s = timeout_s
        self.error = ""
        self.reached: set[tuple[str, int]] = set()

    @property
    def open(self) -> bool:
        """Whether the circuit is open (the probe failed)."""
        return bool(self.error)

    def check(self, which: int = 0) -> None:
        """Probe endpoint ``which`` of :attr:`urls` once; after any failed probe, every call
        raises that probe's error (the circuit is open)."""
        if self.error:
            raise ProviderError(self.error)
        host, port = _host_port(self.urls[which])
        if (host, port) in self.reached:
            return
        try:
            socket.create_connection((host, port), timeout=self.timeout_s).close()
        except OSError as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            self.error = (
                f"TradingView unreachable: cannot connect to {host}:{port} ({reason}); "
                "no network? Stopped before any request: the lakehouse is untouched"
            )
            raise ProviderError(self.error) from None
        self.reached.add((host, port))


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or _DEFAULT_PORTS.get(parts.scheme, 443)
