"""Run management commands: ``runs`` (the list) and ``diff RUN_A RUN_B``.

``--json`` prints machine-readable output. Exit codes (:mod:`clusterfolio.exitcodes`): 0 ok,
2 an unknown run or a bad option.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clusterfolio.cli_options import JsonOpt, Project, fail, grouped_options
from clusterfolio.errors import ClusterfolioError


def _dirs(project: Project) -> tuple[Path, Path]:
    """The runs folder and the lakehouse (the default settings when there is no manifest)."""
    from clusterfolio.manifest import Settings

    settings = project.settings() if project.manifest_path.exists() else Settings()
    lake = Path(settings.data.lakehouse)
    base = project.base
    return base / settings.run.runs_dir, lake if lake.is_absolute() else base / lake


def runs(
    as_json: JsonOpt = False,
    *,
    project: Project,
) -> None:
    """List the runs: id, as-of, profile, status, duration, audit, accepted."""
    from clusterfolio.audit.state import load_state
    from clusterfolio.report.runs import list_runs

    try:
        runs_dir, lake = _dirs(project)
        rows = list_runs(runs_dir, load_state(lake)) if runs_dir.is_dir() else []
    except ClusterfolioError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps([r.to_json_dict() for r in rows], indent=2))
        return
    if not rows:
        typer.echo(f"no runs in {runs_dir}")
        return
    typer.echo(
        f"{'run id':<40} {'as of':<10} {'profile':<22} {'status':<10} {'duration':>9} "
        f"{'audit':<8} accepted"
    )
    for r in rows:
        duration = "" if r.duration_s is None else f"{r.duration_s:.0f}s"
        flags = ("yes" if r.accepted else "") + (" (latest)" if r.latest else "")
        typer.echo(
            f"{r.run_id:<40} {r.as_of or '':<10} {r.profile or '':<22} {r.status or '':<10} "
            f"{duration:>9} {r.audit:<8} {flags.strip()}"
        )


def diff(
    run_a: Annotated[str, typer.Argument(help="Reference run id (or 'latest').")],
    run_b: Annotated[str, typer.Argument(help="Run id to compare (or 'latest').")],
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Risk profile (default: accepted).")
    ] = None,
    as_json: JsonOpt = False,
    *,
    project: Project,
) -> None:
    """What differs between two runs: weights, universe, clusters, regime, settings."""
    from clusterfolio.pipeline.runner import resolve_run_dir
    from clusterfolio.report.runs import diff_lines, diff_runs

    try:
        runs_dir, _ = _dirs(project)
        result = diff_runs(
            resolve_run_dir(runs_dir, run_a), resolve_run_dir(runs_dir, run_b), profile=profile
        )
    except ClusterfolioError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    for line in diff_lines(result):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Attach ``runs`` and ``diff`` to the CLI app."""
    app.command("runs")(grouped_options(runs))
    app.command("diff")(grouped_options(diff))
