"""Benchmark: the incremental day at 5,000 listings (issue 15, item 4).

A lakehouse of 5,000 listings (3,500 on the NYSE calendar, 1,400 crypto on 24/7, 100 forex on
24/5) holding five years of bars is synced to the next day (one new bar per listing) by
:func:`clusterfolio.data.sync.sync_listings`, then synced again on the same day (nothing to
do). Side by side in the same run, on a copy of the same lakehouse, the code this branch
started from (``git merge-base HEAD main``, extracted with ``git archive`` into a temporary
folder and run in a child process) does the same next-day sync: the "before" figure.

The provider is a deterministic double (bars are a function of symbol and session, so serving a
session again gives the same bar). The one-minute load average is recorded beside each figure
(the machine is shared). Writes ``bench/results/incremental.json``; the previous figures are
kept under ``previous``.
Run: ``.venv/bin/python bench/bench_incremental.py``.

``--append`` measures the append alone (a few minutes instead of the full run): one cold sync
builds the five-year lakehouse, two copies of it are synced to the next day (Thursday to
Friday, one new bar per listing) and then to the following Monday (the weekend's crypto and
forex bars too), then once more on that Monday (nothing to append), by the merge-base code
and by this branch's code in turn, each in a child process, alternating so both see the same
load. Each figure carries its wall time, the CPU
seconds of its process and the load average; written under ``append`` in the same results
file, the other figures kept.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "incremental.json"
DAY = date(2026, 11, 19)  # a Thursday
NEXT = date(2026, 11, 20)
MONDAY = date(2026, 11, 23)  # the following Monday: weekend bars of 24/7 and 24/5 listings too
YEARS_DAYS = 5 * 365
GROUPS = (("NYSE", "XNYS", 3500), ("BINANCE", "24/7", 1400), ("FX_IDC", "24/5", 100))
TARGET_S = 20.0
KEEP_RUNS = 5  # earlier append runs kept beside the latest


class _Market:
    """Provider double: the bar of (symbol, session) is a fixed function of both."""

    name = "bench"

    def __init__(self, as_of: date) -> None:
        from clusterfolio.data.calendars import sessions
        from clusterfolio.data.schema import Listing
        from clusterfolio.enums import AssetClass, CalendarKind

        self.as_of = as_of
        self.sessions = sessions
        self.items = []
        for exchange, kind, n in GROUPS:
            cls = AssetClass.EQUITY if exchange == "NYSE" else AssetClass.CRYPTO
            cls = AssetClass.FOREX if exchange == "FX_IDC" else cls
            for i in range(n):
                symbol = f"{exchange}:B{i:04d}"
                self.items.append(Listing(symbol, cls, CalendarKind(kind)))
        self.by_symbol = {x.symbol: x for x in self.items}

    def listings(self) -> list[Any]:
        return self.items

    def candles(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        listing = self.by_symbol[symbol]
        days = self.sessions(listing.calendar, start, min(end, self.as_of))
        salt = zlib.crc32(symbol.encode()) % 1000 / 100.0
        t = days.to_numpy().astype("datetime64[D]").astype(np.int64).astype(float)
        close = 60.0 + 10.0 * np.sin(t / 37.0 + salt) + salt
        return pd.DataFrame(
            {
                "session": days,
                "open": close * 0.999,
                "high": close * 1.01,
                "low": close * 0.99,
                "close": close,
                "volume": np.full(len(days), 1e5),
            }
        )


def _sync(root: Path, as_of: date) -> dict[str, Any]:
    """One ``sync_listings`` over the whole market; wall time, actions, load average."""
    from clusterfolio.data.calendars import sessions
    from clusterfolio.data.lakehouse import Lakehouse
    from clusterfolio.data.sync import sync_listings

    market = _Market(as_of)
    lake = Lakehouse(root / "lake")
    start, cpu = time.perf_counter(), time.process_time()
    outcomes = []
    for _, kind, _ in GROUPS:
        group = [x for x in market.items if x.calendar.value == kind]
        n = len(sessions(group[0].calendar, DAY - pd.Timedelta(days=YEARS_DAYS), DAY))
        outcomes += sync_listings(
            lake,
            market,  # type: ignore[arg-type]  # a candle source without a screener
            group,
            as_of=as_of,
            n_sessions=n,
            state_dir=root,
        )
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    actions: dict[str, int] = {}
    for outcome in outcomes:
        actions[outcome.action] = actions.get(outcome.action, 0) + 1
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "per_listing_ms": round(wall / len(outcomes) * 1000, 3),
        "actions": actions,
        "appended": sum(o.appended for o in outcomes),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def _before_src(tmp: Path) -> Path:
    """The ``src`` folder of the baseline commit, extracted into ``tmp``.

    The baseline is ``$BENCH_BASE`` when set (e.g. the commit before a change already merged
    into main), else the commit this branch started from (``git merge-base HEAD main``).
    """
    base = (
        os.environ.get("BENCH_BASE")
        or subprocess.run(
            ["git", "merge-base", "HEAD", "main"],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    archive = subprocess.run(
        ["git", "archive", base, "src"], cwd=REPO, check=True, capture_output=True
    ).stdout
    tmp.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    return tmp / "src"


def _child(src: Path, root: Path, as_of: date) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    args = [sys.executable, __file__, "--worker", str(root), as_of.isoformat()]
    out = subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def append_figures() -> dict[str, Any]:
    """The next-day and following-Monday appends at 5,000 listings, before and ours alternating."""
    sys.path.insert(0, str(REPO / "bench"))
    from _machine import machine_info

    days = (("next_day", NEXT), ("following_monday", MONDAY), ("same_day_again", MONDAY))
    runs: dict[str, dict[str, Any]] = {label: {} for label, _ in days}
    with tempfile.TemporaryDirectory(prefix="bench-append-") as tmp:
        cold = Path(tmp) / "cold"
        cold.mkdir()
        built = _sync(cold, DAY)
        code = {"before": _before_src(Path(tmp) / "code"), "ours": REPO / "src"}
        roots = {name: Path(tmp) / name for name in code}
        for root in roots.values():
            shutil.copytree(cold, root)
        os.sync()  # neither side flushes the other's copy
        for label, day in days:
            for name in ("before", "ours"):
                runs[label][name] = _child(code[name], roots[name], day)
    return {
        "measured": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
        "cold_sync_five_years": built,
        **runs,
        "before_commit": os.environ.get("BENCH_BASE") or "merge-base HEAD main",
        "target_next_day_s": TARGET_S,
        "meets_target": runs["next_day"]["ours"]["wall_s"] <= TARGET_S,
        "machine": machine_info(),
    }


def record_append() -> dict[str, Any]:
    """Run :func:`append_figures` and write them under ``append``; the earlier append runs are
    kept under ``append.previous`` (newest first, at most :data:`KEEP_RUNS`), the other
    figures of the file as they are (the machine is shared: one run is one sample)."""
    result = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    figures = append_figures()
    if "append" in result:
        earlier = dict(result["append"])
        older = earlier.pop("previous", [])
        older = older if isinstance(older, list) else [older]
        figures["previous"] = [earlier, *older][:KEEP_RUNS]
    result["append"] = figures
    RESULTS.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps(figures, indent=2, sort_keys=True))
    return figures


def main() -> dict[str, Any]:
    """Run the benchmark and write the figures."""
    sys.path.insert(0, str(REPO / "bench"))
    from _machine import machine_info

    with tempfile.TemporaryDirectory(prefix="bench-incremental-") as tmp:
        ours, before = Path(tmp) / "ours", Path(tmp) / "before"
        ours.mkdir()
        cold = _sync(ours, DAY)
        shutil.copytree(ours, before)
        code = _before_src(Path(tmp) / "code")
        old_next = _child(code, before, NEXT)
        new_next = _child(REPO / "src", ours, NEXT)
        new_again = _child(REPO / "src", ours, NEXT)
        old_again = _child(code, before, NEXT)
    result: dict[str, Any] = {
        "benchmark": "incremental day",
        "listings": sum(n for _, _, n in GROUPS),
        "history_calendar_days": YEARS_DAYS,
        "cold_sync_five_years_ours": cold,
        "next_day_append": {"ours_batched": new_next, "before_per_listing": old_next},
        "same_day_second_sync": {"ours_batched": new_again, "before_per_listing": old_again},
        "today_issue_figure": "about 13 ms per listing per append (65 s at 5,000 listings)",
        "before_commit": os.environ.get("BENCH_BASE") or "merge-base HEAD main",
        "target_next_day_s": TARGET_S,
        "meets_target": new_next["wall_s"] <= TARGET_S,
        "machine": machine_info(),
    }
    if RESULTS.exists():
        previous = json.loads(RESULTS.read_text())
        previous.pop("previous", None)
        if "append" in previous:  # the append figures stay where they are
            result["append"] = previous.pop("append")
        result["previous"] = previous
    RESULTS.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps(result, indent=2, sort_keys=True))
    return result


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        print(json.dumps(_sync(Path(sys.argv[2]), date.fromisoformat(sys.argv[3]))))
    elif sys.argv[1:] == ["--append"]:
        record_append()
    else:
        main()
