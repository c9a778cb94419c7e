"""Test doubles for the peer budget: a peer engine that hangs, and functions for a fit worker.

Imported by name in the fit workers (pytest puts this folder on ``sys.path``), so everything here
is top-level and picklable.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from clusterfolio.backtest.decision import DecisionInputs
from clusterfolio.backtest.engines import PeerEngine
from clusterfolio.enums import EngineName, ProfileName
from clusterfolio.manifest import Settings

HANG_S = 120.0
"""How long the slow engine sleeps: far beyond any budget of the tests."""


class SlowEngine(PeerEngine):
    """A fake skfolio: equal weights, except that a window from ``slow_from`` on hangs.

    Parameters
    ----------
    settings : Settings
        As for :class:`PeerEngine`.
    slow_from : pandas.Timestamp
        Windows whose training ends on or after this date hang for :data:`HANG_S` seconds.
    pid_folder : pathlib.Path
        Each hanging fit writes ``<pid>.pid`` here first, so a test can check it was killed.
    """

    def __init__(self, settings: Settings, slow_from: pd.Timestamp, pid_folder: Path) -> None:
        super().__init__(EngineName.SKFOLIO, settings)
        self.slow_from = pd.Timestamp(slow_from)
        self.pid_folder = Path(pid_folder)

    def weights(
        self,
        train_returns: pd.DataFrame,
        decision: DecisionInputs,
        profile: ProfileName,
        *,
        previous: pd.Series | None = None,
    ) -> pd.Series | None:
        """Hang in the slow windows (the pid recorded), else equal weights over the universe."""
        if pd.Timestamp(decision.train_end) >= self.slow_from:
            (self.pid_folder / f"{os.getpid()}.pid").write_text("hanging\n")
            time.sleep(HANG_S)
        symbols = list(decision.symbols)
        return pd.Series(1.0 / len(symbols), index=pd.Index(symbols), name="slow")


def sleep_then(seconds: float, value: Any) -> Any:
    """Sleep, then return ``value``."""
    time.sleep(seconds)
    return value


def fail_with(message: str) -> None:
    """Raise a ValueError with ``message``."""
    raise ValueError(message)


def worker_pid() -> int:
    """The pid of the process running this."""
    return os.getpid()


def fit_in_a_worker(budget_s: float) -> tuple[int, int]:
    """Run a budgeted fit from wherever this runs (a pool worker): (this pid, the fit's pid)."""
    from clusterfolio.backtest.tournament_budget import FitWorker

    with FitWorker(budget_s, label="nested") as worker:
        return os.getpid(), int(worker.call(worker_pid))
