"""Benchmark: the whole validation tournament, and the executors' speed-up on it.

Point in time (the default, :func:`bench_point_in_time`): the default run's whole synthetic
market (about 1,000 listings, faults on) over ``backtest.history_days``, the production
tournament with every window's universe re-chosen from the screens, the raw pool and natural
selection (every ``backtest.reselect_every`` windows), on the local executor with 2 workers and
on Ray with 2 CPUs; the universe choices are timed apart, and the two executors' artifacts must
be byte-identical. The rest of this docstring describes the as-of universe's benchmark (the
mechanics and the executors on a fixed matrix, ``backtest.universe=as_of_winners``).

The universe is the embedded synthetic market (faults off): 40 winners (26 equities, 5 ETFs,
5 crypto coins, 4 forex pairs, four of the equities SHORT) plus ``AMEX:SPY``, 500 sessions of
each listing on its own calendar (the union index is longer: crypto trades every day). The
tournament is the production one: train 252, test 20, step 20, 200 realized sessions, every
engine, profile and simulator, the slippage decay audit on.

Measured in one run:

1. the tournament with the local executor and 1 worker (inline): wall time, time per engine
   (weights, and weights plus simulations), time per simulator; the heavy imports are done
   before and timed apart; the cvxportfolio reference simulator runs for the custom engine and
   the market (the tournament's default cost bound), and once more for every engine (2
   workers) to show what the bound saves; every timed tournament is the fastest of
   :data:`REPEATS` runs (the first one pays the workers' first-call costs; the machine may be
   shared), the load average is recorded after each;
2. the local executor with 2 workers, and Ray with 1 and 2 CPUs: executor start-up (workers
   importing the libraries) apart from the tournament's wall time, the speed-up 2 vs 1, and
   whether every artifact is byte-identical to the inline run's (when not, the largest weight
   difference per engine and profile is reported).

Writes ``bench/results/tournament.json`` (figures and machine information) and prints it.
Run: ``.venv/bin/python bench/bench_tournament.py``.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.backtest.executors import LocalExecutor, RayExecutor
from clusterfolio.backtest.history import MarketHistory, computable_screens
from clusterfolio.backtest.tournament import (
    TournamentResult,
    run_tournament,
    warm_up,
    write_tournament_artifacts,
)
from clusterfolio.data.returns import build_matrices, returns_between
from clusterfolio.data.synthetic import SyntheticProvider
from clusterfolio.discovery.screens import load_screens
from clusterfolio.enums import AssetClass, Direction, UniverseMode
from clusterfolio.io import atomic_write_json, canonical_json
from clusterfolio.manifest import FaultSettings, Settings, SyntheticSettings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "tournament.json"
AS_OF = date(2026, 11, 20)
SESSIONS = 500
PICK = {
    AssetClass.EQUITY: 26,
    AssetClass.ETF: 5,
    AssetClass.CRYPTO: 5,
    AssetClass.FOREX: 4,
}
N_SHORT = 4
BASELINE = "AMEX:SPY"
TARGET_SECONDS = 60.0
REPEATS = 2  # the fastest of two runs: the machine may be shared


def universe() -> tuple[pd.DataFrame, dict[str, Direction]]:
    """The benchmark's audited matrix and directions (deterministic)."""
    settings = SyntheticSettings(
        faults=FaultSettings(missing_bars=0, stale_listings=0, spikes=0, duplicated_rows=0)
    )
    provider = SyntheticProvider(settings, AS_OF)
    listings = {listing.symbol: listing for listing in provider.listings()}
    chosen: list[str] = []
    for asset_class, count in PICK.items():
        pool = sorted(
            s for s, item in listings.items() if item.asset_class is asset_class and s != BASELINE
        )
        stride = max(1, len(pool) // count)
        chosen.extend(pool[::stride][:count])
    symbols = [*chosen, BASELINE]
    start = AS_OF - timedelta(days=int(SESSIONS * 1.6) + 30)
    candles = {s: provider.candles(s, start, AS_OF) for s in symbols}
    _, returns = build_matrices(
        candles, {s: listings[s] for s in symbols}, symbols, as_of=AS_OF, n_sessions=SESSIONS
    )
    equities = [s for s in chosen if listings[s].asset_class is AssetClass.EQUITY]
    directions = {s: Direction.LONG for s in chosen}
    for symbol in equities[:: max(1, len(equities) // N_SHORT)][:N_SHORT]:
        directions[symbol] = Direction.SHORT
    return returns, directions


def tournament_settings(n_jobs: int) -> Settings:
    """Production tournament settings with the decay audit on, on the as-of universe."""
    settings = Settings()
    settings.backtest.universe = UniverseMode.AS_OF_WINNERS  # the mechanics on a fixed matrix
    settings.features.feat_decay_audit = True
    settings.tournament.n_jobs = n_jobs
    return settings


def _artifacts(result: TournamentResult) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory(prefix="bench-tournament-") as folder:
        names = write_tournament_artifacts(result, Path(folder))
        return {name: (Path(folder) / name).read_bytes() for name in names}


def _per_engine(result: TournamentResult) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for outcome in result.outcomes:
        entry = out.setdefault(
            outcome.engine.value, {"weights_seconds": 0.0, "with_simulations_seconds": 0.0}
        )
        simulations = float(sum(outcome.seconds_simulators.values()))
        entry["weights_seconds"] += outcome.seconds_weights
        entry["with_simulations_seconds"] += outcome.seconds_weights + simulations
    return out


def _timed_run(
    returns: pd.DataFrame,
    directions: dict[str, Direction],
    executor: Any,
    n_jobs: int,
    repeats: int = REPEATS,
    **options: Any,
) -> tuple[TournamentResult, dict[str, Any]]:
    start = time.perf_counter()
    executor.map(warm_up, list(range(n_jobs)))  # start the workers and import the libraries
    startup = time.perf_counter() - start
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run_tournament(
            returns,
            tournament_settings(n_jobs),
            directions=directions,
            executor=executor,
            **options,
        )
        walls.append(time.perf_counter() - start)
    figures: dict[str, Any] = {
        "startup_seconds": startup,
        "tournament_seconds": min(walls),
        "tournament_seconds_each": walls,
    }
    with contextlib.suppress(OSError):
        figures["load_average_1m_after"] = os.getloadavg()[0]
    return result, figures


def _differences(result: TournamentResult, reference: TournamentResult) -> dict[str, float]:
    """Largest absolute difference of the gross weights per engine|profile (non-zero only)."""
    merged = reference.weights.merge(
        result.weights, on=["engine", "profile", "window", "symbol"], how="outer"
    ).fillna(0.0)
    merged["diff"] = (merged["gross_x"] - merged["gross_y"]).abs()
    merged["key"] = merged["engine"] + "|" + merged["profile"]
    worst = merged.groupby("key")["diff"].max()
    return {str(k): float(v) for k, v in worst.items() if v > 0}


def _compare(
    result: TournamentResult, reference: TournamentResult, expected: Any
) -> dict[str, Any]:
    same = _artifacts(result) == expected
    out: dict[str, Any] = {"same_artifacts_as_local_1": same}
    if not same:
        out["weight_differences"] = _differences(result, reference)
    return out


def bench() -> dict[str, Any]:
    """Run the tournament inline, with 2 local workers, and on Ray with 1 and 2 CPUs."""
    returns, directions = universe()
    start = time.perf_counter()
    warm_up(0)
    imports = time.perf_counter() - start

    runs: dict[str, dict[str, Any]] = {}
    with LocalExecutor(1) as executor:
        reference, figures = _timed_run(returns, directions, executor, 1)
    figures["per_engine"] = _per_engine(reference)
    figures["per_simulator_seconds"] = reference.timing["simulators"]
    figures["decide_seconds"] = reference.timing["decide"]
    runs["local_1"] = figures
    expected = _artifacts(reference)

    with LocalExecutor(2) as executor:
        result, figures = _timed_run(returns, directions, executor, 2)
        figures.update(_compare(result, reference, expected))
        runs["local_2"] = figures
        full, figures = _timed_run(
            returns, directions, executor, 2, repeats=1, cvxportfolio_engines=None
        )
        figures["cvxportfolio_simulator"] = "every engine"
        figures["per_simulator_seconds"] = full.timing["simulators"]
        runs["local_2_cvxportfolio_all_engines"] = figures

    ray_note: str | None = None
    try:
        import ray  # noqa: F401
    except ImportError:  # pragma: no cover - optional extra
        ray_note = "ray not installed"
    else:
        saved = os.environ.pop("RAY_ADDRESS", None)
        try:
            for cpus in (1, 2):
                with RayExecutor(num_cpus=cpus) as executor:
                    result, figures = _timed_run(returns, directions, executor, cpus)
                figures.update(_compare(result, reference, expected))
                runs[f"ray_{cpus}"] = figures
        finally:
            if saved is not None:
                os.environ["RAY_ADDRESS"] = saved

    rows = reference.summary["rows"]
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    realized = {
        f"{r['engine']}|{r['profile']}": r["metrics"]["cagr"]
        for r in rows
        if r["simulator"] == "realized" and r["metrics"] is not None
    }
    out: dict[str, Any] = {
        "universe": {
            "winners": len(directions),
            "short": sum(1 for d in directions.values() if d is Direction.SHORT),
            "baseline": BASELINE,
            "sessions_per_listing": SESSIONS,
            "union_rows": len(returns),
            "windows": len(reference.windows),
            "periods_per_year": reference.summary["periods_per_year"],
        },
        "imports_seconds": imports,
        "runs": runs,
        "local_speedup_2_vs_1": runs["local_1"]["tournament_seconds"]
        / runs["local_2"]["tournament_seconds"],
        "target_seconds_2_cores": TARGET_SECONDS,
        "meets_target_2_cores": runs["local_2"]["tournament_seconds"] < TARGET_SECONDS,
        "summary_statuses": statuses,
        "results_rows": len(reference.results),
        "realized_cagr": realized,
    }
    if "ray_2" in runs:
        out["ray_speedup_2_vs_1"] = (
            runs["ray_1"]["tournament_seconds"] / runs["ray_2"]["tournament_seconds"]
        )
    if ray_note:
        out["ray"] = ray_note
    return out


def market_history() -> tuple[MarketHistory, pd.DataFrame]:
    """The default run's market (every listing, faults on) and its return matrix."""
    settings = Settings()
    provider = SyntheticProvider(settings.data.synthetic, AS_OF)
    listings = {listing.symbol: listing for listing in provider.listings()}
    days = settings.backtest.history_days + settings.discovery.history_days
    start = AS_OF - timedelta(days=days)
    candles = {s: provider.candles(s, start, AS_OF) for s in sorted(listings)}
    candles = {s: c.reset_index(drop=True) for s, c in candles.items() if not c.empty}
    screens = load_screens(ROOT / settings.discovery.scanners_dir)
    kept, notes = computable_screens(screens, candles, listings)
    history = MarketHistory(candles, {s: listings[s] for s in candles}, tuple(kept), tuple(notes))
    matrix = returns_between(
        history.candles,
        history.listings,
        history.symbols,
        start=AS_OF - timedelta(days=settings.backtest.history_days),
        end=AS_OF,
    )
    return history, matrix


def _pit_run(
    history: MarketHistory, matrix: pd.DataFrame, executor: Any
) -> tuple[TournamentResult, dict[str, Any]]:
    settings = Settings()  # production: point_in_time, 2 workers
    start = time.perf_counter()
    result = run_tournament(matrix, settings, history=history, executor=executor)
    wall = time.perf_counter() - start
    choices = int(result.timing.get("universe_choices", 0))
    figures: dict[str, Any] = {
        "tournament_seconds": wall,
        "universe_seconds_total": result.timing["universe"],
        "universe_choices": choices,
        "universe_seconds_per_choice": result.timing["universe"] / max(choices, 1),
        "decide_seconds_total": result.timing["decide"],
        "engine_seconds": result.timing["engines"],
        "simulator_seconds": result.timing["simulators"],
        "windows": len(result.windows),
        "test_sessions": result.summary["settings"]["covered_sessions"],
    }
    with contextlib.suppress(OSError):
        figures["load_average_1m_after"] = os.getloadavg()[0]
    return result, figures


def bench_point_in_time() -> dict[str, Any]:
    """The default point-in-time tournament: local executor (2 workers), then Ray (2 CPUs).

    Every universe choice (screens, raw pool, natural selection over the whole market cut at a
    window's training end) is timed apart from the decisions and the engines; the artifacts of
    the two executors must be byte-identical.
    """
    start = time.perf_counter()
    history, matrix = market_history()
    prepare = time.perf_counter() - start
    out: dict[str, Any] = {
        "listings": len(history.symbols),
        "history_seconds": prepare,
        "target_seconds": TARGET_SECONDS,
    }
    with LocalExecutor(2) as executor:
        executor.map(warm_up, [0, 1])
        reference, out["local_2"] = _pit_run(history, matrix, executor)
    expected = _artifacts(reference)
    with RayExecutor(num_cpus=2) as executor:
        executor.map(warm_up, [0, 1])
        result, out["ray_2"] = _pit_run(history, matrix, executor)
    out["ray_2"]["same_artifacts_as_local_2"] = _artifacts(result) == expected
    rows = reference.summary["rows"]
    out["realized"] = {
        f"{r['engine']}|{r['profile']}": {
            k: r["metrics"][k] for k in ("sharpe", "cagr", "volatility", "max_drawdown")
        }
        for r in rows
        if r["simulator"] == "realized" and r["metrics"] is not None
    }
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
    with contextlib.suppress(OSError):
        info["load_average_1m"] = os.getloadavg()[0]
    with contextlib.suppress(ImportError):
        import ray

        info["ray"] = ray.__version__
    return info


def main() -> dict[str, Any]:
    """Run the benchmark, write ``bench/results/tournament.json`` and print it."""
    report: dict[str, Any] = {
        "machine": _machine(),
        "point_in_time": bench_point_in_time(),
        "tournament": bench(),
    }
    atomic_write_json(RESULTS, report)
    print(canonical_json(report), end="")
    pit = report["point_in_time"]
    for name in ("local_2", "ray_2"):
        run = pit[name]
        print(
            f"point in time {name}: {run['tournament_seconds']:.1f} s, of which universe "
            f"{run['universe_seconds_total']:.1f} s over {run['universe_choices']} choices "
            f"(CPU seconds summed over workers)"
        )
    figures = report["tournament"]
    for name, run in figures["runs"].items():
        print(
            f"{name:>8}: tournament {run['tournament_seconds']:.1f} s "
            f"(+ start-up {run['startup_seconds']:.1f} s)"
            + (
                f", identical artifacts: {run['same_artifacts_as_local_1']}"
                if "same_artifacts_as_local_1" in run
                else ""
            )
        )
    for engine, entry in figures["runs"]["local_1"]["per_engine"].items():
        print(
            f"{engine:>15}: weights {entry['weights_seconds']:.2f} s, with simulations "
            f"{entry['with_simulations_seconds']:.2f} s"
        )
    return report


if __name__ == "__main__":
    main()
