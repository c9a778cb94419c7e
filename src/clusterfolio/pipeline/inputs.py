"""A step's inputs now, and whether its recorded run still holds (the reuse rule).

The input hash of a step covers the artifacts it reads (a folder hashes its files in name
order), the settings sections it depends on, its resumable external inputs (accepted state,
scanners), and for a data step the as-of date and, with the files provider, that provider's
folder. A completed step is reused when that hash, every artifact it wrote, and the stored bars
it read (:mod:`clusterfolio.pipeline.reads`) are as its ledger record says
(:meth:`StepInputs.why_rerun`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from clusterfolio.artifacts.state import ACCEPTED_STATE_FILE, SYNC_STATE_FILE
from clusterfolio.enums import ProviderName, StepStatus
from clusterfolio.io import canonical_json, sha256_file, sha256_text
from clusterfolio.manifest import ResolvedManifest
from clusterfolio.pipeline.ledger import StepRecord
from clusterfolio.pipeline.reads import LakeView
from clusterfolio.pipeline.registry import External, Step

__all__ = ["StepInputs", "artifact_hashes"]


def _hash_path(path: Path) -> str:
    if path.is_dir():
        parts = []
        for child in sorted(
            p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
        ):
            parts.append(f"{child.relative_to(path).as_posix()}:{sha256_file(child)}")
        return sha256_text("\n".join(parts))
    return sha256_file(path)


def artifact_hashes(run_dir: Path, names: tuple[str, ...]) -> dict[str, str]:
    """Hash each existing artifact (a folder hashes its files in sorted order)."""
    out = {}
    for name in names:
        path = run_dir / name.rstrip("/")
        if path.exists():
            out[name] = _hash_path(path)
    return out


class StepInputs:
    """The inputs of the steps of one run (its manifest, project and as-of date).

    Parameters
    ----------
    manifest, project_root, as_of, config_root
        As the :class:`~clusterfolio.pipeline.runner.Orchestrator` of the run holds them.
    """

    def __init__(
        self,
        manifest: ResolvedManifest,
        project_root: Path,
        as_of: date,
        config_root: Path | None = None,
    ) -> None:
        self.manifest = manifest
        self.project_root = project_root
        self.as_of = as_of
        self.config_root = config_root
        self._files_stamp: str | None = None

    def input_hash(self, step: Step, run_dir: Path) -> tuple[str, dict[str, str]]:
        """Hash of a step's inputs now, and the per-input hashes it is made of.

        The per-input hashes (the ledger's ``inputs``) hold every artifact read and every external
        input (``@<name>``); the input hash covers all of them but the externals that are not
        :attr:`External.resumable` (the lakehouse: the as-of date stands for it).
        """
        reads = artifact_hashes(run_dir, step.reads + step.optional_reads)
        missing = [r for r in step.reads if r not in reads]
        settings = self.manifest.settings.model_dump(mode="json")
        config = {s: settings[s] for s in step.config_sections}
        hashed = dict(reads)
        for external in step.external_reads:
            digest = self.external_hash(external, config)
            reads[f"@{external.value}"] = digest
            if external.resumable and external is not External.MANIFEST:
                hashed[f"@{external.value}"] = digest
        payload: dict[str, Any] = {
            "step": step.name.value,
            "reads": hashed,
            "missing": missing,
            "config": config,
        }
        if step.uses_data:
            payload["as_of"] = self.as_of.isoformat()
            if self.files_stamp():
                payload["files_root"] = self.files_stamp()
        return sha256_text(canonical_json(payload)), reads

    def files_stamp(self) -> str:
        """The files provider's folder as an input of the data steps (``""``: another provider).

        A hash of every file's relative path, size and modification time: a price file added,
        removed or rewritten changes the universe or the bars the provider serves.
        """
        data = self.manifest.settings.data
        if data.provider is not ProviderName.FILES:
            return ""
        if self._files_stamp is None:
            root = self._resolve(data.files.root)
            files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
            rows = [(p.relative_to(root).as_posix(), *_size_time(p)) for p in files]
            self._files_stamp = sha256_text(canonical_json(rows))
        return self._files_stamp

    def external_hash(self, external: External, config: dict[str, Any]) -> str:
        """The hash of an external input (``absent`` for a file that does not exist).

        ``config`` is the step's settings sections (the :attr:`External.MANIFEST` input; the
        input hash holds them in full).
        """
        if external is External.MANIFEST:
            return sha256_text(canonical_json(config))
        path = self.external_path(external)
        return _hash_path(path) if path.exists() else "absent"

    def external_path(self, external: External) -> Path:
        """Where an external input lives (the manifest: the project's manifest folder)."""
        from clusterfolio.data.source import source_identity

        settings = self.manifest.settings
        if external is External.SCANNERS:
            folder = Path(settings.discovery.scanners_dir)
            base = self.config_root or self.project_root
            return folder if folder.is_absolute() else base / folder
        lake = Path(settings.data.lakehouse)
        lake = lake if lake.is_absolute() else self.project_root / lake
        if external is External.LAKEHOUSE:
            source = source_identity(settings.data, self._resolve)
            return lake / source.namespace / SYNC_STATE_FILE
        if external is External.MANIFEST:
            return self.config_root or self.project_root
        return lake / ACCEPTED_STATE_FILE

    def _resolve(self, value: str | Path) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self.project_root / path

    def lake_view(self) -> LakeView:
        """The run's lakehouse (its source's namespace) for one freshness pass or signature."""
        from clusterfolio.data.lakehouse import Lakehouse
        from clusterfolio.data.source import source_identity

        state = self.external_path(External.LAKEHOUSE)
        source = source_identity(self.manifest.settings.data, self._resolve)
        return LakeView(Lakehouse(state.parent, source=source.key), state, self.as_of)

    def why_rerun(
        self, step: Step, record: StepRecord | None, run_dir: Path, view: LakeView | None
    ) -> str:
        """Why ``step`` must run again (``""``: its recorded run can be reused as it is).

        ``view``: the lakehouse its read set is checked against (``None``: not checked, as for
        a step checked at the end of a run: what a later step of the same run added to its
        windows is seen by the next run, as for a step that ran).
        """
        if record is None or record.status is not StepStatus.COMPLETED:
            return "it has not completed" if record is None else f"it is {record.status.value}"
        current, inputs = self.input_hash(step, run_dir)
        if current != record.input_hash:
            lake = f"@{External.LAKEHOUSE.value}"  # not part of the hash: the read set is
            changed = sorted(
                k
                for k in {*inputs, *record.inputs} - {lake}
                if inputs.get(k) != record.inputs.get(k)
            )
            return f"its inputs changed ({', '.join(changed) or 'settings or as-of date'})"
        outputs = artifact_hashes(run_dir, step.writes)
        if outputs != record.outputs or len(outputs) != len(step.writes):
            return "an artifact it wrote is missing or changed"
        return view.why_changed(record.reads) if record.reads and view is not None else ""


def _size_time(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns
