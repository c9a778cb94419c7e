"""Step 13, reporting: declared artifacts, the ledger, resume, and summaries/ outside the run."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from clusterfolio.enums import StepName, StepStatus
from clusterfolio.manifest import ResolvedManifest, Settings
from clusterfolio.pipeline.ledger import RunLedger
from clusterfolio.pipeline.registry import StepRegistry
from clusterfolio.pipeline.runner import Orchestrator
from clusterfolio.pipeline.steps import reporting
from clusterfolio.report import artifacts as A
from clusterfolio.report.build import ALWAYS_WRITTEN, ESSENTIAL
from tests.fakes.sample_run import make_sample_run


def test_declared_artifacts() -> None:
    step = reporting.STEP
    assert step.name is StepName.REPORTING
    assert step.writes == ALWAYS_WRITTEN
    for name in (A.PORTFOLIO, A.CLUSTERS, A.REGIME, A.HEALTH_JSON, A.RETURNS):
        assert name in step.reads
    assert A.TOURNAMENT_SUMMARY in step.optional_reads and A.AUDIT_JSON in step.optional_reads
    assert not set(step.reads) & set(step.optional_reads)
    assert A.DECISION_LOG not in step.reads + step.optional_reads


def _orchestrator(root: Path) -> Orchestrator:
    registry = StepRegistry()
    registry.register(reporting.STEP)
    settings = Settings()
    return Orchestrator(
        registry,
        ResolvedManifest(profile="test", settings=settings),
        project_root=root,
        as_of=date(2026, 11, 20),
        provider_factory=lambda ctx: pytest.fail("the reporting step needs no provider"),
    )


class _PassingAudit:
    passed = True

    def failure_summary(self) -> str:
        return ""


def _keep_sample_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sample run's portfolio is for rendering, not a valid one: keep its audit.json."""
    monkeypatch.setattr("clusterfolio.audit.gate.audit_run", lambda inputs: _PassingAudit())
    monkeypatch.setattr("clusterfolio.audit.gate.drift_run", lambda inputs, **kw: None)


def test_failed_audit_fails_the_step_after_the_reports(tmp_path: Path) -> None:
    from clusterfolio.errors import AuditError

    orchestrator = _orchestrator(tmp_path)
    run_dir = orchestrator.runs_dir / orchestrator.run_id
    make_sample_run(run_dir, tournament=False)
    ledger = RunLedger.load(run_dir)
    ledger.run_id = orchestrator.run_id
    ledger.save(run_dir)
    portfolio = json.loads((run_dir / A.PORTFOLIO).read_text())
    hrp = portfolio["profiles"]["hrp"]["assets"]  # one asset far over every cap
    hrp[0]["gross"] = hrp[0]["net"] = 0.9 if hrp[0]["net"] >= 0 else -0.9
    (run_dir / A.PORTFOLIO).write_text(json.dumps(portfolio))
    with pytest.raises(AuditError, match="audit failed"):
        orchestrator.run(only="reporting")
    assert json.loads((run_dir / A.AUDIT_JSON).read_text())["passed"] is False
    assert "Audit: FAILED" in (run_dir / "portfolio_report.md").read_text()
    assert RunLedger.load(run_dir).steps["reporting"].status is StepStatus.FAILED
    assert not (orchestrator.runs_dir / "latest").exists()


def test_step_in_the_orchestrator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("clusterfolio.report.tearsheet.quantstats_available", lambda: False)
    _keep_sample_audit(monkeypatch)
    orchestrator = _orchestrator(tmp_path)
    run_dir = orchestrator.runs_dir / orchestrator.run_id
    make_sample_run(run_dir)
    ledger = RunLedger.load(run_dir)
    ledger.run_id = orchestrator.run_id
    ledger.save(run_dir)
    done = orchestrator.run(only="reporting")
    record = done.steps["reporting"]
    assert record.status is StepStatus.COMPLETED
    assert set(record.outputs) == set(ALWAYS_WRITTEN)
    assert record.counts["golden"] == 33 and record.counts["golden_absent"] == 0
    summaries = tmp_path / "summaries"
    manifest = json.loads((summaries / ESSENTIAL).read_text())
    assert manifest["run_id"] == orchestrator.run_id
    for name in manifest["files"]:
        assert (summaries / name).read_bytes() == (run_dir / name).read_bytes(), name
    decisions = (run_dir / "decisions").glob("*reporting.jsonl")
    assert any("summaries" in p.read_text() for p in decisions)
    resumed = _orchestrator(tmp_path).run(resume=orchestrator.run_id)
    assert resumed.steps["reporting"].resumed, "unchanged inputs: the step is skipped on resume"
    (run_dir / A.AUDIT_JSON).write_text(json.dumps({"passed": False, "checks": []}))
    rerun = _orchestrator(tmp_path).run(resume=orchestrator.run_id)
    assert not rerun.steps["reporting"].resumed, "a new optional input reruns the step"
    assert "Audit: FAILED" in (summaries / "portfolio_report.md").read_text()


def test_step_says_what_is_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _keep_sample_audit(monkeypatch)
    orchestrator = _orchestrator(tmp_path)
    run_dir = orchestrator.runs_dir / orchestrator.run_id
    make_sample_run(run_dir, tournament=False, audit=False, selection=False)
    ledger = RunLedger.load(run_dir)
    ledger.run_id = orchestrator.run_id
    ledger.save(run_dir)
    record = orchestrator.run(only="reporting").steps["reporting"]
    assert record.status is StepStatus.COMPLETED
    assert record.counts["golden_absent"] > 0
    log = (run_dir / "decisions").glob("*reporting.jsonl")
    text = "".join(p.read_text() for p in log)
    assert "not available in this run" in text and "tournament_summary.json" in text
    assert not (tmp_path / "summaries" / "tearsheets").exists()


@pytest.mark.slow
def test_full_pipeline_with_reporting(tmp_path: Path, repo_root: Path) -> None:
    """The registered Golden Path on the development profile, then the reports (about a minute)."""
    from clusterfolio.manifest import load
    from clusterfolio.pipeline.context import default_provider
    from clusterfolio.pipeline.steps import build_registry

    registry = build_registry()
    if StepName.REPORTING.value not in registry.names():
        registry.register(reporting.STEP)
    manifest = load(repo_root / "configs" / "manifest.json", "development", [])
    orchestrator = Orchestrator(
        registry,
        manifest,
        project_root=tmp_path,
        as_of=date(2026, 11, 20),
        provider_factory=default_provider,
        config_root=repo_root,
    )
    ledger = orchestrator.run()
    assert ledger.status is StepStatus.COMPLETED
    run_dir = tmp_path / "data" / "runs" / ledger.run_id
    portfolio = json.loads((run_dir / A.PORTFOLIO).read_text())
    report = (tmp_path / "summaries" / "portfolio_report.md").read_text()
    hrp = portfolio["profiles"]["hrp"]
    assert f"gross exposure: {hrp['gross_exposure'] * 100:.2f}%" in report
    golden = json.loads((tmp_path / "summaries" / ESSENTIAL).read_text())["files"]
    for name in golden:
        assert (tmp_path / "summaries" / name).read_bytes() == (run_dir / name).read_bytes()
