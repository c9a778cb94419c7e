"""A thread-safe token bucket shared by the scanner requests and the chart connections."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Token bucket: ``rate`` tokens per second, at most ``capacity`` saved up.

    Each request takes one token; when none is left the caller waits until one has accrued.
    Waits are reserved under a lock (the token count may go negative), so concurrent callers
    from threads or tasks are served in order and the long-run rate never exceeds ``rate``.

    Parameters
    ----------
    rate : float
        Tokens per second (> 0).
    capacity : float, optional
        Burst size; ``max(1, rate)`` when omitted.
    clock : callable, optional
        Monotonic clock in seconds (for tests); :func:`time.monotonic` by default.
    """

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = float(rate)
        self.capacity = float(capacity) if capacity is not None else max(1.0, self.rate)
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def reserve(self) -> float:
        """Take one token and return how long the caller must wait before using it (seconds)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
            self.waited_s += wait
            return wait

    def acquire(self) -> None:
        """Take one token, sleeping the thread when the bucket is empty."""
        wait = self.reserve()
        if wait > 0:
            time.sleep(wait)

    async def acquire_async(self) -> None:
        """Take one token, sleeping the task when the bucket is empty."""
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)
