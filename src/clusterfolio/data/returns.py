"""Return and price matrices on each asset's own sessions.

A listing's closes are placed on the last ``n`` sessions of its own calendar; a missing bar is a
NaN (never a zero and never a forward-filled price), and the return ``close_t / close_{t-1} - 1``
is NaN wherever either close is absent. The matrix index is the sorted union of every listing's
sessions, so a closed market (an NYSE holiday, a weekend for equities) is NaN, not a zero return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd

from clusterfolio.data.calendars import sessions_back
from clusterfolio.data.schema import Listing


def close_on_sessions(candles: pd.DataFrame, sessions: pd.DatetimeIndex) -> pd.Series:
    """Closes of ``candles`` reindexed on ``sessions`` (NaN where no bar)."""
    if candles.empty:
        return pd.Series(np.nan, index=sessions, dtype="float64")
    series = pd.Series(
        candles["close"].to_numpy(dtype="float64"),
        index=pd.DatetimeIndex(candles["session"]),
    )
    series = series[~series.index.duplicated(keep="last")]
    return series.reindex(sessions)


def build_matrices(
    candles: Mapping[str, pd.DataFrame],
    listings: Mapping[str, Listing],
    symbols: Sequence[str],
    *,
    as_of: date,
    n_sessions: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(prices, returns)`` for ``symbols`` over their last ``n_sessions`` sessions.

    Parameters
    ----------
    candles : mapping
        ``symbol -> candle frame``.
    listings : mapping
        ``symbol -> Listing`` (the calendar of each).
    symbols : sequence of str
        Columns, in this order.
    as_of : date
        Decision date: nothing after it is used.
    n_sessions : int
        Sessions per listing (its own calendar).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Closes and simple returns, index the union of sessions, columns ``symbols``.
    """
    windows: dict[str, pd.DatetimeIndex] = {}
    closes: dict[str, pd.Series] = {}
    for symbol in symbols:
        window = sessions_back(listings[symbol].calendar, as_of, n_sessions + 1)
        windows[symbol] = window
        closes[symbol] = close_on_sessions(candles.get(symbol, pd.DataFrame()), window)
    rets = {s: c.pct_change(fill_method=None).iloc[1:] for s, c in closes.items()}
    union = (
        pd.DatetimeIndex(sorted(set().union(*(r.index for r in rets.values()))))
        if rets
        else pd.DatetimeIndex([])
    )
    union.name = "session"
    prices = pd.DataFrame({s: closes[s].iloc[1:].reindex(union) for s in symbols}, index=union)
    returns = pd.DataFrame({s: rets[s].reindex(union) for s in symbols}, index=union)
    prices.columns.name = returns.columns.name = "symbol"
    return prices.astype("float64"), returns.astype("float64")
