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

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.data.calendars import PERIODS_PER_YEAR, calendar_for_symbol
from clusterfolio.enums import CalendarKind
from clusterfolio.errors import DataError
from clusterfolio.optimize.estimators import (
    CovarianceEstimate,
    _as_float_array,
    _raw_covariance,
    covariance,
    expected_returns,
    repaired_estimate,
)

WEEKEND_SHARE_24_7 = 0.05
"""An unknown listing with more than this share of weekend observations is taken as 24/7."""

CONVENTION = (
    "volatility and mean annualised per asset's calendar (252 exchange sessions, 365 for 24/7, "
    "260 forex); correlation on the business-day time base (24/7 weekend moves folded into the "
    "next session); covariance = D R D"
)


@dataclass(frozen=True)
class CalendarAssignment:
    """The calendar of each asset and how it was obtained."""

    calendars: dict[str, CalendarKind]
    inferred: dict[str, str] = field(default_factory=dict)

    def periods(self, symbols: list[str]) -> np.ndarray:
        """Sessions per year of each symbol, in the order given."""
        return np.array([PERIODS_PER_YEAR[self.calendars[s]] for s in symbols], dtype=np.float64)

    def to_dict(self, symbols: list[str]) -> dict[str, Any]:
        """The convention, the factor of each asset and the inferences (JSON-ready)."""
        return {
            "convention": CONVENTION,
            "periods_per_year": {s: int(PERIODS_PER_YEAR[self.calendars[s]]) for s in symbols},
            "calendars": {s: self.calendars[s].value for s in symbols},
            "inferred": dict(self.inferred),
        }


def assign_calendars(
    returns: pd.DataFrame, given: Mapping[str, CalendarKind] | None = None
) -> CalendarAssignment:
    """Calendar of every column: given, else from the exchange, else inferred from the data."""
    calendars: dict[str, CalendarKind] = {}
    inferred: dict[str, str] = {}
    given = given or {}
    for column in returns.columns:
        symbol = str(column)
        if symbol in given:
            calendars[symbol] = CalendarKind(given[symbol])
            continue
        try:
            calendars[symbol] = calendar_for_symbol(symbol)
        except DataError:
            observed = returns[column].dropna().index
            weekend = (
                float(np.mean(pd.DatetimeIndex(observed).dayofweek >= 5)) if len(observed) else 0.0
            )
            kind = CalendarKind.CRYPTO_24_7 if weekend > WEEKEND_SHARE_24_7 else CalendarKind.NYSE
            calendars[symbol] = kind
            inferred[symbol] = (
                f"exchange unknown; {weekend:.1%} of observations on weekends -> {kind.value}"
            )
    return CalendarAssignment(calendars, inferred)


def fold_to_business_days(returns: pd.DataFrame, assignment: CalendarAssignment) -> pd.DataFrame:
    """Returns on the business-day time base (24/7 moves compounded into the next business day).

    The base is every session on which an asset of an exchange or forex calendar was observed
    (every weekday when all assets are 24/7). A 24/7 asset's return on a base day is the
    compounded return since the previous base day over the days it was observed (NaN when it was
    observed on none of them); other assets keep their returns on the base days.
    """
    index = pd.DatetimeIndex(returns.index)
    continuous = [
        c for c in returns.columns if assignment.calendars[str(c)] is CalendarKind.CRYPTO_24_7
    ]
    others = [c for c in returns.columns if c not in continuous]
    base_mask = (
        returns[others].notna().any(axis=1).to_numpy()
        if others
        else np.asarray(index.dayofweek < 5)
    )
    if not base_mask.any():
        raise DataError("no business day in the returns: no common time base")
    # label of each row: the next base day at or after it (rows after the last base day drop out)
    base_positions = np.flatnonzero(base_mask)
    label = np.searchsorted(base_positions, np.arange(len(index)), side="left")
    keep = label < base_positions.size
    base_index = index[base_positions]
    out = returns.loc[base_mask].copy()
    if continuous:
        logs = np.log1p(returns[continuous].to_numpy(dtype=np.float64))[keep]
        observed = ~np.isnan(logs)
        groups = label[keep]
        sums = np.zeros((base_positions.size, len(continuous)))
        counts = np.zeros_like(sums)
        np.add.at(sums, groups, np.where(observed, logs, 0.0))
        np.add.at(counts, groups, observed.astype(np.float64))
        folded = np.where(counts > 0, np.expm1(sums), np.nan)
        out.loc[:, continuous] = folded
    out.index = base_index
    return out


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
