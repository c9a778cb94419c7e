"""The package stays in small modules of short functions (issue 13).

A module of ``src/clusterfolio`` has at most :data:`MAX_MODULE_LINES` lines and a function (or
method) at most :data:`MAX_FUNCTION_LINES` lines, its docstring not counted. ``ruff`` checks the
companion ceilings (``C901`` max-complexity 12, ``PLR0915`` max-statements 50; see
``pyproject.toml``).

Nothing is exempt: the allowlists below are empty and stay so (``pyproject.toml`` exempts only
tests, benches and scripts from the ruff ceilings).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "clusterfolio"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60

#: Modules over the line ceiling (path relative to ``src/clusterfolio``): none is left.
MODULE_ALLOWLIST: frozenset[str] = frozenset()

#: Functions over the line ceiling, as ``module::qualified name``: none is left.
FUNCTION_ALLOWLIST: frozenset[str] = frozenset()


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function from its ``def`` to its last line, its docstring not counted."""
    assert node.end_lineno is not None
    length = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        assert first.end_lineno is not None
        length -= first.end_lineno - first.lineno + 1
    return length


def _functions(
    tree: ast.AST, prefix: str = ""
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method with its qualified name (``Class.method``, ``outer.inner``)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + node.name, node
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def test_function_lines_skip_the_docstring() -> None:
    source = 'def f():\n    """One.\n\n    Two.\n    """\n    return 1\n'
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    assert function_lines(node) == 2


def test_qualified_names_of_methods_and_nested_functions() -> None:
    source = "class A:\n    def m(self):\n        def inner():\n            pass\n"
    assert [name for name, _ in _functions(ast.parse(source))] == ["A.m", "A.m.inner"]


def test_no_module_over_the_line_ceiling() -> None:
    over = {
        _relative(path): n
        for path in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    unexpected = {k: v for k, v in over.items() if k not in MODULE_ALLOWLIST}
    assert not unexpected, f"modules over {MAX_MODULE_LINES} lines: {unexpected}"


def test_no_function_over_the_line_ceiling() -> None:
    over: dict[str, int] = {}
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, node in _functions(tree):
            if (n := function_lines(node)) > MAX_FUNCTION_LINES:
                over[f"{_relative(path)}::{name}"] = n
    unexpected = {k: v for k, v in over.items() if k not in FUNCTION_ALLOWLIST}
    assert not unexpected, (
        f"functions over {MAX_FUNCTION_LINES} lines (docstring excluded): {unexpected}"
    )
