"""Return and price matrices on each asset's own sessions.

A listing's closes are placed on the last ``n`` sessions of its own calendar; a missing bar is a
NaN (never a zero and never a forward-filled price), and the return ``close_t / close_{t-1} - 1``
is NaN wherever either close is absent. The matrix index is the sorted union of every listing's
sessions, so a closed market (an NYSE holiday, a weekend for equities) is NaN, not a zero return.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from clusterfolio.data.calendars import sessions as calendar_sessions
from clusterfolio.data.calendars import sessions_back
from clusterfolio.data.schema import Listing
from clusterfolio.enums import CalendarKind


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
    return _union_matrices(
        candles, listings, symbols, lambda kind: sessions_back(kind, as_of, n_sessions + 1)
    )


def returns_between(
    candles: Mapping[str, pd.DataFrame],
    listings: Mapping[str, Listing],
    symbols: Sequence[str],
    *,
    start: date,
    end: date,
) -> pd.DataFrame:
    """Simple returns of ``symbols`` on their own sessions in ``[start, end]``.

    The same rules as :func:`build_matrices` (NaN where a bar is missing or the market closed,
    union index), over a date range instead of a session count: the first session of each
    listing's range has no return (its previous close is outside the range).

    Parameters
    ----------
    candles : mapping
        As for :func:`build_matrices`.
    listings : mapping
        As for :func:`build_matrices`.
    symbols : sequence of str
        As for :func:`build_matrices`.
    start, end : date
        First and last calendar day of the range.

    Returns
    -------
    pandas.DataFrame
        Index ``session`` (the union of the listings' sessions after their first), columns
        ``symbols``.
    """
    return _union_matrices(
        candles, listings, symbols, lambda kind: calendar_sessions(kind, start, end)
    )[1]


def _close_block(
    candles: Mapping[str, pd.DataFrame], symbols: Sequence[str], window: pd.DatetimeIndex
) -> npt.NDArray[np.float64]:
    """Closes on ``window`` (rows) for ``symbols`` (columns), NaN where no bar; a duplicated
    session keeps its last bar."""
    days_of_window = window.to_numpy(dtype="datetime64[ns]")
    out = np.full((len(window), len(symbols)), np.nan, dtype=np.float64)
    if not len(window):
        return out
    for j, symbol in enumerate(symbols):
        frame = candles.get(symbol)
        if frame is None or frame.empty:
            continue
        days = frame["session"].to_numpy(dtype="datetime64[ns]")
        values = frame["close"].to_numpy(dtype=np.float64)
        if len(np.unique(days)) != len(days):  # keep the last bar of a duplicated session
            _, first_of_reversed = np.unique(days[::-1], return_index=True)
            keep = np.sort(len(days) - 1 - first_of_reversed)
            days, values = days[keep], values[keep]
        pos = np.searchsorted(days_of_window, days)
        inside = pos < len(days_of_window)
        inside[inside] = days_of_window[pos[inside]] == days[inside]
        out[pos[inside], j] = values[inside]
    return out


def _union_matrices(
    candles: Mapping[str, pd.DataFrame],
    listings: Mapping[str, Listing],
    symbols: Sequence[str],
    window_of: Callable[[CalendarKind], pd.DatetimeIndex],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Prices and returns of every calendar's block placed on the union of their sessions."""
    groups: dict[CalendarKind, list[int]] = {}
    for j, symbol in enumerate(symbols):
        groups.setdefault(listings[symbol].calendar, []).append(j)
    blocks: list[
        tuple[
            npt.NDArray[np.datetime64],
            npt.NDArray[np.intp],
            npt.NDArray[np.float64],
            npt.NDArray[np.float64],
        ]
    ] = []
    for kind, columns in groups.items():
        window = window_of(kind)
        closes = _close_block(candles, [symbols[j] for j in columns], window)
        with np.errstate(divide="ignore", invalid="ignore"):
            rets = closes[1:] / closes[:-1] - 1.0  # pct_change(fill_method=None)
        blocks.append(
            (
                window[1:].to_numpy(dtype="datetime64[ns]"),
                np.asarray(columns, dtype=np.intp),
                closes[1:],
                rets,
            )
        )
    union_days = (
        np.unique(np.concatenate([b[0] for b in blocks]))
        if blocks
        else np.array([], dtype="datetime64[ns]")
    )
    prices = np.full((len(union_days), len(symbols)), np.nan, dtype=np.float64)
    returns = np.full_like(prices, np.nan)
    for days, positions, block_closes, block_returns in blocks:
        rows = np.searchsorted(union_days, days)
        prices[np.ix_(rows, positions)] = block_closes
        returns[np.ix_(rows, positions)] = block_returns
    union = pd.DatetimeIndex(union_days, name="session")
    names = pd.Index(list(symbols), name="symbol")
    return (
        pd.DataFrame(prices, index=union, columns=names),
        pd.DataFrame(returns, index=union, columns=names),
    )
