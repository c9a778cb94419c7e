"""Audit verdicts (the audit step's audit.json layout) and the health line."""

from __future__ import annotations

from pathlib import Path

from clusterfolio.io import sha256_file
from clusterfolio.report.verdicts import audit_verdict, health_line


def _check(
    name: str, status: str, profile: str = "hrp", severity: str = "fail"
) -> dict[str, object]:
    return {
        "name": name,
        "profile": profile,
        "severity": severity,
        "passed": status == "pass",
        "status": status,
        "message": f"{name} says {status}",
    }


def test_statuses_decide() -> None:
    doc = {
        "passed": True,
        "checks": [_check("caps", "pass"), _check("beta", "warn", severity="warn")],
    }
    verdict = audit_verdict(doc)
    assert verdict.passed and verdict.n_checks == 2
    assert verdict.warnings == ["hrp/beta: beta says warn"] and verdict.failed_checks == []
    failing = {"passed": True, "checks": [_check("caps", "fail", profile="*")]}
    verdict = audit_verdict(failing)
    assert not verdict.passed and verdict.failed_checks == ["caps: caps says fail"]
    assert not audit_verdict({"passed": "yes", "checks": []}).passed
    assert not audit_verdict([1, 2]).passed
    legacy = {"passed": True, "checks": [{"name": "x", "passed": False}]}
    assert not audit_verdict(legacy).passed


def test_stale_inputs(tmp_path: Path) -> None:
    (tmp_path / "portfolio_optimized.json").write_text("{}")
    doc = {
        "passed": True,
        "checks": [],
        "meta": {
            "inputs": {
                "portfolio_optimized.json": sha256_file(tmp_path / "portfolio_optimized.json"),
                "universe.json": None,
            }
        },
    }
    assert audit_verdict(doc, tmp_path).passed
    (tmp_path / "universe.json").write_text("{}")
    verdict = audit_verdict(doc, tmp_path)
    assert not verdict.passed and verdict.stale == ["universe.json"]


def test_health_line() -> None:
    health = {
        "counts": {"OK": 5, "GAPPED": 1, "MISSING": 0},
        "n_listings": 6,
        "severity_order": ["MISSING", "GAPPED", "OK"],
    }
    universe = {"excluded": {"X": {}}, "filled": {"Y": ["2026-01-01", "2026-01-02"]}}
    assert health_line(health, universe) == (
        "5 of 6 listings OK (1 GAPPED); 1 excluded from the implementation universe; "
        "1 listing forward-filled (2 sessions)"
    )
    assert health_line(None) == "n/a"
