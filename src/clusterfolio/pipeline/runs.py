"""Run folders: ``latest``, derived runs, and keeping a complete run until its rerun completes.

- ``latest`` only ever names a complete production run (:func:`refresh_latest`): a run that
  fails, is stale or is an experiment never becomes ``latest``; when the run it named stops
  being complete, it moves to the newest complete one (or disappears).
- A staged command with other settings than its run's (``TOP_N=2``, a subset of engines) works
  in a *derived run* ``<run_id>+<label>`` (:func:`derive_run`): a copy of the run whose ledger
  names the production run it came from; the production run's artifacts are never touched.
- A fresh rerun (``--fresh``) of a complete run first moves it aside to ``<run_id>.previous``
  (``latest`` follows it) and deletes it only once the new run completed (:func:`set_aside`,
  :func:`drop_previous`). A plain rerun works in the run's own folder, reusing the steps whose
  inputs did not change; it first keeps a hard-linked copy as ``<run_id>.previous``
  (:func:`keep_copy`: no bytes copied, the artifacts are replaced by rename, never rewritten in
  place), deleted once the rerun completed.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from clusterfolio.artifacts.ledger import RUN_LOG
from clusterfolio.enums import StepStatus
from clusterfolio.errors import PipelineError
from clusterfolio.io import canonical_json, sha256_text
from clusterfolio.pipeline.ledger import LEDGER_NAME, RunLedger

__all__ = [
    "LATEST",
    "PREVIOUS_SUFFIX",
    "derive_label",
    "derive_run",
    "drop_previous",
    "keep_copy",
    "point_latest",
    "refresh_latest",
    "resolve_run_dir",
    "set_aside",
]

LATEST = "latest"
PREVIOUS_SUFFIX = ".previous"
DERIVED_SEP = "+"
_MAX_LABEL = 48
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def resolve_run_dir(runs_dir: Path, run_id: str) -> Path:
    """Return the folder of ``run_id`` (``latest`` follows the pointer)."""
    path = runs_dir / run_id
    if run_id == LATEST:
        if not path.exists():
            raise PipelineError(
                f"no complete run yet: {path} does not exist (run `clusterfolio run` first)"
            )
        return path.resolve()
    if not (path / LEDGER_NAME).exists():
        known = sorted(p.name for p in runs_dir.glob("*") if (p / LEDGER_NAME).exists())
        if path.is_dir():
            RunLedger.load(path)  # raises: the run has no ledger
        raise PipelineError(f"unknown run {run_id!r} in {runs_dir}; runs: {known}")
    return path


def point_latest(runs_dir: Path, run_dir: Path) -> None:
    """Atomically point ``runs_dir/latest`` at ``run_dir``."""
    link = runs_dir / LATEST
    tmp = runs_dir / f".{LATEST}.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run_dir.name)
    os.replace(tmp, link)


def _status(run_dir: Path) -> tuple[StepStatus, str, str]:
    """``(status, finished_at, derived_from)`` of a run folder (``PENDING`` when unreadable)."""
    try:
        ledger = RunLedger.load(run_dir)
    except PipelineError:
        return StepStatus.PENDING, "", ""
    status = StepStatus.STALE if ledger.stale_steps else ledger.status
    return status, ledger.finished_at, ledger.derived_from


def is_complete_production(run_dir: Path) -> bool:
    """Whether ``run_dir`` is a complete, up-to-date run that is not an experiment."""
    status, _, derived = _status(run_dir)
    return status is StepStatus.COMPLETED and not derived


def refresh_latest(runs_dir: Path) -> Path | None:
    """Make ``latest`` name a complete production run: keep it, move it, or remove it.

    Returns
    -------
    Path or None
        The run ``latest`` names now.
    """
    link = runs_dir / LATEST
    if link.is_symlink() and link.exists() and is_complete_production(link.resolve()):
        return link.resolve()
    candidates = [
        (_status(p)[1], p.name, p)
        for p in runs_dir.iterdir()
        if p.is_dir() and not p.is_symlink() and is_complete_production(p)
    ]
    if not candidates:
        link.unlink(missing_ok=True)
        return None
    newest = max(candidates)[2]
    point_latest(runs_dir, newest)
    return newest


def set_aside(runs_dir: Path, run_dir: Path) -> Path | None:
    """Before a rerun of ``run_dir``: move a complete run aside (``latest`` follows it).

    An incomplete folder (failed, killed) is emptied instead. Returns the folder set aside.
    """
    if not run_dir.exists():
        return None
    if not is_complete_production(run_dir):
        _clear(run_dir)
        return None
    previous = run_dir.with_name(run_dir.name + PREVIOUS_SUFFIX)
    if previous.exists():
        shutil.rmtree(previous)
    os.replace(run_dir, previous)
    return _latest_follows(runs_dir, run_dir, previous)


def _link_or_copy(src: str, dst: str) -> None:
    """Hard-link ``src`` (copy the run log, which is appended in place, or across devices)."""
    if Path(src).name != RUN_LOG:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass
    shutil.copy2(src, dst)


def keep_copy(runs_dir: Path, run_dir: Path) -> Path | None:
    """Before a rerun that works in ``run_dir`` itself: keep a complete run as ``.previous``.

    The copy is hard-linked (every artifact and the ledger are written to a temporary file and
    renamed, so the rerun never changes the copy's bytes); ``latest`` follows it until the rerun
    completes (:func:`drop_previous`). An incomplete run is left as it is (nothing to keep).

    Returns
    -------
    Path or None
        The copy (``None`` when the run is not a complete production run).
    """
    if not is_complete_production(run_dir):
        return None
    previous = run_dir.with_name(run_dir.name + PREVIOUS_SUFFIX)
    tmp = runs_dir / f".{previous.name}.tmp"
    for path in (previous, tmp):
        if path.exists():
            shutil.rmtree(path)
    shutil.copytree(run_dir, tmp, symlinks=True, copy_function=_link_or_copy)
    os.replace(tmp, previous)
    return _latest_follows(runs_dir, run_dir, previous)


def _latest_follows(runs_dir: Path, run_dir: Path, previous: Path) -> Path:
    """Point ``latest`` at ``previous`` when it named ``run_dir``; return ``previous``."""
    link = runs_dir / LATEST
    if link.is_symlink() and Path(os.readlink(link)).name == run_dir.name:
        point_latest(runs_dir, previous)
    return previous


def drop_previous(runs_dir: Path, run_dir: Path) -> None:
    """After ``run_dir`` completed: delete the copy set aside before it started."""
    previous = run_dir.with_name(run_dir.name + PREVIOUS_SUFFIX)
    if previous.is_dir():
        shutil.rmtree(previous)


def _clear(run_dir: Path) -> None:
    for child in run_dir.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    else:
        out[prefix] = value


def derive_label(base: dict[str, Any], new: dict[str, Any]) -> str:
    """A short, file-safe label naming the settings that differ (``top_n-2``).

    Leaves are named by their last key; a label longer than 48 characters is replaced by a
    hash of the differences.
    """
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    _flatten("", base, a)
    _flatten("", new, b)
    changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    if not changed:
        return "same"
    parts = []
    for key in changed:
        value = b.get(key)
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{key.rsplit('.', 1)[-1]}-{text}")
    label = _UNSAFE.sub("_", "_".join(parts)).strip("._")
    if len(label) > _MAX_LABEL or not label:
        digest = sha256_text(canonical_json({k: b.get(k) for k in changed}))[:10]
        label = f"{changed[0].rsplit('.', 1)[-1]}-etc-{digest}"
    return label


def derive_run(
    runs_dir: Path, base_dir: Path, base: RunLedger, settings: dict[str, Any], config_hash: str
) -> tuple[Path, RunLedger, bool]:
    """The derived run of ``base`` for ``settings``: reused when it exists, else a copy.

    Returns
    -------
    tuple
        ``(run_dir, ledger, created)``; the ledger carries the new settings and
        ``derived_from``. The production run is only read.
    """
    production = base.derived_from or base.run_id
    origin_dir = runs_dir / production if base.derived_from else base_dir
    origin = RunLedger.load(origin_dir) if base.derived_from else base
    label = derive_label(origin.settings, settings)
    run_id = f"{production}{DERIVED_SEP}{label}"
    run_dir = runs_dir / run_id
    if (run_dir / LEDGER_NAME).is_file():
        ledger = RunLedger.load(run_dir)
        if ledger.config_hash == config_hash:
            return run_dir, ledger, False
        shutil.rmtree(run_dir)
    elif run_dir.exists():
        shutil.rmtree(run_dir)
    tmp = runs_dir / f".{run_id}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(origin_dir, tmp, symlinks=True)
    ledger = RunLedger.load(tmp)
    ledger.run_id = run_id
    ledger.derived_from = production
    ledger.settings = settings
    ledger.config_hash = config_hash
    ledger.save(tmp)
    os.replace(tmp, run_dir)
    return run_dir, ledger, True
