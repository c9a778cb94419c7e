"""Natural selection and enrichment artifacts (steps 5 and 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clusterfolio.io import atomic_write_json, read_json

SELECTION_TABLE = "selection.parquet"
"""Every candidate with its cluster, scores, direction and verdict."""
SELECTED_JSON = "selected.json"
"""The winners of natural selection (before enrichment)."""
ANTIFRAGILITY_LIGHT = "antifragility_light.parquet"
"""Antifragility statistics of the light pass."""
SELECTION_AUDIT = "selection_audit.md"
"""The selection's decisions, for people."""
WINNERS = "winners.json"
"""``{"winners": [...]}``: the enriched winners (sector, industry, description, direction)."""


def write_winners(path: Path, winners: list[dict[str, Any]]) -> None:
    """Write ``winners.json`` (``{"winners": [...]}``), each record naming its symbol."""
    for i, winner in enumerate(winners):
        if not winner.get("symbol"):
            raise ValueError(f"{path}: winner {i} has no symbol")
    atomic_write_json(path, {"winners": winners})


def read_winners(run_dir: Path) -> list[dict[str, Any]]:
    """The winner records of ``winners.json`` (empty when the run has none yet)."""
    path = Path(run_dir) / WINNERS
    if not path.is_file():
        return []
    doc = read_json(path)
    return [dict(w) for w in doc.get("winners", [])] if isinstance(doc, dict) else []
