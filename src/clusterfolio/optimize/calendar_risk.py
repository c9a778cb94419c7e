"""Calendar-true risk: moments annualised per asset's calendar on a common time base.

Convention
----------
Each asset's returns live on its own sessions (NaN where its market was closed). A 24/7 coin has
365 returns a year, an NYSE listing 252, a forex pair about 260
(:data:`clusterfolio.data.calendars.PERIODS_PER_YEAR`, the one place these factors are defined).
Scaling every daily variance by 252 understates a coin's annual volatility by
``1 - sqrt(252 / 365)`` (about 17%) against an equity's; here instead:

* **volatility** of asset ``i``: the sample standard deviation of its own returns times
  ``sqrt(P_i)`` (``P_i`` its calendar's sessions per year); **expected return**: the mean of
  its own returns times ``P_i``;
* **correlation** on a common time base, the business days: the sessions on which some asset of an
  exchange or forex calendar traded (the weekdays when every asset is 24/7). Returns of a 24/7
  asset between two business days (its weekend and holiday moves) are compounded into the next
  business day, so each pair is compared over the same wall-clock intervals; pairwise-complete
  Pearson correlation of these folded returns;
* **covariance** ``Σ = D R D`` with ``D = diag(σ_i)``, repaired to PSD when the pairwise
  correlation is not (recorded, as for the single-calendar estimator).

When every asset has the same calendar this is the classic estimator (pairwise-complete sample
covariance times that calendar's ``P``), byte for byte.

Calendars come from the symbol's exchange (:func:`clusterfolio.data.calendars.calendar_for_symbol`);
a symbol whose exchange is unknown gets its calendar from its data (24/7 when more than 5% of its
observations fall on weekends, NYSE otherwise) and the inference is recorded.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from clusterfolio.errors import DataError
from clusterfolio.optimize.estimators import (
    CovarianceEstimate,
    _as_float_array,
    _raw_covariance,
    covariance,
    expected_returns,
    repaired_estimate,
)
from clusterfolio.risk.calendar_base import (
    CONVENTION,
    CalendarAssignment,
    assign_calendars,
    fold_to_business_days,
)

__all__ = [
    "CONVENTION",
    "CalendarAssignment",
    "assign_calendars",
    "calendar_covariance",
    "calendar_expected_returns",
    "fold_to_business_days",
]


def calendar_covariance(
    returns: pd.DataFrame,
    assignment: CalendarAssignment,
    *,
    min_periods: int = 2,
) -> CovarianceEstimate:
    """Annualised covariance with per-calendar volatilities and a common-time-base correlation.

    Parameters
    ----------
    returns : pandas.DataFrame
        Simple returns on each asset's own sessions (NaN where closed).
    assignment : CalendarAssignment
        The calendar of every column.
    min_periods : int, default 2
        Minimum number of shared sessions per pair (after folding).

    Returns
    -------
    CovarianceEstimate
        Its ``convention`` names the annualisation.
    """
    symbols = [str(c) for c in returns.columns]
    periods = assignment.periods(symbols)
    if np.all(periods == periods[0]):
        estimate = covariance(returns, periods_per_year=int(periods[0]), min_periods=min_periods)
        return _with_convention(estimate, assignment, symbols)
    values = _as_float_array(returns)
    variance = np.nanvar(values, axis=0, ddof=1) * periods
    if not np.all(np.isfinite(variance)) or np.any(variance <= 0):
        flat = [s for s, v in zip(symbols, variance, strict=True) if not v > 0]
        raise DataError(f"zero or undefined variance for {flat}")
    folded = fold_to_business_days(returns, assignment)
    raw, min_obs, pairwise = _raw_covariance(_as_float_array(folded), min_periods)
    std = np.sqrt(np.diag(raw))
    corr = np.clip(raw / np.outer(std, std), -1.0, 1.0)
    np.fill_diagonal(corr, 1.0)
    sigma = np.sqrt(variance)
    cov = corr * np.outer(sigma, sigma)
    cov = 0.5 * (cov + cov.T)
    estimate = repaired_estimate(cov, returns.columns, min_obs, pairwise)
    return _with_convention(estimate, assignment, symbols)


def _with_convention(
    estimate: CovarianceEstimate, assignment: CalendarAssignment, symbols: list[str]
) -> CovarianceEstimate:
    return replace(estimate, annualisation=assignment.to_dict(symbols))


def calendar_expected_returns(returns: pd.DataFrame, assignment: CalendarAssignment) -> pd.Series:
    """Mean of each asset's own returns times its calendar's sessions per year."""
    symbols = [str(c) for c in returns.columns]
    daily = expected_returns(returns, periods_per_year=1)
    return daily * assignment.periods(symbols)
