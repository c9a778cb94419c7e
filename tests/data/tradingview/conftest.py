"""Fixtures of the TradingView provider tests: fast settings, field lists, loopback servers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from clusterfolio.data.tradingview.fields import FieldCatalog
from clusterfolio.manifest import TradingViewSettings
from tests.fakes.tradingview import FakeChartServer, FakeScannerServer

FAST: dict[str, Any] = {
    "max_retries": 3,
    "backoff_base_s": 0.001,
    "backoff_max_s": 0.01,
    "timeout_s": 2.0,
    "rate_limit_per_s": 10_000.0,
    "concurrency": 4,
}


@pytest.fixture
def make_settings() -> Callable[..., TradingViewSettings]:
    """Settings with tiny backoffs and a high rate limit; keywords override."""

    def make(**overrides: Any) -> TradingViewSettings:
        return TradingViewSettings(**{**FAST, **overrides})

    return make


@pytest.fixture(scope="session")
def tv_dir(shared_data: Path) -> Path:
    """``../shared/data/tradingview`` (skips when absent)."""
    folder = shared_data / "tradingview"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    return folder


@pytest.fixture(scope="session")
def metainfo_dir(tv_dir: Path) -> Path:
    """The real scanner field lists."""
    return tv_dir / "shner-elmo" / "metainfo"


@pytest.fixture(scope="session")
def catalog(metainfo_dir: Path) -> FieldCatalog:
    """The real field lists, loaded once."""
    return FieldCatalog.load(metainfo_dir)


@pytest.fixture(scope="session")
def real_screens(tv_dir: Path) -> list[dict[str, Any]]:
    """The seven real screener request bodies."""
    path = tv_dir / "shner-elmo" / "screeners" / "main_screeners.json"
    screens: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return screens


@pytest.fixture(scope="session")
def captured_packets(tv_dir: Path) -> list[dict[str, Any]]:
    """Packets of the captured websocket session (hello, qsd, quote_completed)."""
    path = tv_dir / "tommy-ca" / "raw_packet_research.json"
    packets: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return packets


@pytest.fixture
def scanner_server(catalog: FieldCatalog) -> Iterator[FakeScannerServer]:
    """Loopback scanner over the default universe, validating with the real field lists."""
    with FakeScannerServer(catalog=catalog) as server:
        yield server


@pytest.fixture
def chart_server() -> Iterator[FakeChartServer]:
    """Loopback chart server: 600 bars per symbol, 100 bars per request, 40 per packet."""
    with FakeChartServer(history=600, max_bars_per_request=100, bars_per_packet=40) as server:
        yield server
