"""Benchmark: intersection correlation and Ward clustering at raw-pool and stress sizes.

Compares, on the same matrices in the same run (60 sessions, about 5% NaN):

- ours: :func:`clusterfolio.risk.correlation.intersection_correlation` (masked matrix products);
- pandas ``DataFrame.corr(min_periods=...)`` (Cython pairwise-complete loop);
- a straightforward pairwise pandas loop (per pair: ``dropna`` then ``corr``), timed on a random
  subset of pairs and extrapolated to all pairs (the full loop takes minutes to hours);

plus Ward linkage and the threshold cut on the resulting distance. Writes
``bench/results/correlation.json`` (figures and machine information) and prints a summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from _machine import machine_info
from clusterfolio.io import atomic_write_json
from clusterfolio.risk.clustering import cut, ward_linkage
from clusterfolio.risk.correlation import correlation_distance, intersection_correlation

SIZES = (600, 5_000)
SESSIONS = 60
NAN_SHARE = 0.05
MIN_OVERLAP = 20
LOOP_PAIRS = 2_000
THRESHOLD = 0.5
SEED = 20_260_101
RESULTS = Path(__file__).resolve().parent / "results" / "correlation.json"


def _matrix(n_assets: int, seed: int) -> pd.DataFrame:
    """Factor-structured returns with about NAN_SHARE missing cells."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(SESSIONS, 8)) * 0.01
    loadings = rng.normal(size=(8, n_assets))
    x = factors @ loadings * 0.5 + rng.normal(size=(SESSIONS, n_assets)) * 0.01
    x[rng.random(x.shape) < NAN_SHARE] = np.nan
    return pd.DataFrame(x, columns=[f"SYM:{j:05d}" for j in range(n_assets)])


def _best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _pair_loop(frame: pd.DataFrame, pairs: np.ndarray) -> np.ndarray:
    out = np.empty(len(pairs))
    cols = frame.columns
    for k, (i, j) in enumerate(pairs):
        sub = frame[[cols[i], cols[j]]].dropna()
        out[k] = sub.iloc[:, 0].corr(sub.iloc[:, 1]) if len(sub) >= MIN_OVERLAP else np.nan
    return out


def _one_size(n_assets: int) -> dict[str, Any]:
    frame = _matrix(n_assets, SEED + n_assets)
    repeats = 5 if n_assets <= 1_000 else 3
    # interleaved repeats, best of each: both see the same machine load
    t_ours = t_pandas = float("inf")
    for _ in range(repeats):
        dt, ours = _best_of(lambda: intersection_correlation(frame, min_overlap=MIN_OVERLAP), 1)
        t_ours = min(t_ours, dt)
        dt, ref = _best_of(lambda: frame.corr(min_periods=MIN_OVERLAP), 1)
        t_pandas = min(t_pandas, dt)
    ours_np, ref_np = ours.to_numpy(), ref.to_numpy()
    off = ~np.eye(n_assets, dtype=bool)
    max_diff = float(np.nanmax(np.abs(ours_np[off] - ref_np[off])))
    nan_agree = bool(np.array_equal(np.isnan(ours_np[off]), np.isnan(ref_np[off])))

    rng = np.random.default_rng(SEED)
    total_pairs = n_assets * (n_assets - 1) // 2
    i = rng.integers(0, n_assets, LOOP_PAIRS * 2)
    j = rng.integers(0, n_assets, LOOP_PAIRS * 2)
    keep = i < j
    pairs = np.column_stack([i[keep], j[keep]])[:LOOP_PAIRS]
    start = time.perf_counter()
    looped = _pair_loop(frame, pairs)
    t_subset = time.perf_counter() - start
    t_loop = t_subset / len(pairs) * total_pairs
    loop_diff = float(np.nanmax(np.abs(looped - ours_np[pairs[:, 0], pairs[:, 1]])))

    dist = pd.DataFrame(correlation_distance(ours), index=frame.columns, columns=frame.columns)
    t_link, z = _best_of(lambda: ward_linkage(dist), repeats)
    t_cut, labels = _best_of(lambda: cut(z, THRESHOLD), repeats)
    return {
        "assets": n_assets,
        "sessions": SESSIONS,
        "nan_share": float(np.isnan(frame.to_numpy()).mean()),
        "min_overlap": MIN_OVERLAP,
        "pairs": total_pairs,
        "ours_s": t_ours,
        "pandas_corr_s": t_pandas,
        "pair_loop_s_extrapolated": t_loop,
        "pair_loop_subset_pairs": len(pairs),
        "pair_loop_subset_s": t_subset,
        "speedup_vs_pandas_corr": t_pandas / t_ours,
        "speedup_vs_pair_loop": t_loop / t_ours,
        "max_abs_diff_vs_pandas_corr": max_diff,
        "nan_pattern_equal_vs_pandas_corr": nan_agree,
        "max_abs_diff_vs_pair_loop_subset": loop_diff,
        "ward_linkage_s": t_link,
        "cut_s": t_cut,
        "threshold": THRESHOLD,
        "clusters": int(labels.max()),
    }


def main() -> dict[str, Any]:
    """Run the benchmark, write ``bench/results/correlation.json`` and print the figures."""
    before = machine_info()
    rows = [_one_size(n) for n in SIZES]
    machine = machine_info()
    machine["load_average_1m_before"] = before["load_average_1m"]
    result = {"benchmark": "correlation", "machine": machine, "results": rows}
    atomic_write_json(RESULTS, result)
    print(f"intersection correlation, {SESSIONS} sessions, ~{NAN_SHARE:.0%} NaN")
    header = (
        f"{'assets':>7} {'ours s':>8} {'pd.corr s':>10} {'pair loop s*':>13} "
        f"{'x pd.corr':>10} {'x loop':>9} {'max|diff|':>10} {'ward s':>8} {'cut s':>7}"
    )
    print(header)
    for r in rows:
        print(
            f"{r['assets']:>7} {r['ours_s']:>8.3f} {r['pandas_corr_s']:>10.3f} "
            f"{r['pair_loop_s_extrapolated']:>13.1f} {r['speedup_vs_pandas_corr']:>10.1f} "
            f"{r['speedup_vs_pair_loop']:>9.0f} {r['max_abs_diff_vs_pandas_corr']:>10.1e} "
            f"{r['ward_linkage_s']:>8.3f} {r['cut_s']:>7.4f}"
        )
    print(f"* pair loop timed on {LOOP_PAIRS} random pairs and extrapolated to all pairs")
    print(f"written {RESULTS}")
    return result


if __name__ == "__main__":
    main()
