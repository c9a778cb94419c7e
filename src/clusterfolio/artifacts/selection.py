"""Natural selection and enrichment artifacts (steps 5 and 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clusterfolio.io import read_json

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


def read_winners(run_dir: Path) -> list[dict[str, Any]]:
    """The winner records of ``winners.json`` (empty when the run has none yet)."""
    path = Path(run_dir) / WINNERS
    if not path.is_file():
        return []
    doc = read_json(path)
    return [dict(w) for w in doc.get("winners", [])] if isinstance(doc, dict) else []
