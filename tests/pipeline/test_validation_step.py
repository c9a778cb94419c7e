"""Step 12 (validation): the tournament on a run's artifacts, after the real steps 9 to 11."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterfolio.enums import EngineName, ProfileName, SimulatorName, StepName, UniverseMode
from clusterfolio.io import atomic_write_json, atomic_write_parquet, read_json
from clusterfolio.manifest import ResolvedManifest, Settings
from clusterfolio.pipeline.context import RunContext, StepRecorder
from clusterfolio.pipeline.steps import optimization, risk, validation

SPY = "AMEX:SPY"
OUTPUTS = (
    "tournament_results.parquet",
    "tournament_summary.json",
    "tournament_returns.parquet",
    "tournament_weights.parquet",
)


def audited_returns(n_obs: int = 150, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    factors = rng.normal(scale=0.01, size=(n_obs, 3))
    loadings = np.kron(np.eye(3), np.ones((1, 3)))  # three blocks of three
    values = factors @ loadings + rng.normal(scale=0.006, size=(n_obs, 9)) + 0.0004
    symbols = [f"NASDAQ:C{i:02d}" for i in range(9)]
    index = pd.bdate_range("2025-01-02", periods=n_obs, name="session")
    frame = pd.DataFrame(values, index=index, columns=pd.Index(symbols, name="symbol"))
    frame[SPY] = factors.mean(axis=1) + 0.0003
    frame.iloc[60, :] = np.nan
    return frame


def tiny_settings(decay_audit: bool = False) -> Settings:
    settings = Settings()
    settings.backtest.train = 80
    settings.backtest.realized_target = 40
    settings.backtest.universe = UniverseMode.AS_OF_WINNERS  # the step on given artifacts
    settings.risk.regime.window = 20
    settings.risk.regime.baseline = 40
    settings.risk.lookbacks = [40, 80]
    settings.risk.asset_cap = 0.3
    settings.risk.cluster_cap = 0.5
    settings.risk.profiles = [ProfileName.HRP, ProfileName.EQUAL_WEIGHT, ProfileName.MARKET]
    settings.selection.min_overlap = 10
    settings.data.light_lookback_days = 30
    settings.tournament.engines = [EngineName.CUSTOM, EngineName.MARKET]
    settings.tournament.profiles = [ProfileName.HRP, ProfileName.EQUAL_WEIGHT, ProfileName.MARKET]
    settings.tournament.simulators = [SimulatorName.IDEALIZED, SimulatorName.REALIZED]
    settings.tournament.n_jobs = 1
    settings.features.feat_decay_audit = decay_audit
    return settings


def context(root: Path, settings: Settings, step: StepName) -> RunContext:
    run_dir = root / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    return RunContext(
        manifest=ResolvedManifest(profile="test", settings=settings),
        run_id="test",
        run_dir=run_dir,
        project_root=root,
        as_of=date(2025, 8, 1),
        logger=logging.getLogger("test.validation"),
        provider_factory=lambda ctx: (_ for _ in ()).throw(AssertionError("no provider")),
        recorder=StepRecorder(step.value),
    )


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run folder after steps 9 to 11 on a tiny audited matrix, with winners."""
    settings = tiny_settings()
    ctx = context(tmp_path, settings, StepName.FACTOR_ANALYSIS)
    atomic_write_parquet(ctx.artifact("returns.parquet"), audited_returns())
    atomic_write_json(
        ctx.artifact("winners.json"),
        {"winners": [{"symbol": "NASDAQ:C04", "direction": "SHORT", "execution_score": 0.5}]},
    )
    risk.run_factor_analysis(ctx)
    risk.run_regime(context(tmp_path, settings, StepName.REGIME_DETECTION))
    optimization.run(context(tmp_path, settings, StepName.OPTIMIZATION))
    return ctx.run_dir


def test_step_metadata() -> None:
    step = validation.STEP
    assert step.name is StepName.VALIDATION
    assert step.reads == (
        "returns.parquet",
        "clusters.json",
        "regime.json",
        "antifragility.parquet",
        "portfolio_optimized.json",
    )
    assert step.optional_reads == ("winners.json", "raw_pool.parquet")
    assert step.writes == OUTPUTS
    assert step.uses_data  # point_in_time reads every listing's stored candles
    assert set(step.config_sections) >= {"backtest", "tournament", "risk", "features", "selection"}


def test_step_writes_the_tournament_and_is_byte_identical(run_dir: Path) -> None:
    root = run_dir.parent
    ctx = context(root, tiny_settings(), StepName.VALIDATION)
    validation.run(ctx)
    first = {name: (run_dir / name).read_bytes() for name in OUTPUTS}
    assert not (run_dir / "slippage_decay.json").exists()
    summary = read_json(run_dir / "tournament_summary.json")
    assert summary["live_parity"]["checked"] is True
    assert all(summary["live_parity"][k] for k in ("clusters", "regime", "threshold", "statistics"))
    assert summary["live_profiles"] == ["equal_weight", "hrp", "market"]
    for window in summary["windows"]:
        assert window["decision"]["short"] == ["NASDAQ:C04"]
    weights = pd.read_parquet(run_dir / "tournament_weights.parquet")
    short = weights[weights["symbol"] == "NASDAQ:C04"]
    assert not short.empty and (short["net"] < 0).all()
    assert ctx.recorder.counts["windows"] == 2
    flags = summary["plausibility"]["flags"]
    assert ctx.recorder.counts["suspicious"] == sum(f["simulator"] == "realized" for f in flags)
    assert any(k.startswith("seconds_engine_") for k in ctx.recorder.counts)
    assert ctx.recorder.warnings == [validation.AS_OF_WINNERS_WARNING]  # labelled look-ahead
    assert summary["settings"]["universe"] == "as_of_winners"
    again = context(root, tiny_settings(), StepName.VALIDATION)
    validation.run(again)
    assert {name: (run_dir / name).read_bytes() for name in OUTPUTS} == first


def test_decay_audit_flag_writes_and_removes_the_analysis(run_dir: Path) -> None:
    root = run_dir.parent
    validation.run(context(root, tiny_settings(decay_audit=True), StepName.VALIDATION))
    audit = read_json(run_dir / "slippage_decay.json")
    assert {r["engine"] for r in audit["rows"]} == {"custom", "market"}
    validation.run(context(root, tiny_settings(decay_audit=False), StepName.VALIDATION))
    assert not (run_dir / "slippage_decay.json").exists()
