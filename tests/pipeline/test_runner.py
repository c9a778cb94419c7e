"""The orchestrator: ledger, resume, --from/--only, failures (toy steps)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

from clusterfolio.enums import StepName, StepStatus
from clusterfolio.errors import DataError, PipelineError
from clusterfolio.io import atomic_write_json, read_json
from clusterfolio.manifest import ResolvedManifest, Settings
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.ledger import RunLedger
from clusterfolio.pipeline.registry import Step, StepRegistry
from clusterfolio.pipeline.runner import Orchestrator

CALLS: list[str] = []


def _first(ctx: RunContext) -> None:
    CALLS.append("cleanup")
    ctx.recorder.decide("X", "kept", "because")
    atomic_write_json(ctx.artifact("a.json"), {"top_n": ctx.settings.selection.top_n})


def _second(ctx: RunContext) -> None:
    CALLS.append("discovery")
    a = read_json(ctx.artifact("a.json"))
    ctx.recorder.counts["n"] = 1
    atomic_write_json(ctx.artifact("b.json"), {"double": a["top_n"] * 2})


def _third(ctx: RunContext) -> None:
    CALLS.append("aggregation")
    b = read_json(ctx.artifact("b.json"))
    if b["double"] == 14:
        raise DataError("bad data for symbol X")
    ctx.recorder.fallback("solver", "CLARABEL failed, SCS used")
    atomic_write_json(ctx.artifact("c.json"), {"triple": b["double"] * 3})


def registry() -> StepRegistry:
    reg = StepRegistry()
    reg.register(Step(StepName.CLEANUP, (), ("a.json",), _first, ("selection",)))
    reg.register(Step(StepName.DISCOVERY, ("a.json",), ("b.json",), _second))
    reg.register(Step(StepName.AGGREGATION, ("b.json",), ("c.json",), _third, uses_data=True))
    return reg


def orchestrator(root: Path, top_n: int = 3) -> Orchestrator:
    settings = Settings()
    settings.selection.top_n = top_n
    manifest = ResolvedManifest(profile="test", settings=settings)
    return Orchestrator(
        registry(),
        manifest,
        project_root=root,
        as_of=date(2026, 11, 20),
        provider_factory=lambda ctx: (_ for _ in ()).throw(AssertionError("no provider")),
    )


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()


def test_full_run_writes_ledger_and_latest(tmp_path: Path) -> None:
    ledger = orchestrator(tmp_path).run()
    assert ledger.status is StepStatus.COMPLETED
    run_dir = tmp_path / "data" / "runs" / ledger.run_id
    assert (tmp_path / "data" / "runs" / "latest").resolve() == run_dir
    saved = RunLedger.load(run_dir)
    assert [saved.steps[s].status for s in ("cleanup", "discovery", "aggregation")] == [
        StepStatus.COMPLETED
    ] * 3
    assert saved.steps["discovery"].counts == {"n": 1}
    assert saved.steps["aggregation"].fallbacks[0].kind == "solver"
    assert saved.steps["discovery"].inputs.keys() == {"a.json"}
    log = (run_dir / "decision_log.jsonl").read_text().splitlines()
    assert len(log) == 2 and '"kept"' in log[0]
    assert (run_dir / "run.log").read_text().count("completed") >= 3


def test_resume_skips_unchanged_and_reruns_changed(tmp_path: Path) -> None:
    first = orchestrator(tmp_path).run()
    CALLS.clear()
    orchestrator(tmp_path).run(resume=first.run_id)
    assert CALLS == []
    # a tampered artifact no longer matches the ledger: its step reruns and restores it; the
    # step after it reads the same bytes again and is reused
    run_dir = tmp_path / "data" / "runs" / first.run_id
    atomic_write_json(run_dir / "b.json", {"double": 100})
    orchestrator(tmp_path).run(resume="latest")
    assert CALLS == ["discovery"]
    assert read_json(run_dir / "c.json") == {"triple": 18}
    # a deleted output reruns its step
    CALLS.clear()
    (run_dir / "b.json").unlink()
    ledger = orchestrator(tmp_path).run(resume="latest")
    assert CALLS == ["discovery"]
    assert sorted(ledger.reused_steps) == ["aggregation", "cleanup"]
    assert ledger.status is StepStatus.COMPLETED


def test_config_change_on_resume_reruns_dependent_step(tmp_path: Path) -> None:
    first = orchestrator(tmp_path).run()
    CALLS.clear()
    orchestrator(tmp_path, top_n=4).run(resume=first.run_id)
    assert CALLS == ["cleanup", "discovery", "aggregation"]


def test_from_and_only(tmp_path: Path) -> None:
    first = orchestrator(tmp_path).run()
    CALLS.clear()
    orchestrator(tmp_path).run(resume=first.run_id, from_step="discovery")
    assert CALLS == ["discovery", "aggregation"]
    CALLS.clear()
    orchestrator(tmp_path).run(resume=first.run_id, only="discovery")
    assert CALLS == ["discovery"]
    with pytest.raises(PipelineError, match="unknown step 'nope'"):
        orchestrator(tmp_path).run(resume=first.run_id, only="nope")
    with pytest.raises(PipelineError, match="not registered yet"):
        orchestrator(tmp_path).run(resume=first.run_id, only="reporting")


def test_unknown_run_id(tmp_path: Path) -> None:
    orchestrator(tmp_path).run()
    with pytest.raises(PipelineError, match="unknown run 'x'"):
        orchestrator(tmp_path).run(resume="x")


def test_failure_is_recorded_and_raised(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="symbol X"):
        orchestrator(tmp_path, top_n=7).run()
    run_dirs = [p for p in (tmp_path / "data" / "runs").iterdir() if p.is_dir()]
    ledger = RunLedger.load(run_dirs[0])
    assert ledger.status is StepStatus.FAILED
    assert ledger.steps["aggregation"].status is StepStatus.FAILED
    assert "symbol X" in ledger.steps["aggregation"].error
    assert not (tmp_path / "data" / "runs" / "latest").exists()


def test_same_inputs_byte_identical(tmp_path: Path) -> None:
    a = orchestrator(tmp_path / "a").run()
    b = orchestrator(tmp_path / "b").run()
    for name in ("a.json", "b.json", "c.json", "decision_log.jsonl"):
        pa = tmp_path / "a" / "data" / "runs" / a.run_id / name
        pb = tmp_path / "b" / "data" / "runs" / b.run_id / name
        assert pa.read_bytes() == pb.read_bytes()


def _broken(ctx: RunContext) -> None:
    CALLS.append("aggregation")
    raise DataError("broken on the rerun")


def test_a_plain_rerun_that_fails_keeps_the_complete_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = orchestrator(tmp_path).run()
    runs = tmp_path / "data" / "runs"
    (runs / first.run_id / "c.json").unlink()  # aggregation must run again
    monkeypatch.setattr(sys.modules[__name__], "_third", _broken)
    with pytest.raises(DataError, match="broken"):
        orchestrator(tmp_path).run()
    kept = runs / f"{first.run_id}.previous"
    assert (runs / "latest").resolve() == kept
    # the copy is hard-linked: the rerun's ledger, rewritten by rename, left the copy's alone
    assert RunLedger.load(kept).status is StepStatus.COMPLETED
    assert RunLedger.load(runs / first.run_id).status is StepStatus.FAILED
    monkeypatch.undo()
    CALLS.clear()
    ledger = orchestrator(tmp_path).run()
    assert CALLS == ["aggregation"] and sorted(ledger.reused_steps) == ["cleanup", "discovery"]
    assert not kept.exists() and (runs / "latest").resolve() == runs / first.run_id
