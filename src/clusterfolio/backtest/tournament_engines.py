"""The tournament's engine tasks: one engine and profile over every window, then the simulators.

:func:`run_engine_task` computes an engine's gross weights in every window from the window's
training slice and decision (:func:`~clusterfolio.backtest.engines.check_gross`; the net weights
are ``sign x gross``), then runs every simulator on the windows that have weights (the
cvxportfolio reference over the latest ``backtest.reference_sessions`` test sessions) and, for
the decay audit, the realized simulator at each slippage of ``sensitivity_bps``. A failing
engine or simulator is a recorded result, never an exception. Tasks are picklable and the
function top-level, so any executor can run them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from clusterfolio.backtest.costs import CostModel
from clusterfolio.backtest.decision import DecisionInputs
from clusterfolio.backtest.engines import Engine, check_gross, make_engine
from clusterfolio.backtest.executors import resolve
from clusterfolio.backtest.simulators import SimulationResult, simulate, simulate_with
from clusterfolio.backtest.tournament_budget import (
    BUDGETED_ENGINES,
    FitTimeout,
    FitWorker,
    fit_weights,
    modules_for,
)
from clusterfolio.backtest.tournament_types import NO_WEIGHTS, error_text
from clusterfolio.backtest.windows import Window
from clusterfolio.enums import EngineName, ProfileName, SimulatorName
from clusterfolio.errors import DataError
from clusterfolio.manifest import Settings

__all__ = [
    "EngineInputs",
    "EngineOutcome",
    "EngineTask",
    "WindowWeights",
    "held_returns",
    "run_engine_task",
    "warm_up",
]


@dataclass(frozen=True)
class EngineInputs:
    """What every engine task reads, the same for all: shipped once (:meth:`Executor.share`)."""

    windows: tuple[Window, ...]
    decisions: tuple[DecisionInputs | None, ...]
    decision_errors: tuple[str | None, ...]
    returns: pd.DataFrame
    """The columns some window holds, and the baseline (:func:`held_returns`)."""
    settings: Settings


@dataclass(frozen=True)
class EngineTask:
    """One engine and profile over every window (picklable, see :func:`run_engine_task`).

    ``inputs`` is the :class:`EngineInputs` every task shares, or the executor's reference to
    it (a Ray object reference: the task itself is a few hundred bytes).
    """

    engine: EngineName
    profile: ProfileName
    inputs: Any
    simulators: tuple[SimulatorName, ...]
    run_cvxportfolio: bool = True
    sensitivity_bps: tuple[float, ...] = ()

    @property
    def data(self) -> EngineInputs:
        """The shared inputs (after :func:`~clusterfolio.backtest.executors.resolve`)."""
        if not isinstance(self.inputs, EngineInputs):
            raise TypeError("EngineTask.inputs is an unresolved reference: resolve it first")
        return self.inputs


@dataclass(frozen=True)
class WindowWeights:
    """An engine's weights for one window (or its error)."""

    window: int
    ok: bool
    error: str | None = None
    gross: pd.Series | None = None
    net: pd.Series | None = None
    fallbacks: tuple[str, ...] = ()
    timed_out: bool = False
    """The fit exceeded ``tournament.peer_budget_seconds`` (or was not tried after timeouts)."""


@dataclass(frozen=True)
class EngineOutcome:
    """Everything one :class:`EngineTask` produced."""

    engine: EngineName
    profile: ProfileName
    windows: tuple[WindowWeights, ...]
    simulations: dict[SimulatorName, SimulationResult] = field(default_factory=dict)
    simulation_errors: dict[SimulatorName, str] = field(default_factory=dict)
    skipped: tuple[SimulatorName, ...] = ()
    sensitivity: dict[float, SimulationResult] = field(default_factory=dict)
    sensitivity_errors: dict[float, str] = field(default_factory=dict)
    seconds_weights: float = 0.0
    seconds_simulators: dict[SimulatorName, float] = field(default_factory=dict)
    reference_realized: SimulationResult | None = None
    """The realized simulator over the reference span, when it is shorter than the whole."""


def _allowed(engine: EngineName, profile: ProfileName, decision: DecisionInputs) -> list[str]:
    if engine is EngineName.MARKET or profile is ProfileName.MARKET:
        return [decision.baseline]
    return list(decision.symbols)


def _fit_worker(task: EngineTask) -> FitWorker | None:
    """A budgeted worker for a peer engine, None for an inline fit (ours, the market, no budget)."""
    budget = task.data.settings.tournament.peer_budget_seconds
    if budget is None or task.engine not in BUDGETED_ENGINES:
        return None
    return FitWorker(
        budget,
        label=f"{task.engine.value} {task.profile.value}",
        modules=modules_for([task.engine]),
        preload=modules_for(
            e for e in task.data.settings.tournament.engines if e in BUDGETED_ENGINES
        ),
    )


def _one_window(
    task: EngineTask,
    engine: Engine,
    worker: FitWorker | None,
    window: Window,
    decision: DecisionInputs,
    previous: pd.Series | None,
) -> WindowWeights:
    """An engine's weights for one window (inline or in the budgeted worker), or its error."""
    train = task.data.returns.iloc[window.train]
    args = (engine, train, decision, task.profile, previous)
    try:
        raw = fit_weights(*args) if worker is None else worker.call(fit_weights, *args)
        if raw is None:
            raise DataError(f"{task.engine.value} returned no weights for {task.profile.value}")
        gross = check_gross(raw, _allowed(task.engine, task.profile, decision))
    except FitTimeout as exc:
        return WindowWeights(window.index, False, error_text(exc), timed_out=True)
    except Exception as exc:  # a failing engine is a result, the tournament goes on
        return WindowWeights(window.index, False, error_text(exc))
    fallbacks = tuple(str(f) for f in gross.attrs.get("fallbacks", ()))
    net = decision.net_weights(gross)
    return WindowWeights(window.index, True, gross=gross, net=net, fallbacks=fallbacks)


def _window_weights(task: EngineTask) -> tuple[list[WindowWeights], float]:
    engine = make_engine(task.engine, task.data.settings)
    started = time.perf_counter()
    out: list[WindowWeights] = []
    previous: pd.Series | None = None
    streak, limit = 0, task.data.settings.tournament.peer_max_timeouts
    with contextlib.ExitStack() as stack:
        worker = _fit_worker(task)
        if worker is not None:
            stack.enter_context(worker)
        for window, decision, error in zip(
            task.data.windows, task.data.decisions, task.data.decision_errors, strict=True
        ):
            if decision is None:
                out.append(WindowWeights(window.index, False, f"decision failed: {error}"))
            elif limit and streak >= limit:
                note = f"not fitted: the {streak} previous windows timed out"
                out.append(WindowWeights(window.index, False, note, timed_out=True))
            else:
                item = _one_window(task, engine, worker, window, decision, previous)
                streak = streak + 1 if item.timed_out else 0
                if item.ok:
                    previous = item.net  # signed: a direction flip between windows is a trade
                out.append(item)
    return out, time.perf_counter() - started


def _reference_periods(
    periods: list[tuple[tuple[pd.Timestamp, pd.Timestamp], pd.Series]],
    returns: pd.DataFrame,
    sessions: int | None,
) -> list[tuple[tuple[pd.Timestamp, pd.Timestamp], pd.Series]]:
    """The latest periods covering at least ``sessions`` test sessions (all when None)."""
    if sessions is None:
        return periods
    index = returns.index
    covered = 0
    for k in range(len(periods) - 1, -1, -1):
        (start, end), _ = periods[k]
        covered += int(index.searchsorted(end, side="right") - index.searchsorted(start))
        if covered >= sessions:
            return periods[k:]
    return periods


Periods = list[tuple[tuple[pd.Timestamp, pd.Timestamp], pd.Series]]


def _held_periods(task: EngineTask, weights: list[WindowWeights]) -> tuple[Periods, pd.DataFrame]:
    """The test periods with weights, and the returns of every name they hold."""
    by_index = {w.index: w for w in task.data.windows}
    periods: Periods = []
    held: set[str] = set()
    for item in weights:
        if item.ok and item.net is not None:
            window = by_index[item.window]
            periods.append(((window.test_start, window.test_end), item.net))
            held.update(str(s) for s in item.net.index)  # zero weights too: every name is checked
    returns = task.data.returns
    return periods, returns.loc[:, [c for c in returns.columns if str(c) in held]]


def _simulate_all(
    task: EngineTask, periods: Periods, returns: pd.DataFrame, outcome: dict[str, Any]
) -> None:
    """Every simulator of the task into ``outcome`` (results, errors, skipped, seconds)."""
    cost_model = CostModel.from_settings(task.data.settings.backtest)
    sessions = task.data.settings.backtest.reference_sessions
    reference = _reference_periods(periods, returns, sessions)
    for simulator in task.simulators:
        if simulator is SimulatorName.CVXPORTFOLIO and not task.run_cvxportfolio:
            outcome["skipped"] += (simulator,)
            continue
        if not periods:
            outcome["simulation_errors"][simulator] = NO_WEIGHTS
            continue
        started = time.perf_counter()
        span = reference if simulator is SimulatorName.CVXPORTFOLIO else periods
        try:
            result = simulate_with(simulator, span, returns, cost_model=cost_model)
            outcome["simulations"][simulator] = result
            if simulator is SimulatorName.CVXPORTFOLIO and len(span) < len(periods):
                realized = simulate(span, returns, cost_model=cost_model)
                outcome["reference_realized"] = realized
        except Exception as exc:
            outcome["simulation_errors"][simulator] = error_text(exc)
        outcome["seconds_simulators"][simulator] = time.perf_counter() - started


def _sensitivity(
    task: EngineTask, periods: Periods, returns: pd.DataFrame, outcome: dict[str, Any]
) -> None:
    """The realized simulator at each slippage of ``task.sensitivity_bps`` into ``outcome``."""
    if not periods:
        return
    commission = CostModel.from_settings(task.data.settings.backtest).commission
    for bps in task.sensitivity_bps:
        model = CostModel(slippage=bps / 1e4, commission=commission)
        try:
            outcome["sensitivity"][bps] = simulate(periods, returns, cost_model=model)
        except Exception as exc:  # e.g. bankrupt: shown in the audit with its error
            outcome["sensitivity_errors"][bps] = error_text(exc)


def run_engine_task(task: EngineTask) -> EngineOutcome:
    """Weights of every window, then every simulator (a top-level function for executors)."""
    task = replace(task, inputs=resolve(task.inputs))
    weights, seconds = _window_weights(task)
    periods, returns = _held_periods(task, weights)
    outcome: dict[str, Any] = {
        "simulations": {},
        "simulation_errors": {},
        "skipped": (),
        "sensitivity": {},
        "sensitivity_errors": {},
        "seconds_simulators": {},
        "reference_realized": None,
    }
    _simulate_all(task, periods, returns, outcome)
    _sensitivity(task, periods, returns, outcome)
    return EngineOutcome(
        engine=task.engine,
        profile=task.profile,
        windows=tuple(weights),
        seconds_weights=seconds,
        **outcome,
    )


def warm_up(n: int) -> int:
    """Import the heavy libraries in a worker (benchmarks measure executor start-up with it)."""
    import cvxportfolio  # noqa: F401
    import cvxpy  # noqa: F401
    import pypfopt  # noqa: F401
    import riskfolio  # noqa: F401
    import skfolio  # noqa: F401

    return n


def held_returns(
    returns: pd.DataFrame, decisions: Sequence[DecisionInputs | None], baseline: str
) -> pd.DataFrame:
    """The columns some window holds (and the baseline): what the engine tasks need."""
    wanted = {baseline}
    for decision in decisions:
        if decision is not None:
            wanted.update(decision.symbols)
    return returns.loc[:, [c for c in returns.columns if c in wanted]]
