"""The run's provider factory builds the synthetic market once for all the steps of a run."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from clusterfolio.manifest import load
from clusterfolio.pipeline.context import RunProviders


def _ctx(repo_root: Path, *sets: str, as_of: date = date(2026, 11, 20)) -> Any:
    manifest = load(repo_root / "configs" / "manifest.json", "development", sets, {})
    return SimpleNamespace(settings=manifest.settings, as_of=as_of, project_root=repo_root)


def test_one_synthetic_provider_per_market_and_day(repo_root: Path) -> None:
    providers = RunProviders()
    first = providers(_ctx(repo_root))
    assert providers(_ctx(repo_root)) is first
    other_day = providers(_ctx(repo_root, as_of=date(2026, 11, 19)))
    other_market = providers(_ctx(repo_root, "data.synthetic.seed=8"))
    assert other_day is not first and other_market is not first
    assert RunProviders()(_ctx(repo_root)) is not first  # nothing shared between runs


def test_other_providers_are_built_per_step(repo_root: Path, tmp_path: Path) -> None:
    sets = ("data.provider=files", f"data.files.root={tmp_path}")
    providers = RunProviders()
    assert providers(_ctx(repo_root, *sets)) is not providers(_ctx(repo_root, *sets))
