"""Steps 4 and 7: the light (60-session) and deep (500-session) passes.

Both sync the lakehouse selectively (a fresh listing costs no provider call; a listing synced at
60 sessions is deepened to 500 when the deep pass asks for it), then write a price and a return
matrix on each asset's own sessions (NaN where its market was closed). The deep pass also repairs
gaps by re-fetching the missing ranges (real bars only: forward fills are the health audit's,
bounded and recorded, and never stored in the cache).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from clusterfolio.artifacts.discovery import RAW_POOL
from clusterfolio.artifacts.matrices import (
    DEEP_PRICES,
    DEEP_RETURNS,
    DEEP_SYNC,
    LIGHT_PRICES,
    LIGHT_RETURNS,
    LIGHT_SYNC,
)
from clusterfolio.artifacts.selection import WINNERS
from clusterfolio.artifacts.state import SYNC_STATE_FILE
from clusterfolio.data.calendars import sessions_back
from clusterfolio.data.health.repair import repair_listing
from clusterfolio.data.returns import build_matrices
from clusterfolio.data.sync import SyncState, sync_listings
from clusterfolio.enums import StepName
from clusterfolio.io import atomic_write_json, atomic_write_parquet
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.registry import External, Step
from clusterfolio.pipeline.steps._common import (
    gap_fetch,
    lakehouse,
    listings_for,
    provider_universe,
    raw_pool_symbols,
    record_windows,
    winner_symbols,
    with_baseline,
)


def _record_outcomes(ctx: RunContext, outcomes: list[Any]) -> None:
    """Warn about what each listing's sync did (failures, repairs, conflicts, cache only).

    What the sync did depends on the cache's state (fresh or fetched), so it goes to the ledger
    and the log, not into the artifacts: they depend only on the data.
    """
    notes = SyncState(ctx.candle_root / SYNC_STATE_FILE)
    for outcome in outcomes:
        if outcome.action == "failed":
            ctx.recorder.warn(f"{outcome.symbol}: sync failed: {outcome.error}")
        for note in notes.notes_for(outcome.symbol, ctx.as_of):
            ctx.recorder.warn(note)
        for fixed in outcome.repairs:
            ctx.recorder.warn(f"lakehouse repair: {fixed}")
        if outcome.conflicts:
            ctx.recorder.warn(
                f"{outcome.symbol}: {outcome.conflicts} conflicting bars kept as stored "
                f"(sessions {outcome.conflict_sessions[:5]})"
            )
        if outcome.replaced_partial:
            ctx.recorder.warn(
                f"{outcome.symbol}: stored bar of {outcome.replaced_partial} was written before "
                "its session closed (partial): replaced by the provider's final bar"
            )
        if outcome.action == "cache_only":
            ctx.recorder.warn(
                f"fallback cache_only: {outcome.symbol}: backfill off, cache used as is"
            )
        if outcome.requests:
            ctx.logger.info("sync %s %s %s", outcome.symbol, outcome.action, outcome.requests)


def _refetch_gaps(
    ctx: RunContext, lake: Any, listings: dict[str, Any], symbols: list[str], n_sessions: int
) -> None:
    """Ask the provider again for the missing sessions of each stored listing (no fills)."""
    fetch = gap_fetch(ctx)
    for symbol in symbols:
        expected = sessions_back(listings[symbol].calendar, ctx.as_of, n_sessions + 1)
        stored = lake.read(symbol, missing_ok=True)
        if stored.empty:
            continue
        result = repair_listing(
            symbol,
            stored,
            expected,
            fetch,
            max_ffill_sessions=0,
            allow_ffill=False,
        )
        if result.refetched:
            real = result.frame[result.frame["session"].isin(list(result.refetched))]
            lake.merge(symbol, real)
            ctx.logger.info("repair %s refetched %s", symbol, list(result.refetched))


def _pass(ctx: RunContext, symbols: list[str], n_sessions: int, *, repair: bool) -> dict:  # type: ignore[type-arg]
    data = ctx.settings.data
    lake = lakehouse(ctx)
    listings = listings_for(ctx, symbols)
    outcomes = sync_listings(
        lake,
        ctx.provider,
        [listings[s] for s in symbols],
        as_of=ctx.as_of,
        n_sessions=n_sessions + 1,
        state_dir=ctx.candle_root,
        backfill=data.backfill,
        tick=ctx.tick,
    )
    _record_outcomes(ctx, outcomes)
    record_windows(ctx, listings.values(), n_sessions + 1, synced=True)
    if repair and data.gapfill and data.backfill:
        _refetch_gaps(ctx, lake, listings, symbols, n_sessions)
    candles = lake.read_many(symbols, missing_ok=True)
    prices, returns = build_matrices(
        candles, listings, symbols, as_of=ctx.as_of, n_sessions=n_sessions
    )
    counts = {
        "listings": len(symbols),
        "fresh": sum(o.action == "fresh" for o in outcomes),
        "fetched": sum(o.action == "fetched" for o in outcomes),
        "deepened": sum(o.action == "deepened" for o in outcomes),
        "failed": sum(o.action == "failed" for o in outcomes),
        "repaired": sum(bool(o.repairs) for o in outcomes),
        "provider_calls": sum(len(o.requests) for o in outcomes),
        "sessions": len(returns.index),
    }
    ctx.recorder.counts.update(counts)
    return {
        "as_of": ctx.as_of.isoformat(),
        "n_sessions": n_sessions,
        "symbols": symbols,
        "coverage": {
            s: _coverage(candles[s], sessions_back(listings[s].calendar, ctx.as_of, n_sessions + 1))
            for s in symbols
        },
        "prices": prices,
        "returns": returns,
    }


def _coverage(frame: pd.DataFrame, window: pd.DatetimeIndex) -> dict[str, object]:
    """Stored bars inside the pass's window (so an earlier deeper pass changes nothing)."""
    if frame.empty:
        return {"first": None, "last": None, "rows": 0}
    sessions = frame["session"]
    inside = sessions[(sessions >= window[0]) & (sessions <= window[-1])]
    if inside.empty:
        return {"first": None, "last": None, "rows": 0}
    return {
        "first": inside.iloc[0].date().isoformat(),
        "last": inside.iloc[-1].date().isoformat(),
        "rows": len(inside),
    }


def _write(ctx: RunContext, result: dict, prices: str, returns: str, report: str) -> None:  # type: ignore[type-arg]
    atomic_write_parquet(ctx.artifact(prices), result.pop("prices"))
    atomic_write_parquet(ctx.artifact(returns), result.pop("returns"))
    atomic_write_json(ctx.artifact(report), result)


def run_light(ctx: RunContext) -> None:
    """Light pass over the raw pool (or the provider universe before discovery exists)."""
    symbols = raw_pool_symbols(ctx) or provider_universe(ctx)
    symbols = with_baseline(ctx, symbols)
    result = _pass(ctx, symbols, ctx.settings.data.light_lookback_days, repair=False)
    _write(ctx, result, LIGHT_PRICES, LIGHT_RETURNS, LIGHT_SYNC)


def run_deep(ctx: RunContext) -> None:
    """Deep pass over the winners (the raw pool until natural selection exists)."""
    symbols = winner_symbols(ctx) or raw_pool_symbols(ctx) or provider_universe(ctx)
    symbols = with_baseline(ctx, symbols)
    result = _pass(ctx, symbols, ctx.settings.data.lookback_days, repair=True)
    ctx.data_signature = lakehouse(ctx).data_signature(symbols)
    _write(ctx, result, DEEP_PRICES, DEEP_RETURNS, DEEP_SYNC)


LIGHT = Step(
    name=StepName.LIGHT_PREP,
    reads=(),
    optional_reads=(RAW_POOL,),
    writes=(LIGHT_RETURNS, LIGHT_PRICES, LIGHT_SYNC),
    external_reads=(External.MANIFEST, External.LAKEHOUSE),
    run=run_light,
    config_sections=("data", "backtest"),
    uses_data=True,
    description="60-session pass for the raw pool: selective sync, return matrix.",
)

DEEP = Step(
    name=StepName.DEEP_PREP,
    reads=(),
    optional_reads=(RAW_POOL, WINNERS),
    writes=(DEEP_RETURNS, DEEP_PRICES, DEEP_SYNC),
    external_reads=(External.MANIFEST, External.LAKEHOUSE),
    run=run_deep,
    config_sections=("data", "backtest"),
    uses_data=True,
    description="500-session pass for the winners with gap repair (re-fetch).",
)
