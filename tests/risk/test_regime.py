"""Tests of the market proxy and the point-in-time regime detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clusterfolio.enums import Direction, Regime
from clusterfolio.errors import ConfigError, DataError
from clusterfolio.manifest import RegimeSettings
from clusterfolio.risk.regime import (
    CALIBRATED_THRESHOLDS,
    CALIBRATED_WEIGHTS,
    FEATURES,
    PRIOR_DAILY_VOL,
    applied_thresholds,
    apply_persistence,
    classify,
    composite_score,
    confusion_matrix,
    detect_market_regime,
    detect_regime,
    feature_scores,
    market_dispersion,
    market_proxy,
    market_regime_series,
    regime_series,
)

#: The calibrated detector (the values recommended as the manifest defaults).
SETTINGS = RegimeSettings(weights=dict(CALIBRATED_WEIGHTS), **CALIBRATED_THRESHOLDS)


def _with(**windows: int) -> RegimeSettings:
    """:data:`SETTINGS` with other windows, unvalidated (so the detector's own checks run)."""
    return SETTINGS.model_copy(update=windows)


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


def _stages(seed: int, *stages: tuple[int, float]) -> pd.Series:
    """Gaussian returns in stages of (sessions, daily volatility)."""
    rng = np.random.default_rng(seed)
    parts = [rng.normal(0.0, vol, n) for n, vol in stages]
    values = np.concatenate(parts)
    return pd.Series(values, index=pd.bdate_range("2010-01-04", periods=values.size), name="p")


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
        proxy,
        pd.Series([0.02, 0.01, 0.02], index=idx[:3], name="market_proxy"),
        check_freq=False,
    )
    # the coin's move after the last business day waits for the next session
    with_coin = market_proxy(returns)
    assert with_coin.index[-1] == idx[2]
    assert with_coin.iloc[-1] == pytest.approx((0.02 - 0.5) / 2)
    with pytest.raises(DataError):
        market_proxy(returns, directions=dict.fromkeys(returns.columns, "SHORT"))


def test_market_proxy_folds_weekends_and_no_asset_dominates() -> None:
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-01-01", periods=364, freq="D")
    weekday = days.dayofweek < 5
    stocks = {
        f"NYSE:S{i}": pd.Series(rng.normal(0, 0.01, days.size), index=days).where(weekday)
        for i in range(9)
    }
    coin = pd.Series(rng.normal(0, 0.05, days.size), index=days)
    saturday = days[(days.dayofweek == 5)][30]
    monday = saturday + pd.Timedelta(days=2)
    calm = market_proxy(pd.DataFrame({**stocks, "BINANCE:BTCUSDT": coin}))
    coin[coin.index == saturday] = -0.4  # a Saturday crash of the coin
    returns = pd.DataFrame({**stocks, "BINANCE:BTCUSDT": coin})
    proxy = market_proxy(returns)
    assert (
        pd.DatetimeIndex(proxy.index).dayofweek < 5
    ).all()  # one business-day calendar: no weekend row
    # the crash arrives on Monday, as one asset's move among ten (no CRISIS from one coin)
    before = proxy.index < monday
    pd.testing.assert_series_equal(proxy[before], calm[before])
    assert -0.05 < proxy[monday] - calm[monday] < -0.002
    # the coin, five times as volatile, does not dominate: its share of the proxy's variance
    # is about that of one stock
    folded = returns.loc[proxy.index].copy()
    ordinary = proxy.drop(monday)
    share = np.corrcoef(ordinary, folded["BINANCE:BTCUSDT"].reindex(ordinary.index))[0, 1] ** 2
    assert share < 0.3


def test_calm_then_violent_reads_quiet_normal_then_crisis() -> None:
    proxy = _calm_then_violent()
    series = regime_series(proxy, SETTINGS, spectral=True)
    calm = series.loc[: proxy.index[399], "label"]
    # iid returns read mostly QUIET or NORMAL, never CRISIS (the NORMAL band is narrow: about
    # one iid session in eight reads TURBULENT, see docs/regime-calibration.md)
    assert Regime.CRISIS.value not in set(calm)
    assert calm.isin([Regime.QUIET.value, Regime.NORMAL.value]).mean() > 0.8
    storm = series.loc[proxy.index[410] : proxy.index[440], "label"]
    assert (storm == Regime.CRISIS.value).mean() > 0.6
    assert (storm != Regime.QUIET.value).all()
    folded = regime_series(proxy, SETTINGS, spectral=False)
    assert Regime.TURBULENT.value not in set(folded["label"])
    assert Regime.TURBULENT.value not in set(folded["raw_label"])
    assert (folded.loc[storm.index, "label"] == Regime.CRISIS.value).mean() > 0.8


def test_level_keeps_a_long_storm_stressed_and_reads_the_calm_after_it() -> None:
    # 500 normal sessions, 300 stormy ones (3x the volatility), then 200 calm ones (0.4x)
    proxy = _stages(11, (500, 0.01), (300, 0.03), (200, 0.004))
    series = regime_series(proxy, SETTINGS, spectral=True)
    normal = series.loc[proxy.index[250] : proxy.index[499]]
    assert (normal["label"] == Regime.NORMAL.value).mean() > 0.6
    assert not normal["label"].isin([Regime.CRISIS.value]).any()
    late_storm = series.loc[proxy.index[700] : proxy.index[799]]
    # the 250-session baseline is all storm by now: the relative ratio sees nothing unusual,
    # the level against the long-run median still does
    assert late_storm["vol_ratio"].median() == pytest.approx(1.0, abs=0.15)
    assert late_storm["vol_level"].median() > 2.5
    assert late_storm["label"].isin([Regime.TURBULENT.value, Regime.CRISIS.value]).all()
    assert (late_storm["label"] == Regime.CRISIS.value).mean() > 0.5
    # a relative-only detector with the pre-calibration thresholds (a ratio of 1 scores 0.5)
    relative = RegimeSettings(
        weights={"vol_ratio": 1.0}, quiet_below=0.30, turbulent_above=0.55, crisis_above=0.72
    )
    relative_only = regime_series(proxy, relative, spectral=True)
    assert (relative_only.loc[late_storm.index, "label"] == Regime.NORMAL.value).mean() > 0.5
    calm = series.loc[proxy.index[880] :, "label"]
    assert (calm == Regime.QUIET.value).all()


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
    assert series.index[0] == proxy.index[SETTINGS.short_window - 1]
    for pos in (0, 1, 2, 3, 100, 190, 191, 192, 300, 350, 360, len(series) - 1):
        t = series.index[pos]
        one = detect_regime(proxy.loc[:t], SETTINGS, spectral=True)
        assert one.date == t
        assert one.label.value == series.loc[t, "label"]
        assert set(one.features) == {
            *FEATURES,
            *(f"{n}_score" for n in FEATURES),
            "baseline_sessions",
            "level_sessions",
            "warming_up",
            "level_prior_weight",
            "dispersion_read",
        }
        assert one.warming_up is (pos < SETTINGS.window - SETTINGS.short_window)
        for key, value in one.features.items():
            expected = series.loc[t, key]
            if np.isnan(expected):  # no dispersion given: not read
                assert np.isnan(value) and key.startswith("dispersion"), key
                continue
            assert value == pytest.approx(expected, abs=1e-12, rel=1e-12), key
    record = detect_regime(proxy, SETTINGS, spectral=False).to_dict()
    assert set(record) == {"date", "label", "score", "warming_up", "features"}
    assert record["features"]["dispersion"] is None  # JSON-ready: not read is null, not NaN
    assert 0.0 <= record["score"] <= 1.0


def test_warm_up_uses_available_history() -> None:
    proxy = _calm_then_violent()
    series = regime_series(proxy, SETTINGS, spectral=True)
    w, s = SETTINGS.window, SETTINGS.short_window
    assert series.index[0] == proxy.index[s - 1]
    assert series["baseline_sessions"].iloc[0] == s
    assert series["baseline_sessions"].max() == SETTINGS.baseline
    assert series["level_sessions"].iloc[0] == 1
    assert series["level_sessions"].iloc[-1] == min(len(series), SETTINGS.level_history)
    # shorter windows while fewer than `window` returns exist, flagged
    assert (series["warming_up"].iloc[: w - s] == 1.0).all()
    assert (series["warming_up"].iloc[w - s :] == 0.0).all()
    # the first read's recent window is the whole history: the ratio is sqrt(std(short)/std(all))
    first = proxy.iloc[:s].to_numpy()
    assert series["vol_ratio"].iloc[0] == pytest.approx(1.0, rel=1e-12)
    # its volatility level is measured against the prior, not against itself
    prior_weight = 1 - s / (2 * w)
    assert series["level_prior_weight"].iloc[0] == pytest.approx(prior_weight)
    vol = first.std(ddof=1)
    expected = vol / np.exp(
        prior_weight * np.log(PRIOR_DAILY_VOL) + (1 - prior_weight) * np.log(vol)
    )
    assert series["vol_level"].iloc[0] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(DataError, match="short_window"):
        detect_regime(proxy.iloc[: s - 1], SETTINGS, spectral=True)


def test_a_shock_at_the_start_of_the_history_is_labelled() -> None:
    rng = np.random.default_rng(1)
    crash = np.concatenate([rng.normal(0, 0.035, 30), rng.normal(0, 0.006, 200)])
    proxy = pd.Series(crash, index=pd.bdate_range("2020-02-24", periods=crash.size))
    early = detect_regime(proxy.iloc[:30], SETTINGS, spectral=True)
    assert early.warming_up is True
    assert early.label in (Regime.CRISIS, Regime.TURBULENT)
    calm = detect_regime(proxy, SETTINGS, spectral=True)
    assert calm.warming_up is False and calm.label in (Regime.QUIET, Regime.NORMAL)


def test_persistence_rule() -> None:
    raw = np.array([1, 1, 3, 1, 1, 3, 3, 3, 2, 2, 1, 0, 0, 0, 0])
    held = apply_persistence(raw, 3)
    # a one-day spike is ignored; CRISIS after 3 days; the fall goes to the most stressed label
    # of the last 3 days once all are below CRISIS; QUIET after 3 QUIET days
    np.testing.assert_array_equal(held, [1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 2, 2, 1, 0, 0])
    np.testing.assert_array_equal(apply_persistence(raw, 1), raw)
    np.testing.assert_array_equal(apply_persistence(np.array([2, 0, 0]), 5), [2, 2, 2])
    assert apply_persistence(np.array([], dtype=np.int64), 3).size == 0


@given(
    raw=st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=60),
    persistence=st.integers(min_value=1, max_value=6),
)
def test_persistence_changes_only_after_a_held_move(raw: list[int], persistence: int) -> None:
    path = np.array(raw)
    held = apply_persistence(path, persistence)
    assert held[0] == path[0]
    for t in range(1, path.size):
        last = path[max(0, t - persistence + 1) : t + 1]
        if held[t] > held[t - 1]:  # a rise: every raw label of the last dates is that high
            assert last.min() == held[t]
        elif held[t] < held[t - 1]:  # a fall: every raw label of the last dates is that low
            assert last.max() == held[t]
        else:  # kept: the last dates straddle it
            assert last.min() <= held[t] <= last.max()
    # point in time: a prefix of the path gives a prefix of the labels
    cut = path.size // 2 + 1
    np.testing.assert_array_equal(apply_persistence(path[:cut], persistence), held[:cut])


def test_persistence_in_the_series_and_parameter_checks() -> None:
    proxy = _calm_then_violent(seed=5)
    held = regime_series(proxy, SETTINGS, spectral=True)
    raw = regime_series(proxy, _with(persistence=1), spectral=True)
    assert (raw["label"] == raw["raw_label"]).all()
    assert (held["raw_label"] == raw["raw_label"]).all()
    changes = (held["label"] != held["label"].shift()).sum()
    assert changes < (raw["label"] != raw["label"].shift()).sum()
    one = detect_regime(proxy, _with(persistence=1), spectral=True)
    assert one.label.value == raw["label"].iloc[-1]
    with pytest.raises(ConfigError, match="short_window"):
        regime_series(proxy, _with(short_window=SETTINGS.window + 1), spectral=True)
    with pytest.raises(ConfigError, match="persistence"):
        detect_regime(proxy, _with(persistence=0), spectral=True)
    with pytest.raises(ConfigError, match="level_history"):
        regime_series(proxy, _with(level_history=0), spectral=True)
    # a shorter level history is a shorter median (the first rows agree)
    short = regime_series(proxy, _with(level_history=100), spectral=True)
    assert short["level_sessions"].max() == 100
    pd.testing.assert_series_equal(short["vol_level"].iloc[:100], held["vol_level"].iloc[:100])


def test_classify_and_fold_rule() -> None:
    s = RegimeSettings(quiet_below=0.30, turbulent_above=0.55, crisis_above=0.72)  # mid 0.635
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
        "vol_level": np.array([0.25, 1.0, 2.0, 16.0]),
        "turbulence": np.array([0.5, 1.0, np.sqrt(2.0), 3.0]),
        "vol_clustering": np.array([-0.2, 0.0, 0.2, 0.9]),
        "entropy": np.array([1.0, 0.95, 0.9, 0.5]),
        "dispersion": np.array([0.5, 1.0, 2.0, np.nan]),
        "drawdown": np.array([0.0, 1.0, 2.0, 5.0]),
    }
    scores = feature_scores(raw)
    assert list(scores) == list(FEATURES)
    np.testing.assert_allclose(scores["vol_ratio"], [0.0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(scores["vol_level"], [0.0, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(scores["turbulence"], [0.0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(scores["vol_clustering"], [0.0, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(scores["entropy"], [0.0, 0.5, 1.0, 1.0])
    # an unread dispersion stays NaN (the vol_level score stands in for it in the detector)
    np.testing.assert_allclose(scores["dispersion"], [0.0, 0.5, 1.0, np.nan])
    np.testing.assert_allclose(scores["drawdown"], [0.0, 0.5, 1.0, 1.0])
    assert feature_scores({"vol_level": [np.nan]})["vol_level"][0] == 0.5
    composite = composite_score(scores, SETTINGS)
    weights = np.array([CALIBRATED_WEIGHTS[n] for n in FEATURES])
    expected = np.stack([scores[n] for n in FEATURES]).T @ weights / weights.sum()
    np.testing.assert_allclose(composite[:3], expected[:3])
    # a NaN score is left out of its date's mean, the other weights renormalised
    read = np.array([n != "dispersion" for n in FEATURES])
    last = np.array([scores[n][3] for n in FEATURES])
    assert composite[3] == pytest.approx(last[read] @ weights[read] / weights[read].sum())
    proxy = _calm_then_violent()
    with pytest.raises(ConfigError, match="unknown"):
        regime_series(proxy, RegimeSettings(weights={"hurst": 1.0}), spectral=True)
    with pytest.raises(ConfigError, match="non-negative"):
        regime_series(proxy, RegimeSettings(weights={"vol_level": -1.0}), spectral=True)
    only_level = RegimeSettings(weights={"vol_level": 2.0})
    series = regime_series(proxy, only_level, spectral=True)
    np.testing.assert_allclose(series["score"], series["vol_level_score"])
    assert set(FEATURES) == set(CALIBRATED_WEIGHTS)


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
        before = series.loc["2020-02-03":"2020-02-20", "label"]  # the calm before the crash
        assert not (before == Regime.CRISIS.value).any()
        calm = series.loc["2017-10-01":"2017-12-31", "label"]
        assert len(calm) >= 55
        assert not (calm == Regime.CRISIS.value).any()
        assert not (calm == Regime.TURBULENT.value).any()
        assert (calm == Regime.QUIET.value).mean() >= 0.5
        # the last date read alone (as the pipeline does) agrees with the series
        now = detect_regime(proxy.loc[:"2020-03-20"], SETTINGS, spectral=spectral)
        assert now.label is Regime.CRISIS


def test_applied_thresholds_are_the_ones_classify_uses() -> None:
    on = applied_thresholds(SETTINGS, spectral=True)
    off = applied_thresholds(SETTINGS, spectral=False)
    assert on["crisis_above"] == SETTINGS.crisis_above and on["turbulent_above"] is not None
    assert off["turbulent_above"] is None
    midpoint = off["crisis_above"]
    assert midpoint is not None
    assert midpoint == pytest.approx(0.5 * (SETTINGS.turbulent_above + SETTINGS.crisis_above))
    assert classify(midpoint, SETTINGS, spectral=False) is Regime.CRISIS
    assert classify(midpoint - 1e-9, SETTINGS, spectral=False) is Regime.NORMAL
    quiet_below = on["quiet_below"]
    assert quiet_below is not None
    assert classify(quiet_below - 1e-9, SETTINGS, spectral=True) is Regime.QUIET


def _panel(seed: int, sessions: int = 600, assets: int = 12) -> pd.DataFrame:
    """A factor-plus-noise return matrix with a stressed stretch (higher dispersion) late on."""
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0, 0.008, sessions)
    noise = rng.normal(0.0, 0.01, (sessions, assets))
    noise[450:500] *= 2.5
    index = pd.bdate_range("2019-01-01", periods=sessions)
    columns = [f"NYSE:S{i}" for i in range(assets)]
    return pd.DataFrame(market[:, None] + noise, index=index, columns=columns)


def test_market_dispersion_is_a_robust_cross_section_of_the_long_members() -> None:
    idx = pd.bdate_range("2024-01-01", periods=3)
    returns = pd.DataFrame(
        {
            **{f"NYSE:S{i}": [0.01 * i, 0.0, 0.01] for i in range(5)},
            "NYSE:VXX": [5.0, 0.0, np.nan],  # an outlier barely moves a median deviation
            "NYSE:SH": [-1.0, -1.0, -1.0],  # SHORT: left out
        },
        index=idx,
    )
    returns.iloc[2, 1:5] = np.nan  # one member left that day: too few for a cross-section
    dispersion = market_dispersion(returns, directions={"NYSE:SH": Direction.SHORT})
    assert dispersion.name == "market_dispersion"
    # day 1: members 0, .01, .02, .03, .04 and 5.0; median .025, deviations' median .015
    assert dispersion.iloc[0] == pytest.approx(0.015)
    assert dispersion.iloc[1] == 0.0
    assert np.isnan(dispersion.iloc[2])
    pd.testing.assert_index_equal(dispersion.index, market_proxy(returns).index)


def test_dispersion_reads_a_stressed_cross_section_and_stands_in_when_absent() -> None:
    returns = _panel(2)
    proxy, dispersion = market_proxy(returns), market_dispersion(returns)
    series = regime_series(proxy, SETTINGS, spectral=True, dispersion=dispersion)
    stressed = series.loc[returns.index[465] : returns.index[499]]
    assert stressed["dispersion"].median() > 1.8
    assert stressed["label"].isin([Regime.TURBULENT.value, Regime.CRISIS.value]).mean() > 0.8
    # the share of its weight grows with its history (a year to full weight)
    share = series["dispersion_read"].to_numpy()
    assert share[0] < 0.1 and np.all(np.diff(share) >= 0) and share[-1] == 1.0
    # without a cross-section the volatility level stands in: the score is a proxy-only read
    alone = regime_series(proxy, SETTINGS, spectral=True)
    swapped = {**CALIBRATED_WEIGHTS}
    swapped["vol_level"] += swapped.pop("dispersion")
    proxy_only = regime_series(
        proxy, RegimeSettings(**CALIBRATED_THRESHOLDS, weights=swapped), spectral=True
    )
    np.testing.assert_allclose(alone["score"], proxy_only["score"], atol=1e-12)
    with pytest.raises(DataError, match="dispersion"):
        regime_series(proxy, SETTINGS, spectral=True, dispersion=-dispersion)


def test_labels_never_read_the_future_of_the_return_matrix() -> None:
    returns = _panel(7)
    proxy, dispersion = market_proxy(returns), market_dispersion(returns)
    base = regime_series(proxy, SETTINGS, spectral=True, dispersion=dispersion)
    rng = np.random.default_rng(0)
    for cut in (30, 260, 470):
        t = returns.index[cut]
        changed = returns.copy()
        changed.iloc[cut + 1 :] = rng.normal(0.0, 0.06, changed.iloc[cut + 1 :].shape)
        changed.iloc[cut + 1 :: 7, :4] = np.nan  # and different assets missing
        other = regime_series(
            market_proxy(changed),
            SETTINGS,
            spectral=True,
            dispersion=market_dispersion(changed),
        )
        pd.testing.assert_frame_equal(other.loc[:t], base.loc[:t])
        upto = returns.loc[:t]
        series = market_regime_series(upto, SETTINGS, spectral=True)  # as the pipeline reads
        pd.testing.assert_frame_equal(series, base.loc[:t])
        single = detect_market_regime(upto, SETTINGS, spectral=True)
        assert single.label.value == base.loc[t, "label"]
        assert single.score == pytest.approx(base.loc[t, "score"], abs=1e-12)
