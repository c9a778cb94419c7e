"""Step 8: the health audit of the implementation universe, with repair, that fails fast.

Each listing of the deep pass is audited on its own calendar (OK, STALE, MISSING, GAPPED,
ANOMALOUS, with evidence). With ``data.gapfill`` the non-OK listings go through recovery: up to
``data.recover_attempts`` rounds of re-fetching the missing ranges and, where
``data.max_ffill_sessions`` allows it, a bounded forward fill (recorded, applied to the matrices
and never stored in the candle cache). With ``data.strict_health`` any listing still not OK fails
the run with a message listing each listing and its problem; otherwise the unhealthy listings are
excluded from the implementation universe (each exclusion is a recorded decision) and the audited
matrices ``prices.parquet`` / ``returns.parquet`` are written. The market baseline is never
excluded: a baseline without data fails the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from clusterfolio.artifacts.health import HEALTH_JSON, HEALTH_MD, UNIVERSE
from clusterfolio.artifacts.matrices import DEEP_SYNC, PRICES, RETURNS
from clusterfolio.data.calendars import sessions_back
from clusterfolio.data.health import (
    HealthReport,
    auditor_from_settings,
    corporate_action_suspects,
    strict_gate,
)
from clusterfolio.data.health.repair import RepairAction, recover
from clusterfolio.data.returns import build_matrices
from clusterfolio.data.source_health import source_markdown, source_report
from clusterfolio.enums import HealthStatus, StepName
from clusterfolio.errors import HealthError
from clusterfolio.io import atomic_write_json, atomic_write_parquet, atomic_write_text, read_json
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.registry import External, Step
from clusterfolio.pipeline.steps._common import gap_fetch, lakehouse, listings_for, record_windows


def run(ctx: RunContext) -> None:
    """Audit, recover, gate, and write the audited matrices."""
    audit_and_recover(ctx, force_refetch=False)


def recover_step(ctx: RunContext) -> None:
    """``make recover``: the same audit with every gap asked for again (intensive repair)."""
    audit_and_recover(ctx, force_refetch=True)


@dataclass
class _Universe:
    """The deep pass's universe as the health audit sees it."""

    symbols: list[str]
    n: int
    lake: Any
    listings: dict[str, Any]
    frames: dict[str, pd.DataFrame]
    expected: dict[str, Any]


def _universe(ctx: RunContext) -> _Universe:
    deep = read_json(ctx.artifact(DEEP_SYNC))
    symbols: list[str] = list(deep["symbols"])
    n = int(deep["n_sessions"])
    listings = listings_for(ctx, symbols)
    lake = lakehouse(ctx)
    record_windows(ctx, listings.values(), n + 1, synced=False)  # the deep pass synced them
    return _Universe(
        symbols=symbols,
        n=n,
        lake=lake,
        listings=listings,
        frames=lake.read_many(symbols, missing_ok=True),
        expected={s: sessions_back(listings[s].calendar, ctx.as_of, n + 1) for s in symbols},
    )


def _record_actions(
    ctx: RunContext, actions: Sequence[dict[str, Any]]
) -> dict[str, set[pd.Timestamp]]:
    """Record every repair (a forward fill is a fallback); the forward-filled sessions."""
    filled: dict[str, set[pd.Timestamp]] = {}
    for action in actions:
        symbol = str(action.get("symbol", ""))
        kind = str(action.get("action", ""))
        sessions = [str(x) for x in action.get("sessions", [])]
        if kind == RepairAction.FORWARD_FILL.value:
            filled.setdefault(symbol, set()).update(pd.Timestamp(x) for x in sessions)
            ctx.recorder.fallback(
                "forward_fill",
                f"{symbol}: {len(sessions)} sessions forward-filled ({', '.join(sessions)})",
                symbol=symbol,
            )
        else:
            ctx.recorder.decide(
                symbol, f"repair_{kind}", str(action.get("reason", "")), sessions=sessions
            )
    return filled


def _audit(
    ctx: RunContext, u: _Universe, *, force_refetch: bool
) -> tuple[HealthReport, dict[str, Any], dict[str, set[pd.Timestamp]]]:
    """The health report, the repairs and the forward-filled sessions (recovering when on)."""
    data = ctx.settings.data
    audit = auditor_from_settings(
        data,
        required_sessions=u.n + 1,
        asset_classes={s: u.listings[s].asset_class.value for s in u.symbols},
    )
    attempts = data.recover_attempts if data.gapfill and data.backfill else 0
    if not attempts:
        report = HealthReport(tuple(audit(s, u.frames[s], u.expected[s]) for s in u.symbols))
        return report, {"skipped": "gapfill or backfill off"}, {}

    def store(symbol: str, frame: pd.DataFrame) -> None:
        u.frames[symbol] = frame

    outcome = recover(
        u.symbols,
        lambda s: u.frames[s],
        gap_fetch(ctx, again=force_refetch),
        lambda s: u.expected[s],
        audit,
        store,
        attempts=attempts,
        max_ffill_sessions=data.max_ffill_sessions,
        allow_ffill=data.max_ffill_sessions > 0,
    )
    filled = _record_actions(ctx, outcome.actions)
    # real re-fetched bars go to the cache; forward-filled ones never do
    for symbol in u.symbols:
        frame = u.frames[symbol]
        real = frame.loc[~frame["session"].isin(list(filled.get(symbol, set())))]
        if not real.empty and len(real) > u.lake.coverage(symbol).n:
            u.lake.merge(symbol, real.reset_index(drop=True))
    return outcome.final, outcome.to_dict(), filled


def _gate(
    ctx: RunContext, report: HealthReport, symbols: list[str]
) -> tuple[list[str], dict[str, Any]]:
    """The symbols kept and those excluded (with their status and evidence), recorded."""
    data = ctx.settings.data
    baseline = ctx.settings.backtest.baseline
    if baseline in symbols and report[baseline].status is HealthStatus.MISSING:
        raise HealthError(
            f"market baseline {baseline} has no usable data: {report[baseline].evidence()}"
        )
    problems = strict_gate(report, strict=data.strict_health)
    kept, excluded = [], {}
    suspects = corporate_action_suspects(report)
    for symbol in symbols:
        health = report[symbol]
        suspect = suspects.get(symbol, "")
        if suspect and data.strict_health and symbol != baseline:
            excluded[symbol] = {"status": "SUSPECT_CORPORATE_ACTION", "evidence": suspect}
            ctx.recorder.decide(symbol, "excluded", "strict_health: " + suspect)
        elif health.status is HealthStatus.OK or symbol == baseline:
            if suspect:
                ctx.recorder.warn(f"{symbol}: SUSPECT_CORPORATE_ACTION kept: {suspect}")
            kept.append(symbol)
            if symbol == baseline and health.status is not HealthStatus.OK:
                ctx.recorder.warn(
                    f"baseline {baseline} is {health.status.value}: kept as the market"
                )
        else:
            excluded[symbol] = {"status": health.status.value, "evidence": health.evidence()}
            ctx.recorder.decide(
                symbol, "excluded", f"health {health.status.value}", evidence=health.evidence()
            )
    for problem in problems:
        ctx.recorder.warn(problem)
    return kept, excluded


def _source_counts(ctx: RunContext, symbols: list[str]) -> dict[str, Any] | None:
    """The provider's own data problems (files provider), counted in the ledger."""
    source = source_report(ctx.provider, symbols)
    if source is not None:
        ctx.recorder.counts["source_problems"] = int(source["total"])
        ctx.recorder.counts["source_listings_affected"] = int(source["listings_affected"])
        for what in ("dropped", "repaired", "guessed"):
            ctx.recorder.counts[f"source_{what}"] = int(source["by_action"].get(what, 0))
    return source


def audit_and_recover(ctx: RunContext, *, force_refetch: bool) -> None:
    """Audit the deep-pass universe, recover what can be, gate, write the audited matrices."""
    u = _universe(ctx)
    report, repairs, filled = _audit(ctx, u, force_refetch=force_refetch)
    kept, excluded = _gate(ctx, report, u.symbols)
    prices, returns = build_matrices(u.frames, u.listings, kept, as_of=ctx.as_of, n_sessions=u.n)
    counts = {str(k.value): int(v) for k, v in report.counts().items()}
    ctx.recorder.counts.update({**counts, "kept": len(kept), "excluded": len(excluded)})
    source = _source_counts(ctx, u.symbols)
    atomic_write_json(
        ctx.artifact(HEALTH_JSON),
        {**report.to_json_dict(), "repairs": repairs, **({"source": source} if source else {})},
    )
    atomic_write_text(ctx.artifact(HEALTH_MD), report.to_markdown() + source_markdown(source))
    atomic_write_parquet(ctx.artifact(PRICES), prices)
    atomic_write_parquet(ctx.artifact(RETURNS), returns)
    atomic_write_json(
        ctx.artifact(UNIVERSE),
        {
            "symbols": kept,
            "excluded": excluded,
            "filled": {
                s: sorted(x.date().isoformat() for x in v) for s, v in sorted(filled.items())
            },
            "n_sessions": u.n,
        },
    )


STEP = Step(
    name=StepName.HEALTH_AUDIT,
    reads=(DEEP_SYNC,),
    writes=(HEALTH_JSON, HEALTH_MD, RETURNS, PRICES, UNIVERSE),
    external_reads=(External.MANIFEST, External.LAKEHOUSE),
    run=run,
    config_sections=("data", "backtest"),
    uses_data=True,
    description="Health audit of the implementation universe; recovery; strict gate.",
)
