"""QuantStats HTML tear sheets: one per profile, baseline as a Series, nothing fetched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clusterfolio.report.qs_html import strip_external, write_quantstats_html


def test_strip_external() -> None:
    html = (
        '<link rel="icon" href="https://qtpylib.io/favicon.ico"><p>'
        '<a href="http://quantstats.io">QuantStats</a></p><img src="data:image/svg+xml;x">'
    )
    assert strip_external(html) == '<p>QuantStats</p><img src="data:image/svg+xml;x">'


@pytest.mark.slow
def test_quantstats_sheets_offline(sample_copy: Path) -> None:
    pytest.importorskip("quantstats")
    written = write_quantstats_html(sample_copy, only={"hrp"})  # one profile: ~25 s
    assert [p.name for p in written] == ["hrp.html"]
    for path in written:
        text = path.read_text()
        assert not re.findall(r'(?:src|href)="https?://', text), path
        assert "<svg" in text or "data:image" in text
