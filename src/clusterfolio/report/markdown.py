"""Small Markdown building blocks shared by the reports (tables, numbers, concentration bars).

Formatting rules (the tests parse numbers back with them):

- a fraction is shown as a percentage with a fixed number of decimals (``0.225`` → ``22.50%``
  with ``digits=2``); ``None``, NaN and infinities are shown as ``n/a``, never as a number;
- a concentration bar draws one full block ``█`` per :data:`BAR_UNIT` (5 %) of weight with
  eighth blocks for the remainder, followed by the percentage: ``████▌ 22.5%``;
- an absent artifact is a line ``> not available in this run: `<artifact>` (<why>)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any, NamedTuple

__all__ = [
    "BAR_UNIT",
    "NOT_AVAILABLE",
    "Markdown",
    "MetricColumn",
    "MetricKind",
    "bar",
    "cell",
    "fmt_float",
    "fmt_metric",
    "fmt_pct",
    "is_number",
    "not_available",
    "table",
]

#: Weight drawn by one full block of a concentration bar.
BAR_UNIT = 0.05
_EIGHTHS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")
NOT_AVAILABLE = "not available in this run"


class MetricKind(StrEnum):
    """How a metric is shown: a percentage, a probability (three decimals), a ratio (two)."""

    PCT = "pct"
    PROB = "prob"
    RATIO = "ratio"


class MetricColumn(NamedTuple):
    """One row or column of a metric table: the metric's key, its title and how it is shown."""

    key: str
    title: str
    kind: MetricKind


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite real number (bools are not numbers here)."""
    if isinstance(value, bool) or value is None:
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number)


def fmt_pct(value: Any, digits: int = 2, *, signed: bool = False) -> str:
    """A fraction as a percentage (``0.1234`` → ``12.34%``); ``n/a`` when not a finite number."""
    if not is_number(value):
        return "n/a"
    spec = f"{'+' if signed else ''}.{digits}f"
    return f"{format(float(value) * 100.0, spec)}%"


def fmt_float(value: Any, digits: int = 2, *, signed: bool = False) -> str:
    """A number with fixed decimals; ``n/a`` when not a finite number."""
    if not is_number(value):
        return "n/a"
    spec = f"{'+' if signed else ''}.{digits}f"
    return format(float(value), spec)


def fmt_metric(value: Any, kind: MetricKind) -> str:
    """A metric by its :class:`MetricKind`: a percentage, three decimals, or two decimals."""
    if kind == MetricKind.PCT:
        return fmt_pct(value, 2)
    if kind == MetricKind.PROB:
        return fmt_float(value, 3)
    return fmt_float(value, 2)


def bar(weight: Any, *, unit: float = BAR_UNIT, digits: int = 1) -> str:
    """A text concentration bar followed by the percentage.

    Parameters
    ----------
    weight : float
        The weight (a fraction; its absolute value is drawn, the sign is kept in the label).
    unit : float, default :data:`BAR_UNIT`
        Weight of one full block.
    digits : int, default 1
        Decimals of the percentage.

    Returns
    -------
    str
        For example ``bar(0.225)`` is ``"████▌ 22.5%"``; a weight that rounds to less than one
        eighth of a block draws ``▏`` when it is not zero, so a held position is always visible.
    """
    if not is_number(weight):
        return "n/a"
    value = float(weight)
    eighths = round(abs(value) / unit * 8)
    if eighths == 0 and value != 0.0:
        eighths = 1
    full, rest = divmod(eighths, 8)
    blocks = "█" * full + _EIGHTHS[rest]
    label = fmt_pct(value, digits)
    return f"{blocks} {label}" if blocks else label


def cell(value: Any) -> str:
    """Text safe inside a Markdown table cell (pipes escaped, newlines flattened)."""
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> str:
    """A Markdown table.

    Parameters
    ----------
    headers : sequence of str
        Column titles.
    rows : iterable of sequences
        Cells (converted with :func:`cell`).
    align : str
        One letter per column, ``l`` (default) or ``r``; shorter strings pad with ``l``.

    Returns
    -------
    str
        The table without a trailing newline.
    """
    spec = align.ljust(len(headers), "l")
    rule = ["---:" if spec[i] == "r" else "---" for i in range(len(headers))]
    lines = [
        "| " + " | ".join(cell(h) for h in headers) + " |",
        "| " + " | ".join(rule) + " |",
    ]
    for row in rows:
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)


def not_available(artifact: str, why: str = "") -> str:
    """The line that says an artifact is absent from this run."""
    suffix = f" ({why})" if why else ""
    return f"> {NOT_AVAILABLE}: `{artifact}`{suffix}"


class Markdown:
    """An append-only Markdown document (blocks separated by one blank line)."""

    def __init__(self) -> None:
        self._blocks: list[str] = []

    def h1(self, text: str) -> Markdown:
        """A title."""
        return self.add(f"# {text}")

    def h2(self, text: str) -> Markdown:
        """A section heading."""
        return self.add(f"## {text}")

    def h3(self, text: str) -> Markdown:
        """A sub-section heading."""
        return self.add(f"### {text}")

    def add(self, block: str) -> Markdown:
        """Append a block (paragraph, table, list ...); empty blocks are ignored."""
        text = block.strip("\n")
        if text:
            self._blocks.append(text)
        return self

    def bullets(self, items: Iterable[str]) -> Markdown:
        """A bullet list."""
        return self.add("\n".join(f"- {item}" for item in items))

    def table(
        self, headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str = ""
    ) -> Markdown:
        """A table (see :func:`table`)."""
        return self.add(table(headers, rows, align))

    def missing(self, artifact: str, why: str = "") -> Markdown:
        """The "not available in this run" line of an absent artifact."""
        return self.add(not_available(artifact, why))

    def render(self) -> str:
        """The document, ending with exactly one newline."""
        return "\n\n".join(self._blocks) + "\n"
