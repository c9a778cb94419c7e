"""Benchmark: our realized simulator against cvxportfolio's MarketSimulator, and the executors.

Measured side by side in one run:

1. the realized simulator (numpy, vectorised per window) and ``cvxportfolio.MarketSimulator``
   on 20 x 750 and 200 x 750 daily returns, rebalancing every 20 sessions, 6 bps of costs
   (5 bps slippage + 1 bp commission): time per simulation, speed-up, and agreement of the
   final values (must be within 1e-9 relative);
2. the executors on a CPU-bound toy task: local pool with 1 and 2 jobs, Ray with 1 and 2 CPUs
   (start-up reported apart from the timed map).

Writes ``bench/results/simulators.json`` (figures and machine information) and prints it.
Run: ``.venv/bin/python bench/bench_simulators.py``.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.backtest.costs import CostModel
from clusterfolio.backtest.executors import LocalExecutor, RayExecutor
from clusterfolio.backtest.simulators import simulate, simulate_cvxportfolio
from clusterfolio.io import atomic_write_json, canonical_json

RESULTS = Path(__file__).resolve().parent / "results" / "simulators.json"
SESSIONS = 750
REBALANCE = 20
COSTS = CostModel(slippage=0.0005, commission=0.0001)  # 6 bps in all
SEED = 20240601
TOY_TASKS = 8
TOY_SIZE = 1_500_000


def _problem(n_assets: int, seed: int) -> tuple[pd.DataFrame, list[tuple[Any, pd.Series]]]:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2021-01-04", periods=SESSIONS)
    symbols = [f"BENCH:A{i:03d}" for i in range(n_assets)]
    returns = pd.DataFrame(
        rng.normal(0.0003, 0.012, (SESSIONS, n_assets)), index=index, columns=symbols
    )
    weights = []
    for start in range(0, SESSIONS, REBALANCE):
        stop = min(start + REBALANCE, SESSIONS) - 1
        target = pd.Series(rng.dirichlet(np.ones(n_assets)), index=symbols)
        weights.append(((index[start], index[stop]), target))
    return returns, weights


def _time_ours(returns: pd.DataFrame, weights: list[tuple[Any, pd.Series]]) -> dict[str, Any]:
    simulate(weights, returns, cost_model=COSTS)  # warm-up
    times = []
    for _ in range(30):
        start = time.perf_counter()
        result = simulate(weights, returns, cost_model=COSTS)
        times.append(time.perf_counter() - start)
    return {
        "seconds_median": statistics.median(times),
        "seconds_min": min(times),
        "repeats": len(times),
        "final_value": result.final_value,
    }


def _time_cvxportfolio(
    returns: pd.DataFrame, weights: list[tuple[Any, pd.Series]]
) -> dict[str, Any]:
    start = time.perf_counter()
    result = simulate_cvxportfolio(weights, returns, cost_model=COSTS)
    return {
        "seconds": time.perf_counter() - start,
        "repeats": 1,
        "final_value": result.final_value,
    }


def bench_simulators() -> list[dict[str, Any]]:
    """Realized simulator against cvxportfolio on 20 x 750 and 200 x 750."""
    import cvxportfolio  # noqa: F401  (import time kept out of the timings)

    rows = []
    for n_assets in (20, 200):
        returns, weights = _problem(n_assets, SEED + n_assets)
        ours = _time_ours(returns, weights)
        ref = _time_cvxportfolio(returns, weights)
        rel = abs(ours["final_value"] / ref["final_value"] - 1.0)
        rows.append(
            {
                "assets": n_assets,
                "sessions": SESSIONS,
                "rebalance_every": REBALANCE,
                "rebalances": len(weights),
                "cost_per_unit": COSTS.per_unit,
                "ours_realized": ours,
                "cvxportfolio": ref,
                "speedup": ref["seconds"] / ours["seconds_median"],
                "final_value_rel_diff": rel,
                "agree_1e-9": bool(rel <= 1e-9),
            }
        )
    return rows


def burn(n: int) -> float:
    """A CPU-bound toy task: a pure-Python loop (holds the GIL, so only processes help)."""
    total = 0.0
    for i in range(n):
        total += (i % 7) * 0.5 - (i % 3)
    return total


def _time_map(executor: Any, tasks: list[int]) -> dict[str, Any]:
    start = time.perf_counter()
    executor.map(burn, tasks[:2])  # start the workers; not timed below
    startup = time.perf_counter() - start
    start = time.perf_counter()
    results = executor.map(burn, tasks)
    seconds = time.perf_counter() - start
    return {"startup_seconds": startup, "map_seconds": seconds, "results": results}


def bench_executors() -> dict[str, Any]:
    """Local pool 1 vs 2 jobs and Ray 1 vs 2 CPUs on ``TOY_TASKS`` toy tasks."""
    tasks = [TOY_SIZE] * TOY_TASKS
    out: dict[str, Any] = {"tasks": TOY_TASKS, "task_size": TOY_SIZE}
    runs: dict[str, dict[str, Any]] = {}
    for jobs in (1, 2):
        with LocalExecutor(n_jobs=jobs) as executor:
            runs[f"local_{jobs}"] = _time_map(executor, tasks)
    try:
        import ray  # noqa: F401
    except ImportError:  # pragma: no cover - optional extra
        out["ray"] = "not installed"
    else:
        saved = os.environ.pop("RAY_ADDRESS", None)
        try:
            for cpus in (1, 2):
                with RayExecutor(num_cpus=cpus) as executor:
                    runs[f"ray_{cpus}"] = _time_map(executor, tasks)
        finally:
            if saved is not None:
                os.environ["RAY_ADDRESS"] = saved
    reference = runs["local_1"].pop("results")
    for run in runs.values():
        results = run.pop("results", reference)
        run["same_results_as_local_1"] = results == reference
    out["runs"] = runs
    out["local_speedup_2_vs_1"] = runs["local_1"]["map_seconds"] / runs["local_2"]["map_seconds"]
    if "ray_1" in runs:
        out["ray_speedup_2_vs_1"] = runs["ray_1"]["map_seconds"] / runs["ray_2"]["map_seconds"]
    return out


def _machine() -> dict[str, Any]:
    import cvxportfolio

    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "cvxportfolio": cvxportfolio.__version__,
    }
    with contextlib.suppress(OSError):  # not on every platform
        info["load_average_1m"] = os.getloadavg()[0]
    try:
        import ray

        info["ray"] = ray.__version__
    except ImportError:  # pragma: no cover - optional extra
        pass
    return info


def main() -> dict[str, Any]:
    """Run both benchmarks, write ``bench/results/simulators.json`` and print it."""
    report: dict[str, Any] = {
        "machine": _machine(),
        "simulators": bench_simulators(),
        "executors": bench_executors(),
    }
    atomic_write_json(RESULTS, report)
    print(canonical_json(report), end="")
    for row in report["simulators"]:
        print(
            f"{row['assets']:>4} x {row['sessions']}: ours "
            f"{row['ours_realized']['seconds_median'] * 1e3:.2f} ms, cvxportfolio "
            f"{row['cvxportfolio']['seconds']:.2f} s, speed-up {row['speedup']:.0f}x, "
            f"final values differ by {row['final_value_rel_diff']:.1e}"
        )
    ex = report["executors"]
    print(f"local 2 vs 1 jobs: {ex['local_speedup_2_vs_1']:.2f}x")
    if "ray_speedup_2_vs_1" in ex:
        print(f"ray 2 vs 1 CPUs: {ex['ray_speedup_2_vs_1']:.2f}x")
    return report


if __name__ == "__main__":
    main()
