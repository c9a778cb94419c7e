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

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.artifacts.encoding import jsonable
from clusterfolio.artifacts.tournament import (
    SLIPPAGE_DECAY,
    TOURNAMENT_RESULTS,
    TOURNAMENT_RETURNS,
    TOURNAMENT_SUMMARY,
    TOURNAMENT_WEIGHTS,
)
from clusterfolio.backtest.costs import CostModel
from clusterfolio.backtest.decision import DecisionInputs
from clusterfolio.backtest.engines import engine_capabilities
from clusterfolio.backtest.executors import Executor, make_executor
from clusterfolio.backtest.history import MarketHistory
from clusterfolio.backtest.metrics import annualisation
from clusterfolio.backtest.plausibility import plausibility_flags
from clusterfolio.backtest.significance import annotate_significance
from clusterfolio.backtest.tournament_decay import decay_rows, slippage_decay
from clusterfolio.backtest.tournament_decide import (
    DecideOutcome,
    DecideTask,
    UniverseOutcome,
    UniverseTask,
    choose_universes,
    decide_task,
    run_decide_task,
    run_universe_task,
)
from clusterfolio.backtest.tournament_engines import (
    EngineInputs,
    EngineOutcome,
    EngineTask,
    WindowWeights,
    held_returns,
    run_engine_task,
    warm_up,
)
from clusterfolio.backtest.tournament_summary import (
    results_frame,
    summary_rows,
    universe_periods,
    weights_frame,
    window_docs,
)
from clusterfolio.backtest.tournament_types import DEFAULT_CVXPORTFOLIO_ENGINES, SENSITIVITY_BPS
from clusterfolio.backtest.windows import Window, covered_sessions, walk_forward_windows
from clusterfolio.enums import Direction, EngineName, ProfileName, SimulatorName, UniverseMode
from clusterfolio.errors import ConfigError, DataError
from clusterfolio.io import atomic_write_json, atomic_write_parquet
from clusterfolio.manifest import Settings

__all__ = [
    "DecideOutcome",
    "DecideTask",
    "EngineOutcome",
    "EngineTask",
    "TournamentResult",
    "UniverseOutcome",
    "UniverseTask",
    "WindowWeights",
    "run_decide_task",
    "run_engine_task",
    "run_tournament",
    "run_universe_task",
    "universe_periods",
    "warm_up",
    "write_tournament_artifacts",
]

ProgressFn = Callable[[str, int, int], None]


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


@dataclass(frozen=True)
class _Plan:
    """What a tournament runs: windows, engines, profiles, simulators and their scopes."""

    returns: pd.DataFrame
    windows: list[Window]
    engines: list[EngineName]
    profiles: list[ProfileName]
    simulators: list[SimulatorName]
    capabilities: dict[EngineName, list[ProfileName]]
    cvx_scope: list[EngineName]
    point_in_time: bool
    audit: bool
    directions: dict[str, Direction]

    @property
    def pairs(self) -> list[tuple[EngineName, ProfileName]]:
        """Every requested engine and profile, applicable or not."""
        return [(e, p) for e in self.engines for p in self.profiles]

    @property
    def cvx_note(self) -> str:
        """Why the cvxportfolio simulator skipped an engine."""
        scope = [e.value for e in self.cvx_scope]
        return f"cvxportfolio simulator bounded to engines {scope} (cost bound)"


@dataclass(frozen=True)
class _Executed:
    """What the executor returned: universes, decisions and engine outcomes."""

    universes: list[UniverseOutcome]
    decided: list[DecideOutcome]
    finished: list[EngineOutcome]
    held: pd.DataFrame

    @property
    def decisions(self) -> list[DecisionInputs | None]:
        """Each window's decision (None where it failed)."""
        return [d.value for d in self.decided]


def _checked_returns(returns: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(returns, pd.DataFrame) or not isinstance(returns.index, pd.DatetimeIndex):
        raise DataError("returns must be a DataFrame with a DatetimeIndex")
    returns = returns.sort_index().astype(np.float64)
    returns.columns = pd.Index([str(c) for c in returns.columns])
    return returns


def _plan(
    returns: pd.DataFrame,
    settings: Settings,
    directions: dict[str, Direction] | None,
    history: MarketHistory | None,
    cvxportfolio_engines: Sequence[EngineName] | None,
    decay_audit: bool | None,
) -> _Plan:
    backtest, tour = settings.backtest, settings.tournament
    point_in_time = backtest.universe is UniverseMode.POINT_IN_TIME
    if point_in_time and history is None:
        raise ConfigError(
            "backtest.universe=point_in_time needs the market history (every listing's "
            "candles); pass history=... or set backtest.universe=as_of_winners"
        )
    returns = _checked_returns(returns)
    windows = walk_forward_windows(
        pd.DatetimeIndex(returns.index),
        train=backtest.train,
        test=backtest.test,
        step=backtest.step,
        target=backtest.realized_target,
    )
    engines = list(dict.fromkeys(EngineName(e) for e in tour.engines))
    scope = None if cvxportfolio_engines is None else {EngineName(x) for x in cvxportfolio_engines}
    return _Plan(
        returns=returns,
        windows=windows,
        engines=engines,
        profiles=list(dict.fromkeys(ProfileName(p) for p in tour.profiles)),
        simulators=list(dict.fromkeys(SimulatorName(s) for s in tour.simulators)),
        capabilities=engine_capabilities(engines, settings),
        cvx_scope=[e for e in engines if scope is None or e in scope],
        point_in_time=point_in_time,
        audit=settings.features.feat_decay_audit if decay_audit is None else bool(decay_audit),
        directions={str(k): Direction(v) for k, v in (directions or {}).items()},
    )


def _engine_tasks(plan: _Plan, shared: Any) -> list[EngineTask]:
    """One task per applicable engine and profile, each carrying ``shared`` (the inputs)."""
    return [
        EngineTask(
            engine=e,
            profile=p,
            inputs=shared,
            simulators=tuple(plan.simulators),
            run_cvxportfolio=e in plan.cvx_scope,
            sensitivity_bps=SENSITIVITY_BPS if plan.audit else (),
        )
        for e, p in plan.pairs
        if p in plan.capabilities[e]
    ]


def _progress(progress: ProgressFn | None, label: str, total: int) -> None:
    if progress is not None:
        for k in range(total):
            progress(label, k + 1, total)


def _execute(
    plan: _Plan,
    settings: Settings,
    history: MarketHistory | None,
    runner: Executor,
    progress: ProgressFn | None,
) -> _Executed:
    """Universes, then decisions, then engine tasks, each mapped over the executor."""
    windows, returns = plan.windows, plan.returns
    universes = choose_universes(runner, history, windows, settings) if plan.point_in_time else []
    tasks = [decide_task(w, returns, plan.directions, universes, settings) for w in windows]
    decided: list[DecideOutcome] = runner.map(run_decide_task, tasks)
    _progress(progress, "window", len(decided))
    held = held_returns(returns, [d.value for d in decided], settings.backtest.baseline)
    inputs = EngineInputs(
        windows=tuple(windows),
        decisions=tuple(d.value for d in decided),
        decision_errors=tuple(d.error for d in decided),
        returns=held,
        settings=settings,
    )
    engine_tasks = _engine_tasks(plan, runner.share(inputs))
    finished: list[EngineOutcome] = runner.map(run_engine_task, engine_tasks)
    _progress(progress, "engine", len(finished))
    return _Executed(universes, decided, finished, held)


def _timing(executed: _Executed, started: float) -> dict[str, Any]:
    engine_seconds: dict[str, float] = {}
    simulator_seconds: dict[str, float] = {}
    for outcome in executed.finished:
        engine_seconds[outcome.engine.value] = (
            engine_seconds.get(outcome.engine.value, 0.0) + outcome.seconds_weights
        )
        for sim, seconds in outcome.seconds_simulators.items():
            simulator_seconds[sim.value] = simulator_seconds.get(sim.value, 0.0) + seconds
    return {
        "decide": float(sum(d.seconds for d in executed.decided)),
        "universe": float(sum(u.seconds for u in executed.universes)),
        "universe_choices": len(executed.universes),
        "engines": engine_seconds,
        "simulators": simulator_seconds,
        "wall": time.perf_counter() - started,
    }


def _returns_frame(series: dict[str, pd.Series]) -> pd.DataFrame:
    if series:
        frame = pd.DataFrame(series)
        frame = frame.sort_index()
    else:
        frame = pd.DataFrame(index=pd.DatetimeIndex([]))
    frame.index = pd.DatetimeIndex(frame.index, name="session").astype("datetime64[ns]")
    return frame.astype(np.float64)


def _settings_doc(
    plan: _Plan, settings: Settings, history: MarketHistory | None, trials: Any
) -> dict[str, Any]:
    backtest, point_in_time = settings.backtest, plan.point_in_time
    return {
        "train": backtest.train,
        "test": backtest.test,
        "step": backtest.step,
        "realized_target": backtest.realized_target,
        "covered_sessions": covered_sessions(plan.windows),
        "universe": backtest.universe.value,
        "history_days": backtest.history_days if point_in_time else None,
        "reselect_every": backtest.reselect_every if point_in_time else None,
        "history_notes": list(history.notes) if point_in_time and history else [],
        "turnover_penalty": settings.features.feat_turnover_penalty,
        "decay_audit": plan.audit,
        "engines": [e.value for e in plan.engines],
        "profiles": [p.value for p in plan.profiles],
        "simulators": [s.value for s in plan.simulators],
        "caps": {
            "asset_cap": settings.risk.asset_cap,
            "cluster_cap": settings.risk.cluster_cap,
        },
        "peer_budget_seconds": settings.tournament.peer_budget_seconds,
        "peer_max_timeouts": settings.tournament.peer_max_timeouts,
        "trials": trials,
    }


def _cost_doc(cost_model: CostModel) -> dict[str, float]:
    return {
        "slippage": cost_model.slippage,
        "commission": cost_model.commission,
        "per_unit": cost_model.per_unit,
    }


def _summary(
    plan: _Plan,
    executed: _Executed,
    settings: Settings,
    history: MarketHistory | None,
    periods: tuple[int, str],
) -> tuple[dict[str, Any], dict[str, pd.Series]]:
    """``tournament_summary.json`` (before :func:`~clusterfolio.artifacts.encoding.jsonable`) and the simulated series."""
    backtest, simulators = settings.backtest, plan.simulators
    by_pair = {(o.engine, o.profile): o for o in executed.finished}
    rows, series = summary_rows(
        plan.pairs, by_pair, executed.decisions, simulators, periods[0], plan.cvx_note
    )
    ranking = SimulatorName.REALIZED if SimulatorName.REALIZED in simulators else simulators[0]
    trials = annotate_significance(
        rows, series, ranking=ranking.value, requested=len(plan.pairs), periods=periods[0]
    )
    summary: dict[str, Any] = {
        "baseline": {
            "symbol": backtest.baseline,
            "engine": EngineName.MARKET.value,
            "profile": ProfileName.MARKET.value,
            "present": (EngineName.MARKET, ProfileName.MARKET) in by_pair,
        },
        "periods_per_year": periods[0],
        "periods_source": periods[1],
        "annualisation": annualisation(*periods),
        "session_axis": (
            "rows of the audited matrix's union index; a NaN (market closed) is a 0 return "
            "in the simulators"
        ),
        "settings": _settings_doc(plan, settings, history, trials),
        "cost_model": _cost_doc(CostModel.from_settings(backtest)),
        "simulator_scope": {
            SimulatorName.CVXPORTFOLIO.value: [e.value for e in plan.cvx_scope],
        },
        "reference_sessions": backtest.reference_sessions,
        "windows": window_docs(plan.windows, executed.decided),
        "capabilities": {e.value: [p.value for p in plan.capabilities[e]] for e in plan.engines},
        "rows": rows,
        "decay": decay_rows(executed.finished, periods[0]),
        "plausibility": plausibility_flags(rows, series, plan.windows, backtest),
    }
    return summary, series


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
    plan = _plan(returns, settings, directions, history, cvxportfolio_engines, decay_audit)
    runner: Executor = make_executor(settings.tournament) if executor is None else executor
    try:
        executed = _execute(plan, settings, history, runner, progress)
    finally:
        if executor is None:
            runner.shutdown()
    by_pair = {(o.engine, o.profile): o for o in executed.finished}
    test_sessions = {d for w in plan.windows for d in plan.returns.index[w.test]}
    periods = universe_periods(executed.held, pd.DatetimeIndex(sorted(test_sessions)))
    summary, series = _summary(plan, executed, settings, history, periods)
    cost_model = CostModel.from_settings(settings.backtest)
    return TournamentResult(
        results=results_frame(plan.pairs, by_pair, plan.windows, plan.simulators, plan.cvx_note),
        summary=jsonable(summary),
        returns=_returns_frame(series),
        weights=weights_frame(executed.finished),
        slippage_decay=jsonable(slippage_decay(executed.finished, periods[0], cost_model))
        if plan.audit
        else None,
        windows=plan.windows,
        decisions=executed.decisions,
        outcomes=executed.finished,
        timing=_timing(executed, started),
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
    atomic_write_parquet(folder / TOURNAMENT_RESULTS, result.results, index=False)
    atomic_write_json(folder / TOURNAMENT_SUMMARY, result.summary)
    atomic_write_parquet(folder / TOURNAMENT_RETURNS, result.returns)
    atomic_write_parquet(folder / TOURNAMENT_WEIGHTS, result.weights, index=False)
    names = [TOURNAMENT_RESULTS, TOURNAMENT_SUMMARY, TOURNAMENT_RETURNS, TOURNAMENT_WEIGHTS]
    if result.slippage_decay is not None:
        atomic_write_json(folder / SLIPPAGE_DECAY, result.slippage_decay)
        names.append(SLIPPAGE_DECAY)
    else:
        (folder / SLIPPAGE_DECAY).unlink(missing_ok=True)
    return names
