"""Render an arbitrary JSON document as Markdown (for artifacts whose layout may grow).

Scalars become ``key: value`` bullets, a list of objects becomes a table over the union of
their keys (nested values shown as compact JSON), a nested object becomes a sub-section.
Numbers are shown as they are (``%.6g``), never rescaled: the renderer does not know units.
"""

from __future__ import annotations

import json
import math
from typing import Any

from clusterfolio.report.markdown import Markdown

__all__ = ["json_to_markdown", "scalar"]

_MAX_DEPTH = 3


def scalar(value: Any) -> str:
    """A JSON value as table text (floats with 6 significant digits, NaN as ``n/a``)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "n/a" if not math.isfinite(value) else format(value, ".6g")
    if isinstance(value, int | str):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def json_to_markdown(md: Markdown, doc: Any, *, depth: int = 0, title: str = "") -> None:
    """Append ``doc`` to ``md`` (see the module docstring)."""
    heading = md.h3 if depth >= 1 else md.h2
    if title:
        heading(title)
    if isinstance(doc, dict):
        _dict_to_markdown(md, doc, depth=depth)
    elif isinstance(doc, list):
        _list_to_markdown(md, doc)
    else:
        md.add(scalar(doc))


def _dict_to_markdown(md: Markdown, doc: dict[Any, Any], *, depth: int) -> None:
    """Scalars of ``doc`` as bullets, then each nested value under its key (or inline past the depth)."""
    scalars = [(k, v) for k, v in sorted(doc.items()) if _is_scalar(v)]
    if scalars:
        md.bullets(f"{k}: {scalar(v)}" for k, v in scalars)
    for key, value in sorted(doc.items()):
        if _is_scalar(value):
            continue
        if depth >= _MAX_DEPTH:
            md.add(f"{key}: `{scalar(value)}`")
        else:
            json_to_markdown(md, value, depth=depth + 1, title=str(key))


def _list_to_markdown(md: Markdown, doc: list[Any]) -> None:
    """A list of records as a table (columns in order of first appearance), else as bullets."""
    if not doc:
        md.add("(empty)")
    elif all(isinstance(x, dict) for x in doc):
        keys: list[str] = []
        for item in doc:
            for key in item:
                if key not in keys:
                    keys.append(str(key))
        md.table(keys, [[scalar(item.get(k)) for k in keys] for item in doc])
    else:
        md.bullets(scalar(x) for x in doc)
