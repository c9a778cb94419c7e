"""Baseline and as-of that fit the data: fallback rules, equal-weighted universe, as-of."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterfolio.data.baseline import (
    UNIVERSE_EQUAL_WEIGHT,
    UNIVERSE_SYMBOL,
    default_as_of,
    equal_weight_index,
    plan_files_run,
    resolve_baseline,
)
from clusterfolio.data.files import FilesProvider
from clusterfolio.enums import BaselineFallback, CalendarKind
from clusterfolio.errors import ConfigError
from clusterfolio.manifest import FilesSettings, Settings

SYMBOLS = ["AMEX:IVV", "AMEX:VOO", "NYSE:AAPL", "BINANCE:BTCUSDT"]


def test_configured_baseline_present_is_kept() -> None:
    choice = resolve_baseline("AMEX:IVV", SYMBOLS, BaselineFallback.ERROR, where="x")
    assert choice.symbol == "AMEX:IVV" and not choice.replaced


def test_absent_baseline_error_names_setting_and_candidates() -> None:
    with pytest.raises(ConfigError) as err:
        resolve_baseline("AMEX:SPY", SYMBOLS, BaselineFallback.ERROR, where="the files under /d")
    text = str(err.value)
    assert "backtest.baseline 'AMEX:SPY'" in text and "/d" in text
    assert "AMEX:IVV, AMEX:VOO" in text and UNIVERSE_EQUAL_WEIGHT in text


def test_candidate_fallback_in_broad_market_order() -> None:
    choice = resolve_baseline("AMEX:SPY", SYMBOLS, BaselineFallback.CANDIDATE, where="x")
    assert choice.symbol == "AMEX:IVV" and choice.replaced
    assert choice.candidates == ("AMEX:IVV", "AMEX:VOO") and "using AMEX:IVV" in choice.reason
    with pytest.raises(ConfigError, match="candidates found: none"):
        resolve_baseline("AMEX:SPY", ["NYSE:AAPL"], BaselineFallback.CANDIDATE, where="x")


def test_universe_fallback_and_explicit_universe() -> None:
    crypto = ["BINANCE:BTCUSDT", "BINANCE:ETHUSDT"]
    choice = resolve_baseline("AMEX:SPY", crypto, BaselineFallback.CANDIDATE_OR_UNIVERSE, where="x")
    assert choice.symbol == UNIVERSE_SYMBOL and "equal-weighted universe" in choice.reason
    explicit = resolve_baseline(UNIVERSE_EQUAL_WEIGHT, crypto, BaselineFallback.ERROR, where="x")
    assert explicit.symbol == UNIVERSE_SYMBOL


def test_bare_ticker_matches_its_only_listing() -> None:
    assert resolve_baseline("ivv", SYMBOLS, BaselineFallback.ERROR, where="x").symbol == "AMEX:IVV"


def test_as_of_defaults_to_the_last_session_and_refuses_later_dates() -> None:
    last = date(2022, 4, 13)
    assert default_as_of(last, None, baseline="AMEX:IVV") == last
    assert default_as_of(last, date(2021, 1, 4), baseline="AMEX:IVV") == date(2021, 1, 4)
    with pytest.raises(ConfigError, match=r"after the data ends.*2022-04-13"):
        default_as_of(last, date(2026, 12, 3), baseline="AMEX:IVV")


def test_equal_weight_index_golden() -> None:
    days = pd.bdate_range("2021-01-04", periods=4)
    a = pd.DataFrame({"session": days, "close": [100.0, 110.0, 121.0, 121.0]})
    b = pd.DataFrame({"session": days[1:], "close": [50.0, 45.0, 45.0]})
    index = equal_weight_index({"A": a, "B": b}, {"A": CalendarKind.NYSE, "B": CalendarKind.NYSE})
    # day 2: only A (+10%); day 3: A +10%, B -10% -> 0; day 4: flat
    np.testing.assert_allclose(index["close"].to_numpy(), [100.0, 110.0, 110.0, 110.0], rtol=1e-12)
    assert (index["open"] == index["close"]).all() and (index["volume"] == 0).all()


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(-0.2, 0.2), min_size=3, max_size=20))
def test_equal_weight_index_is_point_in_time(moves: list[float]) -> None:
    """Changing the future of a listing never changes the index before it."""
    days = pd.bdate_range("2021-01-04", periods=len(moves) + 1)
    closes = 100 * np.cumprod([1.0, *(1 + np.asarray(moves))])
    frame = pd.DataFrame({"session": days, "close": closes})
    cut = len(days) // 2
    future = frame.copy()
    future.loc[cut:, "close"] *= 3.0
    other = pd.DataFrame({"session": days, "close": np.linspace(10, 20, len(days))})
    cal = {"A": CalendarKind.NYSE, "B": CalendarKind.NYSE}
    one = equal_weight_index({"A": frame, "B": other}, cal)
    two = equal_weight_index({"A": future, "B": other}, cal)
    np.testing.assert_allclose(one["close"][:cut], two["close"][:cut], rtol=1e-12)


def _folder(tmp: Path, tickers: list[str], end: str = "2022-06-30") -> Path:
    days = pd.bdate_range(end=end, periods=40)
    for i, ticker in enumerate(tickers):
        pd.DataFrame(
            {"date": days.strftime("%Y-%m-%d"), "close": np.linspace(10 + i, 20 + i, len(days))}
        ).to_csv(tmp / f"{ticker}.csv", index=False)
    return tmp


def test_plan_on_a_plain_folder(tmp_path: Path) -> None:
    root = str(_folder(tmp_path, ["VOO", "XYZ"]))
    settings = Settings.model_validate(
        {"data": {"provider": "files", "files": {"root": root, "patterns": ["*.csv"]}}}
    )
    plan = plan_files_run(settings, Path("/"), None)
    assert plan.overrides == ["backtest.baseline=AMEX:VOO", "backtest.baseline_requested=AMEX:SPY"]
    assert plan.as_of == date(2022, 6, 30)
    assert any("last session of the baseline AMEX:VOO" in n for n in plan.notes)
    with pytest.raises(ConfigError, match="after the data ends"):
        plan_files_run(settings, Path("/"), date(2023, 1, 2))


def test_plan_equal_weight_universe(tmp_path: Path) -> None:
    root = _folder(tmp_path, ["ABC", "XYZ"])
    settings = Settings.model_validate(
        {"data": {"files": {"root": str(root), "patterns": ["*.csv"]}}}
    )
    plan = plan_files_run(settings, Path("/"), None)
    assert plan.overrides[0] == f"backtest.baseline={UNIVERSE_SYMBOL}"
    provider = FilesProvider(settings.data.files, Path("/"))
    index = provider.candles(UNIVERSE_SYMBOL, date(2000, 1, 1), date(2100, 1, 1))
    assert len(index) == 38 and index["close"].iloc[0] == 100.0  # NYSE sessions only
    assert provider.metadata(UNIVERSE_SYMBOL).calendar is CalendarKind.NYSE
    assert UNIVERSE_SYMBOL not in {x.symbol for x in provider.listings()}


def test_root_resolved_once_against_the_project(tmp_path: Path) -> None:
    """The manifest's relative root is resolved against the project, once."""
    project = tmp_path / "project"
    project.mkdir()
    data = tmp_path / "shared" / "data"
    data.mkdir(parents=True)
    _folder(data, ["IVV"])
    provider = FilesProvider(FilesSettings(root="../shared/data", patterns=["*.csv"]), project)
    assert provider.root == data.resolve()
    assert [x.symbol for x in provider.listings()] == ["AMEX:IVV"]


@pytest.mark.realdata
def test_m6_plan_uses_ivv_and_its_last_session(shared_data: Path) -> None:
    settings = Settings.model_validate(
        {"data": {"files": {"root": str(shared_data / "etfs/m6_universe"), "patterns": ["**/*"]}}}
    )
    plan = plan_files_run(settings, Path("/"), None)
    assert "backtest.baseline=AMEX:IVV" in plan.overrides
    assert plan.as_of == date(2022, 4, 13)


def test_makefile_data_is_relative_to_the_current_directory(repo_root: Path) -> None:
    """``make daily-run DATA=rel`` passes the folder made absolute from where make runs."""
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(
        ["make", "-n", "--no-print-directory", "daily-run", "PROVIDER=files", "DATA=my/prices"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"data.files.root={repo_root / 'my/prices'}" in out
    assert 'data.files.patterns=["**/*"]' in out and "data.provider=files" in out
