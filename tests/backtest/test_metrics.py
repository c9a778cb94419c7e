"""Metrics agree with QuantStats (same ``periods``) to 1e-10; tear-sheet tables by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from clusterfolio.backtest.metrics import (
    MONTHS,
    annual_returns,
    drawdown_series,
    drawdown_table,
    monthly_returns_matrix,
    periods_per_year,
    summary_metrics,
)
from clusterfolio.enums import CalendarKind
from clusterfolio.errors import ConfigError, DataError

RTOL = 1e-10


def _series(n: int, seed: int, *, daily: bool = False, drift: float = 0.0004) -> pd.Series:
    rng = np.random.default_rng(seed)
    index = (
        pd.date_range("2021-01-01", periods=n) if daily else pd.bdate_range("2021-01-01", periods=n)
    )
    return pd.Series(rng.normal(drift, 0.012, n), index=index, name="portfolio")


@pytest.mark.parametrize(
    ("n", "seed", "periods", "daily", "drift"),
    [
        (504, 1, 252, False, 0.0004),
        (730, 2, 365, True, 0.0002),
        (260, 3, 260, False, -0.0008),  # a losing series
        (37, 4, 252, False, 0.001),  # shorter than a year
    ],
)
def test_summary_agrees_with_quantstats(
    n: int, seed: int, periods: int, daily: bool, drift: float
) -> None:
    qs = pytest.importorskip("quantstats")
    returns = _series(n, seed, daily=daily, drift=drift)
    returns.iloc[5] = np.nan  # a missing observation is ignored by both
    ours = summary_metrics(returns, periods=periods)
    expected = {
        "cagr": qs.stats.cagr(returns, periods=periods),
        "volatility": qs.stats.volatility(returns, periods=periods),
        "sharpe": qs.stats.sharpe(returns, rf=0.0, periods=periods),
        "sortino": qs.stats.sortino(returns, rf=0.0, periods=periods),
        "max_drawdown": qs.stats.max_drawdown(returns),
        "calmar": qs.stats.calmar(returns, periods=periods),
    }
    for key, value in expected.items():
        assert ours[key] == pytest.approx(float(value), rel=RTOL, abs=1e-14), key
    assert ours["total_return"] == pytest.approx(float(qs.stats.comp(returns)), rel=RTOL)
    assert ours["n_periods"] == n - 1


def test_max_drawdown_counts_a_first_day_loss() -> None:
    returns = pd.Series([-0.10, 0.05, 0.02], index=pd.bdate_range("2024-01-01", periods=3))
    assert summary_metrics(returns, periods=252)["max_drawdown"] == pytest.approx(-0.10)


def test_degenerate_series_give_nan() -> None:
    flat = pd.Series(0.001, index=pd.bdate_range("2024-01-01", periods=10))
    out = summary_metrics(flat, periods=252)
    assert out["volatility"] == pytest.approx(0.0, abs=1e-15)
    assert math.isnan(out["sortino"])  # no negative return
    assert math.isnan(out["calmar"])  # no drawdown
    assert out["max_drawdown"] == 0.0
    with pytest.raises(ConfigError, match="periods"):
        summary_metrics(flat, periods=0)
    with pytest.raises(DataError, match="infinite"):
        summary_metrics(pd.Series([0.1, np.inf]), periods=252)


def test_turnover_costs_and_window_win_rate() -> None:
    index = pd.bdate_range("2024-01-01", periods=6)
    returns = pd.Series([0.01, 0.01, -0.05, 0.01, 0.02, 0.0], index=index)
    windows = [(index[0], index[1]), (index[2], index[3]), (index[4], index[5])]
    out = summary_metrics(
        returns,
        periods=252,
        turnover=[0.5, 0.1, 0.2],
        costs=[0.0006, 0.0001, 0.0002],
        windows=windows,
    )
    assert out["turnover_total"] == pytest.approx(0.8)
    assert out["turnover_mean"] == pytest.approx(0.8 / 3)
    assert out["turnover_annual"] == pytest.approx(0.8 * 252 / 6)
    assert out["costs_total"] == pytest.approx(0.0009)
    assert out["n_windows"] == 3
    assert out["window_win_rate"] == pytest.approx(2 / 3)


def test_periods_per_year() -> None:
    assert periods_per_year([CalendarKind.NYSE, "XNYS"]) == 252
    assert periods_per_year([CalendarKind.CRYPTO_24_7]) == 365
    assert periods_per_year(CalendarKind.CRYPTO_24_7) == 365
    assert periods_per_year([CalendarKind.FOREX_24_5]) == 260
    mixed = [CalendarKind.NYSE, CalendarKind.CRYPTO_24_7]
    with pytest.raises(ConfigError, match="mixed"):
        periods_per_year(mixed)
    every_day = pd.date_range("2022-01-01", "2023-12-31")
    assert periods_per_year(mixed, index=every_day) == 365
    assert periods_per_year(pd.bdate_range("2022-01-03", "2023-12-29")) == 261
    with pytest.raises(ConfigError, match="unknown calendar"):
        periods_per_year(["MOON"])
    with pytest.raises(DataError, match="2 sessions"):
        periods_per_year(pd.DatetimeIndex(["2024-01-02"]))


def test_periods_per_year_of_an_exchange_calendar() -> None:
    xcals = pytest.importorskip("exchange_calendars")
    sessions = xcals.get_calendar("XNYS").sessions_in_range("2022-01-03", "2023-12-29")
    assert periods_per_year(pd.DatetimeIndex(sessions.tz_localize(None))) == 252


def test_monthly_and_annual_returns_agree_with_quantstats() -> None:
    qs = pytest.importorskip("quantstats")
    returns = _series(504, 7)  # two full calendar years of business days
    matrix = monthly_returns_matrix(returns)
    assert list(matrix.columns) == list(MONTHS)
    assert list(matrix.index) == [2021, 2022]
    reference = qs.stats.monthly_returns(returns, eoy=True, compounded=True)
    for year in matrix.index:
        for month in MONTHS:
            assert matrix.loc[year, month] == pytest.approx(
                float(reference.loc[str(year), month.upper()]), rel=RTOL, abs=1e-15
            )
    yearly = annual_returns(returns)
    for year in yearly.index:
        assert yearly[year] == pytest.approx(float(reference.loc[str(year), "EOY"]), rel=RTOL)
    # by hand for January 2021
    index = pd.DatetimeIndex(returns.index)
    january = returns[(index.year == 2021) & (index.month == 1)]
    assert matrix.loc[2021, "Jan"] == pytest.approx(float(np.prod(1 + january) - 1), rel=1e-12)


def test_monthly_matrix_leaves_months_without_sessions_nan() -> None:
    index = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-03-01"])
    matrix = monthly_returns_matrix(pd.Series([0.1, 0.1, -0.2], index=index))
    assert matrix.loc[2024, "Jan"] == pytest.approx(0.21)
    assert matrix.isna().loc[2024, "Feb"]
    assert matrix.loc[2024, "Mar"] == pytest.approx(-0.2)


def test_drawdown_table_by_hand() -> None:
    index = pd.bdate_range("2024-01-01", periods=9)
    returns = pd.Series([0.10, -0.10, -0.10, 0.30, 0.0, -0.05, 0.01, 0.01, -0.20], index=index)
    table = drawdown_table(returns, top=5)
    assert list(table.columns) == ["start", "trough", "end", "depth", "length", "recovered"]
    # wealth: 1.1, .99, .891, 1.1583 (new high), 1.1583, 1.100385, 1.111389, 1.122503, .898002
    first_depth = 0.891 / 1.1 - 1
    last_depth = 1.1583 * 0.95 * 1.01 * 1.01 * 0.8 / 1.1583 - 1
    assert len(table) == 2
    deepest = table.iloc[0]
    assert deepest["depth"] == pytest.approx(last_depth, rel=1e-12)
    assert deepest["start"] == index[5]
    assert deepest["trough"] == index[8]
    assert pd.isna(deepest["end"])
    assert not deepest["recovered"]
    assert deepest["length"] == 4
    second = table.iloc[1]
    assert second["depth"] == pytest.approx(first_depth, rel=1e-12)
    assert (second["start"], second["trough"], second["end"]) == (index[1], index[2], index[3])
    assert second["length"] == 2
    assert bool(second["recovered"])
    assert drawdown_table(returns, top=1).shape[0] == 1
    assert drawdown_series(returns).min() == pytest.approx(last_depth, rel=1e-12)


def test_drawdown_table_deepest_matches_quantstats() -> None:
    qs = pytest.importorskip("quantstats")
    returns = _series(300, 9)
    table = drawdown_table(returns, top=3)
    assert table["depth"].iloc[0] == pytest.approx(float(qs.stats.max_drawdown(returns)), rel=RTOL)
    assert table["depth"].is_monotonic_increasing
    empty = drawdown_table(pd.Series([0.01, 0.02], index=pd.bdate_range("2024-01-01", periods=2)))
    assert empty.empty
