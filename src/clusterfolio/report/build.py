"""Build every report of a run and the list of golden artifacts; copy them to ``summaries/``.

Reports written into the run directory (always): :data:`ALWAYS_WRITTEN`. Written when their
inputs exist: the tear sheets ``tearsheets/<engine>_<profile>_<simulator>.md`` of the essential
combinations and the pictures ``equity_curves.png`` / ``drawdowns.png`` (the tournament's
returns). A report file of ours that cannot be produced this time is removed, so a re-rendering
never leaves a stale figure behind.

The golden artifacts (:data:`GOLDEN`, about 32 paths relative to the run directory) are what
``summaries/`` holds and what publishing sends; ``essential_reports.json`` lists those present
(``files``) and those absent from this run (``absent``). It carries the run's identity, never a
wall-clock time, so the same inputs give the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from clusterfolio.artifacts.portfolio import profiles_of, section_clusters
from clusterfolio.artifacts.reports import (
    BACKTEST_COMPARISON,
    CLUSTER_ANALYSIS,
    CLUSTERMAP_PNG,
    DECISION_AUDIT,
    DRAWDOWNS_PNG,
    ENGINE_COMPARISON,
    EQUITY_PNG,
    ESSENTIAL,
    PORTFOLIO_REPORT,
    REGIME_PNG,
    REPORT_HTML,
    SLIPPAGE_AUDIT,
    TEARSHEETS_DIR,
    WEIGHTS_PNG,
)
from clusterfolio.artifacts.risk import cluster_records
from clusterfolio.data.calendars import EXCHANGE_PERIODS_PER_YEAR
from clusterfolio.io import atomic_write_bytes, atomic_write_json, atomic_write_text
from clusterfolio.report import artifacts as A
from clusterfolio.report.artifacts import RunArtifacts
from clusterfolio.report.config import ReportConfig

__all__ = [
    "ALWAYS_WRITTEN",
    "BACKTEST_COMPARISON",
    "CLUSTERMAP_PNG",
    "CLUSTER_ANALYSIS",
    "DECISION_AUDIT",
    "DRAWDOWNS_PNG",
    "ENGINE_COMPARISON",
    "EQUITY_PNG",
    "ESSENTIAL",
    "GOLDEN",
    "PORTFOLIO_REPORT",
    "REGIME_PNG",
    "SLIPPAGE_AUDIT",
    "TEARSHEETS_DIR",
    "WEIGHTS_PNG",
    "ReportBuild",
    "build_reports",
    "golden_paths",
]


#: Written by every build (the reporting step declares them).
ALWAYS_WRITTEN: tuple[str, ...] = (
    PORTFOLIO_REPORT,
    DECISION_AUDIT,
    BACKTEST_COMPARISON,
    ENGINE_COMPARISON,
    SLIPPAGE_AUDIT,
    CLUSTER_ANALYSIS,
    CLUSTERMAP_PNG,
    WEIGHTS_PNG,
    REGIME_PNG,
    ESSENTIAL,
    REPORT_HTML,
)

#: The golden artifacts, in the order a reader wants them (tear sheets are inserted after the
#: reports, see :func:`golden_paths`).
GOLDEN: tuple[str, ...] = (
    ESSENTIAL,
    REPORT_HTML,
    PORTFOLIO_REPORT,
    A.SELECTION_AUDIT,
    DECISION_AUDIT,
    BACKTEST_COMPARISON,
    ENGINE_COMPARISON,
    SLIPPAGE_AUDIT,
    CLUSTER_ANALYSIS,
    A.HEALTH_MD,
    A.AUDIT_MD,
    A.DRIFT_MD,
    CLUSTERMAP_PNG,
    EQUITY_PNG,
    DRAWDOWNS_PNG,
    WEIGHTS_PNG,
    REGIME_PNG,
    A.PORTFOLIO,
    A.CLUSTERS,
    A.REGIME,
    A.WINNERS,
    A.TOURNAMENT_SUMMARY,
    A.SLIPPAGE_DECAY,
    A.AUDIT_JSON,
    A.DRIFT_JSON,
    A.ORDERS_CSV,
)


def golden_paths(config: ReportConfig) -> list[str]:
    """Every golden path of a run with this configuration (present or not)."""
    from clusterfolio.report.tearsheet import tearsheet_name

    sheets = [TEARSHEETS_DIR + tearsheet_name(*combo) for combo in config.essential_combinations]
    cut = GOLDEN.index(A.DRIFT_MD) + 1
    return [*GOLDEN[:cut], *sheets, *GOLDEN[cut:]]


@dataclass
class ReportBuild:
    """What a build wrote and found.

    Parameters
    ----------
    run_dir : Path
        The run directory.
    written : list of str
        Report files written (relative paths).
    removed : list of str
        Stale report files of ours removed.
    golden : list of str
        Golden artifacts present (relative paths, ``essential_reports.json`` first).
    absent : list of str
        Golden artifacts absent from this run.
    missing_inputs : list of str
        Artifacts the reports looked for and did not find.
    """

    run_dir: Path
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    golden: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    missing_inputs: list[str] = field(default_factory=list)


def _benchmark(arts: RunArtifacts, baseline: str) -> pd.Series | None:
    returns = arts.parquet(A.RETURNS)
    if returns is None or baseline not in returns.columns:
        return None
    series = returns[baseline].astype(float)
    series.index = pd.DatetimeIndex(series.index)
    return series


def _pictures(
    arts: RunArtifacts, config: ReportConfig, strategies: dict[str, pd.Series]
) -> dict[str, bytes]:
    from clusterfolio.report import plots

    out: dict[str, bytes] = {}
    clusters = arts.require_json(A.CLUSTERS)
    distance = arts.parquet(A.CLUSTERMAP)
    if distance is not None:
        out[CLUSTERMAP_PNG] = plots.clustermap_png(
            distance,
            {str(k): int(v) for k, v in clusters.get("labels", {}).items()},
            linkage=clusters.get("linkage"),
            threshold=clusters.get("threshold"),
            title=f"Clustermap {config.as_of}: {len(clusters.get('clusters', []))} risk buckets",
        )
    portfolio = arts.require_json(A.PORTFOLIO)
    weights = {
        name: {c: float(v.get("gross", 0.0)) for c, v in section_clusters(doc).items()}
        for name, doc in profiles_of(portfolio).items()
    }
    if len(weights) > 1:
        weights.pop("market", None)  # 100% of the baseline: it says nothing about the clusters
    ordered = {p: weights[p] for p in config.profiles if p in weights}
    ordered.update({p: w for p, w in sorted(weights.items()) if p not in ordered})
    leads = {str(c["id"]): str(c.get("lead_asset", "")) for c in cluster_records(clusters)}
    out[WEIGHTS_PNG] = plots.cluster_weights_png(
        ordered, leads=leads, title=f"Gross weight by cluster {config.as_of}"
    )
    benchmark = _benchmark(arts, config.baseline)
    series = arts.parquet(A.REGIME_SERIES)
    regime = arts.json(A.REGIME) or {}
    thresholds = regime.get("thresholds") or {}
    keys = ["quiet_below", "crisis_above"] + (["turbulent_above"] if regime.get("spectral") else [])
    out[REGIME_PNG] = plots.regime_timeline_png(
        series if series is not None else pd.DataFrame(columns=["label", "score"]),
        thresholds={k: float(thresholds[k]) for k in keys if k in thresholds},
        benchmark=benchmark,
        benchmark_name=config.baseline,
    )
    if strategies:
        out[EQUITY_PNG] = plots.equity_curves_png(
            strategies, benchmark, benchmark_name=config.baseline
        )
        out[DRAWDOWNS_PNG] = plots.drawdowns_png(
            strategies, benchmark, benchmark_name=config.baseline
        )
    return out


def _tearsheets(
    arts: RunArtifacts, config: ReportConfig
) -> tuple[dict[str, str], dict[str, pd.Series]]:
    from clusterfolio.report.tearsheet import render_tearsheet, tearsheet_name
    from clusterfolio.report.tournament import TournamentView

    view = TournamentView(arts)
    sheets: dict[str, str] = {}
    strategies: dict[str, pd.Series] = {}
    if view.returns is None:
        return sheets, strategies
    benchmark = _benchmark(arts, config.baseline)
    if benchmark is None:
        benchmark = pd.Series(dtype=float, index=pd.DatetimeIndex([]))
    periods = view.periods or EXCHANGE_PERIODS_PER_YEAR
    for engine, profile, simulator in config.essential_combinations:
        series = view.series(engine, profile, simulator)
        if series is None:
            continue
        row = view.row(engine, profile, simulator)
        notes: tuple[str, ...] = ()
        if row is not None and (
            row.get("error")
            or str(row.get("status", "")).lower() not in ("", "ok", "completed", "success")
        ):
            notes = (f"⚠ tournament status {row.get('status')}: {row.get('error') or ''}",)
        label = "market" if engine == "market" else f"{engine} · {profile}"
        strategies[label] = series
        sheets[TEARSHEETS_DIR + tearsheet_name(engine, profile, simulator)] = render_tearsheet(
            f"{engine} × {profile} × {simulator}",
            series,
            benchmark,
            periods,
            benchmark_name=config.baseline,
            use_quantstats=config.use_quantstats,
            notes=notes,
        )
    return sheets, strategies


def _remove_stale(run_dir: Path, pictures: set[str], sheets: set[str]) -> list[str]:
    """Remove our pictures and tear sheets that were not produced this time; their names."""
    removed = []
    ours = {EQUITY_PNG, DRAWDOWNS_PNG, CLUSTERMAP_PNG, WEIGHTS_PNG, REGIME_PNG}
    for name in sorted(ours - pictures):
        if (run_dir / name).exists():
            (run_dir / name).unlink()
            removed.append(name)
    folder = run_dir / TEARSHEETS_DIR
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            rel = TEARSHEETS_DIR + path.name
            if path.is_file() and rel not in sheets:
                path.unlink()
                removed.append(rel)
        if not any(folder.iterdir()):
            folder.rmdir()
    return removed


def build_reports(run_dir: Path, config: ReportConfig) -> ReportBuild:
    """Render every report of a run into its directory and write ``essential_reports.json``.

    Parameters
    ----------
    run_dir : Path
        The run directory (``portfolio_optimized.json`` and ``clusters.json`` must exist).
    config : ReportConfig
        Run identity and settings.

    Returns
    -------
    ReportBuild
        What was written, removed, found and missed.
    """
    from clusterfolio.report.clusters import render_cluster_analysis
    from clusterfolio.report.decisions import render_decision_audit
    from clusterfolio.report.engine_comparison import render_engine_comparison
    from clusterfolio.report.html import render_html
    from clusterfolio.report.portfolio import render_portfolio_report
    from clusterfolio.report.slippage import render_slippage_decay
    from clusterfolio.report.tournament import render_backtest_comparison
    from clusterfolio.report.universe import look_ahead_banner

    run_dir = Path(run_dir)
    arts = RunArtifacts(run_dir)
    build = ReportBuild(run_dir=run_dir)
    texts: dict[str, str] = {
        PORTFOLIO_REPORT: render_portfolio_report(arts, config),
        DECISION_AUDIT: render_decision_audit(arts, config),
        BACKTEST_COMPARISON: render_backtest_comparison(arts, config),
        ENGINE_COMPARISON: render_engine_comparison(arts, config),
        SLIPPAGE_AUDIT: render_slippage_decay(arts, config),
        CLUSTER_ANALYSIS: render_cluster_analysis(arts, config),
    }
    sheets, strategies = _tearsheets(arts, config)
    texts.update(sheets)
    banner = look_ahead_banner(arts.json(A.TOURNAMENT_SUMMARY))
    if banner is not None:  # every report of an as_of_winners tournament says so first
        texts = {name: f"{banner}\n\n{text}" for name, text in texts.items()}
    pictures = _pictures(arts, config, strategies)
    for name, text in texts.items():
        atomic_write_text(run_dir / name, text)
        build.written.append(name)
    for name, data in pictures.items():
        atomic_write_bytes(run_dir / name, data)
        build.written.append(name)
    build.removed += _remove_stale(run_dir, set(pictures), set(sheets))
    atomic_write_text(run_dir / REPORT_HTML, render_html(run_dir))
    build.written.append(REPORT_HTML)
    paths = golden_paths(config)
    build.golden = [p for p in paths if p == ESSENTIAL or (run_dir / p).is_file()]
    build.absent = [p for p in paths if p not in build.golden]
    for name in (A.SELECTION_AUDIT, A.AUDIT_JSON, A.TOURNAMENT_SUMMARY, A.TOURNAMENT_RETURNS):
        arts.exists(name)
    build.missing_inputs = arts.missing
    manifest: dict[str, Any] = {
        "run_id": config.run_id,
        "as_of": config.as_of,
        "profile": config.manifest_profile,
        "files": build.golden,
        "absent": build.absent,
        "missing_inputs": build.missing_inputs,
    }
    atomic_write_json(run_dir / ESSENTIAL, manifest)
    build.written.append(ESSENTIAL)
    return build
