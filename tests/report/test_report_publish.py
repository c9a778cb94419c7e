"""Publishing to a gist, tested against a local bare repository (no network)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from clusterfolio.errors import PublishError
from clusterfolio.manifest import PublishSettings
from clusterfolio.report.publish import (
    _HELPER,
    ENV_TOKEN,
    _mask,
    flatten,
    publish,
    resolve_remote,
    summaries_files,
)

TOKEN = "ghp_TESTSECRET_0123456789abcdef"


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def make_run(root: Path, as_of: str, *, audit: bool | None = True) -> Path:
    run = root / "runs" / f"{as_of}_test"
    run.mkdir(parents=True)
    (run / "run_manifest.json").write_text(json.dumps({"run_id": run.name, "as_of": as_of}))
    if audit is not None:
        checks = [
            {
                "name": "cluster_caps",
                "passed": audit,
                "message": "ok" if audit else "cluster 3 at 31%",
            }
        ]
        (run / "audit.json").write_text(json.dumps({"passed": audit, "checks": checks}))
    return run


def make_summaries(root: Path, run: Path, files: dict[str, str]) -> Path:
    folder = root / "summaries"
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    ledger = json.loads((run / "run_manifest.json").read_text())
    listed = ["essential_reports.json", *files]
    if (run / "audit.json").is_file():
        (folder / "audit.json").write_bytes((run / "audit.json").read_bytes())
        listed.append("audit.json")
    manifest = {
        "run_id": ledger["run_id"],
        "as_of": ledger["as_of"],
        "files": listed,
    }
    (folder / "essential_reports.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    path = tmp_path / "gist.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(path))
    return path


def env_for(bare: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIST_", "GITHUB_"))}
    env.update({"GIST_REMOTE": str(bare), ENV_TOKEN: TOKEN, **extra})
    return env


def tree(bare: Path, ref: str = "main") -> list[str]:
    return sorted(git("--git-dir", str(bare), "ls-tree", "--name-only", ref).split())


FILES = {
    "portfolio_report.md": "# report\n",
    "tearsheets/custom_hrp_realized.md": "# tear sheet\n",
    "clustermap.png": "png",
}


def test_publish_pushes_flat_names(tmp_path: Path, bare: Path) -> None:
    run = make_run(tmp_path, "2026-11-20")
    summaries = make_summaries(tmp_path, run, FILES)
    result = publish(summaries, run, environ=env_for(bare))
    assert result.status == "published"
    assert tree(bare) == sorted(
        [
            "audit.json",
            "essential_reports.json",
            "portfolio_report.md",
            "tearsheets__custom_hrp_realized.md",
            "clustermap.png",
        ]
    )
    shown = git("--git-dir", str(bare), "show", "main:tearsheets__custom_hrp_realized.md")
    assert shown == "# tear sheet\n"
    assert "clusterfolio 2026-11-20" in git(
        "--git-dir", str(bare), "log", "-1", "--format=%s", "main"
    )
    again = publish(summaries, run, environ=env_for(bare))
    assert again.status == "unchanged"
    assert len(git("--git-dir", str(bare), "rev-list", "main").split()) == 1


def test_the_token_never_lands_anywhere(
    tmp_path: Path, bare: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run = make_run(tmp_path, "2026-11-20")
    summaries = make_summaries(tmp_path, run, FILES)
    clone = tmp_path / "clone"
    result = publish(summaries, run, environ=env_for(bare), workdir=clone)
    assert result.status == "published"
    out, err = capfd.readouterr()
    assert TOKEN not in out + err + repr(result)
    for folder in (run, clone, bare, summaries):
        for path in folder.rglob("*"):
            if path.is_file():
                assert TOKEN.encode() not in path.read_bytes(), path
    config = (clone / ".git" / "config").read_text()
    assert "credential" not in config and "helper" not in config


def test_the_helper_hands_the_token_to_git_from_the_environment(tmp_path: Path) -> None:
    env = {**os.environ, ENV_TOKEN: TOKEN, "GIT_TERMINAL_PROMPT": "0"}
    done = subprocess.run(
        [
            "git",
            "-c",
            "credential.helper=",
            "-c",
            f"credential.helper={_HELPER}",
            "credential",
            "fill",
        ],
        input="protocol=https\nhost=gist.github.com\n\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    assert f"password={TOKEN}" in done.stdout
    assert "username=x-access-token" in done.stdout
    assert TOKEN not in _HELPER


def test_no_audit_or_a_failed_audit_is_refused(tmp_path: Path, bare: Path) -> None:
    run = make_run(tmp_path, "2026-11-20", audit=None)
    summaries = make_summaries(tmp_path, run, FILES)
    with pytest.raises(PublishError, match="make audit"):
        publish(summaries, run, environ=env_for(bare))
    failed = make_run(tmp_path / "b", "2026-11-20", audit=False)
    summaries = make_summaries(tmp_path / "b", failed, FILES)
    with pytest.raises(PublishError, match=r"FAILED.*cluster_caps: cluster 3 at 31%"):
        publish(summaries, failed, environ=env_for(bare))
    assert git("--git-dir", str(bare), "for-each-ref").strip() == ""


def test_empty_summaries_are_skipped_unless_allowed(tmp_path: Path, bare: Path) -> None:
    run = make_run(tmp_path, "2026-11-20")
    skipped = publish(tmp_path / "summaries", run, environ=env_for(bare))
    assert skipped.status == "skipped"
    assert "GIST_ALLOW_EMPTY=1" in skipped.message
    (tmp_path / "summaries").mkdir()
    assert publish(tmp_path / "summaries", run, environ=env_for(bare)).status == "skipped"
    allowed = publish(tmp_path / "summaries", run, environ=env_for(bare, GIST_ALLOW_EMPTY="1"))
    assert allowed.status == "published"
    assert tree(bare) == ["essential_reports.json"]


def test_the_previous_run_is_archived_before_cleanup(tmp_path: Path, bare: Path) -> None:
    first = make_run(tmp_path, "2026-11-19")
    publish(make_summaries(tmp_path, first, FILES), first, environ=env_for(bare))
    old_commit = git("--git-dir", str(bare), "rev-parse", "main").strip()
    # someone adds a file of their own to the gist: it is never touched
    work = tmp_path / "manual"
    git("clone", "--quiet", str(bare), str(work))
    (work / "README.md").write_text("notes\n")
    git("add", "README.md", cwd=work)
    git("commit", "--quiet", "-m", "notes", cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    before_second = git("--git-dir", str(bare), "rev-parse", "main").strip()
    second = make_run(tmp_path / "2", "2026-11-20")
    kept = {k: v for k, v in FILES.items() if k != "clustermap.png"}
    result = publish(make_summaries(tmp_path / "2", second, kept), second, environ=env_for(bare))
    assert result.archived == "archive/2026-11-19"
    assert result.removed == ["clustermap.png"]
    assert (
        git("--git-dir", str(bare), "rev-parse", "archive/2026-11-19^{commit}").strip()
        == before_second
    )
    assert "clustermap.png" in tree(bare, "archive/2026-11-19")
    assert tree(bare) == sorted(
        [
            "README.md",
            "audit.json",
            "essential_reports.json",
            "portfolio_report.md",
            "tearsheets__custom_hrp_realized.md",
        ]
    )
    assert old_commit in git("--git-dir", str(bare), "rev-list", "main")


def test_summaries_of_another_run_are_refused(tmp_path: Path, bare: Path) -> None:
    run = make_run(tmp_path, "2026-11-20")
    other = make_run(tmp_path / "o", "2026-11-21")
    summaries = make_summaries(tmp_path, other, FILES)
    with pytest.raises(PublishError, match="not of run 2026-11-20_test"):
        publish(summaries, run, environ=env_for(bare))


def test_access_problems_are_explained(tmp_path: Path) -> None:
    run = make_run(tmp_path, "2026-11-20")
    summaries = make_summaries(tmp_path, run, FILES)
    env = env_for(tmp_path / "no-such-gist.git")
    with pytest.raises(PublishError, match="not found; check GIST_ID / GIST_REMOTE") as info:
        publish(summaries, run, environ=env)
    assert TOKEN not in str(info.value)
    env.pop("GIST_REMOTE")
    with pytest.raises(PublishError, match="set GIST_ID"):
        publish(summaries, run, environ=env)


def test_names_remotes_and_listing(tmp_path: Path) -> None:
    assert flatten("tearsheets/custom_hrp_realized.md") == "tearsheets__custom_hrp_realized.md"
    assert flatten("portfolio_report.md") == "portfolio_report.md"
    with pytest.raises(PublishError):
        flatten("../secret")
    settings = PublishSettings()
    assert resolve_remote(settings, {"GIST_ID": "e888e1eab0b86447c90c26e92ec4dc36"}) == (
        "https://gist.github.com/e888e1eab0b86447c90c26e92ec4dc36.git"
    )
    assert resolve_remote(settings, {"GIST_ID": "abc", "GIST_REMOTE": "/x.git"}) == "/x.git"
    assert (
        resolve_remote(PublishSettings(gist_id="abc123"), {})
        == "https://gist.github.com/abc123.git"
    )
    with pytest.raises(PublishError, match="not a gist id"):
        resolve_remote(settings, {"GIST_ID": "https://evil/x"})
    assert (
        _mask("https://me:secret@gist.github.com/x.git") == "https://me:***@gist.github.com/x.git"
    )
    folder = tmp_path / "s"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_text("a")
    (folder / "sub" / "b.md").write_text("b")
    (folder / ".hidden").write_text("h")
    assert summaries_files(folder) == ["a.md", "sub/b.md"]
    (folder / "essential_reports.json").write_text(json.dumps({"files": ["a.md", "gone.md"]}))
    with pytest.raises(PublishError, match=r"gone\.md"):
        summaries_files(folder)


def test_two_paths_with_one_flat_name_are_refused(tmp_path: Path, bare: Path) -> None:
    run = make_run(tmp_path, "2026-11-20")
    summaries = make_summaries(tmp_path, run, {"a/b.md": "1", "a__b.md": "2"})
    with pytest.raises(PublishError, match="same gist file name"):
        publish(summaries, run, environ=env_for(bare))


def test_a_stale_audit_is_refused(tmp_path: Path, bare: Path) -> None:
    from clusterfolio.io import sha256_file

    run = make_run(tmp_path, "2026-11-20")
    (run / "portfolio_optimized.json").write_text("{}")
    doc = json.loads((run / "audit.json").read_text())
    doc["meta"] = {
        "inputs": {"portfolio_optimized.json": sha256_file(run / "portfolio_optimized.json")}
    }
    (run / "audit.json").write_text(json.dumps(doc))
    summaries = make_summaries(tmp_path, run, FILES)
    assert publish(summaries, run, environ=env_for(bare)).status == "published"
    (run / "portfolio_optimized.json").write_text('{"changed": true}')
    with pytest.raises(PublishError, match=r"stale \(portfolio_optimized\.json changed"):
        publish(summaries, run, environ=env_for(bare))


def test_summaries_rendered_before_the_audit_are_refused(tmp_path: Path, bare: Path) -> None:
    run = make_run(tmp_path, "2026-11-20", audit=None)
    summaries = make_summaries(tmp_path, run, FILES)
    (run / "audit.json").write_text(json.dumps({"passed": True, "checks": []}))
    with pytest.raises(PublishError, match="rendered before the audit"):
        publish(summaries, run, environ=env_for(bare))
