"""How far the tournament's figures can be trusted: the notes and sections of its reports.

- **Annualisation and short samples** (:func:`table_note`, :func:`short_mark`): every metrics
  table says which convention annualised it (``annualisation.convention`` of the summary: 252
  sessions for exchange calendars, 365 only for 24/7 books, the union axis' session count
  otherwise) and marks with † a row whose metrics come from fewer than
  ``annualisation.short_sample_sessions`` (252) sessions.
- **Multiple testing** (:func:`render_trials`): the number of engine x profile trials, their
  average correlation, the effective number of trials and the Sharpe ratio the best of them
  would show by luck; each row's PSR and DSR (:mod:`clusterfolio.backtest.significance`).
- **Plausibility** (:func:`render_plausibility`, :func:`suspicion`): the rows whose Sharpe is
  too good to be true and the window that contributes most
  (:mod:`clusterfolio.backtest.plausibility`).
- **Equal terms** (:func:`render_constraints`): per engine and profile, whether the caps it
  received were enforced by the engine and what its weights actually held, and how directions
  and long-only were applied.

Every figure is copied from ``tournament_summary.json``; a summary written before these fields
existed renders ``n/a`` and says so, nothing is recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from clusterfolio.backtest.metrics import SHORT_SAMPLE_SESSIONS, annualisation
from clusterfolio.enums import EngineName, ProfileName
from clusterfolio.report.markdown import Markdown, fmt_float, fmt_pct, is_number

__all__ = [
    "SHORT_MARK",
    "convention",
    "render_constraints",
    "render_plausibility",
    "render_timeouts",
    "render_trials",
    "short_mark",
    "suspicion",
    "table_note",
]

SHORT_MARK = "†"
"""Marks a row whose metrics come from a short sample."""

_CAP_TOLERANCE = 1e-6


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return int(value) if is_number(value) else None


def _short_sessions(summary: Mapping[str, Any]) -> int:
    value = _int(_dict(summary.get("annualisation")).get("short_sample_sessions"))
    return SHORT_SAMPLE_SESSIONS if value is None else value


def convention(summary: Mapping[str, Any]) -> str:
    """The annualisation convention in words (from ``periods_per_year`` for older summaries)."""
    text = _dict(summary.get("annualisation")).get("convention")
    if text:
        return str(text)
    periods = _int(summary.get("periods_per_year"))
    if periods is None:
        return "sessions per year not recorded"
    source = str(summary.get("periods_source") or "calendars")
    return str(annualisation(periods, source)["convention"])


def _sessions(row: Mapping[str, Any] | None) -> int | None:
    return _int(_dict((row or {}).get("metrics")).get("n_periods"))


def short_mark(summary: Mapping[str, Any], row: Mapping[str, Any] | None) -> str:
    """`` †`` when the row's metrics come from fewer sessions than the short-sample threshold."""
    n = _sessions(row)
    return f" {SHORT_MARK}" if n is not None and n < _short_sessions(summary) else ""


def table_note(summary: Mapping[str, Any], rows: Iterable[Mapping[str, Any] | None]) -> str:
    """The line under a metrics table: its annualisation and, if any, the short-sample note."""
    text = f"Annualised with {convention(summary)}."
    threshold = _short_sessions(summary)
    short = sorted({n for r in rows if (n := _sessions(r)) is not None and n < threshold})
    if short:
        counts = ", ".join(str(n) for n in short)
        text += (
            f" {SHORT_MARK} Short sample: computed on {counts} sessions (fewer than {threshold}); "
            "annualised figures extrapolate less than a year and are fragile."
        )
    return text


def _flags(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [f for f in _dict(summary.get("plausibility")).get("flags", []) if isinstance(f, dict)]


def suspicion(summary: Mapping[str, Any], row: Mapping[str, Any] | None) -> str:
    """`` · ⚠ suspicious`` when the plausibility guard flagged the row, else an empty string."""
    if row is None:
        return ""
    key = (row.get("engine"), row.get("profile"), row.get("simulator"))
    for flag in _flags(summary):
        if (flag.get("engine"), flag.get("profile"), flag.get("simulator")) == key:
            return " · ⚠ suspicious (see Plausibility guard)"
    return ""


def _flag_text(flag: Mapping[str, Any], doc: Mapping[str, Any]) -> str:
    label = f"{flag.get('engine')} · {flag.get('profile')} ({flag.get('simulator')})"
    parts = [f"Sharpe {fmt_float(flag.get('sharpe'), 2)}"]
    if is_number(flag.get("market_sharpe")):
        parts.append(
            f"market {fmt_float(flag.get('market_sharpe'), 2)}, excess "
            f"{fmt_float(flag.get('excess'), 2, signed=True)}"
        )
    reasons = []
    for reason in flag.get("reasons", []):
        if reason == "sharpe_excess":
            reasons.append(
                f"more than {fmt_float(doc.get('sharpe_excess_threshold'), 2)} above the market"
            )
        elif reason == "sharpe_above_max":
            reasons.append(f"above {fmt_float(doc.get('sharpe_max'), 2)}")
        else:
            reasons.append(str(reason))
    top = _dict(flag.get("top_window"))
    where = "No window holds its returns"
    if top:
        basis = "excess log growth" if top.get("basis") == "excess_over_market" else "log growth"
        share = (
            f"{basis} {fmt_pct(top.get('log_growth'), 2)}, "
            f"{fmt_pct(top.get('share'), 0)} of the windows' gains"
            if is_number(top.get("share"))
            else f"{basis} {fmt_pct(top.get('log_growth'), 2)} (no window gains)"
        )
        where = (
            f"Window {top.get('window')} ({top.get('test_start')} .. {top.get('test_end')}) "
            f"contributes most: {share}"
        )
    return f"⚠ **{label}**: {'; '.join(parts)}; {' and '.join(reasons)}. {where}."


def render_plausibility(md: Markdown, summary: Mapping[str, Any]) -> None:
    """``## Plausibility guard``: suspicious rows, or that none is, or that it was not run."""
    md.h2("Plausibility guard")
    doc = _dict(summary.get("plausibility"))
    if not doc:
        md.add("Not recorded in this tournament summary (written before the guard existed).")
        return
    md.add(
        "A row is suspicious when its out-of-sample Sharpe exceeds the market's (same "
        f"simulator) by more than {fmt_float(doc.get('sharpe_excess_threshold'), 2)} "
        "(`backtest.plausibility_sharpe_excess`) or exceeds "
        f"{fmt_float(doc.get('sharpe_max'), 2)} (`backtest.plausibility_sharpe_max`): look for "
        "look-ahead, a data error or luck before trusting it."
    )
    flags = _flags(summary)
    if not flags:
        md.add("No row is suspicious.")
        return
    ranking = _dict(_dict(summary.get("settings")).get("trials")).get("simulator", "realized")
    main = [f for f in flags if f.get("simulator") == ranking] or flags
    md.bullets([_flag_text(f, doc) for f in main])
    others = [f for f in flags if f not in main]
    if others:
        md.add(
            "Also flagged with the other simulators: "
            + ", ".join(
                f"{f.get('engine')} · {f.get('profile')} ({f.get('simulator')})" for f in others
            )
            + "."
        )


def render_trials(md: Markdown, summary: Mapping[str, Any]) -> None:
    """``## Multiple testing``: the trials behind the Deflated Sharpe Ratio."""
    md.h2("Multiple testing (Probabilistic and Deflated Sharpe)")
    trials = _dict(_dict(summary.get("settings")).get("trials"))
    if not trials:
        md.add("Not recorded in this tournament summary: rows are ranked by Sharpe.")
        return
    md.add(
        f"Rows are ranked by PSR, the probability that the true Sharpe is above 0 given the "
        f"sample length, skewness and kurtosis. The best of {trials.get('n', 'n/a')} engine × "
        f"profile trials ({trials.get('requested', 'n/a')} requested, {trials.get('simulator')} "
        f"simulator) is the best by construction: with an average correlation of "
        f"{fmt_float(trials.get('avg_correlation'), 2)} between their daily returns they count "
        f"as N_eff = {fmt_float(trials.get('n_eff'), 2)} independent trials "
        "(N_eff = ρ + (1 − ρ) N), whose best would show an annualised Sharpe of "
        f"{fmt_float(trials.get('expected_max_sharpe_annual'), 2)} by luck alone. DSR is the "
        "probability that the true Sharpe beats that (Bailey and López de Prado, 2014); "
        "below 0.95 the ranking is not evidence of skill."
    )


def _cap_cell(enforced: Any, held: Any, cap: Any) -> str:
    if not is_number(held):
        return "n/a"
    within = not is_number(cap) or float(held) <= float(cap) + _CAP_TOLERANCE
    shown = f"max {fmt_pct(held, 1)}" + ("" if not is_number(cap) else f" / cap {fmt_pct(cap, 1)}")
    if enforced:
        return f"✓ enforced ({shown})" if within else f"⚠ relaxed ({shown})"
    return f"not enforced, held ({shown})" if within else f"✗ not enforced ({shown})"


def render_constraints(md: Markdown, summary: Mapping[str, Any]) -> None:
    """``## Constraints honoured``: the caps, directions and long-only of every engine."""
    md.h2("Constraints honoured (peers on equal terms)")
    caps = _dict(_dict(summary.get("settings")).get("caps"))
    md.add(
        "Every engine receives the same window universe, the same training slice (a SHORT "
        "candidate as its negated returns) and the same caps; the tournament checks every "
        "output is long-only and fully invested and applies the directions itself (net = "
        "sign × gross), so directions hold for every engine. Caps: whether the engine states "
        "them to its solver, and the largest gross weight its windows actually held."
    )
    table = []
    seen: set[tuple[str, str]] = set()
    for row in summary.get("rows", []):
        if not isinstance(row, dict) or row.get("status") == "not_applicable":
            continue
        pair = (str(row.get("engine")), str(row.get("profile")))
        if pair in seen:
            continue
        seen.add(pair)
        market = EngineName.MARKET.value in pair or ProfileName.MARKET.value == pair[1]
        enforced = _dict(row.get("caps_enforced"))
        fallbacks = _dict(row.get("fallbacks"))
        table.append(
            [
                pair[0],
                pair[1],
                "— (baseline, one asset)"
                if market
                else _cap_cell(
                    enforced.get("asset_cap"), row.get("max_asset_gross"), caps.get("asset_cap")
                ),
                "— (baseline, one asset)"
                if market
                else _cap_cell(
                    enforced.get("cluster_cap"),
                    row.get("max_cluster_gross"),
                    caps.get("cluster_cap"),
                ),
                "long (baseline)" if market else "✓ by the tournament",
                ", ".join(f"{k} × {v}" for k, v in sorted(fallbacks.items())) or "none",
            ]
        )
    if not table:
        md.add("No engine produced weights.")
        return
    md.table(["Engine", "Profile", "Asset cap", "Cluster cap", "Directions", "Fallbacks"], table)


_NOT_FITTED = frozenset({"skipped", "not_applicable"})


def render_timeouts(md: Markdown, summary: Mapping[str, Any], results: pd.DataFrame | None) -> None:
    """Per engine: fits tried and fits stopped at ``tournament.peer_budget_seconds``."""
    md.h2("Peer fits within the time budget")
    settings = summary.get("settings") or {}
    budget = settings.get("peer_budget_seconds")
    if results is None or not {"engine", "profile", "window", "status"} <= set(results.columns):
        md.add("`tournament_results.parquet` holds no window rows.")
        return
    fits = results.drop_duplicates(["engine", "profile", "window"])
    fits = fits[~fits["status"].astype(str).isin(_NOT_FITTED)]
    timed_out = fits[fits["status"].astype(str) == "timeout"]
    rows = []
    for engine, group in fits.groupby("engine", sort=True):
        stopped = timed_out[timed_out["engine"] == engine]
        profiles = sorted(str(p) for p in stopped["profile"].unique())
        rows.append([engine, len(group), len(stopped), ", ".join(profiles) or "—"])
    md.table(["Engine", "Fits (profile × window)", "Timed out", "Profiles"], rows, "lrrl")
    if budget is None:
        md.add("No budget (`tournament.peer_budget_seconds: null`): every peer fit ran inline.")
    else:
        md.add(
            f"A peer fit (skfolio, riskfolio, pyportfolioopt, cvxportfolio) that takes more than "
            f"{fmt_float(budget, 1)} s in a window is stopped (its worker process killed) and "
            f"the window recorded as `timeout`; after {settings.get('peer_max_timeouts')} "
            "consecutive timeouts of one engine and profile its later windows are not fitted "
            "(0: every window is tried). Metrics are over the windows that have weights."
        )
