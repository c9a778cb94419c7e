"""Fixtures of the selection tests (the builders live in ``selection_market``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from selection_market import Market, build_market

from clusterfolio.manifest import SelectionSettings


@pytest.fixture
def market_factory() -> Callable[..., Market]:
    """:func:`build_market`."""
    return build_market


@pytest.fixture
def three_blocks() -> Market:
    """Three factor blocks: five equities, four crypto coins, three bond funds (all LONG)."""
    return build_market(
        [
            [(f"NASDAQ:EQ{i}", "LONG") for i in range(5)],
            [(f"BINANCE:C{i}USDT", "LONG") for i in range(4)],
            [(f"AMEX:B{i}", "LONG") for i in range(3)],
        ]
    )


@pytest.fixture
def settings() -> SelectionSettings:
    """Default selection settings."""
    return SelectionSettings()
