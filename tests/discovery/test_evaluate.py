"""Local evaluation of screens, the scanner run and its summary."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from clusterfolio.discovery.columns import screener_table
from clusterfolio.discovery.evaluate import (
    SCORE_COLUMNS,
    ScanStatus,
    discovery_summary,
    evaluate_screen,
    required_columns,
    run_scanners,
)
from clusterfolio.discovery.screens import Filter2Expression, Filter2Node, Screen, load_screens
from clusterfolio.enums import AssetClass, Direction
from clusterfolio.errors import ConfigError, DataError


@pytest.fixture()
def table() -> pd.DataFrame:
    """A small hand-made screener table (values chosen to hit every edge)."""
    frame = pd.DataFrame(
        {
            "close": [10.0, 20.0, 30.0, np.nan, 50.0],
            "close[1]": [9.0, 21.0, 29.0, 40.0, 49.0],
            "EMA20": [9.5, 20.5, 29.5, 40.0, 51.0],
            "EMA20[1]": [9.5, 20.5, 29.5, 40.0, 51.0],
            "RSI": [25.0, 50.0, 75.0, 50.0, np.nan],
            "sector": ["Tech", "Energy", "Tech", None, "Finance"],
            "typespecs": [["common"], ["etf"], ["common", "reit"], [], np.nan],
            "description": ["Alpha Corp", "beta fund", "Gamma", None, "alphabet"],
            "market": ["america", "america", "america", "america", "crypto"],
            "asset_class": ["equity", "etf", "equity", "equity", "crypto"],
            "type": ["stock", "fund", "stock", "stock", "spot"],
        },
        index=pd.Index(["X:A", "X:B", "X:C", "X:D", "Y:E"], name="symbol"),
    )
    return frame


def _screen(filters: list[dict[str, Any]], **extra: Any) -> Screen:
    body: dict[str, Any] = {"columns": ["close"], "filter": filters, **extra}
    return Screen.from_request(body, name="t")


def _hits(screen: Screen, table: pd.DataFrame) -> list[str]:
    return sorted(evaluate_screen(screen, table).index)


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"left": "close", "operation": "greater", "right": 20}, ["X:C", "Y:E"]),
        ({"left": "close", "operation": "egreater", "right": 20}, ["X:B", "X:C", "Y:E"]),
        ({"left": "close", "operation": "less", "right": 20}, ["X:A"]),
        ({"left": "close", "operation": "eless", "right": 20}, ["X:A", "X:B"]),
        ({"left": "close", "operation": "greater", "right": "EMA20"}, ["X:A", "X:C"]),
        ({"left": "close", "operation": "equal", "right": 30}, ["X:C"]),
        ({"left": "sector", "operation": "equal", "right": "Tech"}, ["X:A", "X:C"]),
        ({"left": "sector", "operation": "nequal", "right": "Tech"}, ["X:B", "Y:E"]),
        ({"left": "close", "operation": "in_range", "right": [15, 30]}, ["X:B", "X:C"]),
        ({"left": "close", "operation": "in_range", "right": ["EMA20", 60]}, ["X:A", "X:C"]),
        ({"left": "close", "operation": "not_in_range", "right": [15, 30]}, ["X:A", "Y:E"]),
        (
            {"left": "sector", "operation": "in_range", "right": ["Tech", "Finance"]},
            ["X:A", "X:C", "Y:E"],
        ),
        ({"left": "sector", "operation": "not_in_range", "right": ["Tech"]}, ["X:B", "Y:E"]),
        ({"left": "close", "operation": "above%", "right": ["EMA20", 1.03]}, ["X:A"]),
        ({"left": "close", "operation": "below%", "right": ["EMA20", 0.99]}, ["X:B", "Y:E"]),
        (
            {"left": "close", "operation": "in_range%", "right": ["EMA20", 0.97, 1.0]},
            ["X:B", "Y:E"],
        ),
        (
            {"left": "close", "operation": "not_in_range%", "right": ["EMA20", 0.97, 1.0]},
            ["X:A", "X:C"],
        ),
        ({"left": "close", "operation": "crosses_above", "right": "EMA20"}, ["X:A", "X:C"]),
        ({"left": "close", "operation": "crosses_below", "right": "EMA20"}, ["X:B"]),
        ({"left": "close", "operation": "crosses", "right": "EMA20"}, ["X:A", "X:B", "X:C"]),
        ({"left": "close", "operation": "crosses_above", "right": 29.5}, ["X:C"]),
        ({"left": "typespecs", "operation": "has", "right": ["reit", "etf"]}, ["X:B", "X:C"]),
        (
            {"left": "typespecs", "operation": "has_none_of", "right": ["etf"]},
            ["X:A", "X:C", "X:D", "Y:E"],
        ),
        ({"left": "description", "operation": "match", "right": "ALPHA"}, ["X:A", "Y:E"]),
        ({"left": "description", "operation": "nmatch", "right": "alpha"}, ["X:B", "X:C"]),
        ({"left": "close", "operation": "empty"}, ["X:D"]),
        ({"left": "RSI", "operation": "nempty"}, ["X:A", "X:B", "X:C", "X:D"]),
    ],
)
def test_operations(table: pd.DataFrame, flt: dict[str, Any], expected: list[str]) -> None:
    assert _hits(_screen([flt]), table) == expected


def test_filter2_tree_and_filter_combine(table: pd.DataFrame) -> None:
    tree = {
        "operator": "or",
        "operands": [
            {"expression": {"left": "sector", "operation": "equal", "right": "Energy"}},
            {
                "operation": {
                    "operator": "and",
                    "operands": [
                        {"expression": {"left": "RSI", "operation": "less", "right": 30}},
                        {"expression": {"left": "sector", "operation": "equal", "right": "Tech"}},
                    ],
                }
            },
        ],
    }
    screen = _screen([{"left": "close", "operation": "nempty"}], filter2=tree)
    assert _hits(screen, table) == ["X:A", "X:B"]


def test_universe_restrictions(table: pd.DataFrame) -> None:
    body = {"columns": ["close"], "markets": ["america"]}
    assert _hits(Screen.from_request(body), table) == ["X:A", "X:B", "X:C", "X:D"]
    equity = Screen.from_request(body, asset_class=AssetClass.EQUITY)
    assert _hits(equity, table) == ["X:A", "X:C", "X:D"]
    crypto = Screen.from_request({"columns": ["close"], "markets": ["crypto"]})
    assert _hits(crypto, table) == ["Y:E"]
    tickers = Screen.from_request({"columns": ["close"], "symbols": {"tickers": ["X:B", "Y:E"]}})
    assert _hits(tickers, table) == ["X:B", "Y:E"]
    types = Screen.from_request({"columns": ["close"], "symbols": {"query": {"types": ["fund"]}}})
    assert _hits(types, table) == ["X:B"]


def test_sort_range_and_columns(table: pd.DataFrame) -> None:
    screen = Screen.from_request(
        {
            "columns": ["RSI", "close"],
            "sort": {"sortBy": "RSI", "sortOrder": "desc"},
            "range": [1, 4],
        }
    )
    out = evaluate_screen(screen, table)
    # RSI desc: C 75, B 50, D 50 (tie by symbol), A 25, E NaN (last); rows 1..3
    assert list(out.index) == ["X:B", "X:D", "X:A"]
    assert list(out.columns) == ["RSI", "close"]
    asc = Screen.from_request({"columns": ["close"], "sort": {"sortBy": "RSI", "sortOrder": "asc"}})
    assert list(evaluate_screen(asc, table).index) == ["X:A", "X:B", "X:D", "X:C", "Y:E"]
    by_text = Screen.from_request({"columns": ["close"], "sort": {"sortBy": "sector"}})
    # sector desc: Tech (A, C by symbol), Finance, Energy, missing last
    assert list(evaluate_screen(by_text, table).index) == ["X:A", "X:C", "Y:E", "X:B", "X:D"]


def test_missing_column_names_the_screen(table: pd.DataFrame) -> None:
    screen = Screen.from_request(
        {"columns": ["close"], "filter": [{"left": "ADX", "operation": "greater", "right": 1}]},
        source="configs/scanners/x/y.json",
    )
    with pytest.raises(DataError, match=r"y\.json.*'ADX'"):
        evaluate_screen(screen, table)
    cross = _screen([{"left": "RSI", "operation": "crosses_above", "right": 50}])
    with pytest.raises(DataError, match=r"RSI\[1\]"):
        evaluate_screen(cross, table)


def test_required_columns_include_previous_bars(scanners_root: Path) -> None:
    screens = load_screens(scanners_root)
    cols = required_columns(screens)
    assert {"close[1]", "EMA20[1]"} <= set(cols)
    assert {"SMA10|1M", "MACD.signal|1W", "Recommend.MA|1M"} <= set(cols)
    assert set(SCORE_COLUMNS) <= set(cols)
    assert len(cols) == len(set(cols))


# ------------------------------------------------------------------------- real data


def _python_filter(row: pd.Series, flt: Any, table: pd.DataFrame) -> bool:
    """Row-by-row evaluation of the operations the project's screens use."""

    def value(x: Any) -> Any:
        return row[x] if isinstance(x, str) and x in table.columns else x

    left, right, op = row[flt.left], flt.right, flt.operation
    if op == "nempty":
        return not (left is None or (isinstance(left, float) and math.isnan(left)))
    if op in ("has",):
        return isinstance(left, list) and bool(set(left) & set(right))
    if op == "equal":
        return left == right
    if isinstance(left, float) and math.isnan(left):
        return False
    if op == "in_range":
        if all(isinstance(v, int | float) for v in right):
            return right[0] <= left <= right[1]
        return left in right
    r = value(right)
    if isinstance(r, float) and math.isnan(r):
        return False
    if op == "greater":
        return bool(left > r)
    if op == "egreater":
        return bool(left >= r)
    if op == "less":
        return bool(left < r)
    if op == "crosses_above":
        prev_l, prev_r = row[f"{flt.left}[1]"], row[f"{right}[1]"]
        return bool(prev_l <= prev_r and left > r)
    raise AssertionError(op)


def _python_tree(row: pd.Series, node: Filter2Node, table: pd.DataFrame) -> bool:
    """Row-by-row evaluation of a ``filter2`` tree."""
    results = [
        _python_filter(row, operand.expression, table)
        if isinstance(operand, Filter2Expression)
        else _python_tree(row, operand.operation, table)
        for operand in node.operands
    ]
    return all(results) if node.operator == "and" else any(results)


def _python_keep(row: pd.Series, screen: Screen, table: pd.DataFrame) -> bool:
    tree = screen.request.filter2
    return all(_python_filter(row, f, table) for f in screen.filters) and (
        tree is None or _python_tree(row, tree, table)
    )


@pytest.fixture(scope="module")
def real_table(
    m6_universe: tuple[dict, dict],
    crypto_universe: tuple[dict, dict],
    fx_universe: tuple[dict, dict],
    scanners_root: Path,
) -> tuple[pd.DataFrame, list[Screen]]:
    candles: dict[str, pd.DataFrame] = {}
    listings: dict[str, Any] = {}
    for c, lst in (m6_universe, crypto_universe, fx_universe):
        candles.update(c)
        listings.update(lst)
    screens = load_screens(scanners_root)
    table = screener_table(candles, listings, required_columns(screens), as_of="2019-09-13")
    return table, screens


def test_project_screens_agree_with_row_by_row_evaluation(
    real_table: tuple[pd.DataFrame, list[Screen]],
) -> None:
    table, screens = real_table
    for screen in screens:
        got = evaluate_screen(screen, table)
        universe = table[
            table["market"].isin(screen.request.markets or [])
            & (table["asset_class"] == str(screen.asset_class))
        ]
        keep = [sym for sym, row in universe.iterrows() if _python_keep(row, screen, table)]
        assert set(got.index) <= set(keep), screen.name
        expected_n = min(len(keep), screen.request.range[1]) if screen.request.range else len(keep)
        assert len(got) == expected_n, screen.name
        sort = screen.request.sort
        if sort is not None and len(got) > 1:
            key = table.loc[got.index, sort.sortBy].to_numpy()
            diffs = np.diff(key)
            assert (diffs <= 0).all() if sort.sortOrder == "desc" else (diffs >= 0).all()


def test_forex_multi_timeframe_screens(fx_universe: tuple[dict, dict], scanners_root: Path) -> None:
    candles, listings = fx_universe
    screens = {s.name: s for s in load_screens(scanners_root) if s.asset_class is AssetClass.FOREX}
    table = screener_table(
        candles, listings, required_columns(screens.values()), as_of="2022-09-30"
    )
    long_ = evaluate_screen(screens["forex_mtf_trend_long"], table)
    short = evaluate_screen(screens["forex_mtf_trend_short"], table)
    # September 2022, the dollar at a 20-year high: long USD/JPY, short EUR/USD and GBP/USD
    assert "FX_IDC:USDJPY" in long_.index
    assert {"FX_IDC:EURUSD", "FX_IDC:GBPUSD"} <= set(short.index)
    assert not set(long_.index) & set(short.index)
    for sym in long_.index:
        row = table.loc[sym]
        assert row["close|1M"] > row["SMA10|1M"]  # monthly trend
        assert row["close|1W"] > row["EMA20|1W"]  # weekly confirmation
        assert 40 <= row["RSI"] <= 70  # daily execution
    for sym in short.index:
        row = table.loc[sym]
        assert row["close|1M"] < row["SMA10|1M"]
        assert row["MACD.macd|1W"] < row["MACD.signal|1W"]
    # the bias twins put every pair with a monthly trend on one side, the confirmed ones inside
    bias_long = set(evaluate_screen(screens["forex_mtf_bias_long"], table).index)
    bias_short = set(evaluate_screen(screens["forex_mtf_bias_short"], table).index)
    trended = table.index[table["close|1M"] != table["SMA10|1M"]]
    trended = trended[table.loc[trended, "SMA10|1M"].notna()]
    assert not bias_long & bias_short
    assert bias_long | bias_short == set(trended)
    assert set(long_.index) <= bias_long and set(short.index) <= bias_short


# ------------------------------------------------------------------------- scanner run


def test_run_scanners_reports_failures_and_goes_on(table: pd.DataFrame) -> None:
    ok = Screen.from_request(
        {"columns": ["close"], "filter": [{"left": "close", "operation": "greater", "right": 15}]},
        name="ok",
        asset_class=AssetClass.EQUITY,
    )
    empty = Screen.from_request(
        {"columns": ["close"], "filter": [{"left": "close", "operation": "greater", "right": 1e9}]},
        name="empty",
        asset_class=AssetClass.EQUITY,
        direction=Direction.SHORT,
    )
    broken = Screen.from_request({"columns": ["ADX"]}, name="broken", asset_class=AssetClass.ETF)
    exports = run_scanners([ok, empty, broken], table, as_of=date(2024, 1, 2), run_id="r1")
    status = {e.scanner: e.status for e in exports}
    assert status == {"ok": ScanStatus.OK, "empty": ScanStatus.EMPTY, "broken": ScanStatus.FAILED}
    failed = exports[2]
    assert "ADX" in failed.error and failed.n_rows == 0
    good = exports[0]
    assert list(good.rows.index) == ["X:C"]
    assert good.meta()["run_id"] == "r1" and good.meta()["as_of"] == "2024-01-02"
    doc = good.to_json_dict()
    json.dumps(doc)
    assert doc["rows"][0]["symbol"] == "X:C"
    frame = good.to_frame()
    assert {"symbol", "scanner", "direction", "asset_class", "run_id", "as_of"} <= set(frame)

    summary = discovery_summary(exports)
    assert summary["scanners"] == 3 and summary["failed"] == 1 and summary["empty"] == 1
    assert summary["candidates"] == 1
    assert summary["by_class_and_direction"] == {
        "equity": {"LONG": 1, "SHORT": 0},
        "etf": {"LONG": 0},
    }
    json.dumps(summary)

    with pytest.raises(DataError) as err:
        run_scanners(
            [broken, broken.model_copy(update={"name": "b2"})],
            table,
            as_of=date.today(),
            run_id="r",
        )
    assert "broken" in str(err.value) and "b2" in str(err.value)
    with pytest.raises(ConfigError):
        run_scanners([], table, as_of=date.today(), run_id="r")


def test_run_scanners_attach_score_columns(
    real_table: tuple[pd.DataFrame, list[Screen]],
) -> None:
    table, screens = real_table
    exports = run_scanners(screens, table, as_of=date(2019, 9, 13), run_id="real")
    assert all(e.status is not ScanStatus.FAILED for e in exports)
    assert sum(e.n_rows for e in exports) > 0
    for screen, e in zip(screens, exports, strict=True):
        assert e.scanner == screen.name and e.direction is screen.direction
        if e.n_rows:
            assert set(SCORE_COLUMNS) <= set(e.rows.columns)
            assert list(e.rows.columns[: len(screen.columns)]) == screen.columns
    summary = discovery_summary(exports)
    assert summary["failed"] == 0
    assert summary["candidates"] == sum(e.n_rows for e in exports)
