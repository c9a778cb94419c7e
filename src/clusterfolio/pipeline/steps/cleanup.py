"""Step 1, cleanup: wipe the previous run's portfolio artifacts, keep the cache and the state.

The daily run keeps the candle cache (``<lakehouse>/<source namespace>/*_1d.parquet``) and the
last implemented portfolio (``portfolio_actual_state.json`` and its dated backups), removes the
other ``<lakehouse>/portfolio_*`` artifacts, and prunes run folders beyond ``run.retention``
(complete runs and the others counted apart; the run ``latest`` points at, the newest complete
run, the accepted run and the current run are always kept). The full reset is
:func:`full_reset` (``clusterfolio clean --full``, ``make clean-run``): paths inside the project
only, the accepted state first copied to ``data/state_archive/<UTC time>/``.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from clusterfolio.artifacts.ledger import CLEANUP as ARTIFACT
from clusterfolio.artifacts.state import ACCEPTED_STATE_BACKUP_PREFIX, ACCEPTED_STATE_FILE
from clusterfolio.enums import StepName
from clusterfolio.errors import PipelineError
from clusterfolio.io import atomic_write_json
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.ledger import LEDGER_NAME
from clusterfolio.pipeline.registry import External, Step

#: Where ``clean --full`` keeps a dated copy of the accepted state (under the project root).
STATE_ARCHIVE = "data/state_archive"


def _is_kept(path: Path) -> bool:
    return path.name == ACCEPTED_STATE_FILE or path.name.startswith(ACCEPTED_STATE_BACKUP_PREFIX)


def _prune(runs: list[Path], keep: int, protect: set[str]) -> list[str]:
    removed = []
    excess = len(runs) - keep
    for path in runs:  # oldest first
        if excess <= 0:
            break
        if path.name in protect:
            continue
        shutil.rmtree(path)
        removed.append(path.name)
        excess -= 1
    return removed


def prune_runs(runs_dir: Path, *, keep: int, protect: set[str]) -> list[str]:
    """Delete the oldest run folders beyond ``keep`` (by ledger mtime, then folder name).

    Complete production runs and the others (failed, killed, stale, derived) are counted
    separately, ``keep`` of each; the newest complete run is never deleted.

    Parameters
    ----------
    runs_dir : Path
        Folder of run folders.
    keep : int
        How many runs of each kind to keep.
    protect : set of str
        Run ids never deleted (the current run, the ``latest`` target, the accepted run).

    Returns
    -------
    list of str
        Removed run ids.
    """
    from clusterfolio.pipeline.runs import is_complete_production

    if not runs_dir.is_dir():
        return []
    runs = sorted(
        (
            p
            for p in runs_dir.iterdir()
            if p.is_dir() and not p.is_symlink() and (p / LEDGER_NAME).exists()
        ),
        key=lambda p: ((p / LEDGER_NAME).stat().st_mtime, p.name),
    )
    complete = [p for p in runs if is_complete_production(p)]
    others = [p for p in runs if p not in complete]
    guard = set(protect) | ({complete[-1].name} if complete else set())
    return sorted(_prune(complete, keep, guard) + _prune(others, keep, guard))


def accepted_run(lakehouse: Path) -> str:
    """The run id the accepted state came from (``""`` when none or unreadable)."""
    path = lakehouse / ACCEPTED_STATE_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(doc.get("run_id", "")) if isinstance(doc, dict) else ""


def run(ctx: RunContext) -> None:
    """Remove stale portfolio artifacts and prune old runs."""
    lake = ctx.lakehouse_root
    removed = []
    if lake.is_dir():
        for path in sorted(lake.glob("portfolio_*")):
            if path.is_file() and not _is_kept(path):
                path.unlink()
                removed.append(path.name)
                ctx.recorder.decide(path.name, "removed", "previous run's portfolio artifact")
    runs_dir = ctx.resolve_path(ctx.settings.run.runs_dir)
    latest = runs_dir / "latest"
    protect = {ctx.run_id, accepted_run(lake)} - {""}
    if latest.is_symlink():
        protect.add(Path(latest.readlink()).name)
    pruned = prune_runs(runs_dir, keep=ctx.settings.run.retention, protect=protect)
    for run_id in pruned:
        ctx.recorder.decide(run_id, "pruned", f"beyond retention {ctx.settings.run.retention}")
    legacy = sorted(lake.glob("*_1d.parquet")) if lake.is_dir() else []
    if legacy:
        ctx.recorder.warn(
            f"{len(legacy)} candle files of unknown source lie directly in {lake} (written before "
            f"each source had its own namespace): no run reads them; the source {ctx.source.namespace} "
            "fetches its own. They are kept as they are: delete them when no longer wanted"
        )
    kept_state = (lake / ACCEPTED_STATE_FILE).exists()
    ctx.recorder.counts.update(
        {"removed": len(removed), "runs_pruned": len(pruned), "state_kept": int(kept_state)}
    )
    atomic_write_json(
        ctx.artifact(ARTIFACT),
        {"removed": removed, "runs_pruned": pruned, "accepted_state_kept": kept_state},
    )


def inside_project(base: Path, value: str | Path, key: str) -> Path:
    """Resolve a configured path (symlinks followed) and refuse one outside the project.

    Raises
    ------
    PipelineError
        The path is the project itself or resolves outside it (the message names the key).
    """
    path = Path(value)
    real = (path if path.is_absolute() else base / path).resolve()
    if real == base or not real.is_relative_to(base):
        raise PipelineError(
            f"{key}={str(value)!r} resolves to {real}, outside the project {base}: refusing to "
            "touch it (configure a folder inside the project)"
        )
    return real


def archive_state(base: Path, lakehouse: Path, *, avoid: tuple[Path, ...]) -> Path | None:
    """Copy the accepted state and its backups to ``data/state_archive/<UTC time>/``.

    Returns
    -------
    Path or None
        The archive folder (``None`` when there is no accepted state to keep).

    Raises
    ------
    PipelineError
        The archive folder would lie inside a folder about to be removed.
    """
    kept = sorted(p for p in lakehouse.glob("portfolio_actual_state*.json") if p.is_file())
    if not kept:
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = base / STATE_ARCHIVE / stamp
    if any(folder.is_relative_to(p) for p in avoid):
        raise PipelineError(f"{folder} lies in a folder clean removes: not archiving there")
    folder.mkdir(parents=True, exist_ok=True)
    for path in kept:
        shutil.copy2(path, folder / path.name)
    return folder


def full_reset(project_root: Path, *paths: Path) -> list[str]:
    """Remove ``paths`` (the blank slate of ``clean-run``: cache, accepted state, runs, summaries).

    Every path must lie inside ``project_root`` (checked again here, symlinks followed).
    """
    base = project_root.resolve()
    removed = []
    for path in paths:
        real = inside_project(base, path, "path")
        if real.exists():
            shutil.rmtree(real)
            removed.append(str(real.relative_to(base)))
    return removed


STEP = Step(
    name=StepName.CLEANUP,
    reads=(),
    writes=(ARTIFACT,),
    external_reads=(External.MANIFEST,),
    run=run,
    config_sections=("run",),
    description="Wipe previous portfolio artifacts; keep the candle cache and accepted state.",
)
