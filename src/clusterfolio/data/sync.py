"""Selective sync: bring each listing's stored history to the sessions a pass needs.

Freshness comes from the listing's calendar, not from file times: a listing is fresh when the
lakehouse holds its expected last session (the last session on or before the as-of date) and
reaches back to the first session the pass needs. A fresh listing costs no provider call. A
listing synced for the 60-session pass is *deepened* for the 500-session pass by fetching only
the missing head. What the provider was already asked for (``_sync_state.json`` beside the candle
files) is remembered, so a listing the provider cannot extend (stale, delisted) is not asked for
again on the same as-of date: a second run on a fresh cache makes zero provider calls.

The state is checked against the files at the start of each listing's sync
(:func:`check_listing`): a file the state says holds bars but that is missing or ends earlier
is fetched again, and an unreadable file (truncated, corrupt, another source's) is moved to the
quarantine folder with its reason and fetched again. Each repair is reported on the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from clusterfolio.artifacts.encoding import record
from clusterfolio.artifacts.state import SYNC_NOTES_FILE, SYNC_STATE_FILE
from clusterfolio.data.calendars import sessions_back
from clusterfolio.data.lakehouse import Coverage, Lakehouse, MergeReport, coverage_of
from clusterfolio.data.provider import Provider
from clusterfolio.data.schema import Listing
from clusterfolio.enums import CalendarKind
from clusterfolio.errors import CorruptFileError, DataError, ProviderError
from clusterfolio.io import atomic_write_json, read_json

#: Listings synced per batch (one lakehouse commit and one state write each).
SYNC_BATCH = 500


@dataclass
class SyncOutcome:
    """What the sync did to one listing."""

    symbol: str
    action: str  # fresh | fetched | deepened | cache_only | failed
    requests: list[tuple[str, str]] = field(default_factory=list)
    appended: int = 0
    backfilled: int = 0
    duplicates_collapsed: list[str] = field(default_factory=list)
    conflicts: int = 0
    conflict_sessions: list[str] = field(default_factory=list)
    replaced_partial: str = ""
    repairs: list[str] = field(default_factory=list)
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (:func:`~clusterfolio.artifacts.encoding.record`)."""
        return record(self)


class SyncState:
    """The provider ranges already asked for, per listing.

    Stored as ``symbol -> [from, through]`` or ``[from, through, last stored session]`` once
    bars were stored (so a file that disappears is known to be missing, not empty).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.notes_path = path.with_name(SYNC_NOTES_FILE)
        self.ranges: dict[str, list[str]] = {}
        self.notes: dict[str, list[list[str]]] = {}
        if path.exists():
            raw = read_json(path)
            if not isinstance(raw, dict):
                raise DataError(f"{path}: expected an object of symbol -> [from, through]")
            self.ranges = {str(k): list(v) for k, v in raw.items()}
        if self.notes_path.exists():
            raw_notes = read_json(self.notes_path)
            if not isinstance(raw_notes, dict):
                raise DataError(f"{self.notes_path}: expected an object of symbol -> notes")
            self.notes = {str(k): [list(n) for n in v] for k, v in raw_notes.items()}

    def note(self, symbol: str, as_of: date, text: str) -> None:
        """Remember a repair made while syncing ``symbol`` on ``as_of`` (shown by every pass
        of that date that uses the listing, whether or not it fetched it itself)."""
        entry = [as_of.isoformat(), text]
        notes = self.notes.setdefault(symbol, [])
        if entry not in notes:
            notes.append(entry)

    def notes_for(self, symbol: str, as_of: date) -> list[str]:
        """Notes recorded for ``symbol`` on ``as_of``."""
        day = as_of.isoformat()
        return [text for d, text in self.notes.get(symbol, []) if d == day]

    def stored_last(self, symbol: str) -> str:
        """Last session the state saw stored for ``symbol`` (``""``: none)."""
        have = self.ranges.get(symbol, [])
        return str(have[2]) if len(have) > 2 else ""

    def mark_stored(self, symbol: str, last: date | None) -> None:
        """Remember the last session stored for ``symbol`` (after a merge)."""
        have = self.ranges.get(symbol)
        if have and last is not None:
            self.ranges[symbol] = [have[0], have[1], last.isoformat()]

    def forget(self, symbol: str) -> None:
        """Drop what the state remembers of ``symbol`` (it will be asked for again)."""
        self.ranges.pop(symbol, None)

    def covers(self, symbol: str, start: date, end: date) -> bool:
        """Whether ``[start, end]`` was already asked for."""
        have = self.ranges.get(symbol)
        if not have:
            return False
        return have[0] <= start.isoformat() and have[1] >= end.isoformat()

    def add(self, symbol: str, start: date, end: date) -> None:
        """Remember that ``[start, end]`` was asked for (ranges widen, never shrink)."""
        have = self.ranges.get(symbol)
        lo, hi = start.isoformat(), end.isoformat()
        if have:
            lo, hi = min(lo, have[0]), max(hi, have[1])
        self.ranges[symbol] = [lo, hi, *have[2:3]] if have else [lo, hi]

    def save(self) -> None:
        """Write atomically (notes first: a range is never remembered without its notes)."""
        if self.notes:
            atomic_write_json(self.notes_path, dict(sorted(self.notes.items())))
        atomic_write_json(self.path, dict(sorted(self.ranges.items())))


def remembered_fetch(
    provider: Provider, state: SyncState
) -> Callable[[str, date, date], pd.DataFrame]:
    """A fetch for gap repair that never asks the provider twice for the same range.

    A range inside what the provider was already asked for on this as-of date returns an empty
    frame without a call (the provider had nothing more); anything else is fetched and
    remembered. ``make recover`` bypasses this to ask again.
    """

    def fetch(symbol: str, start: date, end: date) -> pd.DataFrame:
        if state.covers(symbol, start, end):
            return pd.DataFrame(columns=["session", "open", "high", "low", "close", "volume"])
        frame = provider.candles(symbol, start, end)
        state.add(symbol, start, end)
        state.save()
        return frame

    return fetch


def collapse_duplicates(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Keep the last bar of each duplicated session; return the collapsed sessions."""
    if frame.empty or _strictly_ascending(frame):
        return frame, []
    dup = frame["session"].duplicated(keep=False)
    if not dup.any():
        return frame, []
    sessions = sorted({pd.Timestamp(s).date().isoformat() for s in frame.loc[dup, "session"]})
    out = frame.drop_duplicates("session", keep="last").sort_values("session", kind="mergesort")
    return out.reset_index(drop=True), sessions


def _strictly_ascending(frame: pd.DataFrame) -> bool:
    """Whether the sessions of ``frame`` are ``datetime64`` and strictly ascending (so unique):
    the provider's usual answer, checked without building a pandas mask."""
    if "session" not in frame.columns:
        return False
    ticks = frame["session"].to_numpy()
    if ticks.dtype.kind != "M" or np.isnat(ticks).any():
        return False
    return bool((ticks[1:] > ticks[:-1]).all())


def needed_window(listing: Listing, as_of: date, n_sessions: int) -> pd.DatetimeIndex:
    """The last ``n_sessions`` sessions of the listing's calendar on or before ``as_of``."""
    return sessions_back(listing.calendar, as_of, n_sessions)


class CandleSource(Protocol):
    """What a sync asks of a provider: candles of one symbol for a range of sessions."""

    def candles(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Candles of ``symbol`` for sessions in ``[start, end]``."""
        ...


def check_listing(lakehouse: Lakehouse, symbol: str, state: SyncState) -> list[str]:
    """Check what ``state`` says of ``symbol`` against its file; repair and say what was done.

    An unreadable file is quarantined (see :meth:`Lakehouse.quarantine`) and forgotten; a file
    that is missing, or ends before the last session the state saw stored, is forgotten. A
    forgotten listing is fetched again by the sync.

    Returns
    -------
    list of str
        One message per repair (empty when the state matches the file).
    """
    try:
        read: Coverage | CorruptFileError = lakehouse.coverage(symbol)
    except CorruptFileError as exc:
        read = exc
    return _checked_coverage(lakehouse, symbol, state, read)[0]


def _checked_coverage(
    lakehouse: Lakehouse, symbol: str, state: SyncState, cov: Coverage | CorruptFileError
) -> tuple[list[str], Coverage]:
    """:func:`check_listing` on the coverage just read (or the error reading it raised), and
    the listing's coverage after the repairs."""
    if isinstance(cov, CorruptFileError):
        moved = lakehouse.quarantine(symbol, str(cov))
        state.forget(symbol)
        text = f"{symbol}: unreadable candle file quarantined to {moved} ({cov}); fetched again"
        return [text], Coverage(None, None, 0)
    if not stored_bars_lost(symbol, cov, state):
        return [], cov
    seen = state.stored_last(symbol)
    state.forget(symbol)
    lost = (
        f"the file is missing ({lakehouse.path(symbol)})"
        if cov.last is None
        else f"the file ends on {cov.last}"
    )
    return [
        f"{symbol}: sync state says bars through {seen} are stored but {lost}; fetched again"
    ], cov


def stored_bars_lost(symbol: str, cov: Coverage, state: SyncState) -> bool:
    """Whether the file of ``symbol`` lost bars the sync state says were stored (missing, or
    ending before the state's last stored session): a sync forgets the state and fetches the
    listing again."""
    seen = state.stored_last(symbol)
    return bool(seen) and (cov.last is None or cov.last.isoformat() < seen)


def plan_ranges(
    lakehouse: Lakehouse,
    listing: Listing,
    *,
    as_of: date,
    n_sessions: int,
    state: SyncState,
    coverage: Coverage | None = None,
    window: tuple[date, date] | None = None,
) -> list[tuple[date, date]]:
    """The ranges :func:`sync_listing` would ask the provider for (empty when fresh).

    ``coverage`` is the listing's stored coverage when the caller has just read it, ``window``
    the first and last session of :func:`needed_window` when the caller knows them (they
    depend only on the calendar, ``as_of`` and ``n_sessions``).
    """
    need_start, expected_last = window or _window(listing, as_of, n_sessions)
    cov = lakehouse.coverage(listing.symbol) if coverage is None else coverage
    return missing_ranges(listing.symbol, cov, need_start, expected_last, as_of, state)


def missing_ranges(
    symbol: str, cov: Coverage, need_start: date, expected_last: date, as_of: date, state: SyncState
) -> list[tuple[date, date]]:
    """The ranges a sync of ``[need_start, expected_last]`` asks for, given what is stored
    (``cov``) and what was already asked (``state``): empty when the window needs no provider
    call (the rule of :func:`plan_ranges`, for a window already computed)."""
    ranges: list[tuple[date, date]] = []
    if cov.n == 0 or cov.first is None or cov.last is None:
        if not state.covers(symbol, need_start, as_of):
            ranges.append((need_start, as_of))
    else:
        if cov.last < expected_last and not state.covers(symbol, cov.last, as_of):
            ranges.append((cov.last, as_of))
        if cov.first > need_start and not state.covers(symbol, need_start, cov.first):
            ranges.append((need_start, cov.first - timedelta(days=1)))
    return ranges


def _window(listing: Listing, as_of: date, n_sessions: int) -> tuple[date, date]:
    days = needed_window(listing, as_of, n_sessions)
    return days[0].date(), days[-1].date()


class _Prefetched:
    """A provider whose ``candles`` answers from batches fetched beforehand (``candles_many``):
    a prefetched range is served once from memory, a failed one raises its error again, any
    other range goes to the provider."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.frames: dict[tuple[str, date, date], pd.DataFrame] = {}
        self.errors: dict[tuple[str, date, date], str] = {}

    def fetch(self, symbols: Sequence[str], start: date, end: date) -> None:
        many = getattr(self.provider, "candles_many", None)
        if many is None or len(symbols) < 2:
            return
        frames = many(symbols, start, end, strict=False)
        failures = getattr(self.provider, "failures", {})
        for symbol in symbols:
            if symbol in frames:
                self.frames[(symbol, start, end)] = frames[symbol]
            elif symbol in failures:
                self.errors[(symbol, start, end)] = str(failures[symbol])

    def candles(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        key = (symbol, start, end)
        if key in self.errors:
            raise ProviderError(self.errors.pop(key))
        if key in self.frames:
            return self.frames.pop(key)
        return self.provider.candles(symbol, start, end)


@dataclass
class _Plan:
    """One listing of a batch: what it needs, what is stored, what happened to it."""

    listing: Listing
    outcome: SyncOutcome
    ranges: list[tuple[date, date]] = field(default_factory=list)
    coverage: Coverage = field(default_factory=lambda: Coverage(None, None, 0))
    stored: pa.Table | None = None  # the stored table, kept for the merge when ranges are asked
    error: DataError | None = None

    def fail(self, exc: DataError) -> None:
        self.error = exc
        self.outcome.action = "failed"
        self.outcome.error = f"{type(exc).__name__}: {exc}"


def _plan(
    lakehouse: Lakehouse,
    listing: Listing,
    read: pa.Table | CorruptFileError | None,
    *,
    as_of: date,
    n_sessions: int,
    state: SyncState,
    windows: dict[CalendarKind, tuple[date, date]],
) -> _Plan:
    """Check one listing against the state and plan its ranges from its file as ``read``
    (:meth:`Lakehouse.read_tables`); the table is kept for the merge when ranges are asked, so
    the file is read once. ``windows`` caches the needed window per calendar."""
    plan = _Plan(listing, SyncOutcome(listing.symbol, "fresh"))
    try:
        cov = read if isinstance(read, CorruptFileError) else coverage_of(read)
        plan.outcome.repairs, plan.coverage = _checked_coverage(
            lakehouse, listing.symbol, state, cov
        )
        if listing.calendar not in windows:
            windows[listing.calendar] = _window(listing, as_of, n_sessions)
        plan.ranges = plan_ranges(
            lakehouse,
            listing,
            as_of=as_of,
            n_sessions=n_sessions,
            state=state,
            coverage=plan.coverage,
            window=windows[listing.calendar],
        )
    except DataError as exc:
        plan.fail(exc)
    if plan.ranges and plan.coverage.n and isinstance(read, pa.Table):
        plan.stored = read
    return plan


def _fetch(source: CandleSource, plan: _Plan, as_of: date, state: SyncState) -> pd.DataFrame:
    """Ask for every planned range of one listing; the new bars in one frame."""
    symbol, outcome = plan.listing.symbol, plan.outcome
    parts = []
    for start, end in plan.ranges:
        outcome.requests.append((start.isoformat(), end.isoformat()))
        frame = source.candles(symbol, start, end)
        state.add(symbol, start, end)
        frame, collapsed = collapse_duplicates(frame)
        outcome.duplicates_collapsed.extend(collapsed)
        if collapsed:
            state.note(
                symbol,
                as_of,
                f"fallback duplicate_sessions: {symbol}: provider served duplicated sessions "
                f"{collapsed}; kept the last bar of each",
            )
        if not frame.empty:
            parts.append(frame)
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return pd.DataFrame()
    both = pd.concat(parts, ignore_index=True).sort_values("session", kind="mergesort")
    return collapse_duplicates(both.reset_index(drop=True))[0]


def _record(plan: _Plan, report: MergeReport, frame: pd.DataFrame, state: SyncState) -> None:
    """Copy a merge report onto the outcome; remember the last session now stored."""
    outcome = plan.outcome
    outcome.appended += report.appended
    outcome.backfilled += report.backfilled
    outcome.conflicts += len(report.conflicts)
    outcome.conflict_sessions += [c.session.isoformat() for c in report.conflicts]
    if report.replaced_partial is not None:
        outcome.replaced_partial = report.replaced_partial.isoformat()
    last = plan.coverage.last
    if not frame.empty:
        newest = pd.Timestamp(frame["session"].max()).date()
        last = newest if last is None else max(last, newest)
    state.mark_stored(plan.listing.symbol, last)


def _apply(
    lakehouse: Lakehouse,
    source: CandleSource,
    plans: Sequence[_Plan],
    *,
    as_of: date,
    state: SyncState,
    backfill: bool,
) -> None:
    """Fetch what the plans need, then merge all of it in one lakehouse commit."""
    frames: dict[str, pd.DataFrame] = {}
    fetched: dict[str, _Plan] = {}
    for plan in plans:
        if plan.error is not None or not plan.ranges:
            continue
        if not backfill:
            plan.outcome.action = "cache_only"
            continue
        first_range_end = plan.ranges[0][1]
        is_new = plan.coverage.n == 0 or first_range_end == as_of
        plan.outcome.action = "fetched" if is_new else "deepened"
        try:
            frame = _fetch(source, plan, as_of, state)
        except DataError as exc:
            plan.fail(exc)
            continue
        fetched[plan.listing.symbol] = plan
        if not frame.empty:
            frames[plan.listing.symbol] = frame
    stored = {symbol: fetched[symbol].stored for symbol in frames}
    reports, failures = lakehouse.merge_batch(frames, stored=stored)
    for plan in plans:
        plan.stored = None  # the batch is merged: let the tables go
    for symbol, plan in fetched.items():
        failure = failures.get(symbol)
        if isinstance(failure, DataError):
            plan.fail(failure)
        elif failure is not None:
            raise failure
        elif symbol in reports:
            _record(plan, reports[symbol], frames[symbol], state)
        else:
            _record(plan, MergeReport(symbol), pd.DataFrame(), state)


def sync_listing(
    lakehouse: Lakehouse,
    provider: CandleSource,
    listing: Listing,
    *,
    as_of: date,
    n_sessions: int,
    state: SyncState,
    backfill: bool = True,
) -> SyncOutcome:
    """Bring one listing's stored history to the window the pass needs.

    Parameters
    ----------
    lakehouse, provider
        Store and source.
    listing : Listing
        The listing (its calendar decides the expected sessions).
    as_of : date
        Decision date.
    n_sessions : int
        Sessions the pass needs.
    state : SyncState
        Ranges already asked for (the caller saves it).
    backfill : bool
        When false, only the cache is used (recorded as ``cache_only``).

    Returns
    -------
    SyncOutcome

    Raises
    ------
    DataError
        The provider or the merge failed (the message names the listing).
    """
    read = lakehouse.read_tables([listing.symbol])[0]
    plan = _plan(
        lakehouse, listing, read, as_of=as_of, n_sessions=n_sessions, state=state, windows={}
    )
    if plan.error is None:
        _apply(lakehouse, provider, [plan], as_of=as_of, state=state, backfill=backfill)
    if plan.error is not None:
        raise plan.error
    return plan.outcome


def sync_listings(
    lakehouse: Lakehouse,
    provider: Provider,
    listings: Sequence[Listing],
    *,
    as_of: date,
    n_sessions: int,
    state_dir: Path,
    backfill: bool = True,
    tick: Callable[[str, int, int], None] | None = None,
) -> list[SyncOutcome]:
    """Sync many listings (see :func:`sync_listing`); failures are recorded, not raised.

    Listings go in batches of :data:`SYNC_BATCH`: every listing's file is read once (the batch
    concurrently) to plan it, and the table read is the one merged, the provider is asked once per distinct range (``candles_many`` where it has one), the
    new bars of the whole batch are validated in one pass and committed to the lakehouse at
    once (:meth:`Lakehouse.merge_batch`: temporary files fsync-ed concurrently, moved into
    place, one folder fsync), then the sync state is written once. A sync killed mid-batch
    loses nothing stored: the files moved into place are complete, the others are the old
    ones, and the state, written after the files, at worst lacks that batch's ranges (they
    are asked for again, and merging the same bars again is idempotent).
    """
    state = SyncState(state_dir / SYNC_STATE_FILE)
    outcomes: list[SyncOutcome] = []
    total = len(listings)
    windows: dict[CalendarKind, tuple[date, date]] = {}
    for lo in range(0, total, SYNC_BATCH):
        chunk = listings[lo : lo + SYNC_BATCH]
        reads = lakehouse.read_tables([x.symbol for x in chunk])
        plans = [
            _plan(
                lakehouse, x, read, as_of=as_of, n_sessions=n_sessions, state=state, windows=windows
            )
            for x, read in zip(chunk, reads, strict=True)
        ]
        del reads  # only the tables of listings to merge stay (on their plans)
        source = _Prefetched(provider)
        if backfill:
            batches: dict[tuple[date, date], list[str]] = {}
            for plan in plans:
                for span in plan.ranges if plan.error is None else []:
                    batches.setdefault(span, []).append(plan.listing.symbol)
            for (start, end), symbols in sorted(batches.items()):
                source.fetch(symbols, start, end)
        _apply(lakehouse, source, plans, as_of=as_of, state=state, backfill=backfill)
        if any(p.outcome.requests or p.outcome.repairs for p in plans):
            state.save()
        outcomes.extend(p.outcome for p in plans)
        if tick is not None:
            for i in range(lo + 1, lo + len(chunk) + 1):
                tick("sync", i, total)
    return outcomes
