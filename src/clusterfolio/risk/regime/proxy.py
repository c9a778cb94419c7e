"""The market the regime reads: a proxy return and a cross-sectional dispersion.

Both live on one business-day calendar (the sessions on which some exchange or forex asset
traded; every weekday when all are 24/7): a 24/7 asset's weekend and holiday moves are
compounded into the next business day
(:func:`clusterfolio.risk.calendar_base.fold_to_business_days`), so a weekend is never one coin
read as the market. Both read the LONG assets only (a symbol absent from ``directions`` counts
as LONG), so that a bearish screen does not flip the sign of the market. Every value at date
``t`` uses the returns up to ``t`` only. The calibration study is ``docs/regime-calibration.md``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from clusterfolio.enums import CalendarKind, Direction
from clusterfolio.errors import DataError
from clusterfolio.risk.calendar_base import assign_calendars, fold_to_business_days

__all__ = [
    "MIN_DISPERSION_ASSETS",
    "PROXY_VOL_MIN",
    "PROXY_VOL_WINDOW",
    "market_dispersion",
    "market_proxy",
]

#: Trailing returns of an asset's volatility in the proxy weights, and the fewest that count.
PROXY_VOL_WINDOW = 60
PROXY_VOL_MIN = 10
#: Fewest assets observed on a date for its cross-sectional dispersion to be read.
MIN_DISPERSION_ASSETS = 5


def _long_members(
    returns: pd.DataFrame,
    directions: Mapping[str, Direction | str] | None,
    calendars: Mapping[str, CalendarKind] | None,
) -> pd.DataFrame:
    """The LONG columns as floats, folded onto the business days when the index is dated."""
    if directions is None:
        longs = list(returns.columns)
    else:
        longs = [
            c
            for c in returns.columns
            if Direction(directions.get(c, Direction.LONG)) is Direction.LONG
        ]
    if not longs:
        raise DataError("market proxy: no LONG asset in the return matrix")
    frame = returns.loc[:, longs].astype(np.float64)
    if not isinstance(frame.index, pd.DatetimeIndex):
        return frame
    return fold_to_business_days(frame, assign_calendars(frame, calendars))


def _proxy_weights(folded: pd.DataFrame) -> pd.DataFrame:
    """Point-in-time inverse-volatility weights, each capped at ``min(1, 2 / n_t)``.

    The volatility of a date is the standard deviation of the asset's previous
    :data:`PROXY_VOL_WINDOW` returns (at least :data:`PROXY_VOL_MIN` of them; the cross-sectional
    median volatility of that date before), so no weight reads its own date or a later one. The
    weights of the assets observed on a date sum to one; an asset above the cap is held at it
    and the excess spread over the others in proportion to their weights.
    """
    vol = folded.rolling(PROXY_VOL_WINDOW, min_periods=PROXY_VOL_MIN).std().shift(1)
    vol = vol.where(vol > 0)
    vol = vol.T.fillna(vol.median(axis=1)).T.fillna(1.0)
    raw = (1.0 / vol).where(folded.notna(), 0.0).to_numpy(dtype=np.float64)
    n_obs = (raw > 0).sum(axis=1)
    cap = np.minimum(1.0, 2.0 / np.maximum(n_obs, 1))[:, None]
    weights = np.zeros_like(raw)
    free = raw > 0
    remaining = np.ones(raw.shape[0])
    for _ in range(raw.shape[1] + 1):
        base = np.where(free, raw, 0.0)
        total = base.sum(axis=1, keepdims=True)
        share = np.divide(base, total, out=np.zeros_like(base), where=total > 0)
        share *= remaining[:, None]
        over = free & (share > cap + 1e-15)
        if not over.any():
            weights = np.where(free, share, weights)
            break
        weights = np.where(over, cap, weights)
        remaining -= np.where(over, cap, 0.0).sum(axis=1)
        free &= ~over
    return pd.DataFrame(weights, index=folded.index, columns=folded.columns)


def market_proxy(
    returns: pd.DataFrame,
    *,
    directions: Mapping[str, Direction | str] | None = None,
    calendars: Mapping[str, CalendarKind] | None = None,
) -> pd.Series:
    """Market proxy of the LONG assets on one business-day calendar, no asset dominating.

    Parameters
    ----------
    returns : pandas.DataFrame
        Raw (not direction-adjusted) return matrix, NaN where an asset did not trade.
    directions : mapping of str to Direction, optional
        Direction per symbol; SHORT symbols are left out. A symbol absent from the mapping (or
        every symbol when it is None) counts as LONG.
    calendars : mapping of str to CalendarKind, optional
        Calendar of a symbol overriding its exchange's
        (:func:`clusterfolio.risk.calendar_base.assign_calendars`).

    Returns
    -------
    pandas.Series
        On the business days (see the module documentation): the inverse-volatility weighted
        mean of the LONG assets' returns, 24/7 assets' weekend moves folded into the next
        session, each weight capped at ``min(1, 2 / n)``. Named ``"market_proxy"``; sessions
        where none traded are dropped.

    Raises
    ------
    DataError
        When no column is LONG.
    """
    frame = _long_members(returns, directions, calendars)
    if not isinstance(frame.index, pd.DatetimeIndex):
        proxy = frame.mean(axis=1, skipna=True).dropna()
        proxy.name = "market_proxy"
        return proxy
    weights = _proxy_weights(frame)
    values = (frame.fillna(0.0) * weights).sum(axis=1)
    proxy = values[frame.notna().any(axis=1)]
    proxy.name = "market_proxy"
    return proxy


def market_dispersion(
    returns: pd.DataFrame,
    *,
    directions: Mapping[str, Direction | str] | None = None,
    calendars: Mapping[str, CalendarKind] | None = None,
) -> pd.Series:
    """Cross-sectional dispersion of the proxy's members, on the proxy's business days.

    The dispersion of a date is the median absolute deviation of the members' returns from
    their cross-sectional median, over the members observed that date (robust to a few
    outliers, a volatility ETF or a coin, and to a listing's bad print).

    Parameters
    ----------
    returns : pandas.DataFrame
        Raw return matrix, NaN where an asset did not trade (as :func:`market_proxy`).
    directions, calendars : mapping, optional
        As in :func:`market_proxy` (SHORT symbols are left out).

    Returns
    -------
    pandas.Series
        Indexed like :func:`market_proxy` of the same arguments, named ``"market_dispersion"``;
        NaN on a date where fewer than :data:`MIN_DISPERSION_ASSETS` members were observed
        (always NaN for a universe of fewer members: the regime then reads the proxy alone).

    Raises
    ------
    DataError
        When no column is LONG.
    """
    frame = _long_members(returns, directions, calendars)
    observed = frame.notna()
    frame = frame[observed.any(axis=1)]
    deviation = frame.sub(frame.median(axis=1), axis=0).abs().median(axis=1)
    enough = frame.notna().sum(axis=1) >= MIN_DISPERSION_ASSETS
    dispersion = deviation.where(enough).astype(np.float64)
    dispersion.name = "market_dispersion"
    return dispersion
