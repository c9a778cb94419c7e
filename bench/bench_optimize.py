"""Benchmark of the custom optimisation engine against the peer libraries, side by side.

1. HRP on 200 assets x 750 sessions: ours vs skfolio vs Riskfolio-Lib (HCPortfolio) vs
   PyPortfolioOpt (HRPOpt), same Ward linkage and angular distance, plain leaf order; plus ours
   with optimal leaf ordering vs skfolio's default seriation. Median wall time of several runs and
   the largest weight difference to skfolio.
2. Minimum CVaR (95%, historical, long-only, fully invested) on 200 x 750: ours (the dual of
   the Rockafellar-Uryasev LP, HiGHS) vs skfolio ``MeanRisk(risk_measure=CVAR)``, same objective
   value, timed interleaved.
3. Every profile of the custom engine on 40 assets x 500 sessions (``optimize_all``), cold and
   warm.
4. Bounded HRP (per-asset min and max weights inside the bisection) on 200 x 750: ours vs
   skfolio's ``HierarchicalRiskParity(min_weights, max_weights)``, time and largest weight gap.
5. The L1 move of the last-resort cap projection per profile, on the default run (read from
   ``data/runs/latest``) and on the M6 data as of 2020-03-20 and 2022-04-13, and on M6 the L1
   distance to the book of 20 sessions earlier with and without the turnover penalty.

Every engine runs in the same process with BLAS limited to one thread (the machine is shared;
small dense problems do not gain from BLAS threads and are badly hurt by contention). Results go
to ``bench/results/optimize.json`` with machine information.

Run: ``.venv/bin/python bench/bench_optimize.py``.
"""

from __future__ import annotations

import functools
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.enums import Direction, ProfileName, Regime
from clusterfolio.io import atomic_write_json
from clusterfolio.optimize import (
    OptimizationProblem,
    hrp,
    min_cvar_weights,
    optimize_all,
    optimize_profile,
    portfolio_cvar,
)

RESULTS = Path(__file__).resolve().parent / "results" / "optimize.json"
SEED = 20240601


def factor_returns(n_assets: int, n_obs: int, seed: int) -> pd.DataFrame:
    """Seeded daily returns of a 10-factor model with distinct idiosyncratic volatilities."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(scale=0.01, size=(n_obs, 10))
    loadings = rng.normal(scale=0.5, size=(10, n_assets))
    idio = rng.normal(size=(n_obs, n_assets)) * rng.uniform(0.005, 0.025, size=n_assets)
    values = factors @ loadings + idio + rng.normal(0.0004, 0.0004, size=n_assets)
    symbols = [f"NYSE:B{i:03d}" for i in range(n_assets - 1)] + ["AMEX:SPY"]
    return pd.DataFrame(values, index=pd.bdate_range("2021-01-04", periods=n_obs), columns=symbols)


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any, list[float]]:
    """Median wall time (s) of ``repeats`` calls after one warm-up call, and the last output."""
    out = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out, times


def _blas_single_thread() -> tuple[AbstractContextManager[Any], str]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return nullcontext(), "unlimited (threadpoolctl unavailable)"
    return threadpool_limits(limits=1, user_api="blas"), "1 thread (threadpoolctl)"


# -------------------------------------------------------------------------------------- 1 hrp


def bench_hrp(returns: pd.DataFrame, repeats: int) -> dict[str, Any]:
    from pypfopt import HRPOpt
    from riskfolio import HCPortfolio
    from skfolio.cluster import HierarchicalClustering, LinkageMethod
    from skfolio.distance import PearsonDistance
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import HierarchicalRiskParity
    from skfolio.prior import EmpiricalPrior
    from skfolio.seriation import HierarchicalSeriation

    columns = list(returns.columns)

    def skfolio_hrp(optimal: bool) -> np.ndarray:
        model = HierarchicalRiskParity(
            risk_measure=RiskMeasure.VARIANCE,
            distance_estimator=PearsonDistance(),
            prior_estimator=EmpiricalPrior(),
            seriation_estimator=HierarchicalSeriation(
                hierarchical_clustering_estimator=HierarchicalClustering(
                    linkage_method=LinkageMethod.WARD
                ),
                optimal_ordering=optimal,
            ),
        )
        return np.asarray(model.fit(returns).weights_)

    def riskfolio_hrp() -> np.ndarray:
        port = HCPortfolio(returns=returns)
        frame = port.optimization(
            model="HRP", codependence="pearson", rm="MV", linkage="ward", leaf_order=False
        )
        return frame["weights"].reindex(columns).to_numpy()

    def pypfopt_hrp() -> np.ndarray:
        weights = HRPOpt(returns).optimize(linkage_method="ward")
        return pd.Series(weights).reindex(columns).to_numpy()

    n = returns.shape[1]
    problem = OptimizationProblem(
        returns=returns,
        clusters={s: i % 20 for i, s in enumerate(columns)},
        directions={s: Direction.LONG for s in columns},
        execution_scores={},
        fragility={},
        antifragility={},
        regime=Regime.NORMAL,
        asset_cap=1.0,
        cluster_cap=1.0,
    )
    rows: dict[str, Any] = {}
    t_sk, w_sk, times_sk = median_time(lambda: skfolio_hrp(False), max(3, repeats // 3))
    t_sk_olo, w_sk_olo, _ = median_time(lambda: skfolio_hrp(True), max(3, repeats // 3))
    t_ours, w_ours, times_ours = median_time(lambda: hrp(returns).to_numpy(), repeats)
    t_ours_olo, w_ours_olo, _ = median_time(
        lambda: hrp(returns, optimal_leaf_ordering=True).to_numpy(), repeats
    )
    t_prof, res_prof, _ = median_time(lambda: optimize_profile(problem, ProfileName.HRP), repeats)
    t_rf, w_rf, _ = median_time(riskfolio_hrp, max(3, repeats // 3))
    t_pf, w_pf, _ = median_time(pypfopt_hrp, max(3, repeats // 3))
    ours_profile = res_prof.weights.reindex(columns).to_numpy()

    def row(t: float, w: np.ndarray, reference: np.ndarray, note: str) -> dict[str, Any]:
        return {
            "median_s": t,
            "speedup_vs_skfolio": t_sk / t,
            "max_abs_dw_vs_skfolio": float(np.max(np.abs(w - reference))),
            "note": note,
        }

    rows["skfolio"] = row(t_sk, w_sk, w_sk, "HierarchicalRiskParity, WARD, optimal_ordering=False")
    rows["ours"] = row(t_ours, w_ours, w_sk, "clusterfolio.optimize.hrp(returns)")
    rows["ours_optimize_profile"] = row(
        t_prof, ours_profile, w_sk, "optimize_profile(problem, HRP): validation, caps, diagnostics"
    )
    rows["riskfolio"] = row(t_rf, w_rf, w_sk, "HCPortfolio HRP, pearson, ward, leaf_order=False")
    rows["pyportfolioopt"] = row(t_pf, w_pf, w_sk, "HRPOpt(linkage_method='ward')")
    rows["skfolio_optimal_leaf_ordering"] = row(
        t_sk_olo, w_sk_olo, w_sk_olo, "skfolio default seriation (optimal leaf ordering)"
    )
    rows["ours_optimal_leaf_ordering"] = row(
        t_ours_olo, w_ours_olo, w_sk_olo, "ours with optimal_leaf_ordering=True vs the row above"
    )
    rows["ours_optimal_leaf_ordering"]["speedup_vs_skfolio"] = t_sk_olo / t_ours_olo
    return {
        "n_assets": n,
        "n_sessions": returns.shape[0],
        "repeats_ours": repeats,
        "engines": rows,
        "raw_times_s": {"ours": times_ours, "skfolio": times_sk},
        "target": "ours >= 25x faster than skfolio with identical weights (max |dw| <= 1e-8)",
        "target_met": bool(t_sk / t_ours >= 25 and rows["ours"]["max_abs_dw_vs_skfolio"] <= 1e-8),
    }


# ----------------------------------------------------------------------------------- 2 cvar


def bench_cvar(returns: pd.DataFrame, repeats: int) -> dict[str, Any]:
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import MeanRisk

    def ours() -> tuple[pd.Series, dict[str, Any]]:
        info: dict[str, Any] = {}
        return min_cvar_weights(returns, 0.95, diagnostics=info), info

    def skfolio_cvar() -> pd.Series:
        model = MeanRisk(risk_measure=RiskMeasure.CVAR, cvar_beta=0.95).fit(returns)
        return pd.Series(model.weights_, index=returns.columns)

    # interleaved (ours, skfolio, ours, ...) so that a change of machine load hits both alike
    (w_ours, info), w_sk = ours(), skfolio_cvar()
    times_ours, times_sk = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        w_ours, info = ours()
        times_ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        w_sk = skfolio_cvar()
        times_sk.append(time.perf_counter() - start)
    t_ours, t_sk = statistics.median(times_ours), statistics.median(times_sk)
    cvar_ours = portfolio_cvar(returns, w_ours, 0.95)
    cvar_sk = portfolio_cvar(returns, w_sk, 0.95)
    return {
        "n_assets": returns.shape[1],
        "n_sessions": returns.shape[0],
        "beta": 0.95,
        "ours": {
            "median_s": t_ours,
            "cvar": cvar_ours,
            "lp_optimal_value": info["cvar"],
            "solver": info["solver"],
            "fallbacks": info["fallbacks"],
            "n_nonzero": int((w_ours > 1e-8).sum()),
        },
        "skfolio": {"median_s": t_sk, "cvar": cvar_sk, "n_nonzero": int((w_sk > 1e-8).sum())},
        "abs_objective_difference": abs(cvar_ours - cvar_sk),
        "objective_equal_to_1e-6": bool(abs(cvar_ours - cvar_sk) <= 1e-6),
        "max_abs_dw": float(np.max(np.abs(w_ours - w_sk))),
        "speedup_vs_skfolio": t_sk / t_ours,
        "raw_times_s": {"ours": times_ours, "skfolio": times_sk},
        "target": "ours >= 2x faster than skfolio, objective not worse than skfolio's + 1e-6",
        "target_met": bool(t_sk / t_ours >= 2.0 and cvar_ours <= cvar_sk + 1e-6),
    }


# ------------------------------------------------------------------------------- 3 profiles


_COLD = """
import time
start = time.perf_counter()
import bench_optimize as b
problem = b.profiles_problem()
b.optimize_all(problem, list(b.ProfileName))
print(time.perf_counter() - start)
"""


def _cold_start_seconds() -> float:
    """Imports plus the first ``optimize_all`` in a fresh interpreter (one BLAS thread)."""
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent), env.get("PYTHONPATH", "")]
    )
    out = subprocess.run(
        [sys.executable, "-c", _COLD], capture_output=True, text=True, check=True, env=env
    )
    return float(out.stdout.strip().splitlines()[-1])


def profiles_problem() -> OptimizationProblem:
    """The 40 x 500 problem of the third benchmark (seeded signals, SHORTs, previous weights)."""
    returns = factor_returns(40, 500, SEED + 3)
    rng = np.random.default_rng(SEED + 4)
    columns = list(returns.columns)
    return OptimizationProblem(
        returns=returns,
        clusters={s: i % 14 for i, s in enumerate(columns)},
        directions={
            s: Direction.SHORT if i % 7 == 3 else Direction.LONG for i, s in enumerate(columns)
        },
        execution_scores={s: float(rng.uniform()) for s in columns},
        fragility={str(c): float(rng.uniform()) for c in range(14)},
        antifragility={s: float(rng.normal()) for s in columns},
        regime=Regime.NORMAL,
        previous_weights={s: 1 / 40 for s in columns},
        turnover_cost=0.0006,
    )


def bench_profiles(repeats: int) -> dict[str, Any]:
    problem = profiles_problem()
    profiles = list(ProfileName)
    cold = _cold_start_seconds()
    t_all, results, _ = median_time(lambda: optimize_all(problem, profiles), repeats)
    per_profile = {}
    for profile in profiles:
        t, _, _ = median_time(functools.partial(optimize_profile, problem, profile), repeats)
        per_profile[profile.value] = t
    return {
        "n_assets": 40,
        "n_sessions": 500,
        "profiles": [p.value for p in profiles],
        "cold_first_call_s": cold,
        "cold_note": "fresh interpreter: package and cvxpy import, first optimize_all",
        "median_all_profiles_s": t_all,
        "median_per_profile_s": per_profile,
        "target": "all profiles < 2 s",
        "target_met": bool(t_all < 2.0),
        "fallbacks": {p.value: r.fallback_kinds for p, r in results.items()},
        "solvers": {p.value: r.solver for p, r in results.items()},
    }


# ------------------------------------------------------------------------------ 4 bounded hrp


def bench_bounded_hrp(returns: pd.DataFrame, repeats: int) -> dict[str, Any]:
    """Bounded HRP (per-asset min/max weights in the bisection): ours vs skfolio, same inputs."""
    from skfolio.cluster import HierarchicalClustering, LinkageMethod
    from skfolio.distance import PearsonDistance
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import HierarchicalRiskParity
    from skfolio.prior import EmpiricalPrior
    from skfolio.seriation import HierarchicalSeriation

    from clusterfolio.optimize import covariance
    from clusterfolio.optimize.estimators import correlation_from_covariance
    from clusterfolio.optimize.hrp import hrp_weights

    n = returns.shape[1]
    lower, upper = 0.5 / n, 2.0 / n

    def skfolio_bounded() -> np.ndarray:
        model = HierarchicalRiskParity(
            risk_measure=RiskMeasure.VARIANCE,
            min_weights=lower,
            max_weights=upper,
            distance_estimator=PearsonDistance(),
            prior_estimator=EmpiricalPrior(),
            seriation_estimator=HierarchicalSeriation(
                hierarchical_clustering_estimator=HierarchicalClustering(
                    linkage_method=LinkageMethod.WARD
                ),
                optimal_ordering=False,
            ),
        )
        return np.asarray(model.fit(returns).weights_)

    def ours() -> np.ndarray:
        cov = covariance(returns).matrix.to_numpy()
        weights, _ = hrp_weights(
            cov,
            correlation_from_covariance(cov),
            lower=np.full(n, lower),
            upper=np.full(n, upper),
        )
        return weights

    t_sk, w_sk, _ = median_time(skfolio_bounded, max(3, repeats // 3))
    t_ours, w_ours, _ = median_time(ours, repeats)
    dw = float(np.max(np.abs(w_ours - w_sk)))
    return {
        "n_assets": n,
        "n_sessions": returns.shape[0],
        "bounds": {"min_weight": lower, "max_weight": upper},
        "ours": {"median_s": t_ours, "note": "hrp_weights(lower=, upper=) from returns"},
        "skfolio": {"median_s": t_sk, "note": "HierarchicalRiskParity(min_weights, max_weights)"},
        "speedup_vs_skfolio": t_sk / t_ours,
        "max_abs_dw_vs_skfolio": dw,
        "binding_upper": int(np.sum(w_ours >= upper - 1e-12)),
        "binding_lower": int(np.sum(w_ours <= lower + 1e-12)),
        "parity_1e-10": bool(dw <= 1e-10),
    }


# ------------------------------------------------------------------- 5 L1 moves of the caps

M6_FOLDER = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "etfs" / "m6_universe"
M6_DATES = ("2020-03-20", "2022-04-13")
M6_SESSIONS = 500


def m6_returns(folder: Path = M6_FOLDER) -> pd.DataFrame:
    """Returns of the 100 M6 listings on their own sessions (``AMEX:``/``NYSE:``/``LSE:``)."""
    universe = pd.read_csv(folder / "M6_Universe.csv", encoding="utf-8-sig")
    columns = {}
    for ticker, kind in zip(universe["symbol"], universe["class"], strict=True):
        prices = pd.read_csv(folder / f"{ticker}.csv.gz", parse_dates=["Date"])
        close = prices.set_index("Date")["Adjusted_close"].sort_index()
        close = close[~close.index.duplicated(keep="last")]
        if ticker.endswith(".L"):
            symbol = f"LSE:{ticker[:-2]}"
        else:
            symbol = f"{'AMEX' if kind == 'ETF' else 'NYSE'}:{ticker.replace('-', '.')}"
        columns[symbol] = close.pct_change(fill_method=None).replace(0.0, np.nan).dropna()
    return pd.DataFrame(columns).sort_index()


def m6_problem(
    returns: pd.DataFrame, as_of: str, previous: dict[str, float] | None = None
) -> OptimizationProblem:
    """A point-in-time problem on M6 (the last 500 sessions up to ``as_of``, Ward clusters)."""
    from clusterfolio.optimize.estimators import correlation_from_covariance
    from clusterfolio.risk.clustering import cluster_labels

    window = returns.loc[:as_of].iloc[-M6_SESSIONS:]
    window = window.loc[:, window.notna().sum() >= 0.9 * len(window)]
    window = window.loc[:, window.std() > 0]
    corr = correlation_from_covariance(window.cov().to_numpy())
    distance = pd.DataFrame(
        np.sqrt(np.clip(0.5 * (1 - corr), 0, 1)), index=window.columns, columns=window.columns
    )
    clusters = cluster_labels(distance, 0.5)
    momentum = window.iloc[-60:].sum()
    skew = window.skew()
    return OptimizationProblem(
        returns=window,
        clusters={str(s): int(c) for s, c in clusters.items()},
        directions={str(s): Direction.LONG for s in window.columns},
        execution_scores={str(s): float(v) for s, v in momentum.items()},
        fragility={},
        antifragility={str(s): float(v) for s, v in skew.items()},
        regime=Regime.NORMAL,
        market_symbol="AMEX:IVV",
        previous_weights=previous,
        turnover_cost=0.0006 if previous is not None else None,
    )


def _moves(results: dict[ProfileName, Any]) -> dict[str, float]:
    return {
        p.value: float(r.diagnostics.get("cap_projection", {}).get("moved_l1", 0.0))
        for p, r in results.items()
    }


def bench_l1_moves() -> dict[str, Any]:
    """L1 moved by the last-resort cap projection per profile: default run and M6 as-of dates.

    The default run is read from ``data/runs/latest/portfolio_optimized.json`` of the checkout
    (written by ``clusterfolio run``); on M6 every profile is solved here. On M6 the turnover
    trade-off is also measured: the previous book is each profile's allocation 20 sessions
    earlier, and the L1 distance to it is recorded with and without the penalty (6 bp).
    """
    out: dict[str, Any] = {"limit": 0.05}
    latest = Path(__file__).resolve().parents[1] / "data" / "runs" / "latest"
    portfolio = latest / "portfolio_optimized.json"
    if portfolio.is_file():
        import json

        doc = json.loads(portfolio.read_text())
        out["default_run"] = {
            "run": str(latest.resolve().name),
            "moved_l1": {
                name: float(p["diagnostics"].get("cap_projection", {}).get("moved_l1", 0.0))
                for name, p in doc["profiles"].items()
            },
        }
    else:
        out["default_run"] = {"skipped": f"{portfolio} absent: run `clusterfolio run` first"}
    if not M6_FOLDER.is_dir():
        out["m6"] = {"skipped": f"{M6_FOLDER} absent"}
        return out
    returns = m6_returns()
    profiles = list(ProfileName)
    m6: dict[str, Any] = {}
    for as_of in M6_DATES:
        earlier = returns.loc[:as_of].index[-21]
        before = optimize_all(m6_problem(returns, str(earlier.date())), profiles)
        now = optimize_all(m6_problem(returns, as_of), profiles)
        turnover = {}
        for profile in profiles:
            if profile is ProfileName.MARKET:
                continue
            previous = before[profile].weights.to_dict()
            result = optimize_profile(m6_problem(returns, as_of, previous), profile)
            info = result.diagnostics["turnover_penalty"]
            turnover[profile.value] = {
                "l1_to_previous_without_penalty": info.get("l1_to_previous_without_penalty"),
                "l1_to_previous_with_penalty": info.get("l1_to_previous_with_penalty"),
            }
        m6[as_of] = {
            "n_assets": len(now[ProfileName.HRP].weights),
            "moved_l1": _moves(now),
            "fallbacks": {p.value: r.fallback_kinds for p, r in now.items()},
            "turnover_6bp_vs_book_20_sessions_earlier": turnover,
        }
    out["m6"] = m6
    every = [v for d in m6.values() for v in d["moved_l1"].values()]
    every += list(out["default_run"].get("moved_l1", {}).values())
    out["max_moved_l1"] = max(every)
    out["target_met"] = bool(max(every) <= 0.05)
    return out


def machine() -> dict[str, Any]:
    import cvxpy
    import pypfopt
    import riskfolio
    import scipy
    import skfolio

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "cvxpy": cvxpy.__version__,
        "skfolio": skfolio.__version__,
        "riskfolio": getattr(riskfolio, "__version__", "unknown"),
        "pyportfolioopt": getattr(pypfopt, "__version__", "unknown"),
    }


def main() -> dict[str, Any]:
    """Run the three benchmarks, write ``bench/results/optimize.json`` and print a summary."""
    warnings.filterwarnings("ignore")
    limit, blas = _blas_single_thread()
    with limit:
        data = factor_returns(200, 750, SEED)
        hrp_result = bench_hrp(data, repeats=15)
        cvar_result = bench_cvar(data, repeats=5)
        profiles_result = bench_profiles(repeats=5)
        bounded_result = bench_bounded_hrp(data, repeats=9)
        moves_result = bench_l1_moves()
    payload = {
        "benchmark": "optimize",
        "seed": SEED,
        "blas_threads": blas,
        "machine": machine(),
        "hrp_200x750": hrp_result,
        "min_cvar_200x750": cvar_result,
        "profiles_40x500": profiles_result,
        "bounded_hrp_200x750": bounded_result,
        "cap_projection_l1_moves": moves_result,
    }
    atomic_write_json(RESULTS, payload)
    print(f"HRP {hrp_result['n_assets']} assets x {hrp_result['n_sessions']} sessions")
    print(f"  {'engine':32s} {'median ms':>10s} {'x skfolio':>10s} {'max|dw| vs skfolio':>20s}")
    for name, row in hrp_result["engines"].items():
        print(
            f"  {name:32s} {row['median_s'] * 1e3:10.2f} {row['speedup_vs_skfolio']:10.1f} "
            f"{row['max_abs_dw_vs_skfolio']:20.3e}"
        )
    print(f"  target met: {hrp_result['target_met']}")
    print("min CVaR 95% 200 x 750")
    print(
        f"  ours {cvar_result['ours']['median_s']:.3f} s  cvar {cvar_result['ours']['cvar']:.10f}"
        f"  | skfolio {cvar_result['skfolio']['median_s']:.3f} s  cvar "
        f"{cvar_result['skfolio']['cvar']:.10f}  | |d| {cvar_result['abs_objective_difference']:.2e}"
    )
    print(
        f"  speed-up {cvar_result['speedup_vs_skfolio']:.2f}x (target >= 2x at equal objective: "
        f"{cvar_result['target_met']})"
    )
    print(
        f"bounded HRP {bounded_result['n_assets']} x {bounded_result['n_sessions']}: ours "
        f"{bounded_result['ours']['median_s'] * 1e3:.1f} ms, skfolio "
        f"{bounded_result['skfolio']['median_s'] * 1e3:.1f} ms, max|dw| "
        f"{bounded_result['max_abs_dw_vs_skfolio']:.2e}"
    )
    print(f"cap projection L1 moves (limit 0.05): max {moves_result.get('max_moved_l1')}")
    print("all profiles 40 x 500")
    print(
        f"  cold (fresh process, imports included) {profiles_result['cold_first_call_s']:.3f} s, "
        f"warm median "
        f"{profiles_result['median_all_profiles_s']:.3f} s (target < 2 s: "
        f"{profiles_result['target_met']})"
    )
    for name, t in profiles_result["median_per_profile_s"].items():
        print(f"    {name:14s} {t * 1e3:8.1f} ms")
    print(f"written {RESULTS}")
    return payload


if __name__ == "__main__":
    main()
