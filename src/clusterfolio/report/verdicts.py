"""One-line verdicts read from the audit and health artifacts (shared by reports and publishing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clusterfolio.artifacts.audit import AUDIT_DOCUMENT
from clusterfolio.report.markdown import fmt_float

__all__ = ["AuditVerdict", "audit_verdict", "check_status", "health_line", "stale_inputs"]

_FAIL_WORDS = frozenset({"fail", "failed", "error", "breach"})


@dataclass(frozen=True)
class AuditVerdict:
    """The audit's verdict.

    Parameters
    ----------
    passed : bool
        ``audit.json["passed"] is True`` and no check has the status ``fail`` (and, when the run
        directory was given, the audit is not stale).
    failed_checks : list of str
        ``profile/name: message`` of each failed check.
    warnings : list of str
        The same for checks with the status ``warn`` (they do not fail the audit).
    n_checks : int
        Checks listed.
    stale : list of str
        Inputs whose SHA-256 differs from the one the audit recorded (``meta.inputs``): the
        verdict is about other data and gates nothing.
    """

    passed: bool
    failed_checks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    n_checks: int = 0
    stale: list[str] = field(default_factory=list)


def check_status(check: dict[str, Any]) -> str:
    """``pass``, ``warn`` or ``fail`` of one ``audit.json`` check (older layouts included)."""
    status = str(check.get("status", "")).lower()
    if status in ("pass", "warn", "fail"):
        return status
    if status in _FAIL_WORDS:
        return "fail"
    ok = check.get("passed", check.get("ok"))
    if ok is True:
        return "pass"
    return "warn" if str(check.get("severity", "")).lower() == "warn" else "fail"


def _check_name(check: dict[str, Any], index: int) -> str:
    name = str(check.get("name") or check.get("check") or check.get("id") or f"check {index}")
    profile = check.get("profile")
    if profile and profile != AUDIT_DOCUMENT:
        name = f"{profile}/{name}"
    message = check.get("message") or check.get("detail") or check.get("reason")
    return f"{name}: {message}" if message else name


def stale_inputs(doc: dict[str, Any], run_dir: Path) -> list[str]:
    """Inputs of the run whose hash differs from the one recorded in ``audit.json``'s meta."""
    from clusterfolio.io import sha256_file

    meta = doc.get("meta")
    recorded = meta.get("inputs") if isinstance(meta, dict) else None
    if not isinstance(recorded, dict):
        return []
    out = []
    for name, digest in sorted(recorded.items()):
        path = Path(run_dir) / str(name)
        current = sha256_file(path) if path.is_file() else None
        if current != digest:
            out.append(str(name))
    return out


def audit_verdict(doc: Any, run_dir: Path | None = None) -> AuditVerdict:
    """Read ``audit.json`` (``{passed, checks: [{name, profile, status, message ...}], meta}``).

    A check fails when its ``status`` is ``fail`` (without a status: when its ``passed`` is not
    true and its severity is not ``warn``). The audit passes when ``passed`` is true, no check
    fails and, with ``run_dir``, every input recorded in ``meta.inputs`` still has its hash.
    """
    if not isinstance(doc, dict):
        return AuditVerdict(passed=False, failed_checks=["audit.json is not an object"])
    checks = [c for c in (doc.get("checks") or []) if isinstance(c, dict)]
    failed = [_check_name(c, i) for i, c in enumerate(checks, start=1) if check_status(c) == "fail"]
    warned = [_check_name(c, i) for i, c in enumerate(checks, start=1) if check_status(c) == "warn"]
    stale = stale_inputs(doc, run_dir) if run_dir is not None else []
    return AuditVerdict(
        passed=doc.get("passed") is True and not failed and not stale,
        failed_checks=failed,
        warnings=warned,
        n_checks=len(checks),
        stale=stale,
    )


def health_line(health: Any, universe: Any = None) -> str:
    """One sentence summarising ``data_health.json`` (and ``universe.json`` when present).

    Example: ``52 of 58 listings OK (1 ANOMALOUS, 2 STALE, 3 GAPPED, 0 MISSING); 6 excluded
    from the implementation universe; 1 listing forward-filled (3 sessions)``.
    """
    if not isinstance(health, dict):
        return "n/a"
    counts = {str(k): int(v) for k, v in (health.get("counts") or {}).items()}
    total = int(health.get("n_listings", sum(counts.values())))
    ok = counts.get("OK", 0)
    order = [str(s) for s in health.get("severity_order", [])] or sorted(counts)
    others = [f"{counts[s]} {s}" for s in order if s != "OK" and counts.get(s, 0) > 0]
    text = f"{ok} of {total} listings OK"
    if others:
        text += f" ({', '.join(others)})"
    if isinstance(universe, dict):
        excluded = universe.get("excluded") or {}
        filled = universe.get("filled") or {}
        text += f"; {len(excluded)} excluded from the implementation universe"
        if filled:
            sessions = sum(len(v) for v in filled.values())
            noun = "listing" if len(filled) == 1 else "listings"
            text += f"; {len(filled)} {noun} forward-filled ({fmt_float(sessions, 0)} sessions)"
    return text
