"""Markdown building blocks: percentages, bars, tables, the not-available line."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from clusterfolio.report.markdown import (
    BAR_UNIT,
    Markdown,
    MetricKind,
    bar,
    cell,
    fmt_float,
    fmt_metric,
    fmt_pct,
    not_available,
    table,
)


def test_percentages_and_missing_values() -> None:
    assert fmt_pct(0.1234) == "12.34%"
    assert fmt_pct(0.225, 1) == "22.5%"
    assert fmt_pct(-0.05, 1, signed=True) == "-5.0%"
    assert fmt_pct(0.05, 1, signed=True) == "+5.0%"
    for bad in (None, math.nan, math.inf, "x", True):
        assert fmt_pct(bad) == "n/a"
        assert fmt_float(bad) == "n/a"
    assert fmt_float(1.23456, 3) == "1.235"


def test_bar_matches_the_documented_example() -> None:
    assert bar(0.225) == "████▌ 22.5%"
    assert bar(1.0) == "█" * 20 + " 100.0%"
    assert bar(0.0) == "0.0%"
    assert bar(0.0001) == "▏ 0.0%"  # a held position is always visible
    assert bar(-0.10) == "██ -10.0%"
    assert bar(None) == "n/a"


@given(st.floats(min_value=0.0, max_value=1.0, allow_nan=False))
def test_bar_length_is_the_weight_in_eighths(weight: float) -> None:
    blocks = bar(weight).split(" ")[0] if " " in bar(weight) else ""
    eighths = {"▏": 1, "▎": 2, "▍": 3, "▌": 4, "▋": 5, "▊": 6, "▉": 7}
    drawn = sum(8 if ch == "█" else eighths[ch] for ch in blocks)
    expected = round(weight / BAR_UNIT * 8)
    assert drawn == (max(expected, 1) if weight > 0 else 0)


def test_table_and_cells() -> None:
    text = table(["A", "B"], [["x|y", 1], ["line\nbreak", None]], "lr")
    lines = text.splitlines()
    assert lines[0] == "| A | B |"
    assert lines[1] == "| --- | ---: |"
    assert lines[2] == "| x\\|y | 1 |"
    assert lines[3] == "| line break |  |"
    assert cell(None) == ""


def test_not_available_and_document() -> None:
    assert not_available("audit.json", "run make audit") == (
        "> not available in this run: `audit.json` (run make audit)"
    )
    md = Markdown().h1("T").add("").h2("S").bullets(["a", "b"]).missing("x.json")
    assert md.render() == "# T\n\n## S\n\n- a\n- b\n\n> not available in this run: `x.json`\n"


def test_metric_cells_follow_their_kind() -> None:
    assert fmt_metric(0.1234, MetricKind.PCT) == "12.34%"
    assert fmt_metric(0.98765, MetricKind.PROB) == "0.988"
    assert fmt_metric(1.23456, MetricKind.RATIO) == "1.23"
    assert fmt_metric(math.nan, MetricKind.PCT) == "n/a"
