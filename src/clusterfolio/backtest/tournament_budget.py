"""Peer fits within a time budget: each fit runs in a worker process killed at its deadline.

A fit running in a thread cannot be stopped, so a peer engine's fit (skfolio, Riskfolio-Lib,
PyPortfolioOpt, cvxportfolio: :data:`BUDGETED_ENGINES`) runs in a :class:`FitWorker`, a child
process that serves one fit at a time over a pipe. When a fit has not answered within
``tournament.peer_budget_seconds`` the child is killed (``SIGKILL``: it is really stopped, its
memory returned) and :class:`FitTimeout` is raised; the next fit starts a fresh child. The
tournament records such a window as ``timeout`` and goes on.

Workers are forked from a ``forkserver`` (one per process that runs fits: the driver, a local
pool worker, a Ray worker) that imported the libraries of the tournament's peers once
(:func:`modules_for`), so a worker starts in milliseconds, never from a thread-holding parent
(the ``fork`` start method is unsafe in a Ray worker or a process with BLAS threads). A new
worker imports its engine's libraries before its first fit, outside the budget (a no-op when the
forkserver had them). The engine object, the training slice and
the decision travel by pickle; the fit's result (or its exception) comes back the same way, so a
fit in a worker gives the same weights as the same fit inline.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import time
from collections.abc import Iterable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Any

import pandas as pd

from clusterfolio.backtest.decision import DecisionInputs
from clusterfolio.backtest.executors import Managed
from clusterfolio.enums import EngineName, ProfileName
from clusterfolio.errors import OptimizationError

__all__ = [
    "BASE_MODULES",
    "BUDGETED_ENGINES",
    "ENGINE_MODULES",
    "FitTimeout",
    "FitWorker",
    "fit_weights",
    "modules_for",
]

BUDGETED_ENGINES: frozenset[EngineName] = frozenset(
    {
        EngineName.SKFOLIO,
        EngineName.RISKFOLIO,
        EngineName.PYPORTFOLIOOPT,
        EngineName.CVXPORTFOLIO,
    }
)
"""Engines whose fits run within the budget (the peers); ours and the market run inline."""

BASE_MODULES: tuple[str, ...] = (
    "clusterfolio.backtest.tournament_budget",
    "clusterfolio.backtest.engines",
    "clusterfolio.optimize.peers",
    "cvxpy",
)
"""Modules every fit worker needs."""

ENGINE_MODULES: dict[EngineName, tuple[str, ...]] = {
    EngineName.SKFOLIO: (
        "skfolio.cluster",
        "skfolio.distance",
        "skfolio.measures",
        "skfolio.optimization",
        "skfolio.seriation",
    ),
    EngineName.RISKFOLIO: ("riskfolio",),
    EngineName.PYPORTFOLIOOPT: ("pypfopt",),
    EngineName.CVXPORTFOLIO: ("cvxportfolio", "clusterfolio.backtest.simulators"),
}
"""The libraries of each budgeted engine, imported before its first fit (outside the budget)."""

_STOP_WAIT_S = 5.0
START_TIMEOUT_S = 600.0
"""How long a new worker may take to import its libraries (not counted in the budget)."""


class FitTimeout(OptimizationError):
    """A fit did not answer within its budget (its worker was killed)."""


def fit_weights(
    engine: Any,
    train: pd.DataFrame,
    decision: DecisionInputs,
    profile: ProfileName,
    previous: pd.Series | None,
) -> pd.Series | None:
    """One engine fit (the function a :class:`FitWorker` runs): ``engine.weights(...)``."""
    result: pd.Series | None = engine.weights(train, decision, profile, previous=previous)
    return result


def _serve(conn: Connection) -> None:
    """The worker's loop: receive ``(fn, args)``, answer ``("ok", value)`` or ``("error", exc)``."""
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        fn, args = message
        try:
            answer: tuple[str, Any] = ("ok", fn(*args))
        except Exception as exc:  # the parent re-raises it: a failing fit is a result
            answer = ("error", exc)
        try:
            conn.send(answer)
        except Exception as exc:  # an unpicklable value or exception: say what it was
            conn.send(("error", OptimizationError(f"{type(exc).__name__}: {exc}")))


def modules_for(engines: Iterable[EngineName]) -> tuple[str, ...]:
    """:data:`BASE_MODULES` and the libraries of the budgeted ``engines``, without repeats."""
    names = [*BASE_MODULES]
    for engine in engines:
        names.extend(ENGINE_MODULES.get(EngineName(engine), ()))
    return tuple(dict.fromkeys(names))


def import_modules(names: Sequence[str]) -> int:
    """Import ``names`` (a new worker's warm-up); how many there were."""
    for name in names:
        importlib.import_module(name)
    return len(names)


def _context(preload: Sequence[str]) -> BaseContext:
    context = multiprocessing.get_context("forkserver")
    # effective when this process starts its forkserver (the first worker); later calls are moot
    context.set_forkserver_preload(list(preload))
    return context


class FitWorker(Managed):
    """A child process running fits one at a time, killed when a fit passes its budget.

    Parameters
    ----------
    budget_s : float
        Seconds a fit may take, from the request to its answer.
    label : str
        Named in the errors (``skfolio hrp``).
    modules : sequence of str
        What a new worker imports before its first fit, outside the budget (:func:`modules_for`).
    preload : sequence of str, optional
        What this process's forkserver imports once, when it starts (default ``modules``): the
        libraries of every budgeted engine of the tournament, so that each worker starts warm.

    Notes
    -----
    Use as a context manager; :meth:`shutdown` stops the child (idempotent).
    """

    def __init__(
        self,
        budget_s: float,
        label: str = "fit",
        modules: Sequence[str] = BASE_MODULES,
        preload: Sequence[str] | None = None,
    ) -> None:
        if not budget_s > 0:
            raise ValueError(f"FitWorker: budget_s must be positive, got {budget_s!r}")
        self.budget_s = float(budget_s)
        self.label = label
        self.modules = tuple(modules)
        self.preload = self.modules if preload is None else tuple(preload)
        self._process: Any = None
        self._conn: Connection | None = None

    def _start(self) -> Connection:
        context = _context(self.preload)
        parent, child = context.Pipe(duplex=True)
        process = context.Process(  # type: ignore[attr-defined]
            target=_serve, args=(child,), name=f"clusterfolio-fit-{self.label}", daemon=True
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        parent.send((import_modules, (self.modules,)))
        if not parent.poll(START_TIMEOUT_S):
            self._kill()
            raise OptimizationError(
                f"{self.label}: the fit worker did not import its libraries in {START_TIMEOUT_S:g} s"
            )
        self._answer(parent)
        return parent

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` in the worker; its value, or its exception re-raised.

        Raises
        ------
        FitTimeout
            When no answer came within the budget (the worker is killed).
        OptimizationError
            When the worker died without answering.
        """
        conn = self._conn if self._conn is not None else self._start()
        started = time.perf_counter()
        conn.send((fn, args))
        left = self.budget_s - (time.perf_counter() - started)
        if not conn.poll(max(left, 0.0)):
            self._kill()
            raise FitTimeout(
                f"{self.label}: the fit exceeded its budget of {self.budget_s:g} s and was stopped"
            )
        return self._answer(conn)

    def _answer(self, conn: Connection) -> Any:
        try:
            status, value = conn.recv()
        except EOFError:
            code = self._kill()
            raise OptimizationError(
                f"{self.label}: the fit worker died without answering (exit code {code})"
            ) from None
        if status == "error":
            raise value
        return value

    def _kill(self) -> int | None:
        process, conn = self._process, self._conn
        self._process, self._conn = None, None
        if conn is not None:
            conn.close()
        if process is None:
            return None
        process.kill()
        process.join(_STOP_WAIT_S)
        code: int | None = process.exitcode
        process.close()
        return code

    def shutdown(self) -> None:
        """Ask the worker to stop, kill it if it does not (idempotent)."""
        process, conn = self._process, self._conn
        if process is None or conn is None:
            return
        with contextlib.suppress(OSError):
            conn.send(None)
        process.join(_STOP_WAIT_S)
        if process.exitcode is None:
            self._kill()
            return
        self._process, self._conn = None, None
        conn.close()
        process.close()
