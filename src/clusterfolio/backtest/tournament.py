r"""The validation tournament (step 12): engines x profiles x simulators, walk forward.

Session axis
------------
With ``backtest.universe = point_in_time`` (the default) ``returns`` holds every listing of the
market history (:func:`~clusterfolio.data.returns.returns_between`); with ``as_of_winners`` it is
the audited matrix ``returns.parquet``. Its index is the sorted union of the assets' own sessions
and a NaN means the asset's market was closed. Windows
(:func:`~clusterfolio.backtest.windows.walk_forward_windows`) count rows of that union index:
``backtest.train`` rows of training, ``backtest.test`` rows of test every ``backtest.step`` rows,
every window that fits (or, with ``backtest.realized_target``, the fewest last windows whose test
periods cover that many rows). In the simulators an asset that did not trade on a row has a
return of 0 (it did not move); its statistics in a training slice use its own observations only
(intersection correlation, pairwise-complete covariance; the peers use the complete rows).

Point in time
-------------
Every ``backtest.reselect_every``-th window (the first included) chooses its universe from the
market cut at its training end (:func:`~clusterfolio.backtest.universe.choose_universe`: screens,
raw pool, natural selection with directions); the windows in between hold the last universe
chosen before them. Every window then decides from its training slice only
(:func:`~clusterfolio.backtest.decision.decide`: regime, clusters, statistics, scores), and every
engine computes its weights from the same slice and the same decision. The weights are held from
the first test session (the rebalance, before its return) to the end of the test period. With
``as_of_winners`` the universe is the matrix's columns with the as-of directions (look-ahead,
labelled in the summary's ``settings.universe`` and in every report).

Engines and profiles
--------------------
Each engine implements the profiles it can (:mod:`clusterfolio.backtest.engines`); every other
requested pair is reported ``not_applicable`` and never filled by another engine. A failure (a
peer's error, infeasible caps, a decision that could not be made) is recorded on its window
(status ``failed`` with the error) and the tournament goes on: the simulators then run on the
windows that have weights (the failed test periods are not simulated, neither held in cash nor
carried over) and the summary row is ``partial``.

Simulators
----------
``idealized`` (no friction), ``realized`` (``CostModel.from_settings(backtest)``, the cost object
of the optimiser's turnover penalty: 5 bps slippage + 1 bp commission in production) and
``cvxportfolio`` (``MarketSimulator`` with the same cost, the reference). The cvxportfolio
simulator costs one to two seconds per engine and profile (40 assets, 200 sessions), about 70 %
of a whole tournament when it runs for every pair, while its accounting is the realized
simulator's (they agree to about 1e-15, recorded per pair in ``decay``). Its cost is therefore
bounded: by default it runs for the engines of :data:`DEFAULT_CVXPORTFOLIO_ENGINES` (the custom
engine, whose allocation is implemented, and the market); ``cvxportfolio_engines=None`` runs it
for every engine. The other pairs are ``skipped`` (not failed, not filled), and the summary
records the scope (``simulator_scope``).

Outputs (:func:`write_tournament_artifacts`)
--------------------------------------------
``tournament_results.parquet``
    One row per engine, profile, simulator and window: ``engine``, ``profile``, ``simulator``,
    ``window``, ``test_start``, ``test_end``, ``period_return`` (compounded over the test
    period, cost included), ``turnover`` (one-way at the rebalance), ``costs`` (paid at the
    rebalance, per unit of initial capital), ``status`` (``ok``, ``failed``,
    ``not_applicable``, ``skipped``) and ``error``.
``tournament_summary.json``
    ``baseline``, ``periods_per_year``, ``windows``, ``capabilities``, ``rows`` (one per engine,
    profile and simulator with ``status`` (``ok``, ``partial``, ``failed``,
    ``not_applicable``, ``skipped``), ``error`` and ``metrics``: ``cagr``, ``volatility``,
    ``sharpe``, ``sortino``, ``calmar``, ``max_drawdown``, ``turnover`` (annualised one-way),
    ``costs`` (total), ``win_rate`` (share of test periods with a positive return), plus
    ``total_return``, ``turnover_mean`` and ``n_periods``; ``caps_enforced``, ``max_asset_gross``,
    ``max_cluster_gross`` and ``fallbacks``), ``decay`` (``idealized_cagr - realized_cagr`` per
    engine and profile); ``metrics`` also hold ``psr`` and ``dsr``
    (:mod:`~clusterfolio.backtest.significance`, deflated by ``settings.trials``);
    ``annualisation`` names the convention of ``periods_per_year``, ``settings.caps`` the caps
    every engine received and ``plausibility`` the suspicious rows
    (:mod:`~clusterfolio.backtest.plausibility`). Timings are run-dependent and stay out of the artifacts
    (:attr:`TournamentResult.timing`).
``tournament_returns.parquet``
    Index ``session``, one column ``engine|profile|simulator`` of daily portfolio returns.
``tournament_weights.parquet``
    ``engine``, ``profile``, ``window``, ``symbol``, ``gross``, ``net`` (non-zero weights).
``slippage_decay.json`` (``features.feat_decay_audit``)
    Per engine and profile: turnover, idealized and realized CAGR, decay, decay per unit of
    annual turnover, and the realized CAGR with the slippage at 0 / 5 / 10 / 20 bps (commission
    at the manifest's value); a least-squares line of decay against annual turnover.

Metrics are :func:`~clusterfolio.backtest.metrics.summary_metrics` of the simulated daily
returns, annualised with :func:`~clusterfolio.backtest.metrics.periods_per_year` of the universe's
calendars (the series' own frequency when they are mixed). Results do not depend on the
executor or its number of workers: tasks are pure and come back in task order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.backtest.costs import CostModel
from clusterfolio.backtest.decision import DecisionInputs, decide
from clusterfolio.backtest.engines import (
    caps_enforced,
    check_gross,
    engine_capabilities,
    make_engine,
)
from clusterfolio.backtest.executors import Executor, make_executor
from clusterfolio.backtest.history import MarketHistory
from clusterfolio.backtest.metrics import annualisation, periods_per_year, summary_metrics
from clusterfolio.backtest.plausibility import plausibility_flags
from clusterfolio.backtest.significance import annotate_significance
from clusterfolio.backtest.simulators import SimulationResult, simulate, simulate_with
from clusterfolio.backtest.universe import UniverseChoice, choose_universe
from clusterfolio.backtest.windows import Window, covered_sessions, walk_forward_windows
from clusterfolio.enums import Direction, EngineName, ProfileName, SimulatorName, UniverseMode
from clusterfolio.errors import ConfigError, DataError
from clusterfolio.io import atomic_write_json, atomic_write_parquet
from clusterfolio.manifest import Settings

__all__ = [
    "DEFAULT_CVXPORTFOLIO_ENGINES",
    "RESULTS",
    "RESULT_COLUMNS",
    "RETURNS",
    "SENSITIVITY_BPS",
    "SLIPPAGE_DECAY",
    "SUMMARY",
    "WEIGHTS",
    "DecideOutcome",
    "DecideTask",
    "EngineOutcome",
    "EngineTask",
    "TournamentResult",
    "TournamentStatus",
    "WindowWeights",
    "run_decide_task",
    "run_engine_task",
    "run_tournament",
    "series_key",
    "warm_up",
    "write_tournament_artifacts",
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

METRIC_KEYS: tuple[str, ...] = (
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "turnover",
    "costs",
    "win_rate",
    "total_return",
    "turnover_mean",
    "n_periods",
    "psr",
    "dsr",
)

ProgressFn = Callable[[str, int, int], None]

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


def series_key(engine: EngineName, profile: ProfileName, simulator: SimulatorName) -> str:
    """Column name of ``tournament_returns.parquet``: ``engine|profile|simulator``."""
    return (
        f"{EngineName(engine).value}|{ProfileName(profile).value}|{SimulatorName(simulator).value}"
    )


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# ------------------------------------------------------------------------------- decisions


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
        return UniverseOutcome(task.window, None, _error_text(exc), time.perf_counter() - started)
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
        return DecideOutcome(task.window, None, _error_text(exc), time.perf_counter() - started)
    return DecideOutcome(task.window, decision, None, time.perf_counter() - started)


# ---------------------------------------------------------------------------------- engines


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


def _window_weights(task: EngineTask) -> tuple[list[WindowWeights], float]:
    engine = make_engine(task.engine, task.settings)
    started = time.perf_counter()
    out: list[WindowWeights] = []
    previous: pd.Series | None = None
    for window, decision, error in zip(
        task.windows, task.decisions, task.decision_errors, strict=True
    ):
        if decision is None:
            out.append(WindowWeights(window.index, False, f"decision failed: {error}"))
            continue
        train = task.returns.iloc[window.train]
        try:
            raw = engine.weights(train, decision, task.profile, previous=previous)
            if raw is None:
                raise DataError(f"{task.engine.value} returned no weights for {task.profile.value}")
            gross = check_gross(raw, _allowed(task.engine, task.profile, decision))
        except Exception as exc:  # a failing engine is a result, the tournament goes on
            out.append(WindowWeights(window.index, False, _error_text(exc)))
            continue
        net = decision.net_weights(gross)
        previous = net  # signed: a direction flip between windows is a trade
        fallbacks = tuple(str(f) for f in gross.attrs.get("fallbacks", ()))
        out.append(
            WindowWeights(
                window.index,
                True,
                gross=gross,
                net=net,
                fallbacks=fallbacks,
            )
        )
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
            errors[simulator] = _error_text(exc)
        timing[simulator] = time.perf_counter() - started
    sensitivity: dict[float, SimulationResult] = {}
    sensitivity_errors: dict[float, str] = {}
    if periods:
        for bps in task.sensitivity_bps:
            model = CostModel(slippage=bps / 1e4, commission=cost_model.commission)
            try:
                sensitivity[bps] = simulate(periods, returns, cost_model=model)
            except Exception as exc:  # e.g. bankrupt: shown in the audit with its error
                sensitivity_errors[bps] = _error_text(exc)
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


# ---------------------------------------------------------------------------------- result


@dataclass
class TournamentResult:
    """The tournament's tables and documents (see the module docstring for their layout).

    Attributes
    ----------
    results : pandas.DataFrame
        ``tournament_results.parquet``.
    summary : dict
        ``tournament_summary.json``.
    returns : pandas.DataFrame
        ``tournament_returns.parquet``.
    weights : pandas.DataFrame
        ``tournament_weights.parquet``.
    slippage_decay : dict or None
        ``slippage_decay.json`` (``features.feat_decay_audit``), else None.
    windows : list of Window
        The walk-forward windows.
    decisions : list of DecisionInputs or None
        Each window's decision (None where it failed).
    outcomes : list of EngineOutcome
        Raw per-task outcomes (weights per window, simulation results).
    timing : dict
        Seconds (run-dependent, never written to the artifacts): ``decide``, ``wall``,
        ``engines`` (weights per engine), ``simulators`` (per simulator).
    """

    results: pd.DataFrame
    summary: dict[str, Any]
    returns: pd.DataFrame
    weights: pd.DataFrame
    slippage_decay: dict[str, Any] | None
    windows: list[Window]
    decisions: list[DecisionInputs | None]
    outcomes: list[EngineOutcome]
    timing: dict[str, Any] = field(default_factory=dict)

    def weights_of(self, engine: EngineName, profile: ProfileName, window: int) -> pd.Series | None:
        """Gross weights of one engine, profile and window (None when it has none)."""
        for outcome in self.outcomes:
            if outcome.engine is EngineName(engine) and outcome.profile is ProfileName(profile):
                for item in outcome.windows:
                    if item.window == window:
                        return item.gross
        return None


def _clean(value: Any) -> Any:
    """JSON-ready: non-finite floats become None, numpy scalars plain Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, StrEnum):
        return value.value
    return value


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


def _results_frame(
    pairs: list[tuple[EngineName, ProfileName]],
    outcomes: dict[tuple[EngineName, ProfileName], EngineOutcome],
    windows: list[Window],
    simulators: list[SimulatorName],
    cvx_note: str,
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for engine, profile in pairs:
        outcome = outcomes.get((engine, profile))
        for simulator in simulators:
            result = outcome.simulations.get(simulator) if outcome else None
            for window in windows:
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
                    row["status"] = TournamentStatus.NOT_APPLICABLE.value
                    row["error"] = f"{engine.value} does not implement {profile.value}"
                else:
                    item = outcome.windows[window.index]
                    if not item.ok:
                        row["status"] = TournamentStatus.FAILED.value
                        row["error"] = item.error
                    elif simulator in outcome.skipped:
                        row["status"] = TournamentStatus.SKIPPED.value
                        row["error"] = cvx_note
                    elif result is None:
                        row["status"] = TournamentStatus.FAILED.value
                        row["error"] = outcome.simulation_errors.get(simulator, "not simulated")
                    elif window.test_start not in result.window_returns.index:
                        row["status"] = TournamentStatus.SKIPPED.value
                        row["error"] = "before the reference span (backtest.reference_sessions)"
                    else:
                        start = window.test_start
                        row["period_return"] = float(result.window_returns.loc[start])
                        row["turnover"] = float(result.turnover.loc[start])
                        row["costs"] = float(result.costs.loc[start])
                rows.append(row)
    frame = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    frame["window"] = frame["window"].astype(np.int64)
    for column in ("test_start", "test_end"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    for column in ("period_return", "turnover", "costs"):
        frame[column] = frame[column].astype(np.float64)
    frame["error"] = frame["error"].astype(object)
    return frame


def _weights_frame(outcomes: list[EngineOutcome]) -> pd.DataFrame:
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
    return f"{len(failed)} of {total} windows failed: " + "; ".join(
        f"window {w.window}: {w.error}" for w in failed
    )


def _summary_rows(
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
            sizes = [_max_gross(w, decisions[w.window]) for w in outcome.windows]
            assets = [a for a, _ in sizes if a is not None]
            clusters = [c for _, c in sizes if c is not None]
            kinds = sorted({k for w in outcome.windows for k in w.fallbacks})
            row["windows_ok"] = len(outcome.windows) - len(failed)
            row["max_asset_gross"] = max(assets) if assets else None
            row["max_cluster_gross"] = max(clusters) if clusters else None
            row["fallbacks"] = {
                k: sum(1 for w in outcome.windows for f in w.fallbacks if f == k) for k in kinds
            }
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


def _cagr(result: SimulationResult | None, periods: int) -> float | None:
    if result is None:
        return None
    value = summary_metrics(result.returns, periods=periods)["cagr"]
    return value if math.isfinite(value) else None


def _decay(outcomes: list[EngineOutcome], periods: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for outcome in outcomes:
        idealized = outcome.simulations.get(SimulatorName.IDEALIZED)
        realized = outcome.simulations.get(SimulatorName.REALIZED)
        if idealized is None or realized is None:
            continue
        reference = outcome.simulations.get(SimulatorName.CVXPORTFOLIO)
        ideal_cagr, real_cagr = _cagr(idealized, periods), _cagr(realized, periods)
        agreement = None
        if reference is not None:  # compared over the same (reference) span
            ours = outcome.reference_realized or realized
            agreement = float(
                np.max(np.abs(reference.returns.to_numpy() - ours.returns.to_numpy()))
            )
        out.append(
            {
                "engine": outcome.engine.value,
                "profile": outcome.profile.value,
                "idealized_cagr": ideal_cagr,
                "realized_cagr": real_cagr,
                "decay": None
                if ideal_cagr is None or real_cagr is None
                else ideal_cagr - real_cagr,
                "costs": realized.total_costs,
                "cvxportfolio_cagr": _cagr(reference, periods),
                "realized_vs_cvxportfolio_max_abs_diff": agreement,
            }
        )
    return out


def _slippage_decay(
    outcomes: list[EngineOutcome], periods: int, cost_model: CostModel
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for outcome in outcomes:
        idealized = outcome.simulations.get(SimulatorName.IDEALIZED)
        realized = outcome.simulations.get(SimulatorName.REALIZED)
        if idealized is None or realized is None:
            continue
        ideal = _cagr(idealized, periods)
        real = _cagr(realized, periods)
        stats = summary_metrics(realized.returns, periods=periods, turnover=realized.turnover)
        turnover_annual = stats["turnover_annual"]
        decay = None if ideal is None or real is None else ideal - real
        sensitivity = []
        for bps in sorted({*outcome.sensitivity, *outcome.sensitivity_errors}):
            level: dict[str, Any] = {
                "slippage_bps": bps,
                "per_unit": bps / 1e4 + cost_model.commission,
                "cagr": None,
                "decay": None,
                "costs": None,
                "error": outcome.sensitivity_errors.get(bps),
            }
            if bps in outcome.sensitivity:
                result = outcome.sensitivity[bps]
                cagr = _cagr(result, periods)
                level.update(
                    cagr=cagr,
                    decay=None if ideal is None or cagr is None else ideal - cagr,
                    costs=result.total_costs,
                )
            sensitivity.append(level)
        rows.append(
            {
                "engine": outcome.engine.value,
                "profile": outcome.profile.value,
                "turnover_annual": turnover_annual,
                "turnover_total": stats["turnover_total"],
                "idealized_cagr": ideal,
                "realized_cagr": real,
                "decay": decay,
                "decay_per_turnover": (
                    decay / turnover_annual
                    if decay is not None and turnover_annual and math.isfinite(turnover_annual)
                    else None
                ),
                "costs": realized.total_costs,
                "sensitivity": sensitivity,
            }
        )
    points = [
        (r["turnover_annual"], r["decay"])
        for r in rows
        if r["decay"] is not None and math.isfinite(r["turnover_annual"])
    ]
    fit: dict[str, Any] = {"n": len(points), "slope": None, "intercept": None, "r2": None}
    if len(points) >= 2:
        x = np.array([p[0] for p in points], dtype=np.float64)
        y = np.array([p[1] for p in points], dtype=np.float64)
        if float(np.ptp(x)) > 0:
            slope, intercept = np.polyfit(x, y, 1)
            residual = y - (slope * x + intercept)
            total = float(np.sum((y - y.mean()) ** 2))
            fit.update(
                slope=float(slope),
                intercept=float(intercept),
                r2=1.0 - float(np.sum(residual**2)) / total if total > 0 else None,
            )
    return {
        "cost_model": {
            "slippage": cost_model.slippage,
            "commission": cost_model.commission,
            "per_unit": cost_model.per_unit,
        },
        "sensitivity_bps": list(SENSITIVITY_BPS),
        "definition": (
            "decay = idealized CAGR - realized CAGR; turnover_annual = one-way turnover "
            "annualised; sensitivity re-simulates the same weights with the slippage at each "
            "level and the manifest's commission; fit = least squares of decay on "
            "turnover_annual across engines and profiles"
        ),
        "fit": fit,
        "rows": rows,
    }


def _window_docs(windows: list[Window], outcomes: list[DecideOutcome]) -> list[dict[str, Any]]:
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
            if outcome.decision is not None
            else TournamentStatus.FAILED.value,
            "error": outcome.error,
        }
        if outcome.decision is not None:
            decision = outcome.decision.to_dict()
            decision.pop("train_start", None)
            decision.pop("train_end", None)
            doc["decision"] = decision
        docs.append(doc)
    return docs


def _history_cut(
    history: MarketHistory | None, window: Window, settings: Settings
) -> MarketHistory:
    """The market a window may read: bars up to its training end, back far enough for screens."""
    if history is None:  # guarded by run_tournament
        raise ConfigError("point_in_time needs a market history")
    days = settings.discovery.history_days + 2 * settings.data.light_lookback_days
    return history.until(window.train_end, since=window.train_end - pd.Timedelta(days=days))


def _universes(
    runner: Executor, history: MarketHistory | None, windows: list[Window], settings: Settings
) -> list[UniverseOutcome]:
    """Choose the universe at every ``reselect_every``-th window's training end (the first too)."""
    every = settings.backtest.reselect_every
    tasks = [
        UniverseTask(w.index, _history_cut(history, w, settings), w.train_end, settings)
        for w in windows[::every]
    ]
    return runner.map(run_universe_task, tasks)


def _decide_task(
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


def _held_returns(
    returns: pd.DataFrame, decisions: Sequence[DecisionInputs | None], baseline: str
) -> pd.DataFrame:
    """The columns some window holds (and the baseline): what the engine tasks need."""
    wanted = {baseline}
    for decision in decisions:
        if decision is not None:
            wanted.update(decision.symbols)
    return returns.loc[:, [c for c in returns.columns if c in wanted]]


def run_tournament(
    returns: pd.DataFrame,
    settings: Settings,
    *,
    directions: dict[str, Direction] | None = None,
    history: MarketHistory | None = None,
    executor: Executor | None = None,
    cvxportfolio_engines: Sequence[EngineName] | None = DEFAULT_CVXPORTFOLIO_ENGINES,
    decay_audit: bool | None = None,
    progress: ProgressFn | None = None,
) -> TournamentResult:
    """Run the validation tournament (rules in the module docstring).

    Parameters
    ----------
    returns : pandas.DataFrame
        Union index, NaN where closed, the baseline among the columns: with
        ``backtest.universe = point_in_time`` the returns of every listing of ``history``
        (:func:`~clusterfolio.data.returns.returns_between`), with ``as_of_winners`` the
        audited matrix (``returns.parquet``).
    settings : Settings
        ``backtest`` (windows, costs, baseline, ``universe``), ``tournament`` (engines,
        profiles, simulators, executor, ``n_jobs``), ``risk``, ``selection``, ``features``,
        ``discovery``.
    directions : dict, optional
        Direction per symbol (``winners.json``; ``as_of_winners`` only); LONG when missing.
    history : MarketHistory, optional
        The market every window's universe is chosen from (required by ``point_in_time``).
    executor : Executor, optional
        Runs the tasks; default ``make_executor(settings.tournament)``, shut down at the end
        (a given executor is left running).
    cvxportfolio_engines : sequence of EngineName or None
        Engines the cvxportfolio simulator runs for (default
        :data:`DEFAULT_CVXPORTFOLIO_ENGINES`); None: every engine.
    decay_audit : bool, optional
        Build the slippage decay analysis; default ``features.feat_decay_audit``.
    progress : callable, optional
        ``progress(label, done, total)`` after each window's decision and each engine task.

    Returns
    -------
    TournamentResult

    Raises
    ------
    DataError
        When the matrix is malformed or too short for one window.
    ConfigError
        When a window setting is invalid, or ``point_in_time`` has no history.
    """
    started = time.perf_counter()
    if not isinstance(returns, pd.DataFrame) or not isinstance(returns.index, pd.DatetimeIndex):
        raise DataError("returns must be a DataFrame with a DatetimeIndex")
    returns = returns.sort_index().astype(np.float64)
    returns.columns = pd.Index([str(c) for c in returns.columns])
    backtest, tour = settings.backtest, settings.tournament
    point_in_time = backtest.universe is UniverseMode.POINT_IN_TIME
    if point_in_time and history is None:
        raise ConfigError(
            "backtest.universe=point_in_time needs the market history (every listing's "
            "candles); pass history=... or set backtest.universe=as_of_winners"
        )
    audit = settings.features.feat_decay_audit if decay_audit is None else bool(decay_audit)
    windows = walk_forward_windows(
        pd.DatetimeIndex(returns.index),
        train=backtest.train,
        test=backtest.test,
        step=backtest.step,
        target=backtest.realized_target,
    )
    engines = list(dict.fromkeys(EngineName(e) for e in tour.engines))
    profiles = list(dict.fromkeys(ProfileName(p) for p in tour.profiles))
    simulators = list(dict.fromkeys(SimulatorName(s) for s in tour.simulators))
    capabilities = engine_capabilities(engines, settings)
    cvx_scope = (
        list(engines)
        if cvxportfolio_engines is None
        else [e for e in engines if e in {EngineName(x) for x in cvxportfolio_engines}]
    )
    cvx_note = (
        f"cvxportfolio simulator bounded to engines {[e.value for e in cvx_scope]} (cost bound)"
    )
    given = {str(k): Direction(v) for k, v in (directions or {}).items()}
    own = executor is None
    runner: Executor = make_executor(tour) if executor is None else executor
    timing: dict[str, Any] = {}
    try:
        universes = _universes(runner, history, windows, settings) if point_in_time else []
        decide_tasks = [_decide_task(w, returns, given, universes, settings) for w in windows]
        decided: list[DecideOutcome] = runner.map(run_decide_task, decide_tasks)
        for k in range(len(decided)):
            if progress is not None:
                progress("window", k + 1, len(decided))
        timing["decide"] = float(sum(d.seconds for d in decided))
        timing["universe"] = float(sum(u.seconds for u in universes))
        timing["universe_choices"] = len(universes)
        decisions = [d.decision for d in decided]
        errors = [d.error for d in decided]
        held = _held_returns(returns, decisions, backtest.baseline)
        pairs = [(e, p) for e in engines for p in profiles]
        tasks = [
            EngineTask(
                engine=e,
                profile=p,
                windows=tuple(windows),
                decisions=tuple(decisions),
                decision_errors=tuple(errors),
                returns=held,
                settings=settings,
                simulators=tuple(simulators),
                run_cvxportfolio=e in cvx_scope,
                sensitivity_bps=SENSITIVITY_BPS if audit else (),
            )
            for e, p in pairs
            if p in capabilities[e]
        ]
        finished: list[EngineOutcome] = runner.map(run_engine_task, tasks)
        for k in range(len(finished)):
            if progress is not None:
                progress("engine", k + 1, len(finished))
    finally:
        if own:
            runner.shutdown()

    by_pair = {(o.engine, o.profile): o for o in finished}
    timeline = pd.DatetimeIndex(sorted({d for w in windows for d in returns.index[w.test]}))
    periods, periods_source = universe_periods(held, timeline)
    results = _results_frame(pairs, by_pair, windows, simulators, cvx_note)
    rows, series = _summary_rows(pairs, by_pair, decisions, simulators, periods, cvx_note)
    ranking = SimulatorName.REALIZED if SimulatorName.REALIZED in simulators else simulators[0]
    trials = annotate_significance(
        rows, series, ranking=ranking.value, requested=len(pairs), periods=periods
    )
    if series:
        frame = pd.DataFrame(series)
        frame = frame.sort_index()
    else:
        frame = pd.DataFrame(index=pd.DatetimeIndex([]))
    frame.index = pd.DatetimeIndex(frame.index, name="session").astype("datetime64[ns]")
    frame = frame.astype(np.float64)
    cost_model = CostModel.from_settings(backtest)
    summary: dict[str, Any] = {
        "baseline": {
            "symbol": backtest.baseline,
            "engine": EngineName.MARKET.value,
            "profile": ProfileName.MARKET.value,
            "present": (EngineName.MARKET, ProfileName.MARKET) in by_pair,
        },
        "periods_per_year": periods,
        "periods_source": periods_source,
        "annualisation": annualisation(periods, periods_source),
        "session_axis": (
            "rows of the audited matrix's union index; a NaN (market closed) is a 0 return "
            "in the simulators"
        ),
        "settings": {
            "train": backtest.train,
            "test": backtest.test,
            "step": backtest.step,
            "realized_target": backtest.realized_target,
            "covered_sessions": covered_sessions(windows),
            "universe": backtest.universe.value,
            "history_days": backtest.history_days if point_in_time else None,
            "reselect_every": backtest.reselect_every if point_in_time else None,
            "history_notes": list(history.notes) if point_in_time and history else [],
            "turnover_penalty": settings.features.feat_turnover_penalty,
            "decay_audit": audit,
            "engines": [e.value for e in engines],
            "profiles": [p.value for p in profiles],
            "simulators": [s.value for s in simulators],
            "caps": {
                "asset_cap": settings.risk.asset_cap,
                "cluster_cap": settings.risk.cluster_cap,
            },
            "trials": trials,
        },
        "cost_model": {
            "slippage": cost_model.slippage,
            "commission": cost_model.commission,
            "per_unit": cost_model.per_unit,
        },
        "simulator_scope": {
            SimulatorName.CVXPORTFOLIO.value: [e.value for e in cvx_scope],
        },
        "reference_sessions": backtest.reference_sessions,
        "windows": _window_docs(windows, decided),
        "capabilities": {e.value: [p.value for p in capabilities[e]] for e in engines},
        "rows": rows,
        "decay": _decay(finished, periods),
        "plausibility": plausibility_flags(rows, series, windows, backtest),
    }
    engine_seconds: dict[str, float] = {}
    simulator_seconds: dict[str, float] = {}
    for outcome in finished:
        engine_seconds[outcome.engine.value] = (
            engine_seconds.get(outcome.engine.value, 0.0) + outcome.seconds_weights
        )
        for sim, seconds in outcome.seconds_simulators.items():
            simulator_seconds[sim.value] = simulator_seconds.get(sim.value, 0.0) + seconds
    timing["engines"] = engine_seconds
    timing["simulators"] = simulator_seconds
    timing["wall"] = time.perf_counter() - started
    return TournamentResult(
        results=results,
        summary=_clean(summary),
        returns=frame,
        weights=_weights_frame(finished),
        slippage_decay=_clean(_slippage_decay(finished, periods, cost_model)) if audit else None,
        windows=windows,
        decisions=decisions,
        outcomes=finished,
        timing=timing,
    )


def write_tournament_artifacts(result: TournamentResult, folder: Path) -> list[str]:
    """Write the tournament's artifacts atomically into ``folder``.

    ``slippage_decay.json`` is written when the result has it, and removed otherwise (so that a
    stale analysis never outlives the flag).

    Returns
    -------
    list of str
        The names written.
    """
    folder = Path(folder)
    atomic_write_parquet(folder / RESULTS, result.results, index=False)
    atomic_write_json(folder / SUMMARY, result.summary)
    atomic_write_parquet(folder / RETURNS, result.returns)
    atomic_write_parquet(folder / WEIGHTS, result.weights, index=False)
    names = [RESULTS, SUMMARY, RETURNS, WEIGHTS]
    if result.slippage_decay is not None:
        atomic_write_json(folder / SLIPPAGE_DECAY, result.slippage_decay)
        names.append(SLIPPAGE_DECAY)
    else:
        (folder / SLIPPAGE_DECAY).unlink(missing_ok=True)
    return names
