"""The audit gate: every constraint of ``portfolio_optimized.json`` checked, with evidence.

``make audit`` (``clusterfolio audit``) runs :func:`audit_portfolio` over the optimised portfolio
of a run. A portfolio whose audit fails must not be implemented (``accept-state`` refuses it).

Checks
------
Each check has a name, the profile it is about (``*`` for the whole document), a severity
(``fail`` or ``warn``: how serious a breach is), whether it passed, a message and the evidence
(numbers). Its status is ``pass`` when it passed, else ``warn`` or ``fail`` by its severity; the
audit passes when no check has the status ``fail``.

For every profile of the document:

``weights_finite`` (fail)
    Every held asset has a symbol (no duplicates), a finite gross weight ``>= 0`` and a finite net
    weight (``null``, NaN and inf are breaches).
``direction_consistency`` (fail)
    ``net == sign x gross`` (``sign`` +1 for LONG, -1 for SHORT; the market profile is always long).
``weights_sum`` (fail)
    The gross weights add up to one within :data:`SUM_TOL`.
``exposure_bounds`` (fail)
    The recorded ``gross_exposure`` is one and ``|net_exposure| <= 1`` (within :data:`SUM_TOL`),
    and both equal the sums recomputed from the assets.
``cluster_totals_consistent`` (fail)
    The recorded per-cluster gross and net sums equal those recomputed from the assets.
``asset_cap`` / ``cluster_cap`` (fail; every profile but ``market``)
    No gross weight above ``risk.asset_cap`` and no cluster total (recomputed from the assets'
    ``cluster``) above ``risk.cluster_cap``, within :data:`CAP_TOL`. A breach covered by a cap
    relaxation recorded in the profile (``fallbacks`` or ``diagnostics.cap_relaxations``, kind
    ``cap_relaxation``, raising that cap to ``to``) is downgraded to a warning; a breach beyond the
    recorded relaxed cap, or with none recorded, fails. A held asset without a cluster fails the
    cluster cap (the cap cannot be verified).
``data_health`` (fail)
    Every held asset is ``OK`` in ``data_health.json`` (an asset absent from it, or no health
    document at all, fails); with ``universe.json`` also every held asset is in the implementation
    universe. ``data_forward_fill`` (warn) flags held assets whose matrices were forward-filled.
``barbell_insulation`` (fail; ``barbell``)
    ``diagnostics.barbell`` names the aggressors and the core; they are disjoint, the aggressors
    sit in distinct clusters, and every held asset is one or the other.
``barbell_aggressor_share`` (fail; ``barbell``)
    The aggressors' gross weight (recomputed from the assets) equals the regime's configured
    share ``risk.barbell_aggressor_share[regime]`` within :data:`SUM_TOL`, and never exceeds the
    largest share of the table (the band). A smaller share passes with a warning only when a
    reduction is recorded (fallback ``barbell_share`` or ``barbell_aggressors``); the recorded
    ``diagnostics.barbell.aggressor_share`` must match.
``market_beta`` (warn; ``min_variance``)
    The beta of the profile's net weights to the market baseline (from ``returns.parquet``, see
    :func:`market_beta`) is at most ``risk.beta_threshold``; no returns or too few sessions is a
    warning too.
``market_baseline`` (fail; ``market``)
    The market profile is exactly 100% gross and net long the baseline (``AMEX:SPY``).

And once for the document: ``profiles_present`` (fail), every profile of ``risk.profiles`` is in
the document.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.artifacts.encoding import jsonable
from clusterfolio.artifacts.fallbacks import Fallback, FallbackKind, fallbacks_of
from clusterfolio.artifacts.portfolio import profiles_of
from clusterfolio.enums import Direction, HealthStatus, ProfileName, Regime
from clusterfolio.manifest import Settings

SUM_TOL = 1e-6
"""Tolerance of the sums: gross weights, exposures, cluster totals, aggressor share."""

CAP_TOL = 1e-6
"""A weight or a cluster total may exceed its cap by this much (solver rounding)."""

DIRECTION_TOL = 1e-9
"""Largest accepted ``|net - sign x gross|`` of one asset."""

MIN_BETA_SESSIONS = 20
"""Fewest market sessions a beta is estimated on."""

DOCUMENT = "*"
"""The ``profile`` of checks about the whole document."""

BETA_PROFILES: tuple[ProfileName, ...] = (ProfileName.MIN_VARIANCE,)
"""Profiles whose market beta is checked against ``risk.beta_threshold``."""


class Severity(StrEnum):
    """How serious a breach of a check is."""

    FAIL = "fail"
    WARN = "warn"


class CheckStatus(StrEnum):
    """Outcome of a check: it passed, or it did not and is a warning or a failure."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class AuditCheck:
    """One check of the audit.

    Attributes
    ----------
    name : str
        The check (``asset_cap``, ``cluster_cap`` ...).
    profile : str
        The profile it is about, or :data:`DOCUMENT`.
    severity : Severity
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
    severity: Severity
    passed: bool
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> CheckStatus:
        """``pass``, or ``warn`` / ``fail`` by severity when the check did not pass."""
        if self.passed:
            return CheckStatus.PASS
        return CheckStatus.WARN if self.severity is Severity.WARN else CheckStatus.FAIL

    @property
    def label(self) -> str:
        """``profile/name``."""
        return f"{self.profile}/{self.name}"

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready form (non-finite numbers become strings such as ``"nan"``)."""
        return {
            "name": self.name,
            "profile": self.profile,
            "severity": self.severity.value,
            "passed": self.passed,
            "status": self.status.value,
            "message": self.message,
            "evidence": jsonable(self.evidence),
        }


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
        return AuditReport(
            checks=self.checks,
            as_of=self.as_of,
            regime=self.regime,
            baseline=self.baseline,
            tolerances=dict(self.tolerances),
            caps=dict(self.caps),
            meta={**self.meta, **meta},
        )

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
        """JSON-ready form (``audit.json``)."""
        return {
            "passed": self.passed,
            "implementable": self.passed,
            "as_of": self.as_of,
            "regime": self.regime,
            "baseline": self.baseline,
            "counts": self.counts(),
            "failed": [c.label for c in self.failures],
            "warnings": [c.label for c in self.warnings],
            "tolerances": dict(self.tolerances),
            "caps": jsonable(self.caps),
            "meta": jsonable(self.meta),
            "checks": [c.to_json_dict() for c in self.checks],
        }

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


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


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


def _num(value: Any) -> float:
    """A float, or NaN for anything that is not a real number (``None``, strings, bools)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return math.nan
    return float(value)


@dataclass(frozen=True)
class _Asset:
    symbol: str
    gross: float
    net: float
    cluster: int | None
    direction: str


def _assets(section: Mapping[str, Any]) -> list[_Asset]:
    raw = section.get("assets")
    out = []
    for row in raw if isinstance(raw, list) else []:
        if not isinstance(row, Mapping):
            continue
        cluster = row.get("cluster")
        out.append(
            _Asset(
                symbol=str(row.get("symbol") or ""),
                gross=_num(row.get("gross")),
                net=_num(row.get("net")),
                cluster=int(cluster)
                if isinstance(cluster, int | str) and str(cluster).lstrip("-").isdigit()
                else None,
                direction=str(row.get("direction", Direction.LONG.value)),
            )
        )
    return out


def _held(assets: Sequence[_Asset]) -> list[_Asset]:
    return [a for a in assets if math.isfinite(a.gross) and a.gross > 0]


def _fallbacks(section: Mapping[str, Any]) -> list[Fallback]:
    found = fallbacks_of(section.get("fallbacks"))
    diagnostics = section.get("diagnostics")
    if isinstance(diagnostics, Mapping):
        found += fallbacks_of(diagnostics.get("cap_relaxations"))
    return found


def _relaxations(section: Mapping[str, Any], cap: str) -> list[dict[str, Any]]:
    """Recorded relaxations of ``cap`` (deduplicated: fallbacks and diagnostics repeat them)."""
    seen: dict[tuple[float, float, str], dict[str, Any]] = {}
    for record in _fallbacks(section):
        if not record.is_kind(FallbackKind.CAP_RELAXATION) or record.get("cap") != cap:
            continue
        to = _num(record.get("to"))
        if not math.isfinite(to):
            continue
        key = (_num(record.get("from")), to, record.detail or "")
        seen[key] = {"from": key[0], "to": to, "detail": key[2]}
    return [seen[k] for k in sorted(seen, key=lambda k: (k[1], k[2]))]


def _check(
    name: str,
    profile: str,
    passed: bool,
    message: str,
    evidence: dict[str, Any],
    severity: Severity = Severity.FAIL,
) -> AuditCheck:
    return AuditCheck(name, profile, severity, bool(passed), message, evidence)


# --------------------------------------------------------------------------------------------
# the checks
# --------------------------------------------------------------------------------------------


def _check_finite(profile: str, assets: Sequence[_Asset]) -> AuditCheck:
    bad = sorted(
        a.symbol or "<no symbol>"
        for a in assets
        if not (math.isfinite(a.gross) and math.isfinite(a.net)) or a.gross < 0 or not a.symbol
    )
    symbols = [a.symbol for a in assets]
    duplicates = sorted({s for s in symbols if symbols.count(s) > 1})
    ok = not bad and not duplicates
    message = (
        f"{len(assets)} assets, every weight finite and gross >= 0"
        if ok
        else f"non-finite or negative weights: {bad}; duplicated symbols: {duplicates}"
    )
    return _check(
        "weights_finite",
        profile,
        ok,
        message,
        {"n_assets": len(assets), "bad": bad, "duplicates": duplicates},
    )


def _check_direction(profile: str, assets: Sequence[_Asset], *, market: bool) -> AuditCheck:
    worst = 0.0
    bad: list[str] = []
    for a in assets:
        if a.direction not in (Direction.LONG.value, Direction.SHORT.value):
            bad.append(a.symbol)
            continue
        sign = 1.0 if market else float(Direction(a.direction).sign)
        err = abs(a.net - sign * a.gross)
        if not math.isfinite(err) or err > DIRECTION_TOL:
            bad.append(a.symbol)
        if math.isfinite(err):
            worst = max(worst, err)
    ok = not bad
    return _check(
        "direction_consistency",
        profile,
        ok,
        "net = sign x gross for every asset"
        if ok
        else f"net weight inconsistent with direction for {sorted(bad)}",
        {"max_abs_error": worst, "tolerance": DIRECTION_TOL, "bad": sorted(bad)},
    )


def _check_sum(profile: str, assets: Sequence[_Asset]) -> AuditCheck:
    total = float(sum(a.gross for a in assets))
    ok = math.isfinite(total) and abs(total - 1.0) <= SUM_TOL
    return _check(
        "weights_sum",
        profile,
        ok,
        f"gross weights sum to {total:.9g}" + ("" if ok else f" (not 1 within {SUM_TOL:g})"),
        {"gross_sum": total, "deviation": total - 1.0, "tolerance": SUM_TOL},
    )


def _check_exposure(
    profile: str, section: Mapping[str, Any], assets: Sequence[_Asset]
) -> AuditCheck:
    gross = float(sum(a.gross for a in assets))
    net = float(sum(a.net for a in assets))
    recorded_gross = _num(section.get("gross_exposure"))
    recorded_net = _num(section.get("net_exposure"))
    problems = []
    if not (math.isfinite(recorded_gross) and abs(recorded_gross - 1.0) <= SUM_TOL):
        problems.append(f"gross exposure {recorded_gross:.9g} is not 1")
    if not (math.isfinite(recorded_net) and abs(recorded_net) <= 1.0 + SUM_TOL):
        problems.append(f"|net exposure| {abs(recorded_net):.9g} above 1")
    if not abs(recorded_gross - gross) <= SUM_TOL:
        problems.append(f"recorded gross {recorded_gross:.9g} != assets' {gross:.9g}")
    if not abs(recorded_net - net) <= SUM_TOL:
        problems.append(f"recorded net {recorded_net:.9g} != assets' {net:.9g}")
    if not abs(net) <= 1.0 + SUM_TOL:
        problems.append(f"assets' |net| {abs(net):.9g} above 1")
    ok = not problems
    return _check(
        "exposure_bounds",
        profile,
        ok,
        f"gross {gross:.6g}, net {net:+.6g}" if ok else "; ".join(problems),
        {
            "gross": gross,
            "net": net,
            "recorded_gross": recorded_gross,
            "recorded_net": recorded_net,
            "tolerance": SUM_TOL,
        },
    )


def _cluster_totals(assets: Sequence[_Asset]) -> tuple[dict[int, float], dict[int, float]]:
    gross: dict[int, float] = {}
    net: dict[int, float] = {}
    for a in assets:
        if a.cluster is None:
            continue
        gross[a.cluster] = gross.get(a.cluster, 0.0) + a.gross
        net[a.cluster] = net.get(a.cluster, 0.0) + a.net
    return gross, net


def _check_cluster_totals(
    profile: str, section: Mapping[str, Any], assets: Sequence[_Asset]
) -> AuditCheck:
    gross, net = _cluster_totals(assets)
    recorded = section.get("clusters")
    recorded = recorded if isinstance(recorded, Mapping) else {}
    mismatched: list[str] = []
    worst = 0.0
    for key in sorted({*(str(c) for c in gross), *(str(k) for k in recorded)}):
        entry = recorded.get(key)
        entry = entry if isinstance(entry, Mapping) else {}
        cluster = int(key) if key.lstrip("-").isdigit() else None
        for kind, mine in (("gross", gross), ("net", net)):
            value = mine.get(cluster, 0.0) if cluster is not None else math.nan
            other = _num(entry.get(kind, 0.0))
            err = abs(value - other)
            if not err <= SUM_TOL:
                mismatched.append(f"{key}:{kind}")
            if math.isfinite(err):
                worst = max(worst, err)
    ok = not mismatched
    return _check(
        "cluster_totals_consistent",
        profile,
        ok,
        f"{len(gross)} cluster totals match the assets"
        if ok
        else f"recorded cluster totals differ from the assets for {mismatched}",
        {"n_clusters": len(gross), "max_abs_error": worst, "mismatched": mismatched},
    )


def _cap_check(
    name: str,
    profile: str,
    section: Mapping[str, Any],
    values: Mapping[str, float],
    cap: float,
    *,
    extra_problems: Sequence[str] = (),
) -> AuditCheck:
    """Shared logic of ``asset_cap`` and ``cluster_cap`` (``values``: item -> weight)."""
    relaxations = _relaxations(section, name)
    relaxed = max([cap, *(r["to"] for r in relaxations)])
    worst_item, worst = max(values.items(), key=lambda kv: (kv[1], kv[0]), default=("", 0.0))
    over = sorted(k for k, v in values.items() if v > cap + CAP_TOL)
    beyond = sorted(k for k, v in values.items() if v > relaxed + CAP_TOL)
    evidence: dict[str, Any] = {
        "cap": cap,
        "max_weight": worst,
        "max_item": worst_item,
        "tolerance": CAP_TOL,
        "over_cap": over,
    }
    if relaxations:
        evidence["relaxed_cap"] = relaxed
        evidence["relaxations"] = [r["detail"] for r in relaxations]
    if extra_problems:
        evidence["problems"] = list(extra_problems)
        return _check(name, profile, False, "; ".join(extra_problems), evidence)
    if not over:
        return _check(name, profile, True, f"max {worst:.6g} <= cap {cap:.6g}", evidence)
    if beyond:
        where = "the recorded relaxation" if relaxations else "the cap (no relaxation recorded)"
        return _check(
            name,
            profile,
            False,
            f"{len(beyond)} above {where} {relaxed:.6g}: {beyond} (max {worst:.6g})",
            {**evidence, "beyond_relaxation": beyond},
        )
    return _check(
        name,
        profile,
        False,
        f"{over} above the configured cap {cap:.6g} but within the recorded relaxation "
        f"{relaxed:.6g}",
        evidence,
        Severity.WARN,
    )


def _check_asset_cap(
    profile: str, section: Mapping[str, Any], assets: Sequence[_Asset], cap: float
) -> AuditCheck:
    return _cap_check("asset_cap", profile, section, {a.symbol: a.gross for a in assets}, cap)


def _check_cluster_cap(
    profile: str, section: Mapping[str, Any], assets: Sequence[_Asset], cap: float
) -> AuditCheck:
    gross, _ = _cluster_totals(assets)
    orphans = sorted(a.symbol for a in _held(assets) if a.cluster is None)
    problems = [f"held assets without a cluster: {orphans}"] if orphans else []
    return _cap_check(
        "cluster_cap",
        profile,
        section,
        {str(k): v for k, v in gross.items()},
        cap,
        extra_problems=problems,
    )


def _health_map(health: Mapping[str, Any] | None) -> dict[str, str] | None:
    if health is None:
        return None
    listings = health.get("listings")
    out = {}
    for row in listings if isinstance(listings, list) else []:
        if isinstance(row, Mapping) and "symbol" in row:
            out[str(row["symbol"])] = str(row.get("status", ""))
    return out


def _check_health(
    profile: str,
    assets: Sequence[_Asset],
    statuses: Mapping[str, str] | None,
    universe: Mapping[str, Any] | None,
) -> list[AuditCheck]:
    held = sorted(a.symbol for a in _held(assets))
    checks = []
    if statuses is None:
        checks.append(
            _check(
                "data_health",
                profile,
                False,
                "no data health document (data_health.json): the universe is unaudited",
                {"n_held": len(held)},
            )
        )
    else:
        bad = {s: statuses.get(s, "ABSENT") for s in held if statuses.get(s) != HealthStatus.OK}
        outside: list[str] = []
        if universe is not None:
            members = {str(s) for s in universe.get("symbols", [])}
            outside = [s for s in held if s not in members]
        ok = not bad and not outside
        message = f"{len(held)} held assets, all OK"
        if not ok:
            parts = []
            if bad:
                parts.append("not OK: " + ", ".join(f"{s} {v}" for s, v in sorted(bad.items())))
            if outside:
                parts.append(f"outside the implementation universe: {outside}")
            message = "; ".join(parts)
        checks.append(
            _check(
                "data_health",
                profile,
                ok,
                message,
                {"n_held": len(held), "not_ok": bad, "outside_universe": outside},
            )
        )
    if universe is not None:
        filled = universe.get("filled")
        filled = filled if isinstance(filled, Mapping) else {}
        touched = {s: len(filled[s]) for s in held if filled.get(s)}
        checks.append(
            _check(
                "data_forward_fill",
                profile,
                not touched,
                "no held asset was forward-filled"
                if not touched
                else f"held assets with forward-filled sessions: {sorted(touched)}",
                {"forward_filled_sessions": touched},
                Severity.WARN,
            )
        )
    return checks


def _barbell_checks(
    profile: str,
    section: Mapping[str, Any],
    assets: Sequence[_Asset],
    *,
    settings: Settings,
    regime: str,
) -> list[AuditCheck]:
    diagnostics = section.get("diagnostics")
    barbell = diagnostics.get("barbell") if isinstance(diagnostics, Mapping) else None
    if not isinstance(barbell, Mapping):
        missing = "no diagnostics.barbell: aggressors and core are not recorded"
        return [
            _check("barbell_insulation", profile, False, missing, {}),
            _check("barbell_aggressor_share", profile, False, missing, {}),
        ]
    aggressors = [str(s) for s in barbell.get("aggressors", []) or []]
    core = [str(s) for s in barbell.get("core", []) or []]
    by_symbol = {a.symbol: a for a in assets}
    overlap = sorted(set(aggressors) & set(core))
    held = {a.symbol for a in _held(assets)}
    unclassified = sorted(held - set(aggressors) - set(core))
    agg_clusters = [by_symbol[s].cluster for s in aggressors if s in by_symbol]
    shared_aggressor_clusters = sorted(
        {c for c in agg_clusters if c is not None and agg_clusters.count(c) > 1}
    )
    core_clusters = {by_symbol[s].cluster for s in core if s in by_symbol and s in held}
    problems = []
    if overlap:
        problems.append(f"aggressors also in the core: {overlap}")
    if unclassified:
        problems.append(f"held assets neither aggressor nor core: {unclassified}")
    if shared_aggressor_clusters:
        problems.append(f"several aggressors in clusters {shared_aggressor_clusters}")
    insulation = _check(
        "barbell_insulation",
        profile,
        not problems,
        f"{len(aggressors)} aggressors and {len(core)} core assets, disjoint"
        if not problems
        else "; ".join(problems),
        {
            "aggressors": aggressors,
            "n_core": len(core),
            "overlap": overlap,
            "unclassified": unclassified,
            "aggressor_clusters": [c for c in agg_clusters if c is not None],
            "clusters_shared_with_core": sorted(
                c for c in set(agg_clusters) & core_clusters if c is not None
            ),
        },
    )
    share = float(sum(by_symbol[s].gross for s in aggressors if s in by_symbol))
    table = {Regime(k).value: float(v) for k, v in settings.risk.barbell_aggressor_share.items()}
    expected = table.get(regime, math.nan)
    band = (min(table.values(), default=0.0), max(table.values(), default=0.0))
    recorded = _num(barbell.get("aggressor_share"))
    reductions = [
        f.text
        for f in _fallbacks(section)
        if f.is_kind(FallbackKind.BARBELL_SHARE, FallbackKind.BARBELL_AGGRESSORS)
    ]
    evidence: dict[str, Any] = {
        "share": share,
        "expected": expected,
        "regime": regime,
        "band": list(band),
        "recorded_share": recorded,
        "tolerance": SUM_TOL,
    }
    if reductions:
        evidence["recorded_reductions"] = reductions
    severity = Severity.FAIL
    if not math.isfinite(expected):
        ok, message = False, f"no configured aggressor share for regime {regime!r}"
    elif not abs(recorded - share) <= SUM_TOL:
        ok, message = False, f"recorded share {recorded:.6g} != aggressors' weight {share:.6g}"
    elif share > band[1] + SUM_TOL:
        ok, message = False, f"aggressor share {share:.6g} above the band maximum {band[1]:.6g}"
    elif abs(share - expected) <= SUM_TOL:
        ok, message = True, f"aggressor share {share:.6g} = configured {expected:.6g} ({regime})"
    elif share < expected and reductions:
        ok, severity = False, Severity.WARN
        message = f"aggressor share {share:.6g} below configured {expected:.6g}: reduction recorded"
    else:
        ok = False
        message = (
            f"aggressor share {share:.6g} differs from configured {expected:.6g} ({regime}) "
            "and no reduction is recorded"
        )
    return [insulation, _check("barbell_aggressor_share", profile, ok, message, evidence, severity)]


def market_beta(weights: Mapping[str, float], returns: pd.DataFrame, market: str) -> dict[str, Any]:
    """Beta of a portfolio (net weights) to the market, on the market's own sessions.

    Each asset's simple returns are compounded over the interval between two consecutive
    market sessions (an asset's closed days are no move, never a zero-padded session), the
    portfolio return of the interval is ``sum_i w_i R_i`` and
    ``beta = cov(r_p, r_m) / var(r_m)`` (sample moments).

    Parameters
    ----------
    weights : mapping
        Net weight per symbol (SHORT positions negative).
    returns : pandas.DataFrame
        Simple returns, index sorted session dates, one column per symbol, NaN where closed.
    market : str
        The market column (``AMEX:SPY``).

    Returns
    -------
    dict
        ``beta`` (None when it cannot be estimated, with ``reason``), ``n_sessions``,
        ``missing`` (held symbols without returns) and ``missing_weight``.
    """
    held = {str(s): float(w) for s, w in weights.items() if w != 0 and math.isfinite(w)}
    missing = sorted(s for s in held if s not in returns.columns)
    out: dict[str, Any] = {
        "beta": None,
        "n_sessions": 0,
        "missing": missing,
        "missing_weight": float(sum(abs(held[s]) for s in missing)),
    }
    if market not in returns.columns:
        return {**out, "reason": f"{market} not in the returns"}
    frame = returns.sort_index()
    on_market = frame[market].notna().to_numpy()
    symbols = sorted(s for s in held if s in frame.columns)
    growth = (1.0 + frame[symbols].astype(np.float64).fillna(0.0)).cumprod()
    sampled = growth.loc[on_market]
    if len(sampled) < 2:
        return {**out, "reason": "fewer than two market sessions"}
    interval = sampled.to_numpy()[1:] / sampled.to_numpy()[:-1] - 1.0
    r_p = interval @ np.array([held[s] for s in symbols]) if symbols else np.zeros(len(interval))
    r_m = frame[market].to_numpy(dtype=np.float64)[on_market][1:]
    out["n_sessions"] = len(r_m)
    if len(r_m) < MIN_BETA_SESSIONS:
        return {**out, "reason": f"{len(r_m)} market sessions (< {MIN_BETA_SESSIONS})"}
    var_m = float(np.var(r_m, ddof=1))
    if not var_m > 0:
        return {**out, "reason": "the market returns have no variance"}
    cov = float(np.cov(r_p, r_m, ddof=1)[0, 1])
    return {**out, "beta": cov / var_m}


def _check_beta(
    profile: str,
    assets: Sequence[_Asset],
    returns: pd.DataFrame | None,
    *,
    market: str,
    threshold: float,
) -> AuditCheck:
    if returns is None:
        return _check(
            "market_beta",
            profile,
            False,
            "no returns matrix: the market beta could not be measured",
            {"threshold": threshold},
            Severity.WARN,
        )
    estimate = market_beta({a.symbol: a.net for a in _held(assets)}, returns, market)
    beta = estimate["beta"]
    evidence = {"beta": beta, "threshold": threshold, "market": market, **estimate}
    evidence.pop("reason", None)
    if beta is None:
        return _check(
            "market_beta",
            profile,
            False,
            f"market beta not measurable: {estimate.get('reason')}",
            evidence,
            Severity.WARN,
        )
    ok = beta <= threshold and not estimate["missing"]
    message = f"beta to {market} {beta:.3f} (threshold {threshold:.3g})"
    if beta > threshold:
        message += ": above the threshold"
    if estimate["missing"]:
        message += f"; held without returns: {estimate['missing']}"
    return _check("market_beta", profile, ok, message, evidence, Severity.WARN)


def _check_market(profile: str, assets: Sequence[_Asset], baseline: str) -> AuditCheck:
    held = _held(assets)
    gross = float(sum(a.gross for a in held if a.symbol == baseline))
    net = float(sum(a.net for a in held if a.symbol == baseline))
    others = sorted(a.symbol for a in held if a.symbol != baseline)
    ok = not others and abs(gross - 1.0) <= SUM_TOL and abs(net - 1.0) <= SUM_TOL
    return _check(
        "market_baseline",
        profile,
        ok,
        f"100% long {baseline}"
        if ok
        else f"market profile is not 100% long {baseline}: gross {gross:.6g}, net {net:+.6g}, "
        f"other assets {others}",
        {"baseline": baseline, "gross": gross, "net": net, "other_assets": others},
    )


def audit_portfolio(
    portfolio: Mapping[str, Any],
    *,
    settings: Settings,
    health: Mapping[str, Any] | None,
    returns: pd.DataFrame | None,
    universe: Mapping[str, Any] | None = None,
) -> AuditReport:
    """Audit every profile of an optimised portfolio (pure: reads nothing, writes nothing).

    Parameters
    ----------
    portfolio : mapping
        The ``portfolio_optimized.json`` document.
    settings : Settings
        The run's resolved settings (caps, beta threshold, aggressor share table, profiles).
    health : mapping or None
        The ``data_health.json`` document; None fails every profile's ``data_health`` check.
    returns : pandas.DataFrame or None
        The audited return matrix (``returns.parquet``) for the market beta; None is a warning.
    universe : mapping, optional
        The ``universe.json`` document: held assets must be members; forward fills are flagged.

    Returns
    -------
    AuditReport
        Every check (see the module documentation); ``report.passed`` is the verdict.
    """
    risk = settings.risk
    baseline = str(portfolio.get("baseline") or settings.backtest.baseline)
    regime = str(portfolio.get("regime", ""))
    profiles = profiles_of(portfolio)
    expected = [p.value for p in risk.profiles]
    absent = [p for p in expected if p not in profiles]
    checks: list[AuditCheck] = [
        _check(
            "profiles_present",
            DOCUMENT,
            not absent,
            f"{len(profiles)} profiles, every configured one present"
            if not absent
            else f"configured profiles missing from the portfolio: {absent}",
            {"expected": expected, "present": sorted(profiles), "missing": absent},
        )
    ]
    statuses = _health_map(health)
    for name in sorted(profiles):
        section = profiles[name]
        if not isinstance(section, Mapping):
            checks.append(_check("weights_finite", name, False, "profile is not an object", {}))
            continue
        assets = _assets(section)
        is_market = name == ProfileName.MARKET.value
        checks += [
            _check_finite(name, assets),
            _check_direction(name, assets, market=is_market),
            _check_sum(name, assets),
            _check_exposure(name, section, assets),
            _check_cluster_totals(name, section, assets),
        ]
        if is_market:
            checks.append(_check_market(name, assets, baseline))
        else:
            checks.append(_check_asset_cap(name, section, assets, risk.asset_cap))
            checks.append(_check_cluster_cap(name, section, assets, risk.cluster_cap))
        if name == ProfileName.BARBELL.value:
            checks += _barbell_checks(name, section, assets, settings=settings, regime=regime)
        if name in {p.value for p in BETA_PROFILES}:
            checks.append(
                _check_beta(
                    name, assets, returns, market=baseline, threshold=float(risk.beta_threshold)
                )
            )
        checks += _check_health(name, assets, statuses, universe)
    recorded_caps = {k: portfolio.get(k) for k in ("asset_cap", "cluster_cap") if k in portfolio}
    caps: dict[str, Any] = {
        "asset_cap": risk.asset_cap,
        "cluster_cap": risk.cluster_cap,
        "beta_threshold": risk.beta_threshold,
    }
    if recorded_caps and recorded_caps != {
        "asset_cap": risk.asset_cap,
        "cluster_cap": risk.cluster_cap,
    }:
        caps["portfolio_recorded"] = recorded_caps
    return AuditReport(
        checks=tuple(checks),
        as_of=str(portfolio.get("as_of", "")),
        regime=regime,
        baseline=baseline,
        tolerances={"sum": SUM_TOL, "cap": CAP_TOL, "direction": DIRECTION_TOL},
        caps=caps,
    )
