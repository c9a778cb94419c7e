"""Historical CVaR: the minimum-CVaR portfolio and the CVaR of given weights.

The CVaR of the loss ``L_t = -r_t'w`` at level ``β`` over ``T`` equally likely scenarios is the
Rockafellar-Uryasev value

.. math:: \\mathrm{CVaR}_\\beta(w) = \\min_\\alpha \\; \\alpha + \\frac{1}{(1-\\beta) T}
          \\sum_t (L_t - \\alpha)^+ ,

(the mean of the worst ``(1 - β) T`` losses, with a fractional weight on the boundary scenario
when ``(1 - β) T`` is not an integer). Rows with a NaN are dropped (CVaR is a joint-scenario
measure: a closed market has no return to put in a scenario); the count is reported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.artifacts.fallbacks import Fallback
from clusterfolio.errors import DataError
from clusterfolio.optimize.solvers import solve_min_cvar


def _scenarios(returns: pd.DataFrame) -> tuple[np.ndarray, int]:
    if not isinstance(returns, pd.DataFrame) or returns.empty:
        raise DataError("returns must be a non-empty DataFrame")
    complete = returns.dropna(how="any")
    dropped = int(returns.shape[0] - complete.shape[0])
    if complete.shape[0] < 2:
        raise DataError(f"fewer than 2 complete sessions after dropping {dropped} rows with NaN")
    values = complete.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise DataError("returns hold infinite values")
    return values, dropped


def _check_beta(beta: float) -> None:
    if not 0.0 < beta < 1.0:
        raise DataError(f"beta={beta} must be in (0, 1)")


def portfolio_cvar(returns: pd.DataFrame, weights: pd.Series, beta: float = 0.95) -> float:
    """Historical CVaR at level ``beta`` of the loss of ``weights`` (rows with NaN dropped).

    Parameters
    ----------
    returns : pandas.DataFrame
        Return scenarios.
    weights : pandas.Series
        Weights indexed by the columns of ``returns`` (missing symbols count as 0).
    beta : float, default 0.95
        Confidence level.

    Returns
    -------
    float
        The exact Rockafellar-Uryasev value (in return units per session).
    """
    _check_beta(beta)
    values, _ = _scenarios(returns)
    w = weights.reindex(returns.columns).fillna(0.0).to_numpy(dtype=np.float64)
    losses = np.sort(-(values @ w))
    n_obs = losses.shape[0]
    # the RU function is convex piecewise linear in α with kinks at the losses: evaluate them all
    tail_sums = np.concatenate([np.cumsum(losses[::-1])[::-1], [0.0]])  # sum of losses[k:]
    k = np.arange(n_obs)
    above = tail_sums[k + 1] - (n_obs - 1 - k) * losses  # sum over j > k of (L_j - L_k)
    values_at_kinks = losses + above / ((1.0 - beta) * n_obs)
    return float(values_at_kinks.min())


def min_cvar_weights(
    returns: pd.DataFrame,
    beta: float = 0.95,
    *,
    diagnostics: dict[str, Any] | None = None,
) -> pd.Series:
    """Long-only, fully invested portfolio of minimum historical CVaR.

    Solves the Rockafellar-Uryasev linear program through its dual (``T + 1`` variables, ``n``
    rows, HiGHS; :func:`~clusterfolio.optimize.solvers.solve_min_cvar`), with the primal on the
    recorded cvxpy chain ``CLARABEL -> HIGHS -> SCS`` as the fallback.

    Parameters
    ----------
    returns : pandas.DataFrame
        Return scenarios; rows with a NaN are dropped.
    beta : float, default 0.95
        Confidence level.
    diagnostics : dict, optional
        When given, receives ``cvar`` (the optimal value), ``solver``, ``fallbacks`` and
        ``dropped_rows``.

    Returns
    -------
    pandas.Series
        Weights indexed like ``returns.columns``.
    """
    _check_beta(beta)
    values, dropped = _scenarios(returns)
    fallbacks: list[Fallback] = []
    w, outcome = solve_min_cvar(values, beta, fallbacks=fallbacks)
    w = np.maximum(w, 0.0)
    w = w / w.sum()
    if diagnostics is not None:
        diagnostics.update(
            cvar=outcome.objective,
            solver=outcome.solver,
            fallbacks=[f.to_record() for f in fallbacks],
            dropped_rows=dropped,
            beta=beta,
        )
    return pd.Series(w, index=returns.columns, name="weight")
