r"""Backtest simulators: idealized, realized, and the ``cvxportfolio`` reference.

Accounting (all simulators)
---------------------------
The portfolio holds signed asset values :math:`h` (currency; negative for a short) and cash
:math:`c`; its value is :math:`V = \sum_i h_i + c`. A *net* weight is signed (``sign x gross``,
see ``Direction``), so a short position's value moves with :math:`-r` through its negative
holding: :math:`h_i (1 + r_i)` with :math:`h_i < 0` loses :math:`|h_i| r_i` when the asset rises.
The raw asset return is applied as is; nothing flips the sign again.

At the rebalance that opens a test period, before that session's return:

1. the drifted holdings :math:`h^-` are traded to the targets :math:`h^+ = w V^-`, where
   :math:`V^-` is the pre-trade value and :math:`w` the target net weights (assets absent from
   :math:`w` go to zero); the traded values are :math:`u = h^+ - h^-`;
2. the realized simulator pays :math:`C = (s + c) \sum_i |u_i|` (see
   :class:`~clusterfolio.backtest.costs.CostModel`) from cash; the idealized one pays nothing;
3. cash is the residual :math:`c = V^- - \sum_i h^+_i - C` (it is :math:`1 - \sum_i w_i` of the
   pre-trade value, less the cost; a net-short book holds more than 100 % cash) and earns 0.

Within the period holdings drift with returns, :math:`h_{t+1} = h_t \circ (1 + r_t)`; cash stays
put. A NaN return (the asset's market was closed that session) counts as 0: the asset did not
move. Test periods are simulated back to back in window order: returns of sessions between two
test periods (``step > test``) are not applied, and a test period that overlaps the next one
(``step < test``) is cut at the next period's start, where the next rebalance supersedes it.

This is exactly the accounting of ``cvxportfolio.MarketSimulator`` with a single
``TransactionCost(a=s + c, b=None)`` and a zero-return cash account, which
:func:`simulate_cvxportfolio` runs as the reference. The turnover of a rebalance is reported
with ``cvxportfolio``'s convention, one-way: :math:`\tfrac12 \sum_i |u_i| / V^-`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from clusterfolio.backtest.costs import CostModel
from clusterfolio.backtest.windows import Window
from clusterfolio.enums import SimulatorName
from clusterfolio.errors import ClusterfolioError, ConfigError, DataError

__all__ = [
    "CVX_CASH_KEY",
    "Period",
    "SimulationError",
    "SimulationResult",
    "SimulationTask",
    "WeightsByWindow",
    "run_simulation_task",
    "simulate",
    "simulate_cvxportfolio",
    "simulate_with",
]

Period: TypeAlias = Window | tuple[Any, Any]
"""A test period: a :class:`Window` or a ``(test_start, test_end)`` pair of dates (inclusive)."""

WeightsByWindow: TypeAlias = Sequence[tuple[Period, pd.Series]]
"""Target net weights per test period, in chronological order."""

CVX_CASH_KEY = "CLUSTERFOLIO:CASH"
"""Name of the explicit zero-return cash column given to ``cvxportfolio``."""


class SimulationError(ClusterfolioError):
    """A simulation cannot go on (the portfolio value fell to zero or below at a rebalance)."""


@dataclass(frozen=True)
class SimulationResult:
    """Outcome of one simulation.

    Attributes
    ----------
    simulator : SimulatorName
        Which simulator produced it.
    initial_value : float
        Value before the first rebalance (all cash).
    values : pandas.Series
        Portfolio value at the close of each simulated session.
    returns : pandas.Series
        Daily portfolio returns ``values / previous value - 1`` (the first against
        ``initial_value``); a rebalance's cost falls in its first session's return.
    turnover : pandas.Series
        One-way turnover ``0.5 * sum|u| / V`` per rebalance, indexed by rebalance session.
    costs : pandas.Series
        Costs paid per rebalance (currency), indexed by rebalance session.
    window_returns : pandas.Series
        Compounded return of each test period (cost included), indexed by rebalance session.
    final_holdings : pandas.Series
        Signed asset values at the close of the last session (every column of the returns).
    final_cash : float
        Cash at the close of the last session.
    """

    simulator: SimulatorName
    initial_value: float
    values: pd.Series
    returns: pd.Series
    turnover: pd.Series
    costs: pd.Series
    window_returns: pd.Series
    final_holdings: pd.Series
    final_cash: float

    @property
    def final_value(self) -> float:
        """Value at the close of the last session."""
        return float(self.values.iloc[-1])

    @property
    def final_weights(self) -> pd.Series:
        """Net weights at the close of the last session (cash is ``1 - sum``)."""
        return self.final_holdings / self.final_value

    @property
    def total_costs(self) -> float:
        """Sum of costs paid."""
        return float(self.costs.sum())

    @property
    def total_return(self) -> float:
        """``final_value / initial_value - 1``."""
        return self.final_value / self.initial_value - 1.0


@dataclass(frozen=True)
class _Plan:
    """Validated, positional form of a simulation request (shared by every simulator)."""

    returns: pd.DataFrame
    starts: npt.NDArray[np.intp]  # first row of each period in ``returns``
    stops: npt.NDArray[np.intp]  # exclusive end row of each period
    weights: npt.NDArray[np.float64]  # (n_periods, n_assets) target net weights
    rebalance_dates: pd.DatetimeIndex
    timeline: npt.NDArray[np.intp]  # rows of ``returns`` simulated, in order


def _period_bounds(period: Period) -> tuple[pd.Timestamp, pd.Timestamp]:
    if isinstance(period, Window):
        return period.test_start, period.test_end
    if isinstance(period, tuple) and len(period) == 2:
        return pd.Timestamp(period[0]), pd.Timestamp(period[1])
    raise ConfigError(
        f"a test period must be a Window or a (test_start, test_end) pair, got {period!r}"
    )


def _check_inputs(weights_by_window: WeightsByWindow, returns: pd.DataFrame) -> None:
    """The returns are sessions x unique symbols, sorted; there is a period to simulate."""
    if not isinstance(returns, pd.DataFrame) or not isinstance(returns.index, pd.DatetimeIndex):
        raise DataError("returns must be a DataFrame with a DatetimeIndex")
    index = returns.index
    if not index.is_monotonic_increasing or not index.is_unique:
        raise DataError("returns index must be strictly increasing (sorted, unique sessions)")
    if not returns.columns.is_unique:
        raise DataError("returns columns must be unique symbols")
    if len(weights_by_window) == 0:
        raise ConfigError("weights_by_window is empty: nothing to simulate")


def _targets(
    weights_by_window: WeightsByWindow, columns: pd.Index
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First and last day of each period, and its target weights over ``columns``."""
    n_periods = len(weights_by_window)
    firsts = np.empty(n_periods, dtype="datetime64[ns]")
    lasts = np.empty(n_periods, dtype="datetime64[ns]")
    weights = np.zeros((n_periods, len(columns)), dtype=np.float64)
    all_columns = np.arange(len(columns))
    for k, (period, target) in enumerate(weights_by_window):
        first, last = _period_bounds(period)
        firsts[k], lasts[k] = first.to_datetime64(), last.to_datetime64()
        if not isinstance(target, pd.Series):
            raise ConfigError(f"weights of test period {k} must be a pandas Series")
        if target.index.equals(columns):
            positions = all_columns
        else:
            positions = columns.get_indexer(target.index)
            if (positions < 0).any() or not target.index.is_unique:
                missing = sorted(str(s) for s in target.index[positions < 0])
                raise DataError(
                    f"weights of test period {k} name symbols absent from returns "
                    f"(or repeated): {missing}"
                )
        values = target.to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise DataError(f"weights of test period {k} contain NaN or infinite values")
        weights[k, positions] = values
    return firsts, lasts, weights


def _plan(weights_by_window: WeightsByWindow, returns: pd.DataFrame) -> _Plan:
    _check_inputs(weights_by_window, returns)
    index = returns.index
    firsts, lasts, weights = _targets(weights_by_window, returns.columns)

    sessions = index.to_numpy(dtype="datetime64[ns]")
    starts = np.searchsorted(sessions, firsts, side="left").astype(np.intp)
    ends = np.searchsorted(sessions, lasts, side="right").astype(np.intp) - 1  # inclusive
    empty = np.flatnonzero(starts > ends)
    if len(empty):
        k = int(empty[0])
        raise DataError(
            f"test period {k} ({pd.Timestamp(firsts[k]).date()} .. "
            f"{pd.Timestamp(lasts[k]).date()}) holds no session of the returns"
        )

    if np.any(np.diff(starts) <= 0):
        raise ConfigError("test periods must be in chronological order with distinct starts")
    stops = ends + 1
    stops[:-1] = np.minimum(stops[:-1], starts[1:])  # an overlap is cut at the next rebalance
    timeline = np.concatenate(
        [np.arange(a, b, dtype=np.intp) for a, b in zip(starts, stops, strict=True)]
    )
    return _Plan(
        returns=returns,
        starts=starts,
        stops=stops,
        weights=weights,
        rebalance_dates=pd.DatetimeIndex(index[starts]),
        timeline=timeline,
    )


def _check_initial_value(initial_value: float) -> float:
    value = float(initial_value)
    if not np.isfinite(value) or value <= 0:
        raise ConfigError(f"initial_value must be finite and > 0, got {initial_value!r}")
    return value


def _result(
    plan: _Plan,
    simulator: SimulatorName,
    initial_value: float,
    values: npt.NDArray[np.float64],
    turnover: npt.NDArray[np.float64],
    costs: npt.NDArray[np.float64],
    window_returns: npt.NDArray[np.float64],
    final_holdings: npt.NDArray[np.float64],
    final_cash: float,
) -> SimulationResult:
    dates = plan.returns.index[plan.timeline]
    previous = np.empty_like(values)
    previous[0] = initial_value
    previous[1:] = values[:-1]
    return SimulationResult(
        simulator=simulator,
        initial_value=initial_value,
        values=pd.Series(values, index=dates, name="value"),
        returns=pd.Series(values / previous - 1.0, index=dates, name="return"),
        turnover=pd.Series(turnover, index=plan.rebalance_dates, name="turnover"),
        costs=pd.Series(costs, index=plan.rebalance_dates, name="cost"),
        window_returns=pd.Series(window_returns, index=plan.rebalance_dates, name="window_return"),
        final_holdings=pd.Series(final_holdings, index=plan.returns.columns, name="holding"),
        final_cash=float(final_cash),
    )


@dataclass
class _Path:
    """What the period-by-period simulation gives: the value of every session, the turnover,
    cost and return of every period, the holdings and cash at the end."""

    values: np.ndarray
    turnover: np.ndarray
    costs: np.ndarray
    window_returns: np.ndarray
    holdings: np.ndarray
    cash: float


def _run_periods(
    plan: _Plan, weights: np.ndarray, growth_all: np.ndarray, initial: float, per_unit: float
) -> _Path:
    """Trade to each period's targets at its first session (paying ``per_unit`` per unit
    traded from cash), then let the holdings drift to the period's end."""
    n_periods = len(plan.starts)
    values = np.empty(len(plan.timeline), dtype=np.float64)
    turnover = np.empty(n_periods, dtype=np.float64)
    costs = np.empty(n_periods, dtype=np.float64)
    window_returns = np.empty(n_periods, dtype=np.float64)
    holdings = np.zeros(weights.shape[1], dtype=np.float64)
    value = initial
    cash = value
    cursor = 0
    for k in range(n_periods):
        if not value > 0.0:
            raise SimulationError(
                f"portfolio value {value!r} <= 0 at the rebalance of "
                f"{plan.rebalance_dates[k].date()}: the simulation cannot go on"
            )
        target = weights[k] * value
        traded = float(np.abs(target - holdings).sum())
        cost = per_unit * traded
        turnover[k] = 0.5 * traded / value
        costs[k] = cost
        cash = value - float(target.sum()) - cost
        growth = np.cumprod(growth_all[plan.starts[k] : plan.stops[k]], axis=0)
        path = growth @ target + cash
        length = len(path)
        values[cursor : cursor + length] = path
        cursor += length
        window_returns[k] = path[-1] / value - 1.0
        holdings = target * growth[-1]
        value = float(path[-1])
    return _Path(values, turnover, costs, window_returns, holdings, cash)


def simulate(
    weights_by_window: WeightsByWindow,
    returns: pd.DataFrame,
    *,
    cost_model: CostModel | None,
    initial_value: float = 1.0,
) -> SimulationResult:
    """Simulate target net weights per test period (idealized or realized).

    Parameters
    ----------
    weights_by_window : sequence of (Window or (start, end), pandas.Series)
        Chronological test periods with the target net weights traded to at each period's first
        session (symbols from ``returns``' columns; absent symbols are 0; negative is short).
    returns : pandas.DataFrame
        Raw simple returns, sessions x symbols; NaN (market closed) counts as 0.
    cost_model : CostModel or None
        ``None``: idealized (no friction). Otherwise realized: every rebalance pays
        ``cost_model.per_unit * sum|u|`` from cash.
    initial_value : float, default 1.0
        Value before the first rebalance (all cash).

    Returns
    -------
    SimulationResult

    Raises
    ------
    ConfigError
        When periods are out of order, malformed, or ``initial_value`` is not positive.
    DataError
        When ``returns`` is malformed, a period holds no session, or weights name unknown
        symbols or are not finite.
    SimulationError
        When the portfolio value is zero or negative at a rebalance.

    Notes
    -----
    See the module docstring for the accounting. The hot path is numpy only: one
    cumulative product of ``1 + r`` per test period over the assets ever held.
    """
    plan = _plan(weights_by_window, returns)
    initial = _check_initial_value(initial_value)
    per_unit = 0.0 if cost_model is None else cost_model.per_unit
    simulator = SimulatorName.IDEALIZED if cost_model is None else SimulatorName.REALIZED

    held = np.flatnonzero(np.any(plan.weights != 0.0, axis=0))  # assets ever held
    weights = plan.weights[:, held]
    growth_all = returns.to_numpy(dtype=np.float64)[:, held]  # a copy: fancy indexing
    growth_all[np.isnan(growth_all)] = 0.0  # closed market: the asset did not move
    growth_all += 1.0

    path = _run_periods(plan, weights, growth_all, initial, per_unit)
    final_holdings = np.zeros(len(returns.columns), dtype=np.float64)
    final_holdings[held] = path.holdings
    return _result(
        plan,
        simulator,
        initial,
        path.values,
        path.turnover,
        path.costs,
        path.window_returns,
        final_holdings,
        path.cash,
    )


def _cvx_inputs(plan: _Plan, returns: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """cvxportfolio's returns (the plan's sessions, NaN as 0, a cash column and a sentinel day
    after the last session) and its target weights per rebalance (cash included)."""
    dates = returns.index[plan.timeline]
    sentinel = dates[-1] + pd.Timedelta(days=1)
    frame = returns.iloc[plan.timeline].astype(np.float64).fillna(0.0)
    frame = pd.concat(
        [frame, pd.DataFrame(0.0, index=pd.DatetimeIndex([sentinel]), columns=frame.columns)]
    )
    frame.index = pd.DatetimeIndex(np.asarray(frame.index), name=None)
    frame[CVX_CASH_KEY] = 0.0
    frame.columns = frame.columns.astype(str)
    targets = pd.DataFrame(plan.weights, index=plan.rebalance_dates, columns=frame.columns[:-1])
    targets[CVX_CASH_KEY] = 1.0 - plan.weights.sum(axis=1)
    return frame, targets


def _cvx_turnover(result: Any) -> pd.Series:
    """cvxportfolio's turnover ``||u_t||_1 / (2 v_t)`` (cash excluded), each row summed alone.

    ``result.turnover`` sums the rows of a frame, which pandas 3 does column by column and
    pandas 2 row by row (the last row, no trade, is NaN): the last bits differ. Summing each
    row's contiguous copy gives the same bits on both.
    """
    trades = result.u
    traded = np.nan_to_num(np.abs(trades.to_numpy(dtype=np.float64)[:, :-1]), nan=0.0)
    l1 = np.ascontiguousarray(traded).sum(axis=1)
    value = result.v.loc[trades.index].to_numpy(dtype=np.float64)
    return pd.Series(l1 / (2.0 * value), index=trades.index, name="turnover")


def _cvx_result(
    plan: _Plan, result: Any, frame: pd.DataFrame, value: float, *, paid_costs: bool
) -> SimulationResult:
    """The simulation result of a cvxportfolio backtest of ``plan`` on ``frame``."""
    dates = frame.index[:-1]
    # v[t] is the pre-trade value at t = the value at the close of the previous row
    path = result.v.to_numpy(dtype=np.float64)
    if len(path) != len(dates) + 1:
        raise SimulationError(
            f"cvxportfolio stopped early ({len(path) - 1} of {len(dates)} sessions): bankruptcy"
        )
    values = path[1:]
    positions = np.searchsorted(plan.timeline, plan.starts)
    pre_trade = path[positions]
    ends = np.searchsorted(plan.timeline, plan.stops - 1)
    window_returns = values[ends] / pre_trade - 1.0
    turnover = _cvx_turnover(result).reindex(plan.rebalance_dates).to_numpy(dtype=np.float64)
    if paid_costs:
        paid = next(iter(result.costs.values()))
        cost_paid = paid.reindex(plan.rebalance_dates).to_numpy(dtype=np.float64)
    else:
        cost_paid = np.zeros(len(plan.starts), dtype=np.float64)
    final = result.h.iloc[-1]
    final_holdings = final.reindex(frame.columns[:-1]).to_numpy(dtype=np.float64)
    return _result(
        plan,
        SimulatorName.CVXPORTFOLIO,
        value,
        values,
        turnover,
        cost_paid,
        window_returns,
        final_holdings,
        float(final[CVX_CASH_KEY]),
    )


def simulate_cvxportfolio(
    weights_by_window: WeightsByWindow,
    returns: pd.DataFrame,
    *,
    cost_model: CostModel | None,
    initial_value: float = 1.0,
) -> SimulationResult:
    r"""Reference simulation with ``cvxportfolio.MarketSimulator``, fully offline.

    Same signature, inputs and accounting as :func:`simulate`; use it to cross-check.

    Parameters
    ----------
    weights_by_window : sequence of (Window or (start, end), pandas.Series)
        See :func:`simulate`.
    returns : pandas.DataFrame
        See :func:`simulate`.
    cost_model : CostModel or None
        ``None`` or zero rates: no cost object. Otherwise one
        ``cvxportfolio.TransactionCost(a=cost_model.per_unit, b=None)``.
    initial_value : float, default 1.0
        Value before the first rebalance (all cash).

    Returns
    -------
    SimulationResult
        ``simulator`` is :attr:`SimulatorName.CVXPORTFOLIO`.

    Notes
    -----
    How the reference is set up, so that it solves exactly our problem:

    - ``returns=`` the simulated sessions only (test periods back to back, NaN as 0, since
      ``cvxportfolio`` would otherwise drop an asset from the universe on a NaN day and
      liquidate it into cash), plus an explicit zero-return cash column :data:`CVX_CASH_KEY`
      as the last column and ``cash_key`` set to it (never the default ``USDOLLAR``, which
      downloads rates), plus one sentinel row a day after the last session: ``cvxportfolio``
      applies the return of every calendar row but the last;
    - ``base_location`` a temporary folder (never the home directory), ``min_history=0``;
    - one cost object, ``TransactionCost(a=s + c, b=None)``: ``cvxportfolio`` evaluates
      :math:`a \sum_i |z_i| V` on the trade weights ``z`` with the cash entry excluded, and
      debits it from cash; no market-impact or holding cost (costs are keyed by class, so two
      objects of one class would collapse into one);
    - policy ``FixedWeights`` with a frame of target weights (cash included, ``1 - sum``) on
      the rebalance sessions only; on other sessions it does not trade.
    """
    import cvxportfolio as cvx

    plan = _plan(weights_by_window, returns)
    value = _check_initial_value(initial_value)
    if CVX_CASH_KEY in returns.columns:
        raise DataError(f"returns must not hold a column named {CVX_CASH_KEY!r} (the cash key)")

    frame, targets = _cvx_inputs(plan, returns)

    costs: list[Any] = []
    if cost_model is not None and cost_model.per_unit > 0:
        costs.append(cvx.TransactionCost(a=cost_model.per_unit, b=None))

    with tempfile.TemporaryDirectory(prefix="clusterfolio-cvx-") as folder:
        simulator = cvx.MarketSimulator(
            returns=frame,
            cash_key=CVX_CASH_KEY,
            base_location=folder,
            min_history=pd.Timedelta(0),
            costs=costs,
        )
        result = simulator.backtest(
            cvx.FixedWeights(targets),
            start_time=frame.index[0],
            end_time=frame.index[-1],
            initial_value=value,
        )

    return _cvx_result(plan, result, frame, value, paid_costs=bool(costs))


def simulate_with(
    name: SimulatorName,
    weights_by_window: WeightsByWindow,
    returns: pd.DataFrame,
    *,
    cost_model: CostModel,
    initial_value: float = 1.0,
) -> SimulationResult:
    """Run the simulator ``name`` (the idealized one ignores ``cost_model``).

    Parameters
    ----------
    name : SimulatorName
        ``IDEALIZED`` (no friction), ``REALIZED`` or ``CVXPORTFOLIO`` (with ``cost_model``).
    weights_by_window, returns, initial_value
        See :func:`simulate`.
    cost_model : CostModel
        The frictions of the realized simulators.

    Returns
    -------
    SimulationResult
    """
    name = SimulatorName(name)
    if name is SimulatorName.IDEALIZED:
        return simulate(weights_by_window, returns, cost_model=None, initial_value=initial_value)
    if name is SimulatorName.REALIZED:
        return simulate(
            weights_by_window, returns, cost_model=cost_model, initial_value=initial_value
        )
    return simulate_cvxportfolio(
        weights_by_window, returns, cost_model=cost_model, initial_value=initial_value
    )


@dataclass(frozen=True)
class SimulationTask:
    """One picklable simulation request, for executors (see :func:`run_simulation_task`).

    Attributes
    ----------
    simulator : SimulatorName
    weights_by_window : list of ((start, end), pandas.Series)
        Plain date pairs travel better than :class:`Window` objects but both work.
    returns : pandas.DataFrame
    cost_model : CostModel
    initial_value : float
    """

    simulator: SimulatorName
    weights_by_window: list[tuple[Period, pd.Series]]
    returns: pd.DataFrame
    cost_model: CostModel
    initial_value: float = 1.0


def run_simulation_task(task: SimulationTask) -> SimulationResult:
    """Run one :class:`SimulationTask` (a top-level function, so executors can ship it)."""
    return simulate_with(
        task.simulator,
        task.weights_by_window,
        task.returns,
        cost_model=task.cost_model,
        initial_value=task.initial_value,
    )
