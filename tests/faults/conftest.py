"""Fixtures of the fault suite."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def lake_root(tmp_path: Path) -> Path:
    """``data/lakehouse`` of a project in ``tmp_path``."""
    root = tmp_path / "data" / "lakehouse"
    root.mkdir(parents=True)
    return root
