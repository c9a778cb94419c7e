"""The audit's findings: each check with its severity and evidence, and the report over a document.

:class:`AuditCheck` and :class:`AuditReport` are what :func:`clusterfolio.audit.checks.audit_portfolio`
returns and what ``audit.json`` / ``audit.md`` are written from (``to_json_dict``,
``to_markdown``); the tolerances the checks use are defined here and recorded in every report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from clusterfolio.artifacts.audit import AUDIT_DOCUMENT
from clusterfolio.artifacts.encoding import record
from clusterfolio.enums import CheckSeverity, CheckStatus

SUM_TOL = 1e-6
"""Tolerance of the sums: gross weights, exposures, cluster totals, aggressor share."""

CAP_TOL = 1e-6
"""A weight or a cluster total may exceed its cap by this much (solver rounding)."""

DIRECTION_TOL = 1e-9
"""Largest accepted ``|net - sign x gross|`` of one asset."""

MIN_BETA_SESSIONS = 20
"""Fewest market sessions a beta is estimated on."""

DOCUMENT = AUDIT_DOCUMENT
"""The ``profile`` of checks about the whole document."""


@dataclass(frozen=True)
class AuditCheck:
    """One check of the audit.

    Attributes
    ----------
    name : str
        The check (``asset_cap``, ``cluster_cap`` ...).
    profile : str
        The profile it is about, or :data:`DOCUMENT`.
    severity : CheckSeverity
        How serious a breach is (a recorded cap relaxation downgrades ``fail`` to ``warn``).
    passed : bool
        Whether the condition holds.
    message : str
        One line for people.
    evidence : dict
        The numbers behind the verdict (JSON-ready).
    """

    name: str
    profile: str
    severity: CheckSeverity
    passed: bool
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> CheckStatus:
        """``pass``, or ``warn`` / ``fail`` by severity when the check did not pass."""
        if self.passed:
            return CheckStatus.PASS
        return CheckStatus.WARN if self.severity is CheckSeverity.WARN else CheckStatus.FAIL

    @property
    def label(self) -> str:
        """``profile/name``."""
        return f"{self.profile}/{self.name}"


@dataclass(frozen=True)
class AuditReport:
    """The verdict of the audit over one ``portfolio_optimized.json``.

    Attributes
    ----------
    checks : tuple of AuditCheck
        Every check, document checks first, then profile by profile (sorted by name).
    as_of, regime, baseline : str
        From the portfolio document.
    tolerances, caps : dict
        The tolerances and the configured caps the checks used.
    meta : dict
        Provenance added by the caller (run id, input hashes, settings hash ...).
    """

    checks: tuple[AuditCheck, ...]
    as_of: str = ""
    regime: str = ""
    baseline: str = ""
    tolerances: dict[str, float] = field(default_factory=dict)
    caps: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when no check failed (warnings do not fail the audit)."""
        return not self.failures

    @property
    def failures(self) -> list[AuditCheck]:
        """The checks with the status ``fail``."""
        return [c for c in self.checks if c.status is CheckStatus.FAIL]

    @property
    def warnings(self) -> list[AuditCheck]:
        """The checks with the status ``warn``."""
        return [c for c in self.checks if c.status is CheckStatus.WARN]

    def with_meta(self, **meta: Any) -> AuditReport:
        """A copy with ``meta`` updated."""
        return replace(self, meta={**self.meta, **meta})

    def counts(self) -> dict[str, int]:
        """Number of checks per status."""
        out = {s.value: 0 for s in CheckStatus}
        for check in self.checks:
            out[check.status.value] += 1
        return out

    def failure_summary(self) -> str:
        """One line per failed check (``profile/name: message``)."""
        return "\n".join(f"  - {c.label}: {c.message}" for c in self.failures)

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready form (``audit.json``): the fields, each check with its status, the verdict."""
        return record(
            self,
            checks=[record(c, status=c.status) for c in self.checks],
            passed=self.passed,
            implementable=self.passed,
            counts=self.counts(),
            failed=[c.label for c in self.failures],
            warnings=[c.label for c in self.warnings],
        )

    def to_markdown(self) -> str:
        """The audit for people (``audit.md``): verdict, failures, warnings, table of checks."""
        counts = self.counts()
        verdict = "PASSED" if self.passed else "FAILED — do not implement this portfolio"
        lines = [
            f"# Portfolio audit: {verdict}",
            "",
            f"- as of: {self.as_of or '?'}; regime: {self.regime or '?'}; "
            f"baseline: {self.baseline or '?'}",
            f"- checks: {len(self.checks)} ({counts['pass']} pass, {counts['warn']} warn, "
            f"{counts['fail']} fail)",
            "- caps: " + ", ".join(f"{k} {_fmt(v)}" for k, v in sorted(self.caps.items())),
            "- tolerances: "
            + ", ".join(f"{k} {_fmt(v)}" for k, v in sorted(self.tolerances.items())),
        ]
        if self.meta.get("run_id"):
            lines.append(f"- run: {self.meta['run_id']}")
        for title, group in (("Failures", self.failures), ("Warnings", self.warnings)):
            if group:
                lines += ["", f"## {title}", ""]
                lines += [f"- **{c.label}**: {c.message}" for c in group]
        lines += [
            "",
            "## Checks",
            "",
            "| Profile | Check | Severity | Result | Evidence |",
            "|---|---|---|---|---|",
        ]
        for c in self.checks:
            result = {"pass": "pass", "warn": "WARN", "fail": "**FAIL**"}[c.status.value]
            lines.append(
                f"| {c.profile} | {c.name} | {c.severity.value} | {result} | "
                f"{_evidence_text(c.evidence)} |"
            )
        return "\n".join(lines) + "\n"


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        head = ", ".join(_fmt(v) for v in value[:6])
        return f"[{head}{', …' if len(value) > 6 else ''}]"
    if isinstance(value, Mapping):
        items = list(value.items())
        head = ", ".join(f"{k}: {_fmt(v)}" for k, v in items[:6])
        return "{" + head + (", …" if len(items) > 6 else "") + "}"
    return str(value)


def _evidence_text(evidence: Mapping[str, Any]) -> str:
    text = "; ".join(f"{k}={_fmt(v)}" for k, v in evidence.items())
    return text.replace("|", "\\|").replace("\n", " ")
