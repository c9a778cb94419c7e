"""Simulators: hand-built accounting, short sign, NaN days, and realized == cvxportfolio."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from clusterfolio.backtest.costs import CostModel
from clusterfolio.backtest.simulators import (
    SimulationError,
    SimulationResult,
    SimulationTask,
    run_simulation_task,
    simulate,
    simulate_with,
)
from clusterfolio.backtest.windows import walk_forward_windows
from clusterfolio.enums import Direction, SimulatorName
from clusterfolio.errors import ConfigError, DataError

COSTS = CostModel(slippage=0.0005, commission=0.0001)

MakeReturns = Callable[..., pd.DataFrame]
MakeWeights = Callable[..., Any]
AssertSame = Callable[[SimulationResult, SimulationResult], None]


def test_hand_built_two_windows_with_drift_and_costs() -> None:
    index = pd.bdate_range("2024-01-01", periods=4)
    returns = pd.DataFrame(
        {"A": [0.10, -0.05, 0.02, 0.01], "B": [0.00, 0.20, -0.10, 0.03]}, index=index
    )
    w1 = pd.Series({"A": 0.6, "B": 0.3})
    w2 = pd.Series({"A": 0.2, "B": 0.5})
    k = COSTS.per_unit
    result = simulate(
        [((index[0], index[1]), w1), ((index[2], index[3]), w2)],
        returns,
        cost_model=COSTS,
        initial_value=100.0,
    )
    # window 1: buy 60 A and 30 B from cash
    cost1 = k * 90.0
    cash1 = 100.0 - 90.0 - cost1
    a, b = 60.0 * 1.10, 30.0 * 1.00
    v0 = a + b + cash1
    a, b = a * 0.95, b * 1.20
    v1 = a + b + cash1
    # window 2: trade the drifted holdings to 20 % / 50 % of v1
    ta, tb = 0.2 * v1, 0.5 * v1
    cost2 = k * (abs(ta - a) + abs(tb - b))
    cash2 = v1 - ta - tb - cost2
    v2 = ta * 1.02 + tb * 0.90 + cash2
    v3 = ta * 1.02 * 1.01 + tb * 0.90 * 1.03 + cash2
    np.testing.assert_allclose(result.values.to_numpy(), [v0, v1, v2, v3], rtol=1e-13)
    np.testing.assert_allclose(result.costs.to_numpy(), [cost1, cost2], rtol=1e-13)
    np.testing.assert_allclose(
        result.turnover.to_numpy(),
        [0.5 * 90.0 / 100.0, 0.5 * (abs(ta - a) + abs(tb - b)) / v1],
        rtol=1e-13,
    )
    assert result.returns.iloc[0] == pytest.approx(v0 / 100.0 - 1.0, rel=1e-13)
    assert result.window_returns.iloc[1] == pytest.approx(v3 / v1 - 1.0, rel=1e-12)
    assert result.final_cash == pytest.approx(cash2, rel=1e-13)
    assert result.final_holdings["A"] == pytest.approx(ta * 1.02 * 1.01, rel=1e-13)
    assert result.simulator is SimulatorName.REALIZED
    assert result.total_costs == pytest.approx(cost1 + cost2, rel=1e-13)


def test_short_position_loses_when_its_asset_rises() -> None:
    index = pd.bdate_range("2024-01-01", periods=10)
    returns = pd.DataFrame({"X:UP": 0.01, "X:FLAT": 0.0}, index=index)
    short = pd.Series({"X:UP": Direction.SHORT.sign * 0.5})
    result = simulate([((index[0], index[-1]), short)], returns, cost_model=None)
    expected = 1.5 - 0.5 * 1.01**10  # 150 % cash, a 50 % short that grew by 1.01^10
    assert result.final_value == pytest.approx(expected, rel=1e-13)
    assert result.final_value < 1.0
    assert (result.returns < 0).all()
    assert result.final_holdings["X:UP"] == pytest.approx(-0.5 * 1.01**10, rel=1e-13)
    long = simulate([((index[0], index[-1]), pd.Series({"X:UP": 0.5}))], returns, cost_model=None)
    assert long.final_value == pytest.approx(0.5 + 0.5 * 1.01**10, rel=1e-13)
    assert long.final_value - 1.0 == pytest.approx(1.0 - result.final_value, rel=1e-12)


def test_nan_return_means_the_asset_did_not_move(
    make_returns: MakeReturns, make_weights: MakeWeights
) -> None:
    returns = make_returns()
    weights = make_weights(returns, 20, short=True)
    with_nan = simulate(weights, returns, cost_model=COSTS)
    zero_filled = simulate(weights, returns.fillna(0.0), cost_model=COSTS)
    pd.testing.assert_series_equal(with_nan.values, zero_filled.values)


def test_idealized_beats_realized_when_it_trades(
    make_returns: MakeReturns, make_weights: MakeWeights
) -> None:
    returns = make_returns()
    weights = make_weights(returns, 20, short=True)
    ideal = simulate(weights, returns, cost_model=None)
    real = simulate(weights, returns, cost_model=COSTS)
    assert ideal.simulator is SimulatorName.IDEALIZED
    assert (real.turnover > 0).all()
    assert ideal.final_value > real.final_value
    assert (ideal.values > real.values).all()
    assert ideal.total_costs == 0.0
    assert real.total_costs > 0.0
    free = simulate(weights, returns, cost_model=CostModel(0.0, 0.0))
    np.testing.assert_allclose(free.values.to_numpy(), ideal.values.to_numpy(), rtol=1e-15)


def test_first_rebalance_turnover_and_window_objects(
    make_returns: MakeReturns, symbols: list[str]
) -> None:
    returns = make_returns(120)
    windows = walk_forward_windows(pd.DatetimeIndex(returns.index), train=40, test=20, step=20)
    equal = pd.Series(0.25, index=symbols)
    result = simulate([(w, equal) for w in windows], returns, cost_model=COSTS)
    assert result.turnover.iloc[0] == pytest.approx(0.5, rel=1e-15)  # cash -> fully invested
    assert result.costs.iloc[0] == pytest.approx(COSTS.per_unit * 1.0, rel=1e-15)
    assert result.values.index.equals(returns.index[windows[0].test.start :])
    assert list(result.turnover.index) == [w.test_start for w in windows]


def test_dispatch_and_task(make_returns: MakeReturns, make_weights: MakeWeights) -> None:
    returns = make_returns(40)
    weights = make_weights(returns, 10, short=False)
    task = SimulationTask(SimulatorName.REALIZED, weights, returns, COSTS)
    direct = simulate(weights, returns, cost_model=COSTS)
    pd.testing.assert_series_equal(run_simulation_task(task).values, direct.values)
    realized = simulate_with(SimulatorName.REALIZED, weights, returns, cost_model=COSTS)
    pd.testing.assert_series_equal(realized.values, direct.values)


def test_invalid_requests(make_returns: MakeReturns, symbols: list[str]) -> None:
    returns = make_returns(40)
    index = returns.index
    ok = pd.Series(0.5, index=symbols[:2])
    with pytest.raises(DataError, match="NYSE:NOPE"):
        simulate([((index[0], index[9]), pd.Series({"NYSE:NOPE": 1.0}))], returns, cost_model=None)
    with pytest.raises(DataError, match="NaN"):
        simulate(
            [((index[0], index[9]), pd.Series({symbols[0]: np.nan}))], returns, cost_model=None
        )
    with pytest.raises(ConfigError, match="chronological"):
        simulate(
            [((index[10], index[19]), ok), ((index[0], index[9]), ok)], returns, cost_model=None
        )
    with pytest.raises(DataError, match="no session"):
        simulate(
            [((pd.Timestamp("2030-01-01"), pd.Timestamp("2030-02-01")), ok)],
            returns,
            cost_model=None,
        )
    with pytest.raises(ConfigError, match="empty"):
        simulate([], returns, cost_model=None)
    with pytest.raises(ConfigError, match="initial_value"):
        simulate([((index[0], index[9]), ok)], returns, cost_model=None, initial_value=0.0)


def test_wiped_out_portfolio_stops_with_an_error() -> None:
    index = pd.bdate_range("2024-01-01", periods=4)
    returns = pd.DataFrame({"X:UP": [1.5, 1.5, 0.0, 0.0]}, index=index)
    short = pd.Series({"X:UP": -1.0})
    with pytest.raises(SimulationError, match="<= 0"):
        simulate(
            [((index[0], index[1]), short), ((index[2], index[3]), short)],
            returns,
            cost_model=None,
        )
