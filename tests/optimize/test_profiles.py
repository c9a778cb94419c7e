"""Behaviour of the profiles: fragility, turnover, barbell, market, hybrid, results."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from clusterfolio.enums import Direction, ProfileName, Regime
from clusterfolio.errors import ConfigError, DataError, OptimizationError
from clusterfolio.io import canonical_json
from clusterfolio.manifest import RiskSettings
from clusterfolio.optimize import (
    AllocationLevel,
    OptimizationProblem,
    optimize_all,
    optimize_profile,
)
from clusterfolio.optimize.hybrid import hybrid_weights


@pytest.fixture
def returns(make_returns: Any) -> pd.DataFrame:
    return make_returns(18, 300, seed=5)


# ------------------------------------------------------------------------------ fragility


def test_fragility_penalty_diverts_weight_from_fragile_clusters(
    returns: pd.DataFrame, make_problem: Any
) -> None:
    symbols = sorted(returns.columns)
    clusters = {s: i % 6 for i, s in enumerate(symbols)}
    fragile = {"0": 1.0, "1": 0.0, "2": 0.0, "3": 0.0, "4": 0.0, "5": 0.0}
    base = make_problem(returns, clusters=clusters, fragility=fragile, fragility_penalty=0.0)
    penal = make_problem(returns, clusters=clusters, fragility=fragile, fragility_penalty=2.0)
    w0 = optimize_profile(base, ProfileName.MIN_VARIANCE)
    w1 = optimize_profile(penal, ProfileName.MIN_VARIANCE)
    assert w1.cluster_gross[0] < w0.cluster_gross[0] - 1e-3
    assert (
        w1.diagnostics["portfolio"]["fragility_exposure"]
        < w0.diagnostics["portfolio"]["fragility_exposure"]
    )
    assert w1.diagnostics["objective"]["fragility_term"] >= 0


def test_symbol_fragility_wins_over_cluster_fragility(
    returns: pd.DataFrame, make_problem: Any
) -> None:
    symbols = sorted(returns.columns)
    fragility = {"0": 0.9, symbols[0]: 0.1}
    clusters = {s: i % 3 for i, s in enumerate(symbols)}
    problem = make_problem(returns, clusters=clusters, fragility=fragility)
    result = optimize_profile(problem, ProfileName.EQUAL_WEIGHT)
    missing = result.diagnostics["missing_inputs"]["fragility"]
    assert symbols[0] not in missing and symbols[3] not in missing  # cluster 0 key
    assert symbols[1] in missing  # cluster 1 has no entry
    exposure = result.diagnostics["portfolio"]["fragility_exposure"]
    expected = (0.1 + 0.9 * (len([s for s in symbols if clusters[s] == 0]) - 1)) / len(symbols)
    assert exposure == pytest.approx(expected)


# ------------------------------------------------------------------------------- turnover


def _turnover_problem(
    returns: pd.DataFrame, make_problem: Any, cost: float | None, **kw: Any
) -> OptimizationProblem:
    symbols = sorted(returns.columns)
    previous = {s: 1 / len(symbols) for s in symbols}
    return make_problem(returns, previous_weights=previous, turnover_cost=cost, **kw)


@pytest.mark.parametrize("level", [AllocationLevel.ASSET, AllocationLevel.CLUSTER])
def test_turnover_penalty_pulls_toward_previous_weights(
    returns: pd.DataFrame, make_problem: Any, level: AllocationLevel
) -> None:
    levels = {ProfileName.MIN_VARIANCE: level}
    free = optimize_profile(
        _turnover_problem(returns, make_problem, None, allocation_levels=levels),
        ProfileName.MIN_VARIANCE,
    )
    real = optimize_profile(
        _turnover_problem(returns, make_problem, 0.0006, allocation_levels=levels),
        ProfileName.MIN_VARIANCE,
    )
    strong = optimize_profile(
        _turnover_problem(returns, make_problem, 0.05, allocation_levels=levels),
        ProfileName.MIN_VARIANCE,
    )
    d_free = free.diagnostics["turnover"]["l1_to_previous"]
    d_real = real.diagnostics["turnover"]["l1_to_previous"]
    d_strong = strong.diagnostics["turnover"]["l1_to_previous"]
    # a realistic cost (6 bp) changes the solution, and moves it toward the previous weights
    assert np.abs(real.weights - free.weights).sum() > 1e-4
    assert real.diagnostics["turnover_penalty"]["active"] is True
    assert real.diagnostics["turnover_penalty"]["inactive"] is False
    assert real.diagnostics["turnover_penalty"]["effect_l1"] > 1e-4
    assert d_strong < d_real < d_free
    assert free.diagnostics["turnover_penalty"]["active"] is False


def test_turnover_penalty_that_cannot_change_anything_is_detected(
    returns: pd.DataFrame, make_problem: Any
) -> None:
    zero = optimize_profile(_turnover_problem(returns, make_problem, 0.0), ProfileName.MIN_VARIANCE)
    assert zero.diagnostics["turnover_penalty"]["active"] is False
    assert "cannot change anything" in zero.diagnostics["turnover_penalty"]["reason"]
    # previous weights equal to the unpenalised optimum: the penalty has nothing to pull toward
    free = optimize_profile(make_problem(returns), ProfileName.MIN_VARIANCE)
    at_optimum = make_problem(
        returns, previous_weights=free.weights.to_dict(), turnover_cost=0.0006
    )
    result = optimize_profile(at_optimum, ProfileName.MIN_VARIANCE)
    assert result.diagnostics["turnover_penalty"]["inactive"] is True
    assert result.diagnostics["turnover_penalty"]["effect_l1"] < 1e-6


# -------------------------------------------------------------------------------- barbell


def test_barbell_aggressors_are_most_antifragile_of_distinct_clusters(
    returns: pd.DataFrame, make_problem: Any
) -> None:
    symbols = sorted(returns.columns)
    clusters = {s: i // 3 for i, s in enumerate(symbols)}  # 6 clusters of 3
    anti = {s: float(len(symbols) - i) for i, s in enumerate(symbols)}  # best: symbols[0], [1], ...
    problem = make_problem(
        returns, clusters=clusters, antifragility=anti, aggressor_share=0.15, n_aggressors=3
    )
    result = optimize_profile(problem, ProfileName.BARBELL)
    info = result.diagnostics["barbell"]
    assert info["aggressors"] == [symbols[0], symbols[3], symbols[6]]
    assert not set(info["aggressors"]) & set(info["core"])
    for s in info["aggressors"]:
        assert result.weights[s] == pytest.approx(0.05)
    assert result.weights[info["core"]].sum() == pytest.approx(0.85)
    for c, total in result.cluster_gross.items():
        assert total <= problem.cluster_cap + 1e-12, c


def test_barbell_records_fewer_aggressors(returns: pd.DataFrame, make_problem: Any) -> None:
    symbols = sorted(returns.columns)
    clusters = {s: 0 if i < 12 else 1 for i, s in enumerate(symbols)}
    problem = make_problem(
        returns, clusters=clusters, n_aggressors=3, cluster_cap=1.0, asset_cap=1.0
    )
    result = optimize_profile(problem, ProfileName.BARBELL)
    assert len(result.diagnostics["barbell"]["aggressors"]) == 2
    assert "barbell_aggressors" in result.fallback_kinds


def test_barbell_share_reduced_when_an_aggressor_would_break_its_cap(
    returns: pd.DataFrame, make_problem: Any
) -> None:
    problem = make_problem(returns, n_aggressors=1, aggressor_share=0.3, asset_cap=0.1)
    result = optimize_profile(problem, ProfileName.BARBELL)
    assert "barbell_share" in result.fallback_kinds
    assert result.diagnostics["barbell"]["aggressor_share"] == pytest.approx(0.1)
    assert result.weights.max() <= 0.1 + 1e-12


# --------------------------------------------------------------------------------- market


def test_market_is_all_spy_and_never_flipped(returns: pd.DataFrame, make_problem: Any) -> None:
    directions = {s: Direction.SHORT for s in returns.columns}
    result = optimize_profile(make_problem(returns, directions=directions), ProfileName.MARKET)
    assert result.weights["AMEX:SPY"] == 1.0 and result.weights.sum() == 1.0
    assert result.net_weights["AMEX:SPY"] == 1.0
    assert "never flipped" in result.diagnostics["market"]["note"]


def test_market_without_spy_names_it(make_returns: Any, make_problem: Any) -> None:
    problem = make_problem(make_returns(5, 100, with_market=False))
    with pytest.raises(OptimizationError, match="AMEX:SPY"):
        optimize_profile(problem, ProfileName.MARKET)


# ------------------------------------------------------------------------ net, hybrid, io


def test_net_weights_follow_directions(returns: pd.DataFrame, make_problem: Any) -> None:
    symbols = sorted(returns.columns)
    directions = {s: Direction.SHORT if i % 2 else Direction.LONG for i, s in enumerate(symbols)}
    problem = make_problem(returns, directions=directions)
    result = optimize_profile(problem, ProfileName.HRP)
    for s in symbols:
        assert result.net_weights[s] == pytest.approx(directions[s].sign * result.weights[s])
    for c, net in result.cluster_net.items():
        members = [s for s in symbols if problem.clusters[s] == c]
        assert net == pytest.approx(result.net_weights[members].sum())
        assert result.cluster_gross[c] == pytest.approx(result.weights[members].sum())


def test_hybrid_weights_blend_stability_and_momentum() -> None:
    variances = np.array([0.04, 0.01, 0.09, 0.02])
    scores = np.array([1.0, 0.0, 3.0, -1.0])
    groups = np.array([0, 0, 0, 1])
    pure_stability = hybrid_weights(variances, scores, groups, 0.0).weights
    np.testing.assert_allclose(pure_stability[:3], np.array([25, 100, 100 / 9]) / (125 + 100 / 9))
    pure_momentum = hybrid_weights(variances, scores, groups, 1.0)
    np.testing.assert_allclose(pure_momentum.weights[:3], [0.25, 0.0, 0.75])
    assert pure_momentum.weights[3] == 1.0
    half = hybrid_weights(variances, scores, groups, 0.5).weights
    np.testing.assert_allclose(half[:3], 0.5 * pure_stability[:3] + 0.5 * pure_momentum.weights[:3])
    flat = hybrid_weights(variances, np.array([-1.0, -2.0, 0.0, 1.0]), groups, 1.0)
    assert flat.equal_momentum_clusters == [0]
    np.testing.assert_allclose(flat.weights[:3], 1 / 3)


def test_cluster_level_spreads_each_cluster_by_hybrid_weights(
    returns: pd.DataFrame, make_problem: Any
) -> None:
    result = optimize_profile(make_problem(returns, n_clusters=5), ProfileName.MIN_VARIANCE)
    within = result.diagnostics["within_cluster"]["weights"]
    clusters = make_problem(returns, n_clusters=5).clusters
    for s, w in result.weights.items():
        total = result.cluster_gross[clusters[s]]
        assert w == pytest.approx(total * within[s], abs=1e-10)


def test_to_dict_is_json_ready(returns: pd.DataFrame, make_problem: Any) -> None:
    results = optimize_all(make_problem(returns), list(ProfileName))
    for result in results.values():
        payload = result.to_dict()
        assert json.loads(canonical_json(payload)) == json.loads(json.dumps(payload))
        assert payload["profile"] == result.profile.value
        assert list(payload["weights"]) == sorted(payload["weights"])


# ----------------------------------------------------------------------------- validation


def test_problem_validation(returns: pd.DataFrame, make_problem: Any) -> None:
    with pytest.raises(ConfigError, match="asset_cap"):
        make_problem(returns, asset_cap=0.0)
    with pytest.raises(ConfigError, match="aggressor_share"):
        make_problem(returns, aggressor_share=0.8)
    with pytest.raises(ConfigError, match="fragility"):
        make_problem(returns, fragility={"0": 1.5})
    with pytest.raises(ConfigError, match="hrp is asset-level"):
        make_problem(returns, allocation_levels={ProfileName.HRP: AllocationLevel.CLUSTER})
    clusters = {s: 0 for s in list(returns.columns)[1:]}
    with pytest.raises(DataError, match="no cluster"):
        make_problem(returns, clusters=clusters)


def test_from_settings_reads_the_regime_share(returns: pd.DataFrame) -> None:
    symbols = list(returns.columns)
    problem = OptimizationProblem.from_settings(
        RiskSettings(),
        returns=returns,
        clusters={s: 0 for s in symbols},
        directions={s: Direction.LONG for s in symbols},
        execution_scores={},
        fragility={},
        antifragility={},
        regime=Regime.CRISIS,
    )
    assert problem.aggressor_share == 0.05
    assert problem.cluster_cap == 0.25 and problem.asset_cap == 0.15


def test_cluster_level_caps_the_hybrid_instead_of_relaxing(
    make_returns: Any, make_problem: Any
) -> None:
    returns = make_returns(15, 300, seed=8)
    symbols = sorted(returns.columns)
    clusters = {s: i // 3 for i, s in enumerate(symbols)}  # 5 clusters of 3
    scores = {s: 1.0 if i % 3 == 0 else 0.0 for i, s in enumerate(symbols)}
    problem = make_problem(
        returns,
        clusters=clusters,
        execution_scores=scores,
        within_cluster_momentum_weight=1.0,  # raw hybrid (1, 0, 0): bound 0.15 per cluster
        asset_cap=0.15,
        cluster_cap=0.25,
    )
    for profile in (ProfileName.MIN_VARIANCE, ProfileName.MAX_SHARPE, ProfileName.RISK_PARITY):
        result = optimize_profile(problem, profile)
        assert "cap_relaxation" not in result.fallback_kinds, profile
        within = result.diagnostics["within_cluster"]
        assert sorted(within["hybrid_capped_clusters"]) == [0, 1, 2, 3, 4]
        assert within["weights"][symbols[0]] == pytest.approx(0.6)
        assert result.weights.max() <= 0.15 + 1e-9
        assert max(result.cluster_gross.values()) <= 0.25 + 1e-9
