"""Screens: TradingView request grammar, the project's scanner files, inheritance, validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clusterfolio.discovery.screens import (
    META_KEYS,
    OPERATIONS,
    Screen,
    load_screen,
    load_screens,
    merge_screen_dicts,
)
from clusterfolio.enums import AssetClass, Direction
from clusterfolio.errors import ConfigError


def _write(path: Path, obj: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


# ------------------------------------------------------------------------- real bodies


def test_every_real_scan_body_round_trips(shared_data: Path) -> None:
    bodies = json.loads(
        (
            shared_data / "tradingview" / "shner-elmo" / "screeners" / "main_screeners.json"
        ).read_text()
    )
    assert len(bodies) == 7
    for item in bodies:
        screen = Screen.from_request(item["query"], name=item["name"])
        assert screen.to_request() == item["query"], item["name"]
        again = Screen.from_request(screen.to_request(), name=item["name"])
        assert again.request == screen.request


def test_real_bodies_use_supported_operations(shared_data: Path) -> None:
    bodies = json.loads(
        (
            shared_data / "tradingview" / "shner-elmo" / "screeners" / "main_screeners.json"
        ).read_text()
    )
    ops = set()
    for item in bodies:
        screen = Screen.from_request(item["query"], name=item["name"])
        ops |= {e.operation for e in screen.expressions()}
    assert ops == {"equal", "in_range", "has", "has_none_of"}
    assert ops <= OPERATIONS


# ------------------------------------------------------------------------- project files


def test_project_scanners_load(scanners_root: Path) -> None:
    screens = load_screens(scanners_root)
    by_class: dict[AssetClass | None, list[Screen]] = {}
    for s in screens:
        by_class.setdefault(s.asset_class, []).append(s)
    for klass in (
        AssetClass.EQUITY,
        AssetClass.ETF,
        AssetClass.BOND,
        AssetClass.COMMODITY,
        AssetClass.CRYPTO,
        AssetClass.FOREX,
    ):
        assert len(by_class[klass]) >= 2, klass
        assert {s.direction for s in by_class[klass]} == {Direction.LONG, Direction.SHORT}
    forex = by_class[AssetClass.FOREX]
    for s in forex:
        assert set(s.timeframes) == {"1D", "1W", "1M"}
        suffixes = {c.rsplit("|", 1)[1] for c in s.referenced_columns() if "|" in c}
        assert suffixes == {"1W", "1M"}
    for s in screens:
        body = s.to_request()
        assert not META_KEYS & set(body)
        assert body["markets"] and body["columns"] and body["range"]
        assert Screen.from_request(body, name=s.name).request == s.request
        assert s.source is not None and s.source.endswith(".json")


def test_scanner_names_filter(scanners_root: Path) -> None:
    chosen = load_screens(scanners_root, ["crypto_momentum_long", "forex_mtf_trend_short"])
    assert [s.name for s in chosen] == ["crypto_momentum_long", "forex_mtf_trend_short"]
    with pytest.raises(ConfigError, match="unknown scanner"):
        load_screens(scanners_root, ["nope"])


def test_presets_are_inherited(scanners_root: Path) -> None:
    screen = load_screen(scanners_root / "equities" / "trend_long.json")
    body = screen.to_request()
    assert body["options"] == {"lang": "en"}  # from base/common
    assert body["markets"] == ["america"]  # from base/equities
    lefts = [f["left"] for f in body["filter"]]
    assert lefts[:4] == ["type", "typespecs", "close", "Value.Traded"]  # preset filters first
    assert "SMA50" in lefts  # then the file's own (filter+)
    assert body["range"] == [0, 200]  # the file's value replaces the preset's
    assert "market_cap_basic" in body["columns"]  # columns+ from base/equities


# ------------------------------------------------------------------------- inheritance rules


def test_merge_rules() -> None:
    base = {"options": {"lang": "en", "x": 1}, "columns": ["a", "b"], "filter": [{"k": 1}]}
    child = {"options": {"x": 2}, "columns+": ["b", "c"], "filter": [{"k": 2}]}
    merged = merge_screen_dicts(base, child)
    assert merged == {
        "options": {"lang": "en", "x": 2},
        "columns": ["a", "b", "c"],
        "filter": [{"k": 2}],
    }
    assert base["columns"] == ["a", "b"]  # inputs untouched
    appended = merge_screen_dicts(base, {"filter+": [{"k": 3}]})
    assert appended["filter"] == [{"k": 1}, {"k": 3}]
    with pytest.raises(ConfigError, match="must be a list"):
        merge_screen_dicts(base, {"filter+": {"k": 3}})


def test_extends_chain_and_errors(tmp_path: Path) -> None:
    _write(tmp_path / "base" / "a.json", {"columns": ["close"], "markets": ["crypto"]})
    _write(tmp_path / "base" / "b.json", {"extends": "base/a", "range": [0, 10]})
    path = _write(tmp_path / "crypto" / "x.json", {"extends": "base/b", "name": "x"})
    screen = load_screen(path, tmp_path)
    assert screen.to_request() == {"columns": ["close"], "markets": ["crypto"], "range": [0, 10]}
    assert screen.asset_class is AssetClass.CRYPTO  # from the folder name

    _write(tmp_path / "base" / "c1.json", {"extends": "base/c2"})
    _write(tmp_path / "base" / "c2.json", {"extends": "base/c1"})
    cyc = _write(tmp_path / "crypto" / "cyc.json", {"extends": "base/c1", "columns": ["close"]})
    with pytest.raises(ConfigError, match="cycle"):
        load_screen(cyc, tmp_path)
    missing = _write(tmp_path / "crypto" / "m.json", {"extends": "base/none", "columns": ["x"]})
    with pytest.raises(ConfigError, match="does not exist"):
        load_screen(missing, tmp_path)


# ------------------------------------------------------------------------- validation


def test_typo_names_file_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path / "crypto" / "bad.json", {"columns": ["close"], "colums": ["x"]})
    with pytest.raises(ConfigError) as err:
        load_screen(path, tmp_path)
    assert str(path) in str(err.value) and "colums: unknown key" in str(err.value)

    nested = _write(
        tmp_path / "crypto" / "bad2.json",
        {"columns": ["close"], "sort": {"sortby": "close"}},
    )
    with pytest.raises(ConfigError) as err:
        load_screen(nested, tmp_path)
    assert str(nested) in str(err.value) and "sort.sortby" in str(err.value)


def test_unknown_operation_names_file_and_filter(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "equities" / "op.json",
        {
            "columns": ["close"],
            "filter": [
                {"left": "close", "operation": "greater", "right": 1},
                {"left": "RSI", "operation": "grater", "right": 50},
            ],
        },
    )
    with pytest.raises(ConfigError) as err:
        load_screen(path, tmp_path)
    text = str(err.value)
    assert str(path) in text
    assert "filter.1.operation" in text and "'RSI'" in text and "grater" in text


def test_operation_aliases_are_written_in_tradingview_spelling() -> None:
    screen = Screen.from_request(
        {
            "columns": ["close"],
            "filter": [
                {"left": "sector", "operation": "in", "right": ["Major"]},
                {"left": "close", "operation": "not_equal", "right": 0},
                {"left": "x", "operation": "not_in", "right": [1]},
            ],
        }
    )
    ops = [f["operation"] for f in screen.to_request()["filter"]]
    assert ops == ["in_range", "nequal", "not_in_range"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"columns": ["close"], "markets": ["mars"]}, "unknown market"),
        ({"columns": ["close"], "range": [10, 5]}, "range"),
        ({"columns": []}, "columns"),
        (
            {"columns": ["c"], "filter": [{"left": "c", "operation": "above%", "right": 1}]},
            "above%",
        ),
        (
            {"columns": ["c"], "filter": [{"left": "c", "operation": "in_range", "right": 1}]},
            "list",
        ),
        ({"columns": ["c"], "sort": {"sortBy": "c", "sortOrder": "up"}}, "sortOrder"),
    ],
)
def test_invalid_bodies(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Screen.from_request(body, source="inline.json")


def test_timeframes_must_be_declared(tmp_path: Path) -> None:
    body = {"columns": ["close", "close|1W"], "asset_class": "forex"}
    path = _write(tmp_path / "forex" / "tf.json", body)
    with pytest.raises(ConfigError, match="timeframes"):
        load_screen(path, tmp_path)
    ok = _write(tmp_path / "forex" / "tf2.json", {**body, "timeframes": ["1D", "1W"]})
    assert load_screen(ok, tmp_path).timeframes == ["1D", "1W"]
    bad = _write(tmp_path / "forex" / "tf3.json", {**body, "timeframes": ["1D", "4H"]})
    with pytest.raises(ConfigError, match="unsupported"):
        load_screen(bad, tmp_path)


def test_meta_validation(tmp_path: Path) -> None:
    path = _write(tmp_path / "misc" / "x.json", {"columns": ["close"]})
    with pytest.raises(ConfigError, match="asset_class: required"):
        load_screen(path, tmp_path)
    bad_dir = _write(
        tmp_path / "crypto" / "d.json", {"columns": ["close"], "direction": "SIDEWAYS"}
    )
    with pytest.raises(ConfigError, match="direction"):
        load_screen(bad_dir, tmp_path)
    bad_json = tmp_path / "crypto" / "j.json"
    bad_json.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_screen(bad_json, tmp_path)


def test_duplicate_names_and_missing_folder(tmp_path: Path) -> None:
    _write(tmp_path / "crypto" / "a.json", {"columns": ["close"], "name": "same"})
    _write(tmp_path / "forex" / "b.json", {"columns": ["close"], "name": "same"})
    with pytest.raises(ConfigError, match="used by"):
        load_screens(tmp_path)
    with pytest.raises(ConfigError, match="not found"):
        load_screens(tmp_path / "nowhere")


def test_referenced_columns() -> None:
    screen = Screen.from_request(
        {
            "columns": ["close"],
            "filter": [
                {"left": "close", "operation": "crosses_above", "right": "EMA20"},
                {"left": "close", "operation": "above%", "right": ["SMA50", 1.02]},
            ],
            "sort": {"sortBy": "Perf.1M", "sortOrder": "desc"},
        }
    )
    assert screen.referenced_columns() == ["close", "EMA20", "SMA50", "Perf.1M"]
