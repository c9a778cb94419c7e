"""The run ledger ``run_manifest.json``: provenance and per-step records."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clusterfolio.artifacts.encoding import record
from clusterfolio.artifacts.fallbacks import Fallback, fallbacks_of
from clusterfolio.artifacts.ledger import LEDGER as LEDGER_NAME
from clusterfolio.enums import StepStatus
from clusterfolio.errors import DataError, PipelineError, RunRefusedError
from clusterfolio.io import atomic_write_json, read_json


@dataclass
class StepRecord:
    """Ledger entry of one step."""

    status: StepStatus = StepStatus.PENDING
    input_hash: str = ""
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""
    duration_s: float = 0.0
    counts: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    fallbacks: list[Fallback] = field(default_factory=list)
    error: str = ""
    resumed: bool = False
    reads: dict[str, Any] = field(default_factory=dict)
    """What the step read from the lakehouse and its signature
    (:meth:`~clusterfolio.pipeline.reads.ReadSet.to_record`; empty: it read no candles)."""
    reused: str = ""
    """Why a rerun reused the step instead of running it (empty: it ran)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return record(self, fallbacks=[f.to_record() for f in self.fallbacks])

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["status"] = StepStatus(data.get("status", StepStatus.PENDING.value))
        data["fallbacks"] = fallbacks_of(data.get("fallbacks"))
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class RunLedger:
    """The whole ledger of a run (written after every state change, atomically)."""

    run_id: str
    profile: str
    as_of: str
    seed: int
    config_hash: str
    settings: dict[str, Any]
    overrides: list[str]
    code_version: str
    command: list[str] = field(default_factory=list)
    data_signature: str = ""
    derived_from: str = ""
    status: StepStatus = StepStatus.PENDING
    started_at: str = ""
    finished_at: str = ""
    steps: dict[str, StepRecord] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``derived_from`` only for a derived run)."""
        return record(
            self,
            drop=() if self.derived_from else ("derived_from",),
            steps={name: rec.to_dict() for name, rec in self.steps.items()},
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunLedger:
        """Inverse of :meth:`to_dict`."""
        return cls(
            run_id=data["run_id"],
            profile=data["profile"],
            as_of=data["as_of"],
            seed=int(data["seed"]),
            config_hash=data["config_hash"],
            settings=data["settings"],
            overrides=list(data.get("overrides", [])),
            code_version=data.get("code_version", ""),
            command=list(data.get("command", [])),
            data_signature=data.get("data_signature", ""),
            derived_from=data.get("derived_from", ""),
            status=StepStatus(data.get("status", StepStatus.PENDING.value)),
            started_at=data.get("started_at", ""),
            finished_at=data.get("finished_at", ""),
            steps={k: StepRecord.from_dict(v) for k, v in data.get("steps", {}).items()},
        )

    def save(self, run_dir: Path) -> None:
        """Write the ledger atomically into ``run_dir``."""
        atomic_write_json(run_dir / LEDGER_NAME, self.to_dict())

    @classmethod
    def load(cls, run_dir: Path) -> RunLedger:
        """Read the ledger of ``run_dir``.

        Raises
        ------
        PipelineError
            The folder has no ledger (a run killed before it started) or an unreadable one.
        """
        path = Path(run_dir) / LEDGER_NAME
        if not path.is_file():
            raise PipelineError(
                f"run {Path(run_dir).name} has no ledger ({path} is missing: the run was killed "
                "before it started, or the folder is not a run): nothing to resume; start it "
                "again with `clusterfolio run`"
            )
        try:
            return cls.from_dict(read_json(path))
        except (DataError, KeyError, ValueError, TypeError) as exc:
            raise PipelineError(f"{path}: unreadable run ledger ({exc})") from exc

    @property
    def reused_steps(self) -> list[str]:
        """Steps this run reused from an earlier run of the same id (their inputs unchanged)."""
        return [n for n, r in self.steps.items() if r.reused]

    @property
    def stale_steps(self) -> list[str]:
        """Steps whose inputs changed since they ran (a staged command changed them)."""
        return [n for n, r in self.steps.items() if r.status is StepStatus.STALE]

    def refuse_unless_complete(self, action: str) -> None:
        """Raise unless the run completed and nothing in it is stale.

        Parameters
        ----------
        action : str
            What was asked (``accept``, ``publish``, ``audit``), for the message.

        Raises
        ------
        RunRefusedError
            The run failed, is running (or was killed), is incomplete or stale.
        """
        status = self.status
        if status is StepStatus.COMPLETED and not self.stale_steps:
            return
        failed = [f"{n}: {r.error}" for n, r in self.steps.items() if r.status is StepStatus.FAILED]
        if status is StepStatus.STALE or self.stale_steps:
            why = (
                f"it is stale: {self.stale_steps} ran on inputs that a staged command changed "
                f"since; bring it up to date with `clusterfolio run --resume {self.run_id}`"
            )
        elif status is StepStatus.FAILED:
            why = f"it failed ({'; '.join(failed) or 'see its run.log'})"
        elif status is StepStatus.RUNNING:
            why = (
                f"it is running, or was killed (started {self.started_at}); wait for it or "
                f"`clusterfolio run --resume {self.run_id}`"
            )
        else:
            why = f"it is not complete (status {status.value})"
        raise RunRefusedError(f"refusing to {action} run {self.run_id}: {why}")


def check_run_usable(run_dir: Path, action: str) -> None:
    """Refuse (``PipelineError``) a run that is not complete; a folder without ledger passes."""
    if (Path(run_dir) / LEDGER_NAME).is_file():
        RunLedger.load(run_dir).refuse_unless_complete(action)
