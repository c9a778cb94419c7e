"""The step registry: name, artifacts read, artifacts written, ``run(ctx)``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from clusterfolio.artifacts.audit import AUDIT_JSON, AUDIT_MD, DRIFT_JSON, DRIFT_MD, ORDERS_CSV
from clusterfolio.enums import StepName
from clusterfolio.errors import PipelineError
from clusterfolio.pipeline.context import RunContext

StepFn = Callable[[RunContext], None]


class External(StrEnum):
    """Inputs a step reads from outside its run folder (recorded in its ledger inputs as ``@name``).

    Each is hashed into the step's ledger ``inputs``; :attr:`resumable` says whether the hash is
    part of the input hash that decides whether a resume reruns the step.
    """

    ACCEPTED_STATE = "accepted_state"
    """``<lakehouse>/portfolio_actual_state.json``: the last implemented portfolio."""
    LAKEHOUSE = "lakehouse"
    """The candle files of the run's source, hashed as their sync state
    (``<lakehouse>/<source>/_sync_state.json``). Steps write it as they go (it is append-only and
    read as of the run's date), so its hash is recorded, not compared on resume: the as-of date and
    the step's read set stand for it (the windows of stored bars it read, signed when it finished,
    and the syncs it made: :mod:`clusterfolio.pipeline.reads`)."""
    MANIFEST = "manifest"
    """The resolved settings of the step's ``config_sections`` (hashed as canonical JSON)."""
    SCANNERS = "scanners"
    """The screen definitions ``discovery.scanners_dir`` (every file, hashed in name order)."""

    @property
    def resumable(self) -> bool:
        """Whether a changed hash reruns the step on resume."""
        return self is not External.LAKEHOUSE


#: Artifacts of the run folder written by commands outside the step chain (``make audit``,
#: ``make drift``), which a step may read when present.
COMMAND_ARTIFACTS: frozenset[str] = frozenset(
    {AUDIT_JSON, AUDIT_MD, DRIFT_JSON, DRIFT_MD, ORDERS_CSV}
)


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
        Whether the step reads the lakehouse or the provider (the as-of date is then an input);
        such a step declares :attr:`External.LAKEHOUSE`.
    description : str
        One line for ``--help`` and the README.
    optional_reads : tuple of str
        Artifacts read when present (hashed when present).
    external_reads : tuple of External
        Inputs outside the run folder (accepted state, lakehouse, manifest, scanners): hashed
        into the ledger like artifacts (see :class:`External`). A step with ``config_sections``
        declares :attr:`External.MANIFEST`.
    optional_writes : tuple of str
        Artifacts the step writes only when they apply (``slippage_decay.json`` ...): a later
        step may read them when present.
    reads_trail : bool
        The step reads the decision trail and the ledger records of the steps before it (not
        declared: they change at the end of every run), so it reruns whenever an earlier step
        ran.
    on_reuse : callable, optional
        ``on_reuse(ctx)`` when a rerun reuses the step: re-applies what it does outside the run
        folder (reporting: ``summaries/``).
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
    optional_writes: tuple[str, ...] = field(default=())
    reads_trail: bool = False
    on_reuse: StepFn | None = None


def _produced(name: str, written: list[str] | tuple[str, ...]) -> bool:
    """Whether ``name`` is one of ``written`` or inside a folder of it (``scans/`` ...)."""
    return any(name == w or (w.endswith("/") and name.startswith(w)) for w in written)


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

    def check(self) -> None:
        """Check that every declared input has a source, naming the step and the input.

        - a required read is written by an earlier step;
        - an optional read is written by an earlier step, by the step itself (its previous
          output, read when present) or by a command outside the chain (:data:`COMMAND_ARTIFACTS`);
        - a step with ``uses_data`` declares :attr:`External.LAKEHOUSE`, and one with
          ``config_sections`` declares :attr:`External.MANIFEST`.

        Raises
        ------
        PipelineError
            At the first input without a source.
        """
        written: list[str] = []
        for step in self.steps():
            for name in step.reads:
                if not _produced(name, written):
                    raise PipelineError(
                        f"step {step.name.value} reads {name!r}, which no earlier step writes "
                        "(declare it as an external input or register its producer first)"
                    )
            for name in step.optional_reads:
                if not _produced(name, [*written, *step.writes, *COMMAND_ARTIFACTS]):
                    raise PipelineError(
                        f"step {step.name.value} may read {name!r}, which no step or command writes"
                    )
            needed = {
                External.LAKEHOUSE: step.uses_data,
                External.MANIFEST: bool(step.config_sections),
            }
            for external, needs in needed.items():
                if needs and external not in step.external_reads:
                    raise PipelineError(
                        f"step {step.name.value} reads the {external.value} but does not declare "
                        f"External.{external.name} in external_reads"
                    )
            written += [*step.writes, *step.optional_writes]

    def steps(self) -> list[Step]:
        """Registered steps in the Golden Path order."""
        return [self._steps[n] for n in STEP_ORDER if n in self._steps]

    def names(self) -> list[str]:
        """Names of the registered steps, in order."""
        return [s.name.value for s in self.steps()]
