"""Portfolio optimisation: the custom cluster-aware engine and adapters to the peer libraries.

Public API
----------
* :class:`OptimizationProblem` - the inputs of one decision date (synthetic-long returns,
  clusters, directions, signals, caps, penalties); :meth:`OptimizationProblem.from_settings`
  builds it from the manifest's ``risk`` settings.
* :func:`optimize_profile` / :func:`optimize_all` - one or several profiles, each a
  :class:`ProfileResult` (gross and net weights, per-cluster sums, solver, recorded fallbacks,
  diagnostics, ``to_dict()``).
* :func:`covariance` (pairwise-complete, annualised, PSD-repaired, recorded) and
  :func:`expected_returns` (mean x 252) - the single-calendar estimators; the profiles use their
  calendar-true versions (:mod:`clusterfolio.optimize.calendar_risk`: each asset annualised by
  its calendar's sessions per year, correlations on the business-day time base).
* :mod:`clusterfolio.optimize.turnover` - the turnover trade-off of every profile against the
  signed previous book (the smoke optimisation of ``config check`` prices it with the cost model,
  so it lives above, in :mod:`clusterfolio.backtest.smoke`).
* :func:`hrp` - uncapped hierarchical risk parity straight from returns.
* :func:`min_cvar_weights` / :func:`portfolio_cvar` - historical minimum-CVaR portfolio (LP).
* :mod:`clusterfolio.optimize.peers` - skfolio, Riskfolio-Lib and PyPortfolioOpt adapters
  (imported lazily; not re-exported here).

The profile definitions, allocation levels and cap handling (caps inside the allocators; the
projection of :mod:`clusterfolio.optimize.caps` only as a recorded last resort) are documented in
:mod:`clusterfolio.optimize.profiles`. Only numpy, pandas
and scipy are imported at module import time; cvxpy is imported inside the solver functions.
"""

from __future__ import annotations

from clusterfolio.optimize.cvar import min_cvar_weights, portfolio_cvar
from clusterfolio.optimize.estimators import CovarianceEstimate, covariance, expected_returns
from clusterfolio.optimize.problem import (
    DEFAULT_ALLOCATION_LEVELS,
    MARKET_SYMBOL,
    AllocationLevel,
    OptimizationProblem,
)
from clusterfolio.optimize.profiles import hrp, optimize_all, optimize_profile
from clusterfolio.optimize.result import FallbackKind, ProfileResult

__all__ = [
    "DEFAULT_ALLOCATION_LEVELS",
    "MARKET_SYMBOL",
    "AllocationLevel",
    "CovarianceEstimate",
    "FallbackKind",
    "OptimizationProblem",
    "ProfileResult",
    "covariance",
    "expected_returns",
    "hrp",
    "min_cvar_weights",
    "optimize_all",
    "optimize_profile",
    "portfolio_cvar",
]
