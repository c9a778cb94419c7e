"""The whole daily run on the embedded default: first run (cold cache) and second run (fresh cache).

Measures wall time per step and in total, the peak memory of the run's process, and the provider
calls of the second run (a fresh cache must make none). Writes ``bench/results/pipeline.json``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
AS_OF = "2026-11-20"
FOUNDATION_STEPS = ("cleanup", "light_prep", "deep_prep", "health_audit")


def _run(root: Path) -> dict[str, Any]:
    """One `clusterfolio run` in a child process; its ledger, wall time and peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "clusterfolio.cli",
            "run",
            "-q",
            "--as-of",
            AS_OF,
            "--root",
            str(root),
            "--manifest",
            str(REPO / "configs" / "manifest.json"),
        ],
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        capture_output=True,
    )
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    ledger = json.loads(next((root / "data" / "runs").glob("2*/run_manifest.json")).read_text())
    steps = {k: v["duration_s"] for k, v in ledger["steps"].items()}
    calls = sum(int(v["counts"].get("provider_calls", 0) or 0) for v in ledger["steps"].values())
    return {
        "wall_s": round(wall, 3),
        "steps_s": steps,
        "foundation_steps_s": round(sum(steps.get(s, 0.0) for s in FOUNDATION_STEPS), 3),
        "provider_calls_recorded": calls,
        "peak_rss_mib_so_far": round(max(peak, before) / 1024, 1),
    }


def main() -> None:
    """Run twice on a fresh temporary root and write the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        first = _run(root)
        second = _run(root)
    result = {
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg()},
        "as_of": AS_OF,
        "profile": "production",
        "first_run_cold_cache": first,
        "second_run_fresh_cache": second,
        "targets": {"daily_run_s": 90, "peak_rss_mib": 2048, "foundation_steps_fresh_s": 5},
    }
    out = REPO / "bench" / "results" / "pipeline.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps(result, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
