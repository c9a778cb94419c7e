"""Calendars of a return matrix and its common business-day time base.

Each asset's returns live on its own sessions (NaN where its market was closed). Two tools put
assets of different calendars side by side:

* :func:`assign_calendars`: the calendar of every column, from the symbol's exchange
  (:func:`clusterfolio.data.calendars.calendar_for_symbol`) or, for an unknown exchange, from its
  data (24/7 when more than 5% of its observations fall on weekends, NYSE otherwise; recorded);
* :func:`fold_to_business_days`: the returns on one business-day calendar, a 24/7 asset's
  weekend and holiday moves compounded into the next business day.

Used by the calendar-true covariance (:mod:`clusterfolio.optimize.calendar_risk`) and by the
regime's market proxy (:mod:`clusterfolio.risk.regime`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.data.calendars import PERIODS_PER_YEAR, calendar_for_symbol
from clusterfolio.enums import CalendarKind
from clusterfolio.errors import DataError

CONVENTION = (
    "volatility and mean annualised per asset's calendar (252 exchange sessions, 365 for 24/7, "
    "260 forex); correlation on the business-day time base (24/7 weekend moves folded into the "
    "next session); covariance = D R D"
)

WEEKEND_SHARE_24_7 = 0.05
"""An unknown listing with more than this share of weekend observations is taken as 24/7."""


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
