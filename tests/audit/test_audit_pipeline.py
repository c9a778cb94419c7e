"""End to end on the real pipeline (tiny synthetic market): audit, drift, accept-state, drift."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from clusterfolio.cli_audit import register

TINY = [
    "data.synthetic.n_equities=11",
    "data.synthetic.n_etfs=4",
    "data.synthetic.n_crypto_coins=2",
    "data.synthetic.n_forex=2",
    "data.lookback_days=80",
    "data.light_lookback_days=30",
    "backtest.train=40",
    "backtest.realized_target=20",
]


@pytest.mark.slow
def test_gate_on_a_real_run(tmp_path: Path, repo_root: Path) -> None:
    manifest = str(repo_root / "configs" / "manifest.json")
    args = [sys.executable, "-m", "clusterfolio.cli", "run", "-q", "--as-of", "2026-11-20"]
    args += ["--root", str(tmp_path), "--manifest", manifest, "--profile", "development"]
    for item in TINY:
        args += ["--set", item]
    env = {**os.environ, "PYTHONPATH": str(repo_root / "src")}
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    app = typer.Typer(add_completion=False)

    @app.callback()
    def main() -> None:
        """Test application."""

    register(app)
    runner = CliRunner()
    common = ["--root", str(tmp_path), "--manifest", manifest]
    audit = runner.invoke(app, ["audit", *common])
    assert audit.exit_code == 0, audit.output
    run_dir = (tmp_path / "data" / "runs" / "latest").resolve()
    report = json.loads((run_dir / "audit.json").read_text())
    assert report["passed"] and report["counts"]["fail"] == 0
    assert {c["profile"] for c in report["checks"]} >= {"hrp", "barbell", "market"}

    first = runner.invoke(app, ["drift", *common])
    assert first.exit_code == 0, first.output
    assert "no accepted state" in first.output
    assert runner.invoke(app, ["accept-state", *common]).exit_code == 0
    again = runner.invoke(app, ["drift", *common])
    assert again.exit_code == 0, again.output
    drift = json.loads((run_dir / "drift.json").read_text())
    assert drift["has_state"] is True
    assert drift["summary"]["churn"] == pytest.approx(0.0, abs=1e-12)
