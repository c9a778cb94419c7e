"""Every fallback is recorded: solver chain, cap relaxation, projections, max-Sharpe, repair."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from clusterfolio.artifacts.fallbacks import Fallback, FallbackKind, fallbacks_of
from clusterfolio.enums import ProfileName
from clusterfolio.errors import InfeasibleError, OptimizationError
from clusterfolio.optimize import AllocationLevel, optimize_profile
from clusterfolio.optimize.caps import relax_caps


@pytest.fixture
def returns(make_returns: Any) -> pd.DataFrame:
    return make_returns(12, 250, seed=3)


def _break_solvers(monkeypatch: pytest.MonkeyPatch, broken: set[str]) -> list[str | None]:
    import cvxpy as cp

    calls: list[str | None] = []
    original = cp.Problem.solve

    def solve(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("solver"))
        if kwargs.get("solver") in broken:
            raise cp.error.SolverError(f"{kwargs.get('solver')} forced to fail")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cp.Problem, "solve", solve)
    return calls


@pytest.mark.parametrize("profile", [ProfileName.MIN_VARIANCE, ProfileName.MAX_SHARPE])
def test_solver_failure_falls_back_to_scs_and_is_recorded(
    returns: pd.DataFrame, make_problem: Any, monkeypatch: pytest.MonkeyPatch, profile: ProfileName
) -> None:
    reference = optimize_profile(make_problem(returns), profile)
    calls = _break_solvers(monkeypatch, {"CLARABEL"})
    result = optimize_profile(make_problem(returns), profile)
    assert calls[:2] == ["CLARABEL", "SCS"]
    assert result.solver == "SCS"
    solver_records = [f for f in result.fallbacks if f.is_kind(FallbackKind.SOLVER)]
    assert solver_records[0].get("solver") == "CLARABEL"
    assert "forced to fail" in solver_records[0].text
    assert "falling back to SCS" in solver_records[0].text
    np.testing.assert_allclose(result.weights, reference.weights, atol=1e-4)


def test_all_solvers_failing_raises_naming_each(
    returns: pd.DataFrame, make_problem: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_solvers(monkeypatch, {"CLARABEL", "SCS", "OSQP"})
    with pytest.raises(OptimizationError, match=r"CLARABEL.*SCS.*OSQP"):
        optimize_profile(make_problem(returns), ProfileName.MIN_VARIANCE)


def test_osqp_is_the_last_resort(
    returns: pd.DataFrame, make_problem: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_solvers(monkeypatch, {"CLARABEL", "SCS"})
    result = optimize_profile(make_problem(returns), ProfileName.MIN_VARIANCE)
    assert result.solver == "OSQP"
    solvers = [f.get("solver") for f in result.fallbacks if f.is_kind(FallbackKind.SOLVER)]
    assert solvers == ["CLARABEL", "SCS"]


@pytest.mark.parametrize(
    "profile",
    [ProfileName.MIN_VARIANCE, ProfileName.HRP, ProfileName.RISK_PARITY, ProfileName.EQUAL_WEIGHT],
)
def test_infeasible_cluster_cap_is_relaxed_and_recorded(
    returns: pd.DataFrame, make_problem: Any, profile: ProfileName
) -> None:
    # 3 clusters x 0.25 < 1: the cap is raised to 1/3 plus the 1% margin
    problem = make_problem(returns, n_clusters=3, cluster_cap=0.25, asset_cap=1.0)
    result = optimize_profile(problem, profile)
    relaxations = [f for f in result.fallbacks if f.is_kind(FallbackKind.CAP_RELAXATION)]
    assert len(relaxations) == 1 and relaxations[0].get("cap") == "cluster_cap"
    assert relaxations[0].get("to") == pytest.approx(1 / 3 * 1.01, rel=1e-9)
    assert result.diagnostics["cap_relaxations"] == [f.to_record() for f in relaxations]
    assert max(result.cluster_gross.values()) <= relaxations[0].get("to") + 1e-12


def test_infeasible_asset_cap_is_relaxed_and_recorded(
    returns: pd.DataFrame, make_problem: Any
) -> None:
    problem = make_problem(returns, asset_cap=0.05, cluster_cap=1.0)  # 12 x 0.05 < 1
    result = optimize_profile(problem, ProfileName.HRP)
    relax = [f for f in result.fallbacks if f.is_kind(FallbackKind.CAP_RELAXATION)]
    assert relax[0].get("cap") == "asset_cap"
    assert relax[0].get("to") == pytest.approx(1 / 12 * 1.01, rel=1e-9)
    assert result.weights.max() <= relax[0].get("to") + 1e-12


def test_fallbacks_are_typed_and_stored_as_flat_records(
    returns: pd.DataFrame, make_problem: Any
) -> None:
    problem = make_problem(returns, n_clusters=3, cluster_cap=0.25, asset_cap=1.0)
    result = optimize_profile(problem, ProfileName.HRP)
    assert result.fallbacks and all(isinstance(f, Fallback) for f in result.fallbacks)
    stored = result.to_dict()["fallbacks"]
    assert stored[0] == {
        "kind": "cap_relaxation",
        "detail": result.fallbacks[0].detail,
        "cap": "cluster_cap",
        "from": 0.25,
        "to": pytest.approx(1 / 3 * 1.01, rel=1e-9),
    }
    assert fallbacks_of(stored) == result.fallbacks  # read back, the same records
    assert result.fallback_kinds == [str(f.kind) for f in result.fallbacks]


def test_exactly_feasible_caps_are_not_relaxed() -> None:
    relaxed = relax_caps(0.25, 0.25, np.array([1.0, 1.0, 1.0, 1.0]))
    assert relaxed.records == [] and relaxed.asset_cap == 0.25


def test_impossible_caps_raise() -> None:
    with pytest.raises(InfeasibleError):
        relax_caps(0.5, 0.5, np.array([0.5]), total=1.0)


def test_hrp_caps_inside_the_bisection_need_no_projection(
    returns: pd.DataFrame, make_problem: Any
) -> None:
    loose = optimize_profile(make_problem(returns, asset_cap=1.0, cluster_cap=1.0), ProfileName.HRP)
    assert loose.fallbacks == [] and not loose.diagnostics["cap_projection"]["applied"]
    for asset_cap, cluster_cap in ((0.1, 1.0), (0.15, 0.25), (0.12, 0.3)):
        problem = make_problem(returns, asset_cap=asset_cap, cluster_cap=cluster_cap)
        tight = optimize_profile(problem, ProfileName.HRP)
        assert tight.fallbacks == []
        assert tight.diagnostics["cap_projection"]["violation_before"] <= 1e-9
        assert tight.weights.max() <= asset_cap + 1e-9
        assert max(tight.cluster_gross.values()) <= cluster_cap + 1e-9
        assert abs(tight.weights.sum() - 1.0) < 1e-12


def test_max_sharpe_without_positive_excess_return_falls_back(
    returns: pd.DataFrame, make_problem: Any
) -> None:
    problem = make_problem(returns, risk_free_rate=10.0)  # 1000% hurdle
    result = optimize_profile(problem, ProfileName.MAX_SHARPE)
    assert result.fallback_kinds == ["no_positive_excess_return"]
    mv = optimize_profile(
        make_problem(returns, risk_free_rate=10.0, fragility_penalty=0.0), ProfileName.MIN_VARIANCE
    )
    np.testing.assert_allclose(result.weights, mv.weights, atol=1e-6)


def test_covariance_repair_is_a_recorded_fallback(make_problem: Any) -> None:
    a = np.array([1, -1, 1, -1, np.nan, np.nan, 1, -1, 1, -1, np.nan, np.nan]) * 0.01
    b = np.array([1, -1, np.nan, np.nan, 1, -1, 1, -1, np.nan, np.nan, 1, -1]) * 0.01
    c = np.array([np.nan, np.nan, -1, 1, 1, -1, np.nan, np.nan, -1, 1, 1, -1]) * 0.01
    returns = pd.DataFrame({"X:A": a, "X:B": b, "AMEX:SPY": c})
    problem = make_problem(
        returns,
        asset_cap=1.0,
        cluster_cap=1.0,
        allocation_levels={ProfileName.MIN_VARIANCE: AllocationLevel.ASSET},
    )
    result = optimize_profile(problem, ProfileName.MIN_VARIANCE)
    assert result.fallback_kinds[0] == "covariance_repair"
    assert result.diagnostics["covariance"]["repaired"] is True
    assert "covariance_repair" not in optimize_profile(problem, ProfileName.MARKET).fallback_kinds
