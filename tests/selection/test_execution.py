"""The Execution Intelligence score, rebuilt by hand on tiny inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterfolio.risk.antifragility import antifragility_table
from clusterfolio.selection.execution import (
    EXECUTION_COMPONENTS,
    EXECUTION_SIGNALS,
    ExecutionWeights,
    execution_scores,
    raw_execution_signals,
    window_statistics,
)


def test_window_statistics_by_hand() -> None:
    returns = pd.DataFrame(
        {
            "A": [0.01, -0.02, np.nan, 0.03],
            "B": [np.nan, np.nan, np.nan, 0.05],
            "C": [np.nan] * 4,
        }
    )
    stats = window_statistics(returns)
    a = np.array([0.01, -0.02, 0.03])
    total = float(np.prod(1 + a) - 1)
    sigma = float(np.std(a, ddof=1))
    assert stats.loc["A", "n_obs"] == 3
    assert stats.loc["A", "total_return"] == pytest.approx(total, rel=1e-14)
    assert stats.loc["A", "volatility"] == pytest.approx(sigma, rel=1e-12)
    assert stats.loc["A", "momentum_raw"] == pytest.approx(total / (sigma * np.sqrt(3)), rel=1e-12)
    wealth = np.cumprod(1 + a)
    assert stats.loc["A", "max_drawdown"] == pytest.approx(1 - wealth[1] / wealth[0], rel=1e-12)
    assert stats.loc["B", "total_return"] == pytest.approx(0.05)
    assert np.isnan(float(stats["volatility"]["B"]))
    assert np.isnan(float(stats["momentum_raw"]["B"]))
    assert stats.loc["C", "n_obs"] == 0 and np.isnan(float(stats["total_return"]["C"]))


def test_raw_signals_by_hand() -> None:
    rng = np.random.default_rng(2)
    returns = pd.DataFrame(rng.normal(0.001, 0.01, size=(60, 3)), columns=["X", "Y", "Z"])
    stats = window_statistics(returns)
    tails = antifragility_table(returns)
    screener = pd.DataFrame(
        {"Value.Traded": [1e6, 2e8], "ATR": [2.0, 0.5], "close": [100.0, 10.0]},
        index=["X", "Y"],
    )
    raw = raw_execution_signals(
        stats, tails, screener, value_traded=pd.Series({"X": 5.0, "Y": 6.0, "Z": 3e7})
    )
    assert list(raw.columns) == [s for c in EXECUTION_COMPONENTS for s in EXECUTION_SIGNALS[c]]
    assert raw.loc["X", "liq_value_traded"] == pytest.approx(np.log1p(1e6))
    assert raw.loc["Z", "liq_value_traded"] == pytest.approx(np.log1p(3e7))  # pool fallback
    assert raw.loc["X", "liq_atr"] == pytest.approx(-np.log(0.02))
    assert np.isnan(float(raw["liq_atr"]["Z"]))
    assert raw.loc["Y", "stab_inv_vol"] == pytest.approx(-np.log(float(stats["volatility"]["Y"])))
    assert raw.loc["Y", "stab_drawdown"] == pytest.approx(-float(stats["max_drawdown"]["Y"]))
    assert raw.loc["X", "cvx_skew"] == pytest.approx(tails.loc["X", "skew"])
    assert raw.loc["X", "cvx_tail"] == pytest.approx(tails.loc["X", "tail_convexity"])


def test_within_cluster_zscores_and_weights_by_hand() -> None:
    raw = pd.DataFrame(
        {
            "mom_risk_adjusted": [1.0, 3.0, 5.0],
            "stab_inv_vol": [2.0, 2.0, np.nan],
            "stab_drawdown": [-0.1, -0.3, -0.2],
            "cvx_skew": [np.nan, np.nan, 0.4],
            "cvx_tail": [np.nan, np.nan, np.nan],
            "liq_value_traded": [10.0, 12.0, 20.0],
            "liq_atr": [np.nan, np.nan, np.nan],
        },
        index=["A", "B", "C"],
    )
    clusters = pd.Series({"A": 1, "B": 1, "C": 2})
    weights = ExecutionWeights(momentum=0.4, stability=0.3, convexity=0.2, liquidity=0.1)
    out = execution_scores(raw, clusters, xs_momentum=False, weights=weights)
    # cluster 1 = {A, B}: z = -1 / +1 for every signal with dispersion, 0 without
    assert out.loc["A", "momentum"] == pytest.approx(-1.0)
    assert out.loc["B", "momentum"] == pytest.approx(1.0)
    # stability: stab_inv_vol flat (0), drawdown z = +1 / -1 -> mean
    assert out.loc["A", "stability"] == pytest.approx(0.5)
    assert out.loc["B", "stability"] == pytest.approx(-0.5)
    assert out.loc["A", "convexity"] == 0.0  # no signal: neutral
    # singleton cluster: every defined signal is 0
    assert (out.loc["C", list(EXECUTION_COMPONENTS)] == 0.0).all()
    expected = 0.4 * -1.0 + 0.3 * 0.5 + 0.2 * 0.0 + 0.1 * -1.0
    assert out.loc["A", "execution_score"] == pytest.approx(expected)


def test_global_percentiles() -> None:
    raw = pd.DataFrame(
        {name: [1.0, 2.0, 3.0, 4.0] for name in sum(EXECUTION_SIGNALS.values(), ())},
        index=list("ABCD"),
    )
    out = execution_scores(raw, pd.Series(dict.fromkeys("ABCD", 1)), xs_momentum=True)
    expected = (np.arange(1, 5) - 0.5) / 4 - 0.5
    np.testing.assert_allclose(out["momentum"].to_numpy(), expected)
    np.testing.assert_allclose(out["execution_score"].to_numpy(), expected)  # weights sum to 1


def test_weights_validated_and_empty_input() -> None:
    with pytest.raises(ValueError, match="momentum"):
        ExecutionWeights(momentum=-0.1)
    empty = pd.DataFrame({s: [] for s in sum(EXECUTION_SIGNALS.values(), ())}, dtype=float)
    out = execution_scores(empty, pd.Series([], dtype="int64"), xs_momentum=False)
    assert out.empty and "execution_score" in out.columns
