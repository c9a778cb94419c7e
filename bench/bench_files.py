"""Benchmark: importing a user's folder of daily prices into the lakehouse.

A folder of 5,000 listings x 5 years (1,260 sessions) is generated twice in a temporary
directory: one CSV file per listing (``<TICKER>.csv``) and one long (tidy) CSV file with a
``symbol`` column. Each is imported into a fresh lakehouse, side by side:

* ours: :class:`~clusterfolio.data.files.FilesProvider` (discovery, layout detection, the
  cleaning rules with a per-row problem report, listing inference) then
  :meth:`~clusterfolio.data.lakehouse.Lakehouse.merge_many` (validation, overlap check, atomic
  writes);
* the peer: a plain pandas loop (``pandas.read_csv`` per file, or one ``read_csv`` and a
  ``groupby`` for the long file, then ``DataFrame.to_parquet`` per listing), which checks and
  reports nothing.

Then a re-run reads the listings back from the lakehouse (``read_many``). Target: each import
of ours at most 60 s on 2 cores (the machine's load average is recorded beside the figures:
on a shared machine the wall time grows with it). Writes ``bench/results/files.json``.
Run: ``.venv/bin/python bench/bench_files.py [--listings 5000] [--sessions 1260]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from _machine import machine_info
from clusterfolio.data.files import FilesProvider
from clusterfolio.data.lakehouse import Lakehouse
from clusterfolio.io import atomic_write_json
from clusterfolio.manifest import FilesSettings

RESULTS = Path(__file__).resolve().parent / "results" / "files.json"
TARGET_S = 60.0
BATCH = 500


def _tickers(n: int) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = []
    for i in range(n):
        a, b, c = i // 676 % 26, i // 26 % 26, i % 26
        out.append(f"Q{letters[a]}{letters[b]}{letters[c]}")
    return out


def _frame(tickers: list[str], sessions: int, seed: int = 1) -> pd.DataFrame:
    days = pd.bdate_range("2019-01-02", periods=sessions).strftime("%Y-%m-%d")
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.015, (sessions, len(tickers))), axis=0))
    close = np.round(close, 4)
    return pd.DataFrame(
        {
            "date": np.tile(days, len(tickers)),
            "symbol": np.repeat(tickers, sessions),
            "open": np.round(close.T.ravel() * 0.998, 4),
            "high": np.round(close.T.ravel() * 1.01, 4),
            "low": np.round(close.T.ravel() * 0.99, 4),
            "close": close.T.ravel(),
            "volume": 1e6,
        }
    )


def _write_inputs(root: Path, frame: pd.DataFrame) -> tuple[Path, Path]:
    per_file, long = root / "per_file", root / "long"
    per_file.mkdir()
    long.mkdir()
    frame.to_csv(long / "prices.csv", index=False)
    for symbol, group in frame.groupby("symbol", sort=False):
        group.drop(columns="symbol").to_csv(per_file / f"{symbol}.csv", index=False)
    return per_file, long


def _ours(folder: Path, lake_dir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    provider = FilesProvider(FilesSettings(root=str(folder), patterns=["**/*"]), Path("/"))
    symbols = [x.symbol for x in provider.listings()]
    discovered = time.perf_counter() - started
    lake = Lakehouse(lake_dir)
    with ThreadPoolExecutor(max_workers=4) as pool:  # parsing releases the GIL in part
        for i in range(0, len(symbols), BATCH):
            chunk = symbols[i : i + BATCH]
            lake.merge_many(dict(zip(chunk, pool.map(provider.history, chunk), strict=True)))
    total = time.perf_counter() - started
    problems = provider.problems(parse_all=False)
    return {
        "seconds": round(total, 2),
        "seconds_discovery": round(discovered, 2),
        "listings": len(symbols),
        "problems_reported": len(problems),
        "within_target": total <= TARGET_S,
    }


def _peer(folder: Path, out_dir: Path, long: bool) -> dict[str, Any]:
    started = time.perf_counter()
    out_dir.mkdir()
    n = 0
    if long:
        frame = pd.read_csv(folder / "prices.csv", parse_dates=["date"])
        for symbol, group in frame.groupby("symbol", sort=False):
            group.drop(columns="symbol").to_parquet(out_dir / f"{symbol}.parquet", index=False)
            n += 1
    else:
        for path in sorted(folder.glob("*.csv")):
            pd.read_csv(path, parse_dates=["date"]).to_parquet(
                out_dir / f"{path.stem}.parquet", index=False
            )
            n += 1
    return {"seconds": round(time.perf_counter() - started, 2), "listings": n}


def _reread(lake_dir: Path) -> dict[str, Any]:
    lake = Lakehouse(lake_dir)
    symbols = lake.symbols()
    started = time.perf_counter()
    frames = lake.read_many(symbols)
    return {"seconds": round(time.perf_counter() - started, 2), "listings": len(frames)}


def main() -> None:
    """Run the benchmark and write ``bench/results/files.json``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--listings", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=1260)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "listings": args.listings,
        "sessions": args.sessions,
        "target_s": TARGET_S,
        "machine": machine_info(),
    }
    with tempfile.TemporaryDirectory(prefix="bench_files_") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        per_file, long = _write_inputs(root, _frame(_tickers(args.listings), args.sessions))
        results["seconds_generate_inputs"] = round(time.perf_counter() - started, 2)
        for name, folder, is_long in (("per_file", per_file, False), ("long", long, True)):
            lake_dir = root / f"lake_{name}"
            results[name] = {
                "ours": _ours(folder, lake_dir),
                "pandas_loop": _peer(folder, root / f"peer_{name}", is_long),
                "reread_from_lakehouse": _reread(lake_dir),
            }
            print(name, results[name], flush=True)
    results["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["load_average_1m_end"] = os.getloadavg()[0]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(RESULTS, results)
    print(results)


if __name__ == "__main__":
    main()
