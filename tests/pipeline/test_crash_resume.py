"""Crash safety: SIGKILL a run inside each registered step, resume, compare every artifact.

Runs the real CLI in subprocesses on a tiny synthetic market. The killed run is the same run
made by ``python -m tests.fakes.kill`` with the kill hooks injected into the orchestrator
(:class:`tests.fakes.kill.KillAt`): it kills the process with SIGKILL either at the N-th progress
tick inside a step (``step:N``) or after the step wrote its artifacts but before the ledger
recorded it (``step``). The resume is the real CLI; the reference is the tiny run of
:func:`tests.fakes.sample_run.tiny_run` (made once per session through the Python API, shared
with the report tests), so a CLI run is also checked byte-identical to an API run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from clusterfolio.pipeline.steps import build_registry
from tests.fakes.sample_run import SAMPLE_AS_OF, tiny_run
from tests.fakes.sample_run import TINY as SAMPLE_TINY

#: The sample run's tiny market, as ``--set`` options (the reference is that very run).
TINY = [
    f"{key}={json.dumps(value) if isinstance(value, list | bool) else value}"
    for key, value in SAMPLE_TINY.items()
]
AS_OF = SAMPLE_AS_OF
VOLATILE = {"run_manifest.json", "run.log"}


def _command(root: Path, repo_root: Path, *extra: str, kill: str | None = None):  # type: ignore[no-untyped-def]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(repo_root / "src"), str(repo_root)])
    if kill:
        args = [sys.executable, "-m", "tests.fakes.kill", kill, "--as-of", AS_OF]
    else:
        args = [sys.executable, "-m", "clusterfolio.cli", "run", "-q", "--as-of", AS_OF]
    args += ["--root", str(root), "--manifest", str(repo_root / "configs" / "manifest.json")]
    args += ["--profile", "development"]
    for item in TINY:
        args += ["--set", item]
    return [*args, *extra], env


def _call(
    root: Path, repo_root: Path, *extra: str, kill: str | None = None, ok: tuple[int, ...] = ()
) -> tuple[int, str]:
    """Run the CLI; return its exit code (negative: the signal) and its output."""
    args, env = _command(root, repo_root, *extra, kill=kill)
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode not in (0, -signal.SIGKILL, *ok):
        raise AssertionError(proc.stdout + proc.stderr)
    return proc.returncode, proc.stdout + proc.stderr


def _cli(root: Path, repo_root: Path, *extra: str, kill: str | None = None) -> int:
    return _call(root, repo_root, *extra, kill=kill)[0]


def _artifacts(root: Path, run_dir: Path | None = None) -> dict[str, bytes]:
    runs = root / "data" / "runs"
    if run_dir is None:
        (run_dir,) = [p for p in runs.iterdir() if p.is_dir() and not p.is_symlink()]
    out = {}
    for path in sorted(run_dir.rglob("*")):
        if path.is_file() and path.name not in VOLATILE:
            out[path.relative_to(run_dir).as_posix()] = path.read_bytes()
    for path in sorted((root / "data" / "lakehouse").glob("*/*.parquet")):
        out["lakehouse/" + path.name] = path.read_bytes()
    return out


@pytest.fixture(scope="module")
def reference() -> dict[str, bytes]:
    """The artifacts of the tiny run the report tests use too (made once per session)."""
    run_dir = tiny_run()
    return _artifacts(run_dir.parents[2], run_dir)


#: Kill points of the fast suite (a sync mid-pass, the heaviest steps, the last one); every
#: other kill point runs in ``make test-all`` (marked slow: each costs two whole runs).
FAST_KILL_POINTS = frozenset({"discovery", "deep_prep:3", "validation", "reporting"})


def _kill_points() -> list[Any]:
    points: list[Any] = []
    for name in build_registry().names():
        names = [name, f"{name}:3"] if name in {"light_prep", "deep_prep"} else [name]
        for point in names:
            marks = () if point in FAST_KILL_POINTS else (pytest.mark.slow,)
            points.append(pytest.param(point, marks=marks, id=point))
    return points


@pytest.mark.parametrize("kill_at", _kill_points())
def test_kill_and_resume_is_byte_identical(
    kill_at: str, tmp_path: Path, repo_root: Path, reference: dict[str, bytes]
) -> None:
    assert _cli(tmp_path, repo_root, kill=kill_at) == -signal.SIGKILL
    run_dir = next(p for p in (tmp_path / "data" / "runs").iterdir() if p.is_dir())
    assert _cli(tmp_path, repo_root, "--resume", run_dir.name) == 0
    resumed = _artifacts(tmp_path)
    assert sorted(resumed) == sorted(reference)
    differing = [name for name in reference if resumed[name] != reference[name]]
    assert not differing, f"artifacts differ after kill at {kill_at}: {differing}"


def test_same_inputs_give_byte_identical_artifacts(
    tmp_path: Path, repo_root: Path, reference: dict[str, bytes]
) -> None:
    assert _cli(tmp_path, repo_root) == 0
    again = _artifacts(tmp_path)
    assert again == reference


def test_kill_before_the_ledger_exists_then_resume_says_so(
    tmp_path: Path, repo_root: Path, reference: dict[str, bytes]
) -> None:
    assert _cli(tmp_path, repo_root, kill="@start") == -signal.SIGKILL
    (run_dir,) = [p for p in (tmp_path / "data" / "runs").iterdir() if p.is_dir()]
    assert not (run_dir / "run_manifest.json").exists()
    code, output = _call(tmp_path, repo_root, "--resume", "latest", ok=(2,))
    assert code == 2 and "no complete run yet" in output
    assert "stale lock removed" in output  # the killed process's lock is detected
    code, output = _call(tmp_path, repo_root, "--resume", run_dir.name, ok=(2,))
    assert code == 2 and f"run {run_dir.name} has no ledger" in output
    assert "Traceback" not in output
    assert _cli(tmp_path, repo_root) == 0
    assert _artifacts(tmp_path) == reference


def test_concurrent_runs_and_a_killed_rerun_keep_the_complete_run(
    tmp_path: Path, repo_root: Path, reference: dict[str, bytes]
) -> None:
    args, env = _command(tmp_path, repo_root)
    first = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lock = tmp_path / ".clusterfolio.lock"
    deadline = time.monotonic() + 300
    while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    code, output = _call(tmp_path, repo_root, ok=(1,))  # a second run in the same checkout
    assert code == 1 and "in progress since" in output
    assert first.wait(timeout=600) == 0
    assert _artifacts(tmp_path) == reference  # the first run was not disturbed
    runs = tmp_path / "data" / "runs"
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir() and not p.is_symlink()]
    assert _cli(tmp_path, repo_root, kill="@start") == -signal.SIGKILL  # a rerun, killed
    kept = runs / f"{run_dir.name}.previous"
    assert (runs / "latest").resolve() == kept
    assert _artifacts(tmp_path, kept) == reference
