"""Peers within a budget: a hanging peer is stopped, recorded as timeout, and the run completes."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from slow_engine import SlowEngine, fail_with, fit_in_a_worker, sleep_then, worker_pid
from test_tournament import run, tiny_settings

from clusterfolio.backtest import tournament_engines
from clusterfolio.backtest.executors import LocalExecutor
from clusterfolio.backtest.tournament import TournamentResult
from clusterfolio.backtest.tournament_budget import FitTimeout, FitWorker
from clusterfolio.backtest.tournament_types import TournamentStatus
from clusterfolio.enums import EngineName, ProfileName
from clusterfolio.manifest import Settings

BUDGET_S = 2.0
"""The budget of the hanging tests (each timeout waits this long)."""
GENEROUS_S = 120.0
"""A budget no fit of these tiny windows reaches, even on a loaded machine."""
ENGINES = [EngineName.CUSTOM, EngineName.MARKET, EngineName.SKFOLIO]
PROFILES = [ProfileName.MIN_VARIANCE, ProfileName.MARKET]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _settings(budget: float | None, max_timeouts: int = 2) -> Settings:
    settings = tiny_settings(engines=ENGINES, profiles=PROFILES)
    settings.tournament.peer_budget_seconds = budget
    settings.tournament.peer_max_timeouts = max_timeouts
    return settings


def _with_slow_skfolio(
    monkeypatch: pytest.MonkeyPatch, slow_from: pd.Timestamp, folder: Path
) -> None:
    real = tournament_engines.make_engine

    def make(name: EngineName, settings: Settings) -> Any:
        if name is EngineName.SKFOLIO:
            return SlowEngine(settings, slow_from, folder)
        return real(name, settings)

    monkeypatch.setattr(tournament_engines, "make_engine", make)


def _rows(result: TournamentResult, engine: EngineName) -> pd.DataFrame:
    frame = result.results
    return frame[frame["engine"] == engine.value].reset_index(drop=True)


@pytest.fixture(scope="module")
def inline() -> TournamentResult:
    """The same tournament with every fit inline (no budget): the reference."""
    return run(_settings(None))


def test_fit_worker_answers_raises_and_stops_at_the_deadline() -> None:
    with FitWorker(BUDGET_S, label="double") as worker:
        assert worker.call(sleep_then, 0.0, {"a": 1}) == {"a": 1}
        first = worker.call(worker_pid)
        assert first != os.getpid()
        with pytest.raises(ValueError, match="boom"):
            worker.call(fail_with, "boom")
        assert worker.call(worker_pid) == first  # an error keeps the worker
        with pytest.raises(FitTimeout, match="exceeded its budget of 2 s"):
            worker.call(sleep_then, 120.0, None)
        assert not _alive(first)  # really stopped, not left running
        second = worker.call(worker_pid)
        assert second != first  # a fresh worker after the timeout
    assert not _alive(second)


def test_a_pool_worker_can_run_budgeted_fits() -> None:
    """The local executor's spawned workers start their own forkserver and fit workers."""
    with LocalExecutor(2) as pool:
        answers = pool.map(fit_in_a_worker, [GENEROUS_S, GENEROUS_S])
    for parent, child in answers:
        assert parent != os.getpid() and child not in (parent, os.getpid())


def test_budgeted_fits_match_inline_fits(inline: TournamentResult) -> None:
    budgeted = run(_settings(GENEROUS_S))
    pd.testing.assert_frame_equal(budgeted.results, inline.results)
    pd.testing.assert_frame_equal(budgeted.weights, inline.weights)
    ours, reference = copy.deepcopy(budgeted.summary), copy.deepcopy(inline.summary)
    assert ours["settings"].pop("peer_budget_seconds") == GENEROUS_S
    assert reference["settings"].pop("peer_budget_seconds") is None
    assert ours == reference


def test_a_hanging_peer_is_recorded_as_timeout_and_the_run_completes(
    inline: TournamentResult, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    windows = inline.windows
    _with_slow_skfolio(monkeypatch, windows[1].train_end, tmp_path)
    result = run(_settings(BUDGET_S))

    sk = _rows(result, EngineName.SKFOLIO)
    sk_variance = sk[sk["profile"] == ProfileName.MIN_VARIANCE.value]
    by_window = sk_variance.groupby("window")["status"].agg(set).to_dict()
    assert by_window == {0: {"ok"}, 1: {TournamentStatus.TIMEOUT.value}}
    assert sk_variance[sk_variance["window"] == 1]["error"].str.contains("budget of 2 s").all()
    row = next(
        r
        for r in result.summary["rows"]
        if r["engine"] == "skfolio" and r["profile"] == "min_variance"
    )
    assert row["status"] == TournamentStatus.PARTIAL.value
    assert row["windows_timeout"] == 1 and row["windows_ok"] == 1
    assert "1 timed out" in row["error"]
    pids = [int(p.stem) for p in tmp_path.glob("*.pid")]
    assert len(pids) == 1 and pids[0] != os.getpid()
    assert not _alive(pids[0])

    # every other engine is unchanged
    for engine in (EngineName.CUSTOM, EngineName.MARKET):
        pd.testing.assert_frame_equal(_rows(result, engine), _rows(inline, engine))
        pd.testing.assert_frame_equal(
            result.weights[result.weights["engine"] == engine.value],
            inline.weights[inline.weights["engine"] == engine.value],
        )


def test_after_consecutive_timeouts_later_windows_are_not_fitted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _with_slow_skfolio(monkeypatch, pd.Timestamp("2000-01-01"), tmp_path)
    result = run(_settings(BUDGET_S, max_timeouts=1))
    sk = _rows(result, EngineName.SKFOLIO)
    sk = sk[sk["profile"] == ProfileName.MIN_VARIANCE.value]
    assert set(sk["status"]) == {TournamentStatus.TIMEOUT.value}
    errors = sk.groupby("window")["error"].first()
    assert "budget of 2 s" in errors[0]
    assert errors[1] == "not fitted: the 1 previous windows timed out"
    assert len(list(tmp_path.glob("*.pid"))) == 1  # one fit tried, one budget spent
    row = next(
        r
        for r in result.summary["rows"]
        if r["engine"] == "skfolio" and r["profile"] == "min_variance"
    )
    assert row["status"] == TournamentStatus.FAILED.value
    assert row["windows_timeout"] == 2
