"""The custom engine's risk profiles.

Every profile returns gross, long-only weights summing to one over the whole universe (zeros
included), respecting the per-asset cap ``a`` and the per-cluster cap ``C`` (after the recorded
relaxation of :mod:`clusterfolio.optimize.caps` when they are infeasible), except ``market``.

Allocation level (see :class:`~clusterfolio.optimize.problem.AllocationLevel`)
-----------------------------------------------------------------------------
* Cluster-level by default: ``min_variance``, ``risk_parity``, ``max_sharpe``. Inside each cluster
  the weights ``v`` are the hybrid of inverse variance and execution score
  (:mod:`clusterfolio.optimize.hybrid`); the profile allocates ``w_K`` across the clusters'
  sub-portfolios (covariance ``V'ΣV``, means ``V'μ``) and asset weights are ``V w_K``. The asset
  cap becomes the cluster bound ``w_c <= a / max(v_c)``; so that this bound is never tighter than
  the cluster's asset-level capacity ``min(C, n_c a)``, ``v`` is capped inside each cluster at
  ``max(a / C, 1 / n_c)`` by water-filling (recorded in ``diagnostics["within_cluster"]``). The
  cap feasibility (and any relaxation) is therefore the same at both levels. Each of the three
  can be switched to ``ASSET``.
* Asset-level by definition: ``hrp``, ``barbell``, ``equal_weight``, ``market``.

With singleton clusters both levels coincide.

Profiles
--------
``min_variance``
    ``min w'Σw / v̄ + λ Σ_i f_i w_i + τ ||w - w_prev||₁`` under the caps, solved by the chain
    ``CLARABEL -> SCS -> OSQP``. ``v̄ = trace(Σ) / n`` (average asset variance) makes the
    fragility weight ``λ`` (``fragility_penalty``) unit-free: a fully fragile cluster (``f = 1``)
    costs ``λ`` average asset variances per unit of weight, which diverts weight from fragile
    clusters. At the cluster level the term is ``Σ_c (V'f)_c w_c`` (the same penalty in asset
    terms). The turnover term is present when ``turnover_cost`` and ``previous_weights`` are
    given: ``τ = turnover_cost * (252 / turnover_horizon) / v̄``, i.e. in raw units the
    objective is ``w'Σw + (annualised cost drag of the trade amortised over the horizon)``, a
    mean-variance utility with risk aversion 2. Whether the penalty moved the solution is
    measured (a second solve without it) and recorded under ``diagnostics["turnover"]``.
``max_sharpe``
    The homogenised convex program ``min y'Σy`` s.t. ``(μ - rf)'y = 1``, ``y >= 0``, caps times
    ``κ = 1'y``; ``w = y / κ``. No fragility or turnover term (either would change what is
    maximised). When no asset (cluster sub-portfolio) has a positive excess return, or no capped
    portfolio has one, minimum variance under the same caps is returned instead (fallback
    ``no_positive_excess_return``).
``risk_parity``
    Equal risk contributions (Newton on the log-barrier program,
    :mod:`clusterfolio.optimize.risk_parity`, accepted at a relative gap of 1e-6 when rounding
    stalls it; polished by the conic program when Newton fails). When the ERC weights break a
    cap, the caps become constraints of the homogenised program (``solve_risk_budgeting``):
    capped assets (clusters) sit at their caps and the others share the risk.
``hrp``
    López de Prado's hierarchical risk parity (:mod:`clusterfolio.optimize.hrp`) with the asset
    and cluster caps inside the recursive bisection (bounded HRP: every split is clamped to the
    interval that keeps the allocation feasible), so the caps hold by construction.
``equal_weight``
    ``1 / N`` over assets under the caps (water-filled where a cluster cap binds).
``market``
    100% ``AMEX:SPY`` gross and net, whatever its direction; caps do not apply.
``barbell``
    Aggressors: the ``n_aggressors`` assets with the highest antifragility, at most one per
    cluster (ties by symbol; assets without a score are never aggressors; at least one asset is
    left to the core). Each gets ``aggressor_share / n`` (the share is reduced, recorded, if that
    breaks a cap). The core, ``1 - share``, is bounded ``hrp`` on the other assets under the caps
    that remain once the aggressors' weight is counted in their clusters. Aggressors and core are
    disjoint (checked).

Caps and projection
-------------------
Every capped profile honours the caps by construction. The capping projection of
:mod:`clusterfolio.optimize.caps` remains only as a last resort in :func:`_finalise` (solver
rounding); it is recorded as a ``cap_projection`` fallback, with its L1 move, when it moves the
weights by more than :data:`POST_SOLVE_TOL`.

Turnover
--------
With ``turnover_cost`` and ``previous_weights`` (the signed book), every profile but ``market``
trades off against the turnover cost: see :mod:`clusterfolio.optimize.turnover`.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from clusterfolio.enums import ProfileName
from clusterfolio.optimize.estimators import correlation_from_covariance, covariance
from clusterfolio.optimize.hrp import hrp_weights
from clusterfolio.optimize.problem import OptimizationProblem
from clusterfolio.optimize.profiles.barbell import _barbell
from clusterfolio.optimize.profiles.budgets import (
    _equal_weight,
    _hrp,
    _market,
    _risk_parity,
    caps_violation_linear,
)
from clusterfolio.optimize.profiles.context import POST_SOLVE_TOL, _Context, _context
from clusterfolio.optimize.profiles.convex import _apply_turnover, _max_sharpe, _min_variance
from clusterfolio.optimize.profiles.finalise import _finalise
from clusterfolio.optimize.result import ProfileResult

__all__ = ["POST_SOLVE_TOL", "caps_violation_linear", "hrp", "optimize_all", "optimize_profile"]

_PROFILES = {
    ProfileName.MIN_VARIANCE: _min_variance,
    ProfileName.MAX_SHARPE: _max_sharpe,
    ProfileName.RISK_PARITY: _risk_parity,
    ProfileName.HRP: _hrp,
    ProfileName.EQUAL_WEIGHT: _equal_weight,
    ProfileName.MARKET: _market,
    ProfileName.BARBELL: _barbell,
}


def _optimize(ctx: _Context, profile: ProfileName) -> ProfileResult:
    profile = ProfileName(profile)
    level = ctx.problem.level(profile)
    alloc = _PROFILES[profile](ctx, level)
    _apply_turnover(ctx, profile, alloc)
    return _finalise(ctx, profile, alloc)


def optimize_profile(problem: OptimizationProblem, profile: ProfileName) -> ProfileResult:
    """Weights of one profile (see the module documentation for each definition).

    Parameters
    ----------
    problem : OptimizationProblem
        The inputs.
    profile : ProfileName
        The profile.

    Returns
    -------
    ProfileResult

    Raises
    ------
    DataError
        Unusable returns (e.g. a pair of assets sharing fewer than two sessions).
    InfeasibleError
        When the problem is infeasible even after the documented cap relaxation.
    OptimizationError
        When every solver fails, or ``market`` lacks its symbol.
    """
    return _optimize(_context(problem), profile)


def optimize_all(
    problem: OptimizationProblem, profiles: Iterable[ProfileName]
) -> dict[ProfileName, ProfileResult]:
    """Weights of several profiles, sharing one covariance estimate.

    Errors propagate (the first failing profile raises); every fallback of the others is on their
    results.
    """
    ctx = _context(problem)
    return {ProfileName(p): _optimize(ctx, ProfileName(p)) for p in profiles}


def hrp(
    returns: pd.DataFrame,
    *,
    linkage_method: str = "ward",
    optimal_leaf_ordering: bool = False,
) -> pd.Series:
    """Uncapped hierarchical risk parity weights straight from returns.

    Uses :func:`~clusterfolio.optimize.estimators.covariance` (pairwise-complete, PSD-repaired)
    and its correlation; see :mod:`clusterfolio.optimize.hrp`.

    Parameters
    ----------
    returns : pandas.DataFrame
        Returns (NaN allowed).
    linkage_method : str, default "ward"
        scipy linkage method.
    optimal_leaf_ordering : bool, default False
        Optimal leaf ordering instead of the plain dendrogram order.

    Returns
    -------
    pandas.Series
        Weights indexed like ``returns.columns``.
    """
    cov = covariance(returns).matrix.to_numpy()
    w, _ = hrp_weights(
        cov,
        correlation_from_covariance(cov),
        linkage_method=linkage_method,
        optimal_leaf_ordering=optimal_leaf_ordering,
    )
    return pd.Series(w, index=returns.columns, name="weight")
