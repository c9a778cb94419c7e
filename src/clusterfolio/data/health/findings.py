"""Health statuses, finding kinds and the value objects of a data-health audit
(:mod:`clusterfolio.data.health`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from clusterfolio.artifacts.encoding import record
from clusterfolio.enums import HealthStatus

#: Statuses from most to least severe (see the module docstring for why).
SEVERITY_ORDER: tuple[HealthStatus, ...] = (
    HealthStatus.MISSING,
    HealthStatus.ANOMALOUS,
    HealthStatus.STALE,
    HealthStatus.GAPPED,
    HealthStatus.OK,
)
_RANK: dict[HealthStatus, int] = {
    s: len(SEVERITY_ORDER) - 1 - i for i, s in enumerate(SEVERITY_ORDER)
}

#: Price ratios (and their inverses) that look like a stock split or a reverse split.
DEFAULT_SPLIT_FACTORS: tuple[float, ...] = (2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0)

#: Floor of the robust scale of log returns (1 basis point).
MIN_RETURN_SCALE = 1e-4

#: Number of returns (centred on the bar) over which the local robust scale is measured.
LOCAL_WINDOW = 21

_MAD_TO_SIGMA = 1.4826
_OHLC_RTOL = 1e-9
_SHOWN = 5  # sessions or examples quoted in a detail string


def severity(status: HealthStatus) -> int:
    """Return the rank of ``status``: 0 for OK, higher is worse (see :data:`SEVERITY_ORDER`)."""
    return _RANK[HealthStatus(status)]


def most_severe(statuses: Iterable[HealthStatus]) -> HealthStatus:
    """Return the most severe of ``statuses`` (``OK`` when empty)."""
    return max(statuses, key=severity, default=HealthStatus.OK)


class FindingKind(StrEnum):
    """What a finding is about; :attr:`status` is the health status it implies.

    Members are declared from the most to the least severe; findings are listed in this order.
    """

    NO_DATA = "no_data"
    TOO_SHORT = "too_short"
    NON_FINITE_PRICE = "non_finite_price"
    NON_POSITIVE_PRICE = "non_positive_price"
    OHLC_INCONSISTENT = "ohlc_inconsistent"
    DUPLICATE_SESSION = "duplicate_session"
    UNEXPECTED_SESSION = "unexpected_session"
    SPIKE = "spike"
    SUSPECTED_SPLIT = "suspected_split"
    STALE = "stale"
    GAP = "gap"
    SUSPECT_CORPORATE_ACTION = "SUSPECT_CORPORATE_ACTION"
    SHORT_HISTORY = "short_history"

    @property
    def status(self) -> HealthStatus:
        """The health status this kind of finding implies."""
        return _KIND_STATUS[self]

    @property
    def order(self) -> int:
        """Position in the declaration order (used to sort findings)."""
        return _KIND_ORDER[self]


_KIND_STATUS: dict[FindingKind, HealthStatus] = {
    FindingKind.NO_DATA: HealthStatus.MISSING,
    FindingKind.TOO_SHORT: HealthStatus.MISSING,
    FindingKind.NON_FINITE_PRICE: HealthStatus.ANOMALOUS,
    FindingKind.NON_POSITIVE_PRICE: HealthStatus.ANOMALOUS,
    FindingKind.OHLC_INCONSISTENT: HealthStatus.ANOMALOUS,
    FindingKind.DUPLICATE_SESSION: HealthStatus.ANOMALOUS,
    FindingKind.UNEXPECTED_SESSION: HealthStatus.ANOMALOUS,
    FindingKind.SPIKE: HealthStatus.ANOMALOUS,
    FindingKind.SUSPECTED_SPLIT: HealthStatus.ANOMALOUS,
    FindingKind.STALE: HealthStatus.STALE,
    FindingKind.GAP: HealthStatus.GAPPED,
    FindingKind.SUSPECT_CORPORATE_ACTION: HealthStatus.OK,
    FindingKind.SHORT_HISTORY: HealthStatus.OK,
}
_KIND_ORDER: dict[FindingKind, int] = {k: i for i, k in enumerate(FindingKind)}


@dataclass(frozen=True)
class SessionRun:
    """A run of consecutive calendar sessions (consecutive in the calendar, not in days).

    Parameters
    ----------
    first, last : date
        First and last session of the run.
    length : int
        Number of sessions in the run.
    """

    first: date
    last: date
    length: int

    def __str__(self) -> str:
        if self.length == 1:
            return self.first.isoformat()
        return f"{self.first.isoformat()}..{self.last.isoformat()} ({self.length})"


@dataclass(frozen=True)
class Finding:
    """One piece of evidence about a listing.

    Parameters
    ----------
    kind : FindingKind
        What was found; ``kind.status`` is the status it implies.
    sessions : tuple of date
        The sessions concerned, ascending.
    detail : str
        A sentence for people (values, thresholds).
    runs : tuple of SessionRun
        For gaps, staleness and short history: the sessions grouped in calendar runs.
    """

    kind: FindingKind
    sessions: tuple[date, ...]
    detail: str
    runs: tuple[SessionRun, ...] = ()

    @property
    def status(self) -> HealthStatus:
        """The health status this finding implies."""
        return self.kind.status


@dataclass(frozen=True)
class ListingHealth:
    """Health verdict of one listing.

    Parameters
    ----------
    symbol : str
        ``EXCHANGE:TICKER``.
    findings : tuple of Finding
        The evidence; kept most severe kind first whatever order it is given in.
    sessions_expected : int
        Sessions of the audited window.
    sessions_present : int
        Window sessions with a stored bar.
    last_session : date or None
        Last stored session inside the window.
    """

    symbol: str
    findings: tuple[Finding, ...] = ()
    sessions_expected: int = 0
    sessions_present: int = 0
    last_session: date | None = None

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.findings, key=lambda f: f.kind.order))
        object.__setattr__(self, "findings", ordered)

    @property
    def status(self) -> HealthStatus:
        """The most severe status implied by the findings (``OK`` without any)."""
        return most_severe(f.status for f in self.findings)

    @property
    def ok(self) -> bool:
        """True when the status is ``OK``."""
        return self.status is HealthStatus.OK

    def problems(self) -> tuple[Finding, ...]:
        """Findings that are not merely informational (their status is not ``OK``)."""
        return tuple(f for f in self.findings if f.status is not HealthStatus.OK)

    def evidence(self, *, include_info: bool = False) -> str:
        """Return the findings' details joined by ``"; "`` (``"-"`` when there are none)."""
        chosen = self.findings if include_info else self.problems()
        return "; ".join(f"{f.kind}: {f.detail}" for f in chosen) or "-"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary: the fields and the status (each finding's too)."""
        return record(
            self,
            status=self.status,
            findings=[record(f, status=f.status) for f in self.findings],
        )
