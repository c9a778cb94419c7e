"""Fault: staged commands mutate a run. Experiments derive a run; what changed makes steps stale."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from faultkit import fingerprint

from clusterfolio.enums import StepName, StepStatus
from clusterfolio.errors import PipelineError
from clusterfolio.io import atomic_write_json, read_json
from clusterfolio.manifest import ResolvedManifest, Settings
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.ledger import RunLedger, check_run_usable
from clusterfolio.pipeline.registry import External, Step, StepRegistry
from clusterfolio.pipeline.runner import Orchestrator
from clusterfolio.pipeline.steps import build_registry

CALLS: list[str] = []


def _first(ctx: RunContext) -> None:
    CALLS.append("cleanup")
    state = ctx.lakehouse_root / "portfolio_actual_state.json"
    held = read_json(state)["run_id"] if state.exists() else None
    atomic_write_json(ctx.artifact("a.json"), {"top_n": ctx.settings.selection.top_n, "held": held})


def _second(ctx: RunContext) -> None:
    CALLS.append("discovery")
    atomic_write_json(ctx.artifact("b.json"), read_json(ctx.artifact("a.json")))


def toy(root: Path, top_n: int = 3) -> Orchestrator:
    """Two steps; the first reads the accepted state (declared) and ``selection.top_n``."""
    registry = StepRegistry()
    registry.register(
        Step(
            StepName.CLEANUP,
            (),
            ("a.json",),
            _first,
            ("selection",),
            external_reads=(External.ACCEPTED_STATE,),
        )
    )
    registry.register(Step(StepName.DISCOVERY, ("a.json",), ("b.json",), _second))
    settings = Settings()
    settings.selection.top_n = top_n
    return Orchestrator(
        registry,
        ResolvedManifest(profile="test", settings=settings, overrides=[f"selection.top_n={top_n}"]),
        project_root=root,
        as_of=date(2026, 11, 20),
        provider_factory=lambda ctx: (_ for _ in ()).throw(AssertionError("no provider")),
    )


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()


def test_an_experiment_goes_into_a_derived_run_and_never_touches_production(
    tmp_path: Path,
) -> None:
    production = toy(tmp_path).run()
    runs = tmp_path / "data" / "runs"
    before = fingerprint(runs / production.run_id)
    staged = toy(tmp_path, top_n=2)
    derived = staged.run(resume="latest", only="cleanup")  # make select TOP_N=2
    assert derived.run_id == f"{production.run_id}+top_n-2"
    assert derived.derived_from == production.run_id
    assert staged.notices[0] == (
        f"other settings than run {production.run_id}: working in the derived run "
        f"{derived.run_id} (created)"
    )
    assert derived.status is StepStatus.STALE and derived.stale_steps == ["discovery"]
    assert fingerprint(runs / production.run_id) == before
    assert (runs / "latest").resolve() == runs / production.run_id
    with pytest.raises(PipelineError, match=r"refusing to accept run .*\+top_n-2: it is stale"):
        check_run_usable(runs / derived.run_id, "accept")
    again = toy(tmp_path, top_n=2).run(resume="latest", only="discovery")  # same experiment
    assert again.run_id == derived.run_id and again.status is StepStatus.COMPLETED
    assert read_json(runs / derived.run_id / "b.json")["top_n"] == 2
    assert (runs / "latest").resolve() == runs / production.run_id  # never an experiment
    assert fingerprint(runs / production.run_id) == before


def test_a_staged_command_that_changes_an_input_marks_downstream_stale(tmp_path: Path) -> None:
    first = toy(tmp_path).run()
    runs = tmp_path / "data" / "runs"
    state = tmp_path / "data" / "lakehouse" / "portfolio_actual_state.json"
    atomic_write_json(state, {"run_id": "accepted-run"})  # accept-state happened meanwhile
    staged = toy(tmp_path)
    ledger = staged.run(resume="latest", only="cleanup")
    assert ledger.run_id == first.run_id and ledger.stale_steps == ["discovery"]
    assert not (runs / "latest").exists()  # latest only names a complete run
    assert any("is stale: ['discovery']" in n for n in staged.notices)
    with pytest.raises(PipelineError, match="it is stale"):
        check_run_usable(runs / first.run_id, "publish")
    CALLS.clear()
    assert toy(tmp_path).run(resume=first.run_id).status is StepStatus.COMPLETED
    assert CALLS == ["discovery"]
    assert (runs / "latest").resolve() == runs / first.run_id


def test_a_resume_after_accept_state_reruns_what_read_the_accepted_state(tmp_path: Path) -> None:
    first = toy(tmp_path).run()
    CALLS.clear()
    toy(tmp_path).run(resume="latest")
    assert CALLS == []  # nothing changed
    state = tmp_path / "data" / "lakehouse" / "portfolio_actual_state.json"
    atomic_write_json(state, {"run_id": first.run_id})
    ledger = toy(tmp_path).run(resume="latest")
    assert CALLS == ["cleanup", "discovery"]
    assert "@accepted_state" in ledger.steps["cleanup"].inputs
    assert RunLedger.load(tmp_path / "data" / "runs" / first.run_id).status is StepStatus.COMPLETED


def test_the_steps_that_read_the_accepted_state_declare_it() -> None:
    registry = build_registry()
    for name in ("optimization", "reporting"):
        assert External.ACCEPTED_STATE in registry.get(name).external_reads
