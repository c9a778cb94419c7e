"""What the TradingView clients share: the retry policy and the warnings/closing base."""

from __future__ import annotations

import logging

import pytest
from tenacity import Retrying

from clusterfolio.data.tradingview.client import WarningsClient
from clusterfolio.data.tradingview.retry import TransientError, retry_options
from clusterfolio.errors import ProviderError
from clusterfolio.manifest import TradingViewSettings


class _Client(WarningsClient):
    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_warnings_are_kept_and_logged_once_and_with_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger=__name__), _Client() as client:
        client._warn("field lists unavailable")
        client._warn("field lists unavailable")
        client._warn("other")
    assert client.warnings == ["field lists unavailable", "other"]
    assert [r.getMessage() for r in caplog.records] == ["field lists unavailable", "other"]
    assert {r.name for r in caplog.records} == {__name__}  # the subclass's module logger
    assert client.closed == 1


def test_retry_options_retry_transient_errors_only_counting_and_logging(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = TradingViewSettings(max_retries=2, backoff_base_s=0.0, backoff_max_s=0.0)
    counted: list[int] = []
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise TransientError(f"503 #{len(attempts)}")
        return "ok"

    with caplog.at_level(logging.INFO, logger="clusterfolio.data.tradingview.retry"):
        policy = retry_options(settings, label="scanner", on_retry=lambda: counted.append(1))
        assert Retrying(**policy)(flaky) == "ok"
    assert len(counted) == 2
    assert [r.getMessage() for r in caplog.records] == [
        "scanner retry 1 after: 503 #1",
        "scanner retry 2 after: 503 #2",
    ]

    def permanent() -> str:
        raise ProviderError("permanent")

    with pytest.raises(ProviderError, match="permanent"):  # not transient: raised at once
        Retrying(**policy)(permanent)
    assert len(counted) == 2
