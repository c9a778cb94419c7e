"""Step 13: reporting (``make report``).

Renders every report of the run (:func:`clusterfolio.report.build.build_reports`) into the run
directory, then replaces ``summaries/`` (``run.summaries_dir`` under the project root, outside the
run directory) atomically with the golden artifacts (:mod:`clusterfolio.report.summaries`).

Reads: the optimised portfolio, the risk buckets, the regime, the health audit and the audited
returns (required), and every other artifact the reports show when it exists (selection,
tournament, audit). Publishing to the Gist is not part of the step (``clusterfolio publish``,
``make gist``): a step never talks to the network.

The reports carry no wall-clock time: the same inputs give byte-identical reports. The decision
trail is read from ``decisions/`` (the reporting step's own decisions excluded); it is not
declared as an input because it changes at the end of every run: the step reruns whenever an
earlier step ran (``reads_trail``). When a rerun reuses it, ``summaries/`` is refreshed from the
run's golden artifacts (``on_reuse``).
"""

from __future__ import annotations

from clusterfolio.enums import StepName
from clusterfolio.errors import AuditError
from clusterfolio.io import read_json
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.registry import External, Step
from clusterfolio.report import artifacts as A
from clusterfolio.report.build import ALWAYS_WRITTEN

__all__ = ["STEP", "run"]

REQUIRED: tuple[str, ...] = (
    A.PORTFOLIO,
    A.CLUSTERS,
    A.CLUSTERMAP,
    A.ANTIFRAGILITY,
    A.REGIME,
    A.REGIME_SERIES,
    A.HEALTH_JSON,
    A.HEALTH_MD,
    A.RETURNS,
)
OPTIONAL: tuple[str, ...] = (
    A.UNIVERSE,
    A.RAW_POOL,
    A.RAW_POOL_JSON,
    A.SCREENER,
    A.WINNERS,
    A.SELECTION_AUDIT,
    A.TOURNAMENT_RESULTS,
    A.TOURNAMENT_SUMMARY,
    A.TOURNAMENT_RETURNS,
    A.SLIPPAGE_DECAY,
    A.AUDIT_JSON,
    A.AUDIT_MD,
    A.DRIFT_JSON,
    A.DRIFT_MD,
    A.ORDERS_CSV,
)


def run(ctx: RunContext) -> None:
    """Audit the portfolio, measure drift, render the reports, copy the golden artifacts.

    The audit gate runs first (``audit.json``, ``audit.md``) and the drift against the accepted
    state next (``drift.json``, ``drift.md``; ``orders.csv`` only for a passing audit), so the
    reports show the verdict. A failed audit fails the step after the reports are written: the
    run is never marked complete, ``latest`` does not move to it, and it cannot be published or
    accepted.
    """
    from clusterfolio.audit.gate import audit_run, drift_run, load_run_inputs
    from clusterfolio.report.build import build_reports
    from clusterfolio.report.config import ReportConfig
    from clusterfolio.report.summaries import sync_summaries

    config = ReportConfig.from_settings(
        ctx.settings,
        run_id=ctx.run_id,
        as_of=ctx.as_of.isoformat(),
        manifest_profile=ctx.manifest.profile,
    )
    inputs = load_run_inputs(ctx.run_dir, fallback=ctx.settings)
    audit = audit_run(inputs)
    drift_run(inputs, lakehouse_root=ctx.lakehouse_root)  # reuses the audit.json just written
    ctx.recorder.decide(
        "portfolio",
        "audit_passed" if audit.passed else "audit_failed",
        audit.failure_summary() if not audit.passed else "every check passed",
    )
    build = build_reports(ctx.run_dir, config)
    summaries = ctx.resolve_path(ctx.settings.run.summaries_dir)
    copied = sync_summaries(ctx.run_dir, build.golden, summaries)
    absent = [a for a in build.absent if a not in build.golden]
    ctx.recorder.decide(
        "summaries",
        "published",
        f"{len(copied)} golden artifacts copied to {ctx.settings.run.summaries_dir}/",
        files=copied,
    )
    if absent:
        ctx.recorder.decide(
            "golden artifacts",
            "absent",
            f"not available in this run: {', '.join(absent)}",
            files=absent,
        )
    for name in build.removed:
        ctx.recorder.decide(name, "removed", "stale report of an earlier rendering")
    if not audit.passed:
        raise AuditError(f"audit failed: {audit.failure_summary()}")
    ctx.recorder.counts.update(
        {
            "reports": len(build.written),
            "golden": len(build.golden),
            "golden_absent": len(absent),
            "inputs_missing": len(build.missing_inputs),
        }
    )


def republish(ctx: RunContext) -> None:
    """A rerun reused the step: copy the run's golden artifacts to ``summaries/`` again (another
    run may have replaced them since; the list is the run's ``ESSENTIAL.json``)."""
    from clusterfolio.report.build import ESSENTIAL
    from clusterfolio.report.summaries import sync_summaries

    files = read_json(ctx.artifact(ESSENTIAL)).get("files", [])
    sync_summaries(ctx.run_dir, files, ctx.resolve_path(ctx.settings.run.summaries_dir))


STEP = Step(
    name=StepName.REPORTING,
    reads=REQUIRED,
    optional_reads=OPTIONAL,
    writes=ALWAYS_WRITTEN,
    external_reads=(
        External.ACCEPTED_STATE,
        External.MANIFEST,
    ),  # the drift against the implemented portfolio
    run=run,
    config_sections=("risk", "backtest", "tournament", "features", "run"),
    description="Reports, tear sheets, pictures; golden artifacts copied to summaries/.",
    reads_trail=True,
    on_reuse=republish,
)
