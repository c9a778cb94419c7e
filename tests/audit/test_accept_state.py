"""Accepted state: refusal of failed audits, dated backups, and the audit verdict of a run."""

from __future__ import annotations

import json
from pathlib import Path

import audit_factory as af
import pytest

from clusterfolio.artifacts.state import ACCEPTED_STATE_FILE as STATE_FILE
from clusterfolio.audit.gate import (
    AUDIT_JSON,
    AUDIT_MD,
    accept_run,
    current_verdict,
    drift_run,
    load_run_inputs,
    run_settings,
)
from clusterfolio.audit.state import (
    accept,
    backups,
    held_weights,
    load_state,
)
from clusterfolio.errors import AuditError, ConfigError, DataError, PipelineError
from clusterfolio.io import atomic_write_json


def _portfolio(as_of: str) -> dict:
    doc = af.portfolio()
    doc["as_of"] = as_of
    return doc


def test_accept_refuses_a_failed_audit(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="failed its audit"):
        accept(tmp_path, af.portfolio(), profile="hrp", run_id="r1", audit_passed=False)
    assert load_state(tmp_path) is None
    assert not (tmp_path / STATE_FILE).exists()


def test_accept_snapshots_net_and_gross(tmp_path: Path) -> None:
    doc = af.with_profile(
        af.portfolio(),
        "hrp",
        af.section(af.equal_weights(), directions={"NASDAQ:C1A0": "SHORT"}),
    )
    path = accept(tmp_path, doc, profile="hrp", run_id="r1", audit_passed=True)
    state = json.loads(path.read_text())
    assert state["profile"] == "hrp" and state["run_id"] == "r1"
    assert state["weights"]["NASDAQ:C1A0"] == pytest.approx(-1 / 16)
    assert state["gross_weights"]["NASDAQ:C1A0"] == pytest.approx(1 / 16)
    assert held_weights(tmp_path) == pytest.approx(state["weights"])


def test_second_accept_keeps_a_dated_backup(tmp_path: Path) -> None:
    accept(tmp_path, _portfolio("2026-11-13"), profile="hrp", run_id="r1", audit_passed=True)
    first = (tmp_path / STATE_FILE).read_bytes()
    assert backups(tmp_path) == []
    accept(tmp_path, _portfolio("2026-11-20"), profile="barbell", run_id="r2", audit_passed=True)
    backup = tmp_path / "portfolio_actual_state.2026-11-13.json"
    assert backups(tmp_path) == [backup]
    assert backup.read_bytes() == first
    assert (load_state(tmp_path) or {}).get("run_id") == "r2"
    # a third accept whose previous state has the same date does not overwrite that backup
    second = (tmp_path / STATE_FILE).read_bytes()
    accept(tmp_path, _portfolio("2026-11-20"), profile="hrp", run_id="r3", audit_passed=True)
    accept(tmp_path, _portfolio("2026-11-20"), profile="hrp", run_id="r4", audit_passed=True)
    names = [p.name for p in backups(tmp_path)]
    assert names == [
        "portfolio_actual_state.2026-11-13.json",
        "portfolio_actual_state.2026-11-20.2.json",
        "portfolio_actual_state.2026-11-20.json",
    ]
    assert (tmp_path / "portfolio_actual_state.2026-11-20.json").read_bytes() == second
    assert not list(tmp_path.glob(".*.tmp"))


def test_accept_rejects_unknown_profile_and_bad_weights(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not in the portfolio"):
        accept(tmp_path, af.portfolio(), profile="nope", run_id="r", audit_passed=True)
    doc = af.portfolio()
    doc["profiles"]["hrp"]["assets"][0]["net"] = float("nan")
    with pytest.raises(DataError, match="non-finite"):
        accept(tmp_path, doc, profile="hrp", run_id="r", audit_passed=True)


# --------------------------------------------------------------------------------------------
# the run-level gate
# --------------------------------------------------------------------------------------------


def _failing_portfolio() -> dict:
    doc = af.portfolio()
    doc["profiles"]["min_variance"]["assets"][0]["gross"] = 0.5
    return doc


def test_accept_run_refuses_a_failed_audit(tmp_path: Path) -> None:
    run_dir = af.write_run(tmp_path, _failing_portfolio())
    lake = tmp_path / "lake"
    with pytest.raises(AuditError) as info:
        accept_run(load_run_inputs(run_dir), lakehouse_root=lake, profile="hrp")
    message = str(info.value)
    assert "must not be accepted" in message
    assert "min_variance/weights_sum" in message and "min_variance/asset_cap" in message
    assert load_state(lake) is None
    # the audit ran because audit.json was absent, and recorded the failure
    audit = json.loads((run_dir / AUDIT_JSON).read_text())
    assert audit["passed"] is False
    assert (run_dir / AUDIT_MD).exists()


def test_accept_run_defaults_to_the_accepted_profile(tmp_path: Path) -> None:
    run_dir = af.write_run(tmp_path)
    outcome = accept_run(load_run_inputs(run_dir), lakehouse_root=tmp_path / "lake")
    assert outcome.profile == "hrp"  # run.accepted_profile
    assert outcome.backup is None
    assert not outcome.verdict.reused
    state = load_state(tmp_path / "lake")
    assert state is not None
    assert state["audit"]["passed"] is True
    assert state["audit"]["inputs"]["portfolio_optimized.json"]
    again = accept_run(
        load_run_inputs(run_dir), lakehouse_root=tmp_path / "lake", profile="barbell"
    )
    assert again.verdict.reused
    assert again.backup == tmp_path / "lake" / "portfolio_actual_state.2026-11-20.json"


def test_stale_audit_is_not_reused(tmp_path: Path) -> None:
    run_dir = af.write_run(tmp_path)
    assert current_verdict(load_run_inputs(run_dir)).passed
    assert current_verdict(load_run_inputs(run_dir)).reused
    # the portfolio changed after the audit: audit.json no longer gates it
    atomic_write_json(run_dir / "portfolio_optimized.json", _failing_portfolio())
    verdict = current_verdict(load_run_inputs(run_dir))
    assert not verdict.reused and not verdict.passed
    # different settings (overrides) are a different verdict too
    verdict = current_verdict(load_run_inputs(run_dir, overrides=["risk.asset_cap=0.6"]))
    assert not verdict.reused


def test_a_forged_pass_is_not_trusted(tmp_path: Path) -> None:
    run_dir = af.write_run(tmp_path, _failing_portfolio())
    atomic_write_json(run_dir / AUDIT_JSON, {"passed": True, "checks": [], "meta": {}})
    with pytest.raises(AuditError):
        accept_run(load_run_inputs(run_dir), lakehouse_root=tmp_path / "lake")


def test_run_settings_come_from_the_ledger(tmp_path: Path) -> None:
    run_dir = af.write_run(tmp_path, settings_doc=af.settings(asset_cap=0.07))
    settings, source = run_settings(run_dir)
    assert settings.risk.asset_cap == 0.07 and source == "run_manifest.json"
    settings, _ = run_settings(run_dir, overrides=["risk.asset_cap=0.2"])
    assert settings.risk.asset_cap == 0.2
    with pytest.raises(ConfigError):
        run_settings(run_dir, overrides=["risk.nope=1"])
    (run_dir / "run_manifest.json").unlink()
    with pytest.raises(PipelineError, match="no settings"):
        run_settings(run_dir)
    _, source = run_settings(run_dir, fallback=af.settings())
    assert source == "manifest"


def test_missing_portfolio_is_a_pipeline_error(tmp_path: Path) -> None:
    run_dir = af.write_run(tmp_path)
    (run_dir / "portfolio_optimized.json").unlink()
    with pytest.raises(PipelineError, match="optimisation step has not run"):
        load_run_inputs(run_dir)


def test_drift_run_writes_orders_only_when_implementable(tmp_path: Path) -> None:
    run_dir = af.write_run(tmp_path)
    outcome = drift_run(load_run_inputs(run_dir), lakehouse_root=tmp_path / "lake")
    assert outcome.implementable
    assert (run_dir / "orders.csv").exists()
    assert outcome.report.meta["profile"] == "hrp"
    assert not outcome.report.has_state
    atomic_write_json(run_dir / "portfolio_optimized.json", _failing_portfolio())
    outcome = drift_run(load_run_inputs(run_dir), lakehouse_root=tmp_path / "lake")
    assert not outcome.implementable
    assert not (run_dir / "orders.csv").exists()
    data = json.loads((run_dir / "drift.json").read_text())
    assert data["meta"]["implementable"] is False
    assert "do not implement" in (run_dir / "drift.md").read_text()
