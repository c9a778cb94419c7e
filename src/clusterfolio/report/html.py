"""``report.html``: one self-contained page a portfolio manager opens.

Sections (each a ``<section id=...>``, :data:`SECTIONS`): the headline (regime, accepted
profile, trades and turnover, audit, warnings and fallbacks), the weights by cluster with long
and short shown, the tournament ranked with its caveats, the data health, and the drift and
orders in money. Pictures are embedded as base64 PNG, tables sort on a click on their header
(inline script), and nothing is fetched from the network: the file can be mailed or archived as is.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from clusterfolio.artifacts.portfolio import (
    profile_section,
    section_assets,
    section_clusters,
)
from clusterfolio.artifacts.reports import (
    CLUSTERMAP_PNG,
    DRAWDOWNS_PNG,
    EQUITY_PNG,
    REGIME_PNG,
    WEIGHTS_PNG,
)
from clusterfolio.report.artifacts import (
    DRIFT_JSON,
    HEALTH_JSON,
    ORDERS_CSV,
    PORTFOLIO,
    TOURNAMENT_SUMMARY,
    RunArtifacts,
)
from clusterfolio.report.headline import Headline, headline

SECTIONS = ("headline", "weights", "tournament", "health", "orders")
"""The ids of the page's sections, in order."""

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f4f4f4;cursor:pointer;user-select:none}th:after{content:" \\2195";color:#aaa}
.LONG{color:#1a7f37}.SHORT{color:#cf222e;font-weight:bold}.bad{color:#cf222e;font-weight:bold}
.ok{color:#1a7f37}.warn{color:#9a6700}.kpi td:first-child{font-weight:bold}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}
.caveats li{margin:.2em 0}
"""

_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function(th){
  th.addEventListener("click",function(){
    var table=th.closest("table"),body=table.tBodies[0],i=Array.prototype.indexOf.call(th.parentNode.children,th);
    var asc=th.dataset.dir!=="asc";th.dataset.dir=asc?"asc":"desc";
    var rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){
      var x=a.cells[i].dataset.v!==undefined?a.cells[i].dataset.v:a.cells[i].textContent;
      var y=b.cells[i].dataset.v!==undefined?b.cells[i].dataset.v:b.cells[i].textContent;
      var nx=parseFloat(x),ny=parseFloat(y),c;
      if(!isNaN(nx)&&!isNaN(ny)){c=nx-ny}else{c=String(x).localeCompare(String(y))}
      return asc?c:-c});
    rows.forEach(function(r){body.appendChild(r)});
  });
});
"""


class Cell:
    """A table cell: its text, its sort value and its CSS class."""

    def __init__(self, text: Any, value: float | None = None, css: str = "") -> None:
        self.text = "" if text is None else str(text)
        self.value = value
        self.css = css

    def render(self) -> str:
        """The ``<td>``."""
        attrs = ""
        if self.value is not None:
            attrs += f' data-v="{self.value!r}"'
        css = " ".join(c for c in (self.css, "n" if self.value is not None else "") if c)
        if css:
            attrs += f' class="{css}"'
        return f"<td{attrs}>{html.escape(self.text)}</td>"


def pct(value: Any, digits: int = 2) -> Cell:
    """A percentage cell (sorts by value)."""
    if value is None or value == "":
        return Cell("")
    number = float(value)
    return Cell(f"{number:.{digits}%}", number)


def money(value: Any, digits: int = 2) -> Cell:
    """A money cell with thousands separators (sorts by value)."""
    if value is None or value == "" or value != value:
        return Cell("n/a")
    number = float(value)
    return Cell(f"{number:,.{digits}f}", number)


def num(value: Any, digits: int = 3) -> Cell:
    """A plain number cell."""
    if value is None or value == "" or value != value:
        return Cell("")
    number = float(value)
    return Cell(f"{number:.{digits}f}", number)


def table(headers: Sequence[str], rows: Iterable[Sequence[Cell | str]], *, css: str = "") -> str:
    """A sortable HTML table."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body: list[str] = []
    for row in rows:
        cells = [c if isinstance(c, Cell) else Cell(c) for c in row]
        body.append("<tr>" + "".join(c.render() for c in cells) + "</tr>")
    classes = " ".join(c for c in ("sortable", css) if c)
    return (
        f'<table class="{classes}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def picture(run_dir: Path, name: str, alt: str) -> str:
    """A PNG of the run embedded as base64 (``""`` when absent)."""
    path = run_dir / name
    if not path.is_file():
        return f"<p><em>{html.escape(alt)}: not available in this run</em></p>"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _audit_cell(head: Headline) -> Cell:
    """The audit verdict, with the warnings on the accepted profile (warn colour when any)."""
    css = {True: "ok", False: "bad", None: "warn"}[head.audit_passed]
    if head.audit_warnings and css == "ok":
        css = "warn"
    return Cell(head.audit_text, css=css)


def _headline_section(head: Headline) -> str:
    rows: list[list[Cell | str]] = [
        [
            "run",
            head.run_id + (f" ({head.status})" if head.status not in (None, "running") else ""),
        ],
        ["as of", head.as_of or "?"],
        ["regime", head.regime or "?"],
        ["accepted profile", head.accepted_profile],
        ["audit", _audit_cell(head)],
        ["trades", f"{head.n_buy or 0} BUY, {head.n_sell or 0} SELL"],
        ["turnover (one-way churn)", pct(head.churn or 0.0)],
        ["warnings", Cell(head.n_warnings, head.n_warnings, "warn" if head.n_warnings else "")],
        ["fallbacks", Cell(head.n_fallbacks, head.n_fallbacks, "warn" if head.n_fallbacks else "")],
    ]
    if head.money:
        ccy = head.money.get("base_currency", "")
        rows += [
            [f"capital ({ccy})", money(head.money.get("capital"))],
            [
                f"buys / sells ({ccy})",
                f"{head.money['buy_notional']:,.0f} / {head.money['sell_notional']:,.0f}",
            ],
            [f"estimated cost ({ccy})", money(head.money.get("est_cost"))],
            [f"residual cash ({ccy})", money(head.money.get("residual_cash"))],
        ]
    top = table(
        ["symbol", "direction", "net weight", "cluster"],
        [
            [
                t["symbol"],
                Cell(t["direction"], css=t["direction"]),
                pct(t["net"]),
                str(t["cluster"]),
            ]
            for t in head.top
        ],
    )
    steps = table(
        ["step", "warnings", "fallbacks"],
        [
            [k, Cell(head.warnings.get(k, 0), head.warnings.get(k, 0)), Cell(v, v)]
            for k, v in sorted(head.fallbacks.items())
            if v or head.warnings.get(k, 0)
        ],
    )
    return (
        '<section id="headline"><h2>Headline</h2>'
        + table(["", ""], rows, css="kpi")
        + f"<h3>Top {len(head.top)} positions</h3>{top}<h3>Warnings and fallbacks by step</h3>{steps}"
        + "</section>"
    )


def _order(key: Any) -> tuple[float, str]:
    """Numeric ids first in numeric order."""
    try:
        return float(key), ""
    except (TypeError, ValueError):
        return float("inf"), str(key)


def _weights_section(arts: RunArtifacts, profile: str) -> str:
    doc = arts.json(PORTFOLIO) or {}
    section = profile_section(doc, profile)
    assets = sorted(
        section_assets(section),
        key=lambda a: (_order(a.get("cluster")), -float(a.get("gross", 0.0))),
    )
    rows = [
        [
            Cell(
                a.get("cluster"), float(a["cluster"]) if isinstance(a.get("cluster"), int) else None
            ),
            a["symbol"],
            Cell(a.get("direction", "LONG"), css=str(a.get("direction", "LONG"))),
            pct(a.get("net")),
            pct(a.get("gross")),
            str(a.get("asset_class", "")),
            str(a.get("sector", "")),
        ]
        for a in assets
    ]
    clusters = section_clusters(section)
    members: dict[str, int] = {}
    for a in assets:
        members[str(a.get("cluster"))] = members.get(str(a.get("cluster")), 0) + 1
    cluster_rows: list[list[Cell | str]] = []
    if isinstance(clusters, dict):
        for cid, info in sorted(clusters.items(), key=lambda kv: _order(kv[0])):
            if isinstance(info, dict):
                n = members.get(str(cid), 0)
                cluster_rows.append(
                    [
                        Cell(cid, _order(cid)[0]),
                        pct(info.get("gross")),
                        pct(info.get("net")),
                        Cell(n, n),
                    ]
                )
    long_ = sum(float(a.get("net", 0)) for a in assets if float(a.get("net", 0)) > 0)
    short = sum(float(a.get("net", 0)) for a in assets if float(a.get("net", 0)) < 0)
    return (
        f'<section id="weights"><h2>Weights by cluster: {html.escape(profile)}</h2>'
        f"<p>long {long_:.2%} · short {short:.2%} · net {long_ + short:.2%} · gross "
        f"{long_ - short:.2%}</p>"
        + picture(arts.run_dir, WEIGHTS_PNG, "weights by cluster")
        + (table(["cluster", "gross", "net", "assets"], cluster_rows) if cluster_rows else "")
        + table(["cluster", "symbol", "direction", "net", "gross", "asset class", "sector"], rows)
        + picture(arts.run_dir, CLUSTERMAP_PNG, "cluster map")
        + "</section>"
    )


def _caveats(doc: dict[str, Any]) -> list[str]:
    out = []
    cost = doc.get("cost_model") or {}
    if cost:
        out.append(
            f"costs: slippage {float(cost.get('slippage', 0)):.2%} + commission "
            f"{float(cost.get('commission', 0)):.2%} of traded value (the one cost model)"
        )
    windows = doc.get("windows") or []
    if windows:
        ok = sum(1 for w in windows if w.get("status", "ok") == "ok" and not w.get("error"))
        out.append(f"{ok} of {len(windows)} walk-forward windows ok: few windows, wide uncertainty")
    for key in ("periods_source", "session_axis"):
        if doc.get(key):
            out.append(f"{key.replace('_', ' ')}: {doc[key]}")
    for sim, engines in (doc.get("simulator_scope") or {}).items():
        out.append(f"simulator {sim} runs only for {', '.join(engines)}")
    parity = doc.get("live_parity") or {}
    if parity:
        out.append(f"live parity: {parity.get('detail', parity.get('checked'))}")
    failed = [r for r in doc.get("rows", []) if r.get("status") != "ok"]
    if failed:
        out.append(
            f"{len(failed)} engine x profile x simulator rows failed (left out of the ranking)"
        )
    return out


def _tournament_section(arts: RunArtifacts) -> str:
    doc = arts.json(TOURNAMENT_SUMMARY) or {}
    rows = [r for r in doc.get("rows", []) if r.get("status") == "ok"]
    rows.sort(key=lambda r: -float((r.get("metrics") or {}).get("sharpe") or float("-inf")))
    body: list[list[Cell | str]] = []
    for rank, r in enumerate(rows, start=1):
        m = r.get("metrics") or {}
        body.append(
            [
                Cell(rank, float(rank)),
                r.get("engine", ""),
                r.get("profile", ""),
                r.get("simulator", ""),
                num(m.get("sharpe"), 2),
                pct(m.get("cagr")),
                pct(m.get("volatility")),
                pct(m.get("max_drawdown")),
                num(m.get("turnover"), 2),
                pct(m.get("costs"), 3),
            ]
        )
    caveats = "".join(f"<li>{html.escape(c)}</li>" for c in _caveats(doc))
    return (
        '<section id="tournament"><h2>Tournament (ranked by Sharpe)</h2>'
        + (f'<ul class="caveats">{caveats}</ul>' if caveats else "")
        + table(
            [
                "rank",
                "engine",
                "profile",
                "simulator",
                "Sharpe",
                "CAGR",
                "volatility",
                "max drawdown",
                "turnover",
                "costs",
            ],
            body,
        )
        + picture(arts.run_dir, EQUITY_PNG, "equity curves")
        + picture(arts.run_dir, DRAWDOWNS_PNG, "drawdowns")
        + "</section>"
    )


def _health_section(arts: RunArtifacts) -> str:
    doc = arts.json(HEALTH_JSON) or {}
    listings = doc.get("listings") or []
    counts: dict[str, int] = {}
    for row in listings:
        counts[str(row.get("status"))] = counts.get(str(row.get("status")), 0) + 1
    summary = table(["status", "listings"], [[k, Cell(v, v)] for k, v in sorted(counts.items())])
    bad = [
        [
            row.get("symbol", ""),
            Cell(row.get("status", ""), css="ok" if row.get("status") == "OK" else "bad"),
            row.get("last_session", ""),
            Cell(row.get("sessions_present"), row.get("sessions_present")),
            "; ".join(
                str(f.get("detail", f)) if isinstance(f, dict) else str(f)
                for f in row.get("findings") or []
            ),
        ]
        for row in listings
        if row.get("status") != "OK"
    ]
    return (
        '<section id="health"><h2>Data health</h2>'
        + summary
        + (
            table(["symbol", "status", "last session", "sessions", "findings"], bad)
            if bad
            else "<p>every listing OK</p>"
        )
        + picture(arts.run_dir, REGIME_PNG, "regime timeline")
        + "</section>"
    )


def _orders_section(arts: RunArtifacts) -> str:
    drift = arts.json(DRIFT_JSON) or {}
    totals = (drift.get("money") or {}).get("totals") or {}
    ccy = totals.get("base_currency", "")
    total_rows = [
        [k.replace("_", " "), money(v) if isinstance(v, float) else str(v)]
        for k, v in totals.items()
    ]
    orders = arts.csv(ORDERS_CSV)
    body: list[list[Cell | str]] = []
    if orders is not None:
        for row in orders.to_dict("records"):
            if row.get("symbol") == "CASH":
                continue
            side = str(row.get("side", ""))
            body.append(
                [
                    row.get("symbol", ""),
                    Cell(side, css={"BUY": "LONG", "SELL": "SHORT"}.get(side, "")),
                    pct(row.get("target")),
                    pct(row.get("actual")),
                    pct(row.get("delta_weight")),
                    num(row.get("quantity"), 4),
                    num(row.get("last_price"), 4),
                    str(row.get("currency", "")),
                    money(row.get("notional")),
                    money(row.get("est_cost")),
                    "; ".join(
                        str(x) for x in (row.get("reason"), row.get("money_note")) if x and x == x
                    ),
                ]
            )
    note = (
        ""
        if orders is not None
        else '<p class="bad">no orders.csv: the audit failed or drift has not run</p>'
    )
    return (
        '<section id="orders"><h2>Drift and orders</h2>'
        + (table(["", ccy], total_rows, css="kpi") if total_rows else "")
        + note
        + table(
            [
                "symbol",
                "side",
                "target",
                "actual",
                "Δ weight",
                "quantity",
                "last price",
                "currency",
                f"notional ({ccy})",
                f"est. cost ({ccy})",
                "note",
            ],
            body,
        )
        + "</section>"
    )


def render_html(run_dir: Path, summaries_dir: Path | None = None) -> str:
    """The whole page for a run directory (see the module docstring)."""
    arts = RunArtifacts(run_dir)
    head = headline(run_dir, summaries_dir)
    parts = [
        _headline_section(head),
        _weights_section(arts, head.accepted_profile),
        _tournament_section(arts),
        _health_section(arts),
        _orders_section(arts),
    ]
    title = f"clusterfolio {head.run_id}"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        + "".join(parts)
        + f"<script>{_SCRIPT}</script></body></html>\n"
    )
