"""The step registry: name, artifacts read, artifacts written, ``run(ctx)``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from clusterfolio.enums import StepName
from clusterfolio.errors import PipelineError
from clusterfolio.pipeline.context import RunContext

StepFn = Callable[[RunContext], None]


class External(StrEnum):
    """Inputs a step reads from outside its run folder (hashed into its inputs as ``@name``)."""

    ACCEPTED_STATE = "accepted_state"
    """``<lakehouse>/portfolio_actual_state.json``: the last implemented portfolio."""


#: The Golden Path order.
STEP_ORDER: tuple[StepName, ...] = tuple(StepName)


@dataclass(frozen=True)
class Step:
    """A pipeline step.

    Parameters
    ----------
    name : StepName
        One of the 13 names.
    reads : tuple of str
        Artifacts (paths relative to the run directory) whose hashes are the step's inputs.
    writes : tuple of str
        Artifacts the step writes (atomically); hashed into the ledger.
    run : callable
        ``run(ctx)``; records counts, warnings and decisions on ``ctx.recorder``.
    config_sections : tuple of str
        Settings sections whose values are inputs too (a change reruns the step).
    uses_data : bool
        Whether the step reads the lakehouse or the provider (the as-of date is then an input).
    description : str
        One line for ``--help`` and the README.
    optional_reads : tuple of str
        Artifacts read when present (hashed when present).
    external_reads : tuple of External
        Inputs outside the run folder (the accepted state ...): hashed like artifacts, so a
        resume reruns the step when they changed.
    """

    name: StepName
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    run: StepFn
    config_sections: tuple[str, ...] = ()
    uses_data: bool = False
    description: str = ""
    optional_reads: tuple[str, ...] = field(default=())
    external_reads: tuple[External, ...] = field(default=())


class StepRegistry:
    """Holds the registered steps, always iterated in the Golden Path order."""

    def __init__(self) -> None:
        self._steps: dict[StepName, Step] = {}

    def register(self, step: Step) -> Step:
        """Register ``step`` (each name once)."""
        if step.name in self._steps:
            raise PipelineError(f"step {step.name!s} registered twice")
        self._steps[step.name] = step
        return step

    def get(self, name: str) -> Step:
        """Return a registered step by name, naming the registered ones when unknown."""
        try:
            key = StepName(name)
        except ValueError:
            raise PipelineError(
                f"unknown step {name!r}; steps: {[s.value for s in STEP_ORDER]}"
            ) from None
        if key not in self._steps:
            raise PipelineError(f"step {name!r} is not registered yet; registered: {self.names()}")
        return self._steps[key]

    def steps(self) -> list[Step]:
        """Registered steps in the Golden Path order."""
        return [self._steps[n] for n in STEP_ORDER if n in self._steps]

    def names(self) -> list[str]:
        """Names of the registered steps, in order."""
        return [s.name.value for s in self.steps()]
