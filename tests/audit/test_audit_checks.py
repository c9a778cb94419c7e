"""The audit checks: each passes on a valid portfolio and fails on a constructed breach."""

from __future__ import annotations

import copy
import json
from typing import Any

import audit_factory as af
import numpy as np
import pandas as pd
import pytest

from clusterfolio.audit.checks import (
    AuditReport,
    CheckSeverity,
    CheckStatus,
    audit_portfolio,
    market_beta,
)
from clusterfolio.manifest import Settings


def run_audit(
    doc: dict[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    health: dict[str, Any] | None = None,
    returns: pd.DataFrame | str | None = "default",
    universe: dict[str, Any] | None = None,
    no_health: bool = False,
) -> AuditReport:
    return audit_portfolio(
        doc if doc is not None else af.portfolio(),
        settings=settings or Settings(),
        health=None if no_health else (health if health is not None else af.health()),
        returns=af.returns() if isinstance(returns, str) else returns,
        universe=universe,
    )


def check(report: AuditReport, profile: str, name: str) -> Any:
    found = [c for c in report.checks if c.profile == profile and c.name == name]
    assert len(found) == 1, f"{profile}/{name}: {len(found)} checks"
    return found[0]


def only_failures(report: AuditReport) -> set[str]:
    return {c.label for c in report.failures}


# --------------------------------------------------------------------------------------------
# the valid portfolio
# --------------------------------------------------------------------------------------------


def test_valid_portfolio_passes_every_check() -> None:
    report = run_audit(universe=af.universe())
    assert report.passed
    assert report.failures == []
    assert report.warnings == []
    names = {c.name for c in report.checks}
    assert {
        "profiles_present",
        "weights_finite",
        "direction_consistency",
        "weights_sum",
        "exposure_bounds",
        "cluster_totals_consistent",
        "asset_cap",
        "cluster_cap",
        "barbell_insulation",
        "barbell_aggressor_share",
        "market_beta",
        "market_baseline",
        "data_health",
        "data_forward_fill",
    } <= names
    # the market profile is exempt from the caps
    assert not [c for c in report.checks if c.profile == "market" and c.name.endswith("_cap")]
    assert report.counts() == {"pass": len(report.checks), "warn": 0, "fail": 0}


def test_report_serialises_and_renders() -> None:
    doc = af.portfolio()
    doc["profiles"]["hrp"]["assets"][0]["gross"] = float("nan")
    report = run_audit(doc)
    data = report.to_json_dict()
    text = json.dumps(data, allow_nan=False)  # no NaN leaks into the JSON: it is null there
    assert '"nan"' not in text and ": null" in text
    assert data["passed"] is False and data["implementable"] is False
    assert "hrp/weights_finite" in data["failed"]
    md = report.to_markdown()
    assert md.startswith("# Portfolio audit: FAILED")
    assert "| Profile | Check | Severity | Result | Evidence |" in md
    assert "| hrp | weights_finite | fail | **FAIL** |" in md
    assert "=nan" in md  # the evidence for people names the non-finite value
    assert "## Failures" in md


# --------------------------------------------------------------------------------------------
# weights, directions, sums, exposures
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), -0.01, "0.1"])
def test_non_finite_or_negative_weight_fails(bad: Any) -> None:
    doc = af.portfolio()
    doc["profiles"]["hrp"]["assets"][3]["gross"] = bad
    report = run_audit(doc)
    assert check(report, "hrp", "weights_finite").status is CheckStatus.FAIL
    assert not report.passed


def test_duplicate_symbol_fails() -> None:
    doc = af.portfolio()
    assets = doc["profiles"]["hrp"]["assets"]
    assets[1] = {**assets[1], "symbol": assets[0]["symbol"]}
    c = check(run_audit(doc), "hrp", "weights_finite")
    assert not c.passed and c.evidence["duplicates"] == [assets[0]["symbol"]]


def test_net_inconsistent_with_direction_fails() -> None:
    doc = af.portfolio()
    doc["profiles"]["equal_weight"]["assets"][0]["direction"] = "SHORT"  # net stays positive
    c = check(run_audit(doc), "equal_weight", "direction_consistency")
    assert c.status is CheckStatus.FAIL


def test_short_positions_are_consistent() -> None:
    directions = {af.SYMBOLS[0]: "SHORT", af.SYMBOLS[5]: "SHORT"}
    doc = af.with_profile(
        af.portfolio(), "hrp", af.section(af.equal_weights(), directions=directions)
    )
    report = run_audit(doc)
    assert check(report, "hrp", "direction_consistency").passed
    assert check(report, "hrp", "exposure_bounds").passed
    assert report.passed


def test_weights_not_summing_to_one_fail() -> None:
    weights = {s: w * 1.01 for s, w in af.equal_weights().items()}
    doc = af.with_profile(af.portfolio(), "risk_parity", af.section(weights))
    report = run_audit(doc)
    c = check(report, "risk_parity", "weights_sum")
    assert c.status is CheckStatus.FAIL
    assert c.evidence["gross_sum"] == pytest.approx(1.01)
    assert check(report, "risk_parity", "exposure_bounds").status is CheckStatus.FAIL


def test_sum_within_tolerance_passes() -> None:
    weights = {s: w * (1 + 5e-7) for s, w in af.equal_weights().items()}
    doc = af.with_profile(af.portfolio(), "risk_parity", af.section(weights))
    assert check(run_audit(doc), "risk_parity", "weights_sum").passed


def test_recorded_exposure_out_of_bounds_fails() -> None:
    doc = af.portfolio()
    doc["profiles"]["hrp"]["net_exposure"] = 1.5
    c = check(run_audit(doc), "hrp", "exposure_bounds")
    assert c.status is CheckStatus.FAIL
    assert "above 1" in c.message


def test_recorded_cluster_totals_must_match_assets() -> None:
    doc = af.portfolio()
    doc["profiles"]["hrp"]["clusters"]["1"]["gross"] += 0.01
    c = check(run_audit(doc), "hrp", "cluster_totals_consistent")
    assert c.status is CheckStatus.FAIL
    assert c.evidence["mismatched"] == ["1:gross"]


# --------------------------------------------------------------------------------------------
# caps and recorded relaxations
# --------------------------------------------------------------------------------------------


def _asset_breach(weight: float = 0.20) -> dict[str, float]:
    """One asset at ``weight`` (its cluster partner at zero), the rest equally spread."""
    heavy, partner = "NASDAQ:C1A0", "NASDAQ:C1A1"
    rest = [s for s in af.SYMBOLS if s not in (heavy, partner)]
    out = {s: (1.0 - weight) / len(rest) for s in rest}
    out[heavy] = weight
    return out


def _relaxation(cap: str, to: float) -> dict[str, Any]:
    return {
        "kind": "cap_relaxation",
        "cap": cap,
        "from": 0.15 if cap == "asset_cap" else 0.25,
        "to": to,
        "detail": f"{cap} infeasible; raised to {to}",
    }


def test_asset_cap_breach_fails() -> None:
    doc = af.with_profile(af.portfolio(), "hrp", af.section(_asset_breach()))
    report = run_audit(doc)
    c = check(report, "hrp", "asset_cap")
    assert c.status is CheckStatus.FAIL
    assert c.evidence["over_cap"] == ["NASDAQ:C1A0"]
    assert c.evidence["max_weight"] == pytest.approx(0.20)
    assert "no relaxation recorded" in c.message
    assert check(report, "hrp", "cluster_cap").passed
    assert only_failures(report) == {"hrp/asset_cap"}


def test_recorded_relaxation_passes_with_a_warning() -> None:
    new = af.section(_asset_breach(), fallbacks=[_relaxation("asset_cap", 0.21)])
    report = run_audit(af.with_profile(af.portfolio(), "hrp", new))
    c = check(report, "hrp", "asset_cap")
    assert c.status is CheckStatus.WARN
    assert c.severity is CheckSeverity.WARN
    assert c.evidence["relaxed_cap"] == pytest.approx(0.21)
    assert report.passed
    assert [w.label for w in report.warnings] == ["hrp/asset_cap"]


def test_relaxation_recorded_in_diagnostics_is_honoured() -> None:
    new = af.section(
        _asset_breach(), diagnostics={"cap_relaxations": [_relaxation("asset_cap", 0.21)]}
    )
    report = run_audit(af.with_profile(af.portfolio(), "hrp", new))
    assert check(report, "hrp", "asset_cap").status is CheckStatus.WARN
    assert report.passed


def test_breach_beyond_the_recorded_relaxation_fails() -> None:
    new = af.section(_asset_breach(0.20), fallbacks=[_relaxation("asset_cap", 0.18)])
    report = run_audit(af.with_profile(af.portfolio(), "hrp", new))
    c = check(report, "hrp", "asset_cap")
    assert c.status is CheckStatus.FAIL
    assert c.evidence["beyond_relaxation"] == ["NASDAQ:C1A0"]


def test_relaxation_of_the_other_cap_does_not_cover() -> None:
    new = af.section(_asset_breach(), fallbacks=[_relaxation("cluster_cap", 0.5)])
    report = run_audit(af.with_profile(af.portfolio(), "hrp", new))
    assert check(report, "hrp", "asset_cap").status is CheckStatus.FAIL


def _cluster_breach() -> dict[str, float]:
    """Cluster 1 at 0.30 (two assets of 0.15: the asset cap holds)."""
    rest = [s for s in af.SYMBOLS if af.CLUSTERS[s] != 1]
    out = {s: 0.70 / len(rest) for s in rest}
    out.update({"NASDAQ:C1A0": 0.15, "NASDAQ:C1A1": 0.15})
    return out


def test_cluster_cap_breach_fails() -> None:
    report = run_audit(
        af.with_profile(af.portfolio(), "min_variance", af.section(_cluster_breach()))
    )
    c = check(report, "min_variance", "cluster_cap")
    assert c.status is CheckStatus.FAIL
    assert c.evidence["over_cap"] == ["1"]
    assert c.evidence["max_weight"] == pytest.approx(0.30)
    assert check(report, "min_variance", "asset_cap").passed


def test_cluster_cap_recorded_relaxation_warns() -> None:
    new = af.section(_cluster_breach(), fallbacks=[_relaxation("cluster_cap", 0.3030)])
    report = run_audit(af.with_profile(af.portfolio(), "min_variance", new))
    assert check(report, "min_variance", "cluster_cap").status is CheckStatus.WARN
    assert report.passed


def test_cap_at_the_cap_plus_rounding_passes() -> None:
    weights = _asset_breach(0.15 + 5e-7)
    report = run_audit(af.with_profile(af.portfolio(), "hrp", af.section(weights)))
    assert check(report, "hrp", "asset_cap").passed


def test_held_asset_without_cluster_fails_the_cluster_cap() -> None:
    clusters: dict[str, int] = dict(af.CLUSTERS)
    del clusters["NASDAQ:C4A1"]
    new = af.section(af.equal_weights(), clusters)
    c = check(run_audit(af.with_profile(af.portfolio(), "hrp", new)), "hrp", "cluster_cap")
    assert c.status is CheckStatus.FAIL
    assert "without a cluster" in c.message


def test_caps_come_from_the_settings() -> None:
    report = run_audit(settings=af.settings(asset_cap=0.05))
    assert check(report, "hrp", "asset_cap").status is CheckStatus.FAIL
    assert check(report, "market", "market_baseline").passed


# --------------------------------------------------------------------------------------------
# barbell
# --------------------------------------------------------------------------------------------


def test_barbell_overlap_fails_insulation() -> None:
    doc = af.portfolio()
    doc["profiles"]["barbell"]["diagnostics"]["barbell"]["core"].append(af.AGGRESSORS[0])
    report = run_audit(doc)
    c = check(report, "barbell", "barbell_insulation")
    assert c.status is CheckStatus.FAIL
    assert c.evidence["overlap"] == [af.AGGRESSORS[0]]


def test_barbell_unclassified_asset_fails_insulation() -> None:
    doc = af.portfolio()
    doc["profiles"]["barbell"]["diagnostics"]["barbell"]["core"].remove("NASDAQ:C8A1")
    c = check(run_audit(doc), "barbell", "barbell_insulation")
    assert c.status is CheckStatus.FAIL
    assert c.evidence["unclassified"] == ["NASDAQ:C8A1"]


def test_barbell_aggressors_in_one_cluster_fail_insulation() -> None:
    doc = af.portfolio()
    diag = doc["profiles"]["barbell"]["diagnostics"]["barbell"]
    diag["aggressors"] = ["NASDAQ:C1A0", "NASDAQ:C1A1", "NASDAQ:C2A0"]
    diag["core"] = [s for s in af.SYMBOLS if s not in diag["aggressors"]]
    c = check(run_audit(doc), "barbell", "barbell_insulation")
    assert c.status is CheckStatus.FAIL
    assert "several aggressors in clusters [1]" in c.message


def test_barbell_without_diagnostics_fails() -> None:
    doc = af.portfolio()
    doc["profiles"]["barbell"]["diagnostics"] = {}
    report = run_audit(doc)
    assert check(report, "barbell", "barbell_insulation").status is CheckStatus.FAIL
    assert check(report, "barbell", "barbell_aggressor_share").status is CheckStatus.FAIL


@pytest.mark.parametrize("share", [0.15, 0.20, 0.08])
def test_barbell_share_off_its_band_fails(share: float) -> None:
    doc = af.with_profile(af.portfolio(), "barbell", af.barbell_section(share))
    c = check(run_audit(doc), "barbell", "barbell_aggressor_share")
    assert c.status is CheckStatus.FAIL
    assert c.evidence["expected"] == pytest.approx(0.10)
    assert c.evidence["band"] == [0.05, 0.15]


def test_barbell_share_follows_the_regime() -> None:
    doc = af.with_profile(af.portfolio(), "barbell", af.barbell_section(0.15))
    doc["regime"] = "QUIET"
    assert check(run_audit(doc), "barbell", "barbell_aggressor_share").passed


def test_barbell_recorded_reduction_warns() -> None:
    reduction = {"kind": "barbell_share", "detail": "share reduced to 0.06 by the caps"}
    doc = af.with_profile(
        af.portfolio(), "barbell", af.barbell_section(0.06, fallbacks=[reduction])
    )
    report = run_audit(doc)
    assert check(report, "barbell", "barbell_aggressor_share").status is CheckStatus.WARN
    assert report.passed


def test_barbell_recorded_share_must_match_the_weights() -> None:
    doc = af.with_profile(af.portfolio(), "barbell", af.barbell_section(0.10, recorded_share=0.12))
    c = check(run_audit(doc), "barbell", "barbell_aggressor_share")
    assert c.status is CheckStatus.FAIL
    assert "recorded share" in c.message


# --------------------------------------------------------------------------------------------
# market baseline and beta
# --------------------------------------------------------------------------------------------


def test_market_profile_must_be_all_baseline() -> None:
    doc = af.with_profile(
        af.portfolio(),
        "market",
        af.section({af.BASELINE: 0.9, "NASDAQ:C1A0": 0.1}, {af.BASELINE: 0, "NASDAQ:C1A0": 0}),
    )
    c = check(run_audit(doc), "market", "market_baseline")
    assert c.status is CheckStatus.FAIL
    assert c.evidence["other_assets"] == ["NASDAQ:C1A0"]


def test_market_profile_must_be_long() -> None:
    doc = af.portfolio()
    doc["profiles"]["market"] = af.section(
        {af.BASELINE: 1.0}, {af.BASELINE: 0}, directions={af.BASELINE: "SHORT"}
    )
    report = run_audit(doc)
    assert check(report, "market", "market_baseline").status is CheckStatus.FAIL
    assert check(report, "market", "direction_consistency").status is CheckStatus.FAIL


def test_high_beta_min_variance_is_a_warning() -> None:
    report = run_audit(returns=af.returns(market_loading=1.0))
    c = check(report, "min_variance", "market_beta")
    assert c.status is CheckStatus.WARN
    assert c.evidence["beta"] > 0.8
    assert report.passed  # a warning never fails the audit
    low = check(run_audit(returns=af.returns(market_loading=0.0)), "min_variance", "market_beta")
    assert low.passed and abs(low.evidence["beta"]) < 0.3


def test_beta_threshold_from_settings() -> None:
    report = run_audit(
        settings=af.settings(beta_threshold=2.0), returns=af.returns(market_loading=1.0)
    )
    assert check(report, "min_variance", "market_beta").passed


def test_no_returns_is_a_beta_warning() -> None:
    report = run_audit(returns=None)
    c = check(report, "min_variance", "market_beta")
    assert c.status is CheckStatus.WARN
    assert report.passed


def test_market_beta_exact() -> None:
    frame = af.returns(n=200, seed=5)
    market = frame[af.BASELINE]
    frame["NASDAQ:C1A0"] = 0.5 * market
    frame["NASDAQ:C1A1"] = -0.25 * market
    estimate = market_beta({"NASDAQ:C1A0": 1.0, "NASDAQ:C1A1": 0.4}, frame, af.BASELINE)
    assert estimate["beta"] == pytest.approx(0.5 - 0.1, rel=1e-10)
    assert estimate["n_sessions"] == 199


def test_market_beta_compounds_other_calendars_onto_market_sessions() -> None:
    """A 24/7 asset's weekend moves land in the next market interval (never dropped)."""
    days = pd.date_range("2026-01-05", periods=140, freq="D")
    rng = np.random.default_rng(11)
    growth = np.cumprod(1.0 + rng.normal(0.0, 0.01, size=len(days)))
    crypto = pd.Series(growth, index=days).pct_change()
    weekday = days.dayofweek < 5
    # the market is the crypto's path sampled on weekdays: the same interval returns
    market_price = pd.Series(growth, index=days)[weekday]
    market = market_price.pct_change().reindex(days)
    frame = pd.DataFrame({af.BASELINE: market, "BINANCE:BTCUSDT.P": crypto})
    estimate = market_beta({"BINANCE:BTCUSDT.P": 1.0}, frame, af.BASELINE)
    assert estimate["beta"] == pytest.approx(1.0, rel=1e-10)


def test_market_beta_names_missing_symbols() -> None:
    estimate = market_beta({"NASDAQ:NOPE": 0.3}, af.returns(), af.BASELINE)
    assert estimate["missing"] == ["NASDAQ:NOPE"]
    assert estimate["missing_weight"] == pytest.approx(0.3)


# --------------------------------------------------------------------------------------------
# data health and completeness
# --------------------------------------------------------------------------------------------


def test_unhealthy_held_asset_fails() -> None:
    report = run_audit(health=af.health({"NASDAQ:C2A1": "GAPPED"}))
    c = check(report, "hrp", "data_health")
    assert c.status is CheckStatus.FAIL
    assert c.evidence["not_ok"] == {"NASDAQ:C2A1": "GAPPED"}
    # the market profile does not hold it
    assert check(report, "market", "data_health").passed


def test_unhealthy_baseline_fails_the_market_profile() -> None:
    report = run_audit(health=af.health({af.BASELINE: "STALE"}))
    assert check(report, "market", "data_health").status is CheckStatus.FAIL


def test_held_asset_absent_from_health_fails() -> None:
    report = run_audit(health=af.health(drop=("NASDAQ:C5A0",)))
    c = check(report, "equal_weight", "data_health")
    assert c.evidence["not_ok"] == {"NASDAQ:C5A0": "ABSENT"}
    assert not report.passed


def test_no_health_document_fails() -> None:
    report = run_audit(no_health=True)
    assert check(report, "hrp", "data_health").status is CheckStatus.FAIL


def test_held_asset_outside_the_universe_fails() -> None:
    uni = af.universe()
    uni["symbols"].remove("NASDAQ:C6A0")
    c = check(run_audit(universe=uni), "hrp", "data_health")
    assert c.status is CheckStatus.FAIL
    assert c.evidence["outside_universe"] == ["NASDAQ:C6A0"]


def test_forward_filled_held_asset_warns() -> None:
    report = run_audit(universe=af.universe({"NASDAQ:C7A0": ["2026-11-02"]}))
    c = check(report, "hrp", "data_forward_fill")
    assert c.status is CheckStatus.WARN
    assert report.passed


def test_missing_profile_fails() -> None:
    doc = af.portfolio()
    del doc["profiles"]["risk_parity"]
    report = run_audit(doc)
    c = check(report, "*", "profiles_present")
    assert c.status is CheckStatus.FAIL
    assert c.evidence["missing"] == ["risk_parity"]


def test_empty_profile_fails() -> None:
    doc = af.portfolio()
    doc["profiles"]["hrp"] = {"assets": []}
    report = run_audit(doc)
    assert check(report, "hrp", "weights_sum").status is CheckStatus.FAIL
    assert check(report, "hrp", "exposure_bounds").status is CheckStatus.FAIL


def test_audit_does_not_modify_its_input() -> None:
    doc = af.portfolio()
    before = copy.deepcopy(doc)
    run_audit(doc)
    assert doc == before


def _with_cap_effect(l1: Any) -> dict[str, Any]:
    doc = af.portfolio()
    doc["profiles"]["hrp"]["diagnostics"]["hrp"] = {
        "cap_effect": {
            "l1": l1,
            "cut": [{"symbol": "AMEX:SHY", "unbounded": 0.804, "final": 0.15}],
            "received": [
                {
                    "symbol": "NYSE:PYPL",
                    "unbounded": 0.0005,
                    "final": 0.15,
                    "volatility": 0.449,
                    "risk_share": 0.64,
                }
            ],
        }
    }
    return doc


def test_cap_effect_is_checked_only_where_the_allocator_records_it() -> None:
    report = run_audit()
    assert not [c for c in report.checks if c.name == "cap_effect"]
    c = check(run_audit(_with_cap_effect(0.4)), "hrp", "cap_effect")
    assert c.status is CheckStatus.PASS and c.severity is CheckSeverity.WARN
    assert c.message == "the caps moved 0.40 of L1 from the unbounded hrp (at most 1.00)"


@pytest.mark.parametrize("l1", [1.31, None])
def test_caps_that_decided_most_of_the_weights_warn(l1: Any) -> None:
    report = run_audit(_with_cap_effect(l1))
    c = check(report, "hrp", "cap_effect")
    assert c.status is CheckStatus.WARN and report.passed
    assert "cut AMEX:SHY 80.4% -> 15.0%" in c.message
    assert "NYSE:PYPL 0.1% -> 15.0% (volatility 44.9%, 64.0% of the risk)" in c.message
    assert c.evidence["allocator"] == "hrp" and c.evidence["limit"] == 1.0
