"""Benchmark: the Discovery step's screener table and scanners on the default universe.

Universe: the embedded synthetic market at the production sizes (600 equities, 100 funds, 50
coins on up to 8 venues, 28 forex pairs: 1,007 listings), ``discovery.history_days`` (400)
calendar days of candles as of 2026-11-20, the columns the project's scanners need (daily,
``[1]``, ``|1W`` and ``|1M``; ``Recommend.All`` alone needs every oscillator).

Measured side by side in one run:

1. the screener table, from the same candle frames:

   * ours, :func:`clusterfolio.discovery.columns.screener_table` (all symbols at once, in
     panels), median and best of ``REPEATS`` runs;
   * the naive way, per symbol and per column with pandas (``Series.rolling``, ``ewm``,
     ``resample``, ``reindex(method="ffill")``; numpy windows for the CCI's mean deviation), as
     one first writes it; one run on every ``NAIVE_EVERY``-th listing (ours is timed on the
     same sample too), with the per-symbol cost projected to the universe;

   and their agreement (largest relative difference, NaN mismatches): the naive version is an
   independent implementation of the same definitions;
2. the scanners (:func:`run_scanners`, every screen of ``configs/scanners``) and the raw pool
   (:func:`build_raw_pool` with the production caps), with the pool's identities by class;
3. the Discovery step end to end (``run_discovery``) on a temporary lakehouse: *cold* (empty
   lakehouse: the market is simulated, every listing synced and stored) and *fresh* (the same
   as-of date again: stored candles read in one batch, no provider call), in a new process each,
   as the daily run.

Writes ``bench/results/discovery.json`` (figures and machine information) and prints it.
Run: ``.venv/bin/python bench/bench_discovery.py``. The machine's load average is recorded:
the figures are wall-clock times.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from clusterfolio.data.schema import Listing
from clusterfolio.data.sync import collapse_duplicates
from clusterfolio.data.synthetic import SyntheticProvider
from clusterfolio.discovery.columns import (
    MA_LENGTHS,
    PERF_PERIODS,
    RESAMPLE_RULES,
    listing_metadata,
    parse_column,
    screener_table,
)
from clusterfolio.discovery.evaluate import required_columns, run_scanners
from clusterfolio.discovery.pool import build_raw_pool, pool_summary
from clusterfolio.discovery.screens import load_screens
from clusterfolio.io import atomic_write_json, canonical_json
from clusterfolio.manifest import Settings, load

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "discovery.json"
AS_OF = date(2026, 11, 20)
PRODUCTION = (
    "data.synthetic.n_equities=600",
    "data.synthetic.n_etfs=100",
    "data.synthetic.n_crypto_coins=50",
    "data.synthetic.n_forex=28",
    'discovery.max_per_class={"equity": 520, "etf": 120, "bond": 60, "commodity": 40, "crypto": 120, "forex": 60}',
)
REPEATS = 5
#: The naive peer runs on every NAIVE_EVERY-th listing (sorted by symbol: every venue, class and
#: calendar is in the sample); ours is timed on the same sample and on the whole universe.
NAIVE_EVERY = 4
STEP_SCRIPT = """
import json, logging, sys, time
from datetime import date
from pathlib import Path
from clusterfolio.data.calendars import sessions
from clusterfolio.pipeline.context import default_provider
from clusterfolio.enums import CalendarKind
from clusterfolio.manifest import load
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.steps.discovery import run_discovery

root, repo, as_of = Path(sys.argv[1]), Path(sys.argv[2]), date.fromisoformat(sys.argv[3])
manifest = load(repo / "configs" / "manifest.json", "production", sys.argv[4:], {})
run_dir = root / "data" / "runs" / "bench"
run_dir.mkdir(parents=True, exist_ok=True)
ctx = RunContext(manifest=manifest, run_id="bench", run_dir=run_dir, project_root=root,
                 as_of=as_of, logger=logging.getLogger("bench"),
                 provider_factory=default_provider, config_root=repo)
sessions(CalendarKind.NYSE, "2026-01-02", "2026-01-02")  # the exchange calendar, built once
start, cpu = time.perf_counter(), time.process_time()
run_discovery(ctx)
print(json.dumps({"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
                  "provider_calls": ctx.provider.stats.candle_calls, **ctx.recorder.counts}))
"""


# --------------------------------------------------------------------------- the naive peer


def _seeded(x: pd.Series, n: int, alpha: float) -> pd.Series:
    """Seeded smoothing of one series (mean of the first ``n`` defined values, then ewm)."""
    out = np.full(len(x), np.nan)
    valid = np.flatnonzero(x.notna().to_numpy())
    if valid.size and valid[0] + n - 1 < len(x):
        first = int(valid[0])
        seq = x.iloc[first + n - 1 :].copy()
        seq.iloc[0] = x.iloc[first : first + n].mean()
        out[first + n - 1 :] = seq.ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return pd.Series(out, index=x.index)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den).replace([np.inf, -np.inf], np.nan)


def _vote(buy: pd.Series, sell: pd.Series, defined: pd.Series) -> pd.Series:
    out = pd.Series(np.where(buy, 1.0, np.where(sell, -1.0, 0.0)), index=buy.index)
    return out.where(defined)


class NaiveBars:
    """One symbol's indicators with plain pandas, each computed when asked (cached)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.f = frame
        self.c, self.h, self.lo = frame["close"], frame["high"], frame["low"]
        self.cache: dict[str, pd.Series] = {}

    def get(self, base: str) -> pd.Series:
        if base not in self.cache:
            self.cache[base] = self.compute(base)
        return self.cache[base]

    def tr(self) -> pd.Series:
        pc = self.c.shift(1)
        both = pd.concat([self.h - self.lo, (self.h - pc).abs(), (self.lo - pc).abs()], axis=1)
        return both.max(axis=1).where(pc.notna(), self.h - self.lo)

    def dmi(self) -> tuple[pd.Series, pd.Series, pd.Series]:
        up, down = self.h.diff(), -self.lo.diff()
        plus_dm = up.where((up > down) & (up > 0), 0.0).where(up.notna())
        minus_dm = down.where((down > up) & (down > 0), 0.0).where(down.notna())
        atr = _seeded(self.tr().where(up.notna()), 14, 1 / 14)
        plus = 100 * _ratio(_seeded(plus_dm, 14, 1 / 14), atr)
        minus = 100 * _ratio(_seeded(minus_dm, 14, 1 / 14), atr)
        total = plus + minus
        dx = (plus - minus).abs() / total.where(total != 0, 1.0)
        return plus, minus, 100 * _seeded(dx, 14, 1 / 14)

    def rsi(self, n: int) -> pd.Series:
        change = self.c.diff()
        gain = _seeded(change.clip(lower=0).where(change.notna()), n, 1 / n)
        loss = _seeded((-change).clip(lower=0).where(change.notna()), n, 1 / n)
        rsi = 100 - 100 / (1 + gain / loss)
        rsi = rsi.where(loss != 0, 100.0).where((gain != 0) | (loss == 0), 0.0)
        return rsi.where(gain.notna() & loss.notna())

    def stoch_k(self) -> pd.Series:
        hh, ll = self.h.rolling(14).max(), self.lo.rolling(14).min()
        return (100 * _ratio(self.c - ll, hh - ll)).rolling(3).mean()

    def oscillator_votes(self) -> list[pd.Series]:
        def rising(x: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
            p = x.shift(1)
            return x > p, x < p, x.notna() & p.notna()

        rsi = self.get("RSI")
        up, dn, ok = rising(rsi)
        votes = [_vote((rsi < 30) & up, (rsi > 70) & dn, ok)]
        k, d = self.get("Stoch.K"), self.get("Stoch.D")
        k1, d1 = k.shift(1), d.shift(1)
        ok = k.notna() & d.notna() & k1.notna() & d1.notna()
        votes.append(_vote((k < 20) & (k > d) & (k1 < d1), (k > 80) & (k < d) & (k1 > d1), ok))
        cci = self.get("CCI20")
        up, dn, ok = rising(cci)
        votes.append(_vote((cci < -100) & up, (cci > 100) & dn, ok))
        plus, minus, adx = self.dmi()
        p1, m1 = plus.shift(1), minus.shift(1)
        strong = adx > 20
        votes.append(
            _vote(
                strong & (p1 < m1) & (plus > minus),
                strong & (p1 > m1) & (plus < minus),
                adx.notna() & p1.notna() & m1.notna(),
            )
        )
        ao = self.get("AO")
        up, dn, ok = rising(ao)
        votes.append(_vote((ao > 0) & up, (ao < 0) & dn, ok))
        up, dn, ok = rising(self.get("Mom"))
        votes.append(_vote(up, dn, ok))
        macd, signal = self.get("MACD.macd"), self.get("MACD.signal")
        votes.append(_vote(macd > signal, macd < signal, macd.notna() & signal.notna()))
        wr = self.get("W.R")
        up, dn, ok = rising(wr)
        votes.append(_vote((wr < -80) & up, (wr > -20) & dn, ok))
        return votes

    def compute(self, base: str) -> pd.Series:
        """Indicator ``base`` over the whole history (one branch per indicator)."""
        c, v = self.c, self.f["volume"]
        if base in ("open", "high", "low", "close", "volume"):
            return self.f[base]
        if base == "change":
            return 100 * (c / c.shift(1) - 1)
        if base == "Value.Traded":
            return c * v
        if base.startswith("average_volume_"):
            return v.rolling(int(base.split("_")[2][:-1])).mean()
        if base.startswith("SMA"):
            return c.rolling(int(base[3:])).mean()
        if base.startswith("EMA"):
            n = int(base[3:])
            return _seeded(c, n, 2 / (n + 1))
        if base in PERF_PERIODS:
            ref = c.reindex(c.index - PERF_PERIODS[base], method="ffill")
            return 100 * (c / ref.to_numpy() - 1)
        if base == "Volatility.D":
            return 100 * self.tr() / self.lo.abs()
        if base == "Volatility.M":
            return (100 * (self.h - self.lo) / self.lo.abs()).rolling("30D").mean()
        if base == "ATR":
            return _seeded(self.tr(), 14, 1 / 14)
        if base == "RSI":
            return self.rsi(14)
        if base == "ADX":
            return self.dmi()[2]
        if base == "MACD.macd":
            return _seeded(c, 12, 2 / 13) - _seeded(c, 26, 2 / 27)
        if base == "MACD.signal":
            return _seeded(self.get("MACD.macd"), 9, 2 / 10)
        if base == "Mom":
            return c - c.shift(10)
        if base == "Stoch.K":
            return self.stoch_k()
        if base == "Stoch.D":
            return self.get("Stoch.K").rolling(3).mean()
        if base == "CCI20":
            tp = (self.h + self.lo + c) / 3
            mad = np.full(len(tp), np.nan)
            if len(tp) >= 20:  # mean absolute deviation: numpy windows (rolling.apply crawls)
                windows = sliding_window_view(tp.to_numpy(), 20)
                mad[19:] = np.abs(windows - windows.mean(axis=1)[:, None]).mean(axis=1)
            return _ratio(tp - tp.rolling(20).mean(), 0.015 * pd.Series(mad, index=tp.index))
        if base == "W.R":
            hh, ll = self.h.rolling(14).max(), self.lo.rolling(14).min()
            return -100 * _ratio(hh - c, hh - ll)
        if base == "AO":
            hl2 = (self.h + self.lo) / 2
            return hl2.rolling(5).mean() - hl2.rolling(34).mean()
        if base == "Recommend.MA":
            votes = [
                _vote(c > ma, c < ma, ma.notna())
                for n in MA_LENGTHS
                for ma in (self.get(f"SMA{n}"), self.get(f"EMA{n}"))
            ]
            return pd.concat(votes, axis=1).mean(axis=1)
        if base == "Recommend.Other":
            return pd.concat(self.oscillator_votes(), axis=1).mean(axis=1)
        if base == "Recommend.All":
            both = [self.get("Recommend.MA"), self.get("Recommend.Other")]
            return pd.concat(both, axis=1).mean(axis=1)
        raise KeyError(f"the naive peer does not compute {base!r}")


def naive_table(
    candles: Mapping[str, pd.DataFrame],
    listings: Mapping[str, Listing],
    columns: Sequence[str],
    *,
    as_of: date,
    start: date,
) -> pd.DataFrame:
    """The screener table symbol by symbol and column by column with pandas."""
    rows = []
    for symbol in sorted(candles):
        frame = candles[symbol]
        frame = frame.loc[
            (frame["session"] >= pd.Timestamp(start)) & (frame["session"] <= pd.Timestamp(as_of))
        ].set_index("session")
        bars: dict[str, NaiveBars] = {"1D": NaiveBars(frame)}
        meta = listing_metadata(symbol, listings.get(symbol))
        row: dict[str, Any] = {}
        for name in columns:
            spec = parse_column(name)
            if spec.is_metadata:
                row[name] = meta[spec.base]
                continue
            if spec.timeframe not in bars:
                agg = {"open": "first", "high": "max", "low": "min", "close": "last"}
                resampled = frame.resample(RESAMPLE_RULES[spec.timeframe]).agg(
                    {**agg, "volume": "sum"}
                )
                bars[spec.timeframe] = NaiveBars(resampled.dropna(subset=["close"]))
            series = bars[spec.timeframe].get(spec.base)
            row[name] = float(series.iloc[-1 - spec.shift]) if len(series) > spec.shift else np.nan
        rows.append(row)
    return pd.DataFrame.from_records(rows, index=pd.Index(sorted(candles), name="symbol"))


# --------------------------------------------------------------------------- measurements


def _timed(fn: Callable[[], Any], repeats: int) -> tuple[dict[str, float], Any]:
    seconds, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return {
        "median_s": round(statistics.median(seconds), 4),
        "best_s": round(min(seconds), 4),
    }, result


def _agreement(ours: pd.DataFrame, peer: pd.DataFrame, columns: Sequence[str]) -> dict[str, Any]:
    worst, where, nan_mismatch = 0.0, "", 0
    for name in columns:
        if parse_column(name).is_metadata:
            continue
        a = ours[name].to_numpy(dtype=float)
        b = peer.loc[ours.index, name].to_numpy(dtype=float)
        nan_mismatch += int((np.isnan(a) != np.isnan(b)).sum())
        ok = ~np.isnan(a) & ~np.isnan(b)
        if ok.any():
            err = float((np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1.0)).max())
            if err > worst:
                worst, where = err, name
    return {"max_rel_diff": worst, "column": where, "nan_mismatches": nan_mismatch}


def _step(root: Path, as_of: date) -> dict[str, Any]:
    """``run_discovery`` in a new process (as the daily run), its figures from stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    args = [sys.executable, "-c", STEP_SCRIPT, str(root), str(ROOT), as_of.isoformat()]
    proc = subprocess.run(
        [*args, *PRODUCTION], env=env, capture_output=True, text=True, check=True, timeout=900
    )
    figures: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}


def _machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


def main() -> dict[str, Any]:
    """Run the benchmark, write ``bench/results/discovery.json`` and return the figures."""
    load_start = os.getloadavg()[0]
    resolved = load(ROOT / "configs" / "manifest.json", "production", PRODUCTION, {})
    settings: Settings = resolved.settings
    provider = SyntheticProvider(settings.data.synthetic, as_of=AS_OF)
    listings = {listing.symbol: listing for listing in provider.listings()}
    start = AS_OF - timedelta(days=settings.discovery.history_days)
    t0 = time.perf_counter()
    candles = {s: collapse_duplicates(provider.candles(s, start, AS_OF))[0] for s in listings}
    provider_s = time.perf_counter() - t0
    screens = load_screens(ROOT / "configs" / "scanners")
    columns = required_columns(screens)

    def ours() -> pd.DataFrame:
        return screener_table(candles, listings, columns, as_of=AS_OF, start=start)

    ours()  # warm-up (imports, allocator)
    ours_t, table = _timed(ours, REPEATS)
    sample = sorted(candles)[::NAIVE_EVERY]
    few = {s: candles[s] for s in sample}
    ours_sample_t, ours_sample = _timed(
        lambda: screener_table(few, listings, columns, as_of=AS_OF, start=start), REPEATS
    )
    naive_t, naive = _timed(
        lambda: naive_table(few, listings, columns, as_of=AS_OF, start=start), 1
    )
    scan_t, exports = _timed(
        lambda: run_scanners(screens, table, as_of=AS_OF, run_id="bench"), REPEATS
    )
    pool_t, pool = _timed(
        lambda: build_raw_pool(exports, listings, max_per_class=settings.discovery.max_per_class),
        REPEATS,
    )
    with tempfile.TemporaryDirectory(prefix="bench-discovery-") as tmp:
        cold = _step(Path(tmp), AS_OF)
        fresh = [_step(Path(tmp), AS_OF) for _ in range(3)]
    summary = pool_summary(pool)
    figures: dict[str, Any] = {
        "benchmark": "discovery",
        "as_of": AS_OF.isoformat(),
        "universe": {
            "listings": len(listings),
            "columns": len(columns),
            "history_days": settings.discovery.history_days,
            "screens": len(screens),
            "provider_candles_s": round(provider_s, 3),
        },
        "screener_table": {
            "ours_all_listings": {
                **ours_t,
                "per_symbol_ms": round(1000 * ours_t["best_s"] / len(listings), 3),
            },
            "sample_listings": len(sample),
            "ours_sample": {
                **ours_sample_t,
                "per_symbol_ms": round(1000 * ours_sample_t["best_s"] / len(sample), 3),
            },
            "naive_pandas_per_symbol_sample": {
                **naive_t,
                "per_symbol_ms": round(1000 * naive_t["best_s"] / len(sample), 3),
                "projected_all_listings_s": round(
                    naive_t["best_s"] * len(listings) / len(sample), 1
                ),
            },
            "speedup_sample_best": round(naive_t["best_s"] / ours_sample_t["best_s"], 1),
            "agreement_sample": _agreement(ours_sample, naive, columns),
        },
        "scanners": {**scan_t, "rows": sum(e.n_rows for e in exports)},
        "raw_pool": {
            **pool_t,
            "identities": summary["identities"],
            "by_asset_class": summary["by_asset_class"],
            "by_direction": summary["by_direction"],
        },
        "discovery_step": {
            "cold_lakehouse": cold,
            "fresh_lakehouse": fresh[-1],
            "fresh_wall_s_best": min(f["wall_s"] for f in fresh),
        },
        "load_average": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
        "machine": _machine(),
    }
    atomic_write_json(RESULTS, figures)
    print(canonical_json(figures))
    return figures


if __name__ == "__main__":
    main()
