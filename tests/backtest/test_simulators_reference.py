"""The realized and idealized simulators agree with cvxportfolio's MarketSimulator (1e-9).

Importing cvxportfolio (cvxpy, matplotlib) takes several seconds, so these checks live apart
from the fast simulator tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from clusterfolio.backtest import simulators
from clusterfolio.backtest.costs import CostModel
from clusterfolio.backtest.simulators import (
    SimulationResult,
    simulate,
    simulate_cvxportfolio,
    simulate_with,
)
from clusterfolio.enums import SimulatorName

pytest.importorskip("cvxportfolio")

COSTS = CostModel(slippage=0.0005, commission=0.0001)

MakeReturns = Callable[..., pd.DataFrame]
MakeWeights = Callable[..., Any]
AssertSame = Callable[[SimulationResult, SimulationResult], None]


@pytest.mark.parametrize("short", [False, True], ids=["long-only", "with-short"])
def test_realized_equals_cvxportfolio(
    short: bool, make_returns: MakeReturns, make_weights: MakeWeights, assert_same: AssertSame
) -> None:
    returns = make_returns(60)
    weights = make_weights(returns, 15, short=short)
    ours = simulate(weights, returns, cost_model=COSTS, initial_value=1.0)
    ref = simulate_cvxportfolio(weights, returns, cost_model=COSTS, initial_value=1.0)
    assert ref.simulator is SimulatorName.CVXPORTFOLIO
    assert_same(ours, ref)


def test_cvxportfolio_agrees_on_gaps_overlaps_and_missing_symbols(
    make_returns: MakeReturns,
    make_weights: MakeWeights,
    symbols: list[str],
    assert_same: AssertSame,
) -> None:
    returns = make_returns(70)
    index = returns.index
    rng = np.random.default_rng(11)
    periods = [(index[0], index[14]), (index[25], index[44]), (index[40], index[69])]
    weights = [
        (p, pd.Series(rng.dirichlet(np.ones(3)) - [0.0, 0.0, 0.5], index=symbols[1:]))
        for p in periods
    ]
    ours = simulate(weights, returns, cost_model=COSTS, initial_value=1e6)
    ref = simulate_cvxportfolio(weights, returns, cost_model=COSTS, initial_value=1e6)
    assert_same(ours, ref)
    # the gap (sessions 15..24) is skipped and the overlap cut at session 40
    assert len(ours.values) == 15 + 15 + 30
    assert ours.final_holdings[symbols[0]] == 0.0


def test_idealized_equals_cvxportfolio_without_costs(
    make_returns: MakeReturns,
    make_weights: MakeWeights,
    symbols: list[str],
    assert_same: AssertSame,
) -> None:
    returns = make_returns(40)
    weights = make_weights(returns, 10, short=True)
    ours = simulate_with(SimulatorName.IDEALIZED, weights, returns, cost_model=COSTS)
    ref = simulate_cvxportfolio(weights, returns, cost_model=None)
    assert_same(ours, ref)


def test_cvxportfolio_turnover_sums_each_row_alone(
    make_returns: MakeReturns, make_weights: MakeWeights, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The turnover read from cvxportfolio has the same bits on pandas 2 and 3."""
    results: list[Any] = []
    keep = simulators._cvx_result

    def spy(plan: Any, result: Any, *args: Any, **kwargs: Any) -> SimulationResult:
        results.append(result)
        return keep(plan, result, *args, **kwargs)

    monkeypatch.setattr(simulators, "_cvx_result", spy)
    returns = make_returns(60)
    ref = simulate_cvxportfolio(make_weights(returns, 15, short=True), returns, cost_model=COSTS)
    (result,) = results
    trades = np.abs(result.u.to_numpy(dtype=np.float64)[:, :-1])
    by_row = [float(np.sum(np.nan_to_num(row))) for row in trades]  # each row contiguous
    expected = pd.Series(by_row, index=result.u.index) / (2.0 * result.v.loc[result.u.index])
    pd.testing.assert_series_equal(
        ref.turnover, expected.reindex(ref.turnover.index), check_exact=True, check_names=False
    )
    np.testing.assert_allclose(ref.turnover, result.turnover.reindex(ref.turnover.index), 1e-14)
