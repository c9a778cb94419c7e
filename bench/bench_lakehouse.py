"""Benchmark: the Parquet candle lakehouse (600 listings x 800 sessions).

Measured in one run, on a fresh temporary lakehouse on the local disk:

1. writing 600 listings of 800 sessions (``merge`` into an empty store: validation, atomic
   write with fsync), then a daily incremental run (one new session merged into every
   listing), one listing after the other and with :meth:`Lakehouse.merge_many`;
2. loading all 600 listings (target: under 1 s), side by side:

   * ours, :meth:`Lakehouse.read_many` with its default thread pool;
   * ours, the same with one thread (``Lakehouse.read`` in a loop);
   * the naive way, ``pandas.read_parquet`` file by file;
   * one ``pyarrow.dataset`` scan of the whole folder, then a split per listing;

   each the median (and best) of several warm runs (the files sit in the page cache: a daily
   run reads what the previous one wrote), with the memory of one more run: the peak traced
   by ``tracemalloc``, the Arrow memory the frames hold, the frames' size; plus the peak of
   Arrow's memory pool and the process's maximum RSS over the whole run;
3. :meth:`Lakehouse.data_signature` over the 600 listings.

Writes ``bench/results/lakehouse.json`` (figures and machine information) and prints it.
Run: ``.venv/bin/python bench/bench_lakehouse.py``.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from clusterfolio.data.lakehouse import Lakehouse, symbol_to_filename
from clusterfolio.io import atomic_write_json, canonical_json

RESULTS = Path(__file__).resolve().parent / "results" / "lakehouse.json"
LISTINGS = 600
SESSIONS = 800
REPEATS = 5
TARGET_S = 1.0


def _machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


def _candles(rng: np.random.Generator, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    n = len(sessions)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n)))
    spread = np.abs(rng.normal(0.0, 0.01, n))
    open_ = close * np.exp(rng.normal(0.0, 0.005, n))
    return pd.DataFrame(
        {
            "session": sessions,
            "open": open_,
            "high": np.maximum(open_, close) * (1 + spread),
            "low": np.minimum(open_, close) * (1 - spread),
            "close": close,
            "volume": rng.uniform(1e3, 1e6, n).round(),
        }
    )


def _measure(fn: Callable[[], dict[str, pd.DataFrame]]) -> dict[str, float]:
    """Median and best of REPEATS warm runs, then the memory of one traced run.

    ``peak_traced_mib`` is what ``tracemalloc`` sees (Python objects and numpy buffers);
    ``arrow_retained_mib`` the Arrow-pool memory the returned frames still hold (``to_pandas``
    hands Arrow-allocated buffers to pandas without copying, invisible to ``tracemalloc``);
    ``result_mib`` the size of the returned frames.
    """
    fn()  # warm-up
    seconds = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    arrow_before = pa.total_allocated_bytes()
    tracemalloc.start()
    result = fn()
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    retained = (pa.total_allocated_bytes() - arrow_before) / 2**20
    size = sum(int(f.memory_usage(index=True).sum()) for f in result.values()) / 2**20
    del result
    return {
        "median_s": round(statistics.median(seconds), 4),
        "best_s": round(min(seconds), 4),
        "peak_traced_mib": round(traced, 1),
        "arrow_retained_mib": round(retained, 1),
        "result_mib": round(size, 1),
    }


def _dataset_split(root: str, symbols: list[str]) -> dict[str, pd.DataFrame]:
    """Peer: one multi-threaded Arrow dataset scan of the folder, batches grouped per file."""
    dataset = ds.dataset(root, format="parquet")
    batches: dict[str, list[pa.RecordBatch]] = {}
    for tagged in dataset.scanner(use_threads=True).scan_batches():
        batches.setdefault(tagged.fragment.path, []).append(tagged.record_batch)
    out: dict[str, pd.DataFrame] = {}
    for symbol in symbols:
        parts = batches.get(f"{root}/{symbol_to_filename(symbol)}", [])
        out[symbol] = pa.Table.from_batches(parts, schema=dataset.schema).to_pandas()
    return out


def main() -> dict[str, Any]:
    """Run the benchmark, write ``bench/results/lakehouse.json`` and return the figures."""
    rng = np.random.default_rng(20240601)
    sessions = pd.date_range("2022-01-03", periods=SESSIONS, freq="D")
    symbols = [f"NYSE:S{i:04d}" for i in range(LISTINGS)]
    frames = {s: _candles(rng, sessions) for s in symbols}
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    with tempfile.TemporaryDirectory(prefix="bench-lakehouse-") as tmp:
        lake = Lakehouse(Path(tmp) / "lake")
        start = time.perf_counter()
        for symbol in symbols:
            lake.merge(symbol, frames[symbol])
        write_s = time.perf_counter() - start
        print(f"wrote {LISTINGS} listings in {write_s:.2f} s", file=sys.stderr)

        nxt = sessions[-1] + pd.Timedelta(days=1)
        start = time.perf_counter()
        for symbol in symbols:
            lake.merge(symbol, _candles(rng, pd.DatetimeIndex([nxt])))
        daily_s = time.perf_counter() - start
        print(f"daily append to {LISTINGS} listings in {daily_s:.2f} s", file=sys.stderr)
        nxt += pd.Timedelta(days=1)
        bars = {s: _candles(rng, pd.DatetimeIndex([nxt])) for s in symbols}
        start = time.perf_counter()
        lake.merge_many(bars)
        daily_many_s = time.perf_counter() - start
        print(f"daily merge_many of {LISTINGS} listings in {daily_many_s:.2f} s", file=sys.stderr)
        size = sum(f.stat().st_size for f in Path(lake.root).iterdir())

        serial = Lakehouse(lake.root, max_workers=1)
        loaded = lake.read_many(symbols)
        assert len(loaded) == LISTINGS and all(len(f) == SESSIONS + 2 for f in loaded.values())
        read = {
            "ours_read_many": _measure(lambda: lake.read_many(symbols)),
            "ours_one_thread": _measure(lambda: serial.read_many(symbols)),
            "pandas_read_parquet_loop": _measure(
                lambda: {s: pd.read_parquet(lake.path(s)) for s in symbols}
            ),
            "pyarrow_dataset_scan_split": _measure(lambda: _dataset_split(lake.root, symbols)),
        }
        for figures in read.values():
            figures["per_listing_ms"] = round(figures["median_s"] / LISTINGS * 1000, 3)
        start = time.perf_counter()
        signature = lake.data_signature(symbols)
        signature_s = time.perf_counter() - start

    ours = read["ours_read_many"]["median_s"]
    results: dict[str, Any] = {
        "benchmark": "lakehouse",
        "listings": LISTINGS,
        "sessions": SESSIONS,
        "repeats": REPEATS,
        "write_all_s": round(write_s, 3),
        "write_per_listing_ms": round(write_s / LISTINGS * 1000, 3),
        "daily_append_all_s": round(daily_s, 3),
        "daily_merge_many_all_s": round(daily_many_s, 3),
        "store_mib": round(size / 2**20, 2),
        "load_all": read,
        "load_all_target_s": TARGET_S,
        "load_all_meets_target": ours < TARGET_S,
        "max_workers": lake.max_workers,
        "arrow_pool_peak_mib": round(pa.default_memory_pool().max_memory() / 2**20, 1),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_mib": round(rss_start, 1),
        "data_signature_s": round(signature_s, 3),
        "data_signature": signature,
        "machine": _machine(),
    }
    atomic_write_json(RESULTS, results)
    print(canonical_json(results), end="")
    return results


if __name__ == "__main__":
    main()
