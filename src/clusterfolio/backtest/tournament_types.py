"""The tournament's vocabulary: result columns, statuses, series keys.

Shared by :mod:`~clusterfolio.backtest.tournament` and its parts (``tournament_decide``,
``tournament_engines``, ``tournament_summary``, ``tournament_decay``); the layout of every
artifact is described in :mod:`clusterfolio.backtest.tournament`, their names are those of
:mod:`clusterfolio.artifacts.tournament` and their JSON encoding :mod:`clusterfolio.artifacts.encoding`.
"""

from __future__ import annotations

from enum import StrEnum

from clusterfolio.enums import EngineName, ProfileName, SimulatorName

__all__ = [
    "DEFAULT_CVXPORTFOLIO_ENGINES",
    "NO_WEIGHTS",
    "RESULT_COLUMNS",
    "SENSITIVITY_BPS",
    "TournamentStatus",
    "error_text",
    "series_key",
]

RESULT_COLUMNS: tuple[str, ...] = (
    "engine",
    "profile",
    "simulator",
    "window",
    "test_start",
    "test_end",
    "period_return",
    "turnover",
    "costs",
    "status",
    "error",
)
"""Columns of ``tournament_results.parquet``, in order."""

SENSITIVITY_BPS: tuple[float, ...] = (0.0, 5.0, 10.0, 20.0)
"""Slippage levels (bps) of the cost sensitivity of ``slippage_decay.json``."""

NO_WEIGHTS = "no window has weights"

DEFAULT_CVXPORTFOLIO_ENGINES: tuple[EngineName, ...] = (EngineName.CUSTOM, EngineName.MARKET)
"""Engines the cvxportfolio reference simulator runs for by default (its cost bound)."""


class TournamentStatus(StrEnum):
    """Status of a result row (per window) or a summary row (per engine, profile, simulator)."""

    OK = "ok"
    PARTIAL = "partial"
    """Summary only: some windows failed; metrics are over the windows that have weights."""
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"
    """The engine does not implement the profile."""
    SKIPPED = "skipped"
    """The cvxportfolio simulator was bounded to other engines."""
    TIMEOUT = "timeout"
    """Result rows only: the peer's fit exceeded ``tournament.peer_budget_seconds`` and was
    stopped (or was not tried after ``tournament.peer_max_timeouts`` consecutive timeouts)."""


def series_key(engine: EngineName, profile: ProfileName, simulator: SimulatorName) -> str:
    """Column name of ``tournament_returns.parquet``: ``engine|profile|simulator``."""
    return (
        f"{EngineName(engine).value}|{ProfileName(profile).value}|{SimulatorName(simulator).value}"
    )


def error_text(exc: BaseException) -> str:
    """``Type: message`` of an exception (a recorded failure)."""
    return f"{type(exc).__name__}: {exc}"
