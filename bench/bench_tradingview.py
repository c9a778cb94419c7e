"""Benchmark: backfill of daily candles over the chart protocol, concurrency 1 versus 4.

A loopback ``FakeChartServer`` (the test double of ``tests/fakes/tradingview.py``) runs in a child
process (so it does not share the client's interpreter lock) and holds 500 weekday sessions for
each of 200 listings. :meth:`TradingViewProvider.candles_many` backfills all of them with
``concurrency`` 1 and 4:

1. ``latency_s=0``: the server answers at once, so the figures measure the CPU cost of the
   protocol, parsing and candle validation (client and server share the machine's cores);
2. ``latency_s=0.02``: each ``create_series``/``request_more_data`` is answered after 20 ms, a
   modest internet round trip, which is what concurrency hides;
3. the same with ``bars_per_request=100`` against a server capped at 100 bars a request (five
   chunks per listing: the ``request_more_data`` path), concurrency 4.

Each configuration runs once untimed (the server builds its histories) and then three times;
the median and the best are reported as listings/s and bars/s, with the speed-up of 4 over 1.
Every frame is checked (500 sessions; a sample equals the server's history). No peer client is
measured: the open-source TradingView clients need the live service, which a benchmark must not
contact.

Writes ``bench/results/tradingview.json`` and prints it.
Run: ``.venv/bin/python bench/bench_tradingview.py``.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import statistics
import sys
import time
from datetime import date
from importlib import metadata
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pandas as pd

from clusterfolio.data.tradingview import TradingViewProvider
from clusterfolio.io import atomic_write_json, canonical_json
from clusterfolio.manifest import TradingViewSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test doubles: tests.fakes
from tests.fakes.tradingview import DEFAULT_AS_OF, FakeChartServer

RESULTS = Path(__file__).resolve().parent / "results" / "tradingview.json"
LISTINGS = 200
SESSIONS = 500
REPEATS = 3


def _serve(pipe: Connection, options: dict[str, Any]) -> None:
    """Child process: run a chart server until told to stop."""
    with FakeChartServer(**options) as server:
        pipe.send(server.url)
        pipe.recv()
        pipe.send(
            {
                "connections": server.stats.connections,
                "create_series": server.stats.create_series,
                "more_data": server.stats.more_data,
            }
        )


class _ServerProcess:
    def __init__(self, **options: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, options), daemon=True)

    def __enter__(self) -> str:
        self._process.start()
        if not self._pipe.poll(60):
            raise RuntimeError("chart server process did not start")
        url: str = self._pipe.recv()
        return url

    def stats(self) -> dict[str, int]:
        self._pipe.send("stop")
        result: dict[str, int] = self._pipe.recv()
        return result

    def __exit__(self, *exc: object) -> None:
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()


def _run(
    symbols: list[str],
    start: date,
    *,
    concurrency: int,
    bars_per_request: int = 5000,
    server_cap: int = 5000,
    latency_s: float = 0.0,
) -> dict[str, Any]:
    settings = TradingViewSettings(concurrency=concurrency, bars_per_request=bars_per_request)
    reference = FakeChartServer(history=SESSIONS)
    server = _ServerProcess(history=SESSIONS, max_bars_per_request=server_cap, latency_s=latency_s)
    with server as url:
        with TradingViewProvider(settings, websocket_url=url) as provider:
            provider.candles_many(symbols, start, DEFAULT_AS_OF)  # warm-up, untimed
        times = []
        for _ in range(REPEATS):
            with TradingViewProvider(settings, websocket_url=url) as provider:
                began = time.perf_counter()
                frames = provider.candles_many(symbols, start, DEFAULT_AS_OF)
                times.append(time.perf_counter() - began)
            assert len(frames) == len(symbols)
            assert all(len(frame) == SESSIONS for frame in frames.values())
            for symbol in symbols[:: len(symbols) // 5]:
                expected = reference.expected_frame(symbol, start, DEFAULT_AS_OF)
                pd.testing.assert_frame_equal(frames[symbol], expected)
        served = server.stats()
    seconds = statistics.median(times)
    best = min(times)
    bars = len(symbols) * SESSIONS
    return {
        "concurrency": concurrency,
        "bars_per_request": bars_per_request,
        "server_max_bars_per_request": server_cap,
        "server_latency_s": latency_s,
        "listings": len(symbols),
        "sessions_per_listing": SESSIONS,
        "seconds_median": round(seconds, 4),
        "seconds_all": [round(t, 4) for t in times],
        "listings_per_s": round(len(symbols) / seconds, 2),
        "bars_per_s": round(bars / seconds, 1),
        "listings_per_s_best": round(len(symbols) / best, 2),
        "bars_per_s_best": round(bars / best, 1),
        "server_per_backfill": {key: value // (REPEATS + 1) for key, value in served.items()},
    }


def _machine() -> dict[str, Any]:
    versions = {}
    for package in ("websockets", "httpx", "tenacity", "pandas"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:  # pragma: no cover
            versions[package] = "absent"
    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "packages": versions,
    }


def main() -> dict[str, Any]:
    """Run the benchmark, write ``bench/results/tradingview.json`` and return the figures."""
    symbols = [f"NASDAQ:B{i:03d}" for i in range(LISTINGS)]
    start = pd.bdate_range(end=pd.Timestamp(DEFAULT_AS_OF), periods=SESSIONS)[0].date()
    runs = {
        "latency_0ms_concurrency_1": _run(symbols, start, concurrency=1),
        "latency_0ms_concurrency_4": _run(symbols, start, concurrency=4),
        "latency_20ms_concurrency_1": _run(symbols, start, concurrency=1, latency_s=0.02),
        "latency_20ms_concurrency_4": _run(symbols, start, concurrency=4, latency_s=0.02),
        "latency_20ms_concurrency_4_chunks_of_100": _run(
            symbols, start, concurrency=4, bars_per_request=100, server_cap=100, latency_s=0.02
        ),
    }

    def speedup(latency: str) -> float:
        one = runs[f"latency_{latency}_concurrency_1"]["seconds_median"]
        return round(one / runs[f"latency_{latency}_concurrency_4"]["seconds_median"], 2)

    report = {
        "benchmark": "tradingview chart backfill (loopback server in a child process)",
        "runs": runs,
        "speedup_4_over_1": {"latency_0ms": speedup("0ms"), "latency_20ms": speedup("20ms")},
        "peers": "none measured: TradingView clients need the live service (no network here)",
        "machine": _machine(),
    }
    atomic_write_json(RESULTS, report)
    print(canonical_json(report), end="")
    return report


if __name__ == "__main__":
    main()
