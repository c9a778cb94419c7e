"""Steps 5 and 6 in a real (tiny) run: discovery -> light pass -> selection -> enrichment -> deep.

The orchestrator runs the registered data steps plus the two selection steps on the tiny
synthetic market of the crash-safety test, then the deep pass, which must read ``winners.json``.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from clusterfolio.enums import StepStatus
from clusterfolio.io import read_json, read_parquet
from clusterfolio.manifest import load
from clusterfolio.pipeline.context import default_provider
from clusterfolio.pipeline.registry import StepRegistry
from clusterfolio.pipeline.runner import Orchestrator
from clusterfolio.pipeline.steps import cleanup, discovery, prep
from clusterfolio.pipeline.steps.selection import ENRICHMENT, SELECTION, WINNER_KEYS
from clusterfolio.selection.trail import explain

TINY = [
    "data.synthetic.n_equities=11",
    "data.synthetic.n_etfs=4",
    "data.synthetic.n_crypto_coins=2",
    "data.synthetic.n_forex=2",
    "data.lookback_days=80",
    "data.light_lookback_days=30",
    "backtest.train=40",
    "backtest.realized_target=20",
]
AS_OF = date(2026, 11, 20)
MINE = (
    "selection.parquet",
    "selected.json",
    "antifragility_light.parquet",
    "selection_audit.md",
    "winners.json",
)


def _registry() -> StepRegistry:
    registry = StepRegistry()
    for step in (
        cleanup.STEP,
        discovery.DISCOVERY,
        discovery.AGGREGATION,
        prep.LIGHT,
        SELECTION,
        ENRICHMENT,
        prep.DEEP,
    ):
        registry.register(step)
    return registry


def _orchestrator(root: Path, repo_root: Path) -> Orchestrator:
    manifest = load(repo_root / "configs" / "manifest.json", "development", TINY, environ={})
    return Orchestrator(
        _registry(),
        manifest,
        project_root=root,
        as_of=AS_OF,
        provider_factory=default_provider,
        config_root=repo_root,
    )


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("selection_run")
    ledger = _orchestrator(root, repo_root).run()
    assert ledger.status is StepStatus.COMPLETED
    return root, root / "data" / "runs" / ledger.run_id


def test_artifacts_and_decisions(tiny_run: tuple[Path, Path]) -> None:
    _, run_dir = tiny_run
    for name in MINE:
        assert (run_dir / name).is_file(), name
    pool = read_parquet(run_dir / "raw_pool.parquet")
    table = read_parquet(run_dir / "selection.parquet")
    assert set(pool["symbol"]) <= set(table["symbol"])
    assert "AMEX:SPY" in set(table["symbol"])
    assert table["fate"].notna().all() and (table["reason"].str.len() > 0).all()
    afx = read_parquet(run_dir / "antifragility_light.parquet")
    assert set(afx.index) == set(table["symbol"])
    assert {"skew", "cvar_95", "max_drawdown", "fragility"} <= set(afx.columns)
    log = [json.loads(line) for line in (run_dir / "decision_log.jsonl").read_text().splitlines()]
    mine = [d for d in log if d["step"] == "natural_selection"]
    per_candidate = {d["subject"]: d for d in mine if d["subject"] in set(table["symbol"])}
    assert set(per_candidate) == set(table["symbol"])
    for rec in table.to_dict(orient="records"):
        assert per_candidate[rec["symbol"]]["action"] == rec["fate"]
    audit = (run_dir / "selection_audit.md").read_text()
    assert "# Natural selection audit" in audit
    ledger = read_json(run_dir / "run_manifest.json")
    counts = ledger["steps"]["natural_selection"]["counts"]
    assert counts["candidates"] == len(table)


def test_winners_feed_the_deep_pass(tiny_run: tuple[Path, Path]) -> None:
    _, run_dir = tiny_run
    winners = read_json(run_dir / "winners.json")["winners"]
    selected = read_json(run_dir / "selected.json")["winners"]
    assert [w["symbol"] for w in winners] == [w["symbol"] for w in selected]
    for w in winners:
        assert set(w) == set(WINNER_KEYS)
        assert w["sector"] and w["industry"] and w["description"]
        assert w["enrichment_source"] in {"provider", "provider+fallback", "fallback"}
    assert [w["symbol"] for w in winners if w["baseline"]] == ["AMEX:SPY"]
    deep = read_json(run_dir / "sync_deep.json")
    assert deep["symbols"] == [w["symbol"] for w in winners]
    returns = read_parquet(run_dir / "returns_deep.parquet")
    assert list(returns.columns) == [w["symbol"] for w in winners]
    log = [json.loads(line) for line in (run_dir / "decision_log.jsonl").read_text().splitlines()]
    enrichment = [d for d in log if d["step"] == "enrichment"]
    fell_back = [w["symbol"] for w in winners if w["enrichment_source"] != "provider"]
    assert sorted(d["subject"] for d in enrichment) == sorted(fell_back)
    assert all(d["reason"].startswith("enrichment fallback") for d in enrichment)


def test_rerun_is_byte_identical_and_resume_skips(
    tiny_run: tuple[Path, Path], repo_root: Path
) -> None:
    root, run_dir = tiny_run
    before = {name: (run_dir / name).read_bytes() for name in MINE}
    orchestrator = _orchestrator(root, repo_root)
    orchestrator.run(only="natural_selection")
    orchestrator.run(only="enrichment")
    after = {name: (run_dir / name).read_bytes() for name in MINE}
    assert after == before
    ledger = _orchestrator(root, repo_root).run(resume=run_dir.name)
    assert ledger.steps["natural_selection"].resumed
    assert ledger.steps["enrichment"].resumed


def test_explain_answers_from_the_run(tiny_run: tuple[Path, Path]) -> None:
    _, run_dir = tiny_run
    table = read_parquet(run_dir / "selection.parquet")
    winner = table.loc[table["fate"] == "selected", "symbol"].iloc[0]
    text = explain(str(winner), run_dir)
    assert ": IN - selected" in text and "Enrichment (" in text
    out = table[~table["selected"].astype(bool)]
    if not out.empty:
        assert ": OUT - " in explain(str(out["symbol"].iloc[0]), run_dir)
