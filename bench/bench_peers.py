"""Benchmark: one tournament window's peer fits at 200 and 500 assets, inline and in a budget.

The training slice of a production window: 252 sessions of a five-factor market (plus
idiosyncratic noise), ten clusters, asset cap 10 %, cluster cap 25 %. For every peer engine
(skfolio, Riskfolio-Lib, PyPortfolioOpt, cvxportfolio) and profile it implements:

1. the warm fit time (the fastest of :data:`REPEATS`, the libraries imported before), as the
   tournament calls it (:class:`~clusterfolio.backtest.engines.PeerEngine` and
   :class:`~clusterfolio.backtest.engines.CvxportfolioEngine`);
2. Riskfolio-Lib with its own solver chain (CLARABEL, ECOS, SCS, OSQP, CVXOPT: what the
   adapter used before) beside the adapter's CLARABEL only (:data:`~clusterfolio.optimize.
   peers.RISKFOLIO_SOLVERS`): time, which solver answered and the largest weight difference;
3. the same fits in a budgeted worker (:class:`~clusterfolio.backtest.tournament_budget.
   FitWorker`, the tournament's ``peer_budget_seconds``): time per fit including the transfer
   of the slice, and the worker's start (forkserver with the libraries preloaded).

Writes ``bench/results/peers.json``. Run: ``.venv/bin/python bench/bench_peers.py [SIZES...]``.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from _machine import machine_info
from clusterfolio.backtest.decision import DecisionInputs
from clusterfolio.backtest.engines import make_engine
from clusterfolio.backtest.tournament_budget import (
    FitWorker,
    fit_weights,
    modules_for,
)
from clusterfolio.enums import Direction, EngineName, ProfileName, Regime
from clusterfolio.io import atomic_write_json
from clusterfolio.manifest import Settings
from clusterfolio.optimize import peers

RESULTS = Path(__file__).resolve().parent / "results" / "peers.json"
SIZES = (200, 500)
SESSIONS = 252
REPEATS = 2
BUDGET_S = 120.0
ENGINES = (
    EngineName.SKFOLIO,
    EngineName.RISKFOLIO,
    EngineName.PYPORTFOLIOOPT,
    EngineName.CVXPORTFOLIO,
)
PROFILES = (
    ProfileName.MIN_VARIANCE,
    ProfileName.MAX_SHARPE,
    ProfileName.RISK_PARITY,
    ProfileName.HRP,
)
RISKFOLIO_DEFAULT_SOLVERS = ("CLARABEL", "ECOS", "SCS", "OSQP", "CVXOPT")


def _market(n: int, seed: int = 0) -> tuple[pd.DataFrame, DecisionInputs, Settings]:
    rng = np.random.default_rng(seed)
    factors = rng.normal(scale=0.01, size=(SESSIONS, 5))
    loadings = rng.normal(size=(5, n))
    noise = rng.normal(scale=0.01, size=(SESSIONS, n))
    symbols = [f"NASDAQ:S{i:03d}" for i in range(n)]
    index = pd.bdate_range("2025-01-02", periods=SESSIONS)
    returns = pd.DataFrame(0.5 * factors @ loadings + noise + 3e-4, index=index, columns=symbols)
    returns["AMEX:SPY"] = factors.sum(axis=1) * 0.3
    decision = DecisionInputs(
        train_start=index[0],
        train_end=index[-1],
        symbols=tuple(symbols),
        directions={s: Direction.LONG for s in symbols},
        clusters={s: i % 10 for i, s in enumerate(symbols)},
        threshold=0.5,
        regime=Regime.NORMAL,
        regime_score=0.0,
        fragility={s: 0.0 for s in symbols},
        antifragility={s: 0.0 for s in symbols},
        execution_scores={s: 1.0 for s in symbols},
        baseline="AMEX:SPY",
    )
    settings = Settings()
    settings.risk.asset_cap, settings.risk.cluster_cap = 0.1, 0.25
    return returns, decision, settings


def _timed(fn: Callable[[], Any]) -> tuple[float, Any, str | None]:
    best, value, error = float("inf"), None, None
    for _ in range(REPEATS):
        started = time.perf_counter()
        try:
            value = fn()
        except Exception as exc:  # a failing fit is a figure too
            error = f"{type(exc).__name__}: {exc}"[:200]
        best = min(best, time.perf_counter() - started)
    return best, value, error


def _inline(n: int) -> list[dict[str, Any]]:
    returns, decision, settings = _market(n)
    rows = []
    for name in ENGINES:
        engine = make_engine(name, settings)
        for profile in PROFILES:
            if profile not in engine.profiles:
                continue
            seconds, _, error = _timed(
                lambda e=engine, p=profile: fit_weights(e, returns, decision, p, None)
            )
            rows.append(
                {
                    "engine": name.value,
                    "profile": profile.value,
                    "assets": n,
                    "seconds": seconds,
                    "error": error,
                }
            )
            print(rows[-1], flush=True)
    return rows


def _riskfolio_solvers(n: int) -> list[dict[str, Any]]:
    """Riskfolio-Lib's own solver chain (before) against CLARABEL only (after)."""
    import cvxpy as cp

    returns, decision, settings = _market(n)
    engine = make_engine(EngineName.RISKFOLIO, settings)
    solved: list[str] = []
    real_solve = cp.Problem.solve

    def spy(self: cp.Problem, *args: Any, **kwargs: Any) -> Any:
        try:
            return real_solve(self, *args, **kwargs)
        finally:
            solved.append(f"{kwargs.get('solver')}:{self.status}")

    rows = []
    cp.Problem.solve = spy  # type: ignore[method-assign]
    try:
        for profile in (ProfileName.MIN_VARIANCE, ProfileName.MAX_SHARPE, ProfileName.RISK_PARITY):
            out: dict[str, Any] = {"profile": profile.value, "assets": n}
            weights = {}
            for label, chain in (("before", RISKFOLIO_DEFAULT_SOLVERS), ("after", ("CLARABEL",))):
                peers.RISKFOLIO_SOLVERS = chain
                solved.clear()
                seconds, value, error = _timed(
                    lambda p=profile: fit_weights(engine, returns, decision, p, None)
                )
                weights[label] = value
                out[label] = {
                    "solvers": list(chain),
                    "seconds": seconds,
                    "attempts": solved[: len(solved) // REPEATS],
                    "error": error,
                }
            if weights["before"] is not None and weights["after"] is not None:
                gap = (weights["before"] - weights["after"]).abs().max()
                out["max_weight_difference"] = float(gap)
            rows.append(out)
            print(out, flush=True)
    finally:
        cp.Problem.solve = real_solve  # type: ignore[method-assign]
        peers.RISKFOLIO_SOLVERS = ("CLARABEL",)
    return rows


def _budgeted(n: int) -> dict[str, Any]:
    returns, decision, settings = _market(n)
    started = time.perf_counter()
    out: dict[str, Any] = {"assets": n, "budget_s": BUDGET_S, "fits": []}
    with FitWorker(
        BUDGET_S, label="bench", modules=modules_for(ENGINES), preload=modules_for(ENGINES)
    ) as worker:
        worker.call(int, 0)
        out["worker_start_s"] = time.perf_counter() - started
        for name in ENGINES:
            engine = make_engine(name, settings)
            seconds, _, error = _timed(
                lambda e=engine: worker.call(
                    fit_weights, e, returns, decision, ProfileName.MIN_VARIANCE, None
                )
            )
            out["fits"].append({"engine": name.value, "seconds": seconds, "error": error})
            print(out["fits"][-1], flush=True)
    return out


def main(sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    """Run every measurement and write :data:`RESULTS`."""
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    for name in modules_for(ENGINES):  # imports timed apart from the fits
        __import__(name)
    imports = time.perf_counter() - started
    result: dict[str, Any] = {
        "sessions": SESSIONS,
        "repeats": REPEATS,
        "imports_s": imports,
        "inline": [row for n in sizes for row in _inline(n)],
        "riskfolio_solvers": [row for n in sizes for row in _riskfolio_solvers(n)],
        "budgeted": [_budgeted(n) for n in sizes[:1]],
        "machine": machine_info(),
    }
    atomic_write_json(RESULTS, result)
    return result


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
