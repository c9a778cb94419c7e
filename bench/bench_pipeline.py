"""The whole daily run at two sizes, side by side: ``production`` (~1,000 listings) and ``scale``.

For each profile, on a fresh temporary root: the first run of a day (cold lakehouse), a second
run of the same day (nothing changed: every step is reused, ``steps_reused``; the figure from
before same-day reuse, a whole rerun, is kept as ``second_run_same_day_before_reuse``) and the
run of the next day (one new bar per listing: the incremental day). Per run and per step: wall time (the ledger's)
and the peak resident memory of the run's process tree (sampled every 0.2 s, attributed to the
step running at the time); per run, the CPU seconds of the whole process tree (independent of
the load: on an idle 2-core machine the wall time is at least half of it) and the one-minute
load average at its start and end (the machine is shared: figures taken under load are slower).
For each step, the growth slope between the two sizes, ``log(t_scale / t_production) /
log(n_scale / n_production)`` in listings: about 1 for a step linear in the listings, 2 for a
quadratic one (steps under 0.05 s are too noisy to read and get no slope).

Writes ``bench/results/pipeline.json``; the figures already there are kept under ``previous``
(each beside the same measurement of this run).
Run: ``.venv/bin/python bench/bench_pipeline.py [profile[:run,run] ...]`` (runs: ``first_run``,
``second_run_same_day``, ``next_day``; default: both profiles, every run).
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "pipeline.json"
DAY = "2026-11-19"  # a Thursday: the next day has a session on every calendar
NEXT_DAY = "2026-11-20"
PROFILES = ("production", "scale")
FOUNDATION_STEPS = ("cleanup", "light_prep", "deep_prep", "health_audit")
RUNS = (("first_run", DAY), ("second_run_same_day", DAY), ("next_day", NEXT_DAY))
TARGETS = {"scale_daily_run_s": 300, "scale_peak_rss_mib": 4096}
MIN_SLOPE_S = 0.05


class _Sampler(threading.Thread):
    """Samples the resident memory of a process and its children (MiB, wall-clock time)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                root = psutil.Process(self.pid)
                procs = [root, *root.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in procs if p.is_running())
                self.samples.append((time.time(), rss / 2**20))
            except psutil.Error:
                pass
            self.stop.wait(0.2)


def _when(text: str) -> float:
    return datetime.fromisoformat(text).astimezone(UTC).timestamp()


def _run(root: Path, profile: str, as_of: str) -> dict[str, Any]:
    """One ``clusterfolio run``; per-step wall time and peak memory, the load around it."""
    load_start = os.getloadavg()[0]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    args = [sys.executable, "-m", "clusterfolio.cli", "run", "-q", "--profile", profile]
    args += ["--as-of", as_of, "--root", str(root)]
    args += ["--manifest", str(REPO / "configs" / "manifest.json")]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = _Sampler(child.pid)
    sampler.start()
    _, err = child.communicate()
    sampler.stop.set()
    sampler.join()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime)
    if child.returncode:
        raise RuntimeError(f"{profile} run on {as_of} failed: {err.decode()[-2000:]}")
    ledgers = sorted((root / "data" / "runs").glob(f"{as_of}*/run_manifest.json"))
    ledger = json.loads(ledgers[-1].read_text())
    steps: dict[str, dict[str, float]] = {}
    for name, entry in ledger["steps"].items():
        if entry.get("reused"):  # its record is the earlier run's: it took no time in this one
            steps[name] = {"s": 0.0, "peak_rss_mib": 0.0, "reused": True}
            continue
        lo, hi = _when(entry["started_at"]) - 1.0, _when(entry["finished_at"]) + 1.0
        peak = max((m for t, m in sampler.samples if lo <= t <= hi), default=0.0)
        steps[name] = {"s": round(float(entry["duration_s"]), 3), "peak_rss_mib": round(peak, 1)}
    return {
        "as_of": as_of,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mib": round(max((m for _, m in sampler.samples), default=0.0), 1),
        "steps": steps,
        "foundation_steps_s": round(
            sum(steps.get(s, {}).get("s", 0.0) for s in FOUNDATION_STEPS), 3
        ),
        "provider_calls": sum(
            int(v["counts"].get("provider_calls", 0) or 0)
            for v in ledger["steps"].values()
            if not v.get("reused")  # a reused step's counts are its first run's
        ),
        "steps_reused": sum(bool(v.get("reused")) for v in ledger["steps"].values()),
        "load_avg_1m": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
    }


def _listings(profile: str) -> int:
    from clusterfolio.data.synthetic import SyntheticProvider
    from clusterfolio.manifest import load

    settings = load(REPO / "configs" / "manifest.json", profile, (), {}).settings
    return len(SyntheticProvider(settings.data.synthetic, date.fromisoformat(DAY)).listings())


def _slopes(small: dict[str, Any], large: dict[str, Any], ratio: float) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name, step in large["steps"].items():
        a, b = small["steps"].get(name, {}).get("s", 0.0), step["s"]
        ok = a >= MIN_SLOPE_S and b >= MIN_SLOPE_S
        out[name] = round(math.log(b / a) / math.log(ratio), 2) if ok else None
    return out


def main(profiles: tuple[str, ...] = PROFILES) -> dict[str, Any]:
    """Run every profile (``name`` or ``name:run,run``: only those runs) and write the figures."""
    sys.path.insert(0, str(REPO / "bench"))
    from _machine import machine_info

    figures: dict[str, Any] = {}
    result: dict[str, Any] = {}
    for spec in profiles:
        profile, _, only = spec.partition(":")
        wanted = [(k, d) for k, d in RUNS if not only or k in only.split(",")]
        with tempfile.TemporaryDirectory(prefix=f"bench-pipeline-{profile}-") as tmp:
            runs = {key: _run(Path(tmp), profile, day) for key, day in wanted}
        figures[profile] = {"listings": _listings(profile), **_kept(profile, runs), **runs}
        print(json.dumps({profile: figures[profile]}, indent=1), file=sys.stderr)
        result = _write(figures, machine_info())
    return result


def _kept(profile: str, runs: dict[str, Any]) -> dict[str, Any]:
    """The earlier figures of ``profile`` this bench does not measure again (marked so), and the
    second run of a day as it was before same-day reuse (``second_run_same_day_before_reuse``:
    the whole pipeline rerun), kept beside the new one."""
    earlier = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    old = earlier.get("profiles", {}).get(profile, {})
    kept = {
        key: {**value, "measured_earlier": True}
        for key, value in old.items()
        if key in dict(RUNS) and key not in runs
    }
    before = old.get("second_run_same_day_before_reuse")
    if before is None and "steps_reused" not in old.get("second_run_same_day", {"steps_reused": 0}):
        before = old.get("second_run_same_day")
    if before is not None:
        kept["second_run_same_day_before_reuse"] = before
    return kept


def _write(figures: dict[str, Any], machine: dict[str, Any]) -> dict[str, Any]:
    """Write what was measured so far (a long bench keeps its figures if stopped later)."""
    earlier = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for profile, kept in earlier.get("profiles", {}).items():  # not measured again this time
        figures.setdefault(profile, {**kept, "measured_earlier": True})
    result: dict[str, Any] = {"profiles": figures, "targets": TARGETS, "machine": machine}
    if set(PROFILES) <= set(figures):
        small, large = figures["production"], figures["scale"]
        ratio = large["listings"] / small["listings"]
        result["growth_slope_vs_listings"] = {
            key: _slopes(small[key], large[key], ratio)
            for key, _ in RUNS
            if key in small and key in large
        }
    if earlier:
        # written by this bench earlier: keep its "previous" (the figures before this work)
        result["previous"] = earlier.get("previous", earlier)
    RESULTS.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps(result, indent=2, sort_keys=True))
    return result


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or PROFILES)
