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
from dataclasses import dataclass, field

import pandas as pd

from clusterfolio.backtest.costs import CostModel
from clusterfolio.backtest.decision import DecisionInputs
from clusterfolio.backtest.engines import Engine, check_gross, make_engine
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
    "EngineOutcome",
    "EngineTask",
    "WindowWeights",
    "held_returns",
    "run_engine_task",
    "warm_up",
]


@dataclass(frozen=True)
class EngineTask:
    """One engine and profile over every window (picklable, see :func:`run_engine_task`)."""

    engine: EngineName
    profile: ProfileName
    windows: tuple[Window, ...]
    decisions: tuple[DecisionInputs | None, ...]
    decision_errors: tuple[str | None, ...]
    returns: pd.DataFrame
    settings: Settings
    simulators: tuple[SimulatorName, ...]
    run_cvxportfolio: bool = True
    sensitivity_bps: tuple[float, ...] = ()


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
    budget = task.settings.tournament.peer_budget_seconds
    if budget is None or task.engine not in BUDGETED_ENGINES:
        return None
    return FitWorker(
        budget,
        label=f"{task.engine.value} {task.profile.value}",
        modules=modules_for([task.engine]),
        preload=modules_for(e for e in task.settings.tournament.engines if e in BUDGETED_ENGINES),
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
    train = task.returns.iloc[window.train]
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
    engine = make_engine(task.engine, task.settings)
    started = time.perf_counter()
    out: list[WindowWeights] = []
    previous: pd.Series | None = None
    streak, limit = 0, task.settings.tournament.peer_max_timeouts
    with contextlib.ExitStack() as stack:
        worker = _fit_worker(task)
        if worker is not None:
            stack.enter_context(worker)
        for window, decision, error in zip(
            task.windows, task.decisions, task.decision_errors, strict=True
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


def run_engine_task(task: EngineTask) -> EngineOutcome:
    """Weights of every window, then every simulator (a top-level function for executors)."""
    weights, seconds = _window_weights(task)
    by_index = {w.index: w for w in task.windows}
    periods: list[tuple[tuple[pd.Timestamp, pd.Timestamp], pd.Series]] = []
    held: set[str] = set()
    for item in weights:
        if item.ok and item.net is not None:
            window = by_index[item.window]
            periods.append(((window.test_start, window.test_end), item.net))
            held.update(
                str(s) for s in item.net.index
            )  # zero weights too: the simulators check every name
    columns = [c for c in task.returns.columns if str(c) in held]
    returns = task.returns.loc[:, columns]
    cost_model = CostModel.from_settings(task.settings.backtest)
    simulations: dict[SimulatorName, SimulationResult] = {}
    errors: dict[SimulatorName, str] = {}
    skipped: list[SimulatorName] = []
    timing: dict[SimulatorName, float] = {}
    reference = _reference_periods(periods, returns, task.settings.backtest.reference_sessions)
    reference_realized: SimulationResult | None = None
    for simulator in task.simulators:
        if simulator is SimulatorName.CVXPORTFOLIO and not task.run_cvxportfolio:
            skipped.append(simulator)
            continue
        if not periods:
            errors[simulator] = NO_WEIGHTS
            continue
        started = time.perf_counter()
        span = reference if simulator is SimulatorName.CVXPORTFOLIO else periods
        try:
            simulations[simulator] = simulate_with(simulator, span, returns, cost_model=cost_model)
            if simulator is SimulatorName.CVXPORTFOLIO and len(span) < len(periods):
                reference_realized = simulate(span, returns, cost_model=cost_model)
        except Exception as exc:
            errors[simulator] = error_text(exc)
        timing[simulator] = time.perf_counter() - started
    sensitivity: dict[float, SimulationResult] = {}
    sensitivity_errors: dict[float, str] = {}
    if periods:
        for bps in task.sensitivity_bps:
            model = CostModel(slippage=bps / 1e4, commission=cost_model.commission)
            try:
                sensitivity[bps] = simulate(periods, returns, cost_model=model)
            except Exception as exc:  # e.g. bankrupt: shown in the audit with its error
                sensitivity_errors[bps] = error_text(exc)
    return EngineOutcome(
        engine=task.engine,
        profile=task.profile,
        windows=tuple(weights),
        simulations=simulations,
        simulation_errors=errors,
        skipped=tuple(skipped),
        sensitivity=sensitivity,
        sensitivity_errors=sensitivity_errors,
        seconds_weights=seconds,
        seconds_simulators=timing,
        reference_realized=reference_realized,
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
