"""The command line: start-up cost, listing, configuration errors, the runbook shim."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from clusterfolio.cli import app

runner = CliRunner()
HEAVY = (
    "cvxpy",
    "skfolio",
    "riskfolio",
    "pypfopt",
    "cvxportfolio",
    "quantstats",
    "ray",
    "textual",
    "matplotlib",
    "exchange_calendars",
)


def test_help_imports_no_heavy_engine(repo_root: Path) -> None:
    code = (
        "import sys; from clusterfolio.cli import app; "
        "from clusterfolio.pipeline.steps import build_registry; build_registry(); "
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo_root
    ).stdout.strip()
    assert out == "[]"


def test_steps_lists_all_thirteen() -> None:
    result = runner.invoke(app, ["steps"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 13
    assert lines[0].split()[1] == "cleanup" and lines[-1].split()[1] == "reporting"


def test_config_check_and_show(repo_root: Path) -> None:
    result = runner.invoke(app, ["config", "check", "--root", str(repo_root)])
    assert result.exit_code == 0, result.output
    assert "production_v2_canary" in result.output
    shown = runner.invoke(
        app, ["config", "show", "--root", str(repo_root), "--set", "selection.top_n=5"]
    )
    assert shown.exit_code == 0 and '"top_n": 5' in shown.output


def test_unknown_profile_is_a_clear_error(repo_root: Path) -> None:
    result = runner.invoke(app, ["config", "show", "--root", str(repo_root), "-p", "prod"])
    assert result.exit_code == 2
    assert "unknown profile 'prod'" in result.output


def test_bad_override_is_a_clear_error(repo_root: Path) -> None:
    result = runner.invoke(
        app, ["config", "show", "--root", str(repo_root), "--set", "selection.top_nn=5"]
    )
    assert result.exit_code == 2
    assert "top_nn" in result.output and "top_n" in result.output


def test_run_unknown_step_is_a_clear_error(repo_root: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "run",
            "-q",
            "--root",
            str(tmp_path),
            "--manifest",
            str(repo_root / "configs" / "manifest.json"),
            "--only",
            "nope",
        ],
    )
    assert result.exit_code == 2
    assert "unknown step 'nope'" in result.output


def test_runbook_shim_forwards_to_run(repo_root: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "scripts.run_production_pipeline", "--help"],
        capture_output=True,
        text=True,
        cwd=repo_root,
        check=True,
    ).stdout
    assert "--profile" in out and "--resume" in out
