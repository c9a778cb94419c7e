"""The atomic replacement of summaries/."""

from __future__ import annotations

from pathlib import Path

import pytest

from clusterfolio.report import summaries
from clusterfolio.report.summaries import replace_dir, sync_summaries


def _source(tmp_path: Path, version: str) -> Path:
    src = tmp_path / f"run-{version}"
    (src / "tearsheets").mkdir(parents=True)
    (src / "a.md").write_text(f"a {version}")
    (src / "tearsheets" / "x.md").write_text(f"x {version}")
    (src / "ignored.md").write_text("not listed")
    return src


@pytest.mark.parametrize("exchange", [True, False])
def test_sync_replaces_the_whole_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    if not exchange:
        monkeypatch.setattr(summaries, "_exchange", lambda a, b: False)
    target = tmp_path / "summaries"
    copied = sync_summaries(_source(tmp_path, "1"), ["a.md", "tearsheets/x.md"], target)
    assert copied == ["a.md", "tearsheets/x.md"]
    (target / "stale.md").write_text("from an older run")
    sync_summaries(_source(tmp_path, "2"), ["a.md", "tearsheets/x.md"], target)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == [
        "a.md",
        "tearsheets/x.md",
    ]
    assert (target / "a.md").read_text() == "a 2"
    assert not list(tmp_path.glob(".summaries.*")), "no staging or old folder is left behind"


def test_a_failed_copy_leaves_the_previous_summaries(tmp_path: Path) -> None:
    target = tmp_path / "summaries"
    sync_summaries(_source(tmp_path, "1"), ["a.md"], target)
    with pytest.raises(FileNotFoundError):
        sync_summaries(_source(tmp_path, "2"), ["a.md", "missing.md"], target)
    assert (target / "a.md").read_text() == "a 1"
    assert not list(tmp_path.glob(".summaries.*"))


def test_leftovers_of_a_crash_are_removed(tmp_path: Path) -> None:
    (tmp_path / ".summaries.old-abc").mkdir()
    sync_summaries(_source(tmp_path, "1"), ["a.md"], tmp_path / "summaries")
    assert not (tmp_path / ".summaries.old-abc").exists()


def test_replace_dir_creates_the_target(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "f").write_text("1")
    replace_dir(staging, tmp_path / "new")
    assert (tmp_path / "new" / "f").read_text() == "1"
    assert not staging.exists()
