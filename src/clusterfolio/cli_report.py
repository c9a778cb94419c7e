"""Commands of implementation oversight: ``report``, ``display``, ``publish``.

Attached to the one Typer app by :func:`register` (``make report``, ``make display``,
``make gist``). Heavy libraries (matplotlib, Textual, QuantStats) are imported inside the
commands, so the CLI starts fast.

- ``clusterfolio report [--run latest]``: render every report of a run into its directory and
  replace ``summaries/`` with its golden artifacts (the reporting step's work, on demand, e.g.
  after ``make audit``). The settings are the run's own (its ledger); the run ledger is not
  modified.
- ``clusterfolio display [--run latest]``: the interactive terminal dashboard.
- ``clusterfolio publish [--run latest] [--if-enabled]``: sync ``summaries/`` to the private
  Gist (see :mod:`clusterfolio.report.publish`); refuses a run whose audit is absent or failed,
  skips when ``summaries/`` is missing or empty unless ``GIST_ALLOW_EMPTY=1``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from clusterfolio.errors import ClusterfolioError

if TYPE_CHECKING:
    from clusterfolio.manifest import Settings

__all__ = ["display", "publish", "register", "report"]

_ManifestOpt = Annotated[Path, typer.Option("--manifest", help="Manifest file.")]
_ProfileOpt = Annotated[
    str | None, typer.Option("--profile", "-p", help="Profile (default: the manifest's).")
]
_SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override a setting: section.key=value (repeatable)."),
]
_RootOpt = Annotated[Path, typer.Option("--root", help="Project root (data/, configs/ live here).")]
_RunOpt = Annotated[str, typer.Option("--run", help="Run id (or 'latest').")]
_DEFAULT_MANIFEST = Path("configs/manifest.json")


def _fail(exc: Exception) -> NoReturn:
    from clusterfolio.exitcodes import exit_code_for

    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=int(exit_code_for(exc)))


def _settings(root: Path, manifest: Path, profile: str | None, sets: list[str] | None) -> Settings:
    from clusterfolio.manifest import load

    path = manifest if manifest.is_absolute() else root / manifest
    return load(path, profile, sets or []).settings


def _run_dir(root: Path, settings: Settings, run: str) -> Path:
    from clusterfolio.pipeline.runner import resolve_run_dir

    return resolve_run_dir(root.resolve() / settings.run.runs_dir, run)


def report(
    run: _RunOpt = "latest",
    summaries: Annotated[
        bool, typer.Option("--summaries/--no-summaries", help="Also replace summaries/.")
    ] = True,
    quantstats_html: Annotated[
        bool,
        typer.Option(
            "--quantstats-html", help="Also QuantStats HTML tear sheets per profile (slow)."
        ),
    ] = False,
    profile: _ProfileOpt = None,
    sets: _SetOpt = None,
    manifest: _ManifestOpt = _DEFAULT_MANIFEST,
    root: _RootOpt = Path("."),
) -> None:
    """Render the reports of a run and copy its golden artifacts to summaries/."""
    try:
        from clusterfolio.report.artifacts import RunArtifacts
        from clusterfolio.report.build import build_reports
        from clusterfolio.report.config import ReportConfig
        from clusterfolio.report.summaries import sync_summaries

        settings = _settings(root, manifest, profile, sets)
        run_dir = _run_dir(root, settings, run)
        ledger = RunArtifacts(run_dir).ledger()
        config = (
            ReportConfig.from_ledger(ledger)
            if ledger
            else ReportConfig.from_settings(settings, run_id=run_dir.name)
        )
        build = build_reports(run_dir, config)
        typer.echo(f"reports: {len(build.written)} files written in {run_dir}")
        if quantstats_html:
            from clusterfolio.report.qs_html import write_quantstats_html

            sheets = write_quantstats_html(run_dir)
            typer.echo(
                f"QuantStats tear sheets (offline): {len(sheets)} in {run_dir / 'tearsheets'}"
            )
        if summaries:
            target = root.resolve() / settings.run.summaries_dir
            copied = sync_summaries(run_dir, build.golden, target)
            typer.echo(f"summaries: {len(copied)} golden artifacts in {target}")
        if build.absent:
            typer.echo("not available in this run: " + ", ".join(build.absent))
        from clusterfolio.report.headline import echo_headline

        echo_headline(run_dir, root.resolve() / settings.run.summaries_dir if summaries else None)
    except ClusterfolioError as exc:
        _fail(exc)


def display(
    run: _RunOpt = "latest",
    profile: _ProfileOpt = None,
    sets: _SetOpt = None,
    manifest: _ManifestOpt = _DEFAULT_MANIFEST,
    root: _RootOpt = Path("."),
) -> None:
    """Open the interactive terminal dashboard over a run (q quits)."""
    try:
        settings = _settings(root, manifest, profile, sets)
        run_dir = _run_dir(root, settings, run)
        from clusterfolio.report.dashboard import run_dashboard

        run_dashboard(run_dir)
    except ClusterfolioError as exc:
        _fail(exc)


def publish(
    run: _RunOpt = "latest",
    if_enabled: Annotated[
        bool,
        typer.Option(
            "--if-enabled",
            help="Skip quietly unless publish.enabled or GIST_ID/GIST_REMOTE is set.",
        ),
    ] = False,
    profile: _ProfileOpt = None,
    sets: _SetOpt = None,
    manifest: _ManifestOpt = _DEFAULT_MANIFEST,
    root: _RootOpt = Path("."),
) -> None:
    """Sync the golden artifacts of summaries/ to the private Gist (GIST_ID, GITHUB_TOKEN)."""
    try:
        from clusterfolio.pipeline.ledger import check_run_usable
        from clusterfolio.report import publish as gist

        settings = _settings(root, manifest, profile, sets)
        env = os.environ
        configured = settings.publish.enabled or bool(
            env.get(gist.ENV_GIST_ID) or env.get(gist.ENV_GIST_REMOTE)
        )
        if if_enabled and not configured:
            typer.echo(
                "publish: skipped (publish.enabled is false and neither GIST_ID nor GIST_REMOTE is set)"
            )
            return
        summaries = root.resolve() / settings.run.summaries_dir
        allow_empty = settings.publish.allow_empty or env.get(gist.ENV_ALLOW_EMPTY, "") in (
            "1",
            "true",
            "yes",
        )
        if not gist.summaries_files(summaries) and not allow_empty:
            typer.echo(
                f"publish: skipped: {summaries} is missing or empty (run `make report` first, or "
                f"set {gist.ENV_ALLOW_EMPTY}=1 to publish an empty set)"
            )
            return
        run_dir = _run_dir(root, settings, run)
        check_run_usable(run_dir, "publish")
        result = gist.publish(summaries, run_dir, settings=settings.publish)
        typer.echo(f"publish: {result.message}")
        for warning in result.warnings:
            typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    except ClusterfolioError as exc:
        _fail(exc)


def register(app: typer.Typer) -> None:
    """Attach ``report``, ``display`` and ``publish`` to the CLI app."""
    app.command("report")(report)
    app.command("display")(display)
    app.command("publish")(publish)
