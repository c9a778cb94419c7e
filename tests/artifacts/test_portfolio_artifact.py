"""The portfolio artifact: validated on write, read back as stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clusterfolio.artifacts.portfolio import (
    PORTFOLIO,
    profile_section,
    profiles_of,
    read_portfolio,
    section_assets,
    section_clusters,
    write_portfolio,
)
from clusterfolio.artifacts.risk import cluster_records

JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
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


def test_accessors_read_the_parts_of_a_profile() -> None:
    doc = _doc()
    section = profile_section(doc, "market")
    assert section is doc["profiles"]["market"]
    assert section_assets(section) == doc["profiles"]["market"]["assets"]
    assert section_clusters(section) == {"0": {"gross": 1.0, "net": 1.0}}
    assert profile_section(doc, "hrp") == {} and section_assets(None) == []


def test_accessors_read_a_malformed_document_as_empty_parts() -> None:
    doc = _doc()
    doc["profiles"]["market"]["assets"] = [{"symbol": "A"}, "not a row", None]
    doc["profiles"]["market"]["clusters"] = {"0": {"gross": 1.0}, "1": 0.5}
    doc["profiles"]["hrp"] = ["not a section"]
    section = profile_section(doc, "market")
    assert section_assets(section) == [{"symbol": "A"}]
    assert section_clusters(section) == {"0": {"gross": 1.0}}
    assert profile_section(doc, "hrp") == {}
    assert section_clusters({"clusters": []}) == {} and section_assets({"assets": {}}) == []


def test_cluster_records_are_ordered_by_id() -> None:
    doc = {"clusters": [{"id": 2, "lead_asset": "B"}, "junk", {"id": 1, "lead_asset": "A"}]}
    assert [c["id"] for c in cluster_records(doc)] == [1, 2]
    assert cluster_records(None) == [] and cluster_records({"clusters": {}}) == []


@given(JSON)
def test_accessors_never_raise_on_any_json(value: Any) -> None:
    doc = {"profiles": {"p": value}} if not isinstance(value, dict) else {"profiles": value}
    for name in profiles_of(doc):
        section = profile_section(doc, name)
        assert all(isinstance(row, dict) for row in section_assets(section))
        assert all(isinstance(v, dict) for v in section_clusters(section).values())
    assert isinstance(profiles_of(value if isinstance(value, dict) else None), dict)
