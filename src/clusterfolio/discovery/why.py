"""Why a screen returned no rows, in one line for the discovery summary.

In order: no listing in the screen's universe (markets, asset class, types), then a field the
screen needs that is absent for every listing of its universe (``needs market_cap_basic: absent
for 505 of 505 listings``; a field absent for only some listings is named with its count),
then the first filter that leaves no listing, then the ``filter2`` tree.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from clusterfolio.discovery.evaluate import _Evaluator, universe_mask
from clusterfolio.discovery.screens import Filter2Expression, Screen

__all__ = ["why_empty"]


def _fields(screen: Screen) -> list[str]:
    fields = [expr.left for expr in screen.filters]
    fields += [
        expr.right
        for expr in screen.filters
        if isinstance(expr.right, str) and expr.right not in fields
    ]
    sort = screen.request.sort
    if sort is not None:
        fields.append(sort.sortBy)
    return list(dict.fromkeys(fields))


def _absent(column: pd.Series) -> pd.Series:
    """Cells holding no value: NaN, None, or an empty text or list."""
    empty = column.isna()
    if column.dtype == object:
        empty |= column.map(lambda v: isinstance(v, str | list | tuple) and len(v) == 0)
    return empty


def why_empty(screen: Screen, table: pd.DataFrame) -> str:
    """One line saying why ``screen`` selects nothing from ``table`` (rules in the module doc)."""
    universe = universe_mask(screen, table)
    n = int(universe.sum())
    if n == 0:
        markets = screen.request.markets or "any"
        cls = screen.asset_class.value if screen.asset_class is not None else "any"
        return f"no listing in its universe (markets {markets}, asset class {cls}) of {len(table)}"
    inside = table.loc[universe.to_numpy()]
    fields = [f for f in _fields(screen) if f in inside.columns]
    missing = {f: int(_absent(inside[f]).sum()) for f in fields}
    whole = [f for f, k in missing.items() if k == n]
    if whole:
        return "; ".join(f"needs {f}: absent for {n} of {n} listings" for f in whole)
    evaluator = _Evaluator(screen, table)
    mask = universe.copy()
    for expr in screen.filters:
        mask &= evaluator.mask(expr)
        if not mask.any():
            partly = [f"{f} absent for {k} of {n}" for f, k in missing.items() if k]
            extra = f" ({'; '.join(partly)})" if partly else ""
            return (
                f"filter {expr.left} {expr.operation} {expr.right!r} leaves none of the "
                f"{n} listings in its universe{extra}"
            )
    tree = screen.request.filter2
    if tree is not None and not (mask & evaluator.tree(tree)).any():
        return (
            f"filter2 ({_describe(tree)}) leaves none of the {int(mask.sum())} listings that "
            f"pass its other filters ({n} in its universe)"
        )
    return f"no listing of the {n} in its universe passes its filters"


def _describe(node: Any) -> str:
    parts = []
    for operand in node.operands:
        if isinstance(operand, Filter2Expression):
            expr = operand.expression
            parts.append(f"{expr.left} {expr.operation} {expr.right!r}")
        else:
            parts.append(f"({_describe(operand.operation)})")
    return f" {node.operator} ".join(parts)
