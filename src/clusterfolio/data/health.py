"""Per-listing data health audit: coverage, staleness and value anomalies, with evidence.

:func:`audit_listing` compares a listing's stored candles with the sessions its calendar says should
exist over the audited window and returns a :class:`ListingHealth`: a status
(:class:`~clusterfolio.enums.HealthStatus`) and the :class:`Finding` objects that justify it.
:class:`HealthReport` gathers many listings for the run artifacts (deterministic JSON, a Markdown
summary for the portfolio manager) and :func:`strict_gate` turns it into a pass/fail decision.

Statuses and their order
------------------------
A listing may carry several findings; its status is the most severe status among them, in the order
(most severe first)

``MISSING > ANOMALOUS > STALE > GAPPED > OK``

- ``MISSING`` first: with no data (or fewer sessions than the floor) nothing can be computed at all.
- ``ANOMALOUS`` next: the data is present but wrong (a spike, an unadjusted split, a duplicated or
  off-calendar bar, an impossible OHLC bar). Wrong values silently poison volatilities,
  correlations, clusters and weights, which is worse than a visible hole; they also need a human or
  a re-download to fix, whereas the two below are cured by fetching.
- ``STALE``: the values are right but the latest sessions are absent, so the listing is misaligned
  exactly at the decision date (its last returns are missing from the matrix).
- ``GAPPED``: interior sessions are missing; returns across a gap are multi-session but still sum
  to the truth, and the gap is repairable by refetching.
- ``OK``: nothing found, or only informational findings (``SHORT_HISTORY``: the listing's history
  starts inside the window, e.g. a recent listing; those sessions are not gaps).

Conventions of the audit
------------------------
- The audited *window* is the last ``required_sessions`` sessions of ``expected`` (all of them when
  ``expected`` is shorter). Bars outside the window are ignored, except that the first stored bar
  (even an older one) marks where the stored history starts.
- A session is *present* when at least one stored bar carries it, whatever its values (bad values
  are anomalies, not gaps). Missing window sessions are split into *leading* (before the first
  stored bar: short history), *interior* (gaps) and *trailing* (after the last stored bar of the
  window: staleness) by :func:`partition_missing`; :mod:`clusterfolio.data.repair` uses the same
  split.
- ``MISSING`` when fewer than ``min(min_days_floor, len(window))`` window sessions are present.
- ``STALE`` when more than ``stale_tolerance_sessions`` window sessions follow the last stored bar.
- Jumps are measured on close-to-close log returns of the in-calendar bars with a valid close (the
  last row of a duplicated session). The robust z-score is ``(r - median) / scale`` with
  ``scale = 1.4826 * MAD``, the median absolute deviation taken both over the whole window and over
  the :data:`LOCAL_WINDOW` returns centred on the bar; the larger of the two is used (floored at
  :data:`MIN_RETURN_SCALE` so that a flat series does not make every tick an outlier). The local
  scale keeps genuine crash-and-rebound days inside a volatile stretch (March 2020 on US ETFs)
  from reading as data spikes, while a bad print in a calm stretch stands out on both scales.
- *Spike*: ``|z| > spike_zscore`` and the next return has the opposite sign and undoes between
  ``1 - revert_tolerance`` and ``1 + revert_tolerance`` of it (``|r_t + r_{t+1}| <= tol |r_t|``).
  A one-way jump (no reversion) is never a spike.
- *Suspected split*: ``|z| > spike_zscore``, the price ratio ``close_t / close_{t-1}`` within
  ``split_tolerance`` (relative) of a split factor (2..10 or its inverse), no reversion, and both
  neighbouring returns ordinary (``|z| <= spike_zscore``): a single clean step to a new level.
- *Suspected corporate action*: a one-session move ``|close_t / close_{t-1} - 1|`` beyond the
  listing class's threshold (``data.corporate_action_move``: 40% for equities and funds, 75%
  for crypto by default) that is neither a spike nor a suspected split and does not revert
  within :data:`REVERT_SESSIONS` sessions (the close never comes back within half the move,
  and the move does not bring it back to a level of the sessions just before):
  an unadjusted spin-off, special dividend or merger. The listing stays ``OK`` and is listed
  with the date and the size; ``strict_health`` excludes it from the implementation universe.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clusterfolio.data.schema import CANDLE_COLUMNS, PRICE_COLUMNS, empty_candles
from clusterfolio.enums import HealthStatus
from clusterfolio.errors import DataError, HealthError, SchemaError

if TYPE_CHECKING:
    from clusterfolio.manifest import DataSettings

__all__ = [
    "DEFAULT_SPLIT_FACTORS",
    "LOCAL_WINDOW",
    "MIN_RETURN_SCALE",
    "SEVERITY_ORDER",
    "Auditor",
    "Finding",
    "FindingKind",
    "HealthReport",
    "ListingHealth",
    "MissingSessions",
    "SessionRun",
    "as_sessions",
    "audit_listing",
    "auditor_from_settings",
    "coerce_candles",
    "most_severe",
    "partition_missing",
    "session_runs",
    "severity",
    "strict_gate",
]

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


# --------------------------------------------------------------------------------------------
# Value objects
# --------------------------------------------------------------------------------------------


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

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary."""
        return {
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "length": self.length,
        }


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

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary."""
        return {
            "kind": str(self.kind),
            "status": str(self.status),
            "sessions": [s.isoformat() for s in self.sessions],
            "runs": [r.to_dict() for r in self.runs],
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ListingHealth:
    """Health verdict of one listing.

    Parameters
    ----------
    symbol : str
        ``EXCHANGE:TICKER``.
    status : HealthStatus
        The most severe status implied by ``findings`` (use :meth:`from_findings`).
    findings : tuple of Finding
        The evidence, most severe kind first.
    sessions_expected : int
        Sessions of the audited window.
    sessions_present : int
        Window sessions with a stored bar.
    last_session : date or None
        Last stored session inside the window.
    """

    symbol: str
    status: HealthStatus
    findings: tuple[Finding, ...] = ()
    sessions_expected: int = 0
    sessions_present: int = 0
    last_session: date | None = None

    @classmethod
    def from_findings(
        cls,
        symbol: str,
        findings: Iterable[Finding],
        *,
        sessions_expected: int = 0,
        sessions_present: int = 0,
        last_session: date | None = None,
    ) -> ListingHealth:
        """Build a verdict whose status is the most severe status among ``findings``."""
        ordered = tuple(sorted(findings, key=lambda f: f.kind.order))
        return cls(
            symbol=symbol,
            status=most_severe(f.status for f in ordered),
            findings=ordered,
            sessions_expected=sessions_expected,
            sessions_present=sessions_present,
            last_session=last_session,
        )

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
        """Return a JSON-ready dictionary."""
        return {
            "symbol": self.symbol,
            "status": str(self.status),
            "sessions_expected": self.sessions_expected,
            "sessions_present": self.sessions_present,
            "last_session": None if self.last_session is None else self.last_session.isoformat(),
            "findings": [f.to_dict() for f in self.findings],
        }


# --------------------------------------------------------------------------------------------
# Session helpers (shared with repair)
# --------------------------------------------------------------------------------------------


def as_sessions(sessions: Iterable[Any]) -> pd.DatetimeIndex:
    """Return ``sessions`` as a sorted, unique, naive, midnight ``DatetimeIndex`` (ns)."""
    values = sessions if isinstance(sessions, pd.Index | pd.Series | np.ndarray) else list(sessions)
    index = pd.DatetimeIndex(values)
    if index.tz is not None:
        index = index.tz_localize(None)
    return pd.DatetimeIndex(index.normalize().unique().sort_values(), dtype="datetime64[ns]")


def coerce_candles(candles: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """Return the candle columns of ``candles`` with canonical dtypes, sorted stably by session.

    Unlike :func:`~clusterfolio.data.schema.validate_candles` this keeps bad rows (duplicated
    sessions, non-positive or missing prices) so that they can be reported or repaired.

    Parameters
    ----------
    candles : pandas.DataFrame
        Candles with :data:`~clusterfolio.data.schema.CANDLE_COLUMNS`; an empty frame may lack them.
    source : str
        Symbol or file named in errors.

    Returns
    -------
    pandas.DataFrame
        Columns in canonical order, ``session`` naive midnight ``datetime64[ns]``, numbers
        ``float64`` (unparsable values become NaN), rows in stable session order, default index.

    Raises
    ------
    SchemaError
        A column is missing from a non-empty frame, or a session is missing or unparsable.
    """
    if len(candles) == 0:
        return empty_candles()
    missing = [c for c in CANDLE_COLUMNS if c not in candles.columns]
    if missing:
        raise SchemaError(f"{source}: missing columns {missing} (have {list(candles.columns)})")
    out = candles.loc[:, list(CANDLE_COLUMNS)].copy()
    try:
        sessions = pd.to_datetime(out["session"])
    except (ValueError, TypeError) as exc:
        raise SchemaError(f"{source}: column 'session' is not a date ({exc})") from exc
    if sessions.isna().any():
        row = int(np.flatnonzero(sessions.isna().to_numpy())[0])
        raise SchemaError(f"{source}: row {row} has no session")
    if sessions.dt.tz is not None:
        sessions = sessions.dt.tz_localize(None)
    out["session"] = sessions.dt.normalize().astype("datetime64[ns]")
    for col in ("open", "high", "low", "close", "volume"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    return out.sort_values("session", kind="mergesort").reset_index(drop=True)


def session_runs(sessions: pd.DatetimeIndex, calendar: pd.DatetimeIndex) -> list[pd.DatetimeIndex]:
    """Group ``sessions`` into runs of sessions consecutive in ``calendar``.

    Parameters
    ----------
    sessions : pandas.DatetimeIndex
        Sorted unique sessions, all in ``calendar``.
    calendar : pandas.DatetimeIndex
        Sorted unique calendar sessions.

    Returns
    -------
    list of pandas.DatetimeIndex
        One index per run, in order.
    """
    if len(sessions) == 0:
        return []
    pos = calendar.get_indexer(sessions)
    if (pos < 0).any():
        raise ValueError("session_runs: every session must belong to the calendar")
    breaks = np.flatnonzero(np.diff(pos) != 1) + 1
    return [sessions[chunk] for chunk in np.split(np.arange(len(sessions)), breaks)]


def _runs(sessions: pd.DatetimeIndex, calendar: pd.DatetimeIndex) -> tuple[SessionRun, ...]:
    return tuple(
        SessionRun(run[0].date(), run[-1].date(), len(run))
        for run in session_runs(sessions, calendar)
    )


@dataclass(frozen=True)
class MissingSessions:
    """Window sessions without a stored bar, split by where they lie.

    Attributes
    ----------
    window : pandas.DatetimeIndex
        The calendar sessions considered.
    present : pandas.DatetimeIndex
        Window sessions with at least one stored bar.
    leading : pandas.DatetimeIndex
        Missing sessions before the first stored bar (the history starts later).
    interior : pandas.DatetimeIndex
        Missing sessions between the first stored bar and the last stored bar of the window (gaps).
    trailing : pandas.DatetimeIndex
        Missing sessions after the last stored bar of the window (staleness).
    """

    window: pd.DatetimeIndex
    present: pd.DatetimeIndex
    leading: pd.DatetimeIndex
    interior: pd.DatetimeIndex
    trailing: pd.DatetimeIndex

    @property
    def missing(self) -> pd.DatetimeIndex:
        """Every missing window session, ascending."""
        return self.window[~self.window.isin(self.present)]


def partition_missing(window: pd.DatetimeIndex, stored: Iterable[Any]) -> MissingSessions:
    """Split the window sessions without a stored bar into leading, interior and trailing.

    Parameters
    ----------
    window : pandas.DatetimeIndex
        Sorted unique calendar sessions (see :func:`as_sessions`).
    stored : iterable of datetime-like
        Sessions of every stored bar (any order, duplicates allowed, any date).

    Returns
    -------
    MissingSessions
        With no stored bar at or before the window end, every window session is leading.
    """
    stored_idx = pd.DatetimeIndex(np.asarray(stored, dtype="datetime64[ns]"))
    has_bar = window.isin(stored_idx)
    present = window[has_bar]
    missing = window[~has_bar]
    upto_end = stored_idx[stored_idx <= window[-1]] if len(window) else stored_idx[:0]
    if len(upto_end) == 0:
        return MissingSessions(window, present, missing, missing[:0], missing[:0])
    first, last = upto_end.min(), upto_end.max()
    leading = missing[missing < first]
    trailing = missing[missing > last]
    interior = missing[(missing > first) & (missing < last)]
    return MissingSessions(window, present, leading, interior, trailing)


# --------------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------------


def _dates(sessions: Iterable[Any]) -> tuple[date, ...]:
    return tuple(pd.Timestamp(s).date() for s in sessions)


def _fmt_dates(sessions: Sequence[date], limit: int = _SHOWN) -> str:
    shown = ", ".join(s.isoformat() for s in sessions[:limit])
    more = len(sessions) - limit
    return f"{shown} (+{more} more)" if more > 0 else shown


def _fmt_runs(runs: Sequence[SessionRun], limit: int = _SHOWN) -> str:
    shown = ", ".join(str(r) for r in runs[:limit])
    more = len(runs) - limit
    return f"{shown} (+{more} more runs)" if more > 0 else shown


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def _coverage_findings(
    miss: MissingSessions,
    frame: pd.DataFrame,
    *,
    floor: int,
    stale_tolerance: int,
) -> list[Finding]:
    window = miss.window
    n_present = len(miss.present)
    if n_present == 0:
        if frame.empty:
            detail = "no bars stored"
        else:
            last = pd.Timestamp(frame["session"].iloc[-1]).date().isoformat()
            detail = (
                f"no bar in the audit window {window[0].date()}..{window[-1].date()} "
                f"(last stored bar {last})"
            )
        return [Finding(FindingKind.NO_DATA, (), detail)]
    findings: list[Finding] = []
    if n_present < floor:
        findings.append(
            Finding(
                FindingKind.TOO_SHORT,
                _dates(miss.present),
                f"{n_present} of {len(window)} window sessions stored, fewer than the floor of {floor}",
            )
        )
    if len(miss.leading):
        runs = _runs(miss.leading, window)
        findings.append(
            Finding(
                FindingKind.SHORT_HISTORY,
                _dates(miss.leading),
                f"history starts {miss.present[0].date()}: {_plural(len(miss.leading), 'session')} "
                f"of the window precede the first stored bar (not gaps)",
                runs,
            )
        )
    if len(miss.interior):
        runs = _runs(miss.interior, window)
        findings.append(
            Finding(
                FindingKind.GAP,
                _dates(miss.interior),
                f"{_plural(len(miss.interior), 'missing session')} in "
                f"{_plural(len(runs), 'run')}: {_fmt_runs(runs)}",
                runs,
            )
        )
    if len(miss.trailing) > stale_tolerance:
        findings.append(
            Finding(
                FindingKind.STALE,
                _dates(miss.trailing),
                f"last bar {miss.present[-1].date()} is {_plural(len(miss.trailing), 'session')} "
                f"behind the expected last session {window[-1].date()} "
                f"(tolerance {stale_tolerance})",
                _runs(miss.trailing, window),
            )
        )
    return findings


def _price_findings(frame: pd.DataFrame) -> list[Finding]:
    sessions = frame["session"].to_numpy()
    prices = frame.loc[:, list(PRICE_COLUMNS)].to_numpy(dtype="float64")
    findings: list[Finding] = []
    finite = np.isfinite(prices)
    bad_rows = ~finite.all(axis=1)
    if bad_rows.any():
        findings.append(
            _row_finding(FindingKind.NON_FINITE_PRICE, frame, bad_rows, finite, "missing")
        )
    positive = ~finite | (prices > 0)
    nonpos_rows = ~positive.all(axis=1)
    if nonpos_rows.any():
        findings.append(
            _row_finding(FindingKind.NON_POSITIVE_PRICE, frame, nonpos_rows, positive, "<= 0")
        )
    usable = finite.all(axis=1) & (prices > 0).all(axis=1)
    o, h, lo, c = (prices[:, i] for i in range(4))
    top = np.maximum(o, c)
    bottom = np.minimum(o, c)
    high_low = h < top * (1 - _OHLC_RTOL)
    low_high = lo > bottom * (1 + _OHLC_RTOL)
    low_above = lo > h * (1 + _OHLC_RTOL)
    inconsistent = usable & (high_low | low_high | low_above)
    if inconsistent.any():
        rows = np.flatnonzero(inconsistent)
        examples = []
        for i in rows[:_SHOWN]:
            why = []
            if high_low[i]:
                why.append("high < max(open, close)")
            if low_high[i]:
                why.append("low > min(open, close)")
            if low_above[i]:
                why.append("low > high")
            examples.append(
                f"{pd.Timestamp(sessions[i]).date()} ({' and '.join(why)}: "
                f"O={o[i]:.6g} H={h[i]:.6g} L={lo[i]:.6g} C={c[i]:.6g})"
            )
        more = len(rows) - _SHOWN
        findings.append(
            Finding(
                FindingKind.OHLC_INCONSISTENT,
                _dates(np.unique(sessions[rows])),
                f"{_plural(len(rows), 'bar')} with impossible OHLC: "
                + ", ".join(examples)
                + (f" (+{more} more)" if more > 0 else ""),
            )
        )
    return findings


def _row_finding(
    kind: FindingKind, frame: pd.DataFrame, rows: np.ndarray, ok: np.ndarray, what: str
) -> Finding:
    sessions = frame["session"].to_numpy()
    idx = np.flatnonzero(rows)
    examples = [
        f"{pd.Timestamp(sessions[i]).date()} ("
        + ", ".join(col for col, good in zip(PRICE_COLUMNS, ok[i], strict=True) if not good)
        + ")"
        for i in idx[:_SHOWN]
    ]
    more = len(idx) - _SHOWN
    return Finding(
        kind,
        _dates(np.unique(sessions[idx])),
        f"{_plural(len(idx), 'bar')} with prices {what}: "
        + ", ".join(examples)
        + (f" (+{more} more)" if more > 0 else ""),
    )


def _duplicate_finding(frame: pd.DataFrame) -> Finding | None:
    dup = frame["session"].duplicated(keep=False)
    if not dup.any():
        return None
    counts = frame.loc[dup, "session"].value_counts().sort_index()
    sessions = _dates(counts.index)
    shown = ", ".join(f"{d.isoformat()} x{int(n)}" for d, n in zip(sessions, counts, strict=True))
    return Finding(
        FindingKind.DUPLICATE_SESSION,
        sessions,
        f"{_plural(len(sessions), 'session')} stored more than once "
        f"({int(dup.sum())} rows): {shown if len(sessions) <= _SHOWN else _fmt_dates(sessions)}",
    )


def _unexpected_finding(frame: pd.DataFrame, window: pd.DatetimeIndex) -> Finding | None:
    off = ~frame["session"].isin(window)
    if not off.any():
        return None
    sessions = _dates(pd.DatetimeIndex(frame.loc[off, "session"]).unique())
    labels = [f"{d.isoformat()} ({d.strftime('%a')})" for d in sessions[:_SHOWN]]
    more = len(sessions) - _SHOWN
    return Finding(
        FindingKind.UNEXPECTED_SESSION,
        sessions,
        f"{_plural(len(sessions), 'bar')} on sessions not in the calendar: "
        + ", ".join(labels)
        + (f" (+{more} more)" if more > 0 else ""),
    )


@dataclass(frozen=True)
class _Jumps:
    returns: np.ndarray
    zscores: np.ndarray
    spike: np.ndarray
    split: np.ndarray


def _jumps(
    closes: np.ndarray,
    *,
    zscore: float,
    factors: np.ndarray,
    split_tolerance: float,
    revert_tolerance: float,
) -> _Jumps:
    """Classify each close-to-close log return (vectorised); see the module docstring."""
    r = np.diff(np.log(closes))
    n = r.size
    if n < 3:
        none = np.zeros(n, dtype=bool)
        return _Jumps(r, np.zeros(n), none, none.copy())
    med = float(np.median(r))
    dev = np.abs(r - med)
    global_scale = _MAD_TO_SIGMA * float(np.median(dev))
    local = pd.Series(dev).rolling(LOCAL_WINDOW, center=True, min_periods=1).median()
    scale = np.maximum(_MAD_TO_SIGMA * local.to_numpy(), max(global_scale, MIN_RETURN_SCALE))
    z = (r - med) / scale
    big = np.abs(z) > zscore
    nxt = np.append(r[1:], np.nan)
    with np.errstate(invalid="ignore"):
        reverts = (r * nxt < 0) & (np.abs(r + nxt) <= revert_tolerance * np.abs(r))
    spike = big & reverts
    spike[1:] &= ~spike[:-1]  # the reverting return of a spike is not a second spike
    ratio = np.exp(r)
    near = (np.abs(ratio[:, None] / factors[None, :] - 1.0) <= split_tolerance).any(axis=1)
    prev_big = np.concatenate(([False], big[:-1]))
    next_big = np.concatenate((big[1:], [False]))
    split = big & near & ~reverts & ~prev_big & ~next_big
    return _Jumps(r, z, spike, split)


def _jump_findings(
    frame: pd.DataFrame,
    window: pd.DatetimeIndex,
    *,
    zscore: float,
    factors: Sequence[float],
    split_tolerance: float,
    revert_tolerance: float,
) -> list[Finding]:
    close = frame["close"].to_numpy()
    keep = (
        frame["session"].isin(window).to_numpy()
        & np.isfinite(close)
        & (close > 0)
        & ~frame["session"].duplicated(keep="last").to_numpy()
    )
    series = frame.loc[keep, ["session", "close"]]
    sessions = series["session"].to_numpy()
    all_factors = np.asarray(factors, dtype="float64")
    jumps = _jumps(
        series["close"].to_numpy(dtype="float64"),
        zscore=zscore,
        factors=np.concatenate((all_factors, 1.0 / all_factors)),
        split_tolerance=split_tolerance,
        revert_tolerance=revert_tolerance,
    )
    r, z = jumps.returns, jumps.zscores
    findings: list[Finding] = []
    if jumps.spike.any():
        idx = np.flatnonzero(jumps.spike)
        examples = [
            f"{pd.Timestamp(sessions[i + 1]).date()} ({np.expm1(r[i]):+.1%} then "
            f"{np.expm1(r[i + 1]):+.1%}, z={z[i]:.1f})"
            for i in idx[:_SHOWN]
        ]
        more = len(idx) - _SHOWN
        findings.append(
            Finding(
                FindingKind.SPIKE,
                _dates(sessions[idx + 1]),
                f"{_plural(len(idx), 'one-bar spike')} that revert (|z| > {zscore:g}): "
                + ", ".join(examples)
                + (f" (+{more} more)" if more > 0 else ""),
            )
        )
    if jumps.split.any():
        idx = np.flatnonzero(jumps.split)
        examples = [
            f"{pd.Timestamp(sessions[i + 1]).date()} (close x{np.exp(r[i]):.4f}, "
            f"~{_ratio_label(float(np.exp(r[i])))}, z={z[i]:.1f})"
            for i in idx[:_SHOWN]
        ]
        more = len(idx) - _SHOWN
        findings.append(
            Finding(
                FindingKind.SUSPECTED_SPLIT,
                _dates(sessions[idx + 1]),
                f"{_plural(len(idx), 'one-way jump')} at a split ratio, not reverted "
                "(unadjusted split or reverse split?): "
                + ", ".join(examples)
                + (f" (+{more} more)" if more > 0 else ""),
            )
        )
    return findings


#: Sessions within which a large move that comes back is not a corporate action.
REVERT_SESSIONS = 5


def _corporate_action_finding(
    frame: pd.DataFrame, window: pd.DatetimeIndex, *, threshold: float, zscore: float
) -> Finding | None:
    """One-way moves beyond ``threshold`` that are no spike and no split (module docstring)."""
    keep = frame["session"].isin(window).to_numpy() & (frame["close"].to_numpy() > 0)
    series = frame.loc[keep & ~frame["session"].duplicated(keep="last").to_numpy()]
    close = series["close"].to_numpy(dtype="float64")
    if close.size < 2:
        return None
    logs = np.log(close)
    r = np.diff(logs)
    big = np.flatnonzero(np.abs(np.expm1(r)) > threshold)
    factors = np.asarray(DEFAULT_SPLIT_FACTORS)
    sessions = series["session"].to_numpy()
    hits = []
    for i in big:
        after = logs[i + 2 : i + 2 + REVERT_SESSIONS] - logs[i]
        before = logs[i + 1] - logs[max(0, i - REVERT_SESSIONS) : i]
        if (after.size and (np.abs(after) <= 0.5 * abs(r[i])).any()) or (
            before.size and (np.abs(before) <= 0.5 * abs(r[i])).any()
        ):
            continue  # goes back, or back to a recent level: a spike or a bad print
        ratio = float(np.exp(r[i]))
        near_split = np.abs(np.concatenate((factors, 1 / factors)) / ratio - 1).min() <= 0.03
        if near_split:
            continue  # reported as a suspected split
        hits.append(i)
    if not hits:
        return None
    examples = [f"{pd.Timestamp(sessions[i + 1]).date()} ({np.expm1(r[i]):+.1%})" for i in hits]
    return Finding(
        FindingKind.SUSPECT_CORPORATE_ACTION,
        _dates(sessions[np.asarray(hits) + 1]),
        f"{_plural(len(hits), 'one-session move')} beyond {threshold:.0%} that never reverts "
        f"(unadjusted spin-off, special dividend or merger?): "
        + ", ".join(examples[:_SHOWN])
        + (f" (+{len(hits) - _SHOWN} more)" if len(hits) > _SHOWN else ""),
    )


def _ratio_label(ratio: float) -> str:
    """Name the split a price ratio suggests: 0.5 is a 2:1 split, 4.0 a 1:4 reverse split."""
    if ratio < 1:
        return f"{round(1 / ratio)}:1 split"
    return f"1:{round(ratio)} reverse split"


# --------------------------------------------------------------------------------------------
# Audit
# --------------------------------------------------------------------------------------------


def audit_listing(
    symbol: str,
    candles: pd.DataFrame,
    expected: pd.DatetimeIndex,
    *,
    min_days_floor: int,
    stale_tolerance_sessions: int,
    spike_zscore: float,
    required_sessions: int,
    split_tolerance: float = 0.03,
    split_factors: Sequence[float] = DEFAULT_SPLIT_FACTORS,
    revert_tolerance: float = 0.5,
    corporate_action_move: float | None = None,
) -> ListingHealth:
    """Audit one listing's candles against the sessions its calendar expects.

    Parameters
    ----------
    symbol : str
        ``EXCHANGE:TICKER`` (named in the verdict and in errors).
    candles : pandas.DataFrame
        Stored candles (:data:`~clusterfolio.data.schema.CANDLE_COLUMNS`); may be empty, unsorted,
        or hold duplicated sessions and bad values (those are findings, not errors).
    expected : pandas.DatetimeIndex
        Sessions the listing's calendar says should exist, ending at the expected last session as
        of the run date.
    min_days_floor : int
        Fewer present window sessions than ``min(min_days_floor, window length)``: ``MISSING``.
    stale_tolerance_sessions : int
        More expected sessions than this after the last stored bar: ``STALE``.
    spike_zscore : float
        Robust z-score (median/MAD of log returns) above which a return is an outlier.
    required_sessions : int
        Length of the audited window: the last ``required_sessions`` sessions of ``expected``.
    split_tolerance : float
        Relative distance of a price ratio to a split factor for a suspected split.
    split_factors : sequence of float
        Split factors (> 1); their inverses are included.
    revert_tolerance : float
        A spike reverts when ``|r_t + r_{t+1}| <= revert_tolerance * |r_t|`` with opposite signs.
    corporate_action_move : float, optional
        One-session move above which a non-reverting jump is a suspected corporate action
        (``None``: not checked).

    Returns
    -------
    ListingHealth
        Status is the most severe of the findings (``MISSING > ANOMALOUS > STALE > GAPPED > OK``).

    Raises
    ------
    DataError
        ``expected`` holds no session.
    SchemaError
        ``candles`` lacks a column or has an unparsable session.
    ValueError
        A threshold is out of range.
    """
    if required_sessions < 1 or min_days_floor < 1 or stale_tolerance_sessions < 0:
        raise ValueError(
            "audit_listing: required_sessions and min_days_floor must be >= 1 and "
            f"stale_tolerance_sessions >= 0 (got {required_sessions}, {min_days_floor}, "
            f"{stale_tolerance_sessions})"
        )
    if spike_zscore <= 0 or split_tolerance < 0 or revert_tolerance < 0:
        raise ValueError("audit_listing: spike_zscore must be > 0 and tolerances >= 0")
    calendar = as_sessions(expected)
    if len(calendar) == 0:
        raise DataError(f"{symbol}: no expected session to audit against")
    window = calendar[-required_sessions:]
    frame = coerce_candles(candles, source=symbol)
    miss = partition_missing(window, frame["session"].to_numpy())
    findings = _coverage_findings(
        miss,
        frame,
        floor=min(min_days_floor, len(window)),
        stale_tolerance=stale_tolerance_sessions,
    )
    in_window = frame.loc[frame["session"].between(window[0], window[-1])]
    if not in_window.empty:
        findings += _price_findings(in_window)
        findings += [
            f
            for f in (_duplicate_finding(in_window), _unexpected_finding(in_window, window))
            if f is not None
        ]
        findings += _jump_findings(
            in_window,
            window,
            zscore=spike_zscore,
            factors=split_factors,
            split_tolerance=split_tolerance,
            revert_tolerance=revert_tolerance,
        )
        if corporate_action_move is not None:
            action = _corporate_action_finding(
                in_window, window, threshold=corporate_action_move, zscore=spike_zscore
            )
            findings += [action] if action is not None else []
    return ListingHealth.from_findings(
        symbol,
        findings,
        sessions_expected=len(window),
        sessions_present=len(miss.present),
        last_session=miss.present[-1].date() if len(miss.present) else None,
    )


#: An audit bound to its thresholds: ``(symbol, candles, expected) -> ListingHealth``.
Auditor = Callable[[str, pd.DataFrame, pd.DatetimeIndex], ListingHealth]


def auditor_from_settings(
    settings: DataSettings,
    *,
    required_sessions: int,
    asset_classes: Mapping[str, str] | None = None,
) -> Auditor:
    """Bind :func:`audit_listing` to the thresholds of the manifest's ``data`` section.

    Parameters
    ----------
    settings : DataSettings
        Supplies ``min_days_floor``, ``stale_tolerance_sessions``, ``spike_zscore`` and
        ``corporate_action_move`` (per asset class).
    required_sessions : int
        Audited window length (e.g. ``lookback_days`` for the deep pass).
    asset_classes : mapping, optional
        Symbol -> asset class, for the corporate-action threshold (unknown: the equity one).

    Returns
    -------
    Auditor
        ``(symbol, candles, expected) -> ListingHealth``.
    """

    def audit(symbol: str, candles: pd.DataFrame, expected: pd.DatetimeIndex) -> ListingHealth:
        return audit_listing(
            symbol,
            candles,
            expected,
            min_days_floor=settings.min_days_floor,
            stale_tolerance_sessions=settings.stale_tolerance_sessions,
            spike_zscore=settings.spike_zscore,
            required_sessions=required_sessions,
            corporate_action_move=moves.get(classes.get(symbol, "equity"), moves.get("equity")),
        )

    classes = dict(asset_classes or {})
    moves = dict(settings.corporate_action_move)
    return audit


# --------------------------------------------------------------------------------------------
# Report and gate
# --------------------------------------------------------------------------------------------

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
