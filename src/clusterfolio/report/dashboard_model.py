"""What the terminal dashboard shows, computed from a run's artifacts (no Textual here).

Each tab is a :class:`Panel`: lines of text and tables (title, headers, rows of strings). A panel
whose artifact is absent carries the "not available in this run" line instead of a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clusterfolio.report import artifacts as A
from clusterfolio.report.artifacts import RunArtifacts
from clusterfolio.report.config import ReportConfig
from clusterfolio.report.jsonview import scalar
from clusterfolio.report.lookup import asset_table
from clusterfolio.report.markdown import NOT_AVAILABLE, bar, fmt_float, fmt_pct
from clusterfolio.report.portfolio import (
    MIN_WEIGHT,
    fragility_marker,
    ordered_profiles,
    profile_stats,
)
from clusterfolio.report.verdicts import audit_verdict, health_line

__all__ = ["DashboardModel", "Panel", "Table", "load_dashboard"]


@dataclass
class Table:
    """A table of strings."""

    title: str
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Panel:
    """One tab (or one profile) of the dashboard."""

    key: str
    title: str
    lines: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass
class DashboardModel:
    """Everything the dashboard displays."""

    title: str
    subtitle: str
    profiles: list[Panel]
    clusters: Panel
    orders: Panel
    health: Panel
    tournament: Panel


def _absent(name: str, why: str = "") -> str:
    return f"{NOT_AVAILABLE}: {name}" + (f" ({why})" if why else "")


def _profiles(arts: RunArtifacts, config: ReportConfig) -> list[Panel]:
    portfolio = arts.require_json(A.PORTFOLIO)
    assets = asset_table(arts)
    returns = arts.parquet(A.RETURNS)
    baseline = str(portfolio.get("baseline", config.baseline))
    panels = []
    for name in ordered_profiles(portfolio, config):
        doc = portfolio["profiles"][name]
        s = profile_stats(name, doc, returns, baseline, assets)
        mark = " (accepted)" if name == config.accepted_profile else ""
        lines = [
            f"{name}{mark} · solver {doc.get('solver', 'n/a')} · {s.n_assets} assets in "
            f"{len(s.clusters_used)} clusters",
            f"net {fmt_pct(s.net_exposure, 1)} · gross {fmt_pct(s.gross_exposure, 1)} · top-3 "
            f"{fmt_pct(s.top3, 1)} · volatility {fmt_pct(s.volatility, 2)} · beta "
            f"{fmt_float(s.beta, 2)} · corr {fmt_float(s.correlation, 2)} ({baseline})",
        ]
        lines += [f"⚠ fallback {fb.get('kind')}: {fb.get('detail')}" for fb in s.fallbacks]
        rows = []
        for a in doc.get("assets", []):
            if float(a.get("gross", 0.0)) < MIN_WEIGHT:
                continue
            info = assets.get(str(a["symbol"]))
            rows.append(
                [
                    str(a["symbol"]),
                    info.class_label if info else "unknown",
                    str(a.get("cluster", "")),
                    "lead" if a.get("lead") else "",
                    str(a.get("direction", "LONG")),
                    fmt_pct(a.get("net"), 2),
                    bar(a.get("gross")),
                ]
            )
        panels.append(
            Panel(
                key=name,
                title=name,
                lines=lines,
                tables=[
                    Table(
                        "Positions",
                        ["Asset", "Class", "Cluster", "Role", "Side", "Net", "Gross"],
                        rows,
                    )
                ],
            )
        )
    return panels


def _clusters(arts: RunArtifacts, config: ReportConfig) -> Panel:
    doc = arts.require_json(A.CLUSTERS)
    portfolio = arts.require_json(A.PORTFOLIO)
    accepted = portfolio.get("profiles", {}).get(config.accepted_profile, {})
    weights = {str(k): v.get("gross") for k, v in (accepted.get("clusters") or {}).items()}
    rows = [
        [
            str(c["id"]),
            str(c.get("size", "")),
            str(c.get("lead_asset", "")),
            fragility_marker(c.get("mean_fragility")),
            fmt_pct(c.get("volatility"), 1),
            bar(weights.get(str(c["id"]), 0.0)),
            ", ".join(str(m) for m in c.get("members", [])),
        ]
        for c in sorted(doc.get("clusters", []), key=lambda c: int(c["id"]))
    ]
    return Panel(
        key="clusters",
        title="Clusters",
        lines=[
            f"{len(rows)} risk buckets · threshold {fmt_float(doc.get('threshold'), 3)} · regime "
            f"{doc.get('regime', 'n/a')} · weights of the accepted profile {config.accepted_profile}"
        ],
        tables=[
            Table(
                "Clusters",
                ["Cluster", "Size", "Lead", "Fragility", "Vol", config.accepted_profile, "Members"],
                rows,
            )
        ],
    )


_WEIGHT_COLUMNS = frozenset({"delta", "delta_weight", "target", "actual", "held", "weight"})


def _weight_cell(column: str, value: Any) -> str:
    """Weights as percentages, anything else as it is."""
    if hasattr(value, "item"):
        value = value.item()
    if column in _WEIGHT_COLUMNS and isinstance(value, int | float) and not isinstance(value, bool):
        return fmt_pct(value, 2)
    return scalar(value)


def _orders(arts: RunArtifacts) -> Panel:
    panel = Panel(key="orders", title="Drift & orders")
    audit = arts.json(A.AUDIT_JSON)
    if audit is None:
        panel.lines.append(_absent(A.AUDIT_JSON, "run make audit"))
    else:
        verdict = audit_verdict(audit, arts.run_dir)
        if verdict.stale:
            panel.lines.append(f"Audit STALE ({', '.join(verdict.stale)} changed): run make audit")
        elif verdict.passed:
            panel.lines.append(f"Audit PASSED ({verdict.n_checks} checks)")
        else:
            panel.lines.append(
                "Audit FAILED, do not implement: " + "; ".join(verdict.failed_checks)
            )
    drift = arts.json(A.DRIFT_JSON)
    if drift is None:
        panel.lines.append(_absent(A.DRIFT_JSON))
    elif isinstance(drift, dict):
        panel.lines.append(
            "Drift: "
            + ", ".join(
                f"{k} {scalar(v)}"
                for k, v in sorted(drift.items())
                if not isinstance(v, list | dict)
            )
        )
        summary = drift.get("summary")
        if isinstance(summary, dict):
            panel.lines.append(
                "Summary: " + ", ".join(f"{k} {scalar(v)}" for k, v in sorted(summary.items()))
            )
    orders = arts.csv(A.ORDERS_CSV)
    if isinstance(drift, dict) and orders is None:
        # no order list (a failed audit writes none): the drift lines are all there is
        for key, value in sorted(drift.items()):
            if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
                headers = list(dict.fromkeys(k for x in value for k in x))
                panel.tables.append(
                    Table(
                        f"Drift: {key}",
                        headers,
                        [[_weight_cell(h, x.get(h)) for h in headers] for x in value],
                    )
                )
    if orders is None:
        panel.lines.append(_absent(A.ORDERS_CSV))
    else:
        panel.tables.append(
            Table(
                "Orders",
                [str(c) for c in orders.columns],
                [
                    [_weight_cell(str(h), v) for h, v in zip(orders.columns, row, strict=True)]
                    for row in orders.itertuples(index=False)
                ],
            )
        )
    return panel


def _health(arts: RunArtifacts) -> Panel:
    health = arts.json(A.HEALTH_JSON)
    panel = Panel(key="health", title="Health")
    if not isinstance(health, dict):
        panel.lines.append(_absent(A.HEALTH_JSON))
        return panel
    panel.lines.append(health_line(health, arts.json(A.UNIVERSE)))
    rows = []
    for listing in health.get("listings", []):
        if listing.get("status") == "OK":
            continue
        findings = listing.get("findings") or []
        evidence = "; ".join(
            f"{f.get('kind', '?')}: {f.get('detail', '')}" if isinstance(f, dict) else str(f)
            for f in findings
        )
        rows.append(
            [
                str(listing.get("symbol", "")),
                str(listing.get("status", "")),
                f"{listing.get('sessions_present', '?')} / {listing.get('sessions_expected', '?')}",
                str(listing.get("last_session", "")),
                evidence,
            ]
        )
    panel.tables.append(
        Table(
            "Listings needing attention",
            ["Symbol", "Status", "Present / expected", "Last bar", "Evidence"],
            rows,
        )
    )
    return panel


def _tournament(arts: RunArtifacts) -> Panel:
    from clusterfolio.report.tournament import TournamentView, is_ok

    view = TournamentView(arts)
    panel = Panel(key="tournament", title="Tournament")
    if not view.available:
        panel.lines.append(_absent(A.TOURNAMENT_SUMMARY, "the tournament has not run"))
        return panel
    rows = []
    hidden = [r for r in view.rows() if str(r.get("status")) in ("skipped", "not_applicable")]
    ordered = sorted(
        (r for r in view.rows() if r not in hidden),
        key=lambda r: (str(r.get("profile")), str(r.get("simulator")), str(r.get("engine"))),
    )
    for r in ordered:
        m: dict[str, Any] = r.get("metrics") or {}
        rows.append(
            [
                str(r.get("profile")),
                str(r.get("engine")),
                str(r.get("simulator")),
                "ok" if is_ok(r) else f"⚠ {r.get('status')}: {r.get('error') or ''}",
                fmt_pct(m.get("cagr"), 2),
                fmt_float(m.get("sharpe"), 2),
                fmt_pct(m.get("max_drawdown"), 2),
                fmt_float(m.get("turnover"), 2),
            ]
        )
    panel.lines.append(
        f"{len(rows)} rows · {view.periods or 'n/a'} sessions per year"
        + (f" · {len(hidden)} skipped or not applicable (not shown)" if hidden else "")
    )
    panel.tables.append(
        Table(
            "Results",
            ["Profile", "Engine", "Simulator", "Status", "CAGR", "Sharpe", "Max DD", "Turnover"],
            rows,
        )
    )
    return panel


def load_dashboard(run_dir: Path, config: ReportConfig | None = None) -> DashboardModel:
    """Read a run directory into a :class:`DashboardModel`.

    Parameters
    ----------
    run_dir : Path
        The run (``portfolio_optimized.json`` and ``clusters.json`` are required).
    config : ReportConfig, optional
        Defaults to the run ledger's settings (or the defaults without a ledger).
    """
    arts = RunArtifacts(Path(run_dir))
    if config is None:
        ledger = arts.ledger()
        config = ReportConfig.from_ledger(ledger) if ledger else ReportConfig()
    portfolio = arts.require_json(A.PORTFOLIO)
    regime = arts.json(A.REGIME) or {}
    as_of = config.as_of or str(portfolio.get("as_of", ""))
    return DashboardModel(
        title=f"clusterfolio · {as_of}",
        subtitle=f"run {config.run_id or Path(run_dir).name} · regime {regime.get('label', 'n/a')}",
        profiles=_profiles(arts, config),
        clusters=_clusters(arts, config),
        orders=_orders(arts),
        health=_health(arts),
        tournament=_tournament(arts),
    )
