"""report.html: parsed, every section checked, self-contained (no network), sortable tables."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from clusterfolio.artifacts.reports import REPORT_HTML
from clusterfolio.report.build import ReportBuild
from clusterfolio.report.headline import headline
from clusterfolio.report.html import SECTIONS, render_html


class Page(HTMLParser):
    """Collects sections, tables per section, images, links, scripts and text."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, dict[str, object]] = {}
        self.current: str | None = None
        self.urls: list[str] = []
        self.images: list[str] = []
        self.scripts = 0
        self.text: dict[str, list[str]] = {}
        self.sortable = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self.current = a.get("id") or ""
            self.sections[self.current] = {"tables": 0, "rows": 0, "images": 0}
            self.text[self.current] = []
        if tag == "script":
            self.scripts += 1
            assert "src" not in a, "an external script"
        for key in ("src", "href"):
            if a.get(key):
                self.urls.append(str(a[key]))
        if self.current is None:
            return
        sec = self.sections[self.current]
        if tag == "table":
            sec["tables"] = int(str(sec["tables"])) + 1
            self.sortable += "sortable" in (a.get("class") or "")
        if tag == "tr":
            sec["rows"] = int(str(sec["rows"])) + 1
        if tag == "img":
            sec["images"] = int(str(sec["images"])) + 1
            self.images.append(str(a.get("src")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.text[self.current].append(data)


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    return page


@pytest.fixture(scope="module")
def page(built: ReportBuild) -> Page:
    return parse((built.run_dir / REPORT_HTML).read_text())


def test_every_section_is_there_in_order(page: Page) -> None:
    assert list(page.sections) == list(SECTIONS)
    for name in SECTIONS:
        assert int(str(page.sections[name]["tables"])) >= 1, name


def test_self_contained(page: Page) -> None:
    assert page.scripts == 1 and page.sortable >= 5
    assert page.images and all(src.startswith("data:image/png;base64,") for src in page.images)
    assert not [u for u in page.urls if not u.startswith("data:")]


def test_headline_figures(built: ReportBuild, page: Page) -> None:
    head = headline(built.run_dir)
    words = " ".join(page.text["headline"])
    assert f"regime {head.regime}" in f"regime {words.split('regime', 1)[1].strip()}"
    assert head.accepted_profile in words
    assert "warnings" in words and "fallbacks" in words and "turnover" in words
    for top in head.top:
        assert top["symbol"] in words


def test_weights_show_long_and_short(built: ReportBuild, page: Page) -> None:
    doc = json.loads((built.run_dir / "portfolio_optimized.json").read_text())
    profile = headline(built.run_dir).accepted_profile
    assets = doc["profiles"][profile]["assets"]
    words = " ".join(page.text["weights"])
    for asset in assets:
        assert asset["symbol"] in words
    assert "long" in words and "short" in words
    assert int(str(page.sections["weights"]["rows"])) >= len(assets) + 1


def test_tournament_ranked_with_caveats(built: ReportBuild, page: Page) -> None:
    words = " ".join(page.text["tournament"])
    assert "ranked by Sharpe" in words and "walk-forward windows ok" in words
    assert words.index("ranked by Sharpe") < words.index("walk-forward")  # caveats up front


def test_health_and_orders(built: ReportBuild, page: Page) -> None:
    assert "OK" in " ".join(page.text["health"])
    orders = " ".join(page.text["orders"])
    assert "notional" in orders and "quantity" in orders


def test_absent_artifacts_say_so(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    page = parse(render_html(run))
    assert list(page.sections) == list(SECTIONS)
    assert "no orders.csv" in " ".join(page.text["orders"])
    assert "not available in this run" in " ".join(page.text["tournament"])


def test_audit_warnings_on_the_accepted_profile_are_in_the_headline(sample_copy: Path) -> None:
    audit = json.loads((sample_copy / "audit.json").read_text())
    profile = headline(sample_copy).accepted_profile
    audit["checks"].append(
        {"name": "cap_effect", "profile": profile, "status": "warn", "message": "caps"}
    )
    (sample_copy / "audit.json").write_text(json.dumps(audit))
    words = " ".join(parse(render_html(sample_copy)).text["headline"])
    assert f"passed (warnings on {profile}: " in words and "cap_effect" in words
