"""The tournament's tables and summary: result rows, weights, summary rows and window documents.

Built from the engine outcomes (:mod:`~clusterfolio.backtest.tournament_engines`) and the
decisions (:mod:`~clusterfolio.backtest.tournament_decide`); layouts in
:mod:`clusterfolio.backtest.tournament`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.backtest.decision import DecisionInputs
from clusterfolio.backtest.engines import caps_enforced
from clusterfolio.backtest.metrics import periods_per_year, summary_metrics
from clusterfolio.backtest.simulators import SimulationResult
from clusterfolio.backtest.tournament_decide import DecideOutcome
from clusterfolio.backtest.tournament_engines import EngineOutcome, WindowWeights
from clusterfolio.backtest.tournament_types import (
    NO_WEIGHTS,
    RESULT_COLUMNS,
    TournamentStatus,
    series_key,
)
from clusterfolio.backtest.windows import Window
from clusterfolio.enums import EngineName, ProfileName, SimulatorName
from clusterfolio.errors import DataError

__all__ = [
    "results_frame",
    "summary_rows",
    "universe_periods",
    "weights_frame",
    "window_docs",
]


def _periods(
    result: SimulationResult,
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Each simulated test period as (first, last simulated session)."""
    index = result.returns.index
    starts = result.window_returns.index
    out = []
    for k, start in enumerate(starts):
        stop = (
            int(index.searchsorted(starts[k + 1], side="left"))
            if k + 1 < len(starts)
            else len(index)
        )
        out.append((pd.Timestamp(start), pd.Timestamp(index[stop - 1])))
    return out


def _metrics(result: SimulationResult, periods: int) -> dict[str, Any]:
    stats = summary_metrics(
        result.returns,
        periods=periods,
        turnover=result.turnover,
        costs=result.costs,
        windows=_periods(result),
    )
    return {
        "cagr": stats["cagr"],
        "volatility": stats["volatility"],
        "sharpe": stats["sharpe"],
        "sortino": stats["sortino"],
        "calmar": stats["calmar"],
        "max_drawdown": stats["max_drawdown"],
        "turnover": stats["turnover_annual"],
        "costs": stats["costs_total"],
        "win_rate": stats["window_win_rate"],
        "total_return": stats["total_return"],
        "turnover_mean": stats["turnover_mean"],
        "n_periods": int(stats["n_periods"]),
    }


def universe_periods(returns: pd.DataFrame, timeline: pd.DatetimeIndex) -> tuple[int, str]:
    """Periods per year of the universe: its calendars, or ``timeline``'s frequency.

    Parameters
    ----------
    returns : pandas.DataFrame
        The audited matrix (its columns are the universe).
    timeline : pandas.DatetimeIndex
        The simulated sessions (used when the calendars are mixed or unknown).

    Returns
    -------
    (int, str)
        The figure and its source (``calendars``, ``mixed calendars: series frequency`` or
        ``unknown calendar: series frequency``).
    """
    from clusterfolio.data.calendars import calendar_for_symbol

    try:
        calendars = {calendar_for_symbol(str(s)) for s in returns.columns}
    except DataError:
        return periods_per_year(timeline), "unknown calendar: series frequency"
    source = "calendars" if len(calendars) == 1 else "mixed calendars: series frequency"
    return periods_per_year(sorted(calendars), index=timeline), source


def _max_gross(
    item: WindowWeights, decision: DecisionInputs | None
) -> tuple[float | None, float | None]:
    if not item.ok or item.gross is None or decision is None:
        return None, None
    gross = item.gross
    by_cluster: dict[int, float] = {}
    for symbol, value in gross.items():
        cluster = decision.clusters.get(str(symbol), -1)
        by_cluster[cluster] = by_cluster.get(cluster, 0.0) + float(value)
    return float(gross.max()), max(by_cluster.values())


def _result_row(
    engine: EngineName,
    profile: ProfileName,
    simulator: SimulatorName,
    window: Window,
    outcome: EngineOutcome | None,
    cvx_note: str,
) -> dict[str, Any]:
    """One row of ``tournament_results.parquet``."""
    row: dict[str, Any] = {
        "engine": engine.value,
        "profile": profile.value,
        "simulator": simulator.value,
        "window": window.index,
        "test_start": window.test_start,
        "test_end": window.test_end,
        "period_return": math.nan,
        "turnover": math.nan,
        "costs": math.nan,
        "status": TournamentStatus.OK.value,
        "error": None,
    }
    if outcome is None:
        row.update(
            status=TournamentStatus.NOT_APPLICABLE.value,
            error=f"{engine.value} does not implement {profile.value}",
        )
        return row
    item = outcome.windows[window.index]
    result = outcome.simulations.get(simulator)
    if not item.ok:
        status = TournamentStatus.TIMEOUT if item.timed_out else TournamentStatus.FAILED
        row.update(status=status.value, error=item.error)
    elif simulator in outcome.skipped:
        row.update(status=TournamentStatus.SKIPPED.value, error=cvx_note)
    elif result is None:
        error = outcome.simulation_errors.get(simulator, "not simulated")
        row.update(status=TournamentStatus.FAILED.value, error=error)
    elif window.test_start not in result.window_returns.index:
        error = "before the reference span (backtest.reference_sessions)"
        row.update(status=TournamentStatus.SKIPPED.value, error=error)
    else:
        start = window.test_start
        row["period_return"] = float(result.window_returns.loc[start])
        row["turnover"] = float(result.turnover.loc[start])
        row["costs"] = float(result.costs.loc[start])
    return row


def results_frame(
    pairs: list[tuple[EngineName, ProfileName]],
    outcomes: dict[tuple[EngineName, ProfileName], EngineOutcome],
    windows: list[Window],
    simulators: list[SimulatorName],
    cvx_note: str,
) -> pd.DataFrame:
    """``tournament_results.parquet``: one row per engine, profile, simulator and window."""
    rows = [
        _result_row(engine, profile, simulator, window, outcomes.get((engine, profile)), cvx_note)
        for engine, profile in pairs
        for simulator in simulators
        for window in windows
    ]
    frame = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    frame["window"] = frame["window"].astype(np.int64)
    for column in ("test_start", "test_end"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    for column in ("period_return", "turnover", "costs"):
        frame[column] = frame[column].astype(np.float64)
    frame["error"] = frame["error"].astype(object)
    return frame


def weights_frame(outcomes: list[EngineOutcome]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for outcome in outcomes:
        for item in outcome.windows:
            if not item.ok or item.gross is None or item.net is None:
                continue
            for symbol, gross, net in zip(
                item.gross.index, item.gross.to_numpy(), item.net.to_numpy(), strict=True
            ):
                if gross == 0.0:
                    continue
                rows.append(
                    {
                        "engine": outcome.engine.value,
                        "profile": outcome.profile.value,
                        "window": item.window,
                        "symbol": str(symbol),
                        "gross": float(gross),
                        "net": float(net),
                    }
                )
    frame = pd.DataFrame(rows, columns=["engine", "profile", "window", "symbol", "gross", "net"])
    frame["window"] = frame["window"].astype(np.int64)
    frame["gross"] = frame["gross"].astype(np.float64)
    frame["net"] = frame["net"].astype(np.float64)
    return frame


def _failed_windows(failed: list[WindowWeights], total: int) -> str:
    timeouts = sum(1 for w in failed if w.timed_out)
    among = f" ({timeouts} timed out)" if timeouts else ""
    return f"{len(failed)} of {total} windows failed{among}: " + "; ".join(
        f"window {w.window}: {w.error}" for w in failed
    )


def _window_stats(outcome: EngineOutcome, decisions: list[DecisionInputs | None]) -> dict[str, Any]:
    """Windows with weights, timeouts, the largest asset and cluster, the fallbacks counted."""
    failed = [w for w in outcome.windows if not w.ok]
    sizes = [_max_gross(w, decisions[w.window]) for w in outcome.windows]
    assets = [a for a, _ in sizes if a is not None]
    clusters = [c for _, c in sizes if c is not None]
    kinds = sorted({k for w in outcome.windows for k in w.fallbacks})
    return {
        "windows_ok": len(outcome.windows) - len(failed),
        "windows_timeout": sum(1 for w in failed if w.timed_out),
        "max_asset_gross": max(assets) if assets else None,
        "max_cluster_gross": max(clusters) if clusters else None,
        "fallbacks": {
            k: sum(1 for w in outcome.windows for f in w.fallbacks if f == k) for k in kinds
        },
    }


def summary_rows(
    pairs: list[tuple[EngineName, ProfileName]],
    outcomes: dict[tuple[EngineName, ProfileName], EngineOutcome],
    decisions: list[DecisionInputs | None],
    simulators: list[SimulatorName],
    periods: int,
    cvx_note: str,
) -> tuple[list[dict[str, Any]], dict[str, pd.Series]]:
    rows: list[dict[str, Any]] = []
    series: dict[str, pd.Series] = {}
    for engine, profile in pairs:
        outcome = outcomes.get((engine, profile))
        caps = caps_enforced(engine, profile)
        for simulator in simulators:
            row: dict[str, Any] = {
                "engine": engine.value,
                "profile": profile.value,
                "simulator": simulator.value,
                "status": TournamentStatus.OK.value,
                "error": None,
                "metrics": None,
                "caps_enforced": caps,
            }
            if outcome is None:
                row["status"] = TournamentStatus.NOT_APPLICABLE.value
                row["error"] = f"{engine.value} does not implement {profile.value}"
                rows.append(row)
                continue
            failed = [w for w in outcome.windows if not w.ok]
            row.update(_window_stats(outcome, decisions))
            result = outcome.simulations.get(simulator)
            if simulator in outcome.skipped:
                row["status"] = TournamentStatus.SKIPPED.value
                row["error"] = cvx_note
            elif result is None:
                row["status"] = TournamentStatus.FAILED.value
                parts = [_failed_windows(failed, len(outcome.windows))] if failed else []
                error = outcome.simulation_errors.get(simulator)
                if error and error != NO_WEIGHTS:
                    parts.append(f"{simulator.value} simulator: {error}")
                row["error"] = " | ".join(parts) or "not simulated"
            else:
                if failed:
                    row["status"] = TournamentStatus.PARTIAL.value
                    row["error"] = _failed_windows(failed, len(outcome.windows))
                row["metrics"] = _metrics(result, periods)
                series[series_key(engine, profile, simulator)] = result.returns
            rows.append(row)
    return rows, series


def window_docs(windows: list[Window], outcomes: list[DecideOutcome]) -> list[dict[str, Any]]:
    docs = []
    for window, outcome in zip(windows, outcomes, strict=True):
        doc: dict[str, Any] = {
            "index": window.index,
            "train_start": window.train_start.isoformat(),
            "train_end": window.train_end.isoformat(),
            "test_start": window.test_start.isoformat(),
            "test_end": window.test_end.isoformat(),
            "n_train": window.n_train,
            "n_test": window.n_test,
            "status": TournamentStatus.OK.value
            if outcome.value is not None
            else TournamentStatus.FAILED.value,
            "error": outcome.error,
        }
        if outcome.value is not None:
            decision = outcome.value.to_dict()
            decision.pop("train_start", None)
            decision.pop("train_end", None)
            doc["decision"] = decision
        docs.append(doc)
    return docs
