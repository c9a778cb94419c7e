"""The moment estimators: pairwise covariance, PSD repair, expected returns, CVaR."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from clusterfolio.errors import DataError
from clusterfolio.optimize import covariance, expected_returns, min_cvar_weights, portfolio_cvar
from clusterfolio.optimize.estimators import correlation_from_covariance


def test_complete_panel_is_the_sample_covariance(make_returns: Any) -> None:
    returns = make_returns(6, 200)
    estimate = covariance(returns)
    np.testing.assert_allclose(
        estimate.matrix.to_numpy(), returns.cov().to_numpy() * 252, rtol=1e-12
    )
    assert not estimate.pairwise and not estimate.repaired
    assert estimate.min_pair_observations == 200
    # row-major on every pandas (pandas 3 copies a frame's array column-major by default,
    # which changes the rounding of the products downstream)
    assert estimate.matrix.to_numpy().flags.c_contiguous


def test_pairwise_complete_matches_pandas(make_returns: Any) -> None:
    returns = make_returns(6, 200).copy()
    returns.iloc[:40, 0] = np.nan  # listed later
    returns.iloc[100:120, 3] = np.nan  # market closed
    estimate = covariance(returns)
    np.testing.assert_allclose(
        estimate.matrix.to_numpy(), returns.cov().to_numpy() * 252, rtol=1e-9
    )
    assert estimate.pairwise
    assert estimate.min_pair_observations == 200 - 40 - 20


def test_indefinite_pairwise_estimate_is_repaired_and_recorded() -> None:
    # three assets never observed together in a way that keeps the estimate PSD
    a = np.array([1, -1, 1, -1, np.nan, np.nan, 1, -1, 1, -1, np.nan, np.nan]) * 0.01
    b = np.array([1, -1, np.nan, np.nan, 1, -1, 1, -1, np.nan, np.nan, 1, -1]) * 0.01
    c = np.array([np.nan, np.nan, -1, 1, 1, -1, np.nan, np.nan, -1, 1, 1, -1]) * 0.01
    returns = pd.DataFrame({"X:A": a, "X:B": b, "X:C": c})
    raw = returns.cov().to_numpy() * 252
    assert np.linalg.eigvalsh(raw)[0] < 0
    estimate = covariance(returns)
    assert estimate.repaired
    assert estimate.min_eigenvalue is not None and estimate.min_eigenvalue < 0
    assert estimate.clipped_eigenvalues >= 1
    assert np.linalg.eigvalsh(estimate.matrix.to_numpy())[0] >= -1e-12
    assert estimate.to_dict()["repaired"] is True


def test_insufficient_overlap_names_the_pair() -> None:
    returns = pd.DataFrame(
        {"X:A": [0.01, 0.02, np.nan, np.nan], "X:B": [np.nan, np.nan, 0.01, 0.03]}
    )
    with pytest.raises(DataError, match="X:A/X:B"):
        covariance(returns)


def test_expected_returns_use_own_sessions() -> None:
    returns = pd.DataFrame({"X:A": [0.01, np.nan, 0.03], "X:B": [0.0, 0.01, 0.02]})
    mu = expected_returns(returns)
    assert mu["X:A"] == pytest.approx(0.02 * 252)
    assert mu["X:B"] == pytest.approx(0.01 * 252)


def test_correlation_has_unit_diagonal(make_returns: Any) -> None:
    cov = covariance(make_returns(5, 100)).matrix.to_numpy()
    corr = correlation_from_covariance(cov)
    np.testing.assert_allclose(np.diag(corr), 1.0)
    assert np.all(np.abs(corr) <= 1.0)


def test_min_cvar_is_optimal_and_matches_its_value(make_returns: Any) -> None:
    returns = make_returns(8, 300)
    info: dict[str, Any] = {}
    w = min_cvar_weights(returns, 0.95, diagnostics=info)
    assert w.sum() == pytest.approx(1.0, abs=1e-10) and (w >= 0).all()
    assert info["solver"] == "HIGHS_DUAL" and info["fallbacks"] == []
    ours = portfolio_cvar(returns, w, 0.95)
    assert ours == pytest.approx(info["cvar"], abs=1e-8)
    equal = pd.Series(1 / 8, index=returns.columns)
    assert ours <= portfolio_cvar(returns, equal, 0.95) + 1e-12


def test_min_cvar_dual_equals_the_primal_and_falls_back_to_it(
    make_returns: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clusterfolio.errors import OptimizationError
    from clusterfolio.optimize import solvers

    returns = make_returns(10, 250, seed=3)
    values = returns.to_numpy()
    dual_w, dual = solvers.solve_min_cvar(values, 0.95, fallbacks=[])
    _, primal = solvers._solve_min_cvar_primal(
        values, 0.95, solvers.SolveRun(solvers.CVAR_SOLVERS, [], "min_cvar")
    )
    assert dual.objective == pytest.approx(primal.objective, rel=1e-7)
    assert portfolio_cvar(returns, pd.Series(dual_w, index=returns.columns)) == pytest.approx(
        dual.objective, rel=1e-9
    )

    def broken(scenarios: Any, beta: float) -> Any:
        raise OptimizationError("simulated HiGHS failure")

    monkeypatch.setattr(solvers, "_solve_min_cvar_dual", broken)
    info: dict[str, Any] = {}
    min_cvar_weights(returns, 0.95, diagnostics=info)
    assert info["solver"] == "CLARABEL"
    assert info["fallbacks"][0]["solver"] == "HIGHS_DUAL"
    assert "simulated HiGHS failure" in info["fallbacks"][0]["detail"]


def test_portfolio_cvar_is_the_tail_mean_when_integral() -> None:
    losses = np.arange(1, 21, dtype=float)  # 20 scenarios, 5% tail = 1 scenario
    returns = pd.DataFrame({"X:A": -losses})
    assert portfolio_cvar(returns, pd.Series({"X:A": 1.0}), 0.95) == pytest.approx(20.0)
    assert portfolio_cvar(returns, pd.Series({"X:A": 1.0}), 0.90) == pytest.approx(19.5)
