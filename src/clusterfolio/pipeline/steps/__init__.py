"""The registered steps of the Golden Path (only steps that work for real are registered)."""

from __future__ import annotations

from clusterfolio.pipeline.registry import StepRegistry


def build_registry(*, recover: bool = False) -> StepRegistry:
    """Return a registry holding every implemented step, in the Golden Path order.

    With ``recover`` the health audit asks the provider again for every gap (``make recover``).
    """
    import dataclasses

    from clusterfolio.pipeline.steps import (
        cleanup,
        discovery,
        health,
        optimization,
        prep,
        reporting,
        risk,
        selection,
        validation,
    )

    registry = StepRegistry()
    steps = (
        cleanup.STEP,
        discovery.DISCOVERY,
        discovery.AGGREGATION,
        prep.LIGHT,
        selection.SELECTION,
        selection.ENRICHMENT,
        prep.DEEP,
        dataclasses.replace(health.STEP, run=health.recover_step) if recover else health.STEP,
        risk.FACTOR_ANALYSIS,
        risk.REGIME_DETECTION,
        optimization.STEP,
        validation.STEP,
        reporting.STEP,
    )
    for step in steps:
        registry.register(step)
    registry.check()
    return registry
