"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real market data folder ``../shared/data``; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def dev_run_root(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """A project root holding one real run of the small ``development`` profile (about a minute).

    ``configs/`` is a link to the repository's; the run is made through the Python API. Use it
    from ``@pytest.mark.slow`` tests only.
    """
    from clusterfolio import run_pipeline

    root = tmp_path_factory.mktemp("devroot")
    (root / "configs").symlink_to(repo_root / "configs", target_is_directory=True)
    run_pipeline(profile="development", as_of="2026-12-03", root=root)
    return root
