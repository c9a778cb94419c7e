"""Portfolio statistics and regime attribution, checked by hand on small series."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from clusterfolio.errors import DataError
from clusterfolio.report.analytics import (
    UNLABELLED,
    attribute_regimes,
    beta_correlation,
    compound_to_sessions,
    portfolio_returns,
    regime_attribution,
    series_volatility,
    smallest_cover,
    top_share,
)


def _market() -> pd.DataFrame:
    days = pd.date_range("2026-01-01", periods=60, freq="D")
    rng = np.random.default_rng(3)
    spy = pd.Series(rng.normal(0, 0.01, len(days)), index=days)
    spy[days.dayofweek >= 5] = np.nan
    btc = pd.Series(rng.normal(0, 0.03, len(days)), index=days)
    return pd.DataFrame({"AMEX:SPY": spy, "BINANCE:BTC": btc})


def test_portfolio_returns_keep_sessions_where_a_held_asset_traded() -> None:
    frame = _market()
    only_spy = portfolio_returns(frame, {"AMEX:SPY": 0.5, "BINANCE:BTC": 0.0})
    assert len(only_spy) == frame["AMEX:SPY"].notna().sum()
    np.testing.assert_allclose(only_spy.to_numpy(), 0.5 * frame["AMEX:SPY"].dropna().to_numpy())
    both = portfolio_returns(frame, {"AMEX:SPY": 0.5, "BINANCE:BTC": -0.5})
    assert len(both) == len(frame)
    index = pd.DatetimeIndex(frame.index)
    saturday = index[index.dayofweek == 5][0]
    assert both[saturday] == pytest.approx(-0.5 * float(frame["BINANCE:BTC"][saturday]), rel=1e-12)
    with pytest.raises(DataError, match="absent"):
        portfolio_returns(frame, {"NYSE:NOPE": 1.0})


def test_compounding_onto_benchmark_sessions() -> None:
    index = pd.DatetimeIndex(["2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"])
    series = pd.Series([0.01, 0.02, -0.01, 0.03], index=index)
    sessions = pd.DatetimeIndex(["2026-01-02", "2026-01-05"])
    out = compound_to_sessions(series, sessions)
    assert list(out.index) == [pd.Timestamp("2026-01-05")]
    assert out.iloc[0] == pytest.approx(1.02 * 0.99 * 1.03 - 1.0, rel=1e-12)


def test_beta_and_correlation_of_a_levered_benchmark() -> None:
    frame = _market()
    spy = frame["AMEX:SPY"]
    levered = portfolio_returns(frame, {"AMEX:SPY": 2.0})
    stats = beta_correlation(levered, spy)
    assert stats.beta == pytest.approx(2.0, rel=1e-10)
    assert stats.correlation == pytest.approx(1.0, rel=1e-10)
    assert stats.n_periods == spy.notna().sum() - 1


def test_beta_against_a_hand_computation_with_weekend_moves() -> None:
    frame = _market()
    weights = {"AMEX:SPY": 0.6, "BINANCE:BTC": 0.4}
    port = portfolio_returns(frame, weights)
    stats = beta_correlation(port, frame["AMEX:SPY"])
    spy = frame["AMEX:SPY"].dropna()
    wealth = (1 + port).cumprod()
    p = (wealth.loc[spy.index] / wealth.loc[spy.index].shift(1) - 1).iloc[1:]
    b = spy.iloc[1:]
    beta = np.cov(p, b, ddof=1)[0, 1] / np.var(b, ddof=1)
    assert stats.beta == pytest.approx(beta, rel=1e-10)
    assert stats.correlation == pytest.approx(np.corrcoef(p, b)[0, 1], rel=1e-10)


def test_volatility_uses_the_series_own_frequency() -> None:
    frame = _market()
    spy = frame["AMEX:SPY"].dropna()
    vol, periods = series_volatility(spy)
    assert periods == round((len(spy) - 1) * 365.25 / (spy.index[-1] - spy.index[0]).days)
    assert vol == pytest.approx(spy.std(ddof=1) * math.sqrt(periods), rel=1e-12)
    assert math.isnan(series_volatility(spy.iloc[:2])[0])


def test_cover_and_top_share() -> None:
    weights = {"Tech": 0.5, "Energy": 0.2, "Bonds": 0.2, "FX": 0.1}
    assert smallest_cover(weights, 0.8) == [("Tech", 0.5), ("Bonds", 0.2), ("Energy", 0.2)]
    assert smallest_cover(weights, 0.5) == [("Tech", 0.5)]
    assert smallest_cover({}, 0.8) == []
    assert top_share(weights, 3) == pytest.approx(0.9)
    assert top_share({"a": 0.5, "b": -0.5}, 1) == pytest.approx(0.5)
    assert math.isnan(top_share({}, 3))


def test_regime_in_force_is_the_previous_label() -> None:
    labels = pd.Series(
        ["QUIET", "CRISIS", "CRISIS"],
        index=pd.DatetimeIndex(["2026-01-02", "2026-01-05", "2026-01-06"]),
    )
    index = pd.DatetimeIndex(["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-05", "2026-01-06"])
    assigned = attribute_regimes(index, labels)
    assert list(assigned) == [UNLABELLED, UNLABELLED, "QUIET", "QUIET", "CRISIS"]
    returns = pd.DataFrame({"s": [0.0, 0.01, 0.02, 0.03, -0.1]}, index=index)
    table = regime_attribution(returns, labels, periods=252)
    quiet = table[table["regime"] == "QUIET"].iloc[0]
    assert quiet["sessions"] == 2
    assert quiet["total_return"] == pytest.approx(1.02 * 1.03 - 1.0)
    assert quiet["mean_annual"] == pytest.approx(0.025 * 252)
    assert list(table["regime"]) == ["QUIET", "CRISIS", UNLABELLED]
