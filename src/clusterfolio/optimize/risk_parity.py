"""Equal risk contribution by Newton's method on the convex log-barrier program.

The risk-budgeting portfolio with budgets ``b`` (Spinu 2013; Roncalli 2013) is ``w = y / 1'y``
where ``y`` minimises the strictly convex function

.. math:: f(y) = \\tfrac12 y^\\top \\Sigma y - \\sum_i b_i \\log y_i, \\qquad y > 0.

Its first-order condition ``y_i (\\Sigma y)_i = b_i`` says the risk contributions of ``y`` are the
budgets, so ``w`` has relative risk contributions ``RC_i = w_i (\\Sigma w)_i / w^\\top\\Sigma w =
b_i / \\sum b``. Newton's method with the Hessian ``\\Sigma + diag(b / y^2)``, a fraction-to-the-
boundary step rule and Armijo backtracking converges quadratically; we stop when the largest
relative deviation of ``y_i (\\Sigma y)_i`` from ``b_i`` is below ``tol`` (1e-12 by default).

Convergence is judged relative to the problem's scale: the covariance is divided by its average
variance first (the weights are scale-free), and when rounding stalls Newton above ``tol`` the
solution is accepted while the relative gap is below :data:`ACCEPT_TOL` (1e-6, the accuracy the
profile promises); only a gap above it raises (the caller then polishes with a second solver).
"""

from __future__ import annotations

import numpy as np

from clusterfolio.errors import OptimizationError

ACCEPT_TOL = 1e-6
"""Largest relative gap ``max_i |y_i (Σy)_i / b_i - 1|`` accepted when Newton stalls above ``tol``."""


def risk_contributions(weights: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Relative risk contributions ``w_i (Σw)_i / w'Σw`` (they sum to one)."""
    marginal = cov @ weights
    total = float(weights @ marginal)
    if total <= 0:
        return np.zeros_like(weights)
    return weights * marginal / total


def risk_budgeting_weights(
    cov: np.ndarray,
    budgets: np.ndarray | None = None,
    *,
    tol: float = 1e-12,
    max_iter: int = 200,
) -> tuple[np.ndarray, int]:
    """Long-only risk-budgeting weights (equal risk contribution when ``budgets`` is None).

    Parameters
    ----------
    cov : numpy.ndarray
        Covariance matrix with a positive diagonal.
    budgets : numpy.ndarray, optional
        Positive risk budgets (normalised to sum one); equal by default.
    tol : float, default 1e-12
        Stop when ``max_i |y_i (Σy)_i / b_i - 1| < tol``.
    max_iter : int, default 200
        Newton iterations allowed.

    Returns
    -------
    tuple
        ``(weights, iterations)``.

    Raises
    ------
    OptimizationError
        When Newton's method does not converge.
    """
    n = cov.shape[0]
    b = np.full(n, 1.0 / n) if budgets is None else np.asarray(budgets, dtype=np.float64)
    if np.any(b <= 0):
        raise OptimizationError("risk budgets must be positive")
    b = b / b.sum()
    diag = np.diag(cov)
    if np.any(diag <= 0) or not np.all(np.isfinite(cov)):
        raise OptimizationError("risk parity needs positive, finite variances")
    # scale-free: the weights do not depend on the covariance's scale, the conditioning does
    cov = cov / float(diag.mean())
    diag = np.diag(cov)
    # start from inverse volatility scaled so that y'Σy = 1 (= sum of budgets)
    y = 1.0 / np.sqrt(diag)
    y /= np.sqrt(float(y @ cov @ y))

    def objective(v: np.ndarray) -> float:
        return float(0.5 * v @ cov @ v - b @ np.log(v))

    value = objective(y)
    for iteration in range(1, max_iter + 1):
        sy = cov @ y
        if float(np.max(np.abs(y * sy / b - 1.0))) < tol:
            return y / y.sum(), iteration - 1
        grad = sy - b / y
        hess = cov + np.diag(b / (y * y))
        try:
            step = -np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError as exc:  # pragma: no cover - Hessian is positive definite
            raise OptimizationError(f"risk parity Newton step failed: {exc}") from exc
        # fraction to the boundary: keep y strictly positive
        negative = step < 0
        t = 1.0
        if negative.any():
            t = min(1.0, 0.99 * float(np.min(-y[negative] / step[negative])))
        slope = float(grad @ step)
        # near the optimum the decrease is below rounding: take the Newton step as is
        while -slope > 1e-20:
            candidate = y + t * step
            new_value = objective(candidate)
            if new_value <= value + 1e-4 * t * slope or t < 1e-16:
                break
            t *= 0.5
        else:
            candidate = y + t * step
            new_value = objective(candidate)
        y, value = candidate, new_value
    sy = cov @ y
    gap = float(np.max(np.abs(y * sy / b - 1.0)))
    if gap < ACCEPT_TOL:
        return y / y.sum(), max_iter
    raise OptimizationError(
        f"risk parity Newton did not converge (relative gap {gap:.3g} above {ACCEPT_TOL:g})"
    )
