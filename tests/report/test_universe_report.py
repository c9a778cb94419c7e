"""The universe section of the Strategy Resume and the look-ahead banner of as_of_winners runs."""

from __future__ import annotations

from pathlib import Path

from clusterfolio.io import atomic_write_json, read_json
from clusterfolio.report.build import build_reports
from clusterfolio.report.markdown import Markdown
from clusterfolio.report.universe import (
    LOOK_AHEAD_BANNER,
    look_ahead_banner,
    render_universe_changes,
    universe_changes,
)
from tests.fakes.sample_run import sample_config


def _window(index: int, symbols: dict[str, str], chosen: str = "2025-01-31") -> dict[str, object]:
    return {
        "index": index,
        "train_end": f"2025-0{index + 1}-28T00:00:00",
        "decision": {"symbols": symbols, "selection": {"chosen_at": chosen}},
    }


WINDOWS = [
    _window(0, {"A": "LONG", "B": "LONG", "C": "SHORT"}),
    _window(1, {"A": "LONG", "B": "SHORT", "D": "LONG"}),
    {"index": 2, "train_end": "2025-03-28", "status": "failed"},  # not decided: skipped
    _window(3, {"A": "LONG", "B": "SHORT", "D": "LONG"}),
]


def test_universe_changes_count_entries_exits_and_flips() -> None:
    rows = universe_changes(WINDOWS, {"A": "LONG", "B": "LONG", "E": "LONG"})
    assert [r["index"] for r in rows] == [0, 1, 3]
    first, second, third = rows
    assert first["entries"] == [] and first["exits"] == [] and first["size"] == 3
    assert second["entries"] == ["D"] and second["exits"] == ["C"] and second["flips"] == ["B"]
    assert third["entries"] == third["exits"] == third["flips"] == []
    # window 0: C and E differ; window 1: B flipped, D and E differ
    assert [r["vs_as_of"] for r in rows] == [2, 3, 3]
    assert universe_changes(WINDOWS)[0]["vs_as_of"] is None


def test_the_section_renders_a_point_in_time_tournament() -> None:
    md = Markdown()
    summary = {"settings": {"universe": "point_in_time", "reselect_every": 2}, "windows": WINDOWS}
    render_universe_changes(md, summary, {"A": "LONG"})
    text = md.render()
    assert "## Universe across windows" in text
    assert "re-chosen every 2 windows" in text
    assert "| 1 | 2025-02-28 | 2025-01-31 | 3 | 1: D | 1: C | 1: B | 2 |" in text
    assert look_ahead_banner(summary) is None


def test_every_report_of_an_as_of_winners_run_carries_the_banner(sample_copy: Path) -> None:
    path = sample_copy / "tournament_summary.json"
    summary = read_json(path)
    summary.setdefault("settings", {})["universe"] = "as_of_winners"
    atomic_write_json(path, summary)
    build = build_reports(sample_copy, sample_config(sample_copy))
    reports = [name for name in build.written if name.endswith(".md")]
    assert len(reports) >= 6
    for name in reports:
        assert (sample_copy / name).read_text().startswith(LOOK_AHEAD_BANNER), name
    comparison = (sample_copy / "backtest_comparison.md").read_text()
    assert comparison.count("Look-ahead") >= 2  # the banner and the universe section


def test_a_point_in_time_run_has_no_banner(sample_copy: Path) -> None:
    path = sample_copy / "tournament_summary.json"
    summary = read_json(path)
    summary.setdefault("settings", {})["universe"] = "point_in_time"
    atomic_write_json(path, summary)
    build_reports(sample_copy, sample_config(sample_copy))
    assert "Look-ahead" not in (sample_copy / "portfolio_report.md").read_text()
