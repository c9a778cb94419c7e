"""Benchmark: generation of the embedded synthetic market.

Measured in one run:

1. one-off costs of a process: building the XNYS exchange calendar (cached afterwards) and the
   listing catalogue of the default settings;
2. generation of the default market (620+ listings) over 800 calendar days and over the full
   default history (epoch 2019-01-02): median wall time of several fresh providers (untraced),
   CPU time of one, and the peak traced memory of one more run under ``tracemalloc`` (numpy
   allocations included; tracing slows it, so it is not timed); the process's maximum RSS;
3. serving: one :meth:`candles` call per listing (one year each) once the market exists;
4. side by side, the GARCH(1,1) recursion vectorised across series (ours) against the same
   recursion run series by series in plain Python (the naive way), on the same shocks.

There is no library peer for a synthetic multi-asset market; the naive recursion stands in as
the baseline. Writes ``bench/results/synthetic.json`` (figures and machine information) and
prints it. Run: ``.venv/bin/python bench/bench_synthetic.py``.
"""

from __future__ import annotations

import math
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from clusterfolio.data import calendars
from clusterfolio.data.synthetic import SyntheticProvider, garch_filter
from clusterfolio.enums import CalendarKind
from clusterfolio.io import atomic_write_json, canonical_json
from clusterfolio.manifest import SyntheticSettings

RESULTS = Path(__file__).resolve().parent / "results" / "synthetic.json"
AS_OF = date(2025, 12, 31)
DAYS = 800
REPEATS = 5
NAIVE_SERIES = 40


def _machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


def _generate(settings: SyntheticSettings, *, trace: bool = False) -> tuple[float, float]:
    """Return (seconds, peak traced MiB or NaN) of one fresh generation."""
    provider = SyntheticProvider(settings, as_of=AS_OF)
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    provider.candles("AMEX:SPY", AS_OF, AS_OF)  # triggers the simulation
    seconds = time.perf_counter() - start
    peak = float("nan")
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return seconds, peak


def _time_generation(settings: SyntheticSettings) -> dict[str, Any]:
    """Median time of fresh generations (untraced), then one traced run for peak memory."""
    _generate(settings)  # warm-up
    seconds = [_generate(settings)[0] for _ in range(REPEATS)]
    cpu_start = time.process_time()
    _generate(settings)
    cpu = time.process_time() - cpu_start
    _, peak = _generate(settings, trace=True)
    provider = SyntheticProvider(settings, as_of=AS_OF)
    summary = provider.market_summary()
    return {
        "epoch": summary["epoch"],
        "as_of": summary["as_of"],
        "calendar_days": (AS_OF - date.fromisoformat(summary["epoch"])).days + 1,
        "listings": summary["listings"],
        "units_and_factors": len(provider._universe.units) + summary["factors"],
        "seconds_median": statistics.median(seconds),
        "seconds_min": min(seconds),
        "seconds_max": max(seconds),
        "cpu_seconds_one_run": cpu,
        "peak_traced_mib": peak,
    }


def _time_serving() -> dict[str, Any]:
    provider = SyntheticProvider(SyntheticSettings(), as_of=AS_OF)
    provider.candles("AMEX:SPY", AS_OF, AS_OF)
    symbols = [x.symbol for x in provider.listings()]
    start = time.perf_counter()
    rows = sum(len(provider.candles(s, AS_OF - timedelta(days=365), AS_OF)) for s in symbols)
    seconds = time.perf_counter() - start
    return {
        "calls": len(symbols),
        "rows": rows,
        "seconds": seconds,
        "microseconds_per_call": seconds / len(symbols) * 1e6,
    }


def _naive_garch(z: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    out = np.empty_like(z)
    for j in range(z.shape[1]):
        h, a, b = 1.0, float(alpha[j]), float(beta[j])
        column = z[:, j].tolist()
        for t, shock in enumerate(column):
            e = shock * math.sqrt(h)
            out[t, j] = e
            h = min(1.0 - a - b + a * e * e + b * h, 4.0)
    return out


def _compare_garch(n_series: int) -> dict[str, Any]:
    rng = np.random.default_rng(11)
    z = rng.standard_t(5, (DAYS, n_series)) / math.sqrt(5 / 3)
    alpha = np.full(n_series, 0.06)
    beta = np.full(n_series, 0.91)
    start = time.perf_counter()
    ours = garch_filter(z, alpha, beta)
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    naive = _naive_garch(z[:, :NAIVE_SERIES], alpha[:NAIVE_SERIES], beta[:NAIVE_SERIES])
    t_naive_part = time.perf_counter() - start
    t_naive = t_naive_part * n_series / NAIVE_SERIES
    return {
        "series": n_series,
        "days": DAYS,
        "vectorised_seconds": t_ours,
        "naive_seconds_extrapolated": t_naive,
        "naive_series_timed": NAIVE_SERIES,
        "speedup": t_naive / t_ours if t_ours > 0 else float("nan"),
        "max_abs_difference": float(np.max(np.abs(ours[:, :NAIVE_SERIES] - naive))),
    }


def main() -> dict[str, Any]:
    """Run the benchmark, write ``bench/results/synthetic.json`` and print the figures."""
    start = time.perf_counter()
    calendars.sessions(CalendarKind.NYSE, AS_OF, AS_OF)
    calendar_seconds = time.perf_counter() - start
    start = time.perf_counter()
    SyntheticProvider(SyntheticSettings(), as_of=AS_OF)
    catalogue_seconds = time.perf_counter() - start

    short = SyntheticSettings(start=(AS_OF - timedelta(days=DAYS - 1)).isoformat())
    generation_800 = _time_generation(short)
    generation_full = _time_generation(SyntheticSettings())
    serving = _time_serving()
    garch = _compare_garch(generation_800["units_and_factors"])
    report = {
        "machine": _machine(),
        "one_off": {
            "xnys_calendar_seconds": calendar_seconds,
            "catalogue_seconds": catalogue_seconds,
        },
        "generation_800_days": generation_800,
        "generation_full_history": generation_full,
        "serving_one_year_per_listing": serving,
        "garch_vectorised_vs_naive": garch,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    atomic_write_json(RESULTS, report)
    print(canonical_json(report), end="")
    print(
        f"{generation_800['listings']} listings x {DAYS} days: "
        f"{generation_800['seconds_median']:.3f} s median, "
        f"peak {generation_800['peak_traced_mib']:.0f} MiB traced; "
        f"full history ({generation_full['calendar_days']} days): "
        f"{generation_full['seconds_median']:.3f} s, "
        f"peak {generation_full['peak_traced_mib']:.0f} MiB"
    )
    print(
        f"candles(): {serving['microseconds_per_call']:.0f} us per call; "
        f"GARCH vectorised vs naive: {garch['speedup']:.0f}x"
    )
    return report


if __name__ == "__main__":
    main()
