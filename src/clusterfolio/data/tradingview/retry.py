"""Retry policy shared by the scanner and the chart clients (tenacity)."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from tenacity import RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.stop import stop_base

from clusterfolio.errors import ProviderError
from clusterfolio.manifest import TradingViewSettings

logger = logging.getLogger(__name__)


class TransientError(ProviderError):
    """A failure worth retrying: 429, 5xx, timeout, dropped connection, malformed frame.

    Parameters
    ----------
    message : str
        What happened (names the symbol or the URL).
    retry_after : float, optional
        Seconds the server asked to wait (``Retry-After``).
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def backoff_wait(settings: TradingViewSettings) -> Callable[[RetryCallState], float]:
    """Return the wait between attempts.

    Exponential backoff with jitter: ``backoff_base_s * 2**(attempt - 1) + U(0, backoff_base_s)``,
    at least the server's ``Retry-After`` when it sent one, and never more than ``backoff_max_s``.
    """
    base = settings.backoff_base_s
    jitter = random.Random()  # jitter only: decorrelates clients, never seeds a result

    def wait(state: RetryCallState) -> float:
        exponent = min(state.attempt_number - 1, 60)
        seconds = base * 2.0**exponent + jitter.uniform(0.0, base)
        exc = state.outcome.exception() if state.outcome is not None else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            seconds = max(seconds, float(retry_after))
        return min(seconds, settings.backoff_max_s)

    return wait


def stop_policy(settings: TradingViewSettings) -> stop_base:
    """Stop after ``max_retries`` retries (``max_retries + 1`` attempts)."""
    return stop_after_attempt(settings.max_retries + 1)


def retry_options(
    settings: TradingViewSettings, *, label: str, on_retry: Callable[[], None]
) -> dict[str, Any]:
    """Return the keyword arguments of ``tenacity.Retrying`` and ``AsyncRetrying``.

    Retries :class:`TransientError` only, waits :func:`backoff_wait`, stops at
    :func:`stop_policy` and re-raises the last error. Before each sleep, ``on_retry()`` counts
    the retry and it is logged at INFO as ``"<label> retry <n> after: <error>"``.
    """

    def before_sleep(state: RetryCallState) -> None:
        on_retry()
        exc = state.outcome.exception() if state.outcome is not None else None
        logger.info("%s retry %d after: %s", label, state.attempt_number, exc)

    return {
        "stop": stop_policy(settings),
        "wait": backoff_wait(settings),
        "retry": retry_if_exception_type(TransientError),
        "before_sleep": before_sleep,
        "reraise": True,
    }
