"""Parity of the custom engine with skfolio and PyPortfolioOpt on the same covariance.

Tolerances (stated): hrp 1e-8 (observed ~1e-17); bounded hrp (per-asset min/max weights) 1e-10
(observed ~1e-17); capped risk parity vs skfolio's ``RiskBudgeting(max_weights)`` 1e-5; min_variance 1e-6 in weights; risk_parity
risk contributions equal to 1e-6 relative, weights vs skfolio's risk budgeting 1e-6;
max_sharpe vs PyPortfolioOpt 1e-5 in weights (interior-point tolerances of two solves).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from clusterfolio.enums import ProfileName
from clusterfolio.optimize import AllocationLevel, covariance, expected_returns, optimize_profile
from clusterfolio.optimize.estimators import correlation_from_covariance
from clusterfolio.optimize.hrp import hrp_weights
from clusterfolio.optimize.risk_parity import risk_contributions

skfolio = pytest.importorskip("skfolio")
pypfopt = pytest.importorskip("pypfopt")

ASSET = {
    ProfileName.MIN_VARIANCE: AllocationLevel.ASSET,
    ProfileName.RISK_PARITY: AllocationLevel.ASSET,
    ProfileName.MAX_SHARPE: AllocationLevel.ASSET,
}
NO_CAPS: dict[str, Any] = {"asset_cap": 1.0, "cluster_cap": 1.0, "fragility_penalty": 0.0}
# skfolio's default Clarabel tolerances leave ~4e-5 in the weights; tighten them for parity
TIGHT = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}


def _fixed_prior(cov: np.ndarray, mu: np.ndarray | None = None) -> Any:
    """An skfolio prior whose covariance (and mean) are exactly ours, in daily units."""
    from skfolio.moments import BaseCovariance, BaseMu
    from skfolio.prior import EmpiricalPrior

    class FixedCovariance(BaseCovariance):
        def fit(self, X: Any, y: Any = None, **kwargs: Any) -> FixedCovariance:
            self.covariance_ = cov.copy()
            return self

    class FixedMu(BaseMu):
        def __init__(self) -> None:
            pass

        def fit(self, X: Any, y: Any = None, **kwargs: Any) -> FixedMu:
            self.mu_ = mu.copy()  # type: ignore[union-attr]
            return self

    if mu is None:
        return EmpiricalPrior(covariance_estimator=FixedCovariance())
    return EmpiricalPrior(covariance_estimator=FixedCovariance(), mu_estimator=FixedMu())


def _ours(returns: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    cov = covariance(returns).matrix.to_numpy()
    mu = expected_returns(returns).to_numpy()
    return cov, mu


@pytest.fixture
def returns(make_returns: Any) -> pd.DataFrame:
    frame = make_returns(24, 400, seed=11)
    return frame[sorted(frame.columns)]


# ---------------------------------------------------------------------------------------- hrp


@pytest.mark.parametrize(
    ("linkage", "optimal"),
    [("ward", False), ("single", False), ("average", False), ("ward", True)],
)
def test_hrp_equals_skfolio(
    returns: pd.DataFrame, make_problem: Any, linkage: str, optimal: bool
) -> None:
    from skfolio.cluster import HierarchicalClustering, LinkageMethod
    from skfolio.distance import PearsonDistance
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import HierarchicalRiskParity
    from skfolio.seriation import HierarchicalSeriation

    cov, _ = _ours(returns)
    seriation = HierarchicalSeriation(
        hierarchical_clustering_estimator=HierarchicalClustering(
            linkage_method=LinkageMethod(linkage)
        ),
        optimal_ordering=optimal,
    )
    peer = HierarchicalRiskParity(
        risk_measure=RiskMeasure.VARIANCE,
        seriation_estimator=seriation,
        distance_estimator=PearsonDistance(),
        prior_estimator=_fixed_prior(cov / 252),
    ).fit(returns)
    problem = make_problem(
        returns, linkage_method=linkage, optimal_leaf_ordering=optimal, **NO_CAPS
    )
    result = optimize_profile(problem, ProfileName.HRP)
    np.testing.assert_allclose(result.weights.to_numpy(), peer.weights_, rtol=0, atol=1e-8)
    assert result.fallbacks == []
    assert result.diagnostics["cap_projection"]["applied"] is False


def test_hrp_equals_skfolio_default_construction(returns: pd.DataFrame, make_problem: Any) -> None:
    """The constructor of the brief (deprecated clustering argument, EmpiricalPrior).

    skfolio then applies its default seriation, which uses optimal leaf ordering: our
    ``optimal_leaf_ordering=True`` reproduces it; our default (the plain leaf order of the paper)
    differs from it.
    """
    from skfolio.cluster import HierarchicalClustering, LinkageMethod
    from skfolio.distance import PearsonDistance
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import HierarchicalRiskParity
    from skfolio.prior import EmpiricalPrior

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        peer = HierarchicalRiskParity(
            risk_measure=RiskMeasure.VARIANCE,
            hierarchical_clustering_estimator=HierarchicalClustering(
                linkage_method=LinkageMethod.WARD
            ),
            distance_estimator=PearsonDistance(),
            prior_estimator=EmpiricalPrior(),
        ).fit(returns)
    result = optimize_profile(
        make_problem(returns, optimal_leaf_ordering=True, **NO_CAPS), ProfileName.HRP
    )
    np.testing.assert_allclose(result.weights.to_numpy(), peer.weights_, rtol=0, atol=1e-8)


def test_hrp_equals_pypfopt_single_linkage(returns: pd.DataFrame, make_problem: Any) -> None:
    from pypfopt import HRPOpt

    peer = pd.Series(HRPOpt(returns).optimize(linkage_method="single"))
    result = optimize_profile(
        make_problem(returns, linkage_method="single", **NO_CAPS), ProfileName.HRP
    )
    np.testing.assert_allclose(
        result.weights.to_numpy(), peer.reindex(result.weights.index).to_numpy(), atol=1e-8
    )


# ------------------------------------------------------------------------------- min variance


def test_min_variance_equals_skfolio_and_pypfopt(returns: pd.DataFrame, make_problem: Any) -> None:
    from pypfopt import EfficientFrontier
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import MeanRisk

    cov, _ = _ours(returns)
    result = optimize_profile(
        make_problem(returns, allocation_levels=ASSET, **NO_CAPS), ProfileName.MIN_VARIANCE
    )
    ours = result.weights.to_numpy()
    sk = MeanRisk(
        risk_measure=RiskMeasure.VARIANCE,
        prior_estimator=_fixed_prior(cov / 252),
        solver_params=TIGHT,
    ).fit(returns)
    ef = EfficientFrontier(
        None,
        pd.DataFrame(cov, index=returns.columns, columns=returns.columns),
        weight_bounds=(0, 1),
        solver="CLARABEL",
    )
    pf = pd.Series(ef.min_volatility()).reindex(returns.columns).to_numpy()
    np.testing.assert_allclose(ours, sk.weights_, atol=1e-6)
    np.testing.assert_allclose(ours, pf, atol=1e-6)
    assert result.solver == "CLARABEL"
    assert result.allocation_level is AllocationLevel.ASSET


def test_min_variance_with_binding_caps_equals_skfolio(
    returns: pd.DataFrame, make_problem: Any
) -> None:
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import MeanRisk

    cov, _ = _ours(returns)
    symbols = list(returns.columns)
    clusters = {s: i % 6 for i, s in enumerate(symbols)}
    result = optimize_profile(
        make_problem(
            returns,
            clusters=clusters,
            allocation_levels=ASSET,
            asset_cap=0.12,
            cluster_cap=0.25,
            fragility_penalty=0.0,
        ),
        ProfileName.MIN_VARIANCE,
    )
    groups = [[f"c{clusters[s]}" for s in symbols]]
    sk = MeanRisk(
        risk_measure=RiskMeasure.VARIANCE,
        prior_estimator=_fixed_prior(cov / 252),
        max_weights=0.12,
        groups=groups,
        linear_constraints=[f"c{c} <= 0.25" for c in range(6)],
        solver_params=TIGHT,
    ).fit(returns)
    np.testing.assert_allclose(result.weights.to_numpy(), sk.weights_, atol=1e-6)
    assert max(result.cluster_gross.values()) == pytest.approx(0.25, abs=1e-8)  # caps bind


def test_cluster_level_with_singletons_is_asset_level(
    returns: pd.DataFrame, make_problem: Any
) -> None:
    singletons = {s: i for i, s in enumerate(returns.columns)}
    for profile in (ProfileName.MIN_VARIANCE, ProfileName.RISK_PARITY, ProfileName.MAX_SHARPE):
        default = optimize_profile(make_problem(returns, clusters=singletons, **NO_CAPS), profile)
        asset = optimize_profile(
            make_problem(returns, clusters=singletons, allocation_levels=ASSET, **NO_CAPS), profile
        )
        assert default.allocation_level is AllocationLevel.CLUSTER
        np.testing.assert_allclose(default.weights, asset.weights, atol=1e-7)


# ------------------------------------------------------------------------------ bounded hrp


def _skfolio_hrp(returns: pd.DataFrame, cov: np.ndarray, lower: float, upper: float) -> Any:
    from skfolio.cluster import HierarchicalClustering, LinkageMethod
    from skfolio.distance import PearsonDistance
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import HierarchicalRiskParity
    from skfolio.seriation import HierarchicalSeriation

    seriation = HierarchicalSeriation(
        hierarchical_clustering_estimator=HierarchicalClustering(linkage_method=LinkageMethod.WARD),
        optimal_ordering=False,
    )
    return HierarchicalRiskParity(
        risk_measure=RiskMeasure.VARIANCE,
        min_weights=lower,
        max_weights=upper,
        seriation_estimator=seriation,
        distance_estimator=PearsonDistance(),
        prior_estimator=_fixed_prior(cov / 252),
    ).fit(returns)


@pytest.mark.parametrize(("lower", "upper"), [(0.0, 0.06), (0.01, 0.06), (0.02, 0.2)])
def test_bounded_hrp_equals_skfolio(returns: pd.DataFrame, lower: float, upper: float) -> None:
    pytest.importorskip("skfolio")
    cov = covariance(returns).matrix.to_numpy()
    n = cov.shape[0]
    ours, _ = hrp_weights(
        cov,
        correlation_from_covariance(cov),
        lower=np.full(n, lower),
        upper=np.full(n, upper),
    )
    peer = _skfolio_hrp(returns, cov, lower, upper)
    np.testing.assert_allclose(ours, peer.weights_, rtol=0, atol=1e-10)
    assert ours.max() <= upper + 1e-12 and ours.min() >= lower - 1e-12


def test_hrp_profile_with_asset_caps_equals_skfolio(
    returns: pd.DataFrame, make_problem: Any
) -> None:
    """Singleton clusters: the profile's caps are per asset, where the definitions coincide."""
    pytest.importorskip("skfolio")
    cov = covariance(returns).matrix.to_numpy()
    clusters = {s: i for i, s in enumerate(returns.columns)}
    problem = make_problem(returns, clusters=clusters, asset_cap=0.06, cluster_cap=1.0)
    result = optimize_profile(problem, ProfileName.HRP)
    peer = _skfolio_hrp(returns, cov, 0.0, 0.06)
    np.testing.assert_allclose(result.weights.to_numpy(), peer.weights_, rtol=0, atol=1e-10)
    assert result.fallbacks == []


def test_capped_risk_parity_equals_skfolio_risk_budgeting(
    returns: pd.DataFrame, make_problem: Any
) -> None:
    pytest.importorskip("skfolio")
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import RiskBudgeting

    cov = covariance(returns).matrix.to_numpy()
    clusters = {s: i for i, s in enumerate(returns.columns)}
    problem = make_problem(
        returns,
        clusters=clusters,
        asset_cap=0.05,
        cluster_cap=1.0,
        allocation_levels={ProfileName.RISK_PARITY: AllocationLevel.ASSET},
    )
    result = optimize_profile(problem, ProfileName.RISK_PARITY)
    assert result.diagnostics["erc"]["caps_binding"] is True
    assert "cap_projection" not in result.fallback_kinds
    peer = RiskBudgeting(
        risk_measure=RiskMeasure.VARIANCE,
        max_weights=0.05,
        prior_estimator=_fixed_prior(cov / 252),
        solver_params=TIGHT,
    ).fit(returns)
    np.testing.assert_allclose(result.weights.to_numpy(), peer.weights_, atol=1e-5)


# -------------------------------------------------------------------------------- risk parity


def test_risk_parity_equal_contributions_asset_level(
    returns: pd.DataFrame, make_problem: Any
) -> None:
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import RiskBudgeting

    cov, _ = _ours(returns)
    result = optimize_profile(
        make_problem(returns, allocation_levels=ASSET, **NO_CAPS), ProfileName.RISK_PARITY
    )
    w = result.weights.to_numpy()
    rc = risk_contributions(w, cov)
    np.testing.assert_allclose(rc, 1 / len(w), rtol=1e-6)
    sk = RiskBudgeting(
        risk_measure=RiskMeasure.VARIANCE,
        prior_estimator=_fixed_prior(cov / 252),
        solver_params=TIGHT,
    ).fit(returns)
    np.testing.assert_allclose(w, sk.weights_, atol=1e-6)


def test_risk_parity_equal_cluster_contributions(returns: pd.DataFrame, make_problem: Any) -> None:
    problem = make_problem(returns, n_clusters=5, **NO_CAPS)
    result = optimize_profile(problem, ProfileName.RISK_PARITY)
    assert result.allocation_level is AllocationLevel.CLUSTER
    contributions = np.array(list(result.diagnostics["cluster_risk_contributions"].values()))
    np.testing.assert_allclose(contributions, 1 / 5, rtol=1e-6)
    assert result.diagnostics["erc"]["max_relative_rc_deviation"] < 1e-9


# --------------------------------------------------------------------------------- max sharpe


def test_max_sharpe_equals_pypfopt(returns: pd.DataFrame, make_problem: Any) -> None:
    from pypfopt import EfficientFrontier
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import MeanRisk, ObjectiveFunction

    cov, mu = _ours(returns)
    rf = 0.02
    result = optimize_profile(
        make_problem(returns, allocation_levels=ASSET, risk_free_rate=rf, **NO_CAPS),
        ProfileName.MAX_SHARPE,
    )
    assert result.fallbacks == []
    ef = EfficientFrontier(
        pd.Series(mu, index=returns.columns),
        pd.DataFrame(cov, index=returns.columns, columns=returns.columns),
        weight_bounds=(0, 1),
        solver="CLARABEL",
    )
    pf = pd.Series(ef.max_sharpe(risk_free_rate=rf)).reindex(returns.columns).to_numpy()
    np.testing.assert_allclose(result.weights.to_numpy(), pf, atol=1e-5)
    sk = MeanRisk(
        objective_function=ObjectiveFunction.MAXIMIZE_RATIO,
        risk_measure=RiskMeasure.VARIANCE,
        risk_free_rate=rf / 252,
        prior_estimator=_fixed_prior(cov / 252, mu / 252),
        solver_params=TIGHT,
    ).fit(returns)
    np.testing.assert_allclose(result.weights.to_numpy(), sk.weights_, atol=1e-5)
    sharpe = result.diagnostics["objective"]["value"]
    assert sharpe == pytest.approx(result.diagnostics["portfolio"]["sharpe"], rel=1e-9)
