"""The tournament's decisions: point-in-time universes and each window's decision.

Every ``backtest.reselect_every``-th window (the first included) chooses its universe from the
market cut at its training end (:func:`run_universe_task`); every window then decides from its
training slice and the latest universe chosen at or before it (:func:`run_decide_task`). Tasks
are picklable and their functions top-level, so any executor can run them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypeVar

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

T = TypeVar("T")

__all__ = [
    "DecideOutcome",
    "DecideTask",
    "UniverseOutcome",
    "UniverseTask",
    "WindowOutcome",
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
class WindowOutcome(Generic[T]):
    """What a window's task produced, or the error that prevented it, and its duration.

    Attributes
    ----------
    window : int
        The window's index.
    value : T or None
        The result (None when the task failed).
    error : str or None
        ``Type: message`` of the failure.
    seconds : float
        Wall time of the task.
    """

    window: int
    value: T | None
    error: str | None
    seconds: float


UniverseOutcome: TypeAlias = WindowOutcome[UniverseChoice]
"""A universe chosen at a window's training end, or the error that prevented it."""
DecideOutcome: TypeAlias = WindowOutcome[DecisionInputs]
"""A window's decision, or the error that prevented it."""


def _timed(window: int, work: Callable[[], T]) -> WindowOutcome[T]:
    """Run ``work``: its result, or its failure recorded (the tournament goes on), timed."""
    started = time.perf_counter()
    try:
        value = work()
    except Exception as exc:  # a window that cannot choose or decide is a recorded failure
        return WindowOutcome(window, None, error_text(exc), time.perf_counter() - started)
    return WindowOutcome(window, value, None, time.perf_counter() - started)


def run_universe_task(task: UniverseTask) -> UniverseOutcome:
    """Screens, raw pool and natural selection on the history cut at ``task.day``."""
    return _timed(task.window, lambda: choose_universe(task.history, task.day, task.settings))


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


def run_decide_task(task: DecideTask) -> DecideOutcome:
    """Decide a window on its training slice (and its point-in-time universe)."""
    if task.universe_error is not None:
        return WindowOutcome(task.window, None, task.universe_error, 0.0)
    return _timed(
        task.window,
        lambda: decide(task.train, task.directions, task.settings, universe=task.universe),
    )


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
    if outcome.value is None:
        error = f"universe chosen at window {outcome.window} failed: {outcome.error}"
        return DecideTask(window.index, train, directions, None, settings, error)
    columns = [
        c for c in train.columns if c in {*outcome.value.symbols, settings.backtest.baseline}
    ]
    return DecideTask(window.index, train.loc[:, columns], directions, outcome.value, settings)
