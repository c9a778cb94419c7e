"""Step 12: the validation tournament (``make tournament``).

With ``backtest.universe = point_in_time`` (the default) the step reads the market as it is
stored: the candles of every listing the provider serves over ``backtest.history_days`` (plus
``discovery.history_days`` before it for the screens), synced into the lakehouse like a deep
pass of the whole universe. Every walk-forward window then re-runs the screens, the raw pool and
natural selection on the data up to its training end (:mod:`clusterfolio.backtest.universe`), and
decides regime, clusters, statistics and scores from its training slice. With ``as_of_winners``
it reads the audited matrix ``returns.parquet`` and the as-of directions of ``winners.json``
(look-ahead: the summary and every report say so). Then it runs
:func:`~clusterfolio.backtest.tournament.run_tournament`: every engine x profile
(``tournament.engines``, ``tournament.profiles``) through the executor of ``tournament.executor``
(``n_jobs`` workers), every simulator of ``tournament.simulators`` (the cvxportfolio reference
simulator for the custom engine and the market only: its cost bound, see
:mod:`clusterfolio.backtest.tournament`).

The live decision's artifacts are inputs too: ``decide`` run on the whole matrix must find the
clusters of ``clusters.json``, the regime of ``regime.json`` and the statistics of
``antifragility.parquet`` (steps 9 and 10 use the same functions); a disagreement is recorded as
a warning and in the summary's ``live_parity``. ``portfolio_optimized.json`` gives the live
profiles listed next to the tournament's. ``winners.json`` gives the as-of directions (LONG when
absent) of the parity check and of ``as_of_winners``.

Writes ``tournament_results.parquet``, ``tournament_summary.json``,
``tournament_returns.parquet``, ``tournament_weights.parquet`` and, with
``features.feat_decay_audit``, ``slippage_decay.json`` (removed when the flag is off).
Timings (run-dependent) go to the ledger's counts and the log, never to the artifacts, which are
byte-identical on identical inputs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.artifacts.discovery import RAW_POOL
from clusterfolio.artifacts.matrices import RETURNS
from clusterfolio.artifacts.portfolio import PORTFOLIO, profiles_of, read_portfolio
from clusterfolio.artifacts.risk import ANTIFRAGILITY, CLUSTERS, REGIME
from clusterfolio.artifacts.selection import WINNERS
from clusterfolio.artifacts.tournament import (
    SLIPPAGE_DECAY,
    TOURNAMENT_RESULTS,
    TOURNAMENT_RETURNS,
    TOURNAMENT_SUMMARY,
    TOURNAMENT_WEIGHTS,
)
from clusterfolio.backtest.history import MarketHistory
from clusterfolio.data.calendars import sessions
from clusterfolio.data.returns import returns_between
from clusterfolio.data.schema import Listing
from clusterfolio.data.sync import sync_listings
from clusterfolio.discovery.remote import has_remote_scanner
from clusterfolio.enums import CalendarKind, StepName, UniverseMode
from clusterfolio.errors import ClusterfolioError
from clusterfolio.io import read_json, read_parquet
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.registry import External, Step
from clusterfolio.pipeline.steps._common import (
    lakehouse,
    listings_for,
    raw_pool_symbols,
    record_windows,
    with_baseline,
)
from clusterfolio.pipeline.steps.risk import directions_of, winner_table

#: The warning of every tournament (and report) built on the as-of winners.
AS_OF_WINNERS_WARNING = (
    "backtest.universe=as_of_winners: every window holds the universe and directions chosen at "
    "the as-of date (look-ahead); its figures overstate what could have been earned"
)

#: Tolerance of the live parity check of the antifragility statistics.
PARITY_TOL = 1e-10


def live_parity(
    ctx: RunContext, returns: pd.DataFrame, directions: dict[str, Any]
) -> dict[str, Any]:
    """Compare :func:`~clusterfolio.backtest.decision.decide` on the whole matrix with steps 9-10.

    Parameters
    ----------
    ctx : RunContext
        The run (``clusters.json``, ``regime.json``, ``antifragility.parquet`` are read).
    returns : pandas.DataFrame
        The audited matrix.
    directions : dict
        Direction per symbol.

    Returns
    -------
    dict
        ``clusters``, ``regime``, ``threshold`` and ``statistics`` (each True when equal),
        ``checked`` (False with the dynamic universe, whose universe differs by design, or when
        the whole-matrix decision fails) and ``detail``.
    """
    from clusterfolio.backtest.decision import decide

    settings = ctx.settings
    buckets = read_json(ctx.artifact(CLUSTERS))
    regime_doc = read_json(ctx.artifact(REGIME))
    table = read_parquet(ctx.artifact(ANTIFRAGILITY))
    try:
        decision = decide(returns, directions, settings)
    except ClusterfolioError as exc:
        return {"checked": False, "detail": f"decide failed on the whole matrix: {exc}"}
    live = {str(k): int(v) for k, v in buckets["labels"].items()}
    same_clusters = live == dict(decision.clusters)
    same_regime = str(regime_doc["label"]) == decision.regime.value
    same_threshold = abs(float(buckets["threshold"]) - decision.threshold) <= PARITY_TOL
    ours = pd.Series(dict(decision.fragility), dtype=np.float64).sort_index()
    theirs = table["fragility"].dropna().astype(np.float64)
    theirs.index = [str(s) for s in theirs.index]
    theirs = theirs.sort_index()
    same_stats = bool(
        ours.index.equals(theirs.index)
        and np.allclose(ours.to_numpy(), theirs.to_numpy(), rtol=0.0, atol=PARITY_TOL)
    )
    details = []
    if not same_clusters:
        moved = sorted(
            s for s in set(live) | set(decision.clusters) if live.get(s) != decision.clusters.get(s)
        )
        details.append(f"cluster labels differ for {len(moved)} symbols (e.g. {moved[:5]})")
    if not same_regime:
        details.append(f"regime {decision.regime.value} != live {regime_doc['label']}")
    if not same_threshold:
        details.append(f"threshold {decision.threshold} != live {buckets['threshold']}")
    if not same_stats:
        details.append("antifragility statistics differ")
    return {
        "checked": True,
        "clusters": same_clusters,
        "regime": same_regime,
        "threshold": same_threshold,
        "statistics": same_stats,
        "detail": "; ".join(details) or "the whole-matrix decision equals steps 9 and 10",
    }


def _history_listings(ctx: RunContext) -> tuple[dict[str, Listing], list[str]]:
    """Every listing the screens may look at, and a note when that set is bounded."""
    provider = ctx.provider
    if not has_remote_scanner(provider):
        return {listing.symbol: listing for listing in provider.listings()}, []
    symbols = with_baseline(ctx, raw_pool_symbols(ctx) or [])
    note = (
        "the remote scanner lists no past universe: the history holds the listings of the "
        f"as-of raw pool ({len(symbols)}), a survivorship bias"
    )
    return listings_for(ctx, symbols), [note]


def market_history(ctx: RunContext) -> MarketHistory:
    """Sync and read the candles of the whole screened universe (point-in-time tournament)."""
    from clusterfolio.backtest.history import computable_screens
    from clusterfolio.discovery.screens import load_screens

    settings = ctx.settings
    listings, notes = _history_listings(ctx)
    start = ctx.as_of - timedelta(
        days=settings.backtest.history_days + settings.discovery.history_days
    )
    lake = lakehouse(ctx)
    by_calendar: dict[CalendarKind, list[Listing]] = {}
    for listing in listings.values():
        by_calendar.setdefault(listing.calendar, []).append(listing)
    for kind, group in sorted(by_calendar.items()):
        n_sessions = len(sessions(kind, start, ctx.as_of))
        record_windows(ctx, group, n_sessions, synced=True)
        outcomes = sync_listings(
            lake,
            ctx.provider,
            group,
            as_of=ctx.as_of,
            n_sessions=n_sessions,
            state_dir=ctx.candle_root,
            backfill=settings.data.backfill,
            tick=ctx.tick,
        )
        for outcome in outcomes:
            if outcome.action == "failed":
                ctx.recorder.warn(f"history: {outcome.symbol}: sync failed: {outcome.error}")
            for fixed in outcome.repairs:
                ctx.recorder.warn(f"history: lakehouse repair: {fixed}")
    candles = {
        s: frame
        for s, frame in lake.read_many(sorted(listings), missing_ok=True).items()
        if not frame.empty
    }
    screens = load_screens(
        ctx.resolve_config_path(settings.discovery.scanners_dir), settings.discovery.scanners
    )
    kept, skipped = computable_screens(screens, candles, listings)
    for note in [*notes, *skipped]:
        ctx.recorder.warn(f"history: {note}")
    return MarketHistory(
        candles, {s: listings[s] for s in candles}, tuple(kept), (*notes, *skipped)
    )


def run(ctx: RunContext) -> None:
    """Run the tournament and write its artifacts."""
    from clusterfolio.backtest.executors import make_executor
    from clusterfolio.backtest.tournament import run_tournament, write_tournament_artifacts

    settings = ctx.settings
    returns = read_parquet(ctx.artifact(RETURNS))
    baseline = settings.backtest.baseline
    columns = [str(c) for c in returns.columns]
    winners = winner_table(ctx)
    directions = directions_of(winners, [c for c in columns if c != baseline])
    parity = live_parity(ctx, returns, dict(directions))
    if parity.get("checked") and not all(
        parity[k] for k in ("clusters", "regime", "threshold", "statistics")
    ):
        ctx.recorder.warn(f"live parity: {parity['detail']}")
    live_profiles = sorted(profiles_of(read_portfolio(ctx.run_dir)))
    history = None
    matrix = returns
    if settings.backtest.universe is UniverseMode.POINT_IN_TIME:
        history = market_history(ctx)
        matrix = returns_between(
            history.candles,
            history.listings,
            history.symbols,
            start=ctx.as_of - timedelta(days=settings.backtest.history_days),
            end=ctx.as_of,
        )
    else:
        ctx.recorder.warn(AS_OF_WINNERS_WARNING)
    with make_executor(settings.tournament) as executor:
        result = run_tournament(
            matrix,
            settings,
            directions=dict(directions),
            history=history,
            executor=executor,
            progress=ctx.tick,
        )
    result.summary["live_parity"] = parity
    result.summary["live_profiles"] = live_profiles
    write_tournament_artifacts(result, ctx.run_dir)

    statuses = _record_rows(ctx, result.summary)
    suspicious = _record_realized(ctx, result.summary)
    counts: dict[str, int | float] = {
        "windows": len(result.windows),
        "rows": len(result.results),
        "suspicious": len(suspicious),
        **{f"status_{k}": v for k, v in sorted(statuses.items())},
        **_timing_counts(result.timing),
    }
    ctx.recorder.counts.update(counts)
    ctx.logger.info("tournament timing: %s", result.timing)


def _record_rows(ctx: RunContext, summary: dict[str, Any]) -> dict[str, int]:
    """Warn about failed rows and windows; the number of rows per status."""
    statuses: dict[str, int] = {}
    for row in summary["rows"]:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
        if row["status"] in ("failed", "partial"):
            ctx.recorder.warn(
                f"{row['engine']} {row['profile']} {row['simulator']}: {row['status']}: "
                f"{row['error']}"
            )
    for window in summary["windows"]:
        if window["status"] != "ok":
            ctx.recorder.warn(f"window {window['index']}: decision failed: {window['error']}")
        for note in window.get("decision", {}).get("notes", []):
            ctx.recorder.warn(f"window {window['index']}: {note}")
    return statuses


def _record_realized(ctx: RunContext, summary: dict[str, Any]) -> set[tuple[str, str]]:
    """Record each realized combination's figures; the suspicious ones (plausibility guard)."""
    suspicious = {
        (f["engine"], f["profile"])
        for f in summary["plausibility"]["flags"]
        if f["simulator"] == "realized"
    }
    for row in summary["rows"]:
        if row["simulator"] != "realized" or row["metrics"] is None:
            continue
        metrics = row["metrics"]
        ctx.recorder.decide(
            f"{row['engine']}:{row['profile']}",
            row["status"],
            f"realized CAGR {metrics['cagr']}, Sharpe {metrics['sharpe']}, "
            f"PSR {metrics.get('psr')}, DSR {metrics.get('dsr')}, "
            f"max drawdown {metrics['max_drawdown']}"
            + (
                "; suspicious (plausibility guard)"
                if (row["engine"], row["profile"]) in suspicious
                else ""
            ),
        )
    return suspicious


def _timing_counts(timing: dict[str, Any]) -> dict[str, float]:
    """The tournament's timings as ledger counts (``seconds_*``)."""
    counts = {
        "seconds_decide": round(float(timing.get("decide", 0.0)), 3),
        "seconds_universe": round(float(timing.get("universe", 0.0)), 3),
        "seconds_wall": round(float(timing.get("wall", 0.0)), 3),
    }
    for engine, seconds in sorted(timing.get("engines", {}).items()):
        counts[f"seconds_engine_{engine}"] = round(float(seconds), 3)
    for simulator, seconds in sorted(timing.get("simulators", {}).items()):
        counts[f"seconds_simulator_{simulator}"] = round(float(seconds), 3)
    return counts


STEP = Step(
    name=StepName.VALIDATION,
    reads=(RETURNS, CLUSTERS, REGIME, ANTIFRAGILITY, PORTFOLIO),
    optional_reads=(WINNERS, RAW_POOL),
    # point_in_time reads the lakehouse (every listing's candles) as of the run's date
    writes=(TOURNAMENT_RESULTS, TOURNAMENT_SUMMARY, TOURNAMENT_RETURNS, TOURNAMENT_WEIGHTS),
    optional_writes=(SLIPPAGE_DECAY,),
    external_reads=(External.MANIFEST, External.LAKEHOUSE),
    run=run,
    config_sections=(
        "backtest",
        "tournament",
        "risk",
        "features",
        "selection",
        "scoring",
        "data",
        "discovery",
    ),
    uses_data=True,
    description="Tournament: engines x profiles x simulators, walk forward, point in time.",
)
