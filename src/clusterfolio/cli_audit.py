"""Commands of the audit gate: ``audit``, ``accept-state`` and ``drift``.

Attach them to the main application with :func:`register`. Every command works on one run
directory (``--run``: a run id, ``latest`` or a path to a run directory) and uses the settings the
run was produced with (its ``run_manifest.json``), with ``--set`` overrides on top; the manifest
(``--manifest``, ``--manifest-profile``) only locates the runs folder, and supplies the settings of
a run directory that has no ledger. ``--profile`` names a *risk* profile (``hrp``, ``barbell``
...), not a manifest profile.

Exit codes: 0 success; 1 the audit failed (``audit``), the run may not be accepted
(``accept-state``) or its orders must not be implemented (``drift``); 2 an error (missing run,
bad option, unreadable artifact).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clusterfolio.cli_options import Project, exit_for, grouped_options
from clusterfolio.errors import AuditError, ClusterfolioError, RunRefusedError, disk_error
from clusterfolio.pipeline.lock import ProjectLock

if TYPE_CHECKING:
    from clusterfolio.audit.gate import RunInputs

RunOpt = Annotated[
    str,
    typer.Option("--run", help="Run id, 'latest', or the path of a run directory."),
]
RiskProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile", "-p", help="Risk profile (hrp, barbell ...); default run.accepted_profile."
    ),
]
ManifestProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--manifest-profile", help="Manifest profile locating the runs folder (default: its own)."
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override a setting of the run: section.key=value."),
]


@dataclass(frozen=True)
class GatedRun:
    """The run a command of the gate works on, and the overrides of its settings (option group).

    Parameters
    ----------
    run : str
        Run id, ``latest`` or the path of a run directory.
    sets : list of str, optional
        ``section.key=value`` overrides of the run's settings.
    manifest_profile : str, optional
        The manifest profile that locates the runs folder.
    """

    run: RunOpt = "latest"
    sets: SetOpt = None
    manifest_profile: ManifestProfileOpt = None


def _inputs(target: GatedRun, project: Project) -> RunInputs:
    """Locate the run and read its inputs (the manifest is read only when needed)."""
    from clusterfolio.audit.gate import PORTFOLIO, has_run_settings, load_run_inputs
    from clusterfolio.manifest import Settings
    from clusterfolio.pipeline.runs import resolve_run_dir

    run, overrides = target.run, list(target.sets or [])
    fallback: Settings | None = None

    def manifest_settings() -> Settings:
        return project.settings(target.manifest_profile, overrides)

    direct = Path(run)
    if direct.is_dir() and (direct / PORTFOLIO).exists():
        run_dir = direct.resolve()
    else:
        fallback = manifest_settings()
        run_dir = resolve_run_dir(project.base / fallback.run.runs_dir, run)
    if fallback is None and not has_run_settings(run_dir):
        fallback = manifest_settings()
    return load_run_inputs(run_dir, fallback=fallback, overrides=overrides)


def _usable(inputs: RunInputs, action: str) -> None:
    """Refuse a failed, running, incomplete or stale run (its ledger says which)."""
    from clusterfolio.pipeline.ledger import check_run_usable

    check_run_usable(inputs.run_dir, action)


def _lakehouse(inputs: RunInputs, project: Project) -> Path:
    path = Path(inputs.settings.data.lakehouse)
    return path if path.is_absolute() else project.base / path


def audit_command(
    *,
    target: GatedRun,
    project: Project,
) -> None:
    """Audit a run's portfolio (caps, barbell, exposures, beta, data health): the gate.

    Writes audit.json and audit.md into the run directory; exits 1 when a check fails.
    """
    from clusterfolio.audit.gate import AUDIT_JSON, AUDIT_MD, audit_run

    try:
        inputs = _inputs(target, project)
        _usable(inputs, "audit")
        report = audit_run(inputs)
    except ClusterfolioError as exc:
        raise exit_for(exc) from exc
    counts = report.counts()
    where = f"{inputs.run_dir / AUDIT_JSON}, {AUDIT_MD}"
    tally = f"{len(report.checks)} checks ({counts['pass']} pass, {counts['warn']} warn, " + (
        f"{counts['fail']} fail)"
    )
    for check in report.warnings:
        typer.secho(f"warning: {check.label}: {check.message}", fg=typer.colors.YELLOW, err=True)
    if not report.passed:
        typer.secho(
            f"audit FAILED for run {inputs.run_id}: {len(report.failures)} failed check(s); "
            f"do not implement this portfolio\n{report.failure_summary()}\n{tally}; see {where}",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(code=1)
    typer.echo(f"audit passed for run {inputs.run_id}: {tally}; wrote {where}")


def accept_state_command(
    profile: RiskProfileOpt = None,
    *,
    target: GatedRun,
    project: Project,
) -> None:
    """Snapshot a profile of an audited run as the implemented portfolio (the accepted state).

    Audits the run first when audit.json is absent or stale; refuses (exit 1) a failed audit.
    The previous state is kept as a dated backup.
    """
    from clusterfolio.audit.gate import accept_run

    try:
        inputs = _inputs(target, project)
        _usable(inputs, "accept")
        with ProjectLock(project.base, "accept-state", inputs.run_id):
            outcome = accept_run(
                inputs, lakehouse_root=_lakehouse(inputs, project), profile=profile
            )
    except (AuditError, RunRefusedError) as exc:  # failed audit; failed, running, stale run; lock
        typer.secho(f"accept-state refused: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc
    except OSError as exc:  # a read-only or full disk: one line, the state file is untouched
        raise exit_for(disk_error(exc)) from exc
    except ClusterfolioError as exc:
        raise exit_for(exc) from exc
    audit = "reused audit.json" if outcome.verdict.reused else "audited now"
    typer.echo(
        f"accepted {outcome.profile} of run {inputs.run_id} ({audit}): {outcome.state}"
        + (f"; previous state kept as {outcome.backup}" if outcome.backup else "")
    )


def drift_command(
    profile: RiskProfileOpt = None,
    *,
    target: GatedRun,
    project: Project,
) -> None:
    """Drift of a profile's target against the accepted state; writes the orders.

    Writes drift.json, drift.md and orders.csv into the run directory. When the run's audit
    failed, no orders.csv is written and the command exits 1.
    """
    from clusterfolio.audit.gate import drift_run

    try:
        inputs = _inputs(target, project)
        _usable(inputs, "write orders for")
        outcome = drift_run(inputs, lakehouse_root=_lakehouse(inputs, project), profile=profile)
    except ClusterfolioError as exc:
        raise exit_for(exc) from exc
    report = outcome.report
    summary = report.summary()
    if not report.has_state:
        typer.echo("no accepted state: every position is opened from zero (BUY from 0)")
    typer.echo(
        f"drift of {report.meta.get('profile')} (run {inputs.run_id}): churn "
        f"{summary['churn']:.2%} (executed {summary['executed_churn']:.2%}); "
        f"{summary['n_buy']} BUY, {summary['n_sell']} SELL, {summary['n_hold']} HOLD"
        + (f", {summary['n_skipped']} dust skipped" if report.partial_rebalance else "")
    )
    typer.echo("wrote " + ", ".join(str(p) for p in outcome.files))
    if not outcome.implementable:
        typer.secho(
            f"the audit of run {inputs.run_id} failed: no orders written, do not implement\n"
            + outcome.verdict.failure_summary(),
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add ``audit``, ``accept-state`` and ``drift`` to ``app``."""
    app.command("audit")(grouped_options(audit_command))
    app.command("accept-state")(grouped_options(accept_state_command))
    app.command("drift")(grouped_options(drift_command))
