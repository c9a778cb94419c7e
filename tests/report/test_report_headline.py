"""The run headline: regime, accepted profile, top 5, trades, warnings, reports."""

from __future__ import annotations

from pathlib import Path

from clusterfolio.io import atomic_write_json, read_json
from clusterfolio.report.headline import headline


def test_headline_of_a_sample_run(sample_copy: Path, tmp_path: Path) -> None:
    ledger = read_json(sample_copy / "run_manifest.json")
    first = sorted(ledger["steps"])[0]
    ledger["steps"][first]["warnings"] = ["w1", "w2"]
    ledger["steps"][first]["fallbacks"] = [{"kind": "x"}]
    atomic_write_json(sample_copy / "run_manifest.json", ledger)
    head = headline(sample_copy, tmp_path)
    assert head.n_warnings >= 2 and head.n_fallbacks >= 1
    assert len(head.top) == 5
    nets = [abs(t["net"]) for t in head.top]
    assert nets == sorted(nets, reverse=True)
    text = "\n".join(head.lines())
    assert f"regime {head.regime}" in text and f"accepted profile {head.accepted_profile}" in text
    assert "warnings" in text and str(sample_copy) in text
    assert head.to_json_dict()["n_warnings"] == head.n_warnings


def test_failed_audit_is_loud(sample_copy: Path) -> None:
    audit = read_json(sample_copy / "audit.json")
    audit["passed"] = False
    atomic_write_json(sample_copy / "audit.json", audit)
    assert "FAILED: do not implement" in "\n".join(headline(sample_copy).lines())


def test_audit_warnings_on_the_accepted_profile_are_named(sample_copy: Path) -> None:
    audit = read_json(sample_copy / "audit.json")
    profile = headline(sample_copy).accepted_profile
    for check in audit["checks"]:
        check["status"] = "pass"
    audit["checks"] += [
        {"name": "cap_effect", "profile": profile, "status": "warn", "message": "caps"},
        {"name": "market_beta", "profile": "min_variance", "status": "warn", "message": "beta"},
        {"name": "stale_document", "profile": "*", "status": "warn", "message": "old"},
    ]
    atomic_write_json(sample_copy / "audit.json", audit)
    head = headline(sample_copy)
    assert head.audit_warnings == ["cap_effect", "stale_document"]  # not another profile's
    assert f"audit passed (warnings on {profile}: cap_effect, stale_document)" in head.lines()[1]
    for check in audit["checks"]:
        check["status"] = "pass"
    atomic_write_json(sample_copy / "audit.json", audit)
    head = headline(sample_copy)
    assert head.audit_warnings == [] and head.lines()[1].endswith("audit passed")
