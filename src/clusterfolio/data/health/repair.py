"""Gap repair of one listing and the intensive recovery loop over many.

:func:`repair_listing` works on the sessions the calendar expects but the store lacks:

1. **Duplicated sessions** are collapsed, keeping the **last** occurrence in row order. Candle
   files are append-only, so the last row of a session is the most recent write: a bar first stored
   while its session was still trading and re-served final later, or a provider's correction. Every
   collapsed session is recorded.
2. **Refetch**: the missing sessions are grouped into runs of consecutive calendar sessions and each
   run is requested from the provider over its narrowest covering range ``[first, last]``. Only the
   run's missing sessions are taken from the answer, so an existing bar is never overwritten; a
   batch that fails the candle schema is rejected whole and a provider failure
   (:class:`~clusterfolio.errors.DataError`) is recorded, never raised.
3. **Bounded forward fill**, only when ``allow_ffill`` and only for an *interior* run (a stored bar
   on each side) of at most ``max_ffill_sessions`` sessions: a filled bar has
   ``open = high = low = close =`` the previous stored close and ``volume = 0``. Leading sessions
   (before the history starts) and trailing sessions (after the last bar: the listing is stale) are
   never filled, since that would invent a history or the latest prices.

Every decision is an action ``{"symbol", "action", "sessions", "reason"}`` for the decision log;
sessions that remain missing are recorded with the reason they stay.

:func:`recover` runs audit, repair of the non-OK listings, store and re-audit for up to ``attempts``
rounds, stopping early when every listing is OK or when a round changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.data.health.audit import Auditor
from clusterfolio.data.health.findings import ListingHealth
from clusterfolio.data.health.report import HealthReport
from clusterfolio.data.health.sessions import (
    MissingSessions,
    as_sessions,
    coerce_candles,
    partition_missing,
    session_runs,
)
from clusterfolio.data.schema import CANDLE_COLUMNS, validate_candles
from clusterfolio.enums import HealthStatus
from clusterfolio.errors import DataError

__all__ = [
    "Fetch",
    "RecoveryOutcome",
    "RecoveryStop",
    "RepairAction",
    "RepairResult",
    "RoundSummary",
    "recover",
    "repair_listing",
]

#: ``fetch(symbol, start, end)``: candles of ``symbol`` for sessions in ``[start, end]``.
Fetch = Callable[[str, date, date], pd.DataFrame]


class RepairAction(StrEnum):
    """Actions recorded by :func:`repair_listing`."""

    COLLAPSE_DUPLICATES = "collapse_duplicates"
    REFETCH = "refetch"
    REFETCH_EMPTY = "refetch_empty"
    REFETCH_FAILED = "refetch_failed"
    REFETCH_REJECTED = "refetch_rejected"
    FORWARD_FILL = "forward_fill"
    UNREPAIRED = "unrepaired"


def _iso(sessions: Sequence[Any] | pd.DatetimeIndex) -> list[str]:
    return [pd.Timestamp(s).date().isoformat() for s in sessions]


def _dates(sessions: pd.DatetimeIndex) -> tuple[date, ...]:
    return tuple(s.date() for s in sessions)


def _span(run: pd.DatetimeIndex) -> str:
    first, last = run[0].date().isoformat(), run[-1].date().isoformat()
    return first if len(run) == 1 else f"{first}..{last}"


def _n(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True)
class RepairResult:
    """Outcome of :func:`repair_listing`.

    Attributes
    ----------
    symbol : str
        The listing.
    frame : pandas.DataFrame
        Repaired candles (canonical columns, sorted, unique sessions, default index); bars outside
        the expected sessions are kept as they were.
    refetched : tuple of date
        Missing sessions supplied by the provider and merged.
    filled : tuple of date
        Sessions forward-filled (``open=high=low=close=`` previous close, ``volume=0``).
    still_missing : tuple of date
        Expected sessions still without a bar.
    duplicates : tuple of date
        Sessions that were stored more than once (collapsed to their last row).
    actions : tuple of dict
        Decision-log entries ``{"symbol", "action", "sessions", "reason"}``, in order.
    changed : bool
        True when ``frame`` differs from the input.
    """

    symbol: str
    frame: pd.DataFrame
    refetched: tuple[date, ...] = ()
    filled: tuple[date, ...] = ()
    still_missing: tuple[date, ...] = ()
    duplicates: tuple[date, ...] = ()
    actions: tuple[dict[str, Any], ...] = ()
    changed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary (without the frame)."""
        return {
            "symbol": self.symbol,
            "changed": self.changed,
            "refetched": [d.isoformat() for d in self.refetched],
            "filled": [d.isoformat() for d in self.filled],
            "still_missing": [d.isoformat() for d in self.still_missing],
            "duplicates": [d.isoformat() for d in self.duplicates],
            "actions": [dict(a) for a in self.actions],
        }


@dataclass
class _Log:
    symbol: str
    actions: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self, action: RepairAction, sessions: Sequence[Any] | pd.DatetimeIndex, reason: str
    ) -> None:
        self.actions.append(
            {
                "symbol": self.symbol,
                "action": str(action),
                "sessions": _iso(sessions),
                "reason": reason,
            }
        )


def _collapse_duplicates(frame: pd.DataFrame, log: _Log) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    dup = frame["session"].duplicated(keep=False)
    if not dup.any():
        return frame, pd.DatetimeIndex([], dtype="datetime64[ns]")
    sessions = pd.DatetimeIndex(frame.loc[dup, "session"].unique())
    kept = frame.drop_duplicates("session", keep="last").reset_index(drop=True)
    log.add(
        RepairAction.COLLAPSE_DUPLICATES,
        sessions,
        f"{_n(len(sessions), 'session')} stored more than once ({int(dup.sum())} rows): kept the "
        "last occurrence (the most recent write of an append-only file)",
    )
    return kept, sessions


def _refetch(
    symbol: str,
    runs: list[pd.DatetimeIndex],
    fetch: Fetch,
    log: _Log,
) -> pd.DataFrame:
    """Fetch each run over its covering range; return only the run's missing sessions."""
    taken: list[pd.DataFrame] = []
    for run in runs:
        start, end = run[0].date(), run[-1].date()
        try:
            raw = fetch(symbol, start, end)
        except DataError as exc:
            log.add(RepairAction.REFETCH_FAILED, run, f"provider failed for {_span(run)}: {exc}")
            continue
        try:
            got = validate_candles(coerce_candles(raw, source=symbol), source=f"{symbol} refetch")
        except DataError as exc:
            log.add(RepairAction.REFETCH_REJECTED, run, f"refetched batch rejected (schema): {exc}")
            continue
        got = got.loc[got["session"].isin(run)]
        supplied = pd.DatetimeIndex(got["session"])
        if got.empty:
            log.add(
                RepairAction.REFETCH_EMPTY,
                run,
                f"provider returned no bar for the missing {_n(len(run), 'session')} {_span(run)}",
            )
            continue
        log.add(
            RepairAction.REFETCH,
            supplied,
            f"provider supplied {len(supplied)} of {_n(len(run), 'missing session')} "
            f"(requested {start.isoformat()}..{end.isoformat()})",
        )
        taken.append(got)
    if not taken:
        return coerce_candles(pd.DataFrame(), source=symbol)
    return pd.concat(taken, ignore_index=True)


def _forward_fill_bars(frame: pd.DataFrame, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """Bars for ``sessions`` at the previous stored close (vectorised), volume 0."""
    stored = frame["session"].to_numpy()
    prev = np.searchsorted(stored, sessions.to_numpy(), side="left") - 1
    close = frame["close"].to_numpy(dtype="float64")[prev]
    return pd.DataFrame(
        {
            "session": sessions.to_numpy(),
            "open": close,
            "high": close,
            "low": close,
            "close": close,
            "volume": np.zeros(len(sessions)),
        }
    )


def _merge(frame: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    if extra.empty:
        return frame
    overlap = extra["session"].isin(frame["session"])
    if overlap.any():  # pragma: no cover - guarded by construction
        raise AssertionError("repair would overwrite an existing bar")
    merged = pd.concat([frame, extra.loc[:, list(CANDLE_COLUMNS)]], ignore_index=True)
    return merged.sort_values("session", kind="mergesort").reset_index(drop=True)


def _plan_gaps(
    after: MissingSessions, window: pd.DatetimeIndex, max_ffill_sessions: int, allow_ffill: bool
) -> tuple[list[pd.DatetimeIndex], list[tuple[pd.DatetimeIndex, str]]]:
    """The runs of missing sessions to forward-fill, and those left open with the reason."""
    fill_runs: list[pd.DatetimeIndex] = []
    left_open: list[tuple[pd.DatetimeIndex, str]] = []
    for run in session_runs(after.interior, window):
        if not allow_ffill or max_ffill_sessions == 0:
            left_open.append((run, "gap left open: forward fill is disallowed"))
        elif len(run) > max_ffill_sessions:
            left_open.append(
                (
                    run,
                    f"gap of {_n(len(run), 'session')} left open: longer than "
                    f"max_ffill_sessions={max_ffill_sessions}",
                )
            )
        else:
            fill_runs.append(run)
    left_open += [
        (run, "before the first stored bar: the history starts later (never forward-filled)")
        for run in session_runs(after.leading, window)
    ]
    left_open += [
        (
            run,
            "after the last stored bar: still stale (forward fill would invent the latest prices)",
        )
        for run in session_runs(after.trailing, window)
    ]
    return fill_runs, left_open


def _fill_gaps(
    frame: pd.DataFrame,
    filled: pd.DatetimeIndex,
    fill_runs: list[pd.DatetimeIndex],
    max_ffill_sessions: int,
    log: _Log,
) -> pd.DataFrame:
    """``frame`` with the ``filled`` sessions forward-filled, one action per run."""
    bars = _forward_fill_bars(frame, filled)
    first_close = bars.set_index("session")["close"]
    for run in fill_runs:
        log.add(
            RepairAction.FORWARD_FILL,
            run,
            f"gap of {_n(len(run), 'session')} <= max_ffill_sessions={max_ffill_sessions}: "
            f"open=high=low=close=previous close {first_close[run[0]]:.10g}, volume 0",
        )
    return _merge(frame, bars)


def repair_listing(
    symbol: str,
    candles: pd.DataFrame,
    expected: pd.DatetimeIndex,
    fetch: Fetch,
    *,
    max_ffill_sessions: int,
    allow_ffill: bool,
) -> RepairResult:
    """Collapse duplicates, refetch missing sessions, then forward-fill short interior gaps.

    Parameters
    ----------
    symbol : str
        ``EXCHANGE:TICKER``.
    candles : pandas.DataFrame
        Stored candles; may be empty, unsorted or hold duplicated sessions.
    expected : pandas.DatetimeIndex
        Sessions the calendar expects over the window to repair.
    fetch : callable
        ``fetch(symbol, start, end)`` returns candles for sessions in ``[start, end]``; called once
        per run of consecutive missing sessions with the run's first and last session. A
        :class:`~clusterfolio.errors.DataError` it raises is recorded, not propagated.
    max_ffill_sessions : int
        Longest run of missing sessions that may be forward-filled.
    allow_ffill : bool
        Whether forward fill is allowed at all.

    Returns
    -------
    RepairResult
        The repaired frame, what was refetched, filled, collapsed and left missing, and the
        actions for the decision log (see the module docstring for the rules).
    """
    if max_ffill_sessions < 0:
        raise ValueError(
            f"repair_listing: max_ffill_sessions must be >= 0 (got {max_ffill_sessions})"
        )
    log = _Log(symbol)
    original = coerce_candles(candles, source=symbol)
    frame, duplicates = _collapse_duplicates(original, log)
    window = as_sessions(expected)
    if len(window) == 0:
        return RepairResult(
            symbol,
            frame,
            duplicates=_dates(duplicates),
            actions=tuple(log.actions),
            changed=not frame.equals(original),
        )

    missing = partition_missing(window, frame["session"].to_numpy()).missing
    fetched = _refetch(symbol, session_runs(missing, window), fetch, log)
    frame = _merge(frame, fetched)
    refetched = pd.DatetimeIndex(fetched["session"]).sort_values()

    after = partition_missing(window, frame["session"].to_numpy())
    fill_runs, left_open = _plan_gaps(after, window, max_ffill_sessions, allow_ffill)
    filled = pd.DatetimeIndex(
        np.concatenate([r.to_numpy() for r in fill_runs]) if fill_runs else [],
        dtype="datetime64[ns]",
    )
    if len(filled):
        frame = _fill_gaps(frame, filled, fill_runs, max_ffill_sessions, log)
    for run, reason in sorted(left_open, key=lambda item: item[0][0]):
        log.add(RepairAction.UNREPAIRED, run, reason)

    still = partition_missing(window, frame["session"].to_numpy()).missing
    return RepairResult(
        symbol=symbol,
        frame=frame,
        refetched=_dates(refetched),
        filled=_dates(filled),
        still_missing=_dates(still),
        duplicates=_dates(duplicates),
        actions=tuple(log.actions),
        changed=not frame.equals(original),
    )


# --------------------------------------------------------------------------------------------
# Recovery
# --------------------------------------------------------------------------------------------


class RecoveryStop(StrEnum):
    """Why :func:`recover` stopped."""

    ALL_OK = "all_ok"
    NO_CHANGE = "no_change"
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"


@dataclass(frozen=True)
class RoundSummary:
    """One round of recovery: the listings repaired, those changed, and the counts after."""

    round: int
    attempted: tuple[str, ...]
    changed: tuple[str, ...]
    counts_before: dict[HealthStatus, int]
    counts_after: dict[HealthStatus, int]
    actions: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary."""
        return {
            "round": self.round,
            "attempted": list(self.attempted),
            "changed": list(self.changed),
            "counts_before": {str(s): n for s, n in self.counts_before.items()},
            "counts_after": {str(s): n for s, n in self.counts_after.items()},
            "actions": [dict(a) for a in self.actions],
        }


@dataclass(frozen=True)
class RecoveryOutcome:
    """Result of :func:`recover`.

    Attributes
    ----------
    initial, final : HealthReport
        The audit before the first round and after the last.
    rounds : tuple of RoundSummary
        One summary per round run.
    stop : RecoveryStop
        Why the loop ended.
    """

    initial: HealthReport
    final: HealthReport
    rounds: tuple[RoundSummary, ...]
    stop: RecoveryStop

    @property
    def actions(self) -> tuple[dict[str, Any], ...]:
        """Every action of every round, each with its ``round``."""
        return tuple({**a, "round": r.round} for r in self.rounds for a in r.actions)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary (deterministic)."""
        return {
            "stop": str(self.stop),
            "rounds": [r.to_dict() for r in self.rounds],
            "initial": self.initial.to_json_dict(),
            "final": self.final.to_json_dict(),
        }


def recover(
    symbols: Sequence[str],
    load: Callable[[str], pd.DataFrame],
    fetch: Fetch,
    expected_for: Callable[[str], pd.DatetimeIndex],
    audit: Auditor,
    store: Callable[[str, pd.DataFrame], None],
    *,
    attempts: int,
    max_ffill_sessions: int = 0,
    allow_ffill: bool = False,
) -> RecoveryOutcome:
    """Audit, repair the non-OK listings, store and re-audit, up to ``attempts`` rounds.

    Parameters
    ----------
    symbols : sequence of str
        Listings to recover (the implementation universe).
    load : callable
        ``load(symbol)`` returns the current stored candles (empty when none).
    fetch : callable
        Provider access, see :func:`repair_listing`.
    expected_for : callable
        ``expected_for(symbol)`` returns the sessions the listing's calendar expects (called once
        per symbol).
    audit : callable
        ``audit(symbol, candles, expected)`` returns a :class:`ListingHealth` (e.g.
        :func:`~clusterfolio.data.health.auditor_from_settings`).
    store : callable
        ``store(symbol, frame)`` persists a repaired frame; called only when the frame changed.
    attempts : int
        Maximum number of repair rounds (``recover_attempts`` of the manifest).
    max_ffill_sessions, allow_ffill
        Forward-fill bounds passed to :func:`repair_listing`.

    Returns
    -------
    RecoveryOutcome
        Initial and final reports, one summary per round and the reason for stopping: every
        listing OK, a round that changed no frame, or ``attempts`` rounds run.
    """
    if attempts < 1:
        raise ValueError(f"recover: attempts must be >= 1 (got {attempts})")
    ordered = sorted(dict.fromkeys(symbols))
    expected = {s: expected_for(s) for s in ordered}
    current: dict[str, ListingHealth] = {s: audit(s, load(s), expected[s]) for s in ordered}
    initial = HealthReport(tuple(current.values()))
    report = initial
    rounds: list[RoundSummary] = []
    stop = RecoveryStop.ALL_OK if report.all_ok else RecoveryStop.ATTEMPTS_EXHAUSTED
    for number in range(1, attempts + 1):
        if report.all_ok:
            stop = RecoveryStop.ALL_OK
            break
        attempted = tuple(h.symbol for h in report.failing())
        changed: list[str] = []
        actions: list[dict[str, Any]] = []
        for symbol in attempted:
            result = repair_listing(
                symbol,
                load(symbol),
                expected[symbol],
                fetch,
                max_ffill_sessions=max_ffill_sessions,
                allow_ffill=allow_ffill,
            )
            actions.extend(result.actions)
            if result.changed:
                store(symbol, result.frame)
                changed.append(symbol)
                current[symbol] = audit(symbol, load(symbol), expected[symbol])
        after = HealthReport(tuple(current.values()))
        rounds.append(
            RoundSummary(
                number, attempted, tuple(changed), report.counts(), after.counts(), tuple(actions)
            )
        )
        report = after
        if not changed:
            stop = RecoveryStop.NO_CHANGE
            break
        if report.all_ok:
            stop = RecoveryStop.ALL_OK
            break
    return RecoveryOutcome(initial=initial, final=report, rounds=tuple(rounds), stop=stop)
