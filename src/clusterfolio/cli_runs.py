"""Run management commands: ``runs`` (the list) and ``diff RUN_A RUN_B``.

``--json`` prints machine-readable output. Exit codes (:mod:`clusterfolio.exitcodes`): 0 ok,
2 an unknown run or a bad option.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from clusterfolio.cli_report import _DEFAULT_MANIFEST, _fail, _ManifestOpt, _RootOpt
from clusterfolio.errors import ClusterfolioError

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _settings(root: Path, manifest: Path) -> Any:
    from clusterfolio.manifest import Settings, load

    path = manifest if manifest.is_absolute() else root / manifest
    return load(path, None, []).settings if path.exists() else Settings()


def _dirs(root: Path, manifest: Path) -> tuple[Path, Path]:
    settings = _settings(root, manifest)
    base = root.resolve()
    lake = Path(settings.data.lakehouse)
    return base / settings.run.runs_dir, lake if lake.is_absolute() else base / lake


def runs(
    as_json: JsonOpt = False,
    manifest: _ManifestOpt = _DEFAULT_MANIFEST,
    root: _RootOpt = Path("."),
) -> None:
    """List the runs: id, as-of, profile, status, duration, audit, accepted."""
    from clusterfolio.audit.state import load_state
    from clusterfolio.report.runs import list_runs

    try:
        runs_dir, lake = _dirs(root, manifest)
        rows = list_runs(runs_dir, load_state(lake)) if runs_dir.is_dir() else []
    except ClusterfolioError as exc:
        _fail(exc)
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
    manifest: _ManifestOpt = _DEFAULT_MANIFEST,
    root: _RootOpt = Path("."),
) -> None:
    """What differs between two runs: weights, universe, clusters, regime, settings."""
    from clusterfolio.pipeline.runner import resolve_run_dir
    from clusterfolio.report.runs import diff_lines, diff_runs

    try:
        runs_dir, _ = _dirs(root, manifest)
        result = diff_runs(
            resolve_run_dir(runs_dir, run_a), resolve_run_dir(runs_dir, run_b), profile=profile
        )
    except ClusterfolioError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    for line in diff_lines(result):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Attach ``runs`` and ``diff`` to the CLI app."""
    app.command("runs")(runs)
    app.command("diff")(diff)
