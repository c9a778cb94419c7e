"""Benchmark: the default point-in-time tournament on a two-node Ray cluster, and what it ships.

The default run's market (about 1,000 listings, faults on, ``bench_tournament.market_history``)
and the production tournament (point in time, every engine, profile and simulator):

1. what crosses process (and, on a cluster, network) boundaries: the pickled size of every task
   of the three stages (universe choices carry the market cut at their window, decisions the
   window's training slice, engine tasks the inputs they share: inline with the local executor,
   a reference on Ray) and of the shared engine inputs (``ray.put`` once, fetched once per
   node);
2. wall time with the local executor (2 workers) and on a real cluster: a head and one worker
   node started with the README's ``ray start`` commands (1 CPU each, separate raylets and
   object stores), joined through ``tournament.ray.address``; the artifacts must be
   byte-identical.

Writes ``bench/results/ray_cluster.json``. Run: ``.venv/bin/python bench/bench_ray_cluster.py``.
"""

from __future__ import annotations

import os
import pickle
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cloudpickle

from _machine import machine_info
from bench_tournament import _artifacts, market_history
from clusterfolio.backtest.executors import LocalExecutor, Managed, make_executor
from clusterfolio.backtest.tournament import TournamentResult, run_tournament, warm_up
from clusterfolio.enums import ExecutorName
from clusterfolio.io import atomic_write_json
from clusterfolio.manifest import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ray_cluster.json"
sys.path.insert(0, str(ROOT / "tests" / "backtest"))  # the test suite's cluster of ray start


class MeasuringExecutor(Managed):
    """An executor that records the pickled size of every task and shared value it ships."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.sizes: dict[str, list[int]] = {}
        self.shared: list[int] = []

    def share(self, value: Any) -> Any:
        self.shared.append(len(pickle.dumps(value, protocol=5)))
        return self.inner.share(value)

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> list[Any]:
        self.sizes[fn.__name__] = [len(cloudpickle.dumps(t, protocol=5)) for t in tasks]
        return self.inner.map(fn, tasks)

    def shutdown(self) -> None:
        self.inner.shutdown()


def _mib(n: float) -> float:
    return round(n / 2**20, 3)


def _payloads(measured: MeasuringExecutor) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sizes in measured.sizes.items():
        out[name] = {
            "tasks": len(sizes),
            "mib_total": _mib(sum(sizes)),
            "mib_max": _mib(max(sizes, default=0)),
        }
    out["engine_inputs_shared_mib"] = _mib(sum(measured.shared))
    return out


def _run(settings: Settings, executor: Any, history: Any, matrix: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = run_tournament(matrix, settings, history=history, executor=executor)
    return result, time.perf_counter() - started


def _on_cluster(
    settings: Settings, history: Any, matrix: Any
) -> tuple[TournamentResult, dict[str, Any]]:
    import ray
    from ray_cluster import AUTH_MODE, alive_nodes, local_ray_cluster

    os.environ.pop("RAY_ADDRESS", None)
    os.environ["RAY_AUTH_MODE"] = AUTH_MODE
    started = time.perf_counter()
    with local_ray_cluster(workers=1, cpus=1) as address:
        figures: dict[str, Any] = {"cluster_start_seconds": time.perf_counter() - started}
        tour = settings.model_copy(deep=True)
        tour.tournament.executor = ExecutorName.RAY
        tour.tournament.ray.address = address
        with MeasuringExecutor(make_executor(tour.tournament)) as executor:
            executor.map(warm_up, [0, 1])
            while alive_nodes() < 2:
                time.sleep(1.0)
            figures["nodes"] = alive_nodes()
            figures["warm_up_seconds"] = time.perf_counter() - started
            result, figures["tournament_seconds"] = _run(tour, executor, history, matrix)
            figures["node_cpus"] = [n["Resources"].get("CPU") for n in ray.nodes() if n["Alive"]]
            figures["payloads"] = _payloads(executor)
    return result, figures


def main() -> dict[str, Any]:
    """Measure and write :data:`RESULTS`."""
    started = time.perf_counter()
    history, matrix = market_history()
    settings = Settings()
    out: dict[str, Any] = {
        "listings": len(history.symbols),
        "history_seconds": time.perf_counter() - started,
        "sessions": int(matrix.shape[0]),
    }
    measured = MeasuringExecutor(LocalExecutor(2))
    with measured:
        measured.map(warm_up, [0, 1])
        local, seconds = _run(settings, measured, history, matrix)
    out["local_2_workers_seconds"] = seconds
    out["windows"] = len(local.windows)
    out["universe_choices"] = local.timing["universe_choices"]
    out["payloads"] = _payloads(measured)
    print(out, flush=True)
    on_ray, out["ray_cluster"] = _on_cluster(settings, history, matrix)
    out["ray_cluster"]["same_artifacts_as_local"] = _artifacts(on_ray) == _artifacts(local)
    out["machine"] = machine_info()
    atomic_write_json(RESULTS, out)
    print(out, flush=True)
    return out


if __name__ == "__main__":
    main()
