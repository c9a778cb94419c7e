"""The registered steps of the Golden Path (only steps that work for real are registered)."""

from __future__ import annotations

from clusterfolio.pipeline.registry import StepRegistry


def build_registry() -> StepRegistry:
    """Return a registry holding every implemented step, in the Golden Path order."""
    from clusterfolio.pipeline.steps import cleanup, discovery, health, prep, risk

    registry = StepRegistry()
    steps = (
        cleanup.STEP,
        discovery.DISCOVERY,
        discovery.AGGREGATION,
        prep.LIGHT,
        prep.DEEP,
        health.STEP,
        risk.FACTOR_ANALYSIS,
        risk.REGIME_DETECTION,
    )
    for step in steps:
        registry.register(step)
    return registry
