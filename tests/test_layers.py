"""The package's layers hold (the import-linter contracts of ``pyproject.toml``).

``make lint`` runs ``lint-imports``; this test runs the same contracts so a plain ``pytest``
catches a leak too, and checks that no test double or test hook is read by the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest


def test_import_contracts_are_kept(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from importlinter.cli import lint_imports

    monkeypatch.chdir(repo_root)
    assert lint_imports(no_cache=True) == 0


def test_the_package_imports_no_test_module_and_reads_no_kill_hook(repo_root: Path) -> None:
    offenders = []
    for path in sorted((repo_root / "src" / "clusterfolio").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "CLUSTERFOLIO_KILL_AT" in text:
            offenders.append(f"{path.name}: CLUSTERFOLIO_KILL_AT")
        for node in ast.walk(ast.parse(text)):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "tests"]
    assert not offenders
