"""``engine_comparison_report.md``: every engine of every profile, realized and idealized.

Figures are copied from ``tournament_summary.json`` and ``tournament_results.parquet`` (see
:mod:`clusterfolio.report.tournament`, which renders the Strategy Resume from the same view).
"""

from __future__ import annotations

from typing import Any

from clusterfolio.enums import SimulatorName
from clusterfolio.report.artifacts import TOURNAMENT_RESULTS, RunArtifacts
from clusterfolio.report.config import ReportConfig
from clusterfolio.report.jsonview import json_to_markdown
from clusterfolio.report.markdown import Markdown, MetricKind, fmt_float, fmt_metric, fmt_pct
from clusterfolio.report.tournament import (
    _ABSENT_STATUS,
    _BAD_STATUS,
    TournamentView,
    _header,
    _metric,
    _sharpe_key,
    is_ok,
)
from clusterfolio.report.tournament_evidence import (
    render_constraints,
    render_plausibility,
    render_timeouts,
    render_trials,
    short_mark,
    suspicion,
    table_note,
)

__all__ = ["render_engine_comparison"]


def render_engine_comparison(arts: RunArtifacts, config: ReportConfig) -> str:
    """Render ``engine_comparison_report.md``; see the module docstring."""
    view = TournamentView(arts)
    md = Markdown()
    if not _header(md, "Tournament Benchmark", view, config):
        return md.render()
    assert view.summary is not None
    summary = view.summary
    capabilities = view.summary.get("capabilities")
    if isinstance(capabilities, dict) and all(isinstance(v, list) for v in capabilities.values()):
        md.h2("Engine capabilities")
        md.table(
            ["Engine", "Profiles it implements"],
            [[e, ", ".join(str(p) for p in v) or "—"] for e, v in sorted(capabilities.items())],
        )
    elif capabilities:
        json_to_markdown(md, capabilities, title="Engine capabilities")
    decay = {(str(d.get("engine")), str(d.get("profile"))): d for d in view.decay()}
    profiles_present = {str(r.get("profile")) for r in view.rows()}
    profiles = [p for p in config.profiles if p in profiles_present] + sorted(
        p for p in profiles_present if p not in config.profiles
    )
    for profile in profiles:
        md.h2(f"Profile: {profile}" + (" (accepted)" if profile == config.accepted_profile else ""))
        _engines_table(md, view, summary, profile, decay)
        _other_simulators(md, view, profile)
    render_trials(md, summary)
    render_plausibility(md, summary)
    render_constraints(md, summary)
    render_timeouts(md, summary, view.results)
    _windows(md, view)
    return md.render()


def _engine_row(
    r: dict[str, Any],
    ideal: dict[str, Any] | None,
    decay: dict[str, Any],
    summary: dict[str, Any],
    rank: int | None,
) -> list[Any]:
    """One engine's row: realized figures, idealized ones, the decay, the status."""
    ok = rank is not None
    return [
        rank if ok else "—",
        f"{r.get('engine')}{short_mark(summary, r)}",
        fmt_pct(_metric(r, "cagr"), 2),
        fmt_float(_metric(r, "sharpe"), 2),
        fmt_metric(_metric(r, "dsr"), MetricKind.PROB),
        fmt_metric(_metric(r, "psr"), MetricKind.PROB),
        fmt_pct(_metric(r, "max_drawdown"), 2),
        fmt_float(_metric(r, "turnover"), 2),
        fmt_pct(_metric(r, "costs"), 2),
        fmt_pct(_metric(ideal, "cagr"), 2),
        fmt_float(_metric(ideal, "sharpe"), 2),
        fmt_pct(decay.get("decay"), 2),
        ("ok" if ok else f"⚠ {r.get('status')}: {r.get('error') or ''}".strip())
        + suspicion(summary, r),
    ]


def _engines_table(
    md: Markdown,
    view: TournamentView,
    summary: dict[str, Any],
    profile: str,
    decay: dict[tuple[str, str], dict[str, Any]],
) -> None:
    """The engines of one profile ranked by realized Sharpe, with their idealized figures."""
    realized = SimulatorName.REALIZED.value
    engines = sorted({str(r.get("engine")) for r in view.rows() if r.get("profile") == profile})
    real_rows = []
    absent: list[str] = []
    for engine in engines:
        real = view.row(engine, profile, realized)
        if real is not None and str(real.get("status")) in _ABSENT_STATUS:
            absent.append(f"{engine} ({real.get('status')})")
            continue
        real_rows.append(real or {"engine": engine, "profile": profile, "status": "absent"})
    real_rows.sort(key=_sharpe_key)
    table = []
    rank = 0
    for r in real_rows:
        ok = is_ok(r) and r.get("status") != "absent"
        rank += 1 if ok else 0
        ideal = view.row(str(r.get("engine")), profile, SimulatorName.IDEALIZED.value)
        d = decay.get((str(r.get("engine")), profile), {})
        table.append(_engine_row(r, ideal, d, summary, rank if ok else None))
    md.table(
        [
            "Rank",
            "Engine",
            "Realized CAGR",
            "Realized Sharpe",
            "DSR",
            "PSR",
            "Realized max DD",
            "Turnover (annual)",
            "Costs (total)",
            "Idealized CAGR",
            "Idealized Sharpe",
            "Decay",
            "Status",
        ],
        table,
        "rlrrrrrrrrrrl",
    )
    md.add(table_note(summary, real_rows))
    if absent:
        md.add("Not run for this profile: " + ", ".join(absent) + ".")


def _other_simulators(md: Markdown, view: TournamentView, profile: str) -> None:
    """One line per row of a simulator other than idealized and realized."""
    realized = SimulatorName.REALIZED.value
    idealized = SimulatorName.IDEALIZED.value
    others = [
        r
        for r in view.rows()
        if r.get("profile") == profile
        and r.get("simulator") not in (realized, idealized)
        and str(r.get("status")) not in _ABSENT_STATUS
    ]
    if others:
        md.add(
            "Other simulators: "
            + "; ".join(
                f"{r.get('engine')} × {r.get('simulator')}: CAGR {fmt_pct(_metric(r, 'cagr'), 2)}, "
                f"Sharpe {fmt_float(_metric(r, 'sharpe'), 2)}"
                + ("" if is_ok(r) else f" (⚠ {r.get('status')}: {r.get('error') or ''})")
                for r in sorted(
                    others, key=lambda x: (str(x.get("engine")), str(x.get("simulator")))
                )
            )
        )


def _windows(md: Markdown, view: TournamentView) -> None:
    md.h2("Windows by engine and simulator")
    results = view.results
    if results is None:
        md.missing(TOURNAMENT_RESULTS)
        return
    needed = {"engine", "simulator", "status"}
    if results.empty or not needed <= set(results.columns):
        md.add(f"`{TOURNAMENT_RESULTS}` holds no window rows.")
        return
    frame = results.copy()
    frame["ok"] = ~frame["status"].astype(str).str.lower().isin(_BAD_STATUS)
    if "error" in frame.columns:
        frame["ok"] &= frame["error"].isna() | (frame["error"].astype(str) == "")
    grouped = (
        frame.groupby(["engine", "simulator"], sort=True)["ok"].agg(["sum", "count"]).reset_index()
    )
    md.table(
        ["Engine", "Simulator", "Windows ok", "Windows"],
        [
            [r["engine"], r["simulator"], int(r["sum"]), int(r["count"])]
            for r in grouped.to_dict(orient="records")
        ],
        "llrr",
    )
