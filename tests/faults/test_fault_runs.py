"""Fault: runs trampling each other (lock, reruns, latest, retention, acceptance, resume)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date
from pathlib import Path

import pytest
from faultkit import fingerprint
from typer.testing import CliRunner

from clusterfolio.cli import app
from clusterfolio.enums import StepName, StepStatus
from clusterfolio.errors import DataError
from clusterfolio.io import atomic_write_json, read_json
from clusterfolio.manifest import ResolvedManifest, Settings
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.ledger import LEDGER_NAME, RunLedger
from clusterfolio.pipeline.lock import LOCK_NAME, LockInfo, ProjectLock, RunLockedError
from clusterfolio.pipeline.registry import Step, StepRegistry
from clusterfolio.pipeline.runner import Orchestrator
from clusterfolio.pipeline.steps.cleanup import accepted_run, prune_runs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audit"))
import audit_factory as af

FAIL = {"on": False}


def _write(ctx: RunContext) -> None:
    atomic_write_json(ctx.artifact("a.json"), {"top_n": ctx.settings.selection.top_n})


def _maybe_fail(ctx: RunContext) -> None:
    if FAIL["on"]:
        raise DataError("bad data for symbol X")
    atomic_write_json(ctx.artifact("b.json"), read_json(ctx.artifact("a.json")))


def toy(root: Path) -> Orchestrator:
    """A two-step pipeline in ``root``."""
    registry = StepRegistry()
    registry.register(Step(StepName.CLEANUP, (), ("a.json",), _write, ("selection",)))
    registry.register(Step(StepName.DISCOVERY, ("a.json",), ("b.json",), _maybe_fail))
    return Orchestrator(
        registry,
        ResolvedManifest(profile="test", settings=Settings()),
        project_root=root,
        as_of=date(2026, 11, 20),
        provider_factory=lambda ctx: (_ for _ in ()).throw(AssertionError("no provider")),
    )


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    FAIL["on"] = False
    yield
    FAIL["on"] = False


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A live process holding the project lock of ``tmp_path`` for run R1."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    info = LockInfo.mine("run", "R1")
    info.pid = proc.pid
    info.process_start = ""
    info.started_at = "2026-11-20T08:00:00+00:00"
    (tmp_path / LOCK_NAME).write_text(json.dumps(asdict(info)))
    yield proc
    proc.kill()
    proc.wait()


def test_a_second_run_gets_run_x_in_progress_since_t(
    tmp_path: Path, repo_root: Path, holder: subprocess.Popen[bytes]
) -> None:
    lake = tmp_path / "data" / "lakehouse"
    lake.mkdir(parents=True)
    (lake / "portfolio_actual_state.json").write_text('{"run_id": "R0"}')
    before = fingerprint(tmp_path / "data")
    expected = "run R1 in progress since 2026-11-20T08:00:00+00:00"
    with pytest.raises(RunLockedError, match=re.escape(expected)):
        toy(tmp_path).run()
    for args in (["clean", "--yes"], ["clean", "--full", "--yes"]):
        manifest = str(repo_root / "configs/manifest.json")
        result = CliRunner().invoke(app, [*args, "--root", str(tmp_path), "--manifest", manifest])
        assert result.exit_code == 1 and expected in result.output
    assert fingerprint(tmp_path / "data") == before


def test_a_stale_lock_of_a_killed_process_is_taken_over_and_reported(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    info = LockInfo.mine("run", "R1")
    info.pid = int(dead.stdout)
    (tmp_path / LOCK_NAME).write_text(json.dumps(asdict(info)))
    orchestrator = toy(tmp_path)
    assert orchestrator.run().status is StepStatus.COMPLETED
    assert orchestrator.notices[0].startswith("stale lock removed: run R1 in progress since")
    assert not (tmp_path / LOCK_NAME).exists()
    with ProjectLock(tmp_path, "clean") as lock:  # held by this process: another one waits
        assert lock.notice == ""
        code = f"from clusterfolio.pipeline.lock import ProjectLock as L; L({str(tmp_path)!r}, 'run').acquire()"
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert other.returncode == 1 and "RunLockedError: clean in progress since" in other.stderr


def test_a_rerun_keeps_the_complete_run_until_it_completes(tmp_path: Path) -> None:
    first = toy(tmp_path).run()
    runs = tmp_path / "data" / "runs"
    complete = fingerprint(runs / first.run_id)
    FAIL["on"] = True
    with pytest.raises(DataError):
        toy(tmp_path).run(fresh=True)  # a plain rerun would reuse every step: nothing changed
    kept = runs / f"{first.run_id}.previous"
    assert fingerprint(kept) == complete
    assert (runs / "latest").resolve() == kept  # latest names the complete run, never the failed
    assert RunLedger.load(runs / first.run_id).status is StepStatus.FAILED
    FAIL["on"] = False
    toy(tmp_path).run()
    assert not kept.exists() and (runs / "latest").resolve() == runs / first.run_id


def test_latest_never_names_a_failed_run(tmp_path: Path) -> None:
    FAIL["on"] = True
    with pytest.raises(DataError):
        toy(tmp_path).run()
    assert not (tmp_path / "data" / "runs" / "latest").exists()


def _ledger(runs: Path, run_id: str, status: StepStatus, finished: str) -> None:
    ledger = RunLedger(run_id, "test", "2026-11-20", 1, "h", {}, [], "v", status=status)
    ledger.finished_at = finished
    (runs / run_id).mkdir(parents=True)
    ledger.save(runs / run_id)


def test_retention_counts_failed_runs_apart_and_keeps_accepted_and_last_complete(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    _ledger(runs, "r1-accepted", StepStatus.COMPLETED, "1")
    _ledger(runs, "r2-complete", StepStatus.COMPLETED, "2")
    _ledger(runs, "r3-failed", StepStatus.FAILED, "3")
    _ledger(runs, "r4-failed", StepStatus.FAILED, "4")
    lake = tmp_path / "lakehouse"
    lake.mkdir()
    (lake / "portfolio_actual_state.json").write_text('{"run_id": "r1-accepted"}')
    assert accepted_run(lake) == "r1-accepted"
    removed = prune_runs(runs, keep=1, protect={accepted_run(lake), "r4-failed"})
    assert removed == ["r3-failed"]  # failed runs never crowd out the complete ones
    assert sorted(p.name for p in runs.iterdir()) == ["r1-accepted", "r2-complete", "r4-failed"]


@pytest.mark.parametrize(
    ("status", "why"),
    [
        ("failed", "it failed (discovery: DataError: bad)"),
        ("running", "it is running, or was killed"),
        ("stale", "it is stale: ['discovery']"),
    ],
)
def test_accept_state_and_publish_refuse_failed_running_and_stale_runs(
    tmp_path: Path, repo_root: Path, status: str, why: str
) -> None:
    run_dir = af.write_run(tmp_path)
    manifest = ["--root", str(tmp_path), "--manifest", str(repo_root / "configs/manifest.json")]
    assert CliRunner().invoke(app, ["accept-state", *manifest]).exit_code == 0
    lake = tmp_path / "data" / "lakehouse"
    before = fingerprint(lake)
    doc = read_json(run_dir / LEDGER_NAME)
    doc["status"] = status
    step_status = "stale" if status == "stale" else status
    doc["steps"] = {"discovery": {"status": step_status, "error": "DataError: bad"}}
    atomic_write_json(run_dir / LEDGER_NAME, doc)
    refused = CliRunner().invoke(app, ["accept-state", *manifest])
    assert refused.exit_code == 1
    assert f"refusing to accept run {af.RUN_ID}: {why}" in refused.output
    assert fingerprint(lake) == before
    audit = CliRunner().invoke(app, ["audit", *manifest])
    assert audit.exit_code == 1 and f"refusing to audit run {af.RUN_ID}" in audit.output
    (tmp_path / "summaries").mkdir()
    (tmp_path / "summaries" / "report.md").write_text("# report\n")
    published = CliRunner().invoke(
        app,
        ["publish", "--root", str(tmp_path), "--manifest", manifest[3]],
        env={"GIST_REMOTE": str(tmp_path / "nowhere.git")},
    )
    assert published.exit_code == 1
    assert f"refusing to publish run {af.RUN_ID}: {why}" in published.output


def test_resume_without_a_ledger_says_so(tmp_path: Path, repo_root: Path) -> None:
    manifest = ["--root", str(tmp_path), "--manifest", str(repo_root / "configs/manifest.json")]
    nothing = CliRunner().invoke(app, ["run", "-q", "--resume", "latest", *manifest])
    assert nothing.exit_code == 2 and "no complete run yet" in nothing.output
    killed = tmp_path / "data" / "runs" / "2026-11-20_default_0123456789"
    killed.mkdir(parents=True)  # killed before its ledger was written
    (tmp_path / "data" / "runs" / "latest").symlink_to(killed.name)
    for target in ("latest", killed.name):
        result = CliRunner().invoke(app, ["run", "-q", "--resume", target, *manifest])
        assert result.exit_code == 2, result.output
        assert f"run {killed.name} has no ledger" in result.output
        assert "nothing to resume" in result.output and "Traceback" not in result.output
