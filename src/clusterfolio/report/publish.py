"""Publishing the golden artifacts to a private GitHub Gist through git (``make gist``).

A gist is a git repository, so publishing is a clone, a commit and a push:

1. **What**: the files of ``summaries/`` listed by its ``essential_reports.json`` (every file of
   ``summaries/`` when it has no manifest). A missing or empty ``summaries/`` is skipped with a
   message unless ``GIST_ALLOW_EMPTY=1`` (or ``publish.allow_empty``), which publishes an empty
   manifest.
2. **Gate**: the run's ``audit.json`` must exist, say ``passed: true`` with no failed check, and
   still match the run (the input hashes it recorded in ``meta.inputs``); otherwise nothing is
   published (absent or stale: run ``make audit``; failed: the failing checks are named). The manifest of
   ``summaries/`` must belong to the run being published.
3. **Where**: ``GIST_REMOTE`` (any git URL or path: a local bare repository in tests), else
   ``GIST_ID`` (``https://gist.github.com/<id>.git``), else the manifest's ``publish.remote`` /
   ``publish.gist_id``.
4. **Credentials**: ``GITHUB_TOKEN`` reaches git only through a credential helper given on the
   command line of each git call (``-c credential.helper=`` clears any configured helper, then an
   inline helper answers ``get`` with ``username=${GITHUB_USER:-x-access-token}`` and
   ``password=$GITHUB_TOKEN`` read from the environment at that moment). The token is never put
   in a URL, an argument, a file, a log line or a message; nothing is configured in the clone
   (``git -c`` applies to one command), so no helper can store it. Messages are scrubbed of the
   token anyway.
5. **Access first**: ``git ls-remote`` checks the remote and says what is wrong (access denied,
   not found, network) before anything else happens.
6. **Flat names**: a gist has no folders, so ``tearsheets/x.md`` is published as
   ``tearsheets__x.md`` (:func:`flatten`); two paths that flatten to the same name are an error.
7. **Archive, then clean up**: when the gist holds a previous run of another as-of date (read from
   its ``essential_reports.json``), its current commit is tagged ``archive/<previous as_of>`` and
   the tag is pushed *before* anything is removed (a gist that refuses tags keeps the previous
   copy in its revision history anyway: a warning says so). Then the files the previous manifest
   listed and the new one does not are removed, the new ones written, and one commit
   ``clusterfolio <as_of> (<run_id>)`` is pushed to the gist's default branch
   (``publish.branch`` for an empty remote). Files of the gist that no manifest listed are left
   alone. Publishing the same content again changes nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from clusterfolio.artifacts.reports import ESSENTIAL as MANIFEST
from clusterfolio.errors import PublishError
from clusterfolio.io import atomic_write_json, read_json
from clusterfolio.manifest import PublishSettings
from clusterfolio.report.artifacts import AUDIT_JSON, LEDGER
from clusterfolio.report.verdicts import audit_verdict

__all__ = [
    "ARCHIVE_PREFIX",
    "ENV_ALLOW_EMPTY",
    "ENV_GIST_ID",
    "ENV_GIST_REMOTE",
    "ENV_TOKEN",
    "MANIFEST",
    "PublishResult",
    "check_audit",
    "flatten",
    "publish",
    "resolve_remote",
    "summaries_files",
]

ENV_GIST_ID = "GIST_ID"
ENV_GIST_REMOTE = "GIST_REMOTE"
ENV_TOKEN = "GITHUB_TOKEN"
ENV_USER = "GITHUB_USER"
ENV_ALLOW_EMPTY = "GIST_ALLOW_EMPTY"
ARCHIVE_PREFIX = "archive/"
SEPARATOR = "__"
_TIMEOUT_S = 180
_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    'echo "username=${GITHUB_USER:-x-access-token}"; '
    'echo "password=${GITHUB_TOKEN}"; }; f'
)
_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass
class PublishResult:
    """The outcome of :func:`publish`.

    Parameters
    ----------
    status : str
        ``published`` (a commit was pushed), ``unchanged`` (the gist already held these files) or
        ``skipped`` (nothing to publish).
    message : str
        One line for people (never contains the token).
    remote : str
        The remote, with any credentials in its URL masked.
    files : list of str
        Gist file names written (flattened).
    removed : list of str
        Gist file names removed (listed by the previous manifest only).
    archived : str or None
        The archive tag created for the previous run.
    commit : str or None
        The commit pushed.
    warnings : list of str
        What did not go as planned but did not stop publishing.
    """

    status: str
    message: str
    remote: str = ""
    files: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    archived: str | None = None
    commit: str | None = None
    warnings: list[str] = field(default_factory=list)


def flatten(path: str) -> str:
    """The gist file name of a path relative to ``summaries/`` (``a/b.md`` → ``a__b.md``)."""
    parts = [p for p in Path(path).as_posix().split("/") if p and p != "."]
    if not parts or any(p == ".." for p in parts):
        raise PublishError(f"cannot publish {path!r}: not a relative path inside summaries/")
    return SEPARATOR.join(parts)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def _mask(remote: str) -> str:
    """The remote with the password part of a URL masked (for messages)."""
    try:
        parts = urlsplit(remote)
    except ValueError:
        return remote
    if parts.scheme and parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit(
            (parts.scheme, f"{parts.username}:***@{host}", parts.path, parts.query, parts.fragment)
        )
    return remote


def resolve_remote(settings: PublishSettings, environ: Mapping[str, str]) -> str:
    """The git remote of the gist (see the module docstring, point 3)."""
    remote = environ.get(ENV_GIST_REMOTE, "").strip() or settings.remote.strip()
    if remote:
        return remote
    gist_id = environ.get(ENV_GIST_ID, "").strip() or settings.gist_id.strip()
    if gist_id:
        if "/" in gist_id or not gist_id.replace("-", "").isalnum():
            raise PublishError(
                f"{ENV_GIST_ID}={gist_id!r} is not a gist id (hexadecimal, as in gist.github.com/<user>/<id>)"
            )
        return f"https://gist.github.com/{gist_id}.git"
    raise PublishError(
        f"no gist to publish to: set {ENV_GIST_ID} (the gist's id) or {ENV_GIST_REMOTE} (a git URL), "
        "or publish.gist_id / publish.remote in the manifest"
    )


def summaries_files(summaries_dir: Path) -> list[str]:
    """Relative paths to publish from ``summaries/`` (manifest first); empty when none.

    Raises
    ------
    PublishError
        When the manifest lists a file that ``summaries/`` lacks.
    """
    folder = Path(summaries_dir)
    if not folder.is_dir():
        return []
    manifest = folder / MANIFEST
    if manifest.is_file():
        doc = read_json(manifest)
        listed = [str(f) for f in doc.get("files", [])]
        home = folder.resolve()
        away = [f for f in listed if not (folder / f).resolve().is_relative_to(home)]
        if away:
            raise PublishError(
                f"{manifest} lists paths outside {folder} (absolute, '..' or a symlink leading "
                f"out): {away}; only files inside summaries/ are published"
            )
        missing = [f for f in listed if not (folder / f).is_file()]
        if missing:
            raise PublishError(f"{manifest} lists files absent from {folder}: {missing}")
        return [MANIFEST, *[f for f in listed if f != MANIFEST]]
    home = folder.resolve()
    found = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    away = [f for f in found if not (folder / f).resolve().is_relative_to(home)]
    if away:
        raise PublishError(f"{folder} holds symlinks leading outside it: {away}; not publishing")
    return found


def check_audit(run_dir: Path) -> None:
    """Refuse a run whose audit is absent or failed (:class:`~clusterfolio.errors.PublishError`)."""
    path = Path(run_dir) / AUDIT_JSON
    if not path.is_file():
        raise PublishError(
            f"not publishing run {Path(run_dir).name}: no {AUDIT_JSON} in it. Run `make audit` "
            "first (never publish or implement a portfolio whose audit has not passed)."
        )
    verdict = audit_verdict(read_json(path), Path(run_dir))
    if verdict.stale:
        raise PublishError(
            f"not publishing run {Path(run_dir).name}: its {AUDIT_JSON} is stale "
            f"({', '.join(verdict.stale)} changed since the audit). Run `make audit` again."
        )
    if not verdict.passed:
        failed = "; ".join(verdict.failed_checks) or "audit.json says passed is not true"
        raise PublishError(
            f"not publishing run {Path(run_dir).name}: its audit FAILED ({failed}). "
            "Fix the portfolio, rerun `make audit`, then publish."
        )


class _Git:
    """Runs git with the credential helper on every call; scrubs the token from messages."""

    def __init__(self, environ: Mapping[str, str], git: str) -> None:
        self.token = environ.get(ENV_TOKEN, "")
        env = {k: v for k, v in environ.items() if k not in ("GIT_ASKPASS", "SSH_ASKPASS")}
        env["GIT_TERMINAL_PROMPT"] = "0"
        self.env = env
        self.git = shutil.which(git, path=env.get("PATH")) or git

    def scrub(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text

    def args(self, *args: str) -> list[str]:
        config = ["-c", "credential.helper=", "-c", "core.askPass="]
        if self.token:
            config += ["-c", f"credential.helper={_HELPER}"]
        return [self.git, *config, *args]

    def run(
        self, *args: str, cwd: Path | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        try:
            done = subprocess.run(
                self.args(*args),
                cwd=cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=_TIMEOUT_S,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except FileNotFoundError as exc:
            raise PublishError("git is not installed (publishing goes through git)") from exc
        except subprocess.TimeoutExpired as exc:
            raise PublishError(f"git {args[0]} timed out after {_TIMEOUT_S}s") from exc
        if check and done.returncode != 0:
            detail = self.scrub((done.stderr or done.stdout).strip())
            raise PublishError(f"git {args[0]} failed: {detail}")
        return done


def _diagnose(stderr: str, remote: str, has_token: bool) -> str:
    text = stderr.lower()
    if any(
        s in text
        for s in (
            "could not read username",
            "authentication failed",
            "invalid username",
            "terminal prompts disabled",
            "403",
            "permission denied",
            "access denied",
        )
    ):
        why = "access denied"
        hint = (
            f"check {ENV_TOKEN}: a token with the gist scope, of the gist's owner"
            if has_token
            else f"{ENV_TOKEN} is not set (a token with the gist scope is needed for a private gist)"
        )
    elif any(
        s in text
        for s in (
            "not found",
            "does not appear to be a git repository",
            "no such file",
            "does not exist",
        )
    ):
        why = "not found"
        hint = (
            f"check {ENV_GIST_ID} / {ENV_GIST_REMOTE} (and that the token's owner can see the gist)"
        )
    elif any(
        s in text
        for s in (
            "could not resolve host",
            "unable to access",
            "connection",
            "timed out",
            "network",
        )
    ):
        why = "unreachable"
        hint = "check the network and the remote's host name"
    else:
        why = "git ls-remote failed"
        hint = "see git's message"
    return f"cannot publish to {_mask(remote)}: {why}; {hint}. git said: {stderr.strip() or '(nothing)'}"


def _remote_refs(git: _Git, remote: str) -> tuple[str | None, set[str]]:
    """Check access; return the remote's default branch (None when empty) and its refs."""
    done = git.run("ls-remote", "--symref", remote, check=False)
    if done.returncode != 0:
        raise PublishError(git.scrub(_diagnose(done.stderr, remote, bool(git.token))))
    head: str | None = None
    refs: set[str] = set()
    for line in done.stdout.splitlines():
        if line.startswith("ref: ") and line.endswith("\tHEAD"):
            target = line[len("ref: ") :].split("\t", 1)[0]
            head = target.removeprefix("refs/heads/")
        elif "\t" in line:
            refs.add(line.split("\t", 1)[1])
    if head is None:
        branches = sorted(
            r.removeprefix("refs/heads/") for r in refs if r.startswith("refs/heads/")
        )
        head = branches[0] if branches else None
    return head, refs


def _run_identity(run_dir: Path, summaries: list[str], summaries_dir: Path) -> tuple[str, str]:
    ledger_path = Path(run_dir) / LEDGER
    ledger: dict[str, Any] = read_json(ledger_path) if ledger_path.is_file() else {}
    run_id = str(ledger.get("run_id", Path(run_dir).name))
    as_of = str(ledger.get("as_of", ""))
    if MANIFEST in summaries:
        doc = read_json(Path(summaries_dir) / MANIFEST)
        theirs = str(doc.get("run_id", ""))
        if theirs and theirs != run_id:
            raise PublishError(
                f"summaries/ holds the reports of run {theirs}, not of run {run_id}: run "
                f"`clusterfolio report --run {run_id}` first"
            )
        as_of = as_of or str(doc.get("as_of", ""))
        if (Path(run_dir) / AUDIT_JSON).is_file() and AUDIT_JSON not in doc.get("files", []):
            raise PublishError(
                f"summaries/ was rendered before the audit of run {run_id} (it has no "
                f"{AUDIT_JSON}): run `clusterfolio report --run {run_id}` (make report) first"
            )
    return run_id, as_of


def publish(
    summaries_dir: Path,
    run_dir: Path,
    *,
    settings: PublishSettings | None = None,
    environ: Mapping[str, str] | None = None,
    workdir: Path | None = None,
    git: str = "git",
) -> PublishResult:
    """Publish ``summaries/`` to the gist (see the module docstring).

    Parameters
    ----------
    summaries_dir : Path
        The summaries folder of the latest reports.
    run_dir : Path
        The run they come from (its audit is checked).
    settings : PublishSettings, optional
        ``publish`` section of the manifest.
    environ : mapping, optional
        Environment (``os.environ`` when omitted): ``GIST_ID``, ``GIST_REMOTE``,
        ``GITHUB_TOKEN``, ``GITHUB_USER``, ``GIST_ALLOW_EMPTY``, plus ``PATH`` for git.
    workdir : Path, optional
        Where to clone (an empty or absent folder, kept afterwards); a temporary folder removed
        afterwards when omitted.
    git : str
        The git executable.

    Returns
    -------
    PublishResult

    Raises
    ------
    PublishError
        No remote, no access, audit absent or failed, summaries of another run, git failure.
    """
    env = dict(os.environ if environ is None else environ)
    settings = settings or PublishSettings()
    allow_empty = settings.allow_empty or _truthy(env.get(ENV_ALLOW_EMPTY))
    files = summaries_files(summaries_dir)
    if not files and not allow_empty:
        return PublishResult(
            status="skipped",
            message=(
                f"{summaries_dir} is missing or empty: nothing to publish (run `make report` "
                f"first, or set {ENV_ALLOW_EMPTY}=1 to publish an empty set)"
            ),
        )
    check_audit(run_dir)
    run_id, as_of = _run_identity(run_dir, files, summaries_dir)
    names = {f: flatten(f) for f in files}
    clashes = sorted({n for n in names.values() if list(names.values()).count(n) > 1})
    if clashes:
        raise PublishError(f"several summaries flatten to the same gist file name: {clashes}")
    remote = resolve_remote(settings, env)
    runner = _Git(env, git)
    head, refs = _remote_refs(runner, remote)
    branch = head or settings.branch
    cleanup: tempfile.TemporaryDirectory[str] | None = None
    if workdir is None:
        cleanup = tempfile.TemporaryDirectory(prefix="clusterfolio-gist-")
        clone = Path(cleanup.name) / "gist"
    else:
        clone = Path(workdir)
        if clone.exists() and any(clone.iterdir()):
            raise PublishError(f"{clone} is not empty: give an empty folder to clone the gist into")
    try:
        return _publish_into(
            runner,
            remote,
            clone,
            branch,
            head is not None,
            refs,
            summaries_dir,
            files,
            names,
            run_id,
            as_of,
        )
    finally:
        if cleanup is not None:
            cleanup.cleanup()


def _previous_manifest(clone: Path, result: PublishResult) -> dict[str, Any]:
    """The gist's manifest before this publish ({} when absent or unreadable, with a warning)."""
    if not (clone / MANIFEST).is_file():
        return {}
    try:
        previous: dict[str, Any] = read_json(clone / MANIFEST)
    except Exception:  # a foreign or broken manifest: manage nothing of it
        result.warnings.append(f"the gist's {MANIFEST} is unreadable: its files are left alone")
        return {}
    return previous


def _archive(git: _Git, clone: Path, tag: str, refs: set[str], result: PublishResult) -> None:
    """Tag the gist's previous run as ``tag`` and push the tag (a refusal is a warning)."""
    if f"refs/tags/{tag}" in refs:
        result.warnings.append(f"archive tag {tag} already exists on the gist: kept as it is")
        return
    git.run("tag", tag, "HEAD", cwd=clone)
    pushed = git.run("push", "--quiet", "origin", f"refs/tags/{tag}", cwd=clone, check=False)
    if pushed.returncode == 0:
        result.archived = tag
    else:
        result.warnings.append(
            f"the gist refused the archive tag {tag} ({git.scrub(pushed.stderr.strip())}); the "
            "previous run stays in the gist's revision history"
        )


def _replace_files(
    clone: Path,
    previous: dict[str, Any],
    summaries_dir: Path,
    names: dict[str, str],
    run_id: str,
    as_of: str,
    result: PublishResult,
) -> set[str]:
    """Remove the files the previous run published, copy this run's in; the names it holds.

    A summaries folder without a manifest gets one written, noting why.
    """
    managed = {flatten(str(f)) for f in previous.get("files", []) if isinstance(f, str)}
    managed.add(MANIFEST)
    new_names = set(names.values()) | {MANIFEST}
    for name in sorted(managed - new_names):
        path = clone / name
        if path.is_file():
            path.unlink()
            result.removed.append(name)
    for rel, name in names.items():
        (clone / name).write_bytes((Path(summaries_dir) / rel).read_bytes())
    if MANIFEST not in names:
        note = (
            "summaries/ had no manifest: every file of it was published"
            if names
            else f"published empty ({ENV_ALLOW_EMPTY})"
        )
        atomic_write_json(
            clone / MANIFEST,
            {"run_id": run_id, "as_of": as_of, "files": list(names), "absent": [], "note": note},
        )
    return new_names


def _publish_into(
    git: _Git,
    remote: str,
    clone: Path,
    branch: str,
    has_history: bool,
    refs: set[str],
    summaries_dir: Path,
    files: list[str],
    names: dict[str, str],
    run_id: str,
    as_of: str,
) -> PublishResult:
    result = PublishResult(status="unchanged", message="", remote=_mask(remote))
    if has_history:
        git.run("clone", "--quiet", "--branch", branch, remote, str(clone))
    else:
        git.run("clone", "--quiet", remote, str(clone))
        git.run("symbolic-ref", "HEAD", f"refs/heads/{branch}", cwd=clone)
    previous = _previous_manifest(clone, result)
    previous_as_of = str(previous.get("as_of", ""))
    if has_history and previous_as_of and previous_as_of != as_of:
        _archive(git, clone, f"{ARCHIVE_PREFIX}{previous_as_of}", refs, result)
    new_names = _replace_files(clone, previous, summaries_dir, names, run_id, as_of, result)
    result.files = sorted(new_names)
    git.run("add", "--all", ".", cwd=clone)
    status = git.run("status", "--porcelain", cwd=clone).stdout.strip()
    if not status:
        result.message = f"the gist {result.remote} already holds run {run_id}: nothing to push"
        return result
    git.run(
        "-c",
        "user.name=clusterfolio",
        "-c",
        "user.email=clusterfolio@users.noreply.github.com",
        "-c",
        "commit.gpgsign=false",
        "commit",
        "--quiet",
        "-m",
        f"clusterfolio {as_of} ({run_id})",
        cwd=clone,
    )
    git.run("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=clone)
    result.commit = git.run("rev-parse", "HEAD", cwd=clone).stdout.strip()
    result.status = "published"
    archived = f"; previous run archived as tag {result.archived}" if result.archived else ""
    result.message = (
        f"published run {run_id} to {result.remote}: {len(names)} files"
        f"{f', {len(result.removed)} removed' if result.removed else ''}{archived}"
    )
    return result
