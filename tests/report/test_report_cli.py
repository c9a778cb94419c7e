"""The report, display and publish commands attached to a Typer app."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from clusterfolio.cli_report import register
from tests.fakes.sample_run import SampleRun


@pytest.fixture
def project(tmp_path: Path, sample_template: SampleRun, repo_root: Path) -> Path:
    root = tmp_path / "project"
    (root / "configs").mkdir(parents=True)
    shutil.copy(repo_root / "configs" / "manifest.json", root / "configs" / "manifest.json")
    runs = root / "data" / "runs"
    runs.mkdir(parents=True)
    shutil.copytree(sample_template.run_dir, runs / sample_template.run_id)
    (runs / "latest").symlink_to(sample_template.run_id)
    return root


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_register_adds_three_commands() -> None:
    names = {c.name for c in _app().registered_commands}
    assert names == {"report", "display", "publish"}


def test_report_then_publish(
    project: Path, sample_template: SampleRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    app = _app()
    for name in ("GIST_ID", "GIST_REMOTE", "GITHUB_TOKEN", "GIST_ALLOW_EMPTY"):
        monkeypatch.delenv(name, raising=False)
    # keep the test fast: importing QuantStats takes seconds (its path is tested on its own)
    monkeypatch.setattr("clusterfolio.report.tearsheet.quantstats_available", lambda: False)
    skipped = runner.invoke(app, ["publish", "--root", str(project)])
    assert skipped.exit_code == 0, skipped.output
    assert "missing or empty" in skipped.output
    done = runner.invoke(app, ["report", "--root", str(project), "--set", "tournament.n_jobs=1"])
    assert done.exit_code == 0, done.output
    summaries = project / "summaries"
    manifest = json.loads((summaries / "essential_reports.json").read_text())
    assert manifest["run_id"] == sample_template.run_id
    assert (summaries / "tearsheets" / "custom_hrp_realized.md").is_file()
    quiet = runner.invoke(app, ["publish", "--root", str(project), "--if-enabled"])
    assert quiet.exit_code == 0 and "skipped" in quiet.output
    bare = tmp_path / "gist.git"
    subprocess.run(
        ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(bare)], check=True
    )
    monkeypatch.setenv("GIST_REMOTE", str(bare))
    pushed = runner.invoke(app, ["publish", "--root", str(project), "--if-enabled"])
    assert pushed.exit_code == 0, pushed.output
    assert f"published run {sample_template.run_id}" in pushed.output
    files = subprocess.run(
        ["git", "--git-dir", str(bare), "ls-tree", "--name-only", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(files) == len(manifest["files"]) == 33  # report.html included
    assert "tearsheets__custom_hrp_realized.md" in files


def test_errors_exit_with_a_message(project: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(_app(), ["report", "--root", str(project), "--run", "nope"])
    assert result.exit_code == 2
    assert "unknown run 'nope'" in result.output
