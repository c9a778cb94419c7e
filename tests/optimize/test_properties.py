"""Property tests: every profile gives finite, long-only, fully invested, capped weights."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clusterfolio.enums import Direction, ProfileName, Regime
from clusterfolio.optimize import OptimizationProblem, optimize_all
from clusterfolio.optimize.caps import project_caps, relax_caps
from clusterfolio.optimize.hrp import hrp_weights
from clusterfolio.optimize.risk_parity import risk_budgeting_weights, risk_contributions

PROFILES = list(ProfileName)
SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)


def _random_psd(rng: np.random.Generator, n: int) -> np.ndarray:
    a = rng.normal(size=(n, n + 2))
    vols = rng.uniform(0.05, 0.6, size=n)
    cov = a @ a.T / (n + 2)
    d = np.sqrt(np.diag(cov))
    return cov / np.outer(d, d) * np.outer(vols, vols)


@st.composite
def problems(draw: Any) -> OptimizationProblem:
    n = draw(st.integers(min_value=2, max_value=12))
    n_obs = draw(st.integers(min_value=2 * n + 10, max_value=3 * n + 40))
    seed = draw(st.integers(min_value=0, max_value=2**31 - 1))
    labels = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    asset_cap = draw(st.sampled_from([0.05, 0.1, 0.15, 0.3, 1.0]))
    cluster_cap = draw(st.sampled_from([0.1, 0.25, 0.4, 1.0]))
    with_nan = draw(st.booleans())
    rng = np.random.default_rng(seed)
    cov = _random_psd(rng, n) / 252
    values = rng.multivariate_normal(rng.normal(0.0003, 0.0005, size=n), cov, size=n_obs)
    if with_nan:
        mask = rng.random(values.shape) < 0.08
        mask[:5] = False  # keep overlaps
        values[mask] = np.nan
    symbols = [f"NYSE:S{i:02d}" for i in range(n - 1)] + ["AMEX:SPY"]
    returns = pd.DataFrame(
        values, columns=symbols, index=pd.bdate_range("2020-01-01", periods=n_obs)
    )
    directions = {s: Direction.SHORT if rng.random() < 0.3 else Direction.LONG for s in symbols}
    previous = {s: float(v) for s, v in zip(symbols, rng.dirichlet(np.ones(n)), strict=True)}
    return OptimizationProblem(
        returns=returns,
        clusters=dict(zip(symbols, labels, strict=True)),
        directions=directions,
        execution_scores={s: float(rng.normal()) for s in symbols},
        fragility={str(c): float(rng.uniform()) for c in set(labels)},
        antifragility={s: float(rng.normal()) for s in symbols if rng.random() < 0.9},
        regime=Regime.TURBULENT,
        asset_cap=asset_cap,
        cluster_cap=cluster_cap,
        aggressor_share=draw(st.sampled_from([0.0, 0.05, 0.15, 0.5])),
        n_aggressors=draw(st.integers(0, 4)),
        previous_weights=previous if draw(st.booleans()) else None,
        turnover_cost=0.0006,
        within_cluster_momentum_weight=draw(st.sampled_from([0.0, 0.3, 1.0])),
    )


@SETTINGS
@given(problem=problems())
def test_every_profile_is_valid(problem: OptimizationProblem) -> None:
    results = optimize_all(problem, PROFILES)
    symbols = problem.symbols
    clusters = np.array([problem.clusters[s] for s in symbols])
    for profile, result in results.items():
        w = result.weights
        assert list(w.index) == symbols
        values = w.to_numpy()
        assert np.all(np.isfinite(values)), profile
        assert np.all(values >= 0), profile
        assert abs(values.sum() - 1) < 1e-8, profile
        signs = np.array([problem.directions[s].sign for s in symbols])
        if profile is not ProfileName.MARKET:
            np.testing.assert_allclose(result.net_weights.to_numpy(), values * signs)
            caps = result.diagnostics["effective_caps"]
            assert values.max() <= caps["asset_cap"] + 1e-9, profile
            totals = pd.Series(values).groupby(clusters).sum()
            assert totals.max() <= caps["cluster_cap"] + 1e-9, profile
            relaxed = {r.get("cap") for r in result.fallbacks if r.is_kind("cap_relaxation")}
            if "asset_cap" not in relaxed:
                assert caps["asset_cap"] == problem.asset_cap
            if "cluster_cap" not in relaxed:
                assert caps["cluster_cap"] == problem.cluster_cap
        assert sum(result.cluster_gross.values()) == pytest_approx(1.0)
    barbell = results[ProfileName.BARBELL].diagnostics["barbell"]
    assert not set(barbell["aggressors"]) & set(barbell["core"])
    assert set(barbell["aggressors"]) | set(barbell["core"]) == set(symbols)
    agg_clusters = [problem.clusters[s] for s in barbell["aggressors"]]
    assert len(agg_clusters) == len(set(agg_clusters))


def pytest_approx(value: float) -> Any:
    import pytest

    return pytest.approx(value, abs=1e-9)


@SETTINGS
@given(
    n=st.integers(2, 30),
    seed=st.integers(0, 2**31 - 1),
    linkage=st.sampled_from(["ward", "single", "average", "complete"]),
)
def test_hrp_and_erc_on_random_psd(n: int, seed: int, linkage: str) -> None:
    rng = np.random.default_rng(seed)
    cov = _random_psd(rng, n)
    d = np.sqrt(np.diag(cov))
    w, order = hrp_weights(cov, cov / np.outer(d, d), linkage_method=linkage)
    assert sorted(order.tolist()) == list(range(n))
    assert np.all(w > 0) and abs(w.sum() - 1) < 1e-12
    erc, _ = risk_budgeting_weights(cov)
    np.testing.assert_allclose(risk_contributions(erc, cov), 1 / n, rtol=1e-6)


@SETTINGS
@given(
    n=st.integers(1, 25),
    seed=st.integers(0, 2**31 - 1),
    asset_cap=st.floats(0.01, 1.0),
    cluster_cap=st.floats(0.01, 1.0),
)
def test_projection_respects_relaxed_caps(
    n: int, seed: int, asset_cap: float, cluster_cap: float
) -> None:
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, max(1, n // 2), size=n)
    _, groups = np.unique(groups, return_inverse=True)
    k = np.bincount(groups).astype(float)
    relaxed = relax_caps(asset_cap, cluster_cap, k)
    w = rng.dirichlet(np.ones(n) * 0.5)
    out, record = project_caps(
        w, groups, np.full(n, relaxed.asset_cap), np.full(k.size, relaxed.cluster_cap)
    )
    assert abs(out.sum() - 1) < 1e-12 and np.all(out >= 0)
    assert out.max() <= relaxed.asset_cap + 1e-12
    assert np.bincount(groups, weights=out).max() <= relaxed.cluster_cap + 1e-12
    if not record["applied"]:
        np.testing.assert_array_equal(out, w)
