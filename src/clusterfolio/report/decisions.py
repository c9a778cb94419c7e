"""``decision_audit.md``: the Decision Audit Log rendered from the decision trail.

Every decision the steps recorded (``decisions/NN_<step>.jsonl``, concatenated into
``decision_log.jsonl``) is shown, grouped by step in the Golden Path order: discovery, canonical
merging, natural selection, enrichment, repairs and exclusions, risk buckets, regime,
optimisation. Fallbacks (any action containing ``fallback``) are listed first under their own
heading and highlighted again where they happened, together with the step's warnings from the
ledger. Long detail values are shortened in the Markdown (``…``); the JSON lines keep them whole.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from clusterfolio.enums import StepName
from clusterfolio.report.artifacts import DECISION_LOG, SELECTION_AUDIT, RunArtifacts
from clusterfolio.report.config import ReportConfig
from clusterfolio.report.markdown import Markdown

__all__ = ["STEP_TITLES", "is_fallback", "render_decision_audit"]

STEP_TITLES: dict[str, str] = {
    StepName.CLEANUP.value: "Cleanup",
    StepName.DISCOVERY.value: "Discovery",
    StepName.AGGREGATION.value: "Aggregation and canonical merging",
    StepName.LIGHT_PREP.value: "Light pass",
    StepName.NATURAL_SELECTION.value: "Natural selection",
    StepName.ENRICHMENT.value: "Enrichment",
    StepName.DEEP_PREP.value: "Deep pass",
    StepName.HEALTH_AUDIT.value: "Health audit, repair and exclusions",
    StepName.FACTOR_ANALYSIS.value: "Factor analysis (risk buckets)",
    StepName.REGIME_DETECTION.value: "Regime detection",
    StepName.OPTIMIZATION.value: "Optimisation",
    StepName.VALIDATION.value: "Validation (tournament)",
    StepName.REPORTING.value: "Reporting",
}
_DETAIL_CHARS = 160


def is_fallback(decision: dict[str, Any]) -> bool:
    """Whether a decision records a fallback (its action contains ``fallback``)."""
    return "fallback" in str(decision.get("action", "")).lower()


def _details(details: Any) -> str:
    if not details:
        return ""
    if not isinstance(details, dict):
        text = str(details)
    else:
        parts = []
        for key in sorted(details):
            value = details[key]
            shown = (
                value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
            )
            parts.append(f"{key}={shown}")
        text = "; ".join(parts)
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"


def _step_order(steps: list[str]) -> list[str]:
    known = [s.value for s in StepName if s.value in steps]
    return known + sorted(s for s in steps if s not in known)


def _summary_section(
    md: Markdown,
    steps: list[str],
    by_step: dict[str, list[dict[str, Any]]],
    records: dict[str, Any],
) -> None:
    """One row per step: status, decisions, fallbacks, warnings."""
    md.h2("Summary")
    rows = []
    for step in steps:
        items = by_step.get(step, [])
        record = records.get(step) or {}
        rows.append(
            [
                STEP_TITLES.get(step, step),
                record.get("status", "n/a"),
                len(items),
                sum(1 for d in items if is_fallback(d)),
                len(record.get("warnings") or []),
            ]
        )
    md.table(["Step", "Status", "Decisions", "Fallbacks", "Warnings"], rows, "llrrr")


def _fallbacks_section(md: Markdown, decisions: list[dict[str, Any]]) -> None:
    """Every fallback of the run, step by step."""
    fallbacks = [d for d in decisions if is_fallback(d)]
    md.h2(f"Fallbacks ({len(fallbacks)})")
    if fallbacks:
        md.add(
            "\n".join(
                f"> ⚠ **{STEP_TITLES.get(str(d.get('step')), d.get('step'))}** · `{d.get('subject')}`: "
                f"{d.get('reason')}"
                for d in fallbacks
            )
        )
    else:
        md.add("No fallback was taken in this run.")


def _step_section(
    md: Markdown, step: str, items: list[dict[str, Any]], record: dict[str, Any]
) -> None:
    """One step: its actions, warnings and decisions."""
    md.h2(STEP_TITLES.get(step, step))
    counts = Counter(str(d.get("action", "")) for d in items)
    if counts:
        md.add("Actions: " + ", ".join(f"{action} × {n}" for action, n in sorted(counts.items())))
    else:
        md.add("No decision recorded.")
    warnings = list(record.get("warnings") or [])
    if warnings:
        md.add("\n".join(f"> ⚠ warning: {w}" for w in warnings))
    if items:
        md.table(
            ["Subject", "Action", "Reason", "Details"],
            [
                [
                    d.get("subject", ""),
                    f"⚠ {d.get('action')}" if is_fallback(d) else d.get("action", ""),
                    d.get("reason", ""),
                    _details(d.get("details")),
                ]
                for d in items
            ],
        )


def render_decision_audit(arts: RunArtifacts, config: ReportConfig) -> str:
    """Render ``decision_audit.md``.

    Parameters
    ----------
    arts : RunArtifacts
        The run; its decisions and ledger are read (the reporting step's own are excluded).
    config : ReportConfig
        Run identity.

    Returns
    -------
    str
        The Markdown document.
    """
    decisions = arts.decisions(exclude_steps=(StepName.REPORTING.value,))
    ledger = arts.ledger() or {}
    records = ledger.get("steps") or {}
    md = Markdown()
    md.h1(f"Decision Audit Log: {config.as_of or ledger.get('as_of', '')}")
    if config.run_id:
        md.add(f"Run `{config.run_id}`: every recorded decision, grouped by step.")
    if not decisions:
        md.missing(DECISION_LOG, "no decision was recorded")
    if arts.exists(SELECTION_AUDIT):
        md.add(
            f"Why each candidate was selected or rejected: [`{SELECTION_AUDIT}`]({SELECTION_AUDIT})."
        )
    else:
        md.missing(SELECTION_AUDIT, "natural selection has not run for this run")
    by_step: dict[str, list[dict[str, Any]]] = {}
    for d in decisions:
        by_step.setdefault(str(d.get("step", "")), []).append(d)
    steps = _step_order(
        sorted(set(by_step) | {s for s in records if s != StepName.REPORTING.value})
    )
    _summary_section(md, steps, by_step, records)
    _fallbacks_section(md, decisions)
    for step in steps:
        _step_section(md, step, by_step.get(step, []), records.get(step) or {})
    return md.render()
