"""Step 12: the validation tournament (``make tournament``).

Reads the audited matrix ``returns.parquet`` and runs
:func:`~clusterfolio.backtest.tournament.run_tournament`: walk-forward windows, a point-in-time
decision per window from its training slice only (universe, regime, clusters, statistics,
scores; natural selection again with ``backtest.dynamic_universe``), every engine x profile
(``tournament.engines``, ``tournament.profiles``) through the executor of ``tournament.executor``
(``n_jobs`` workers), every simulator of ``tournament.simulators`` (the cvxportfolio reference
simulator for the custom engine and the market only: its cost bound, see
:mod:`clusterfolio.backtest.tournament`).

The live decision's artifacts are inputs too: ``decide`` run on the whole matrix must find the
clusters of ``clusters.json``, the regime of ``regime.json`` and the statistics of
``antifragility.parquet`` (steps 9 and 10 use the same functions); a disagreement is recorded as
a warning and in the summary's ``live_parity``. ``portfolio_optimized.json`` gives the live
profiles listed next to the tournament's. ``winners.json`` gives the directions (LONG when
absent) and ``raw_pool.parquet`` the candidate pool of the dynamic universe.

Writes ``tournament_results.parquet``, ``tournament_summary.json``,
``tournament_returns.parquet``, ``tournament_weights.parquet`` and, with
``features.feat_decay_audit``, ``slippage_decay.json`` (removed when the flag is off).
Timings (run-dependent) go to the ledger's counts and the log, never to the artifacts, which are
byte-identical on identical inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.enums import StepName
from clusterfolio.errors import ClusterfolioError
from clusterfolio.io import read_json, read_parquet
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.registry import Step
from clusterfolio.pipeline.steps._common import RAW_POOL, WINNERS
from clusterfolio.pipeline.steps.health import RETURNS
from clusterfolio.pipeline.steps.optimization import PORTFOLIO
from clusterfolio.pipeline.steps.risk import (
    ANTIFRAGILITY,
    CLUSTERS,
    REGIME,
    directions_of,
    winner_table,
)

TOURNAMENT_RESULTS = "tournament_results.parquet"
TOURNAMENT_SUMMARY = "tournament_summary.json"
TOURNAMENT_RETURNS = "tournament_returns.parquet"
TOURNAMENT_WEIGHTS = "tournament_weights.parquet"
SLIPPAGE_DECAY = "slippage_decay.json"

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
    if settings.backtest.dynamic_universe:
        return {"checked": False, "detail": "dynamic universe: the live universe differs"}
    buckets = read_json(ctx.artifact(CLUSTERS))
    regime_doc = read_json(ctx.artifact(REGIME))
    table = read_parquet(ctx.artifact(ANTIFRAGILITY))
    try:
        decision = decide(returns, directions, None, settings)
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


def _pool(ctx: RunContext, columns: list[str]) -> pd.DataFrame | None:
    path = ctx.artifact(RAW_POOL)
    if not path.exists():
        return None
    frame = read_parquet(path)
    if "symbol" not in frame.columns:
        return None
    return frame.loc[frame["symbol"].astype(str).isin(columns)].reset_index(drop=True)


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
    live_profiles = sorted(read_json(ctx.artifact(PORTFOLIO)).get("profiles", {}))
    pool = _pool(ctx, columns) if settings.backtest.dynamic_universe else None
    with make_executor(settings.tournament) as executor:
        result = run_tournament(
            returns,
            settings,
            directions=dict(directions),
            winners_info=winners or None,
            pool=pool,
            executor=executor,
            progress=ctx.tick,
        )
    result.summary["live_parity"] = parity
    result.summary["live_profiles"] = live_profiles
    write_tournament_artifacts(result, ctx.run_dir)

    statuses: dict[str, int] = {}
    for row in result.summary["rows"]:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
        if row["status"] in ("failed", "partial"):
            ctx.recorder.warn(
                f"{row['engine']} {row['profile']} {row['simulator']}: {row['status']}: "
                f"{row['error']}"
            )
    for window in result.summary["windows"]:
        if window["status"] != "ok":
            ctx.recorder.warn(f"window {window['index']}: decision failed: {window['error']}")
        for note in window.get("decision", {}).get("notes", []):
            ctx.recorder.warn(f"window {window['index']}: {note}")
    for row in result.summary["rows"]:
        if row["simulator"] != "realized" or row["metrics"] is None:
            continue
        metrics = row["metrics"]
        ctx.recorder.decide(
            f"{row['engine']}:{row['profile']}",
            row["status"],
            f"realized CAGR {metrics['cagr']}, Sharpe {metrics['sharpe']}, "
            f"max drawdown {metrics['max_drawdown']}",
        )
    counts: dict[str, int | float] = {
        "windows": len(result.windows),
        "rows": len(result.results),
        **{f"status_{k}": v for k, v in sorted(statuses.items())},
        "seconds_decide": round(float(result.timing.get("decide", 0.0)), 3),
        "seconds_wall": round(float(result.timing.get("wall", 0.0)), 3),
    }
    for engine, seconds in sorted(result.timing.get("engines", {}).items()):
        counts[f"seconds_engine_{engine}"] = round(float(seconds), 3)
    for simulator, seconds in sorted(result.timing.get("simulators", {}).items()):
        counts[f"seconds_simulator_{simulator}"] = round(float(seconds), 3)
    ctx.recorder.counts.update(counts)
    ctx.logger.info("tournament timing: %s", result.timing)


STEP = Step(
    name=StepName.VALIDATION,
    reads=(RETURNS, CLUSTERS, REGIME, ANTIFRAGILITY, PORTFOLIO),
    optional_reads=(WINNERS, RAW_POOL),
    writes=(TOURNAMENT_RESULTS, TOURNAMENT_SUMMARY, TOURNAMENT_RETURNS, TOURNAMENT_WEIGHTS),
    run=run,
    config_sections=("backtest", "tournament", "risk", "features", "selection", "data"),
    uses_data=False,
    description="Tournament: engines x profiles x simulators, walk forward, point in time.",
)
