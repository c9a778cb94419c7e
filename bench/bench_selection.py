"""Benchmark: natural selection on raw-pool and stress sizes.

For 600 and 5,000 identities x 60 sessions of synthetic factor returns (8 factors, about 5% NaN
cells, 10% SHORT candidates, a screener table), measures in the same run:

- ours: :func:`clusterfolio.selection.natural.natural_selection` end to end (synthetic long,
  statistics, intersection correlation, Ward, gate, scores, ranks, cap, reasons, decisions):
  best wall time of a few repeats, and its peak traced memory (``tracemalloc``, numpy buffers
  included; a separate run, since tracing slows it) and the process's peak RSS;
- the clustering part alone (:func:`~clusterfolio.selection.natural.cluster_candidates`);
- a straightforward pairwise pandas loop for the intersection correlation (per pair:
  ``dropna`` then ``corr``), the step a naive implementation spends its time in, timed on a
  random subset of pairs and **extrapolated** to all pairs (the full loop takes minutes to
  hours).

Targets: under 1 s for 600 identities and under 10 s for 5,000. Writes
``bench/results/selection.json`` (figures and machine information) and prints a summary.
"""

from __future__ import annotations

import resource
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from _machine import machine_info
from clusterfolio.io import atomic_write_json
from clusterfolio.manifest import SelectionSettings
from clusterfolio.selection.natural import cluster_candidates, natural_selection, synthetic_long

SIZES = (600, 5_000)
TARGETS_S = {600: 1.0, 5_000: 10.0}
SESSIONS = 60
NAN_SHARE = 0.05
SHORT_SHARE = 0.10
LOOP_PAIRS = 2_000
SEED = 20_260_105
BASELINE = "AMEX:SPY"
RESULTS = Path(__file__).resolve().parent / "results" / "selection.json"


def _market(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Pool, returns (with the baseline) and screener of ``n`` identities."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(0.0005, 0.01, size=(SESSIONS, 8))
    loadings = rng.normal(size=(8, n + 1))
    x = factors @ loadings * 0.5 + rng.normal(size=(SESSIONS, n + 1)) * 0.01
    x[rng.random(x.shape) < NAN_SHARE] = np.nan
    symbols = [f"NYSE:S{j:05d}" for j in range(n)]
    index = pd.bdate_range("2026-08-03", periods=SESSIONS, name="session")
    returns = pd.DataFrame(x, index=index, columns=[*symbols, BASELINE])
    value = np.exp(rng.normal(17.0, 1.5, n))
    pool = pd.DataFrame(
        {
            "symbol": symbols,
            "identity": [s.split(":")[1] for s in symbols],
            "asset_class": "equity",
            "direction": np.where(rng.random(n) < SHORT_SHARE, "SHORT", "LONG"),
            "score": rng.normal(size=n),
            "value_traded": value,
            "kind": "equity",
            "exchange": "NYSE",
        }
    )
    screener = pd.DataFrame(
        {
            "Value.Traded": value,
            "ATR": np.exp(rng.normal(0.0, 0.3, n)),
            "close": np.exp(rng.normal(3.5, 0.6, n)),
        },
        index=pd.Index(symbols, name="symbol"),
    )
    return pool, returns, screener


def _best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _pair_loop(frame: pd.DataFrame, pairs: np.ndarray, min_overlap: int) -> np.ndarray:
    out = np.empty(len(pairs))
    cols = frame.columns
    for k, (i, j) in enumerate(pairs):
        sub = frame[[cols[i], cols[j]]].dropna()
        out[k] = sub.iloc[:, 0].corr(sub.iloc[:, 1]) if len(sub) >= min_overlap else np.nan
    return out


def _one_size(n: int, settings: SelectionSettings) -> dict[str, Any]:
    pool, returns, screener = _market(n, SEED + n)

    def run() -> Any:
        return natural_selection(
            pool, returns, screener, settings=settings, xs_momentum=False, baseline=BASELINE
        )

    repeats = 5 if n <= 1_000 else 3
    t_ours, result = _best_of(run, repeats)
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    directions = pd.Series(
        [*pool["direction"], "LONG"], index=pd.Index([*pool["symbol"], BASELINE])
    )
    synth = synthetic_long(returns, directions)
    t_cluster, _ = _best_of(
        lambda: cluster_candidates(
            synth, min_overlap=settings.min_overlap, threshold=settings.threshold
        ),
        repeats,
    )

    rng = np.random.default_rng(SEED)
    n_cols = synth.shape[1]
    total_pairs = n_cols * (n_cols - 1) // 2
    i = rng.integers(0, n_cols, LOOP_PAIRS * 2)
    j = rng.integers(0, n_cols, LOOP_PAIRS * 2)
    keep = i < j
    pairs = np.column_stack([i[keep], j[keep]])[:LOOP_PAIRS]
    start = time.perf_counter()
    _pair_loop(synth, pairs, settings.min_overlap)
    t_subset = time.perf_counter() - start
    t_loop = t_subset / len(pairs) * total_pairs

    summary = result.summary
    return {
        "identities": n,
        "sessions": SESSIONS,
        "nan_share": float(np.isnan(returns.to_numpy()).mean()),
        "short_share": float((pool["direction"] == "SHORT").mean()),
        "ours_s": t_ours,
        "target_s": TARGETS_S[n],
        "meets_target": bool(t_ours < TARGETS_S[n]),
        "ours_peak_traced_mib": peak / 2**20,
        "clustering_only_s": t_cluster,
        "pair_loop_correlation_s_extrapolated": t_loop,
        "pair_loop_subset_pairs": len(pairs),
        "pair_loop_subset_s": t_subset,
        "pairs": total_pairs,
        "speedup_vs_pair_loop_correlation_only": t_loop / t_ours,
        "clusters": int(summary["clusters"]),
        "winners": int(summary["winners"]),
        "fates": dict(summary["fates"]),
    }


def main() -> dict[str, Any]:
    """Run the benchmark, write ``bench/results/selection.json`` and print the figures."""
    before = machine_info()
    settings = SelectionSettings()
    rows = [_one_size(n, settings) for n in SIZES]
    machine = machine_info()
    machine["load_average_1m_before"] = before["load_average_1m"]
    machine["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "benchmark": "selection",
        "settings": settings.model_dump(mode="json"),
        "machine": machine,
        "results": rows,
    }
    atomic_write_json(RESULTS, result)
    print(
        f"natural selection, {SESSIONS} sessions, ~{NAN_SHARE:.0%} NaN, "
        f"{SHORT_SHARE:.0%} SHORT, threshold {settings.threshold}, top_n {settings.top_n}"
    )
    print(
        f"{'ids':>6} {'ours s':>8} {'target':>7} {'peak MiB':>9} {'cluster s':>10} "
        f"{'pair loop s*':>13} {'x loop':>8} {'clusters':>9} {'winners':>8}"
    )
    for r in rows:
        print(
            f"{r['identities']:>6} {r['ours_s']:>8.3f} {r['target_s']:>7.1f} "
            f"{r['ours_peak_traced_mib']:>9.0f} {r['clustering_only_s']:>10.3f} "
            f"{r['pair_loop_correlation_s_extrapolated']:>13.1f} "
            f"{r['speedup_vs_pair_loop_correlation_only']:>8.0f} {r['clusters']:>9} "
            f"{r['winners']:>8}"
        )
    print(
        f"* pair loop: intersection correlation only, timed on {LOOP_PAIRS} random pairs and "
        "extrapolated to all pairs"
    )
    print(f"process peak RSS {machine['peak_rss_mib']:.0f} MiB; written {RESULTS}")
    return result


if __name__ == "__main__":
    main()
