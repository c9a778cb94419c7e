"""Calendar-true risk: per-calendar annualisation on a common time base."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterfolio.enums import CalendarKind
from clusterfolio.optimize import covariance
from clusterfolio.optimize.calendar_risk import (
    CONVENTION,
    assign_calendars,
    calendar_covariance,
    calendar_expected_returns,
    fold_to_business_days,
)

COIN, STOCK = "BINANCE:BTCUSDT", "NASDAQ:AAPL"


def _two_calendars(seed: int, years: int = 8, vol: float = 0.4, rho: float = 0.6) -> pd.DataFrame:
    """A coin (every day) and a stock (weekdays) of equal true annual volatility ``vol``.

    A common wall-clock driver moves both: the stock's return on a weekday is the sum of the
    driver's daily moves since the previous weekday (its weekend moves arrive on Monday). The
    stock trades every weekday (261 a year, not NYSE's 252): annualised by 252 its volatility is
    biased down by ``1 - sqrt(252 / 261)``, 1.7%, inside the tolerance.
    """
    rng = np.random.default_rng(seed)
    days = pd.date_range("2015-01-01", periods=365 * years, freq="D")
    daily = vol / np.sqrt(365)
    common = rng.normal(scale=daily, size=days.size)
    coin = np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.normal(scale=daily, size=days.size)
    own = np.sqrt(1 - rho) * rng.normal(scale=daily, size=days.size)
    weekday = days.dayofweek < 5
    label = np.cumsum(weekday) - 1 + (~weekday)  # weekend moves belong to the next weekday
    stock_moves = pd.Series(np.sqrt(rho) * common + own).groupby(label).sum()
    stock = pd.Series(np.nan, index=days)
    stock[weekday] = stock_moves.to_numpy()[: int(weekday.sum())]
    return pd.DataFrame({COIN: np.expm1(coin), STOCK: np.expm1(stock)}, index=days)


def test_equal_true_volatility_on_two_calendars_is_estimated_equal() -> None:
    frame = _two_calendars(seed=4)
    assignment = assign_calendars(frame)
    assert assignment.calendars == {COIN: CalendarKind.CRYPTO_24_7, STOCK: CalendarKind.NYSE}
    estimate = calendar_covariance(frame, assignment)
    vol = np.sqrt(np.diag(estimate.matrix.to_numpy()))
    # sampling error of a volatility over ~2,000-2,900 returns is ~1.5%: 6% is four of them
    assert vol[0] == pytest.approx(vol[1], rel=0.06)
    # one factor of 252 for both understates the coin by about 17%
    naive = np.sqrt(np.diag(covariance(frame).matrix.to_numpy()))
    assert naive[0] / naive[1] == pytest.approx(np.sqrt(252 / 365), rel=0.06)
    assert estimate.to_dict()["annualisation"]["convention"] == CONVENTION
    assert estimate.to_dict()["annualisation"]["periods_per_year"] == {COIN: 365, STOCK: 252}


def test_correlation_on_the_common_time_base_recovers_the_weekend_moves() -> None:
    frame = _two_calendars(seed=5, rho=0.8)
    assignment = assign_calendars(frame)
    folded = fold_to_business_days(frame, assignment)
    assert (pd.DatetimeIndex(folded.index).dayofweek < 5).all()
    assert folded[STOCK].notna().all() and folded[COIN].notna().all()
    corr = calendar_covariance(frame, assignment).matrix.to_numpy()
    corr = corr[0, 1] / np.sqrt(corr[0, 0] * corr[1, 1])
    naive = frame.corr().iloc[0, 1]  # Monday's stock move against Monday's coin move only
    assert corr == pytest.approx(0.8, abs=0.04)
    assert naive < corr - 0.05


def test_one_calendar_is_the_classic_estimator(make_returns) -> None:  # type: ignore[no-untyped-def]
    frame = make_returns(6, 120, seed=2)
    assignment = assign_calendars(frame)
    ours = calendar_covariance(frame, assignment).matrix.to_numpy()
    np.testing.assert_array_equal(ours, covariance(frame).matrix.to_numpy())
    mu = calendar_expected_returns(frame, assignment).to_numpy()
    np.testing.assert_allclose(mu, frame.mean().to_numpy() * 252, rtol=1e-12)


def test_an_unknown_exchange_is_inferred_and_recorded() -> None:
    frame = _two_calendars(seed=6, years=1).rename(columns={COIN: "MYVENUE:COIN"})
    assignment = assign_calendars(frame)
    assert assignment.calendars["MYVENUE:COIN"] is CalendarKind.CRYPTO_24_7
    assert "weekends" in assignment.inferred["MYVENUE:COIN"]
