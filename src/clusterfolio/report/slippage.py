"""The slippage decay audit report (``slippage_decay_audit.md``).

``slippage_decay.json`` (written with ``feat_decay_audit``) and the decay table of the
tournament summary, each table with the tournament's annualisation convention and its
short-sample note (:mod:`clusterfolio.report.tournament_evidence`). Figures are copied, never
recomputed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from clusterfolio.enums import SimulatorName
from clusterfolio.report.artifacts import SLIPPAGE_DECAY, TOURNAMENT_SUMMARY, RunArtifacts
from clusterfolio.report.config import ReportConfig
from clusterfolio.report.jsonview import json_to_markdown
from clusterfolio.report.markdown import Markdown, fmt_float, fmt_pct, is_number
from clusterfolio.report.tournament import TournamentView, frictions
from clusterfolio.report.tournament_evidence import table_note

__all__ = ["render_slippage_decay"]


def _decay_analysis(md: Markdown, doc: dict[str, Any]) -> None:
    """``slippage_decay.json`` in the tournament's layout (rows with a slippage sensitivity)."""
    if doc.get("definition"):
        md.add(str(doc["definition"]).rstrip(".") + ".")
    cost = doc.get("cost_model") or {}
    if cost:
        slippage, commission, per_unit = (
            fmt_float(_num(cost.get(key)) * 1e4, 1)
            for key in ("slippage", "commission", "per_unit")
        )
        md.add(
            f"Cost model: slippage {slippage} bps, commission {commission} bp, "
            f"{per_unit} bps per unit traded."
        )
    fit = doc.get("fit") or {}
    if fit:
        md.add(
            f"Decay against annual turnover (least squares over {fit.get('n', 0)} engine × profile "
            f"pairs): slope {fmt_pct(fit.get('slope'), 3)} of CAGR per unit of annual turnover, "
            f"intercept {fmt_pct(fit.get('intercept'), 3)}, R² {fmt_float(fit.get('r2'), 3)}."
        )
    rows = [r for r in doc.get("rows", []) if isinstance(r, dict)]
    levels = [_level(b) for b in doc.get("sensitivity_bps", [])]
    headers = [
        "Profile",
        "Engine",
        "Turnover (annual)",
        "Idealized CAGR",
        "Realized CAGR",
        "Decay",
        "Decay per turnover",
        "Costs (total)",
        *[f"CAGR @ {b} bps" for b in levels],
    ]
    table = []
    for r in _by_pair(rows):
        by_level = {
            _level(x.get("slippage_bps")): x.get("cagr")
            for x in r.get("sensitivity", [])
            if isinstance(x, dict)
        }
        table.append(
            [
                r.get("profile"),
                r.get("engine"),
                fmt_float(r.get("turnover_annual"), 2),
                *_pcts(
                    r, "idealized_cagr", "realized_cagr", "decay", "decay_per_turnover", "costs"
                ),
                *[fmt_pct(by_level.get(b), 2) for b in levels],
            ]
        )
    md.table(headers, table, "ll" + "r" * (len(headers) - 2))


_Row = TypeVar("_Row", bound=Mapping[str, Any])

#: Decimals of a percentage cell: 3 for the small figures (costs, decay per unit of turnover).
_PCT_DIGITS = {"decay_per_turnover": 3, "costs": 3}


def _pcts(row: Mapping[str, Any], *keys: str) -> list[str]:
    """The percentage cells of a decay row, in the order of ``keys``."""
    return [fmt_pct(row.get(key), _PCT_DIGITS.get(key, 2)) for key in keys]


def _by_pair(rows: Sequence[_Row]) -> list[_Row]:
    """Decay rows sorted by profile, then engine."""
    return sorted(rows, key=lambda x: (str(x.get("profile")), str(x.get("engine"))))


def _level(bps: Any) -> str:
    """A slippage level (bps) as the text that keys a sensitivity column (``5``, ``2.5``)."""
    return f"{float(bps):g}" if is_number(bps) else str(bps)


def _num(value: Any) -> float:
    return float(value) if is_number(value) else math.nan


def render_slippage_decay(arts: RunArtifacts, config: ReportConfig) -> str:
    """Render ``slippage_decay_audit.md``; see the module docstring."""
    view = TournamentView(arts)
    md = Markdown()
    md.h1(f"Slippage Decay Audit: {config.as_of}")
    md.add(
        "Execution alpha decay: the CAGR lost between the idealized and the realized simulator "
        f"({frictions(config)})."
    )
    doc = arts.json(SLIPPAGE_DECAY)
    md.h2("High-fidelity decay analysis")
    if doc is None:
        why = (
            "feat_decay_audit is off in this run"
            if not config.decay_audit
            else "the tournament did not write it"
        )
        md.missing(SLIPPAGE_DECAY, why)
    elif isinstance(doc, dict) and any(
        isinstance(r, dict) and "sensitivity" in r for r in doc.get("rows", [])
    ):
        _decay_analysis(md, doc)
        md.add(table_note(view.summary or {}, _realized_rows(view, doc.get("rows", []))))
    else:
        json_to_markdown(md, doc)
    md.h2("Decay by engine and profile (tournament summary)")
    rows = view.decay()
    if not view.available:
        md.missing(TOURNAMENT_SUMMARY)
    elif not rows:
        md.add("The tournament summary lists no decay rows.")
    else:
        rows = _by_pair(rows)
        reference = any(d.get("cvxportfolio_cagr") is not None for d in rows)
        headers = ["Profile", "Engine", "Idealized CAGR", "Realized CAGR", "Decay", "Costs (total)"]
        if reference:
            headers += ["cvxportfolio CAGR", "Realized vs cvxportfolio (max daily |Δ|)"]
        table = []
        for d in rows:
            row = [
                d.get("profile"),
                d.get("engine"),
                *_pcts(d, "idealized_cagr", "realized_cagr", "decay", "costs"),
            ]
            if reference:
                diff = d.get("realized_vs_cvxportfolio_max_abs_diff")
                cvx = d.get("cvxportfolio_cagr")
                row += [
                    fmt_pct(cvx, 2) if cvx is not None else "—",
                    format(_num(diff), ".1e") if is_number(diff) else "—",
                ]
            table.append(row)
        md.table(headers, table, "ll" + "r" * (len(headers) - 2))
        md.add(table_note(view.summary or {}, _realized_rows(view, rows)))
    return md.render()


def _realized_rows(view: TournamentView, pairs: Sequence[Any]) -> list[dict[str, Any] | None]:
    """The realized summary rows of the (engine, profile) pairs of a decay table."""
    realized = SimulatorName.REALIZED.value
    return [
        view.row(str(d.get("engine")), str(d.get("profile")), realized)
        for d in pairs
        if isinstance(d, dict)
    ]
