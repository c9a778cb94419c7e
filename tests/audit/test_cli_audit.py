"""The ``audit``, ``accept-state`` and ``drift`` commands on run directories built in tmp_path."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import audit_factory as af
import pytest
import typer
from typer.testing import CliRunner, Result

from clusterfolio.cli_audit import register

Invoke = Callable[..., Result]


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @application.callback()
    def main() -> None:
        """Test application."""

    register(application)
    return application


@pytest.fixture
def invoke(app: typer.Typer, repo_root: Path, tmp_path: Path) -> Invoke:
    runner = CliRunner()

    def call(*args: str) -> Result:
        base = ["--root", str(tmp_path), "--manifest", str(repo_root / "configs/manifest.json")]
        return runner.invoke(app, [*args, *base])

    return call


def _failing() -> dict:
    doc = af.portfolio()
    doc["profiles"]["hrp"] = af.section(
        {**{s: 0.8 / 14 for s in af.SYMBOLS[2:]}, "NASDAQ:C1A0": 0.2}
    )
    return doc


def test_commands_are_registered(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("audit", "accept-state", "drift"):
        assert name in result.output


def test_audit_passes_and_writes_reports(invoke: Invoke, tmp_path: Path) -> None:
    run_dir = af.write_run(tmp_path)
    result = invoke("audit")
    assert result.exit_code == 0, result.output
    assert "audit passed" in result.output
    data = json.loads((run_dir / "audit.json").read_text())
    assert data["passed"] is True
    assert data["meta"]["run_id"] == af.RUN_ID
    assert data["meta"]["settings_source"] == "run_manifest.json"
    assert (run_dir / "audit.md").read_text().startswith("# Portfolio audit: PASSED")


def test_audit_failure_exits_one_and_lists_the_checks(invoke: Invoke, tmp_path: Path) -> None:
    run_dir = af.write_run(tmp_path, _failing())
    result = invoke("audit", "--run", "latest")
    assert result.exit_code == 1
    assert "audit FAILED" in result.output
    assert "hrp/asset_cap" in result.output
    assert "do not implement" in result.output
    assert json.loads((run_dir / "audit.json").read_text())["passed"] is False


def test_audit_overrides_apply_to_the_run_settings(invoke: Invoke, tmp_path: Path) -> None:
    af.write_run(tmp_path)
    result = invoke("audit", "--set", "risk.asset_cap=0.05")
    assert result.exit_code == 1
    assert "asset_cap" in result.output


def test_audit_of_a_run_by_id_and_by_path(invoke: Invoke, tmp_path: Path) -> None:
    run_dir = af.write_run(tmp_path)
    assert invoke("audit", "--run", af.RUN_ID).exit_code == 0
    assert invoke("audit", "--run", str(run_dir)).exit_code == 0


def test_unknown_run_is_an_error(invoke: Invoke, tmp_path: Path) -> None:
    af.write_run(tmp_path)
    result = invoke("audit", "--run", "no-such-run")
    assert result.exit_code == 2
    assert "unknown run" in result.output


def test_accept_state_refuses_a_failed_audit(invoke: Invoke, tmp_path: Path) -> None:
    af.write_run(tmp_path, _failing())
    result = invoke("accept-state")
    assert result.exit_code == 1
    assert "accept-state refused" in result.output
    assert "hrp/asset_cap" in result.output
    assert not (tmp_path / "data/lakehouse/portfolio_actual_state.json").exists()


def test_accept_state_then_backup_on_the_second(invoke: Invoke, tmp_path: Path) -> None:
    af.write_run(tmp_path)
    lake = tmp_path / "data" / "lakehouse"
    first = invoke("accept-state")
    assert first.exit_code == 0, first.output
    assert "accepted hrp" in first.output
    state = json.loads((lake / "portfolio_actual_state.json").read_text())
    assert state["profile"] == "hrp"
    second = invoke("accept-state", "--profile", "barbell")
    assert second.exit_code == 0, second.output
    assert "previous state kept as" in second.output
    assert (lake / "portfolio_actual_state.2026-11-20.json").exists()
    assert json.loads((lake / "portfolio_actual_state.json").read_text())["profile"] == "barbell"


def test_accept_state_unknown_profile(invoke: Invoke, tmp_path: Path) -> None:
    af.write_run(tmp_path)
    result = invoke("accept-state", "--profile", "nope")
    assert result.exit_code == 2
    assert "not in the portfolio" in result.output


def test_drift_without_state_then_with_state(invoke: Invoke, tmp_path: Path) -> None:
    run_dir = af.write_run(tmp_path)
    result = invoke("drift")
    assert result.exit_code == 0, result.output
    assert "no accepted state" in result.output
    rows = list(csv.DictReader(io.StringIO((run_dir / "orders.csv").read_text())))
    assert rows[-1]["symbol"] == "CASH"  # the residual cash after rounding closes the list
    rows = rows[:-1]
    assert len(rows) == len(af.SYMBOLS)
    assert {r["side"] for r in rows} == {"BUY"}
    assert invoke("accept-state", "--profile", "barbell").exit_code == 0
    result = invoke("drift", "--profile", "hrp", "--set", "features.feat_partial_rebalance=true")
    assert result.exit_code == 0, result.output
    assert "dust skipped" in result.output
    data = json.loads((run_dir / "drift.json").read_text())
    assert data["has_state"] is True
    assert data["partial_rebalance"] is True
    assert data["meta"]["state_profile"] == "barbell"
    assert data["summary"]["churn"] == pytest.approx(
        sum(abs(x["delta"]) for x in data["lines"]) / 2
    )


def test_drift_of_a_failed_run_writes_no_orders(invoke: Invoke, tmp_path: Path) -> None:
    run_dir = af.write_run(tmp_path, _failing())
    result = invoke("drift")
    assert result.exit_code == 1
    assert "no orders written" in result.output
    assert not (run_dir / "orders.csv").exists()
    assert (run_dir / "drift.json").exists()
