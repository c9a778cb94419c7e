"""Smoothing helpers of the locally computed screener columns (:mod:`clusterfolio.discovery.columns`).

Every helper works along the last axis: a 1-D array is one series, a 2-D array a panel
(one series per row, bars along the columns). A value is NaN where its window or its seed
is not fully defined.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


def _rows(values: FloatArray) -> FloatArray:
    x = np.asarray(values, dtype="float64")
    return x if x.ndim == 2 else x.reshape(1, -1)


def _seeded_smooth_1d(x: FloatArray, n: int, alpha: float) -> FloatArray:
    """One series with pandas' rules for missing values after the seed (the reference path)."""
    out = np.full(x.shape, np.nan)
    defined = np.flatnonzero(~np.isnan(x))
    if defined.size == 0:
        return out
    first = int(defined[0])
    start = first + n - 1
    if start >= x.size:
        return out
    seq = x[start:].copy()
    seq[0] = x[first : first + n].mean()
    out[start:] = pd.Series(seq).ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return out


def seeded_smooth(values: FloatArray, n: int, alpha: float) -> FloatArray:
    """Exponential smoothing seeded with the mean of the first ``n`` defined values.

    ``y[s] = mean(x[f : f + n])`` with ``f`` the first non-NaN index and ``s = f + n - 1``;
    then ``y[t] = alpha x[t] + (1 - alpha) y[t - 1]``; NaN before ``s``. ``alpha = 1 / n`` is
    Wilder's RMA, ``alpha = 2 / (n + 1)`` the EMA.

    Parameters
    ----------
    values : numpy.ndarray
        One series (1-D) or a panel (2-D, one series per row).
    n : int
        Seed length.
    alpha : float
        Smoothing factor.

    Returns
    -------
    numpy.ndarray
        Same shape. The recursion is one loop over bars, vectorised across the rows; a row
        with a missing value after its seed (a DI of flat prices) is smoothed alone with
        pandas' ``ewm(adjust=False)`` rules (the missing value is skipped, the weight decays).
    """
    raw = np.asarray(values, dtype="float64")
    x = _rows(raw)
    n_rows, n_bars = x.shape
    out = np.full(x.shape, np.nan)
    if n_rows == 0 or n_bars == 0:
        return out.reshape(raw.shape)
    defined = ~np.isnan(x)
    first = np.argmax(defined, axis=1)
    start = first + n - 1
    live = defined.any(axis=1) & (start < n_bars)
    if live.any():
        window = np.minimum(first[:, None] + np.arange(n)[None, :], n_bars - 1)
        seed = np.take_along_axis(x, window, axis=1).mean(axis=1)
        gap = (~defined & (np.arange(n_bars)[None, :] > start[:, None])).any(axis=1)
        exact = live & ~gap & ~np.isnan(seed)
        for r in np.flatnonzero(live & ~exact):
            out[r] = _seeded_smooth_1d(x[r], n, alpha)
        fast = np.flatnonzero(exact)
        if fast.size:
            out[fast] = _recursion(x[fast], start[fast], seed[fast], alpha)
    return out.reshape(raw.shape)


def _recursion(x: FloatArray, start: IntArray, seed: FloatArray, alpha: float) -> FloatArray:
    """``y[start] = seed``, ``y[t] = alpha x[t] + (1 - alpha) y[t - 1]`` after it, NaN before."""
    xt = np.ascontiguousarray(x.T)  # bars x series: each step reads one contiguous row
    yt = np.full(xt.shape, np.nan)
    y = np.full(xt.shape[1], np.nan)
    step = np.empty_like(y)
    beta = 1.0 - alpha
    seeds = {int(t): np.flatnonzero(start == t) for t in np.unique(start)}
    for t in range(int(start.min()), xt.shape[0]):
        np.multiply(xt[t], alpha, out=step)
        np.multiply(y, beta, out=y)
        np.add(step, y, out=y)
        rows = seeds.get(t)
        if rows is not None:
            y[rows] = seed[rows]
        yt[t] = y
    return np.ascontiguousarray(yt.T)


def rma(values: FloatArray, n: int) -> FloatArray:
    """Wilder's moving average (Pine ``ta.rma``)."""
    return seeded_smooth(values, n, 1.0 / n)


def ema(values: FloatArray, n: int) -> FloatArray:
    """Exponential moving average seeded with an SMA (Pine ``ta.ema``)."""
    return seeded_smooth(values, n, 2.0 / (n + 1))


def sma(values: FloatArray, n: int) -> FloatArray:
    """Simple moving average over ``n`` bars (NaN unless the ``n`` bars are all defined).

    Window sums are differences of *suffix* sums (cumulated from the last bar backwards), so
    the rounding of a value read ``k`` bars before the end grows with ``n + k``, not with the
    length of the history.
    """
    raw = np.asarray(values, dtype="float64")
    x = _rows(raw)
    n_bars = x.shape[1]
    out = np.full(x.shape, np.nan)
    if n_bars >= n:
        defined = ~np.isnan(x)
        total = _suffix_sums(np.where(defined, x, 0.0))
        count = _suffix_sums(defined.astype("float64"))
        sums = total[:, : n_bars - n + 1] - total[:, n:]
        full = (count[:, : n_bars - n + 1] - count[:, n:]) == n
        out[:, n - 1 :] = np.where(full, sums / n, np.nan)
    return out.reshape(raw.shape)


def _suffix_sums(x: FloatArray) -> FloatArray:
    """``out[:, j] = x[:, j:].sum(axis=1)``, with a last column of zeros."""
    out = np.zeros((x.shape[0], x.shape[1] + 1))
    out[:, :-1] = np.cumsum(x[:, ::-1], axis=1)[:, ::-1]
    return out


def _windows(values: FloatArray, n: int) -> FloatArray:
    """Sliding windows of ``n`` bars along the last axis (rows x (bars - n + 1) x n)."""
    return sliding_window_view(_rows(values), n, axis=1)


def _rolling_extreme(values: FloatArray, n: int, *, highest: bool) -> FloatArray:
    """Rolling max (or min) over ``n`` bars by doubling: the extreme of ``2w`` bars is the
    extreme of two overlapping ``w``-bar extremes (exact; NaN when a window holds a NaN)."""
    pick = np.maximum if highest else np.minimum
    out = _rows(values).copy()
    width = 1
    while width < n:
        step = min(width, n - width)
        out = pick(out, _shift(out, step))
        width += step
    return out


def _shift(values: FloatArray, k: int = 1) -> FloatArray:
    """The value ``k`` bars earlier (NaN for the first ``k`` bars), along the last axis."""
    out = np.full(values.shape, np.nan)
    size = values.shape[-1]
    if k < size:
        out[..., k:] = values[..., : size - k]
    return out


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out[~np.isfinite(out)] = np.nan
    return out


def _vote(buy: BoolArray, sell: BoolArray, defined: BoolArray) -> FloatArray:
    out = np.where(buy, 1.0, np.where(sell, -1.0, 0.0))
    return np.where(defined, out, np.nan)


def _nanmean(stack: Sequence[FloatArray]) -> FloatArray:
    """Mean of the defined values across ``stack`` (NaN where none is defined)."""
    arr = np.stack(list(stack))
    counts = (~np.isnan(arr)).sum(axis=0)
    sums = np.nansum(arr, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = sums / counts
    return np.where(counts > 0, out, np.nan)
