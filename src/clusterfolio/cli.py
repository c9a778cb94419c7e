"""The one command-line interface: ``clusterfolio``.

Heavy engines are imported inside the commands, so ``clusterfolio --help`` starts fast.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clusterfolio.cli_options import (
    AsOfOpt,
    JsonOpt,
    ProfileOpt,
    Project,
    QuietOpt,
    RunIdOpt,
    SetOpt,
    fail,
    grouped_options,
)
from clusterfolio.enums import ProviderName
from clusterfolio.errors import ClusterfolioError, ConfigError, disk_error

if TYPE_CHECKING:
    from clusterfolio.manifest import ResolvedManifest
    from clusterfolio.pipeline.ledger import RunLedger
    from clusterfolio.pipeline.runner import StepProgress

app = typer.Typer(
    name="clusterfolio",
    help="Daily multi-asset portfolio generator: Discovery → Cluster → Risk → Audit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect and validate the manifest.", no_args_is_help=True)
app.add_typer(config_app, name="config")


def _version(value: bool) -> None:
    if value:
        from clusterfolio import __version__

        typer.echo(f"clusterfolio {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More output (-vv: debug logs).")
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only the result line, no progress or headline.")
    ] = False,
) -> None:
    """Daily multi-asset portfolio generator: Discovery → Cluster → Risk → Audit.

    Exit codes: 0 ok; 1 the audit failed or a command refused; 2 bad input (option, key,
    profile, run, symbol, file); 3 a data problem (provider, corrupt file, strict health gate).
    """
    import logging

    level = -1 if quiet else verbose
    ctx.obj = {"verbosity": level}
    if level >= 2:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    elif level == 1:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def _verbosity(ctx: typer.Context | None) -> int:
    obj = ctx.find_root().obj if ctx is not None else None
    return int(obj.get("verbosity", 0)) if isinstance(obj, dict) else 0


def _as_of(value: str | None) -> date | None:
    """The decision date: a date the calendars cover, never after today (None: not given)."""
    from clusterfolio.data.calendars import CALENDAR_END, CALENDAR_START

    today = date.today()
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ClusterfolioError(f"--as-of {value!r} is not a date YYYY-MM-DD") from None
    if day > today:
        raise ClusterfolioError(
            f"--as-of {day} is after today ({today}): no bar of that date exists yet"
        )
    if not CALENDAR_START <= day <= CALENDAR_END:
        raise ClusterfolioError(
            f"--as-of {day} is outside the dates the calendars cover "
            f"({CALENDAR_START} .. {CALENDAR_END})"
        )
    return day


def _config_root(project: Project) -> Path:
    """The project a manifest belongs to: the folder above ``configs/``."""
    path = project.manifest_path.resolve()
    return path.parent.parent if path.parent.name == "configs" else path.parent


@app.command()
@grouped_options
def run(
    profile: ProfileOpt = None,
    as_of: AsOfOpt = None,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Resume RUN_ID (or 'latest').")
    ] = None,
    from_step: Annotated[
        str | None, typer.Option("--from", help="Rerun from this step on.")
    ] = None,
    only: Annotated[
        str | None, typer.Option("--only", help="Run only these steps (comma-separated).")
    ] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Recompute every step (no reuse of this day's run).")
    ] = False,
    sets: SetOpt = None,
    quiet: QuietOpt = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run summary (headline) as JSON.")
    ] = False,
    *,
    ctx: typer.Context,
    project: Project,
) -> None:
    """Run the Golden Path (all registered steps), or resume / rerun part of a run."""
    level = _verbosity(ctx)
    _orchestrate(
        project,
        profile=profile,
        as_of=as_of,
        sets=sets,
        quiet=quiet or level < 0 or as_json,
        resume=resume,
        from_step=from_step,
        only=only,
        as_json=as_json,
        verbose=level > 0,
        fresh=fresh,
    )


def _resolve_run(
    project: Project, profile: str | None, sets: list[str] | None, resume: str | None
) -> ResolvedManifest:
    """The manifest of the run: a resumed run keeps its own profile unless another is named."""
    resolved = project.resolve(profile, sets)
    if resume is not None and profile is None:
        from clusterfolio.pipeline.ledger import RunLedger
        from clusterfolio.pipeline.runner import resolve_run_dir

        runs_dir = project.base / resolved.settings.run.runs_dir
        ledger_profile = RunLedger.load(resolve_run_dir(runs_dir, resume)).profile
        resolved = project.resolve(ledger_profile, sets)
    return resolved


def _plan_files(
    resolved: ResolvedManifest,
    project: Project,
    sets: list[str] | None,
    as_of_date: date | None,
) -> tuple[ResolvedManifest, date | None]:
    """The files provider's plan: its as-of date and overrides, its notes shown."""
    if resolved.settings.data.provider is not ProviderName.FILES:
        return resolved, as_of_date
    from clusterfolio.data.baseline import plan_files_run

    plan = plan_files_run(resolved.settings, project.base, as_of_date)
    if plan.overrides:
        resolved = project.resolve(resolved.profile, [*(sets or []), *plan.overrides])
    for note in plan.notes:
        typer.secho(f"files provider: {note}", fg=typer.colors.YELLOW, err=True)
    return resolved, plan.as_of


def _echo_source_problems(ledger: RunLedger) -> None:
    """One line on the source data's problems, when the health audit counted them."""
    health = ledger.steps.get("health_audit")
    if health is None or "source_problems" not in health.counts:
        return
    n = {k: int(health.counts.get(f"source_{k}", 0)) for k in ("dropped", "repaired", "guessed")}
    typer.echo(
        f"data source: {int(health.counts['source_problems'])} problems in "
        f"{int(health.counts.get('source_listings_affected', 0))} of "
        f"{int(health.counts.get('kept', 0) + health.counts.get('excluded', 0))} audited "
        f"listings ({n['dropped']} dropped, {n['repaired']} repaired, {n['guessed']} "
        "guessed; data_health.md, section Source data)"
    )


def _progress(quiet: bool) -> StepProgress:
    """The progress display of a run: none when quiet, else the rich one."""
    from clusterfolio.pipeline.runner import StepProgress

    if quiet:
        return StepProgress()
    from clusterfolio.pipeline.progress import RichProgress

    return RichProgress()


def _orchestrate(
    project: Project,
    *,
    profile: str | None,
    as_of: str | None,
    sets: list[str] | None,
    quiet: bool,
    resume: str | None = None,
    from_step: str | None = None,
    only: str | None = None,
    recover: bool = False,
    as_json: bool = False,
    verbose: bool = False,
    fresh: bool = False,
) -> None:
    """Build the orchestrator and run; shared by ``run`` and the staged commands."""
    try:
        from clusterfolio.pipeline.context import RunProviders
        from clusterfolio.pipeline.runner import Orchestrator
        from clusterfolio.pipeline.steps import build_registry

        resolved = _resolve_run(project, profile, sets, resume)
        resolved, as_of_date = _plan_files(resolved, project, sets, _as_of(as_of))
        orchestrator = Orchestrator(
            build_registry(recover=recover),
            resolved,
            project_root=project.base,
            as_of=as_of_date or date.today(),
            provider_factory=RunProviders(),
            progress=_progress(quiet),
            command=["clusterfolio", *sys.argv[1:]],
            config_root=_config_root(project),
        )
        try:
            ledger = orchestrator.run(resume=resume, from_step=from_step, only=only, fresh=fresh)
        finally:
            for notice in orchestrator.notices:
                typer.secho(f"note: {notice}", fg=typer.colors.YELLOW, err=True)
    except ClusterfolioError as exc:
        fail(exc)
    except OSError as exc:
        fail(disk_error(exc))
    run_dir = orchestrator.runs_dir / ledger.run_id
    summaries = project.base / resolved.settings.run.summaries_dir
    if as_json:
        from clusterfolio.report.headline import headline

        typer.echo(json.dumps(headline(run_dir, summaries).to_json_dict(), indent=2, default=str))
        return
    reused = f", {len(orchestrator.reused)} steps reused" if orchestrator.reused else ""
    typer.echo(f"run {ledger.run_id}: {ledger.status.value}{reused} ({run_dir})")
    _echo_source_problems(ledger)
    if not quiet:
        from clusterfolio.report.headline import echo_headline

        echo_headline(run_dir, summaries, details=verbose)


@app.command()
@grouped_options
def prep(
    lookback: Annotated[
        int | None, typer.Option("--lookback", help="Sessions: <= the light pass runs light_prep.")
    ] = None,
    run_id: RunIdOpt = "latest",
    profile: ProfileOpt = None,
    as_of: AsOfOpt = None,
    sets: SetOpt = None,
    quiet: QuietOpt = False,
    *,
    project: Project,
) -> None:
    """Backfill and gap-fill: the light pass (LOOKBACK <= 60) or the deep pass."""
    overrides = list(sets or [])
    try:
        light = project.settings(profile, overrides).data.light_lookback_days
    except ClusterfolioError as exc:
        fail(exc)
    step = "light_prep"
    if lookback is not None:
        if lookback <= light:
            overrides.append(f"data.light_lookback_days={lookback}")
        else:
            step = "deep_prep"
            overrides.append(f"data.lookback_days={lookback}")
    _orchestrate(
        project, profile=profile, as_of=as_of, sets=overrides, quiet=quiet, resume=run_id, only=step
    )


@app.command()
@grouped_options
def recover(
    run_id: RunIdOpt = "latest",
    profile: ProfileOpt = None,
    sets: SetOpt = None,
    quiet: QuietOpt = False,
    *,
    project: Project,
) -> None:
    """Intensive repair (every gap asked for again), then a refresh of the audited matrices."""
    overrides = [*(sets or []), "data.gapfill=true"]
    _orchestrate(
        project,
        profile=profile,
        as_of=None,
        sets=overrides,
        quiet=quiet,
        resume=run_id,
        only="health_audit",
        recover=True,
    )


@app.command()
@grouped_options
def explain(
    subject: Annotated[str, typer.Argument(help="Symbol, ticker or identity (BTC, NASDAQ:AAPL).")],
    run_id: RunIdOpt = "latest",
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
    *,
    project: Project,
) -> None:
    """Why is X in and Y out, and how much did it get? Decision trail and allocation.

    An unknown symbol exits 2 with the closest matches.
    """
    from clusterfolio.pipeline.runner import resolve_run_dir
    from clusterfolio.report.allocation import allocation, allocation_lines, resolve_subject
    from clusterfolio.selection.trail import explain as explain_subject

    try:
        settings = project.settings(profile)
        run_dir = resolve_run_dir(project.base / settings.run.runs_dir, run_id)
        symbols = resolve_subject(subject, run_dir)
        trail = explain_subject(subject, run_dir)
        docs = [allocation(symbol, run_dir) for symbol in symbols]
        if as_json:
            typer.echo(
                json.dumps(
                    {"subject": subject, "trail": trail, "allocations": docs}, indent=2, default=str
                )
            )
            return
        typer.echo(trail)
        accepted = settings.run.accepted_profile.value
        for doc in docs:
            typer.echo("\n".join(allocation_lines(doc, accepted)))
    except FileNotFoundError as exc:
        fail(ClusterfolioError(f"{exc}: natural selection has not run in this run"))
    except ClusterfolioError as exc:
        fail(exc)


@app.command()
def steps() -> None:
    """List the 13 steps and which are registered."""
    from clusterfolio.enums import StepName
    from clusterfolio.pipeline.steps import build_registry

    registry = build_registry()
    registered = set(registry.names())
    for i, name in enumerate(StepName, start=1):
        if name.value in registered:
            step = registry.get(name.value)
            typer.echo(f"{i:2d}. {name.value:<18} {step.description}")
        else:
            typer.echo(f"{i:2d}. {name.value:<18} (not registered yet)")


@app.command()
@grouped_options
def clean(
    full: Annotated[
        bool, typer.Option("--full", help="Also the candle cache and the accepted state.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    profile: ProfileOpt = None,
    *,
    project: Project,
) -> None:
    """Reset: runs and summaries; with --full the lakehouse (cache and accepted state) too.

    Only paths inside the project are removed (resolved, symlinks followed); with --full the
    accepted state and its backups are first copied to data/state_archive/<UTC time>/.
    """
    from clusterfolio.pipeline.lock import ProjectLock
    from clusterfolio.pipeline.steps.cleanup import archive_state, full_reset, inside_project

    try:
        settings = project.settings(profile)
        base = project.base
        lake = inside_project(base, settings.data.lakehouse, "data.lakehouse")
        runs = inside_project(base, settings.run.runs_dir, "run.runs_dir")
        summaries = inside_project(base, settings.run.summaries_dir, "run.summaries_dir")
        targets = (lake, runs, summaries) if full else (runs, summaries)
        if full and not yes and not typer.confirm(f"delete {lake}, {runs} and {summaries}?"):
            raise typer.Exit(code=1)
        with ProjectLock(base, "clean"):
            archived = archive_state(base, lake, avoid=targets) if full else None
            removed = full_reset(base, *targets)
    except ClusterfolioError as exc:
        fail(exc)
    except OSError as exc:
        fail(disk_error(exc))
    if archived is not None:
        typer.echo(f"accepted state kept in {archived}")
    typer.echo("removed: " + (", ".join(removed) if removed else "nothing"))


@config_app.command("show")
@grouped_options
def config_show(
    profile: ProfileOpt = None,
    sets: SetOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON output (the default; kept for symmetry).")
    ] = True,
    *,
    project: Project,
) -> None:
    """Print the resolved settings of a profile as JSON."""
    try:
        resolved = project.resolve(profile, sets)
    except ClusterfolioError as exc:
        fail(exc)
    typer.echo(
        json.dumps(
            {
                "profile": resolved.profile,
                "config_hash": resolved.config_hash,
                "overrides": resolved.overrides,
                "settings": resolved.settings.model_dump(mode="json"),
            },
            indent=2,
            sort_keys=True,
        )
    )


@config_app.command("schema")
def config_schema(
    write: Annotated[
        Path | None, typer.Option("--write", help="Write the schema to this file.")
    ] = None,
) -> None:
    """Print (or write) the JSON schema generated from the manifest models."""
    from clusterfolio.io import atomic_write_text, canonical_json
    from clusterfolio.manifest import manifest_json_schema

    text = canonical_json(manifest_json_schema())
    if write is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_text(write, text)
        typer.echo(f"wrote {write}")


@config_app.command("check")
@grouped_options
def config_check(*, project: Project) -> None:
    """Validate every profile of the manifest and run a smoke optimisation of each."""
    from clusterfolio.backtest.smoke import smoke_optimize
    from clusterfolio.manifest import load_manifest_file, resolve

    failed: list[str] = []
    try:
        data = load_manifest_file(project.manifest_path)
        for name in sorted(data.profiles):
            resolved = resolve(data, name, environ={})
            outcomes = smoke_optimize(resolved.settings)
            bad = [o for o in outcomes if not o.ok]
            verdict = "ok " if not bad else "FAIL"
            typer.echo(f"{name:<24} {verdict} {resolved.config_hash[:12]}")
            for o in outcomes:
                typer.echo(f"  smoke {o.profile.value:<14} {'ok' if o.ok else 'FAIL'}  {o.detail}")
            failed.extend(f"{name}/{o.profile.value}" for o in bad)
    except ClusterfolioError as exc:
        fail(exc)
    if failed:
        fail(ConfigError(f"smoke optimisation failed for {', '.join(failed)}"))


def _register_plugins() -> None:
    """Attach the command groups that live in their own modules."""
    from clusterfolio import cli_audit, cli_holdings, cli_report, cli_runs

    cli_audit.register(app)
    cli_report.register(app)
    cli_holdings.register(app)
    cli_runs.register(app)


_register_plugins()


def main() -> None:
    """Entry point of the ``clusterfolio`` script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
