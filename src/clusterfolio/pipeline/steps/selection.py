"""Steps 5 and 6: natural selection on the light pass, and enrichment of the winners.

Natural selection reads the raw pool (``raw_pool.parquet`` and its alternatives in
``raw_pool.json``), the light-pass returns and the screener table, runs
:func:`~clusterfolio.selection.natural.natural_selection` (rules in that module), and writes:

- ``selection.parquet``: every candidate with its cluster, statistics, components, execution
  score, rank, fate and reason;
- ``selected.json``: the settings, summary, clusters and winners (each with its alternative
  listings), the enrichment step's input;
- ``antifragility_light.parquet``: the antifragility statistics of every candidate's
  synthetic-long light-pass returns (index ``symbol``), for the risk steps;
- ``selection_audit.md``: the decision trail for people.

Every candidate's fate, every merged listing's fate (through its identity) and the clustering
summary are recorded as decisions (the orchestrator writes them to ``decision_log.jsonl``).

Enrichment reads ``selected.json``, asks the provider for each winner's metadata, fills the
documented fallbacks (:mod:`clusterfolio.selection.enrichment`), records each fallback, and
writes ``winners.json`` (``{"winners": [...]}``), which the deep pass reads.

Artifacts depend only on the inputs (no timestamps, no run id): identical inputs give
byte-identical files.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from clusterfolio.artifacts.discovery import RAW_POOL, RAW_POOL_JSON, SCREENER
from clusterfolio.artifacts.matrices import LIGHT_RETURNS
from clusterfolio.artifacts.selection import (
    ANTIFRAGILITY_LIGHT,
    SELECTION_AUDIT,
    WINNERS,
    write_winners,
)
from clusterfolio.enums import StepName
from clusterfolio.errors import SchemaError
from clusterfolio.io import (
    atomic_write_json,
    atomic_write_parquet,
    atomic_write_text,
    read_json,
    read_parquet,
)
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.registry import External, Step
from clusterfolio.selection.trail import SELECTED_JSON, SELECTION_TABLE

#: Keys of each entry of ``winners.json``.
WINNER_KEYS: tuple[str, ...] = (
    "symbol",
    "identity",
    "asset_class",
    "direction",
    "cluster",
    "execution_score",
    "rank",
    "baseline",
    "sector",
    "industry",
    "description",
    "enrichment_source",
    "alternatives",
    "reason",
)

#: Raw pool actions that are not removals (shown elsewhere in the audit).
_POOL_KEPT_ACTIONS = frozenset({"lead", "merged", "duplicate_hit"})


def _screener(ctx: RunContext) -> pd.DataFrame:
    frame = read_parquet(ctx.artifact(SCREENER))
    if frame.index.name != "symbol":
        if "symbol" not in frame.columns:
            raise SchemaError(f"{ctx.artifact(SCREENER)}: no 'symbol' index or column")
        frame = frame.set_index("symbol")
    frame.index = frame.index.astype(str)
    return frame


def _selected_doc(result: Any, winners: list[dict[str, Any]]) -> dict[str, Any]:
    """``selected.json``: the summary, the clusters with their members, the winners."""
    return {
        "summary": result.summary,
        "clusters": [
            {
                "cluster": int(r["cluster"]),
                "size": int(r["size"]),
                "members": str(r["members"]).split(",") if r["members"] else [],
                "selected": str(r["selected"]).split(",") if r["selected"] else [],
                "mean_correlation": (
                    None if pd.isna(r["mean_correlation"]) else float(r["mean_correlation"])
                ),
            }
            for r in result.clusters.to_dict(orient="records")
        ],
        "winners": winners,
    }


def _record_summary(ctx: RunContext, result: Any, *, n_absorbed: int) -> None:
    """Warn when the baseline could not be clustered; the selection's counts."""
    baseline = ctx.settings.backtest.baseline
    base_row = result.candidates[result.candidates["symbol"] == baseline]
    if base_row.empty or pd.isna(base_row["cluster"].iloc[0]):
        ctx.recorder.warn(
            f"market baseline {baseline} has too little light-pass history to be clustered; "
            "carried anyway"
        )
    summary = result.summary
    counts: dict[str, int | float] = {
        "candidates": int(summary["candidates"]),
        "clusters": int(summary["clusters"]),
        "selected": int(summary["selected"]),
        "winners": int(summary["winners"]),
        "neutral_pairs": int(summary["neutral_pairs"]),
        "absorbed_listings": n_absorbed,
    }
    for fate, n in summary["fates"].items():
        counts[f"fate_{fate}"] = int(n)
    ctx.recorder.counts.update(counts)


def run_selection(ctx: RunContext) -> None:
    """Natural selection on the light pass (writes the four selection artifacts)."""
    from clusterfolio.selection.natural import natural_selection
    from clusterfolio.selection.trail import (
        absorbed_decisions,
        alternatives_by_identity,
        audit_markdown,
    )

    settings = ctx.settings
    pool = read_parquet(ctx.artifact(RAW_POOL))
    pool_doc = read_json(ctx.artifact(RAW_POOL_JSON))
    returns = read_parquet(ctx.artifact(LIGHT_RETURNS))
    result = natural_selection(
        pool,
        returns,
        _screener(ctx),
        settings=settings.selection,
        xs_momentum=settings.features.feat_xs_momentum,
        baseline=settings.backtest.baseline,
        weights=settings.scoring.execution,
    )
    alternatives = alternatives_by_identity(pool_doc)
    winners: list[dict[str, Any]] = []
    for winner in result.winners:
        key = (str(winner["asset_class"]), str(winner["identity"]))
        winners.append({**winner, "alternatives": alternatives.get(key, [])})
    absorbed = absorbed_decisions(result.candidates, pool_doc)
    upstream = [
        d for d in pool_doc.get("decisions", []) if str(d.get("action")) not in _POOL_KEPT_ACTIONS
    ]

    atomic_write_parquet(ctx.artifact(SELECTION_TABLE), result.candidates, index=False)
    atomic_write_parquet(ctx.artifact(ANTIFRAGILITY_LIGHT), result.antifragility)
    atomic_write_json(ctx.artifact(SELECTED_JSON), _selected_doc(result, winners))
    atomic_write_text(
        ctx.artifact(SELECTION_AUDIT),
        audit_markdown(result, absorbed=absorbed, upstream=upstream),
    )

    for decision in [*result.decisions, *absorbed]:
        ctx.recorder.decide(
            str(decision["subject"]),
            str(decision["action"]),
            str(decision["reason"]),
            **dict(decision.get("details") or {}),
        )
    _record_summary(ctx, result, n_absorbed=len(absorbed))


def run_enrichment(ctx: RunContext) -> None:
    """Sector, industry and description of every winner (writes ``winners.json``)."""
    from clusterfolio.selection.enrichment import enrich_winners

    selected = read_json(ctx.artifact(SELECTED_JSON))
    result = enrich_winners(selected["winners"], ctx.provider.metadata)
    for fb in result.fallbacks:
        fields = ", ".join(fb["fields"])
        why = f"provider error {fb['error']}" if fb["error"] else "provider left them empty"
        ctx.recorder.decide(
            str(fb["symbol"]),
            "enrichment_fallback",
            f"enrichment fallback: {fields} from the {fb['asset_class']} defaults ({why})",
            fields=list(fb["fields"]),
            source=str(fb["source"]),
            values=dict(fb["values"]),
            error=str(fb["error"]),
        )
    if result.fallbacks:
        ctx.recorder.warn(
            f"enrichment fallback for {len(result.fallbacks)} of {len(result.winners)} "
            "winners (one decision each in the decision log)"
        )
    winners = [{key: w.get(key) for key in WINNER_KEYS} for w in result.winners]
    write_winners(ctx.artifact(WINNERS), winners)
    sources: dict[str, int] = {}
    for w in result.winners:
        sources[str(w["enrichment_source"])] = sources.get(str(w["enrichment_source"]), 0) + 1
    ctx.recorder.counts.update(
        {"winners": len(winners), **{f"source_{k}": v for k, v in sorted(sources.items())}}
    )


SELECTION = Step(
    name=StepName.NATURAL_SELECTION,
    reads=(RAW_POOL, RAW_POOL_JSON, LIGHT_RETURNS, SCREENER),
    writes=(SELECTION_TABLE, SELECTED_JSON, ANTIFRAGILITY_LIGHT, SELECTION_AUDIT),
    external_reads=(External.MANIFEST,),
    run=run_selection,
    config_sections=("selection", "scoring", "features", "backtest"),
    uses_data=False,
    description="Natural selection: Ward clusters of the light pass, top N per cluster "
    "and direction by Execution Intelligence, baseline carried.",
)

ENRICHMENT = Step(
    name=StepName.ENRICHMENT,
    reads=(SELECTED_JSON,),
    writes=(WINNERS,),
    external_reads=(External.MANIFEST, External.LAKEHOUSE),
    run=run_enrichment,
    config_sections=("data",),
    uses_data=True,
    description="Sector, industry and description of the winners (recorded fallbacks).",
)
