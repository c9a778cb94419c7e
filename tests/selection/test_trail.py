"""The decision trail: merged listings, the audit report and ``explain``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from selection_market import BASELINE, Market

from clusterfolio.io import atomic_write_json, atomic_write_parquet
from clusterfolio.manifest import SelectionSettings
from clusterfolio.selection.natural import SelectionResult, natural_selection
from clusterfolio.selection.trail import absorbed_decisions, audit_markdown, explain


def _pool_doc(market: Market) -> dict[str, Any]:
    identities = []
    for rec in market.pool.to_dict(orient="records"):
        alts = []
        if rec["symbol"] == "NASDAQ:EQ0":
            alts = [
                {"symbol": "BATS:EQ0", "identity": "EQ0", "asset_class": "equity", "is_lead": False}
            ]
        identities.append({**rec, "alternatives": alts})
    return {
        "identities": identities,
        "decisions": [
            {
                "subject": "BATS:EQ0",
                "action": "merged",
                "reason": "merged into EQ0 (lead NASDAQ:EQ0)",
                "details": {},
            },
            {
                "subject": "OTHER",
                "action": "dropped_class_cap",
                "reason": "rank 401 in equity exceeds the cap 400",
                "details": {"lead": "NYSE:OTHER"},
            },
        ],
    }


@pytest.fixture
def run(tmp_path: Path, three_blocks: Market) -> tuple[Path, SelectionResult, dict[str, Any]]:
    result = natural_selection(
        three_blocks.pool,
        three_blocks.returns,
        three_blocks.screener,
        settings=SelectionSettings(top_n=2),
        xs_momentum=False,
        baseline=BASELINE,
    )
    doc = _pool_doc(three_blocks)
    atomic_write_parquet(tmp_path / "selection.parquet", result.candidates, index=False)
    atomic_write_json(tmp_path / "raw_pool.json", doc)
    winners = [
        {**w, "sector": "Tech", "industry": "Chips", "description": "d", "enrichment_source": "x"}
        for w in result.winners
    ]
    atomic_write_json(tmp_path / "winners.json", {"winners": winners})
    return tmp_path, result, doc


def test_absorbed_listings_inherit_their_identity_fate(
    run: tuple[Path, SelectionResult, dict[str, Any]],
) -> None:
    _, result, doc = run
    (d,) = absorbed_decisions(result.candidates, doc)
    assert d["subject"] == "BATS:EQ0" and d["action"] == "absorbed"
    assert d["details"]["lead"] == "NASDAQ:EQ0"
    assert d["details"]["identity_fate"] == result.fate_of("NASDAQ:EQ0")
    assert "merged by the raw pool into identity EQ0" in d["reason"]


def test_audit_lists_every_candidate(run: tuple[Path, SelectionResult, dict[str, Any]]) -> None:
    _, result, doc = run
    text = audit_markdown(
        result, absorbed=absorbed_decisions(result.candidates, doc), upstream=doc["decisions"][1:]
    )
    for symbol in result.candidates["symbol"]:
        assert f"| {symbol} |" in text
    for heading in ("## Winners", "## Every candidate", "## Clusters", "## Merged listings"):
        assert heading in text
    assert "dropped_class_cap" in text and "BATS:EQ0" in text
    assert text == audit_markdown(
        result, absorbed=absorbed_decisions(result.candidates, doc), upstream=doc["decisions"][1:]
    )


def test_explain_in_and_out(run: tuple[Path, SelectionResult, dict[str, Any]]) -> None:
    run_dir, result, _ = run
    cand = result.candidates
    winner = str(cand.loc[cand["fate"] == "selected", "symbol"].iloc[0])
    loser_row = cand[cand["fate"] == "below_top_n"].iloc[0]
    loser = str(loser_row["symbol"])
    text_in = explain(winner, run_dir)
    assert text_in.startswith(f"{winner} (identity")
    assert ": IN - selected: rank" in text_in
    assert "Enrichment (x): sector Tech" in text_in
    text_out = explain(loser, run_dir)
    assert ": OUT - below_top_n" in text_out
    kept = cand[(cand["cluster"] == loser_row["cluster"]) & (cand["fate"] == "selected")]
    for symbol in kept["symbol"]:
        assert symbol in text_out  # names who beat it
    assert "Ranking of its LONG candidates: 1. " in text_out
    # by identity and by ticker, case-insensitive
    assert explain(loser.split(":")[1].lower(), run_dir) == text_out
    base = explain("spy", run_dir)
    assert "IN - baseline" in base and "always carried" in base


def test_explain_merged_upstream_and_unknown(
    run: tuple[Path, SelectionResult, dict[str, Any]],
) -> None:
    run_dir, _, _ = run
    merged = explain("BATS:EQ0", run_dir)
    assert merged.startswith("BATS:EQ0 is an alternative listing of identity EQ0")
    assert "NASDAQ:EQ0 (identity EQ0" in merged
    upstream = explain("NYSE:OTHER", run_dir)
    assert "never reached natural selection: dropped_class_cap" in upstream
    assert "not in the raw pool" in explain("NYSE:NOWHERE", run_dir)


def test_explain_needs_the_selection_table(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        explain("X", tmp_path)
