"""Executors: same results in task order whatever the workers (local pool, Ray).

The Ray test starts a local Ray (about 10 s on an idle two-core machine, 30 s under load), so it
is marked slow.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest

from clusterfolio.backtest.costs import CostModel
from clusterfolio.backtest.executors import LocalExecutor, RayExecutor, make_executor, resolve
from clusterfolio.backtest.simulators import (
    SimulationResult,
    SimulationTask,
    run_simulation_task,
)
from clusterfolio.enums import ExecutorName, SimulatorName
from clusterfolio.errors import ConfigError
from clusterfolio.manifest import RaySettings, TournamentSettings

MakeReturns = Callable[..., pd.DataFrame]
MakeWeights = Callable[..., Any]


@pytest.fixture(scope="module")
def pool() -> Iterator[LocalExecutor]:
    """One two-worker spawn pool for the module (starting workers dominates the cost)."""
    with LocalExecutor(n_jobs=2) as executor:
        yield executor


def slow_square(x: int) -> tuple[int, int]:
    """Later tasks finish first, so completion order differs from task order."""
    time.sleep(0.02 * (5 - x % 5))
    return x, x * x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("task 3 failed")
    return x


def _tasks(make_returns: MakeReturns, make_weights: MakeWeights) -> list[SimulationTask]:
    costs = CostModel(0.0005, 0.0001)
    tasks = []
    for seed in range(4):
        returns = make_returns(60, seed=seed)
        for short in (False, True):
            weights = make_weights(returns, 15, short=short, seed=seed)
            for simulator in (SimulatorName.IDEALIZED, SimulatorName.REALIZED):
                tasks.append(SimulationTask(simulator, weights, returns, costs))
    return tasks


def _same(left: list[SimulationResult], right: list[SimulationResult]) -> None:
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        assert a.simulator is b.simulator
        pd.testing.assert_series_equal(a.values, b.values, check_exact=True)
        pd.testing.assert_series_equal(a.costs, b.costs, check_exact=True)
        pd.testing.assert_series_equal(a.final_holdings, b.final_holdings, check_exact=True)


def test_local_results_are_in_task_order(pool: LocalExecutor) -> None:
    tasks = list(range(10))
    assert pool.map(slow_square, tasks) == [(x, x * x) for x in tasks]
    assert pool.map(slow_square, []) == []
    assert LocalExecutor(n_jobs=1).map(slow_square, tasks) == [(x, x * x) for x in tasks]


def test_local_one_and_two_jobs_give_identical_simulations(
    pool: LocalExecutor, make_returns: MakeReturns, make_weights: MakeWeights
) -> None:
    tasks = _tasks(make_returns, make_weights)
    inline = LocalExecutor(n_jobs=1).map(run_simulation_task, tasks)
    _same(inline, pool.map(run_simulation_task, tasks))


def test_failures_raise_the_task_error(pool: LocalExecutor) -> None:
    with pytest.raises(ValueError, match="task 3"):
        LocalExecutor(n_jobs=1).map(fail_on_three, range(6))
    with pytest.raises(ValueError, match="task 3"):
        pool.map(fail_on_three, list(range(6)))


def test_shared_values_resolve_to_themselves_locally() -> None:
    value = {"a": [1, 2]}
    with LocalExecutor(n_jobs=1) as executor:
        assert executor.share(value) is value
    assert resolve(value) is value


def test_functions_must_be_importable() -> None:
    def local(x: int) -> int:
        return x

    for fn in (lambda x: x, local):
        with pytest.raises(TypeError, match="top-level function"):
            LocalExecutor(n_jobs=1).map(fn, [1])
        with pytest.raises(TypeError, match="top-level function"):
            RayExecutor().map(fn, [1])


def test_make_executor_follows_the_manifest() -> None:
    local = make_executor(TournamentSettings(executor=ExecutorName.LOCAL, n_jobs=3))
    assert isinstance(local, LocalExecutor)
    assert local.n_jobs == 3
    ray_executor = make_executor(
        TournamentSettings(executor=ExecutorName.RAY, n_jobs=2), ray_address="ray://host:10001"
    )
    assert isinstance(ray_executor, RayExecutor)
    assert ray_executor.num_cpus == 2
    assert ray_executor.address == "ray://host:10001"
    from_manifest = make_executor(
        TournamentSettings(executor=ExecutorName.RAY, ray=RaySettings(address="10.0.0.1:6379"))
    )
    assert isinstance(from_manifest, RayExecutor)
    assert from_manifest.address == "10.0.0.1:6379"
    with pytest.raises(ConfigError, match="n_jobs"):
        LocalExecutor(n_jobs=0)
    with pytest.raises(ConfigError, match="num_cpus"):
        RayExecutor(num_cpus=0)


@pytest.mark.slow
def test_ray_matches_local(
    make_returns: MakeReturns, make_weights: MakeWeights, monkeypatch: pytest.MonkeyPatch
) -> None:
    ray = pytest.importorskip("ray")
    if ray.is_initialized():  # pragma: no cover - defensive
        pytest.skip("Ray is already initialised in this process")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    tasks = _tasks(make_returns, make_weights)
    local = LocalExecutor(n_jobs=1).map(run_simulation_task, tasks)
    with RayExecutor(num_cpus=2) as executor:
        remote = executor.map(run_simulation_task, tasks)
        assert executor.map(run_simulation_task, []) == []
        assert ray.is_initialized()
    assert not ray.is_initialized()
    _same(local, remote)
    assert os.environ.get("RAY_ADDRESS") is None
