"""The run ledger ``run_manifest.json``: provenance and per-step records."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clusterfolio.enums import StepStatus
from clusterfolio.io import atomic_write_json, read_json

LEDGER_NAME = "run_manifest.json"


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
    fallbacks: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    resumed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["status"] = self.status.value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["status"] = StepStatus(data.get("status", StepStatus.PENDING.value))
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
    status: StepStatus = StepStatus.PENDING
    started_at: str = ""
    finished_at: str = ""
    steps: dict[str, StepRecord] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "profile": self.profile,
            "as_of": self.as_of,
            "seed": self.seed,
            "config_hash": self.config_hash,
            "settings": self.settings,
            "overrides": self.overrides,
            "code_version": self.code_version,
            "command": self.command,
            "data_signature": self.data_signature,
            "status": self.status.value,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "steps": {name: rec.to_dict() for name, rec in self.steps.items()},
        }

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
        """Read the ledger of ``run_dir``."""
        return cls.from_dict(read_json(run_dir / LEDGER_NAME))
