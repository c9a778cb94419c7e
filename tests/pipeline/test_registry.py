"""The step registry's build-time check and the ledger's hashes of external inputs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from clusterfolio.enums import StepName
from clusterfolio.errors import PipelineError
from clusterfolio.io import atomic_write_json, read_json
from clusterfolio.manifest import ResolvedManifest, Settings
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.registry import External, Step, StepRegistry
from clusterfolio.pipeline.runner import Orchestrator
from clusterfolio.pipeline.steps import build_registry


def _noop(ctx: RunContext) -> None:
    """A step that does nothing."""


def _registry(*steps: Step) -> StepRegistry:
    registry = StepRegistry()
    for step in steps:
        registry.register(step)
    return registry


def test_the_pipeline_declares_a_source_for_every_input() -> None:
    registry = build_registry()  # runs the check
    for step in registry.steps():
        assert External.MANIFEST in step.external_reads, step.name
        assert step.uses_data == (External.LAKEHOUSE in step.external_reads), step.name
    assert External.SCANNERS in registry.get("discovery").external_reads
    for name in ("optimization", "reporting"):
        assert External.ACCEPTED_STATE in registry.get(name).external_reads


def test_a_read_no_earlier_step_writes_is_refused() -> None:
    registry = _registry(
        Step(StepName.CLEANUP, (), ("a.json",), _noop),
        Step(StepName.DISCOVERY, ("b.json",), ("c.json",), _noop),
        Step(StepName.AGGREGATION, (), ("b.json",), _noop),
    )
    with pytest.raises(PipelineError, match=r"step discovery reads 'b.json'"):
        registry.check()


def test_folders_own_their_files_and_optional_reads_have_a_source() -> None:
    ok = _registry(
        Step(StepName.CLEANUP, (), ("scans/",), _noop),
        Step(
            StepName.DISCOVERY,
            ("scans/x.json",),
            ("b.json",),
            _noop,
            optional_reads=("audit.json",),
        ),
    )
    ok.check()  # a file of a written folder, an artifact of ``make audit``
    bad = _registry(
        Step(StepName.CLEANUP, (), ("a.json",), _noop, optional_reads=("nowhere.json",)),
    )
    with pytest.raises(PipelineError, match=r"may read 'nowhere.json'"):
        bad.check()


@pytest.mark.parametrize(
    ("step", "external"),
    [
        (Step(StepName.CLEANUP, (), ("a.json",), _noop, uses_data=True), "LAKEHOUSE"),
        (Step(StepName.CLEANUP, (), ("a.json",), _noop, ("selection",)), "MANIFEST"),
    ],
)
def test_an_undeclared_external_input_is_refused(step: Step, external: str) -> None:
    with pytest.raises(PipelineError, match=f"External.{external}"):
        _registry(step).check()


def _write(ctx: RunContext) -> None:
    atomic_write_json(ctx.artifact("a.json"), {"top_n": ctx.settings.selection.top_n})


def _orchestrator(root: Path) -> Orchestrator:
    externals = (External.ACCEPTED_STATE, External.MANIFEST, External.LAKEHOUSE)
    step = Step(
        StepName.CLEANUP, (), ("a.json",), _write, ("selection",), True, external_reads=externals
    )
    return Orchestrator(
        _registry(step),
        ResolvedManifest(profile="test", settings=Settings()),
        project_root=root,
        as_of=date(2026, 11, 20),
        provider_factory=lambda ctx: (_ for _ in ()).throw(AssertionError("no provider")),
    )


def test_the_ledger_hashes_every_external_input(tmp_path: Path) -> None:
    orchestrator = _orchestrator(tmp_path)
    (step,) = orchestrator.registry.steps()
    ledger = orchestrator.run()
    inputs = ledger.steps["cleanup"].inputs
    assert set(inputs) == {"@accepted_state", "@manifest", "@lakehouse"}
    assert inputs["@accepted_state"] == inputs["@lakehouse"] == "absent"
    before, _ = orchestrator.inputs.input_hash(step, tmp_path)

    lake = orchestrator.inputs.external_path(External.LAKEHOUSE)
    atomic_write_json(lake, {"listings": {}})
    after, reads = orchestrator.inputs.input_hash(step, tmp_path)
    assert reads["@lakehouse"] != "absent" and after == before  # recorded, not compared

    atomic_write_json(orchestrator.inputs.external_path(External.ACCEPTED_STATE), {"weights": {}})
    changed, _ = orchestrator.inputs.input_hash(step, tmp_path)
    assert changed != before
    saved = read_json(tmp_path / "data" / "runs" / ledger.run_id / "run_manifest.json")
    assert saved["steps"]["cleanup"]["inputs"]["@manifest"] == inputs["@manifest"]
