"""The Alpha Discovery Score: formula rebuilt by hand, normalisation modes, direction flip."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterfolio.discovery.columns import screener_table
from clusterfolio.discovery.scoring import (
    COMPONENTS,
    Z_CLIP,
    ScoreWeights,
    raw_signals,
    score_candidates,
)
from clusterfolio.errors import SchemaError


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "asset_class": ["equity", "equity", "equity", "crypto", "crypto"],
            "direction": ["LONG", "LONG", "SHORT", "LONG", "SHORT"],
            "close": [100.0, 50.0, 20.0, 30000.0, 2.0],
            "Value.Traded": [1e9, 2e8, 5e7, 3e9, 1e6],
            "Recommend.All": [0.5, 0.1, -0.6, 0.3, -0.2],
            "SMA50": [90.0, 52.0, 25.0, 28000.0, 2.5],
            "SMA200": [80.0, 55.0, 30.0, 25000.0, 3.0],
            "ATR": [2.0, 1.5, 1.0, 900.0, 0.2],
            "Perf.1M": [5.0, -2.0, -10.0, 12.0, -20.0],
            "Perf.3M": [12.0, 1.0, -25.0, 30.0, -40.0],
        },
        index=["NYSE:A", "NYSE:B", "NYSE:C", "BINANCE:BTCUSDT", "BINANCE:XUSDT"],
    )


def _z(values: np.ndarray) -> np.ndarray:
    std = values.std()
    return np.clip((values - values.mean()) / std, -Z_CLIP, Z_CLIP)


def test_formula_rebuilt_by_hand() -> None:
    frame = _frame()
    out = score_candidates(frame)
    sign = np.where(frame["direction"] == "SHORT", -1.0, 1.0)
    raw = {
        "liq": np.log1p(frame["Value.Traded"].to_numpy()),
        "t1": sign * frame["Recommend.All"].to_numpy(),
        "t2": sign * np.log((frame["close"] / frame["SMA50"]).to_numpy()),
        "t3": sign * np.log((frame["close"] / frame["SMA200"]).to_numpy()),
        "vol": -np.log((frame["ATR"] / frame["close"]).to_numpy()),
        "p1": sign * np.log1p(frame["Perf.1M"].to_numpy() / 100),
        "p3": sign * np.log1p(frame["Perf.3M"].to_numpy() / 100),
    }
    expected = {c: np.zeros(len(frame)) for c in COMPONENTS}
    for klass in ("equity", "crypto"):
        idx = np.flatnonzero(frame["asset_class"].to_numpy() == klass)
        z = {k: _z(v[idx]) for k, v in raw.items()}
        expected["liquidity"][idx] = z["liq"]
        expected["trend"][idx] = (z["t1"] + z["t2"] + z["t3"]) / 3
        expected["volatility"][idx] = z["vol"]
        expected["performance"][idx] = (z["p1"] + z["p3"]) / 2
    score = sum(0.25 * expected[c] for c in COMPONENTS)
    for c in COMPONENTS:
        np.testing.assert_allclose(out[c].to_numpy(), expected[c], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["score"].to_numpy(), score, rtol=1e-12, atol=1e-12)
    # the input is not modified and keeps its index
    assert "score" not in frame.columns and list(out.index) == list(frame.index)


def test_short_scores_on_flipped_trend_and_performance() -> None:
    frame = _frame()
    raw = raw_signals(frame)
    mirrored = frame.copy()
    mirrored["direction"] = np.where(frame["direction"] == "LONG", "SHORT", "LONG")
    flipped = raw_signals(mirrored)
    for col in ("trend_rating", "trend_sma50", "trend_sma200", "perf_1m", "perf_3m"):
        np.testing.assert_allclose(flipped[col], -raw[col])
    for col in ("liq_value_traded", "vol_atr_pct"):
        np.testing.assert_allclose(flipped[col], raw[col])
    # a falling asset is a strong SHORT: NYSE:C (down 25 % in 3 months) leads equity performance
    out = score_candidates(frame)
    equity = out.loc[out["asset_class"] == "equity", "performance"]
    assert equity.idxmax() == "NYSE:C"


def test_xs_momentum_uses_global_centred_ranks() -> None:
    frame = _frame()
    out = score_candidates(frame, xs_momentum=True)
    n = len(frame)
    liq_rank = frame["Value.Traded"].rank().to_numpy()
    np.testing.assert_allclose(out["liquidity"].to_numpy(), (liq_rank - 0.5) / n - 0.5)
    for c in COMPONENTS:
        assert out[c].between(-0.5, 0.5).all()
    # classes are ranked together: the biggest crypto volume ranks above every equity
    assert out.loc["BINANCE:BTCUSDT", "liquidity"] == out["liquidity"].max()
    per_class = score_candidates(frame, xs_momentum=False)
    assert not np.allclose(per_class["score"], out["score"])


def test_missing_values_are_neutral() -> None:
    frame = _frame().drop(columns=["SMA200", "ATR"])
    frame.loc["NYSE:A", "Perf.1M"] = np.nan
    out = score_candidates(frame)
    assert (out["volatility"] == 0).all()
    assert np.isfinite(out["score"]).all()
    single = _frame().iloc[[3]]
    assert (score_candidates(single)[list(COMPONENTS)] == 0).all().all()


def test_weights_and_errors() -> None:
    frame = _frame()
    only_liq = score_candidates(
        frame, weights=ScoreWeights(liquidity=1.0, trend=0.0, volatility=0.0, performance=0.0)
    )
    np.testing.assert_allclose(only_liq["score"], only_liq["liquidity"])
    with pytest.raises(ValueError, match="liquidity"):
        ScoreWeights(liquidity=-1)
    with pytest.raises(SchemaError, match="direction"):
        score_candidates(frame.drop(columns="direction"))
    with pytest.raises(SchemaError, match="asset_class"):
        score_candidates(frame.drop(columns="asset_class"))
    empty = score_candidates(frame.iloc[0:0])
    assert list(empty.columns[-5:]) == [*COMPONENTS, "score"]


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(
        st.floats(min_value=1e3, max_value=1e12, allow_nan=False), min_size=3, max_size=30
    ),
    xs=st.booleans(),
)
def test_property_liquidity_is_monotone_in_value_traded(values: list[float], xs: bool) -> None:
    n = len(values)
    frame = pd.DataFrame(
        {
            "asset_class": ["crypto"] * n,
            "direction": ["LONG"] * n,
            "close": [1.0] * n,
            "Value.Traded": values,
        }
    )
    out = score_candidates(frame, xs_momentum=xs)
    order = np.argsort(values, kind="mergesort")
    liq = out["liquidity"].to_numpy()[order]
    assert (np.diff(liq) >= -1e-12).all()
    assert np.all(np.abs(liq) <= Z_CLIP + 1e-12)


def test_real_table_scores_per_class(m6_universe: tuple[dict, dict]) -> None:
    candles, listings = m6_universe
    table = screener_table(candles, listings, as_of="2020-03-31")
    table["direction"] = "LONG"
    out = score_candidates(table)
    for klass, group in out.groupby("asset_class"):
        liq = np.log1p(table.loc[group.index, "Value.Traded"].to_numpy())
        if len(group) > 1 and liq.std() > 0:
            expected = _z(liq)
            np.testing.assert_allclose(group["liquidity"], expected, rtol=1e-12, atol=1e-12)
            if not (np.abs(expected) >= Z_CLIP).any():
                assert math.isclose(group["liquidity"].mean(), 0.0, abs_tol=1e-12)
        assert np.isfinite(group["score"]).all(), klass
