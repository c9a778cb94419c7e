"""Byte-identity guard: the pipeline's artifacts match a committed fingerprint.

Two runs on the synthetic market, both at a fixed as-of date, each compared file by file
(sha256, see ``fingerprint.py`` for what is normalised) with ``tests/golden/<name>.json``:

- ``tiny_run``: the ``development`` profile on a tiny market (the crash-resume suite's settings),
  about 15 seconds, in the fast suite;
- ``default_run``: the default profile, as ``make daily-run`` runs it (``make test-all``).

A deliberate change of an artifact regenerates the fingerprints::

    CLUSTERFOLIO_UPDATE_GOLDEN=1 .venv/bin/pytest -q tests/artifacts/test_fingerprint.py -m ""

and the commit says which files changed and why (``git diff tests/golden``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from fingerprint import differences, fingerprint

from tests.fakes.sample_run import SAMPLE_AS_OF, TINY_MARKET

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE_ENV = "CLUSTERFOLIO_UPDATE_GOLDEN"
AS_OF = SAMPLE_AS_OF
TINY: dict[str, Any] = dict(TINY_MARKET)


def _check(name: str, root: Path, run_dir: Path) -> None:
    actual = fingerprint(root, run_dir)
    path = GOLDEN / f"{name}.json"
    if os.environ.get(UPDATE_ENV):
        path.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
        return
    if not path.is_file():
        pytest.fail(f"{path} is missing: run with {UPDATE_ENV}=1 to write it")
    expected = json.loads(path.read_text())
    diff = differences(expected, actual)
    assert not diff, (
        f"artifacts differ from {path.name} (set {UPDATE_ENV}=1 for a deliberate change):\n"
        + "\n".join(diff)
    )


def _project(tmp_path: Path, repo_root: Path) -> Path:
    (tmp_path / "configs").symlink_to(repo_root / "configs", target_is_directory=True)
    return tmp_path


def test_tiny_run_is_byte_identical(tmp_path: Path, repo_root: Path) -> None:
    from clusterfolio import run_pipeline

    root = _project(tmp_path, repo_root)
    run = run_pipeline(profile="development", as_of=AS_OF, overrides=TINY, root=root)
    _check("tiny_run", root, run.path)


@pytest.mark.slow
def test_default_run_is_byte_identical(tmp_path: Path, repo_root: Path) -> None:
    from clusterfolio import run_pipeline

    root = _project(tmp_path, repo_root)
    run = run_pipeline(as_of=AS_OF, root=root)
    _check("default_run", root, run.path)
