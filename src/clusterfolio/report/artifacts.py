"""Read-only access to a run directory's artifacts for the reports.

Every report renders what exists and says what is absent: :class:`RunArtifacts` reads an
artifact on first use (cached), returns ``None`` when the file does not exist, and remembers each
absent name so that the reports and the reporting step can list them. A present but unreadable
file is an error (:class:`~clusterfolio.errors.CorruptFileError` names it): a corrupt artifact is
never silently treated as absent.

The names below are re-exported from :mod:`clusterfolio.artifacts` (one module per artifact
family, shared by the steps that write them and every reader).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from clusterfolio.artifacts.audit import AUDIT_JSON, AUDIT_MD, DRIFT_JSON, DRIFT_MD, ORDERS_CSV
from clusterfolio.artifacts.discovery import RAW_POOL, RAW_POOL_JSON, SCREENER
from clusterfolio.artifacts.health import HEALTH_JSON, HEALTH_MD, UNIVERSE
from clusterfolio.artifacts.ledger import DECISION_LOG, DECISIONS_DIR, LEDGER
from clusterfolio.artifacts.matrices import RETURNS
from clusterfolio.artifacts.portfolio import PORTFOLIO
from clusterfolio.artifacts.risk import ANTIFRAGILITY, CLUSTERMAP, CLUSTERS, REGIME, REGIME_SERIES
from clusterfolio.artifacts.selection import SELECTION_AUDIT, SELECTION_TABLE, WINNERS
from clusterfolio.artifacts.tournament import (
    SLIPPAGE_DECAY,
    TOURNAMENT_RESULTS,
    TOURNAMENT_RETURNS,
    TOURNAMENT_SUMMARY,
)
from clusterfolio.errors import CorruptFileError, DataError
from clusterfolio.io import read_csv_exactly, read_json, read_parquet

__all__ = [
    "ANTIFRAGILITY",
    "AUDIT_JSON",
    "AUDIT_MD",
    "CLUSTERMAP",
    "CLUSTERS",
    "DECISIONS_DIR",
    "DECISION_LOG",
    "DRIFT_JSON",
    "DRIFT_MD",
    "HEALTH_JSON",
    "HEALTH_MD",
    "LEDGER",
    "ORDERS_CSV",
    "PORTFOLIO",
    "RAW_POOL",
    "RAW_POOL_JSON",
    "REGIME",
    "REGIME_SERIES",
    "RETURNS",
    "SCREENER",
    "SELECTION_AUDIT",
    "SELECTION_TABLE",
    "SLIPPAGE_DECAY",
    "TOURNAMENT_RESULTS",
    "TOURNAMENT_RETURNS",
    "TOURNAMENT_SUMMARY",
    "UNIVERSE",
    "WINNERS",
    "RunArtifacts",
]


class RunArtifacts:
    """Cached, read-only view of one run directory.

    Parameters
    ----------
    run_dir : Path
        The run's folder (``data/runs/<run_id>``).

    Notes
    -----
    Every reader returns ``None`` for an absent artifact and records its name in
    :attr:`missing`; a present artifact that cannot be parsed raises
    :class:`~clusterfolio.errors.CorruptFileError` naming the file.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self._cache: dict[tuple[str, str], Any] = {}
        self._missing: set[str] = set()

    # ----------------------------------------------------------------- basics
    def path(self, name: str) -> Path:
        """Path of an artifact of the run."""
        return self.run_dir / name

    def exists(self, name: str) -> bool:
        """Whether the artifact exists (an absent one is recorded in :attr:`missing`)."""
        present = self.path(name).exists()
        if not present:
            self._missing.add(name)
        return present

    @property
    def missing(self) -> list[str]:
        """Names asked for and absent, sorted."""
        return sorted(self._missing)

    def _load(self, kind: str, name: str) -> Any:
        key = (kind, name)
        if key in self._cache:
            return self._cache[key]
        if not self.exists(name):
            self._cache[key] = None
            return None
        path = self.path(name)
        value: Any
        if kind == "json":
            value = read_json(path)
        elif kind == "parquet":
            value = read_parquet(path)
        elif kind == "csv":
            try:
                value = read_csv_exactly(path.read_text(encoding="utf-8"))
            except (pd.errors.ParserError, UnicodeDecodeError) as exc:
                raise CorruptFileError(f"{path}: not valid CSV ({exc})") from exc
            except pd.errors.EmptyDataError:
                value = pd.DataFrame()
        else:
            try:
                value = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise CorruptFileError(f"{path}: not UTF-8 text ({exc})") from exc
        self._cache[key] = value
        return value

    # ---------------------------------------------------------------- readers
    def json(self, name: str) -> Any | None:
        """A JSON document, or ``None`` when absent."""
        return self._load("json", name)

    def parquet(self, name: str) -> pd.DataFrame | None:
        """A Parquet table, or ``None`` when absent."""
        frame = self._load("parquet", name)
        return None if frame is None else frame.copy()

    def csv(self, name: str) -> pd.DataFrame | None:
        """A CSV table, or ``None`` when absent."""
        frame = self._load("csv", name)
        return None if frame is None else frame.copy()

    def text(self, name: str) -> str | None:
        """A text file, or ``None`` when absent."""
        value = self._load("text", name)
        return None if value is None else str(value)

    def require_json(self, name: str) -> Any:
        """A JSON document that must exist (:class:`~clusterfolio.errors.DataError` otherwise)."""
        value = self.json(name)
        if value is None:
            raise DataError(f"{self.path(name)}: required artifact is missing")
        return value

    def require_parquet(self, name: str) -> pd.DataFrame:
        """A Parquet table that must exist (:class:`~clusterfolio.errors.DataError` otherwise)."""
        value = self.parquet(name)
        if value is None:
            raise DataError(f"{self.path(name)}: required artifact is missing")
        return value

    # ------------------------------------------------------------ orchestrator
    def ledger(self) -> dict[str, Any] | None:
        """The run ledger ``run_manifest.json`` (``None`` when absent)."""
        value = self.json(LEDGER)
        return value if isinstance(value, dict) else None

    def decisions(self, *, exclude_steps: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """The decision trail, in step order.

        The per-step files ``decisions/NN_<step>.jsonl`` are read when present (they are complete
        for every step that ran before the caller; ``decision_log.jsonl`` is only concatenated at
        the end of a run); otherwise ``decision_log.jsonl``. Decisions of ``exclude_steps`` are
        left out (the reporting step excludes its own).

        Returns
        -------
        list of dict
            ``{step, subject, action, reason, details}`` entries.
        """
        folder = self.path(DECISIONS_DIR)
        texts: list[tuple[str, str]] = []
        if folder.is_dir():
            for file in sorted(folder.glob("*.jsonl")):
                texts.append((str(file), file.read_text(encoding="utf-8")))
        else:
            text = self.text(DECISION_LOG)
            if text is None:
                return []
            texts.append((str(self.path(DECISION_LOG)), text))
        out: list[dict[str, Any]] = []
        for origin, text in texts:
            for number, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CorruptFileError(f"{origin}:{number}: not valid JSON ({exc})") from exc
                if str(entry.get("step", "")) in exclude_steps:
                    continue
                out.append(entry)
        return out
