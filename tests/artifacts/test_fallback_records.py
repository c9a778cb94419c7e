"""Typed fallback records: the stored form round-trips, kinds compare with the enum."""

from __future__ import annotations

from clusterfolio.artifacts.fallbacks import Fallback, FallbackKind, fallbacks_of
from clusterfolio.optimize.result import FallbackKind as ReExported


def test_records_round_trip_with_their_kind_specific_keys() -> None:
    stored = {"kind": "cap_relaxation", "detail": "raised", "cap": "asset", "from": 0.2, "to": 0.3}
    fallback = Fallback.from_record(stored)
    assert fallback.is_kind(FallbackKind.CAP_RELAXATION) and fallback.get("to") == 0.3
    assert fallback.to_record() == stored
    assert Fallback.from_record(fallback) is fallback


def test_a_record_without_detail_stays_without() -> None:
    fallback = Fallback.from_record({"kind": "barbell_share"})
    assert fallback.detail is None and fallback.text == "barbell_share"
    assert fallback.to_record() == {"kind": "barbell_share"}


def test_fallbacks_of_reads_only_lists_of_objects() -> None:
    assert (
        fallbacks_of(None) == [] and fallbacks_of({"kind": "x"}) == [] and fallbacks_of("x") == []
    )
    assert [f.kind for f in fallbacks_of([{"kind": "solver"}, 3, "x"])] == ["solver"]
    assert ReExported is FallbackKind
