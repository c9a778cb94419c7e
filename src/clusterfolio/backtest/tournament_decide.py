"""The tournament's decisions: point-in-time universes and each window's decision.

Every ``backtest.reselect_every``-th window (the first included) chooses its universe from the
market cut at its training end (:func:`run_universe_task`); every window then decides from its
training slice and the latest universe chosen at or before it (:func:`run_decide_task`). Tasks
are picklable and their functions top-level, so any executor can run them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from clusterfolio.backtest.decision import DecisionInputs, decide
from clusterfolio.backtest.executors import Executor
from clusterfolio.backtest.history import MarketHistory
from clusterfolio.backtest.tournament_types import error_text
from clusterfolio.backtest.universe import UniverseChoice, choose_universe
from clusterfolio.backtest.windows import Window
from clusterfolio.enums import Direction
from clusterfolio.errors import ConfigError
from clusterfolio.manifest import Settings

__all__ = [
    "DecideOutcome",
    "DecideTask",
    "UniverseOutcome",
    "UniverseTask",
    "choose_universes",
    "decide_task",
    "run_decide_task",
    "run_universe_task",
]


@dataclass(frozen=True)
class UniverseTask:
    """One point-in-time universe choice (picklable, see :func:`run_universe_task`)."""

    window: int
    history: MarketHistory
    day: pd.Timestamp
    settings: Settings


@dataclass(frozen=True)
class UniverseOutcome:
    """A universe chosen at a window's training end, or the error that prevented it."""

    window: int
    choice: UniverseChoice | None
    error: str | None
    seconds: float


def run_universe_task(task: UniverseTask) -> UniverseOutcome:
    """Screens, raw pool and natural selection on the history cut at ``task.day``."""
    started = time.perf_counter()
    try:
        choice = choose_universe(task.history, task.day, task.settings)
    except Exception as exc:  # a window that cannot choose is a recorded failure
        return UniverseOutcome(task.window, None, error_text(exc), time.perf_counter() - started)
    return UniverseOutcome(task.window, choice, None, time.perf_counter() - started)


@dataclass(frozen=True)
class DecideTask:
    """One window's decision request (picklable, see :func:`run_decide_task`).

    ``universe`` is the point-in-time universe the window holds, or None for the as-of
    winners' universe (the columns of ``train`` with ``directions``); ``universe_error`` says
    why a point-in-time universe is missing.
    """

    window: int
    train: pd.DataFrame
    directions: dict[str, Direction]
    universe: UniverseChoice | None
    settings: Settings
    universe_error: str | None = None


@dataclass(frozen=True)
class DecideOutcome:
    """A window's decision, or the error that prevented it."""

    window: int
    decision: DecisionInputs | None
    error: str | None
    seconds: float


def run_decide_task(task: DecideTask) -> DecideOutcome:
    """Decide a window on its training slice (and its point-in-time universe)."""
    started = time.perf_counter()
    if task.universe_error is not None:
        return DecideOutcome(task.window, None, task.universe_error, 0.0)
    try:
        decision = decide(task.train, task.directions, task.settings, universe=task.universe)
    except Exception as exc:  # a window that cannot decide is a recorded failure
        return DecideOutcome(task.window, None, error_text(exc), time.perf_counter() - started)
    return DecideOutcome(task.window, decision, None, time.perf_counter() - started)


def history_cut(history: MarketHistory | None, window: Window, settings: Settings) -> MarketHistory:
    """The market a window may read: bars up to its training end, back far enough for screens."""
    if history is None:  # guarded by run_tournament
        raise ConfigError("point_in_time needs a market history")
    days = settings.discovery.history_days + 2 * settings.data.light_lookback_days
    return history.until(window.train_end, since=window.train_end - pd.Timedelta(days=days))


def choose_universes(
    runner: Executor, history: MarketHistory | None, windows: list[Window], settings: Settings
) -> list[UniverseOutcome]:
    """Choose the universe at every ``reselect_every``-th window's training end (the first too)."""
    every = settings.backtest.reselect_every
    tasks = [
        UniverseTask(w.index, history_cut(history, w, settings), w.train_end, settings)
        for w in windows[::every]
    ]
    return runner.map(run_universe_task, tasks)


def decide_task(
    window: Window,
    returns: pd.DataFrame,
    directions: dict[str, Direction],
    universes: list[UniverseOutcome],
    settings: Settings,
) -> DecideTask:
    """A window's decision task: the latest universe chosen at or before it (point in time)."""
    train = returns.iloc[window.train]
    if not universes:
        return DecideTask(window.index, train, directions, None, settings)
    outcome = universes[window.index // settings.backtest.reselect_every]
    if outcome.choice is None:
        error = f"universe chosen at window {outcome.window} failed: {outcome.error}"
        return DecideTask(window.index, train, directions, None, settings, error)
    columns = [
        c for c in train.columns if c in {*outcome.choice.symbols, settings.backtest.baseline}
    ]
    return DecideTask(window.index, train.loc[:, columns], directions, outcome.choice, settings)
