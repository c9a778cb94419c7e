"""Convex programs of the custom engine and the recorded solver chain (cvxpy, imported lazily).

Solver chain
------------
Every program is tried with each solver of the chain in turn (default ``CLARABEL -> SCS ->
OSQP``). A solver that raises, is not installed, cannot take the program (OSQP takes only
quadratic programs) or does not return ``optimal`` is recorded as a fallback (kind ``solver``)
and the next one is tried. A solution flagged ``optimal_inaccurate`` is kept aside and used only
when no solver reaches ``optimal`` (recorded). When every solver reports infeasibility an
:class:`~clusterfolio.errors.InfeasibleError` is raised, otherwise an
:class:`~clusterfolio.errors.OptimizationError` naming each solver's failure.

Programs (``a``: per-asset upper bounds, ``G``: cluster membership of clusters with two or more
assets, ``C``: their caps, ``F``: a factor with ``F F' = Σ``)

* :func:`solve_min_variance`:
  ``min ||F'w||² + c'w + τ ||E w - w0||₁`` s.t. ``w >= 0``, ``1'w = 1``, ``w <= a``,
  ``G w <= C`` (``c``: the linear fragility term, ``E``: the map from the decision variable to
  asset weights, the identity for an asset-level problem).
* :func:`solve_max_sharpe`: the Cornuejols-Tütüncü reformulation: ``min ||F'y||²`` s.t.
  ``(μ - rf)'y = 1``, ``y >= 0``, ``κ = 1'y``, ``y <= a κ``, ``G y <= C κ``; ``w = y / κ``.
* :func:`solve_min_cvar`: the Rockafellar-Uryasev linear program, solved through its dual
  (HiGHS; the primal on the cvxpy chain as the recorded fallback).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clusterfolio.artifacts.fallbacks import Fallback, FallbackKind
from clusterfolio.errors import InfeasibleError, OptimizationError

DEFAULT_SOLVERS: tuple[str, ...] = ("CLARABEL", "SCS", "OSQP")
#: Solver chain of the minimum-CVaR linear program.
CVAR_SOLVERS: tuple[str, ...] = ("CLARABEL", "HIGHS", "SCS")
"""The solver chain, first choice first."""

SOLVER_OPTIONS: dict[str, dict[str, Any]] = {
    "CLARABEL": {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10, "max_iter": 500},
    "SCS": {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 200_000},
    "OSQP": {"eps_abs": 1e-10, "eps_rel": 1e-10, "max_iter": 200_000, "polish": True},
    "HIGHS": {},
}
"""Solver settings (tight: parity with the peers is checked to 1e-6)."""


@dataclass(frozen=True)
class SolveOutcome:
    """Which solver answered, with which status and objective value."""

    solver: str
    status: str
    objective: float


@dataclass(frozen=True)
class SolveRun:
    """How one program is solved and recorded: the solver chain (first choice first), the list
    that receives one fallback record per failed solver, and the program's name in them."""

    solvers: Sequence[str]
    fallbacks: list[Fallback]
    what: str


def _attempt(
    problem: Any, name: str, installed: set[str], options: dict[str, dict[str, Any]] | None
) -> tuple[str | None, str]:
    """Solve ``problem`` with one solver: the status it answered (None when it raised or is not
    installed) and the reason it is not an optimal answer."""
    import cvxpy as cp

    if name not in installed:
        return None, "not installed"
    try:
        settings = {**SOLVER_OPTIONS.get(name, {}), **(options or {}).get(name, {})}
        problem.solve(solver=name, **settings)
    except (cp.error.SolverError, cp.error.DCPError, ValueError, ArithmeticError) as exc:
        return None, f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    status = str(problem.status)
    return status, f"status {status}"


def _inaccurate(
    problem: Any,
    kept: tuple[str, dict[int, Any], float],
    fallbacks: list[Fallback],
    what: str,
) -> SolveOutcome:
    """The first optimal_inaccurate solution, restored into the problem's variables."""
    name, values, value = kept
    for variable in problem.variables():
        variable.value = values[variable.id]
    fallbacks.append(
        Fallback(
            FallbackKind.SOLVER,
            f"{what}: using {name}'s optimal_inaccurate solution (no solver optimal)",
            {"solver": name},
        )
    )
    return SolveOutcome(name, "optimal_inaccurate", value)


def solve_chain(
    problem: Any, run: SolveRun, *, options: dict[str, dict[str, Any]] | None = None
) -> SolveOutcome:
    """Solve ``problem`` with the first solver of the chain that succeeds (see module doc).

    Parameters
    ----------
    problem : cvxpy.Problem
        The program.
    run : SolveRun
        Solver chain, fallback records and the program's name.
    options : dict, optional
        Per-solver settings merged over :data:`SOLVER_OPTIONS`.

    Returns
    -------
    SolveOutcome

    Raises
    ------
    InfeasibleError
        When every solver that answered reported infeasibility.
    OptimizationError
        When no solver produced a solution.
    """
    import cvxpy as cp

    installed = set(cp.installed_solvers())
    failures: list[str] = []
    infeasible = 0
    answered = 0
    kept: tuple[str, dict[int, Any], float] | None = None
    names, fallbacks, what = list(run.solvers), run.fallbacks, run.what
    for position, name in enumerate(names):
        following = names[position + 1] if position + 1 < len(names) else None
        status, reason = _attempt(problem, name, installed, options)
        if status is not None:
            answered += 1
            if status == cp.OPTIMAL:
                return SolveOutcome(name, status, float(problem.value))
            if status == cp.OPTIMAL_INACCURATE and kept is None:
                values = {v.id: np.array(v.value, copy=True) for v in problem.variables()}
                kept = (name, values, float(problem.value))
            if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
                infeasible += 1
        failures.append(f"{name}: {reason}")
        fallbacks.append(
            Fallback(
                FallbackKind.SOLVER,
                f"{what}: {name} failed ({reason}); "
                + (f"falling back to {following}" if following else "no solver left"),
                {"solver": name},
            )
        )
    if kept is not None:
        return _inaccurate(problem, kept, fallbacks, what)
    if answered and infeasible == answered:
        raise InfeasibleError(f"{what} is infeasible ({'; '.join(failures)})")
    raise OptimizationError(f"{what}: every solver failed ({'; '.join(failures)})")


def psd_factor(cov: np.ndarray) -> np.ndarray:
    """A matrix ``F`` with ``F F' = cov`` (Cholesky, or the eigen square root when singular)."""
    try:
        return np.asarray(np.linalg.cholesky(cov))
    except np.linalg.LinAlgError:
        eigenvalues, vectors = np.linalg.eigh(0.5 * (cov + cov.T))
        keep = eigenvalues > 1e-14 * max(float(eigenvalues[-1]), 1e-300)
        return np.asarray(vectors[:, keep] * np.sqrt(eigenvalues[keep]))


@dataclass(frozen=True)
class LinearCaps:
    """Upper bounds of a long-only, fully invested program.

    Attributes
    ----------
    upper : numpy.ndarray
        Upper bound of each variable (already the minimum of its asset and cluster caps).
    groups : numpy.ndarray
        0/1 matrix (n_groups x n) of the clusters with two or more members (may have 0 rows).
    group_caps : numpy.ndarray
        Cap of each of those groups.
    """

    upper: np.ndarray
    groups: np.ndarray
    group_caps: np.ndarray


def solve_min_variance(
    cov: np.ndarray,
    caps: LinearCaps,
    run: SolveRun,
    *,
    linear: np.ndarray | None = None,
    turnover: tuple[np.ndarray, np.ndarray, float] | None = None,
) -> tuple[np.ndarray, SolveOutcome]:
    """Minimise ``w'Σw + c'w + τ||E w - w0||₁`` over capped long-only budgets.

    Parameters
    ----------
    cov : numpy.ndarray
        Covariance of the decision variables (already scaled as the objective wants).
    caps : LinearCaps
        Upper bounds.
    run : SolveRun
        Solver chain, fallback records and the program's name.
    linear : numpy.ndarray, optional
        Linear term ``c`` (the fragility penalty).
    turnover : tuple, optional
        ``(E, w0, τ)``: asset weights are ``E w``; ``w0`` the previous asset weights.

    Returns
    -------
    tuple
        ``(weights, outcome)``.
    """
    import cvxpy as cp

    n = cov.shape[0]
    factor = psd_factor(cov)
    w = cp.Variable(n, name="w")
    objective: Any = cp.sum_squares(factor.T @ w)
    if linear is not None and np.any(linear != 0):
        objective = objective + linear @ w
    if turnover is not None:
        expand, previous, tau = turnover
        if tau > 0:
            objective = objective + tau * cp.norm1(expand @ w - previous)
    constraints = [w >= 0, cp.sum(w) == 1, w <= caps.upper]
    if caps.groups.shape[0]:
        constraints.append(caps.groups @ w <= caps.group_caps)
    problem = cp.Problem(cp.Minimize(objective), constraints)
    outcome = solve_chain(problem, run)
    return np.asarray(w.value, dtype=np.float64), outcome


def solve_max_sharpe(
    cov: np.ndarray,
    excess: np.ndarray,
    caps: LinearCaps,
    run: SolveRun,
) -> tuple[np.ndarray, SolveOutcome]:
    """Maximum Sharpe ratio by the homogenised program (see module doc).

    Parameters
    ----------
    cov : numpy.ndarray
        Covariance (any positive scale).
    excess : numpy.ndarray
        Expected excess returns ``μ - rf`` (at least one positive).
    caps : LinearCaps
        Upper bounds (scaled by κ inside the program).
    run : SolveRun
        Solver chain, fallback records and the program's name.

    Returns
    -------
    tuple
        ``(weights, outcome)``; the outcome's objective is ``y'Σy = 1 / Sharpe²`` in the units of
        ``cov`` and ``excess``.
    """
    import cvxpy as cp

    n = cov.shape[0]
    factor = psd_factor(cov)
    y = cp.Variable(n, name="y")
    kappa = cp.Variable(name="kappa")
    constraints = [
        y >= 0,
        kappa >= 0,
        excess @ y == 1,
        cp.sum(y) == kappa,
        y <= caps.upper * kappa,
    ]
    if caps.groups.shape[0]:
        constraints.append(caps.groups @ y <= caps.group_caps * kappa)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(factor.T @ y)), constraints)
    outcome = solve_chain(problem, run)
    k = float(np.asarray(kappa.value, dtype=np.float64))
    if not np.isfinite(k) or k <= 0:
        raise OptimizationError(f"{run.what}: degenerate solution (kappa={k})")
    return np.asarray(y.value, dtype=np.float64) / k, outcome


_LP_CLARABEL: dict[str, Any] = {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8, "tol_feas": 1e-8}


def _solve_min_cvar_dual(scenarios: np.ndarray, beta: float) -> tuple[np.ndarray, float]:
    """The dual of the Rockafellar-Uryasev LP, solved by HiGHS; ``(weights, optimal value)``.

    ``max γ`` s.t. ``γ <= -(R'q)_i`` for every asset ``i``, ``Σ_t q_t = 1``,
    ``0 <= q_t <= 1 / ((1 - β) T)``: ``T + 1`` variables and ``n`` inequality rows (the primal
    has ``n + T + 1`` variables and ``T`` rows). ``q`` is the worst-case scenario distribution;
    the weights are the multipliers of the asset rows (they are nonnegative and sum to one by
    duality) and ``γ`` is the minimum CVaR.
    """
    from scipy.optimize import linprog

    n_obs, n = scenarios.shape
    cap = 1.0 / ((1.0 - beta) * n_obs)
    cost = np.zeros(n_obs + 1)
    cost[-1] = -1.0
    a_ub = np.hstack([scenarios.T, np.ones((n, 1))])
    a_eq = np.ones((1, n_obs + 1))
    a_eq[0, -1] = 0.0
    bounds = np.array([(0.0, cap)] * n_obs + [(-np.inf, np.inf)])
    res = linprog(
        cost, A_ub=a_ub, b_ub=np.zeros(n), A_eq=a_eq, b_eq=[1.0], bounds=bounds, method="highs"
    )
    if res.status != 0:
        raise OptimizationError(f"min_cvar dual (HiGHS): {res.message}")
    weights = np.maximum(-np.asarray(res.ineqlin.marginals, dtype=np.float64), 0.0)
    if not np.isfinite(weights).all() or weights.sum() <= 0:
        raise OptimizationError("min_cvar dual (HiGHS): no usable multipliers")
    return weights / weights.sum(), float(-res.fun)


def solve_min_cvar(
    scenarios: np.ndarray,
    beta: float,
    *,
    solvers: Sequence[str] = CVAR_SOLVERS,
    fallbacks: list[Fallback],
) -> tuple[np.ndarray, SolveOutcome]:
    """Long-only, fully invested minimum historical CVaR: the dual LP first, then the primal.

    The dual of the Rockafellar-Uryasev program (:func:`_solve_min_cvar_dual`, HiGHS, ``n`` rows
    instead of ``T``) answers first; when it fails the failure is recorded (kind ``solver``) and
    the primal program runs on the cvxpy chain ``solvers``. The scenarios are scaled to unit
    root-mean-square (CVaR is positively homogeneous: the weights are unchanged, the value is
    scaled back).

    Parameters
    ----------
    scenarios : numpy.ndarray
        Return scenarios (T x n), no NaN.
    beta : float
        Confidence level, e.g. 0.95.
    solvers : sequence of str
        cvxpy chain of the primal fallback.
    fallbacks : list of Fallback
        Receives solver fallbacks.

    Returns
    -------
    tuple
        ``(weights, outcome)``; the outcome's objective is the minimum CVaR.
    """
    rms = float(np.sqrt(np.mean(scenarios * scenarios)))
    scale = 1.0 / rms if rms > 0 else 1.0
    try:
        weights, value = _solve_min_cvar_dual(scenarios * scale, beta)
    except (OptimizationError, ValueError) as exc:
        fallbacks.append(
            Fallback(
                FallbackKind.SOLVER,
                f"min_cvar: the dual LP failed ({exc}); falling back to the primal",
                {"solver": "HIGHS_DUAL"},
            )
        )
        return _solve_min_cvar_primal(scenarios, beta, SolveRun(solvers, fallbacks, "min_cvar"))
    return weights, SolveOutcome("HIGHS_DUAL", "optimal", value / scale)


def _solve_min_cvar_primal(
    scenarios: np.ndarray, beta: float, run: SolveRun
) -> tuple[np.ndarray, SolveOutcome]:
    """Long-only, fully invested minimum historical CVaR (Rockafellar-Uryasev LP).

    ``min α + 1 / ((1 - β) T) Σ_t u_t`` s.t. ``u_t >= -r_t'w - α``, ``u >= 0``, ``w >= 0``,
    ``1'w = 1``. The optimal value is the CVaR of the loss ``-r'w`` at level ``β``. The
    scenarios are scaled to unit root-mean-square first (CVaR is positively homogeneous, so the
    weights are unchanged and the value is scaled back).

    Clarabel runs with its default tolerances (1e-8) here: the tight settings of the quadratic
    programs stall this LP at ``optimal_inaccurate`` without changing its value beyond 1e-12.

    Parameters
    ----------
    scenarios : numpy.ndarray
        As for :func:`solve_min_cvar`.
    beta : float
        As for :func:`solve_min_cvar`.
    run : SolveRun
        Solver chain (Clarabel first), fallback records and the program's name.

    Returns
    -------
    tuple
        ``(weights, outcome)``; the outcome's objective is the minimum CVaR.
    """
    import cvxpy as cp

    n_obs, n = scenarios.shape
    # CVaR is positively homogeneous: solve on returns scaled to unit RMS (better conditioned,
    # fewer interior-point iterations) and scale the optimal value back
    rms = float(np.sqrt(np.mean(scenarios * scenarios)))
    scale = 1.0 / rms if rms > 0 else 1.0
    w = cp.Variable(n, name="w", nonneg=True)
    alpha = cp.Variable(name="alpha")
    u = cp.Variable(n_obs, name="u", nonneg=True)
    objective = alpha + cp.sum(u) / ((1.0 - beta) * n_obs)
    constraints = [cp.sum(w) == 1, u >= -((scenarios * scale) @ w) - alpha]
    problem = cp.Problem(cp.Minimize(objective), constraints)
    outcome = solve_chain(problem, run, options={"CLARABEL": dict(_LP_CLARABEL)})
    unscaled = SolveOutcome(outcome.solver, outcome.status, outcome.objective / scale)
    return np.asarray(w.value, dtype=np.float64), unscaled


def solve_risk_budgeting(
    cov: np.ndarray,
    budgets: np.ndarray,
    caps: LinearCaps,
    run: SolveRun,
) -> tuple[np.ndarray, SolveOutcome]:
    """Risk budgeting under the caps as constraints (Spinu's log-barrier program, homogenised).

    ``min ½ y'Σy - b'log y`` s.t. ``y <= a 1'y``, ``G y <= C 1'y``; ``w = y / 1'y``. The caps are
    homogeneous in ``y``, so they hold for ``w`` exactly. Without binding caps the solution is the
    risk-budgeting portfolio (``RC_i = b_i``); when caps bind, the capped variables sit at their
    caps and the others share the risk with their budgets renormalised by the KKT multipliers of
    the caps (the constrained risk budgeting of skfolio and Riskfolio-Lib). The covariance is
    scaled to unit average variance first.

    Parameters
    ----------
    cov : numpy.ndarray
        Covariance of the decision variables.
    budgets : numpy.ndarray
        Positive risk budgets (sum one).
    caps : LinearCaps
        Upper bounds (fractions of the total).
    run : SolveRun
        Solver chain (exponential cone: Clarabel, then SCS), fallback records and the program's
        name.

    Returns
    -------
    tuple
        ``(weights, outcome)``.
    """
    import cvxpy as cp

    n = cov.shape[0]
    factor = psd_factor(cov / (float(np.trace(cov)) / n))
    y = cp.Variable(n, name="y")
    total = cp.sum(y)
    objective = 0.5 * cp.sum_squares(factor.T @ y) - budgets @ cp.log(y)
    constraints = [y <= caps.upper * total]
    if caps.groups.shape[0]:
        constraints.append(caps.groups @ y <= caps.group_caps * total)
    problem = cp.Problem(cp.Minimize(objective), constraints)
    outcome = solve_chain(problem, run, options={"CLARABEL": dict(_LP_CLARABEL)})
    values = np.maximum(np.asarray(y.value, dtype=np.float64), 0.0)
    if not np.all(np.isfinite(values)) or values.sum() <= 0:
        raise OptimizationError(f"{run.what}: degenerate risk-budgeting solution")
    return values / values.sum(), outcome
