"""The tournament's engines: honest capabilities, the same inputs for all, checked outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterfolio.backtest.decision import DecisionInputs, decide
from clusterfolio.backtest.engines import (
    CustomEngine,
    CvxportfolioEngine,
    Engine,
    MarketEngine,
    PeerEngine,
    caps_enforced,
    check_gross,
    engine_capabilities,
    make_engine,
)
from clusterfolio.backtest.executors import LocalExecutor
from clusterfolio.backtest.tournament import run_tournament
from clusterfolio.enums import Direction, EngineName, ProfileName, SimulatorName, UniverseMode
from clusterfolio.errors import OptimizationError
from clusterfolio.manifest import Settings
from clusterfolio.optimize import OptimizationProblem, optimize_profile

SPY = "AMEX:SPY"

EXPECTED = {
    EngineName.CUSTOM: set(ProfileName),
    EngineName.SKFOLIO: {
        ProfileName.MIN_VARIANCE,
        ProfileName.HRP,
        ProfileName.RISK_PARITY,
        ProfileName.MAX_SHARPE,
    },
    EngineName.RISKFOLIO: {
        ProfileName.MIN_VARIANCE,
        ProfileName.HRP,
        ProfileName.RISK_PARITY,
        ProfileName.MAX_SHARPE,
    },
    EngineName.PYPORTFOLIOOPT: {ProfileName.MIN_VARIANCE, ProfileName.HRP, ProfileName.MAX_SHARPE},
    EngineName.CVXPORTFOLIO: {ProfileName.MIN_VARIANCE},
    EngineName.MARKET: {ProfileName.MARKET},
}


def returns_frame(n_obs: int = 120, n_assets: int = 8, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    factors = rng.normal(scale=0.01, size=(n_obs, 2))
    loadings = rng.normal(scale=0.8, size=(2, n_assets))
    values = factors @ loadings + rng.normal(scale=0.008, size=(n_obs, n_assets)) + 0.0005
    symbols = [f"NYSE:B{i:02d}" for i in range(n_assets)]
    frame = pd.DataFrame(values, index=pd.bdate_range("2024-01-02", periods=n_obs), columns=symbols)
    frame[SPY] = factors[:, 0] + 0.0002
    return frame


def settings_for(asset_cap: float = 0.3, cluster_cap: float = 0.6) -> Settings:
    settings = Settings()
    settings.risk.regime.window = 20
    settings.risk.regime.baseline = 40
    settings.risk.lookbacks = [60, 120]
    settings.risk.asset_cap = asset_cap
    settings.risk.cluster_cap = cluster_cap
    settings.selection.min_overlap = 10
    settings.data.light_lookback_days = 40
    settings.backtest.universe = UniverseMode.AS_OF_WINNERS  # the engines on a given matrix
    return settings


def decision_for(
    frame: pd.DataFrame, settings: Settings, **directions: Direction
) -> DecisionInputs:
    given = {k.replace("_", ":", 1): v for k, v in directions.items()}
    return decide(frame, given, settings)


def test_capability_table_is_honest() -> None:
    table = engine_capabilities()
    assert {e: set(p) for e, p in table.items()} == EXPECTED
    for supported in table.values():
        assert supported == [p for p in ProfileName if p in supported]  # stable order
    frame = returns_frame()
    settings = settings_for()
    decision = decision_for(frame, settings)
    for engine in EngineName:
        adapter = make_engine(engine, settings)
        assert isinstance(adapter, Engine)
        for profile in set(ProfileName) - EXPECTED[engine]:
            # unsupported pairs answer None before any library is asked
            assert adapter.weights(frame, decision, profile) is None


def test_unsupported_pairs_are_not_applicable_in_the_tournament() -> None:
    settings = settings_for(asset_cap=0.5, cluster_cap=1.0)
    settings.backtest.train = 80
    settings.backtest.test = 20
    settings.backtest.realized_target = 20
    settings.tournament.engines = [EngineName.PYPORTFOLIOOPT, EngineName.MARKET]
    settings.tournament.profiles = [ProfileName.RISK_PARITY, ProfileName.MARKET]
    settings.tournament.simulators = [SimulatorName.IDEALIZED]
    result = run_tournament(returns_frame(), settings, executor=LocalExecutor(1))
    status = {(r["engine"], r["profile"]): r["status"] for r in result.summary["rows"]}
    assert status == {
        ("pyportfolioopt", "risk_parity"): "not_applicable",
        ("pyportfolioopt", "market"): "not_applicable",
        ("market", "risk_parity"): "not_applicable",
        ("market", "market"): "ok",
    }
    assert list(result.returns.columns) == ["market|market|idealized"]
    assert result.outcomes and all(o.engine is EngineName.MARKET for o in result.outcomes)


def test_custom_engine_is_the_step_11_optimiser() -> None:
    frame = returns_frame()
    settings = settings_for()
    decision = decision_for(frame, settings, NYSE_B03=Direction.SHORT)
    engine = CustomEngine(settings)
    for profile in (ProfileName.MIN_VARIANCE, ProfileName.HRP, ProfileName.BARBELL):
        ours = engine.weights(frame, decision, profile)
        assert ours is not None
        problem = OptimizationProblem.from_settings(
            settings.risk,
            returns=decision.synthetic_long(frame),
            clusters=dict(decision.clusters),
            directions=dict(decision.directions),
            execution_scores=dict(decision.execution_scores),
            fragility=dict(decision.fragility),
            antifragility=dict(decision.antifragility),
            regime=decision.regime,
            market_symbol=SPY,
        )
        expected = optimize_profile(problem, profile).weights
        np.testing.assert_array_equal(ours.to_numpy(), expected.to_numpy())
    synth = decision.synthetic_long(frame)
    np.testing.assert_array_equal(synth["NYSE:B03"].to_numpy(), -frame["NYSE:B03"].to_numpy())


def test_market_engine_is_spy_and_never_flipped() -> None:
    frame = returns_frame()
    settings = settings_for()
    decision = decision_for(frame, settings)
    weights = MarketEngine(settings).weights(frame, decision, ProfileName.MARKET)
    assert weights is not None
    assert weights.to_dict() == {SPY: 1.0}
    flipped = DecisionInputs(
        train_start=decision.train_start,
        train_end=decision.train_end,
        symbols=decision.symbols,
        directions={**decision.directions, SPY: Direction.SHORT},
        clusters=decision.clusters,
        threshold=decision.threshold,
        regime=decision.regime,
        regime_score=decision.regime_score,
        fragility={},
        antifragility={},
        execution_scores={},
        baseline=SPY,
    )
    assert flipped.net_weights(weights).to_dict() == {SPY: 1.0}
    custom = CustomEngine(settings).weights(frame, flipped, ProfileName.MARKET)
    assert custom is not None and custom.to_dict() == {SPY: 1.0}


def test_cvxportfolio_min_variance_matches_pyportfolioopt() -> None:
    frame = returns_frame(n_assets=10)
    settings = settings_for(asset_cap=0.2, cluster_cap=0.5)
    decision = decision_for(frame, settings)
    cvx = CvxportfolioEngine(settings).weights(frame, decision, ProfileName.MIN_VARIANCE)
    pypf = PeerEngine(EngineName.PYPORTFOLIOOPT, settings).weights(
        frame, decision, ProfileName.MIN_VARIANCE
    )
    assert cvx is not None and pypf is not None
    checked = check_gross(cvx, list(decision.symbols))
    np.testing.assert_allclose(checked.to_numpy(), pypf.sort_index().to_numpy(), atol=2e-4)
    assert checked.max() <= 0.2 + 1e-6
    by_cluster = checked.groupby(pd.Series(dict(decision.clusters))).sum()
    assert by_cluster.max() <= 0.5 + 1e-6
    assert caps_enforced(EngineName.CVXPORTFOLIO, ProfileName.MIN_VARIANCE) == {
        "asset_cap": True,
        "cluster_cap": True,
    }


def test_a_failing_peer_is_recorded_and_the_others_go_on() -> None:
    frame = returns_frame()
    settings = settings_for(asset_cap=0.05, cluster_cap=1.0)  # 8 assets x 5% < 100%: infeasible
    settings.backtest.train = 80
    settings.backtest.test = 20
    settings.backtest.realized_target = 20
    settings.tournament.engines = [EngineName.PYPORTFOLIOOPT, EngineName.CUSTOM]
    settings.tournament.profiles = [ProfileName.MIN_VARIANCE]
    settings.tournament.simulators = [SimulatorName.IDEALIZED, SimulatorName.REALIZED]
    result = run_tournament(frame, settings, executor=LocalExecutor(1))
    rows = {(r["engine"], r["simulator"]): r for r in result.summary["rows"]}
    peer = rows[("pyportfolioopt", "realized")]
    assert peer["status"] == "failed" and "OptimizationError" in peer["error"]
    custom = rows[("custom", "realized")]
    assert custom["status"] == "ok"
    assert custom["fallbacks"].get("cap_relaxation", 0) >= 1  # relaxed, and recorded
    failed = result.results[result.results["engine"] == "pyportfolioopt"]
    assert (failed["status"] == "failed").all() and failed["period_return"].isna().all()


def test_check_gross() -> None:
    allowed = ["A", "B"]
    tidy = check_gross(pd.Series({"B": 0.6, "A": 0.4 + 1e-5}), allowed)
    assert list(tidy.index) == ["A", "B"] and tidy.sum() == pytest.approx(1.0, abs=1e-15)
    assert check_gross(pd.Series({"A": -1e-8, "B": 1.0}), allowed)["A"] == 0.0
    for bad in (
        pd.Series({"A": -0.1, "B": 1.1}),
        pd.Series({"A": 0.5, "B": 0.4}),
        pd.Series({"A": np.nan, "B": 1.0}),
        pd.Series({"C": 1.0}),
    ):
        with pytest.raises(OptimizationError):
            check_gross(bad, allowed)
