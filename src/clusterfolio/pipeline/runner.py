"""The orchestrator: runs registered steps in order with a ledger, reuse, resume and crash safety.

Reuse rule (a plain rerun of the same run id, and ``--resume``): a step is reused (not run) when
the ledger says it completed, its recorded input hash equals the hash of its inputs now (the
artifacts it reads, the settings sections it depends on, and the as-of date for data steps),
every artifact it wrote is still there with the recorded hash, and, for a step that read candles,
its read set would read the same bars without asking the provider for anything
(:mod:`clusterfolio.pipeline.reads`). Every step is checked on its own: a step that runs again
and writes the same bytes leaves the steps after it reused; one whose artifacts change reruns the
steps that read them (their input hash changed). A step that reads the decision trail
(:attr:`Step.reads_trail`, reporting) reruns whenever an earlier step ran. A plain rerun reuses
only a run made by the same code version; ``--fresh`` recomputes every step.

Crash safety: artifacts are written atomically, and the ledger is rewritten atomically before and
after each step, so a run killed at any instant resumes to byte-identical artifacts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from clusterfolio.artifacts.ledger import DECISION_LOG, DECISIONS_DIR
from clusterfolio.artifacts.ledger import RUN_LOG as LOG_NAME
from clusterfolio.enums import StepStatus
from clusterfolio.errors import ClusterfolioError, PipelineError
from clusterfolio.io import atomic_write_text
from clusterfolio.manifest import ResolvedManifest
from clusterfolio.pipeline.context import RunContext, StepRecorder, write_decisions
from clusterfolio.pipeline.inputs import StepInputs, artifact_hashes
from clusterfolio.pipeline.ledger import LEDGER_NAME, RunLedger, StepRecord
from clusterfolio.pipeline.lock import ProjectLock
from clusterfolio.pipeline.reads import ReadSet
from clusterfolio.pipeline.registry import Step, StepRegistry
from clusterfolio.pipeline.runs import (
    LATEST,
    derive_run,
    drop_previous,
    keep_copy,
    point_latest,
    refresh_latest,
    resolve_run_dir,
    set_aside,
)
from clusterfolio.pipeline.version import code_version

if TYPE_CHECKING:
    from clusterfolio.data.provider import Provider

__all__ = [
    "LATEST",
    "Orchestrator",
    "RunHooks",
    "StepProgress",
    "artifact_hashes",
    "code_version",
    "make_run_id",
    "point_latest",
    "resolve_run_dir",
]


ProgressFactory = Callable[[], "StepProgress"]


class StepProgress:
    """Progress reporting interface (Rich in a terminal, silent otherwise)."""

    def start_step(self, index: int, total: int, name: str) -> None:
        """A step starts."""

    def tick(self, label: str, done: int, total: int) -> None:
        """Per-item progress inside a step."""

    def end_step(self, name: str, status: StepStatus, seconds: float) -> None:
        """A step ended."""

    def close(self) -> None:
        """The run ended."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def make_run_id(as_of: date, profile: str, config_hash: str) -> str:
    """Deterministic run id: as-of date, profile and resolved-config hash."""
    return f"{as_of.isoformat()}_{profile}_{config_hash[:10]}"


class RunHooks:
    """Callbacks at fixed points of a run; the defaults do nothing.

    A test injects its own (``Orchestrator(..., hooks=...)``): the crash-safety suite kills the
    process at one of these points (``tests/fakes/kill.py``). Nothing in the package reads the
    environment for them.
    """

    def before_ledger(self) -> None:
        """The run folder is prepared; its ledger is not written yet."""

    def on_tick(self, step: str) -> None:
        """A progress tick inside ``step``."""

    def after_run(self, step: str) -> None:
        """``step`` wrote its artifacts; the ledger has not recorded it yet."""


class Orchestrator:
    """Runs the registered steps for one resolved profile and as-of date.

    Parameters
    ----------
    registry : StepRegistry
        The steps.
    manifest : ResolvedManifest
        Resolved profile.
    project_root : Path
        Relative manifest paths resolve against it.
    as_of : date
        Decision date.
    provider_factory : callable
        Builds the data provider for a context.
    progress : StepProgress, optional
        Progress display; silent when omitted.
    command : list of str
        The command line, recorded for provenance.
    config_root : Path, optional
        The project the manifest belongs to (scanner paths resolve against it).
    hooks : RunHooks, optional
        Callbacks at fixed points of the run (a test's fault injection); none by default.
    """

    def __init__(
        self,
        registry: StepRegistry,
        manifest: ResolvedManifest,
        *,
        project_root: Path,
        as_of: date,
        provider_factory: Callable[[RunContext], Provider],
        progress: StepProgress | None = None,
        command: list[str] | None = None,
        config_root: Path | None = None,
        hooks: RunHooks | None = None,
    ) -> None:
        self.registry = registry
        self.manifest = manifest
        self.project_root = Path(project_root)
        self.as_of = as_of
        self.provider_factory = provider_factory
        self.progress = progress or StepProgress()
        self.command = list(command or [])
        self.config_root = config_root
        self.hooks = hooks or RunHooks()
        self.runs_dir = self.project_root / manifest.settings.run.runs_dir
        self.run_id = make_run_id(as_of, manifest.profile, manifest.config_hash)
        self.notices: list[str] = []
        self.reused: list[str] = []
        self._inputs: StepInputs | None = None

    # ------------------------------------------------------------------ inputs
    @property
    def inputs(self) -> StepInputs:
        """The steps' inputs for this run's manifest and as-of date."""
        if self._inputs is None or self._inputs.as_of != self.as_of:
            self._inputs = StepInputs(
                self.manifest, self.project_root, self.as_of, self.config_root
            )
        return self._inputs

    # ------------------------------------------------------------------ running
    def new_ledger(self) -> RunLedger:
        """A fresh ledger for this run."""
        return RunLedger(
            run_id=self.run_id,
            profile=self.manifest.profile,
            as_of=self.as_of.isoformat(),
            seed=self.manifest.settings.run.seed,
            config_hash=self.manifest.config_hash,
            settings=self.manifest.settings.model_dump(mode="json"),
            overrides=list(self.manifest.overrides),
            code_version=code_version(),
            command=self.command,
        )

    @contextmanager
    def _logger(self, run_dir: Path) -> Iterator[logging.Logger]:
        logger = logging.getLogger(f"clusterfolio.run.{run_dir.name}")
        logger.setLevel(logging.INFO)
        logger.propagate = False
        handler = logging.FileHandler(run_dir / LOG_NAME, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        try:
            yield logger
        finally:
            logger.removeHandler(handler)
            handler.close()

    def run(
        self,
        *,
        resume: str | None = None,
        from_step: str | None = None,
        only: str | None = None,
        fresh: bool = False,
    ) -> RunLedger:
        """Run the pipeline, holding the project lock (see :mod:`clusterfolio.pipeline.lock`).

        Parameters
        ----------
        resume : str, optional
            A run id (or ``latest``) to resume; completed steps whose inputs are unchanged are
            reused. Without it, a run of the same id made by the same code version is rerun in
            place, reusing every step whose inputs did not change (a complete one is kept as
            ``<run_id>.previous`` until the rerun completes).
        from_step : str, optional
            Rerun from this step on (earlier steps must be complete in the resumed run).
        only : str, optional
            Run just these steps (comma-separated) inside the resumed (or this id's) run: a
            staged command. With other settings than the run's, it works in a derived run
            ``<run_id>+<label>``; completed steps whose inputs it changed become stale.
        fresh : bool
            Recompute every step: a run of the same id is moved aside to ``<run_id>.previous``
            and deleted once the new one completes.

        Returns
        -------
        RunLedger
            The final ledger. Raises the step's exception after recording it when a step fails.
        """
        what = "run" if only is None and from_step is None else f"staged step {only or from_step}"
        with ProjectLock(self.project_root, what, resume or self.run_id) as lock:
            if lock.notice:
                self.notices.append(lock.notice)
            return self._run_locked(resume=resume, from_step=from_step, only=only, fresh=fresh)

    def _open(self, resume: str | None, staged: bool, fresh: bool) -> tuple[Path, RunLedger]:
        """The run folder and ledger to work in (resumed, derived, or fresh)."""
        if resume is not None:
            run_dir = resolve_run_dir(self.runs_dir, resume)
            ledger = RunLedger.load(run_dir)
            self.run_id = ledger.run_id
            self.as_of = date.fromisoformat(ledger.as_of)
            if ledger.config_hash != self.manifest.config_hash:
                settings = self.manifest.settings.model_dump(mode="json")
                if staged:
                    run_dir, ledger, created = derive_run(
                        self.runs_dir, run_dir, ledger, settings, self.manifest.config_hash
                    )
                    self.run_id = ledger.run_id
                    self.notices.append(
                        f"other settings than run {ledger.derived_from}: working in the derived "
                        f"run {ledger.run_id}" + (" (created)" if created else "")
                    )
                else:
                    ledger.settings = settings
                    ledger.config_hash = self.manifest.config_hash
                ledger.overrides = list(self.manifest.overrides)
            return run_dir, ledger
        run_dir = self.runs_dir / self.run_id
        if staged and (run_dir / LEDGER_NAME).exists():
            return run_dir, RunLedger.load(run_dir)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        earlier = None if fresh else self._reusable(run_dir)
        if earlier is not None:
            kept = keep_copy(self.runs_dir, run_dir)
            self.notices.append(
                f"run {self.run_id} exists ({earlier.status.value}): rerunning only the steps "
                "whose inputs changed (`--fresh` recomputes all"
                + (
                    f"; the complete run is kept as {kept.name} until this one completes)"
                    if kept
                    else ")"
                )
            )
            earlier.command = self.command or earlier.command
            earlier.overrides = list(self.manifest.overrides)
            earlier.started_at = ""
            return run_dir, earlier
        if set_aside(self.runs_dir, run_dir) is not None:
            self.notices.append(
                f"the complete run {self.run_id} is kept as {self.run_id}.previous until "
                "this run completes"
            )
        return run_dir, self.new_ledger()

    def _reusable(self, run_dir: Path) -> RunLedger | None:
        """The ledger of an earlier run of this id by this code version (``None``: none)."""
        if not (run_dir / LEDGER_NAME).is_file():
            return None
        try:
            ledger = RunLedger.load(run_dir)
        except PipelineError:
            return None
        version = code_version()
        if ledger.code_version != version or ledger.config_hash != self.manifest.config_hash:
            self.notices.append(
                f"run {self.run_id} was made by code version {ledger.code_version or 'unknown'}, "
                f"not {version}: every step is recomputed"
            )
            return None
        return ledger

    def _run_locked(
        self, *, resume: str | None, from_step: str | None, only: str | None, fresh: bool
    ) -> RunLedger:
        steps = self.registry.steps()
        if from_step is not None:
            self.registry.get(from_step)
        wanted = None if only is None else {n.strip() for n in only.split(",") if n.strip()}
        for name in wanted or ():
            self.registry.get(name)
        run_dir, ledger = self._open(resume, wanted is not None or from_step is not None, fresh)
        run_dir.mkdir(parents=True, exist_ok=True)
        hooks = self.hooks
        hooks.before_ledger()
        ledger.status = StepStatus.RUNNING
        ledger.started_at = ledger.started_at or _now()
        ledger.command = self.command or ledger.command
        ledger.save(run_dir)
        ran: set[str] = set()
        failed: BaseException | None = None
        with self._logger(run_dir) as logger:
            logger.info("run %s profile=%s as_of=%s", ledger.run_id, ledger.profile, ledger.as_of)
            for notice in self.notices:
                logger.warning("%s", notice)
            try:
                self._steps(steps, run_dir, ledger, logger, hooks, wanted, from_step, fresh, ran)
            except BaseException as exc:
                failed = exc
            _write_decision_log(run_dir)
            self._finish(steps, run_dir, ledger, ran, failed)
            logger.info(
                "run %s ended: %s (%d steps ran, %d reused)",
                ledger.run_id,
                ledger.status.value,
                len(ran),
                len(self.reused),
            )
        self.progress.close()
        if failed is not None:
            raise failed
        return ledger

    def _steps(
        self,
        steps: list[Step],
        run_dir: Path,
        ledger: RunLedger,
        logger: logging.Logger,
        hooks: RunHooks,
        wanted: set[str] | None,
        from_step: str | None,
        fresh: bool,
        ran: set[str],
    ) -> None:
        """Run (or reuse) each step in order; ``ran`` collects the steps that ran."""
        total = len(steps)
        force = fresh
        view = self.inputs.lake_view()
        for index, step in enumerate(steps, start=1):
            name = step.name.value
            if wanted is not None and name not in wanted:
                continue
            if from_step is not None and name == from_step:
                force = True
            record = ledger.steps.get(name)
            if wanted is None and not force:
                why = self.inputs.why_rerun(step, record, run_dir, view)
                if not why and step.reads_trail and ran:
                    why = f"it reads the decision trail of the steps that ran ({sorted(ran)})"
                if not why:
                    assert record is not None
                    self._reuse(step, record, index, total, run_dir, ledger, logger)
                    continue
                logger.info("step %s runs: %s", name, why)
            ran.add(name)
            self._run_step(step, index, total, run_dir, ledger, logger, hooks)
            view = self.inputs.lake_view()  # the step may have changed the lakehouse

    def _reuse(
        self,
        step: Step,
        record: StepRecord,
        index: int,
        total: int,
        run_dir: Path,
        ledger: RunLedger,
        logger: logging.Logger,
    ) -> None:
        """Keep a step's recorded run (its ``on_reuse`` re-applies what it did outside)."""
        name = step.name.value
        n = len(ReadSet.from_record(record.reads).symbols())
        record.resumed = True
        record.reused = "inputs and artifacts unchanged" + (
            f"; the stored bars of the {n} listings it read unchanged, nothing to fetch"
            if n
            else ""
        )
        self.reused.append(name)
        logger.info("step %s reused: %s", name, record.reused)
        self.progress.start_step(index, total, name)
        if step.on_reuse is not None:
            recorder = StepRecorder(name)
            step.on_reuse(self._context(ledger, run_dir, logger, recorder, lambda *_: None))
        self.progress.end_step(name, StepStatus.SKIPPED, 0.0)

    def _finish(
        self,
        steps: list[Step],
        run_dir: Path,
        ledger: RunLedger,
        ran: set[str],
        failed: BaseException | None,
    ) -> None:
        """Mark what the steps that ran made stale, set the status, keep ``latest`` right."""
        for step in steps if ran else ():  # nothing ran: nothing changed since the checks
            name = step.name.value
            record = ledger.steps.get(name)
            if name in ran or record is None or record.status is not StepStatus.COMPLETED:
                continue
            why = self.inputs.why_rerun(step, record, run_dir, None)
            if why:
                record.status = StepStatus.STALE
                record.warnings.append(f"stale: {why} after it ran ({sorted(ran)})")
        statuses = [ledger.steps.get(s.name.value, StepRecord()).status for s in steps]
        if failed is not None:
            ledger.status = StepStatus.FAILED
        elif all(st is StepStatus.COMPLETED for st in statuses):
            ledger.status = StepStatus.COMPLETED
        elif StepStatus.STALE in statuses:
            ledger.status = StepStatus.STALE
        else:
            ledger.status = StepStatus.PENDING
        ledger.finished_at = _now()
        ledger.save(run_dir)
        if self.reused:
            self.notices.append(
                f"{len(self.reused)} of {len(steps)} steps reused (inputs and the stored bars "
                f"they read unchanged): {', '.join(self.reused)}"
            )
        if ledger.status is StepStatus.COMPLETED and not ledger.derived_from:
            point_latest(self.runs_dir, run_dir)
            drop_previous(self.runs_dir, run_dir)
        refresh_latest(self.runs_dir)
        if ledger.stale_steps:
            self.notices.append(
                f"run {ledger.run_id} is stale: {ledger.stale_steps} depend on what changed; "
                f"bring it up to date with `clusterfolio run --resume {ledger.run_id}`"
            )

    def _run_step(
        self,
        step: Step,
        index: int,
        total: int,
        run_dir: Path,
        ledger: RunLedger,
        logger: logging.Logger,
        hooks: RunHooks,
    ) -> None:
        name = step.name.value
        record = self._open_record(step, run_dir, ledger)
        self.progress.start_step(index, total, name)
        recorder = StepRecorder(name)

        def tick(label: str, done: int, n: int) -> None:
            self.progress.tick(label, done, n)
            hooks.on_tick(name)

        ctx = self._context(ledger, run_dir, logger, recorder, tick)
        started = time.perf_counter()
        logger.info("step %s started", name)
        try:
            step.run(ctx)
            absent = [w for w in step.writes if not (run_dir / w.rstrip("/")).exists()]
            if absent:
                raise PipelineError(f"step {name} did not write {absent}")
            write_decisions(
                run_dir / DECISIONS_DIR / f"{index:02d}_{name}.jsonl", recorder.decisions
            )
            hooks.after_run(name)
        except BaseException as exc:
            record.status = StepStatus.FAILED
            record.error = f"{type(exc).__name__}: {exc}"
            _close_record(record, recorder, started)
            ledger.save(run_dir)
            level = logging.ERROR if isinstance(exc, ClusterfolioError) else logging.CRITICAL
            logger.log(level, "step %s failed: %s", name, record.error)
            self.progress.end_step(name, StepStatus.FAILED, record.duration_s)
            raise
        record.status = StepStatus.COMPLETED
        record.outputs = artifact_hashes(run_dir, step.writes)
        # inputs as the step left them: an optional input it wrote itself (reporting's audit.json)
        # is its own, not a change
        record.input_hash, record.inputs = self.inputs.input_hash(step, run_dir)
        if ctx.reads:
            record.reads = ctx.reads.to_record(self.inputs.lake_view().signature(ctx.reads))
        _close_record(record, recorder, started)
        record.counts = dict(recorder.counts)
        if ctx.data_signature:
            ledger.data_signature = ctx.data_signature
        ledger.save(run_dir)
        for warning in recorder.warnings:
            logger.warning("%s: %s", name, warning)
        logger.info("step %s completed in %.3fs %s", name, record.duration_s, record.counts)
        self.progress.end_step(name, StepStatus.COMPLETED, record.duration_s)

    def _open_record(self, step: Step, run_dir: Path, ledger: RunLedger) -> StepRecord:
        """Check the step's inputs are there and save it as running, with their hashes."""
        name = step.name.value
        input_hash, reads = self.inputs.input_hash(step, run_dir)
        missing = [r for r in step.reads if r not in reads]
        if missing:
            raise PipelineError(
                f"step {name} needs {missing} in {run_dir}: run the earlier steps first"
            )
        record = StepRecord(
            status=StepStatus.RUNNING, input_hash=input_hash, inputs=reads, started_at=_now()
        )
        ledger.steps[name] = record
        ledger.save(run_dir)
        return record

    def _context(
        self,
        ledger: RunLedger,
        run_dir: Path,
        logger: logging.Logger,
        recorder: StepRecorder,
        progress: Callable[[str, int, int], None],
    ) -> RunContext:
        """The context one step runs in."""
        return RunContext(
            manifest=self.manifest,
            run_id=ledger.run_id,
            run_dir=run_dir,
            project_root=self.project_root,
            as_of=self.as_of,
            logger=logger,
            provider_factory=self.provider_factory,
            recorder=recorder,
            progress=progress,
            config_root=self.config_root,
        )


def _close_record(record: StepRecord, recorder: StepRecorder, started: float) -> None:
    """Stamp the end, the duration and what the recorder collected on a finished step's record."""
    record.finished_at = _now()
    record.duration_s = round(time.perf_counter() - started, 4)
    record.warnings = list(recorder.warnings)
    record.fallbacks = list(recorder.fallbacks)


def _write_decision_log(run_dir: Path) -> None:
    """Concatenate the per-step decision files into ``decision_log.jsonl`` (in step order)."""
    folder = run_dir / DECISIONS_DIR
    if not folder.is_dir():
        return
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.jsonl")))
    atomic_write_text(run_dir / DECISION_LOG, text)
