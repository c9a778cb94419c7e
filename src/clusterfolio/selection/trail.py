"""The decision trail of natural selection: audit, merged listings and ``explain``.

A reader must be able to answer "why is X in and Y out?" from the run's artifacts alone:

- ``selection.parquet``: every candidate (one per identity) with its fate and reason;
- ``selected.json``: the settings, clusters and winners (with their alternative listings);
- ``raw_pool.json``: the raw pool's decisions (merged listings, class caps, direction
  conflicts ...), i.e. what happened before natural selection;
- ``winners.json`` (after enrichment): sector, industry and description of the winners.

:func:`explain` reads them and answers in plain text; :func:`audit_markdown` renders the
``selection_audit.md`` report; :func:`absorbed_decisions` gives the decisions about listings that
the raw pool merged into an identity (their fate is the identity's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.artifacts.discovery import RAW_POOL_JSON
from clusterfolio.artifacts.selection import SELECTED_JSON, SELECTION_TABLE
from clusterfolio.artifacts.selection import WINNERS as WINNERS_JSON
from clusterfolio.io import read_json, read_parquet
from clusterfolio.selection.candidates import KEPT_FATES, records
from clusterfolio.selection.execution import EXECUTION_COMPONENTS
from clusterfolio.selection.natural import SelectionResult

__all__ = [
    "SELECTED_JSON",
    "SELECTION_TABLE",
    "absorbed_decisions",
    "alternatives_by_identity",
    "audit_markdown",
    "explain",
]

#: Artifact names read by :func:`explain` (written by the natural selection step).

_KEPT = {str(f) for f in KEPT_FATES}


def _num(value: Any, fmt: str = "+.3f") -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return format(number, fmt) if np.isfinite(number) else "n/a"


def _int(value: Any) -> str:
    return "-" if value is None or pd.isna(value) else str(int(value))


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def alternatives_by_identity(
    pool_doc: Mapping[str, Any],
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Alternative (non-lead) listings of each ``(asset_class, identity)`` of ``raw_pool.json``."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for ident in pool_doc.get("identities", []):
        key = (str(ident.get("asset_class", "")), str(ident.get("identity", "")))
        alts = [dict(a) for a in ident.get("alternatives", []) if not a.get("is_lead", False)]
        out[key] = sorted(alts, key=lambda a: str(a.get("symbol", "")))
    return out


def absorbed_decisions(
    candidates: pd.DataFrame, pool_doc: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """One decision per listing the raw pool merged into an identity.

    Parameters
    ----------
    candidates : pandas.DataFrame
        :attr:`SelectionResult.candidates` (or ``selection.parquet``).
    pool_doc : mapping
        ``raw_pool.json``.

    Returns
    -------
    list of dict
        ``{subject, action: "absorbed", reason, details}`` sorted by listing: the identity and
        lead that absorbed it, and the identity's fate in natural selection.
    """
    fates = {(str(r["asset_class"]), str(r["identity"])): r for r in records(candidates)}
    out = []
    for (klass, identity), alts in sorted(alternatives_by_identity(pool_doc).items()):
        lead = fates.get((klass, identity))
        for alt in alts:
            if lead is None:
                fate, why, lead_symbol = "absent", "the identity is not a candidate", ""
            else:
                fate, why, lead_symbol = str(lead["fate"]), str(lead["reason"]), str(lead["symbol"])
            out.append(
                {
                    "subject": str(alt.get("symbol", "")),
                    "action": "absorbed",
                    "reason": (
                        f"merged by the raw pool into identity {identity} (lead {lead_symbol}); "
                        f"the identity is {fate}: {why}"
                    ),
                    "details": {
                        "identity": identity,
                        "asset_class": klass,
                        "lead": lead_symbol,
                        "identity_fate": fate,
                        "selected": fate in _KEPT,
                    },
                }
            )
    return sorted(out, key=lambda d: str(d["subject"]))


def _settings_lines(summary: Mapping[str, Any]) -> list[str]:
    s = summary.get("settings", {})
    norm = (
        "global percentile ranks (feat_xs_momentum)"
        if s.get("xs_momentum")
        else "z-scores within the cluster"
    )
    return [
        f"- top_n per cluster and direction: {s.get('top_n')}",
        f"- Ward threshold: {s.get('threshold')}",
        f"- min_overlap (shared sessions): {s.get('min_overlap')}",
        f"- momentum gate (window return): {_num(s.get('momentum_gate'), '+.1%')}",
        f"- max_winners (global cap): {s.get('max_winners')}",
        f"- normalisation: {norm}",
        f"- market baseline: {summary.get('baseline')} (always carried)",
    ]


def audit_markdown(
    result: SelectionResult,
    *,
    absorbed: Sequence[Mapping[str, Any]] = (),
    upstream: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The ``selection_audit.md`` report (deterministic text).

    Parameters
    ----------
    result : SelectionResult
        The selection.
    absorbed : sequence of mapping
        :func:`absorbed_decisions`.
    upstream : sequence of mapping
        Raw pool decisions that removed listings before natural selection (class caps,
        direction conflicts, liquidity floor ...).

    Returns
    -------
    str
        Markdown.
    """
    summary = result.summary
    lines = ["# Natural selection audit", ""]
    lines += [
        f"{summary.get('candidates', 0)} candidates over {summary.get('sessions', 0)} sessions; "
        f"{summary.get('clustered', 0)} clustered into {summary.get('clusters', 0)} clusters "
        f"({summary.get('neutral_pairs', 0)} pairs at the neutral correlation); "
        f"{summary.get('selected', 0)} selected plus the baseline.",
        "",
        "## Settings",
        "",
        *_settings_lines(summary),
        "",
        "## Fates",
        "",
        *_table("fate | candidates", "lr", summary.get("fates", {}).items()),
    ]
    lines += _winner_lines(result.winners)
    lines += _candidate_lines(result.candidates)
    lines += _cluster_lines(result.clusters)
    lines += _removed_lines(absorbed, upstream)
    return "\n".join(lines) + "\n"


def _table(head: str, align: str, rows: Iterable[Sequence[Any]]) -> list[str]:
    """A Markdown table: the header (cells joined by ``" | "``), the alignment row (``align``:
    ``l`` or ``r`` per column) and a line per row of cells."""
    marks = {"l": "---", "r": "---:"}
    rule = "|" + "".join(f"{marks[a]}|" for a in align)
    return [f"| {head} |", rule, *(_table_row(r) for r in rows)]


def _table_row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _winner_lines(winners: Sequence[Mapping[str, Any]]) -> list[str]:
    head = "cluster | rank | symbol | identity | class | direction | execution score | alpha"
    rows = [
        (
            _int(w["cluster"]),
            "baseline" if w["baseline"] else _int(w["rank"]),
            w["symbol"],
            w["identity"],
            w["asset_class"],
            w["direction"],
            _num(w["execution_score"]),
            _num(w["alpha_score"]),
        )
        for w in winners
    ]
    return ["", "## Winners", "", *_table(head, "rrllllrr", rows)]


def _candidate_lines(cand: pd.DataFrame) -> list[str]:
    components = " | ".join(EXECUTION_COMPONENTS)
    head = f"cluster | rank | symbol | direction | return | {components} | score | fate | reason"
    align = "rrllr" + "r" * len(EXECUTION_COMPONENTS) + "rll"
    rows = [
        (
            _int(rec["cluster"]),
            _int(rec["rank"]),
            rec["symbol"],
            rec["direction"],
            _num(rec["total_return"], "+.1%"),
            *(_num(rec[c], "+.2f") for c in EXECUTION_COMPONENTS),
            _num(rec["execution_score"]),
            rec["fate"],
            _cell(rec["reason"]),
        )
        for rec in records(cand)
    ]
    return [
        "",
        "## Every candidate",
        "",
        "Components are normalised (see `clusterfolio.selection.execution`); `return` is the "
        "synthetic-long window return.",
        "",
        *_table(head, align, rows),
    ]


def _cluster_lines(clusters: pd.DataFrame) -> list[str]:
    rows = [
        (r["cluster"], r["size"], _num(r["mean_correlation"], ".2f"), r["selected"] or "-")
        for r in records(clusters)
    ]
    return [
        "",
        "## Clusters",
        "",
        *_table("cluster | size | mean correlation | selected", "rrrl", rows),
    ]


def _removed_lines(
    absorbed: Sequence[Mapping[str, Any]], upstream: Sequence[Mapping[str, Any]]
) -> list[str]:
    lines = ["", "## Merged listings", ""]
    if absorbed:
        merged = [_merged_row(d["subject"], d["details"]) for d in absorbed]
        lines += _table("listing | identity | lead | identity's fate", "llll", merged)
    else:
        lines.append("No listing was merged into another.")
    lines += ["", "## Removed before natural selection (raw pool)", ""]
    if upstream:
        removed = [(d["subject"], d["action"], _cell(d["reason"])) for d in upstream]
        lines += _table("subject | action | reason", "lll", removed)
    else:
        lines.append("Nothing.")
    return lines


def _merged_row(listing: str, det: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (listing, det["identity"], det["lead"] or "-", det["identity_fate"])


# ---------------------------------------------------------------------------------- explain


def _load(run_dir: Path, name: str) -> Any | None:
    path = Path(run_dir) / name
    if not path.exists():
        return None
    return read_parquet(path) if name.endswith(".parquet") else read_json(path)


def _match(cand: pd.DataFrame, subject: str) -> pd.DataFrame:
    key = subject.strip().upper()
    symbols = cand["symbol"].astype(str).str.upper()
    hit = cand[symbols == key]
    if hit.empty:
        hit = cand[cand["identity"].astype(str).str.upper() == key]
    if hit.empty:
        tickers = symbols.str.split(":").str[-1]
        hit = cand[tickers == key]
    return hit


def _describe(
    rec: Mapping[str, Any],
    cand: pd.DataFrame,
    alts: Mapping[tuple[str, str], list[dict[str, Any]]],
    enriched: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    fate = str(rec["fate"])
    verdict = "IN" if fate in _KEPT else "OUT"
    lines = [
        f"{rec['symbol']} (identity {rec['identity']}, {rec['asset_class']}, {rec['direction']}): "
        f"{verdict} - {fate}: {rec['reason']}."
    ]
    cluster = rec.get("cluster")
    if cluster is not None and not pd.isna(cluster):
        peers = cand[cand["cluster"] == cluster]
        chosen = [
            f"{r['symbol']} (baseline)" if bool(r["baseline"]) else str(r["symbol"])
            for r in records(peers[peers["selected"].astype(bool)])
        ]
        lines.append(
            f"Cluster {int(cluster)} has {len(peers)} member(s): "
            f"{', '.join(sorted(str(s) for s in peers['symbol']))}; selected there: "
            f"{', '.join(chosen) or 'none'}."
        )
        ranked = peers[peers["rank"].notna() & (peers["direction"] == rec["direction"])]
        if len(ranked) > 1:
            order = ranked.sort_values("rank", kind="mergesort")
            ladder = ", ".join(
                f"{int(r['rank'])}. {r['symbol']} ({_num(r['execution_score'])})"
                for r in records(order)
            )
            lines.append(f"Ranking of its {rec['direction']} candidates: {ladder}.")
    if rec.get("execution_score") is not None and not pd.isna(rec["execution_score"]):
        comps = ", ".join(f"{c} {_num(rec[c], '+.2f')}" for c in EXECUTION_COMPONENTS)
        lines.append(
            f"Execution score {_num(rec['execution_score'])}: weighted sum of the normalised "
            f"components ({comps})."
        )
    held = "synthetic-long " if str(rec["direction"]) == "SHORT" else ""
    lines.append(
        f"Window: {_int(rec['n_obs'])} observations, {held}return "
        f"{_num(rec['total_return'], '+.1%')}, "
        f"volatility {_num(rec['volatility'], '.2%')} per session, max drawdown "
        f"{_num(rec['max_drawdown'], '.1%')}."
    )
    listed = alts.get((str(rec["asset_class"]), str(rec["identity"])), [])
    if listed:
        lines.append(
            "Alternative listings merged into this identity: "
            + ", ".join(str(a.get("symbol")) for a in listed)
            + "."
        )
    info = enriched.get(str(rec["symbol"]))
    if info is not None:
        lines.append(
            f"Enrichment ({info.get('enrichment_source')}): sector {info.get('sector')}, "
            f"industry {info.get('industry')}; {info.get('description')}."
        )
    return lines


def _mentions(decision: Mapping[str, Any], key: str) -> bool:
    """Whether a raw pool decision is about ``key`` (its subject, lead or symbol)."""
    details = decision.get("details") or {}
    names = [str(decision.get("subject", ""))]
    names += [str(details[k]) for k in ("lead", "symbol") if details.get(k)]
    wanted = {key, key.split(":")[-1]}
    return any(n.upper() in wanted or n.upper().split(":")[-1] == key for n in names)


def explain(symbol_or_identity: str, run_dir: Path) -> str:
    """Explain, from a run's artifacts, why a listing or identity is in or out.

    Parameters
    ----------
    symbol_or_identity : str
        A symbol (``NASDAQ:AAPL``), a ticker (``AAPL``) or an identity (``BTC``); case is
        ignored. A listing merged into an identity is explained through its identity.
    run_dir : Path
        The run directory (``selection.parquet`` is required; ``raw_pool.json``,
        ``winners.json`` are used when present).

    Returns
    -------
    str
        A few lines of plain text.

    Raises
    ------
    FileNotFoundError
        When the run has no ``selection.parquet`` (natural selection did not run).
    """
    run_dir = Path(run_dir)
    table = _load(run_dir, SELECTION_TABLE)
    if table is None:
        raise FileNotFoundError(run_dir / SELECTION_TABLE)
    cand: pd.DataFrame = table
    pool_doc = _load(run_dir, RAW_POOL_JSON) or {}
    winners_doc = _load(run_dir, WINNERS_JSON) or {}
    enriched = {str(w["symbol"]): w for w in winners_doc.get("winners", [])}
    alts = alternatives_by_identity(pool_doc)
    subject = symbol_or_identity.strip()
    hit = _match(cand, subject)
    if not hit.empty:
        out: list[str] = []
        for rec in records(hit):
            out += _describe(rec, cand, alts, enriched)
        return "\n".join(out)
    key = subject.upper()
    for (klass, identity), listed in sorted(alts.items()):
        for alt in listed:
            symbol = str(alt.get("symbol", ""))
            if key in (symbol.upper(), symbol.upper().split(":")[-1]):
                lead = cand[(cand["asset_class"] == klass) & (cand["identity"] == identity)]
                head = (
                    f"{symbol} is an alternative listing of identity {identity} ({klass}), "
                    "merged by the raw pool (one listing per identity); the identity's lead:"
                )
                if lead.empty:
                    return f"{head} not among the candidates."
                return "\n".join(
                    [head, *_describe(records(lead.iloc[:1])[0], cand, alts, enriched)]
                )
    upstream = [d for d in pool_doc.get("decisions", []) if _mentions(d, key)]
    if upstream:
        notes = "; ".join(f"{d['action']}: {d['reason']}" for d in upstream)
        return f"{subject} never reached natural selection: {notes}."
    return (
        f"{subject} is not in the raw pool: no scanner found it, or it was dropped before "
        "aggregation (see the discovery exports)."
    )
