"""Steps 2 and 3: discovery (the screens) and aggregation (the raw pool).

Discovery loads the declarative screens of ``discovery.scanners_dir``. A provider with a remote
scanner (TradingView) evaluates them itself; for the ``synthetic`` and ``files`` providers the
screener columns are computed locally from ``discovery.history_days`` of candles per listing
(synced into the lakehouse, so the passes after it find them fresh) and the screens are
evaluated on that table. One export per scanner (``scans/<scanner>.json``) and a summary are
written; a failing or empty scanner is reported and the others go on.

Aggregation merges the exports into economic identities (lead listing plus implementation
alternatives, Alpha Discovery Score, direction conflicts, class caps) and records every decision.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd

from clusterfolio.artifacts.discovery import DISCOVERY_SUMMARY as SUMMARY
from clusterfolio.artifacts.discovery import RAW_POOL, RAW_POOL_JSON, SCANS_DIR, SCREENER
from clusterfolio.artifacts.state import SYNC_STATE_FILE
from clusterfolio.data.calendars import sessions, sessions_back
from clusterfolio.data.lakehouse import Lakehouse
from clusterfolio.data.schema import Listing
from clusterfolio.data.sync import SyncState, sync_listings
from clusterfolio.discovery.evaluate import ScanExport, ScanStatus, discovery_summary
from clusterfolio.discovery.remote import (
    has_remote_scanner,
    remote_exports,
    remote_listings,
)
from clusterfolio.discovery.screens import Screen
from clusterfolio.enums import AssetClass, CalendarKind, Direction, StepName
from clusterfolio.errors import DataError
from clusterfolio.io import atomic_write_json, atomic_write_parquet, read_json
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.registry import External, Step
from clusterfolio.pipeline.steps._common import lakehouse


def _screens(ctx: RunContext) -> list[Any]:
    from clusterfolio.discovery.screens import load_screens

    settings = ctx.settings.discovery
    return load_screens(ctx.resolve_config_path(settings.scanners_dir), settings.scanners)


def _read_stored(lake: Lakehouse, symbols: list[str]) -> dict[str, pd.DataFrame | DataError]:
    """Stored candles of ``symbols`` in one concurrent batch (empty frame when none stored).

    When the batch fails (a corrupt file), each symbol is read alone and its error returned in
    its place, so one broken file costs only its own listing.
    """
    try:
        return dict(lake.read_many(symbols, missing_ok=True))
    except DataError:
        out: dict[str, pd.DataFrame | DataError] = {}
        for symbol in symbols:
            try:
                out[symbol] = lake.read(symbol, missing_ok=True)
            except DataError as exc:
                out[symbol] = exc
        return out


def _spans(frame: pd.DataFrame | DataError, window: pd.DatetimeIndex) -> bool:
    """Whether stored candles reach from the window's first to its last session."""
    if isinstance(frame, DataError) or frame.empty:
        return False
    column = list(frame.columns).index("session")  # iat: no Series built per frame
    first: Any = frame.iat[0, column]
    last: Any = frame.iat[-1, column]
    return bool(pd.Timestamp(first) <= window[0] and pd.Timestamp(last) >= window[-1])


def _local_table(ctx: RunContext, screens: list[Any]) -> pd.DataFrame:
    """Screener table of every listing from ``discovery.history_days`` of stored candles.

    The stored candles are read in one concurrent batch; a listing whose stored candles already
    span the sessions its calendar needs is fresh (:func:`~clusterfolio.data.sync.sync_listing`
    would ask nothing), the others are synced in batches per calendar
    (:func:`~clusterfolio.data.sync.sync_listings`: one lakehouse commit and one state write per
    batch) and read again.
    """
    from clusterfolio.discovery.columns import screener_table
    from clusterfolio.discovery.evaluate import required_columns

    provider = ctx.provider
    listings = {listing.symbol: listing for listing in provider.listings()}
    symbols = sorted(listings)
    start = ctx.as_of - timedelta(days=ctx.settings.discovery.history_days)
    lake = lakehouse(ctx)
    windows: dict[CalendarKind, pd.DatetimeIndex] = {}
    stored = _read_stored(lake, symbols)
    candles: dict[str, pd.DataFrame] = {}
    stale: dict[CalendarKind, list[Listing]] = {}
    for symbol in symbols:
        kind = listings[symbol].calendar
        if kind not in windows:
            n = max(len(sessions(kind, start, ctx.as_of)), 2)
            windows[kind] = sessions_back(kind, ctx.as_of, n)
        window = windows[kind]
        ctx.reads.window([symbol], window[0].date(), window[-1].date(), synced=True)
        if _spans(stored[symbol], window):
            candles[symbol] = stored[symbol]  # type: ignore[assignment]
        else:
            stale.setdefault(kind, []).append(listings[symbol])
    synced: list[str] = []
    for kind, group in sorted(stale.items()):
        outcomes = sync_listings(
            lake,
            provider,
            group,
            as_of=ctx.as_of,
            n_sessions=len(windows[kind]),
            state_dir=ctx.candle_root,
            backfill=ctx.settings.data.backfill,
        )
        for outcome in outcomes:
            for repair in outcome.repairs:
                ctx.recorder.warn(f"lakehouse repair: {repair}")
            if outcome.action == "failed":
                ctx.recorder.warn(f"{outcome.symbol}: sync failed: {outcome.error}")
            else:
                synced.append(outcome.symbol)
    ctx.tick("screener candles", len(symbols), len(symbols))
    state = SyncState(ctx.candle_root / SYNC_STATE_FILE)
    for symbol in symbols:  # repairs of this date, whichever run fetched the listing
        for note in state.notes_for(symbol, ctx.as_of):
            ctx.recorder.warn(note)
    for symbol, frame in _read_stored(lake, sorted(synced)).items():
        if isinstance(frame, DataError):
            ctx.recorder.warn(f"{symbol}: read failed after sync: {frame}")
            continue
        candles[symbol] = frame
    return screener_table(
        candles, listings, required_columns(screens), as_of=ctx.as_of, start=start
    )


def remote_exports_for(
    ctx: RunContext, screens: list[Screen]
) -> tuple[list[ScanExport], pd.DataFrame]:
    """:func:`~clusterfolio.discovery.remote.remote_exports` with the run's provider, stamps,
    logger, progress and recorder."""
    return remote_exports(
        ctx.provider,
        screens,
        as_of=ctx.as_of,
        run_id=ctx.run_id,
        logger=ctx.logger,
        tick=ctx.tick,
        warn=ctx.recorder.warn,
    )


def run_discovery(ctx: RunContext) -> None:
    """Evaluate every screen and write one export per scanner and a summary."""
    from clusterfolio.discovery.evaluate import run_scanners

    screens = _screens(ctx)
    if not screens:
        raise DataError(f"no screens in {ctx.settings.discovery.scanners_dir}")
    if has_remote_scanner(ctx.provider):
        ctx.reads.ask_live("the provider's remote screener")
        exports, table = remote_exports_for(ctx, screens)
    else:
        table = _local_table(ctx, screens)
        exports = run_scanners(screens, table, as_of=ctx.as_of, run_id=ctx.run_id)
    atomic_write_parquet(ctx.artifact(SCREENER), table)
    _record_baseline(ctx)
    by_name = {screen.name: screen for screen in screens}
    reasons: dict[str, str] = {}
    for export in exports:
        atomic_write_json(ctx.artifact(f"scans/{export.scanner}.json"), export.to_json_dict())
        if export.status is ScanStatus.FAILED:
            ctx.recorder.warn(f"scanner {export.scanner} failed: {export.error}")
            ctx.recorder.decide(export.scanner, "scanner_failed", export.error)
        elif export.status is ScanStatus.EMPTY:
            reasons[export.scanner] = _why_empty(by_name.get(export.scanner), table)
            ctx.recorder.warn(
                f"scanner {export.scanner} returned no rows: {reasons[export.scanner]}"
            )
    summary = {**discovery_summary(exports), "empty_reasons": reasons}
    atomic_write_json(ctx.artifact(SUMMARY), summary)
    ctx.recorder.counts.update(
        {
            "scanners": len(exports),
            "failed": sum(e.status is ScanStatus.FAILED for e in exports),
            "rows": sum(e.n_rows for e in exports),
            "universe": len(table),
        }
    )


def _why_empty(screen: Any, table: pd.DataFrame) -> str:
    from clusterfolio.discovery.why import why_empty

    if screen is None or table.empty:
        return "no listing to screen" if table.empty else "screen not found"
    try:
        return why_empty(screen, table)
    except Exception as exc:  # the explanation must never fail the step
        return f"(no explanation: {type(exc).__name__}: {exc})"


def _record_baseline(ctx: RunContext) -> None:
    """Record the baseline replacement the run was started with (``baseline_requested``)."""
    backtest = ctx.settings.backtest
    if backtest.baseline_requested and backtest.baseline_requested != backtest.baseline:
        ctx.recorder.fallback(
            "baseline",
            f"backtest.baseline {backtest.baseline_requested} is not in the data: the market "
            f"baseline is {backtest.baseline} (backtest.baseline_fallback="
            f"{backtest.baseline_fallback.value})",
            requested=backtest.baseline_requested,
            used=backtest.baseline,
        )


def load_exports(ctx: RunContext) -> list[ScanExport]:
    """Read the scanner exports back (the aggregation step's input)."""
    exports = []
    for path in sorted(ctx.artifact("scans").glob("*.json")):
        raw = read_json(path)
        rows = pd.DataFrame.from_records(raw.get("rows", []))
        if not rows.empty:
            rows = rows.set_index("symbol")
        exports.append(
            ScanExport(
                scanner=raw["scanner"],
                asset_class=AssetClass(raw["asset_class"]) if raw.get("asset_class") else None,
                direction=Direction(raw["direction"]),
                as_of=ctx.as_of,
                run_id=raw.get("run_id", ctx.run_id),
                status=ScanStatus(raw["status"]),
                rows=rows,
                error=raw.get("error", ""),
                source=raw.get("source", ""),
            )
        )
    return exports


def run_aggregation(ctx: RunContext) -> None:
    """Build the raw pool of canonical identities."""
    from clusterfolio.discovery.pool import build_raw_pool

    settings = ctx.settings
    exports = load_exports(ctx)
    if has_remote_scanner(ctx.provider):
        listings = remote_listings(ctx.provider, exports)
    else:
        listings = {listing.symbol: listing for listing in ctx.provider.listings()}
    pool = build_raw_pool(
        exports,
        listings,
        max_per_class=settings.discovery.max_per_class,
        xs_momentum=settings.features.feat_xs_momentum,
        min_value_traded=settings.discovery.min_value_traded,
        weights=settings.scoring.alpha,
    )
    for decision in pool.decisions:
        ctx.recorder.decide(
            str(decision["subject"]),
            str(decision["action"]),
            str(decision["reason"]),
            **dict(decision.get("details") or {}),
        )
    frame = pool.to_frame()
    frame.insert(0, "symbol", frame["lead_symbol"])
    if "scanners" in frame.columns:
        frame["scanners"] = [
            ",".join(v) if isinstance(v, list | tuple) else str(v) for v in frame["scanners"]
        ]
    atomic_write_parquet(ctx.artifact(RAW_POOL), frame.reset_index(drop=True), index=False)
    atomic_write_json(ctx.artifact(RAW_POOL_JSON), pool.to_json_dict())
    counts: dict[str, int] = {"identities": len(frame)}
    for cls, n in frame["asset_class"].astype(str).value_counts().sort_index().items():
        counts[f"class_{cls}"] = int(n)
    ctx.recorder.counts.update(counts)


DISCOVERY = Step(
    name=StepName.DISCOVERY,
    reads=(),
    writes=(SCANS_DIR, SUMMARY, SCREENER),
    external_reads=(External.MANIFEST, External.LAKEHOUSE, External.SCANNERS),
    run=run_discovery,
    config_sections=("discovery", "data"),
    uses_data=True,
    description="Multi-asset screens (equities, crypto, bonds, MTF forex); one export each.",
)

AGGREGATION = Step(
    name=StepName.AGGREGATION,
    reads=(SCANS_DIR,),
    writes=(RAW_POOL, RAW_POOL_JSON),
    external_reads=(External.MANIFEST, External.LAKEHOUSE),
    run=run_aggregation,
    config_sections=("discovery", "features", "scoring"),
    uses_data=True,
    description="Raw pool: canonical identities, lead listing, alternatives, alpha score.",
)
