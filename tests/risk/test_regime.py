"""Tests of the market proxy and the point-in-time regime detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterfolio.enums import Direction, Regime
from clusterfolio.errors import ConfigError, DataError
from clusterfolio.manifest import RegimeSettings
from clusterfolio.risk.regime import (
    FEATURES,
    classify,
    confusion_matrix,
    detect_regime,
    feature_scores,
    market_proxy,
    regime_series,
)

SETTINGS = RegimeSettings()


def _calm_then_violent(seed: int = 3, calm: int = 400, violent: int = 80) -> pd.Series:
    """Quiet iid returns, then a GARCH(1, 1) storm (high and clustered volatility)."""
    rng = np.random.default_rng(seed)
    quiet = rng.normal(0.0003, 0.005, calm)
    storm = np.empty(violent)
    h, last = 0.03**2, 0.03
    for i in range(violent):
        h = 2e-5 + 0.25 * last**2 + 0.7 * h
        last = rng.normal() * np.sqrt(h)
        storm[i] = last
    index = pd.bdate_range("2015-01-02", periods=calm + violent)
    return pd.Series(np.concatenate([quiet, storm]), index=index, name="proxy")


def test_market_proxy_ignores_shorts_and_nan() -> None:
    idx = pd.date_range("2024-01-01", periods=4)
    returns = pd.DataFrame(
        {
            "AMEX:SPY": [0.01, np.nan, 0.02, np.nan],
            "NASDAQ:QQQ": [0.03, 0.01, np.nan, np.nan],
            "BINANCE:XRPUSDT.P": [-0.5, -0.5, -0.5, -0.5],
        },
        index=idx,
    )
    proxy = market_proxy(returns, directions={"BINANCE:XRPUSDT.P": Direction.SHORT})
    pd.testing.assert_series_equal(
        proxy, pd.Series([0.02, 0.01, 0.02], index=idx[:3], name="market_proxy")
    )
    assert market_proxy(returns).iloc[-1] == -0.5
    with pytest.raises(DataError):
        market_proxy(returns, directions=dict.fromkeys(returns.columns, "SHORT"))


def test_calm_then_violent_reads_quiet_normal_then_crisis() -> None:
    proxy = _calm_then_violent()
    series = regime_series(proxy, SETTINGS, spectral=True)
    calm = series.loc[: proxy.index[399], "label"]
    assert set(calm) <= {Regime.QUIET.value, Regime.NORMAL.value}
    storm = series.loc[proxy.index[410] : proxy.index[440], "label"]
    assert (storm == Regime.CRISIS.value).mean() > 0.6
    assert (storm != Regime.QUIET.value).all()
    folded = regime_series(proxy, SETTINGS, spectral=False)
    assert Regime.TURBULENT.value not in set(folded["label"])
    assert (folded.loc[storm.index, "label"] == Regime.CRISIS.value).mean() > 0.8


def test_point_in_time() -> None:
    proxy = _calm_then_violent(seed=9)
    base = regime_series(proxy, SETTINGS, spectral=True)
    rng = np.random.default_rng(0)
    for cut in (70, 250, 405, 430):
        t = proxy.index[cut]
        perturbed = proxy.copy()
        perturbed.iloc[cut + 1 :] = rng.normal(0, 0.08, len(proxy) - cut - 1)
        other = regime_series(perturbed, SETTINGS, spectral=True)
        pd.testing.assert_frame_equal(other.loc[:t], base.loc[:t])
        single = detect_regime(perturbed.loc[:t], SETTINGS, spectral=True)
        assert single.label.value == base.loc[t, "label"]
        assert single.score == pytest.approx(base.loc[t, "score"], abs=1e-12)


def test_series_rows_equal_single_date_detection() -> None:
    proxy = _calm_then_violent(seed=4)
    series = regime_series(proxy, SETTINGS, spectral=True)
    assert series.index[0] == proxy.index[SETTINGS.window - 1]
    for pos in (0, 1, 100, 190, 191, 192, 300, len(series) - 1):
        t = series.index[pos]
        one = detect_regime(proxy.loc[:t], SETTINGS, spectral=True)
        assert one.date == t
        assert one.label.value == series.loc[t, "label"]
        for key, value in one.features.items():
            assert value == pytest.approx(series.loc[t, key], abs=1e-12, rel=1e-12), key
    record = detect_regime(proxy, SETTINGS, spectral=False).to_dict()
    assert set(record) == {"date", "label", "score", "features"}
    assert 0.0 <= record["score"] <= 1.0


def test_warm_up_uses_available_history() -> None:
    proxy = _calm_then_violent()
    series = regime_series(proxy, SETTINGS, spectral=True)
    assert series["baseline_sessions"].iloc[0] == SETTINGS.window
    assert series["baseline_sessions"].max() == SETTINGS.baseline
    assert series["vol_ratio"].iloc[0] == pytest.approx(1.0)
    with pytest.raises(DataError, match="window"):
        detect_regime(proxy.iloc[: SETTINGS.window - 1], SETTINGS, spectral=True)


def test_classify_and_fold_rule() -> None:
    s = SETTINGS  # quiet 0.30, turbulent 0.55, crisis 0.72 (midpoint 0.635)
    assert classify(0.1, s, spectral=True) is Regime.QUIET
    assert classify(0.3, s, spectral=True) is Regime.NORMAL
    assert classify(0.6, s, spectral=True) is Regime.TURBULENT
    assert classify(0.72, s, spectral=True) is Regime.CRISIS
    assert classify(0.6, s, spectral=False) is Regime.NORMAL
    assert classify(0.64, s, spectral=False) is Regime.CRISIS
    bad = RegimeSettings(quiet_below=0.8)
    with pytest.raises(ConfigError, match="quiet_below"):
        classify(0.5, bad, spectral=True)


def test_feature_scores_and_weights() -> None:
    raw = {
        "vol_ratio": np.array([0.25, 1.0, 2.0, np.inf]),
        "turbulence": np.array([0.5, 1.0, np.sqrt(2.0), 3.0]),
        "vol_clustering": np.array([-0.2, 0.0, 0.2, 0.9]),
        "entropy": np.array([1.0, 0.95, 0.9, 0.5]),
    }
    scores = feature_scores(raw)
    np.testing.assert_allclose(scores["vol_ratio"], [0.0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(scores["turbulence"], [0.0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(scores["vol_clustering"], [0.0, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(scores["entropy"], [0.0, 0.5, 1.0, 1.0])
    proxy = _calm_then_violent()
    with pytest.raises(ConfigError, match="unknown"):
        regime_series(proxy, RegimeSettings(weights={"hurst": 1.0}), spectral=True)
    only_vol = RegimeSettings(weights={"vol_ratio": 2.0})
    series = regime_series(proxy, only_vol, spectral=True)
    np.testing.assert_allclose(series["score"], series["vol_ratio_score"])
    assert set(FEATURES) == set(SETTINGS.weights)


def test_confusion_matrix() -> None:
    idx = pd.date_range("2024-01-01", periods=5)
    truth = pd.Series(["QUIET", "CRISIS", "CRISIS", "NORMAL", None], index=idx)
    predicted = pd.Series(
        [Regime.QUIET, Regime.CRISIS, Regime.TURBULENT, Regime.QUIET, Regime.QUIET], index=idx
    )
    table = confusion_matrix(predicted, truth.iloc[:5])
    assert list(table.index) == [r.value for r in Regime] == list(table.columns)
    assert table.loc["CRISIS", "CRISIS"] == 1 and table.loc["CRISIS", "TURBULENT"] == 1
    assert table.loc["NORMAL", "QUIET"] == 1 and table.to_numpy().sum() == 4


def _m6_etf_proxy(root: Path) -> pd.Series:
    folder = root / "etfs" / "m6_universe"
    universe = pd.read_csv(folder / "M6_Universe.csv", encoding="utf-8-sig")
    returns = {}
    for symbol in universe.loc[universe["class"] == "ETF", "symbol"]:
        prices = pd.read_csv(folder / f"{symbol}.csv.gz", parse_dates=["Date"])
        close = prices.set_index("Date")["Adjusted_close"].sort_index()
        returns[symbol] = close.pct_change().dropna()  # on the ETF's own sessions
    return market_proxy(pd.DataFrame(returns).sort_index())


@pytest.mark.realdata
def test_covid_crash_reads_crisis_and_2017_does_not(shared_data: Path) -> None:
    proxy = _m6_etf_proxy(shared_data)
    for spectral in (True, False):
        series = regime_series(proxy, SETTINGS, spectral=spectral)
        crash = series.loc["2020-03-16":"2020-03-31", "label"]
        assert len(crash) >= 10
        assert (crash == Regime.CRISIS.value).mean() >= 0.75
        calm = series.loc["2017-10-01":"2017-12-31", "label"]
        assert len(calm) >= 55
        assert not (calm == Regime.CRISIS.value).any()
        assert not (calm == Regime.TURBULENT.value).any()
        assert (calm == Regime.QUIET.value).mean() >= 0.5
