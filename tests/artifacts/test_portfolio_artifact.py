"""The portfolio artifact: validated on write, read back as stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clusterfolio.artifacts.portfolio import (
    PORTFOLIO,
    profiles_of,
    read_portfolio,
    write_portfolio,
)


def _doc() -> dict[str, Any]:
    section = {
        "assets": [
            {"symbol": "AMEX:SPY", "gross": 1.0, "net": 1.0, "direction": "LONG", "cluster": 0}
        ],
        "clusters": {"0": {"gross": 1.0, "net": 1.0}},
        "gross_exposure": 1.0,
        "net_exposure": 1.0,
        "solver": "market",
        "allocation_level": "asset",
        "fallbacks": [],
        "diagnostics": {},
    }
    return {
        "as_of": "2026-11-20",
        "regime": "NORMAL",
        "baseline": "AMEX:SPY",
        "cluster_cap": 0.25,
        "asset_cap": 0.2,
        "turnover_penalty": False,
        "clusters": [],
        "profiles": {"market": section},
    }


def test_write_then_read(tmp_path: Path) -> None:
    write_portfolio(tmp_path / PORTFOLIO, _doc())
    doc = read_portfolio(tmp_path)
    assert doc == _doc() and list(profiles_of(doc)) == ["market"]
    assert read_portfolio(tmp_path / "absent") is None and profiles_of(None) == {}


def test_a_document_that_breaks_the_schema_is_not_written(tmp_path: Path) -> None:
    doc = _doc()
    del doc["profiles"]["market"]["solver"]
    with pytest.raises(ValueError, match=r"(?s)portfolio_optimized.json.*profiles.market.solver"):
        write_portfolio(tmp_path / PORTFOLIO, doc)
    assert not (tmp_path / PORTFOLIO).exists()
