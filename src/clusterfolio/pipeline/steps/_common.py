"""Helpers shared by the data steps (lakehouse, listings, universe artifacts)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date

import pandas as pd

from clusterfolio.artifacts.discovery import RAW_POOL
from clusterfolio.artifacts.selection import WINNERS, read_winners
from clusterfolio.artifacts.state import SYNC_STATE_FILE
from clusterfolio.data.calendars import sessions_back
from clusterfolio.data.lakehouse import Lakehouse
from clusterfolio.data.schema import Listing
from clusterfolio.data.sync import SyncState, remembered_fetch
from clusterfolio.discovery.remote import has_remote_scanner
from clusterfolio.enums import CalendarKind
from clusterfolio.errors import DataError
from clusterfolio.io import read_parquet
from clusterfolio.pipeline.context import RunContext


def lakehouse(ctx: RunContext) -> Lakehouse:
    """The run's lakehouse: its source's namespace only."""
    return Lakehouse(ctx.candle_root, source=ctx.source.key, quarantine_root=ctx.quarantine_root)


def listings_for(ctx: RunContext, symbols: Sequence[str]) -> dict[str, Listing]:
    """Provider metadata of ``symbols`` (``UnknownSymbolError`` names a symbol it lacks)."""
    provider = ctx.provider
    if has_remote_scanner(provider):
        found = provider.metadata_many(symbols)
        return {s: found[s] for s in symbols}
    return {s: provider.metadata(s) for s in symbols}


def record_windows(
    ctx: RunContext, listings: Iterable[Listing], n_sessions: int, *, synced: bool
) -> None:
    """Record on ``ctx.reads`` the last ``n_sessions`` of each listing's calendar as read
    (``synced``: a sync of that window ran first); one window per calendar."""
    by_calendar: dict[CalendarKind, list[str]] = {}
    for listing in listings:
        by_calendar.setdefault(listing.calendar, []).append(listing.symbol)
    for kind, symbols in by_calendar.items():
        window = sessions_back(kind, ctx.as_of, n_sessions)
        ctx.reads.window(symbols, window[0].date(), window[-1].date(), synced=synced)


def gap_fetch(ctx: RunContext, *, again: bool = False) -> Callable[[str, date, date], pd.DataFrame]:
    """The fetch a step repairs gaps with, each range it asks recorded on ``ctx.reads``.

    Remembered in the sync state (:func:`~clusterfolio.data.sync.remembered_fetch`: a range is
    asked once per as-of date); ``again`` (``make recover``): every range is asked again, and
    the step is recorded as asking the provider live.
    """
    if again:
        ctx.reads.ask_live("make recover asks the provider for every gap again")
        return ctx.provider.candles
    remembered = remembered_fetch(ctx.provider, SyncState(ctx.candle_root / SYNC_STATE_FILE))

    def fetch(symbol: str, start: date, end: date) -> pd.DataFrame:
        ctx.reads.ask(symbol, start, end)
        return remembered(symbol, start, end)

    return fetch


def with_baseline(ctx: RunContext, symbols: Sequence[str]) -> list[str]:
    """``symbols`` plus the market baseline (always carried), without duplicates, in order."""
    baseline = ctx.settings.backtest.baseline
    out = list(dict.fromkeys(symbols))
    if baseline not in out:
        out.append(baseline)
    return out


def raw_pool_symbols(ctx: RunContext) -> list[str] | None:
    """Lead symbols of the raw pool when the aggregation step wrote it."""
    path = ctx.artifact(RAW_POOL)
    if not path.exists():
        return None
    frame = read_parquet(path)
    if "symbol" not in frame.columns:
        raise DataError(f"{path}: missing column 'symbol'")
    return [str(s) for s in frame["symbol"]]


def winner_symbols(ctx: RunContext) -> list[str] | None:
    """Symbols selected by natural selection (enriched) when present."""
    if not ctx.artifact(WINNERS).exists():
        return None
    return [str(w["symbol"]) for w in read_winners(ctx.run_dir)]


def provider_universe(ctx: RunContext) -> list[str]:
    """Every listing the provider knows (the universe before discovery exists)."""
    return [listing.symbol for listing in ctx.provider.listings()]


def sessions_count(frame: pd.DataFrame) -> int:
    """Rows of a matrix."""
    return len(frame.index)
