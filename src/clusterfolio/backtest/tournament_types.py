"""The tournament's vocabulary: artifact names, result columns, statuses, series keys.

Shared by :mod:`~clusterfolio.backtest.tournament` and its parts (``tournament_decide``,
``tournament_engines``, ``tournament_summary``, ``tournament_decay``); the layout of every
artifact is described in :mod:`clusterfolio.backtest.tournament`.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

import numpy as np

from clusterfolio.enums import EngineName, ProfileName, SimulatorName

__all__ = [
    "DEFAULT_CVXPORTFOLIO_ENGINES",
    "NO_WEIGHTS",
    "RESULTS",
    "RESULT_COLUMNS",
    "RETURNS",
    "SENSITIVITY_BPS",
    "SLIPPAGE_DECAY",
    "SUMMARY",
    "WEIGHTS",
    "TournamentStatus",
    "error_text",
    "json_ready",
    "series_key",
]

RESULTS = "tournament_results.parquet"
SUMMARY = "tournament_summary.json"
RETURNS = "tournament_returns.parquet"
WEIGHTS = "tournament_weights.parquet"
SLIPPAGE_DECAY = "slippage_decay.json"

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


def json_ready(value: Any) -> Any:
    """JSON-ready: non-finite floats become None, numpy scalars plain Python."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, StrEnum):
        return value.value
    return value
