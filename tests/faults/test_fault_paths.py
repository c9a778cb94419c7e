"""Fault: clean and publish reaching outside the project; clean-run losing the accepted state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from faultkit import fingerprint
from typer.testing import CliRunner

from clusterfolio.cli import app
from clusterfolio.errors import PublishError
from clusterfolio.report.publish import MANIFEST, summaries_files


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "data" / "runs").mkdir(parents=True)
    return root


def _clean(project: Path, repo_root: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    manifest = str(repo_root / "configs/manifest.json")
    return CliRunner().invoke(
        app, ["clean", *args, "--root", str(project), "--manifest", manifest], env=env
    )


def test_clean_refuses_a_configured_path_outside_the_project(
    project: Path, repo_root: Path
) -> None:
    victim = project.parent / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    before = fingerprint(victim)
    result = _clean(project, repo_root, env={"CLUSTERFOLIO__RUN__SUMMARIES_DIR": "../victim"})
    assert result.exit_code == 2
    assert f"run.summaries_dir='../victim' resolves to {victim}, outside the project" in (
        result.output
    )
    assert fingerprint(victim) == before and (project / "data" / "runs").exists()


def test_clean_follows_symlinks_before_deciding(project: Path, repo_root: Path) -> None:
    victim = project.parent / "elsewhere"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    (project / "summaries").symlink_to(victim)  # summaries/ leads out of the project
    result = _clean(project, repo_root, "--yes")
    assert result.exit_code == 2 and "outside the project" in result.output
    assert (victim / "precious.txt").read_text() == "keep me"


def test_clean_run_keeps_a_dated_copy_of_the_accepted_state(project: Path, repo_root: Path) -> None:
    lake = project / "data" / "lakehouse"
    lake.mkdir()
    (lake / "portfolio_actual_state.json").write_text(json.dumps({"run_id": "R1"}))
    (lake / "portfolio_actual_state.2026-11-19.json").write_text(json.dumps({"run_id": "R0"}))
    (lake / "synthetic-0123").mkdir()
    before = {k: v for k, v in fingerprint(lake).items() if k.startswith("portfolio_")}
    result = _clean(project, repo_root, "--full", "--yes")
    assert result.exit_code == 0, result.output
    assert not lake.exists()
    (archive,) = (project / "data" / "state_archive").iterdir()
    assert f"accepted state kept in {archive}" in result.output
    assert fingerprint(archive) == before


def test_publish_refuses_paths_outside_summaries(tmp_path: Path) -> None:
    summaries = tmp_path / "summaries"
    summaries.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("token")
    for listed in (str(secret), "../secret.txt"):
        (summaries / MANIFEST).write_text(json.dumps({"files": [listed]}))
        with pytest.raises(PublishError, match="lists paths outside") as info:
            summaries_files(summaries)
        assert listed in str(info.value)
    (summaries / MANIFEST).unlink()
    (summaries / "report.md").symlink_to(secret)
    with pytest.raises(PublishError, match=r"symlinks leading outside it: \['report\.md'\]"):
        summaries_files(summaries)
