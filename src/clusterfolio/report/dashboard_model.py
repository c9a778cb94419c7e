"""What the terminal dashboard shows, computed from a run's artifacts (no Textual here).

Each tab is a :class:`Panel`: lines of text and tables (title, headers, rows of strings). A panel
whose artifact is absent carries the "not available in this run" line instead of a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clusterfolio.artifacts.portfolio import (
    profile_section,
    profiles_of,
    section_assets,
    section_clusters,
)
from clusterfolio.artifacts.risk import cluster_records
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
    accepted: str = ""


def _absent(name: str, why: str = "") -> str:
    return f"{NOT_AVAILABLE}: {name}" + (f" ({why})" if why else "")


def _profiles(arts: RunArtifacts, config: ReportConfig) -> list[Panel]:
    portfolio = arts.require_json(A.PORTFOLIO)
    assets = asset_table(arts)
    returns = arts.parquet(A.RETURNS)
    baseline = str(portfolio.get("baseline", config.baseline))
    panels = []
    for name in ordered_profiles(portfolio, config):
        doc = profiles_of(portfolio)[name]
        s = profile_stats(name, doc, returns, baseline, assets)
        mark = " (accepted)" if name == config.accepted_profile else ""
        lines = [
            f"{name}{mark} · solver {doc.get('solver', 'n/a')} · {s.n_assets} assets in "
            f"{len(s.clusters_used)} clusters",
            f"net {fmt_pct(s.net_exposure, 1)} · gross {fmt_pct(s.gross_exposure, 1)} · top-3 "
            f"{fmt_pct(s.top3, 1)} · volatility {fmt_pct(s.volatility, 2)} · beta "
            f"{fmt_float(s.beta, 2)} · corr {fmt_float(s.correlation, 2)} ({baseline})",
        ]
        lines += [f"⚠ fallback {fb.kind}: {fb.detail}" for fb in s.fallbacks]
        rows = []
        for a in section_assets(doc):
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
    accepted = profile_section(portfolio, config.accepted_profile)
    weights = {cid: v.get("gross") for cid, v in section_clusters(accepted).items()}
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
        for c in cluster_records(doc)
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
        panel.lines += _drift_lines(drift)
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
        columns = [c for c in _ORDER_HEADERS if c in orders.columns]
        rows = orders[orders["symbol"] != "CASH"] if "symbol" in orders.columns else orders
        panel.tables.append(
            Table(
                "Orders",
                [_ORDER_HEADERS[c] for c in columns],
                [[_order_cell(c, row[c]) for c in columns] for _, row in rows.iterrows()],
            )
        )
    return panel


_ORDER_HEADERS: dict[str, str] = {
    "symbol": "Symbol",
    "side": "Side",
    "target": "Target",
    "actual": "Actual",
    "delta_weight": "Δ weight",
    "quantity": "Quantity",
    "last_price": "Last price",
    "currency": "Ccy",
    "price_date": "Price date",
    "notional": "Notional",
    "est_cost": "Est. cost",
    "reason": "Reason",
    "money_note": "Note",
}
_MONEY_COLUMNS = frozenset({"notional", "est_cost", "target_value"})


def fmt_money(value: Any, digits: int = 2) -> str:
    """Money with thousands separators (``n/a`` for a missing value)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if number != number else f"{number:,.{digits}f}"


def _order_cell(column: str, value: Any) -> str:
    """Weights as percentages, money with separators, quantities compact, text as is."""
    if hasattr(value, "item"):
        value = value.item()
    if column in _MONEY_COLUMNS:
        return fmt_money(value)
    if column in ("quantity", "last_price"):
        return "n/a" if value is None or value != value else f"{float(value):,.6g}"
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return _weight_cell(column, value)


def _drift_lines(drift: dict[str, Any]) -> list[str]:
    """The drift summary in words, percentages and money."""
    raw = drift.get("summary")
    summary: dict[str, Any] = raw if isinstance(raw, dict) else {}
    base = "accepted state" if drift.get("has_state") else "no accepted state (from zero)"
    lines = [
        f"Drift against the {base}: churn {fmt_pct(summary.get('churn'), 2)} (executed "
        f"{fmt_pct(summary.get('executed_churn'), 2)}) · {summary.get('n_buy', 0)} BUY, "
        f"{summary.get('n_sell', 0)} SELL, {summary.get('n_hold', 0)} HOLD"
        + (
            f" · partial rebalance: {summary.get('n_skipped', 0)} dust skipped"
            if drift.get("partial_rebalance")
            else ""
        )
    ]
    money = (
        (drift.get("money") or {}).get("totals") if isinstance(drift.get("money"), dict) else None
    )
    if isinstance(money, dict):
        ccy = money.get("base_currency", "")
        lines.append(
            f"Capital {fmt_money(money.get('capital'))} {ccy} · buys "
            f"{fmt_money(money.get('buy_notional'))} · sells {fmt_money(money.get('sell_notional'))}"
            f" · est. cost {fmt_money(money.get('est_cost'))} · residual cash "
            f"{fmt_money(money.get('residual_cash'))} {ccy}"
            + (f" · {money.get('n_unpriced')} without a price" if money.get("n_unpriced") else "")
        )
    return lines


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
    everything = sorted(
        health.get("listings", []),
        key=lambda x: (x.get("status") == "OK", str(x.get("symbol", ""))),
    )
    panel.tables.append(
        Table(
            f"All {len(everything)} listings",
            ["Symbol", "Status", "Present / expected", "Last bar", "Findings"],
            [
                [
                    str(x.get("symbol", "")),
                    str(x.get("status", "")),
                    f"{x.get('sessions_present', '?')} / {x.get('sessions_expected', '?')}",
                    str(x.get("last_session", "")),
                    str(len(x.get("findings") or [])),
                ]
                for x in everything
            ],
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

    def sharpe(r: dict[str, Any]) -> float:
        value = (r.get("metrics") or {}).get("sharpe")
        return float(value) if is_ok(r) and isinstance(value, int | float) else float("-inf")

    ordered = sorted(
        (r for r in view.rows() if r not in hidden),
        key=lambda r: (-sharpe(r), str(r.get("profile")), str(r.get("engine"))),
    )
    for rank, r in enumerate(ordered, start=1):
        m: dict[str, Any] = r.get("metrics") or {}
        rows.append(
            [
                str(rank),
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
        f"{len(rows)} rows ranked by Sharpe · {view.periods or 'n/a'} sessions per year"
        + (f" · {len(hidden)} skipped or not applicable (not shown)" if hidden else "")
    )
    panel.tables.append(
        Table(
            "Results",
            [
                "Rank",
                "Profile",
                "Engine",
                "Simulator",
                "Status",
                "CAGR",
                "Sharpe",
                "Max DD",
                "Turnover",
            ],
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
        accepted=config.accepted_profile,
    )
