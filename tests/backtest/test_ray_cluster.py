"""The default tournament on a real two-node Ray cluster gives the local executor's bytes.

A head and one worker node are started as separate ``ray start`` processes
(:mod:`ray_cluster`, the README's commands); the tournament joins them through
``tournament.ray.address``. Slow (two Ray nodes start in 20 to 60 s): ``make test-all``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from ray_cluster import AUTH_MODE, alive_nodes, local_ray_cluster
from test_point_in_time import _artifacts, _matrix, history, settings  # noqa: F401

from clusterfolio.backtest.executors import LocalExecutor, RayExecutor, make_executor
from clusterfolio.backtest.history import MarketHistory
from clusterfolio.backtest.tournament import run_tournament, warm_up
from clusterfolio.enums import EngineName, ExecutorName, ProfileName, SimulatorName
from clusterfolio.manifest import Settings

NODES_TIMEOUT_S = 120.0


def _default_tournament(base: Settings) -> Settings:
    """Every engine, profile and simulator (the manifest's default), over two windows."""
    out = base.model_copy(deep=True)
    out.backtest.realized_target = 40
    out.tournament.engines = list(EngineName)
    out.tournament.simulators = list(SimulatorName)
    out.tournament.peer_budget_seconds = 600.0  # no timeout on a loaded machine: same bytes
    assert ProfileName.HRP in out.tournament.profiles
    return out


def _wait_for_nodes(count: int) -> None:
    deadline = time.monotonic() + NODES_TIMEOUT_S
    while alive_nodes() < count:
        assert time.monotonic() < deadline, f"only {alive_nodes()} of {count} Ray nodes alive"
        time.sleep(1.0)


@pytest.mark.slow
def test_default_tournament_on_a_ray_cluster_matches_local(
    history: MarketHistory,  # noqa: F811
    settings: Settings,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_AUTH_MODE", AUTH_MODE)
    tour = _default_tournament(settings)
    matrix = _matrix(history)
    started = time.perf_counter()
    with LocalExecutor(1) as inline:
        local = run_tournament(matrix, tour, history=history, executor=inline)
    local_s = time.perf_counter() - started
    with local_ray_cluster(workers=1, cpus=1) as address:
        tour.tournament.executor = ExecutorName.RAY
        tour.tournament.ray.address = address
        executor = make_executor(tour.tournament)
        assert isinstance(executor, RayExecutor) and executor.address == address
        with executor:
            executor.map(warm_up, [0, 1])  # joins the cluster, imports the libraries
            _wait_for_nodes(2)
            started = time.perf_counter()
            on_ray = run_tournament(matrix, tour, history=history, executor=executor)
            ray_s = time.perf_counter() - started
    print(f"default tournament: local (inline) {local_s:.1f} s, two-node Ray {ray_s:.1f} s")
    expected = _artifacts(local, tmp_path / "local")
    assert _artifacts(on_ray, tmp_path / "ray") == expected
    assert "timeout" not in set(on_ray.results["status"])
