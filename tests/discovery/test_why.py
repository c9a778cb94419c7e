"""Why a screen returned nothing, in one line."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clusterfolio.discovery.screens import Screen
from clusterfolio.discovery.why import why_empty


def _screen(filters: list[dict[str, object]], markets: list[str] | None = None) -> Screen:
    return Screen.model_validate(
        {
            "name": "s",
            "asset_class": "equity",
            "request": {
                "markets": markets or ["america"],
                "columns": ["close"],
                "filter": filters,
            },
        }
    )


def _table(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "close": np.linspace(10, 40, n),
            "market_cap_basic": np.nan,
            "RSI": [60.0] * n,
            "market": "america",
            "asset_class": "equity",
        },
        index=pd.Index([f"NYSE:T{i}" for i in range(n)], name="symbol"),
    )


def test_a_field_absent_for_every_listing_is_named() -> None:
    screen = _screen([{"left": "market_cap_basic", "operation": "greater", "right": 1e9}])
    assert why_empty(screen, _table()) == "needs market_cap_basic: absent for 4 of 4 listings"


def test_an_empty_universe_is_named() -> None:
    screen = _screen([{"left": "close", "operation": "greater", "right": 1}], ["crypto"])
    assert why_empty(screen, _table()).startswith("no listing in its universe (markets ['crypto']")


def test_the_filter_that_leaves_none_is_named() -> None:
    screen = _screen(
        [
            {"left": "close", "operation": "greater", "right": 15},
            {"left": "RSI", "operation": "less", "right": 30},
        ]
    )
    assert why_empty(screen, _table()) == (
        "filter RSI less 30 leaves none of the 4 listings in its universe"
    )


def test_the_filter2_tree_that_leaves_none_is_described() -> None:
    screen = Screen.model_validate(
        {
            "name": "s",
            "asset_class": "equity",
            "request": {
                "markets": ["america"],
                "columns": ["close"],
                "filter2": {
                    "operator": "or",
                    "operands": [
                        {"expression": {"left": "RSI", "operation": "less", "right": 30}},
                        {"expression": {"left": "close", "operation": "greater", "right": 99}},
                    ],
                },
            },
        }
    )
    assert why_empty(screen, _table()) == (
        "filter2 (RSI less 30 or close greater 99) leaves none of the 4 listings that pass its "
        "other filters (4 in its universe)"
    )
