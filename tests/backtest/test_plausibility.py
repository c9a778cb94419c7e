"""The plausibility guard: suspicious Sharpe ratios and the window that contributes most."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterfolio.backtest.plausibility import PlausibilityReason, plausibility_flags, top_window
from clusterfolio.backtest.windows import walk_forward_windows
from clusterfolio.manifest import BacktestSettings

INDEX = pd.bdate_range("2024-01-01", periods=100)
WINDOWS = walk_forward_windows(INDEX, train=40, test=20, step=20, target=60)


def row(engine: str, profile: str, sharpe: float | None, simulator: str = "realized") -> dict:
    metrics = None if sharpe is None else {"sharpe": sharpe}
    return {"engine": engine, "profile": profile, "simulator": simulator, "metrics": metrics}


def series() -> dict[str, pd.Series]:
    rng = np.random.default_rng(0)
    test = INDEX[40:]
    market = pd.Series(rng.normal(0.0, 0.01, len(test)), index=test)
    lucky = market.copy()
    lucky.loc[WINDOWS[1].test_start : WINDOWS[1].test_end] += 0.01  # one window does it all
    return {"market|market|realized": market, "custom|hrp|realized": lucky}


def test_flags_name_the_reason_and_the_window() -> None:
    rows = [
        row("market", "market", 0.4),
        row("custom", "hrp", 2.1),  # 1.7 above the market: excess
        row("custom", "min_variance", 1.8),  # 1.4 above: fine
        row("skfolio", "hrp", 3.4),  # above 3 and 3.0 above the market
        row("custom", "barbell", None),  # no metrics: nothing to judge
    ]
    doc = plausibility_flags(rows, series(), WINDOWS, BacktestSettings())
    assert doc["sharpe_excess_threshold"] == 1.5 and doc["sharpe_max"] == 3.0
    assert doc["market_sharpe"] == {"realized": 0.4}
    flags = {(f["engine"], f["profile"]): f for f in doc["flags"]}
    assert set(flags) == {("custom", "hrp"), ("skfolio", "hrp")}
    hrp = flags[("custom", "hrp")]
    assert hrp["reasons"] == [PlausibilityReason.SHARPE_EXCESS.value]
    assert hrp["excess"] == pytest.approx(1.7)
    top = hrp["top_window"]
    assert top["window"] == WINDOWS[1].index and top["basis"] == "excess_over_market"
    assert top["test_start"] == WINDOWS[1].test_start.date().isoformat()
    # by hand: the excess log growth of each window, and window 1's share of their total
    s = series()
    parts = []
    for w in WINDOWS:
        own = np.log1p(s["custom|hrp|realized"].loc[w.test_start : w.test_end]).sum()
        base = np.log1p(s["market|market|realized"].loc[w.test_start : w.test_end]).sum()
        parts.append(own - base)
    assert top["log_growth"] == pytest.approx(parts[1], rel=1e-12)
    assert top["share"] == pytest.approx(parts[1] / sum(max(p, 0) for p in parts), rel=1e-12)
    assert 0 < top["share"] <= 1
    assert flags[("skfolio", "hrp")]["reasons"] == ["sharpe_excess", "sharpe_above_max"]
    assert flags[("skfolio", "hrp")]["top_window"] is None  # no series of its own


def test_threshold_is_the_manifest_setting() -> None:
    rows = [row("market", "market", 0.4), row("custom", "hrp", 1.8)]
    strict = BacktestSettings(plausibility_sharpe_excess=1.0)
    assert [f["profile"] for f in plausibility_flags(rows, {}, WINDOWS, strict)["flags"]] == ["hrp"]
    assert plausibility_flags(rows, {}, WINDOWS, BacktestSettings())["flags"] == []


def test_without_a_market_only_the_absolute_limit_applies() -> None:
    rows = [row("custom", "hrp", 2.9), row("custom", "max_sharpe", 3.2)]
    doc = plausibility_flags(rows, series(), WINDOWS, BacktestSettings())
    assert [(f["profile"], f["reasons"], f["excess"]) for f in doc["flags"]] == [
        ("max_sharpe", ["sharpe_above_max"], None)
    ]


def test_top_window_of_a_losing_series() -> None:
    s = pd.Series(-0.001, index=INDEX[40:])
    top = top_window(s, None, WINDOWS)
    assert top is not None and top["basis"] == "own" and top["share"] is None
    assert math.isclose(top["log_growth"], 20 * math.log1p(-0.001))
    assert top_window(pd.Series(dtype=float), None, WINDOWS) is None


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), edge=st.floats(-0.003, 0.003))
def test_top_window_is_the_largest_contribution(seed: int, edge: float) -> None:
    rng = np.random.default_rng(seed)
    test = INDEX[40:]
    market = pd.Series(rng.normal(0.0, 0.01, len(test)), index=test)
    own = market + rng.normal(edge, 0.005, len(test))
    top = top_window(own, market, WINDOWS)
    assert top is not None
    parts = [
        float(
            np.log1p(own.loc[w.test_start : w.test_end]).sum()
            - np.log1p(market.loc[w.test_start : w.test_end]).sum()
        )
        for w in WINDOWS
    ]
    assert top["log_growth"] == pytest.approx(max(parts), rel=1e-12, abs=1e-15)
    if max(parts) > 0:
        assert 0 < top["share"] <= 1
    else:
        assert top["share"] is None
