"""Steps 9 and 10: factor analysis (risk buckets) and regime detection.

Both work on the health-audited 500-session matrix. SHORT winners enter on their negated
returns exactly once ("synthetic long"); the market baseline is the benchmark, not a risk bucket.

Factor analysis: intersection-correlation distance averaged over the lookbacks that fit
(``risk.lookbacks``), Ward linkage, cut at an adaptive threshold ``risk.base_threshold`` ×
``risk.threshold_by_regime[regime]`` (tighter in CRISIS, looser in QUIET) where the regime is read
point in time by the same detector as step 10; the threshold actually applied is recorded. The
cluster registry carries members, lead asset, alternatives, intra-cluster correlation,
volatility, fragility and sector homogeneity; the clustermap data (ordered distance matrix) is
saved for the reports.

Regime detection: the composite score (volatility ratio, volatility level against its own
history, DWT turbulence, volatility clustering, permutation entropy) on an equal-weight proxy of the LONG winners, labelled QUIET / NORMAL /
TURBULENT (with ``feat_spectral_regimes``) / CRISIS; the series over the window is saved, each
date read from data up to that date only.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from clusterfolio.artifacts.matrices import RETURNS
from clusterfolio.artifacts.risk import ANTIFRAGILITY, CLUSTERMAP, CLUSTERS, REGIME, REGIME_SERIES
from clusterfolio.artifacts.selection import WINNERS, read_winners
from clusterfolio.enums import Direction, Regime, StepName
from clusterfolio.io import atomic_write_json, atomic_write_parquet, read_parquet
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.registry import External, Step


def winner_table(ctx: RunContext) -> dict[str, dict[str, Any]]:
    """``symbol -> winner record`` from ``winners.json`` (empty before selection exists)."""
    return {str(w["symbol"]): w for w in read_winners(ctx.run_dir)}


def directions_of(winners: dict[str, dict[str, Any]], symbols: list[str]) -> dict[str, Direction]:
    """Direction per symbol (LONG when unknown)."""
    return {
        s: Direction(winners.get(s, {}).get("direction", Direction.LONG.value)) for s in symbols
    }


def synthetic_long(returns: pd.DataFrame, directions: dict[str, Direction]) -> pd.DataFrame:
    """Negate the SHORT columns exactly once (the selection step's rule, columns kept in order)."""
    from clusterfolio.selection.natural import synthetic_long as held

    signs = pd.Series(
        {c: directions.get(c, Direction.LONG).value for c in returns.columns}, dtype=object
    )
    return held(returns, signs)


def _risk_universe(
    ctx: RunContext,
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]], dict[str, Direction]]:
    returns = read_parquet(ctx.artifact(RETURNS))
    baseline = ctx.settings.backtest.baseline
    symbols = [s for s in returns.columns if s != baseline]
    winners = winner_table(ctx)
    directions = directions_of(winners, symbols)
    return returns, winners, directions


def read_regime(returns: pd.DataFrame, directions: dict[str, Direction], ctx: RunContext) -> Any:
    """The regime at the last session (point in time)."""
    from clusterfolio.risk.regime import detect_market_regime

    return detect_market_regime(
        returns[list(directions)],
        ctx.settings.risk.regime,
        spectral=ctx.settings.features.feat_spectral_regimes,
        directions=directions,
    )


def _bucket_records(
    ctx: RunContext,
    synth: pd.DataFrame,
    labels: pd.Series,
    table: pd.DataFrame,
    winners: dict[str, dict[str, Any]],
    directions: dict[str, Direction],
) -> list[dict[str, Any]]:
    """The cluster registry's records, with each member's alternatives and direction."""
    from clusterfolio.risk.clustering import cluster_registry, registry_records

    symbols = sorted(directions)
    registry = cluster_registry(
        synth,
        labels,
        lead_scores={
            s: float(winners.get(s, {}).get("execution_score", 0.0) or 0.0) for s in symbols
        },
        fragility={str(k): float(v) for k, v in table["fragility"].items()},
        sectors={s: str(winners.get(s, {}).get("sector", "")) for s in symbols},
        min_overlap=ctx.settings.selection.min_overlap,
    )
    records = registry_records(registry)
    for rec in records:
        rec["alternatives"] = {
            m: winners.get(m, {}).get("alternatives", []) for m in rec.get("members", [])
        }
        rec["directions"] = {m: directions[m].value for m in rec.get("members", [])}
    return records


def run_factor_analysis(ctx: RunContext) -> None:
    """Build the risk buckets."""
    from clusterfolio.risk.antifragility import antifragility_table
    from clusterfolio.risk.clustering import (
        adaptive_threshold,
        cut,
        quasi_diag_order,
        ward_linkage,
    )
    from clusterfolio.risk.correlation import averaged_distance

    risk = ctx.settings.risk
    returns, winners, directions = _risk_universe(ctx)
    symbols = sorted(directions)
    synth = synthetic_long(returns[symbols], directions)
    regime = read_regime(returns, directions, ctx)
    threshold = adaptive_threshold(risk.base_threshold, regime.label, risk.threshold_by_regime)
    distance = averaged_distance(
        synth, risk.lookbacks, min_overlap=ctx.settings.selection.min_overlap
    )
    linkage = ward_linkage(distance)
    labels = pd.Series(cut(linkage, threshold), index=distance.index, name="cluster")
    table = antifragility_table(synth)
    records = _bucket_records(ctx, synth, labels, table, winners, directions)
    order = [distance.index[i] for i in quasi_diag_order(linkage)]
    ordered = distance.loc[order, order]
    ctx.recorder.decide(
        "clustering",
        "threshold",
        f"regime {regime.label.value}: {risk.base_threshold} x "
        f"{risk.threshold_by_regime[regime.label]} = {threshold:.4f}",
        regime=regime.label.value,
        threshold=threshold,
    )
    for rec in records:
        ctx.recorder.decide(
            f"cluster {rec['id']}",
            "bucket",
            f"{len(rec['members'])} members, lead {rec['lead_asset']}",
            members=list(rec["members"]),
        )
    atomic_write_json(
        ctx.artifact(CLUSTERS),
        {
            "threshold": threshold,
            "base_threshold": risk.base_threshold,
            "regime": regime.label.value,
            "lookbacks": list(risk.lookbacks),
            "labels": {s: int(labels[s]) for s in symbols},
            "linkage": [[float(x) for x in row] for row in linkage],
            "leaf_order": order,
            "clusters": records,
        },
    )
    atomic_write_parquet(ctx.artifact(CLUSTERMAP), ordered)
    atomic_write_parquet(ctx.artifact(ANTIFRAGILITY), table)
    ctx.recorder.counts.update({"assets": len(symbols), "clusters": len(records)})


def _record_dispersion_share(ctx: RunContext, now: Any) -> None:
    """A fallback when the cross-sectional dispersion got less than its full weight."""
    share = float(now.features.get("dispersion_read", 1.0))
    if share < 1.0:
        ctx.recorder.fallback(
            "regime:dispersion",
            f"cross-sectional dispersion got {share:.2f} of its weight (fewer than 5 LONG "
            "members observed, or less than a year of dispersion history): the volatility "
            "level stands in for the rest",
        )


def run_regime(ctx: RunContext) -> None:
    """Read the regime now and over the window."""
    from clusterfolio.risk.regime import applied_thresholds, market_regime_series

    settings = ctx.settings
    returns, _, directions = _risk_universe(ctx)
    spectral = settings.features.feat_spectral_regimes
    now = read_regime(returns, directions, ctx)
    series = market_regime_series(
        returns[sorted(directions)], settings.risk.regime, spectral=spectral, directions=directions
    )
    counts = series["label"].astype(str).value_counts().to_dict() if "label" in series else {}
    regime_settings = settings.risk.regime.model_dump(mode="json")
    applied = applied_thresholds(settings.risk.regime, spectral=spectral)
    atomic_write_json(
        ctx.artifact(REGIME),
        {
            **now.to_dict(),
            "spectral": spectral,
            # the thresholds reports print are the ones classify applies
            "thresholds": {**regime_settings, **applied},
            "applied_thresholds": applied,
            "configured_thresholds": {
                k: regime_settings[k] for k in ("quiet_below", "turbulent_above", "crisis_above")
            },
            "proxy": (
                "LONG winners (baseline excluded) on the business-day calendar, 24/7 weekend "
                "moves folded into the next session, inverse-volatility weights capped at 2/n; "
                "dispersion: cross-sectional median absolute deviation of the same members"
            ),
            "aggressor_share": settings.risk.barbell_aggressor_share[Regime(now.label)],
            "label_counts": {str(k): int(v) for k, v in sorted(counts.items())},
        },
    )
    atomic_write_parquet(ctx.artifact(REGIME_SERIES), series)
    if now.warming_up:
        ctx.recorder.fallback(
            "regime:warming_up",
            f"{int(now.features.get('baseline_sessions', 0))} proxy returns, fewer than the "
            f"regime window {settings.risk.regime.window}: shorter windows, volatility level "
            f"shrunk to the prior (weight {now.features.get('level_prior_weight', 0.0):.2f})",
        )
    _record_dispersion_share(ctx, now)
    ctx.recorder.decide(
        "market",
        "regime",
        f"{now.label.value} (score {now.score:.3f}"
        + ("; warming up: fewer returns than the regime window" if now.warming_up else "")
        + ")",
    )
    ctx.recorder.counts.update({"score": round(float(now.score), 6), "sessions": len(series)})


FACTOR_ANALYSIS = Step(
    name=StepName.FACTOR_ANALYSIS,
    reads=(RETURNS,),
    optional_reads=(WINNERS,),
    writes=(CLUSTERS, CLUSTERMAP, ANTIFRAGILITY),
    external_reads=(External.MANIFEST,),
    run=run_factor_analysis,
    config_sections=("risk", "selection", "features", "backtest"),
    description="Risk buckets: Ward linkage, adaptive threshold by regime, cluster registry.",
)

REGIME_DETECTION = Step(
    name=StepName.REGIME_DETECTION,
    reads=(RETURNS,),
    optional_reads=(WINNERS,),
    writes=(REGIME, REGIME_SERIES),
    external_reads=(External.MANIFEST,),
    run=run_regime,
    config_sections=("risk", "features", "backtest"),
    description="Regime: volatility ratio, DWT turbulence, vol clustering, permutation entropy.",
)
