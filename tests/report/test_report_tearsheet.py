"""Tear sheets: QuantStats statistics on Series (never a download), and the fallback."""

from __future__ import annotations

import math
import socket
from typing import Any

import numpy as np
import pandas as pd
import pytest

from clusterfolio.backtest.metrics import summary_metrics
from clusterfolio.report.tearsheet import render_tearsheet, tearsheet_name, tearsheet_stats


def _series() -> tuple[pd.Series, pd.Series]:
    days = pd.date_range("2025-01-01", periods=420, freq="D")
    rng = np.random.default_rng(5)
    bench = pd.Series(rng.normal(0.0004, 0.01, len(days)), index=days)
    bench[days.dayofweek >= 5] = np.nan
    strategy = pd.Series(rng.normal(0.0003, 0.008, len(days)), index=days)
    strategy += 0.5 * bench.fillna(0.0)
    strategy.iloc[:5] = np.nan  # before the first test window
    return strategy, bench


def test_name() -> None:
    assert tearsheet_name("custom", "hrp", "realized") == "custom_hrp_realized.md"


def test_fallback_statistics_are_the_project_metrics() -> None:
    strategy, bench = _series()
    stats = tearsheet_stats(strategy, bench, 365, use_quantstats=False)
    expected = summary_metrics(strategy, periods=365)
    for key in (
        "cagr",
        "volatility",
        "sharpe",
        "sortino",
        "calmar",
        "max_drawdown",
        "total_return",
    ):
        assert stats.strategy[key] == pytest.approx(expected[key], rel=1e-12)
    assert math.isnan(stats.strategy["skew"])
    assert stats.source == "clusterfolio"
    assert stats.n_sessions == strategy.notna().sum()
    text = render_tearsheet(
        "custom × hrp × realized",
        strategy,
        bench,
        365,
        benchmark_name="AMEX:SPY",
        use_quantstats=False,
    )
    assert "QuantStats is not installed" in text
    assert "| Skew | n/a |" in text


@pytest.mark.slow
def test_quantstats_statistics_on_series_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slow only because importing QuantStats (and seaborn, scipy.stats) takes seconds."""
    pytest.importorskip("quantstats")

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a tear sheet tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    strategy, bench = _series()
    stats = tearsheet_stats(strategy, bench, 365, use_quantstats=True)
    assert stats.source == "quantstats"
    expected = summary_metrics(strategy, periods=365)
    for key in ("cagr", "volatility", "sharpe", "sortino", "max_drawdown", "total_return"):
        assert stats.strategy[key] == pytest.approx(expected[key], rel=1e-9), key
    span = bench.dropna()
    span = span[(span.index >= strategy.dropna().index[0]) & (span.index <= strategy.index[-1])]
    wealth = (1 + strategy.dropna()).cumprod()
    p = (
        wealth.reindex(span.index, method="ffill")
        / wealth.reindex(span.index, method="ffill").shift(1)
        - 1
    ).iloc[1:]
    b = span.iloc[1:]
    assert stats.relative["beta"] == pytest.approx(
        np.cov(p, b, ddof=1)[0, 1] / np.var(b, ddof=1), rel=1e-9
    )
    assert stats.relative["correlation"] == pytest.approx(np.corrcoef(p, b)[0, 1], rel=1e-9)
    assert stats.relative["r_squared"] == pytest.approx(np.corrcoef(p, b)[0, 1] ** 2, rel=1e-6)
    text = render_tearsheet(
        "custom × hrp × realized",
        strategy,
        bench,
        365,
        benchmark_name="AMEX:SPY",
        use_quantstats=True,
    )
    assert "statistics: `quantstats.stats`" in text
    assert "## Monthly returns" in text and "## Worst drawdowns" in text
