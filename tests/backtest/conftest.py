"""Fixtures shared by the backtest tests: a small return matrix, weights, and a comparator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from clusterfolio.backtest.costs import CostModel
from clusterfolio.backtest.simulators import SimulationResult
from clusterfolio.enums import Direction

SYMBOLS = ["NASDAQ:AAPL", "AMEX:SPY", "BINANCE:BTCUSDT.P", "FX_IDC:EURUSD"]


@pytest.fixture
def costs() -> CostModel:
    """The manifest's frictions: 5 bps slippage and 1 bp commission."""
    return CostModel(slippage=0.0005, commission=0.0001)


@pytest.fixture
def symbols() -> list[str]:
    """Four symbols of different asset classes."""
    return list(SYMBOLS)


def _make_returns(n: int = 80, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2023-01-02", periods=n)
    frame = pd.DataFrame(rng.normal(0.0005, 0.015, (n, len(SYMBOLS))), index=index, columns=SYMBOLS)
    frame.iloc[7:9, 0] = np.nan  # a closed market
    frame.iloc[30, 3] = np.nan
    return frame


def _make_weights(
    returns: pd.DataFrame, test: int, *, short: bool, seed: int = 5
) -> list[tuple[tuple[pd.Timestamp, pd.Timestamp], pd.Series]]:
    rng = np.random.default_rng(seed)
    out = []
    index = returns.index
    for start in range(0, len(index), test):
        stop = min(start + test, len(index)) - 1
        w = rng.dirichlet(np.ones(len(SYMBOLS)))
        if short:
            w = w * 1.3
            w[1] = Direction.SHORT.sign * 0.3  # net weight of a SHORT candidate
        out.append(((index[start], index[stop]), pd.Series(w, index=SYMBOLS)))
    return out


def _assert_same(ours: SimulationResult, ref: SimulationResult) -> None:
    assert ours.final_value == pytest.approx(ref.final_value, rel=1e-9, abs=0)
    np.testing.assert_allclose(ours.values.to_numpy(), ref.values.to_numpy(), rtol=1e-9)
    assert ours.values.index.equals(ref.values.index)
    np.testing.assert_allclose(ours.returns.to_numpy(), ref.returns.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.turnover.to_numpy(), ref.turnover.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.costs.to_numpy(), ref.costs.to_numpy(), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(
        ours.window_returns.to_numpy(), ref.window_returns.to_numpy(), atol=1e-12
    )
    np.testing.assert_allclose(
        ours.final_holdings.to_numpy(), ref.final_holdings.to_numpy(), rtol=1e-9, atol=1e-12
    )
    assert ours.final_cash == pytest.approx(ref.final_cash, rel=1e-9, abs=1e-12)


@pytest.fixture
def make_returns() -> Callable[..., pd.DataFrame]:
    """``make_returns(n=80, seed=3)``: seeded daily returns of :data:`SYMBOLS` with NaN days."""
    return _make_returns


@pytest.fixture
def make_weights() -> Callable[..., Any]:
    """``make_weights(returns, test, short=...)``: random targets per back-to-back period."""
    return _make_weights


@pytest.fixture
def assert_same() -> Callable[[SimulationResult, SimulationResult], None]:
    """Two simulations agree: values to 1e-9 relative, per-rebalance figures to 1e-12."""
    return _assert_same
