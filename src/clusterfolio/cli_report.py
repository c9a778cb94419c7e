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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clusterfolio.cli_options import ProfileOpt, Project, RunIdOpt, SetOpt, fail, grouped_options
from clusterfolio.errors import ClusterfolioError

if TYPE_CHECKING:
    from clusterfolio.manifest import Settings

__all__ = ["display", "publish", "register", "report"]


@dataclass(frozen=True)
class ReportedRun:
    """The run a command reports on and the settings it reads (option group).

    Parameters
    ----------
    run : str
        Run id or ``latest``.
    profile : str, optional
        Manifest profile (default: the manifest's).
    sets : list of str, optional
        ``section.key=value`` overrides.
    project : Project
        The project root and manifest.
    """

    run: RunIdOpt = "latest"
    profile: ProfileOpt = None
    sets: SetOpt = None
    project: Project = field(default_factory=Project)

    def settings(self) -> Settings:
        """The manifest's settings of :attr:`profile` with the overrides."""
        return self.project.settings(self.profile, self.sets)

    def run_dir(self, settings: Settings) -> Path:
        """The run directory, in the runs folder of ``settings``."""
        from clusterfolio.pipeline.runner import resolve_run_dir

        return resolve_run_dir(self.project.base / settings.run.runs_dir, self.run)


def report(
    summaries: Annotated[
        bool, typer.Option("--summaries/--no-summaries", help="Also replace summaries/.")
    ] = True,
    quantstats_html: Annotated[
        bool,
        typer.Option(
            "--quantstats-html", help="Also QuantStats HTML tear sheets per profile (slow)."
        ),
    ] = False,
    *,
    target: ReportedRun,
) -> None:
    """Render the reports of a run and copy its golden artifacts to summaries/."""
    try:
        from clusterfolio.report.artifacts import RunArtifacts
        from clusterfolio.report.build import build_reports
        from clusterfolio.report.config import ReportConfig
        from clusterfolio.report.summaries import sync_summaries

        settings = target.settings()
        run_dir = target.run_dir(settings)
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
            folder = target.project.base / settings.run.summaries_dir
            copied = sync_summaries(run_dir, build.golden, folder)
            typer.echo(f"summaries: {len(copied)} golden artifacts in {folder}")
        if build.absent:
            typer.echo("not available in this run: " + ", ".join(build.absent))
        from clusterfolio.report.headline import echo_headline

        echo_headline(
            run_dir, target.project.base / settings.run.summaries_dir if summaries else None
        )
    except ClusterfolioError as exc:
        fail(exc)


def display(*, target: ReportedRun) -> None:
    """Open the interactive terminal dashboard over a run (q quits)."""
    try:
        settings = target.settings()
        run_dir = target.run_dir(settings)
        from clusterfolio.report.dashboard import run_dashboard

        run_dashboard(run_dir)
    except ClusterfolioError as exc:
        fail(exc)


def publish(
    if_enabled: Annotated[
        bool,
        typer.Option(
            "--if-enabled",
            help="Skip quietly unless publish.enabled or GIST_ID/GIST_REMOTE is set.",
        ),
    ] = False,
    *,
    target: ReportedRun,
) -> None:
    """Sync the golden artifacts of summaries/ to the private Gist (GIST_ID, GITHUB_TOKEN)."""
    try:
        from clusterfolio.pipeline.ledger import check_run_usable
        from clusterfolio.report import publish as gist

        settings = target.settings()
        env = os.environ
        configured = settings.publish.enabled or bool(
            env.get(gist.ENV_GIST_ID) or env.get(gist.ENV_GIST_REMOTE)
        )
        if if_enabled and not configured:
            typer.echo(
                "publish: skipped (publish.enabled is false and neither GIST_ID nor GIST_REMOTE is set)"
            )
            return
        summaries = target.project.base / settings.run.summaries_dir
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
        run_dir = target.run_dir(settings)
        check_run_usable(run_dir, "publish")
        result = gist.publish(summaries, run_dir, settings=settings.publish)
        typer.echo(f"publish: {result.message}")
        for warning in result.warnings:
            typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    except ClusterfolioError as exc:
        fail(exc)


def register(app: typer.Typer) -> None:
    """Attach ``report``, ``display`` and ``publish`` to the CLI app."""
    app.command("report")(grouped_options(report))
    app.command("display")(grouped_options(display))
    app.command("publish")(grouped_options(publish))
