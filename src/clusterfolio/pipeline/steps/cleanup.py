"""Step 1, cleanup: wipe the previous run's portfolio artifacts, keep the cache and the state.

The daily run keeps the candle cache (``<lakehouse>/*_1d.parquet``) and the last implemented
portfolio (``portfolio_actual_state.json`` and its dated backups), removes the other
``<lakehouse>/portfolio_*`` artifacts, and prunes run folders beyond ``run.retention`` (the run
``latest`` points at and the current run are always kept). The full reset is
:func:`full_reset` (``clusterfolio clean --full``, ``make clean-run``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from clusterfolio.enums import StepName
from clusterfolio.io import atomic_write_json
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.ledger import LEDGER_NAME
from clusterfolio.pipeline.registry import Step

ARTIFACT = "cleanup.json"
STATE_FILE = "portfolio_actual_state.json"
STATE_BACKUP_PREFIX = "portfolio_actual_state."


def _is_kept(path: Path) -> bool:
    return path.name == STATE_FILE or path.name.startswith(STATE_BACKUP_PREFIX)


def prune_runs(runs_dir: Path, *, keep: int, protect: set[str]) -> list[str]:
    """Delete the oldest run folders beyond ``keep`` (by folder name order, then mtime).

    Parameters
    ----------
    runs_dir : Path
        Folder of run folders.
    keep : int
        How many runs to keep.
    protect : set of str
        Run ids never deleted (the current run, the ``latest`` target).

    Returns
    -------
    list of str
        Removed run ids.
    """
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
    removed = []
    excess = len(runs) - keep
    for path in runs:
        if excess <= 0:
            break
        if path.name in protect:
            continue
        shutil.rmtree(path)
        removed.append(path.name)
        excess -= 1
    return sorted(removed)


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
    protect = {ctx.run_id}
    if latest.is_symlink():
        protect.add(Path(latest.readlink()).name)
    pruned = prune_runs(runs_dir, keep=ctx.settings.run.retention, protect=protect)
    for run_id in pruned:
        ctx.recorder.decide(run_id, "pruned", f"beyond retention {ctx.settings.run.retention}")
    kept_state = (lake / STATE_FILE).exists()
    ctx.recorder.counts.update(
        {"removed": len(removed), "runs_pruned": len(pruned), "state_kept": int(kept_state)}
    )
    atomic_write_json(
        ctx.artifact(ARTIFACT),
        {"removed": removed, "runs_pruned": pruned, "accepted_state_kept": kept_state},
    )


def full_reset(project_root: Path, lakehouse: Path, runs_dir: Path, summaries: Path) -> list[str]:
    """The blank slate of ``clean-run``: cache, accepted state, runs and summaries."""
    removed = []
    for path in (lakehouse, runs_dir, summaries):
        if path.exists():
            shutil.rmtree(path)
            removed.append(
                str(path.relative_to(project_root) if path.is_relative_to(project_root) else path)
            )
    return removed


STEP = Step(
    name=StepName.CLEANUP,
    reads=(),
    writes=(ARTIFACT,),
    run=run,
    config_sections=("run",),
    description="Wipe previous portfolio artifacts; keep the candle cache and accepted state.",
)
