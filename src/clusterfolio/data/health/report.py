"""The data-health report of a run, its markdown, the strict gate and the corporate-action suspects."""

from __future__ import annotations

import itertools
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clusterfolio.data.health.checks import _plural
from clusterfolio.data.health.findings import SEVERITY_ORDER, FindingKind, ListingHealth, severity
from clusterfolio.enums import HealthStatus
from clusterfolio.errors import HealthError

if TYPE_CHECKING:
    pass


_NOT_OK: frozenset[HealthStatus] = frozenset(s for s in HealthStatus if s is not HealthStatus.OK)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


@dataclass(frozen=True)
class HealthReport:
    """Health verdicts of many listings, sorted by symbol.

    Parameters
    ----------
    listings : iterable of ListingHealth
        One verdict per symbol (sorted on construction; a repeated symbol is an error).
    """

    listings: tuple[ListingHealth, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.listings, key=lambda h: h.symbol))
        symbols = [h.symbol for h in ordered]
        repeated = sorted({s for a, s in itertools.pairwise(symbols) if a == s})
        if repeated:
            raise ValueError(f"HealthReport: symbols listed more than once: {repeated}")
        object.__setattr__(self, "listings", ordered)

    def __len__(self) -> int:
        return len(self.listings)

    def __getitem__(self, symbol: str) -> ListingHealth:
        for health in self.listings:
            if health.symbol == symbol:
                return health
        raise KeyError(symbol)

    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols, sorted."""
        return tuple(h.symbol for h in self.listings)

    @property
    def statuses(self) -> dict[str, HealthStatus]:
        """Status of each symbol."""
        return {h.symbol: h.status for h in self.listings}

    def counts(self) -> dict[HealthStatus, int]:
        """Number of listings per status, every status present, most severe first."""
        found = [h.status for h in self.listings]
        return {s: found.count(s) for s in SEVERITY_ORDER}

    def failing(
        self, statuses: Collection[HealthStatus] | None = None
    ) -> tuple[ListingHealth, ...]:
        """Listings whose status is in ``statuses`` (default: every status but ``OK``)."""
        chosen = _NOT_OK if statuses is None else frozenset(HealthStatus(s) for s in statuses)
        return tuple(h for h in self.listings if h.status in chosen)

    @property
    def all_ok(self) -> bool:
        """True when every listing is ``OK``."""
        return not self.failing()

    def to_json_dict(self) -> dict[str, Any]:
        """Return a deterministic JSON-ready dictionary (listings sorted by symbol)."""
        return {
            "n_listings": len(self.listings),
            "counts": {str(s): n for s, n in self.counts().items()},
            "severity_order": [str(s) for s in SEVERITY_ORDER],
            "listings": [h.to_dict() for h in self.listings],
        }

    def to_markdown(self, *, title: str = "Data health") -> str:
        """Return a Markdown summary: counts by status, then each listing needing attention.

        Listings needing attention are ordered by severity, then symbol; healthy listings with an
        informational note (short history) follow in a separate table.
        """
        lines = [f"## {title}", "", "| Status | Listings |", "| --- | ---: |"]
        lines += [f"| {s} | {n} |" for s, n in self.counts().items()]
        lines += [f"| **Total** | **{len(self.listings)}** |", ""]
        bad = sorted(self.failing(), key=lambda h: (-severity(h.status), h.symbol))
        if bad:
            lines += [
                "### Listings needing attention",
                "",
                "| Symbol | Status | Present / expected | Last bar | Evidence |",
                "| --- | --- | ---: | --- | --- |",
            ]
            lines += [
                f"| {_cell(h.symbol)} | {h.status} | {h.sessions_present} / {h.sessions_expected}"
                f" | {h.last_session.isoformat() if h.last_session else '-'} | {_cell(h.evidence())} |"
                for h in bad
            ]
        else:
            lines.append(f"All {len(self.listings)} listings are healthy.")
        notes = [h for h in self.listings if h.ok and h.findings]
        if notes:
            lines += ["", "### Notes on healthy listings", "", "| Symbol | Note |", "| --- | --- |"]
            lines += [
                f"| {_cell(h.symbol)} | {_cell(h.evidence(include_info=True))} |" for h in notes
            ]
        return "\n".join(lines) + "\n"


def strict_gate(
    report: HealthReport,
    *,
    strict: bool,
    fail_on: Collection[HealthStatus] | None = None,
) -> list[str]:
    """Apply the health gate.

    Parameters
    ----------
    report : HealthReport
        The audit (after recovery).
    strict : bool
        ``strict_health`` of the manifest: fail instead of warning.
    fail_on : collection of HealthStatus, optional
        Statuses that breach the gate (default: every status but ``OK``).

    Returns
    -------
    list of str
        One problem per failing listing, ``"SYMBOL: STATUS - evidence"`` (empty when healthy);
        these are the warnings to record when ``strict`` is false.

    Raises
    ------
    HealthError
        ``strict`` is true and a listing fails; the message lists every failing listing.
    """
    problems = [f"{h.symbol}: {h.status} - {h.evidence()}" for h in report.failing(fail_on)]
    if strict and problems:
        raise HealthError(
            f"health gate failed (strict_health): {_plural(len(problems), 'listing')} not healthy:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
    return problems


def corporate_action_suspects(report: HealthReport) -> dict[str, str]:
    """``symbol -> evidence`` of the listings with a suspected corporate action.

    They stay in the implementation universe by default (their status is ``OK``); the health
    step excludes them under ``strict_health`` (never the market baseline).
    """
    out: dict[str, str] = {}
    for health in report.listings:
        found = [
            f.detail for f in health.findings if f.kind is FindingKind.SUSPECT_CORPORATE_ACTION
        ]
        if found:
            out[health.symbol] = "; ".join(found)
    return out
