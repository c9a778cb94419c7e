"""The audit gate over a run directory: audit, accept-state and drift on a run's artifacts.

A run directory holds ``portfolio_optimized.json`` (step 11), ``data_health.json``,
``universe.json`` and ``returns.parquet`` (step 8) and ``run_manifest.json`` (the ledger, with
the run's resolved settings). The audit reads them, runs
:func:`~clusterfolio.audit.checks.audit_portfolio` with the run's own settings (plus any explicit
overrides) and writes ``audit.json`` and ``audit.md`` beside them. ``audit.json`` records the
SHA-256 of every input and of the settings it used: a later ``accept-state`` or ``drift`` reuses it
only while those still match, and audits again otherwise (a stale verdict never gates anything).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from clusterfolio.artifacts.audit import AUDIT_JSON, AUDIT_MD
from clusterfolio.artifacts.health import HEALTH_JSON, UNIVERSE
from clusterfolio.artifacts.ledger import LEDGER
from clusterfolio.artifacts.matrices import RETURNS
from clusterfolio.artifacts.portfolio import PORTFOLIO
from clusterfolio.audit.checks import AuditReport, audit_portfolio
from clusterfolio.audit.drift import DriftReport, drift, write_drift
from clusterfolio.audit.money import held_state, plan_for_run, run_book, target_holdings
from clusterfolio.audit.state import accept, backups, load_state
from clusterfolio.errors import AuditError, ConfigError, DataError, PipelineError
from clusterfolio.io import (
    atomic_write_json,
    atomic_write_text,
    canonical_json,
    read_json,
    read_parquet,
    sha256_file,
    sha256_text,
)
from clusterfolio.manifest import Settings, deep_merge, parse_override

INPUTS = (PORTFOLIO, HEALTH_JSON, UNIVERSE, RETURNS)


@dataclass(frozen=True)
class RunInputs:
    """What the audit, accept-state and drift read from one run directory.

    Attributes
    ----------
    run_dir : Path
        The run directory.
    run_id : str
        Its name.
    settings : Settings
        The run's settings (from its ledger, overrides applied).
    settings_source : str
        Where the settings came from (``run_manifest.json`` or ``manifest``).
    overrides : tuple of str
        ``section.key=value`` applied on top.
    portfolio : dict
        ``portfolio_optimized.json``.
    health, universe : dict or None
        ``data_health.json`` and ``universe.json`` when present.
    returns : pandas.DataFrame or None
        ``returns.parquet`` when present.
    hashes : dict
        SHA-256 of each input file present (None when absent).
    """

    run_id: str
    run_dir: Path
    settings: Settings
    settings_source: str
    overrides: tuple[str, ...]
    portfolio: dict[str, Any]
    health: dict[str, Any] | None
    universe: dict[str, Any] | None
    returns: pd.DataFrame | None
    hashes: dict[str, str | None]

    @property
    def settings_hash(self) -> str:
        """SHA-256 of the canonical JSON of the settings used."""
        return sha256_text(canonical_json(self.settings.model_dump(mode="json")))

    def fingerprint(self) -> dict[str, Any]:
        """What an audit verdict depends on (stored in ``audit.json``'s ``meta``)."""
        return {"inputs": dict(self.hashes), "settings_hash": self.settings_hash}


def _nest(dotted: str, value: Any) -> dict[str, Any]:
    node: dict[str, Any] = {}
    parts = dotted.split(".")
    cursor = node
    for part in parts[:-1]:
        cursor[part] = {}
        cursor = cursor[part]
    cursor[parts[-1]] = value
    return node


def has_run_settings(run_dir: Path) -> bool:
    """Whether the run's ledger records its settings."""
    return _ledger_settings(run_dir) is not None


def _ledger_settings(run_dir: Path) -> dict[str, Any] | None:
    ledger = run_dir / LEDGER
    if not ledger.exists():
        return None
    doc = read_json(ledger)
    if isinstance(doc, dict) and isinstance(doc.get("settings"), dict):
        return dict(doc["settings"])
    return None


def run_settings(
    run_dir: Path, *, fallback: Settings | None = None, overrides: Sequence[str] = ()
) -> tuple[Settings, str]:
    """The settings a run was produced with (its ledger), with ``overrides`` applied.

    Parameters
    ----------
    run_dir : Path
        The run directory.
    fallback : Settings, optional
        Used (and named as the source) when the run has no ledger with settings.
    overrides : sequence of str
        ``section.key=value`` applied on top (validated like ``--set``).

    Returns
    -------
    tuple
        ``(settings, source)``.

    Raises
    ------
    PipelineError
        When the run has no settings and no fallback is given.
    ConfigError
        When an override is invalid.
    """
    raw = _ledger_settings(run_dir)
    if raw is None:
        if fallback is None:
            raise PipelineError(f"{run_dir / LEDGER}: no settings recorded for this run")
        raw, source = fallback.model_dump(mode="json"), "manifest"
    else:
        source = LEDGER
    for text in overrides:
        key, value = parse_override(text)
        raw = deep_merge(raw, _nest(key, value))
    try:
        return Settings.model_validate(raw), source
    except ValidationError as exc:
        raise ConfigError(f"settings of run {run_dir.name} ({source}): {exc}") from exc


def load_run_inputs(
    run_dir: Path, *, fallback: Settings | None = None, overrides: Sequence[str] = ()
) -> RunInputs:
    """Read a run directory's portfolio, health, universe, returns and settings.

    Raises
    ------
    PipelineError
        When the run has no ``portfolio_optimized.json`` (the optimisation did not run).
    """
    path = run_dir / PORTFOLIO
    if not path.exists():
        raise PipelineError(f"{path} does not exist: the optimisation step has not run")
    portfolio = read_json(path)
    if not isinstance(portfolio, dict):
        raise DataError(f"{path}: not a JSON object")
    settings, source = run_settings(run_dir, fallback=fallback, overrides=overrides)

    def optional_json(name: str) -> dict[str, Any] | None:
        doc = read_json(run_dir / name) if (run_dir / name).exists() else None
        if doc is not None and not isinstance(doc, dict):
            raise DataError(f"{run_dir / name}: not a JSON object")
        return doc

    returns = read_parquet(run_dir / RETURNS) if (run_dir / RETURNS).exists() else None
    return RunInputs(
        run_id=run_dir.name,
        run_dir=run_dir,
        settings=settings,
        settings_source=source,
        overrides=tuple(overrides),
        portfolio=portfolio,
        health=optional_json(HEALTH_JSON),
        universe=optional_json(UNIVERSE),
        returns=returns,
        hashes={
            name: sha256_file(run_dir / name) if (run_dir / name).exists() else None
            for name in INPUTS
        },
    )


def audit_run(inputs: RunInputs) -> AuditReport:
    """Audit a run and write ``audit.json`` and ``audit.md`` into its directory.

    Returns
    -------
    AuditReport
        With ``meta``: run id, settings source, overrides, input and settings hashes.
    """
    report = audit_portfolio(
        inputs.portfolio,
        settings=inputs.settings,
        health=inputs.health,
        returns=inputs.returns,
        universe=inputs.universe,
    ).with_meta(
        run_id=inputs.run_id,
        settings_source=inputs.settings_source,
        overrides=list(inputs.overrides),
        **inputs.fingerprint(),
    )
    atomic_write_json(inputs.run_dir / AUDIT_JSON, report.to_json_dict())
    atomic_write_text(inputs.run_dir / AUDIT_MD, report.to_markdown())
    return report


@dataclass(frozen=True)
class AuditVerdict:
    """The audit verdict that gates a run (read from ``audit.json`` or just computed)."""

    passed: bool
    failed: tuple[str, ...]
    messages: tuple[str, ...]
    reused: bool
    document: dict[str, Any]

    def failure_summary(self) -> str:
        """One line per failed check."""
        return "\n".join(f"  - {m}" for m in self.messages)


def _verdict(doc: Mapping[str, Any], *, reused: bool) -> AuditVerdict:
    failed = [c for c in doc.get("checks", []) if c.get("status") == "fail"]
    return AuditVerdict(
        passed=bool(doc.get("passed")) and not failed,
        failed=tuple(f"{c['profile']}/{c['name']}" for c in failed),
        messages=tuple(f"{c['profile']}/{c['name']}: {c.get('message', '')}" for c in failed),
        reused=reused,
        document=dict(doc),
    )


def current_verdict(inputs: RunInputs) -> AuditVerdict:
    """The run's audit verdict: ``audit.json`` when it matches the inputs, else a fresh audit.

    ``audit.json`` is reused only when its recorded input hashes and settings hash equal the
    current ones; otherwise (absent, stale, unreadable) the audit runs again and rewrites it.
    """
    path = inputs.run_dir / AUDIT_JSON
    if path.exists():
        try:
            doc = read_json(path)
        except DataError:
            doc = None
        if isinstance(doc, dict):
            meta = doc.get("meta", {})
            fingerprint = inputs.fingerprint()
            if (
                isinstance(meta, dict)
                and meta.get("inputs") == fingerprint["inputs"]
                and meta.get("settings_hash") == fingerprint["settings_hash"]
            ):
                return _verdict(doc, reused=True)
    return _verdict(audit_run(inputs).to_json_dict(), reused=False)


@dataclass(frozen=True)
class Acceptance:
    """The outcome of ``accept-state``."""

    state: Path
    backup: Path | None
    profile: str
    verdict: AuditVerdict


def accept_run(
    inputs: RunInputs, *, lakehouse_root: Path, profile: str | None = None
) -> Acceptance:
    """Snapshot one profile of an audited run as the accepted state.

    Parameters
    ----------
    inputs : RunInputs
        The run.
    lakehouse_root : Path
        Folder of ``portfolio_actual_state.json``.
    profile : str, optional
        The risk profile implemented; ``run.accepted_profile`` when omitted.

    Returns
    -------
    Acceptance

    Raises
    ------
    AuditError
        When the run's audit failed (the message lists the failed checks).
    DataError
        When the profile is not in the portfolio.
    """
    name = profile or inputs.settings.run.accepted_profile.value
    profiles = inputs.portfolio.get("profiles", {})
    if name not in profiles:
        raise DataError(f"profile {name!r} not in the portfolio; profiles: {sorted(profiles)}")
    verdict = current_verdict(inputs)
    if not verdict.passed:
        raise AuditError(
            f"run {inputs.run_id} failed its audit ({len(verdict.failed)} failed checks): "
            f"its portfolio must not be accepted\n{verdict.failure_summary()}"
        )
    before = set(backups(lakehouse_root))
    state = accept(
        lakehouse_root,
        inputs.portfolio,
        profile=name,
        run_id=inputs.run_id,
        audit_passed=True,
        audit={
            "passed": True,
            "counts": verdict.document.get("counts", {}),
            **inputs.fingerprint(),
        },
        holdings=target_holdings(inputs.run_dir, inputs.settings, inputs.portfolio, name),
    )
    new = sorted(set(backups(lakehouse_root)) - before)
    return Acceptance(state=state, backup=new[-1] if new else None, profile=name, verdict=verdict)


@dataclass(frozen=True)
class DriftOutcome:
    """The outcome of ``drift``."""

    report: DriftReport
    verdict: AuditVerdict
    files: list[Path]

    @property
    def implementable(self) -> bool:
        """Whether the orders may be implemented (the run's audit passed)."""
        return self.verdict.passed


def drift_run(
    inputs: RunInputs, *, lakehouse_root: Path, profile: str | None = None
) -> DriftOutcome:
    """Drift of one profile of a run against the accepted state; writes the drift files.

    The drift is always computed and written (``drift.json``, ``drift.md``); ``orders.csv`` is
    written only when the run's audit passed (a stale one is removed otherwise).

    Parameters
    ----------
    inputs : RunInputs
        The run.
    lakehouse_root : Path
        Folder of the accepted state.
    profile : str, optional
        The target profile; ``run.accepted_profile`` when omitted.

    Returns
    -------
    DriftOutcome
    """
    name = profile or inputs.settings.run.accepted_profile.value
    profiles = inputs.portfolio.get("profiles", {})
    if name not in profiles:
        raise DataError(f"profile {name!r} not in the portfolio; profiles: {sorted(profiles)}")
    verdict = current_verdict(inputs)
    state = load_state(lakehouse_root)
    book = run_book(
        inputs.run_dir,
        inputs.settings,
        as_of=inputs.portfolio.get("as_of"),
        target=profiles[name],
        state=state,
    )
    report = drift(
        profiles[name],
        held_state(state, book),
        partial_rebalance=inputs.settings.features.feat_partial_rebalance,
    )
    report = dataclasses.replace(
        report,
        money=plan_for_run(report.lines, book, inputs.settings, state),
        meta={
            **report.meta,
            "profile": name,
            "as_of": inputs.portfolio.get("as_of"),
            "run_id": inputs.run_id,
            "implementable": verdict.passed,
            "audit_failed_checks": list(verdict.failed),
        },
    )
    files = write_drift(inputs.run_dir, report, orders=verdict.passed)
    return DriftOutcome(report=report, verdict=verdict, files=files)
