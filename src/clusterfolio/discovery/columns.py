"""TradingView screener columns computed locally from daily candles.

Every column is computed for the whole history of each candle frame with vectorised numpy
operations and read at the last bar (as of ``as_of``: later bars are dropped first, so a column
never sees the future). Column names follow TradingView's scanner fields:

``NAME``           the value at the last bar;
``NAME[k]``        the value ``k`` bars earlier (``RSI[1]``: previous bar; crossing filters use it);
``NAME|1W``        the value on weekly bars (W-FRI weeks) resampled from the daily candles:
                   open = first, high = max, low = min, close = last, volume = sum; the last
                   week may be incomplete (the week in progress, as on TradingView);
``NAME|1M``        the same on month-end months;
``NAME[k]|1W``     both.

Definitions (``n`` bars; Wilder's smoothing and the EMAs are seeded with the simple mean of their
first ``n`` values, as Pine's ``ta.rma`` and ``ta.ema``):

- ``open high low close volume``: the bar; ``change`` = 100 (close / close[1] - 1);
  ``change_abs`` = close - close[1]; ``gap`` = 100 (open / close[1] - 1);
- ``average_volume_{10,30,60,90}d_calc``: mean volume of the last 10/30/60/90 bars;
  ``relative_volume_10d_calc`` = volume / mean volume of the 10 bars before it;
- ``Value.Traded`` = close x volume (quote-currency value of the bar);
- ``Perf.W Perf.1M Perf.3M Perf.6M Perf.Y``: *calendar* periods, as TradingView:
  100 (close / close_ref - 1) with close_ref the last close on or before the session minus
  7 days, 1, 3, 6 or 12 months; ``Perf.YTD`` uses the last close of the previous calendar year.
  Calendar periods keep 24/7 crypto, 24/5 forex and exchange-traded assets comparable (a crypto
  week is 7 bars, an equity week 5). NaN when the history does not reach back that far;
- ``Volatility.D`` = 100 TR / low of the last bar (TradingView's definition; TR uses the
  previous close, high - low on the first bar); ``Volatility.W`` / ``Volatility.M`` = mean of
  100 (high - low) / low over the bars of the trailing 7 / 30 calendar days;
- ``ATR`` (14, Wilder) of the true range; ``ATRP`` = 100 ATR / close;
- ``RSI`` (14, Wilder): 100 - 100 / (1 + RMA(gain) / RMA(loss)); 100 when RMA(loss) = 0,
  0 when RMA(gain) = 0; ``RSI7`` the same over 7;
- ``ADX``, ``ADX+DI``, ``ADX-DI`` (14, Wilder, as Pine's ``ta.dmi``): +DM = up move when it
  exceeds the down move and is positive, else 0 (and symmetrically); DI = 100 RMA(DM) / RMA(TR);
  ADX = RMA(100 |+DI - -DI| / (+DI + -DI)); TR and DM start on the second bar;
- ``SMA{10,20,30,50,100,200}``, ``EMA{10,20,30,50,100,200}`` (EMA alpha = 2 / (n + 1));
- ``MACD.macd`` = EMA12 - EMA26, ``MACD.signal`` = EMA9 of it; ``Mom`` = close - close[10];
  ``Stoch.K`` = SMA3 of 100 (close - LL14) / (HH14 - LL14), ``Stoch.D`` = SMA3 of Stoch.K;
  ``CCI20`` = (TP - SMA20(TP)) / (0.015 x mean absolute deviation of TP over 20), TP = HLC/3;
  ``W.R`` = -100 (HH14 - close) / (HH14 - LL14); ``AO`` = SMA5(HL/2) - SMA34(HL/2);
- ``Recommend.MA``: mean of 12 votes, +1 when close is above (-1 below, 0 equal) each of
  SMA/EMA 10, 20, 30, 50, 100, 200 (TradingView also votes Ichimoku, VWMA and Hull: left out);
  ``Recommend.Other``: mean of 8 oscillator votes, TradingView's rules: RSI < 30 and rising +1,
  > 70 and falling -1; Stoch.K < 20 crossing over Stoch.D +1, > 80 crossing under -1;
  CCI20 < -100 and rising +1, > 100 and falling -1; ADX > 20 and +DI crossing over -DI +1,
  crossing under -1; AO > 0 and rising +1, < 0 and falling -1 (simplified: no saucer);
  Mom rising +1, falling -1; MACD above signal +1, below -1; W.R < -80 and rising +1,
  > -20 and falling -1; else 0 (Stoch RSI, Bull Bear Power and Ultimate Oscillator left out);
  ``Recommend.All`` = (Recommend.MA + Recommend.Other) / 2, in [-1, 1]. A vote whose inputs are
  not yet defined (short history) is left out of the mean; NaN when no vote is defined;
- metadata from the :class:`~clusterfolio.data.schema.Listing`: ``name`` (ticker), ``exchange``,
  ``description``, ``sector``, ``industry``, ``market_cap_basic``, ``currency`` (quote, or USD),
  ``base_currency``, ``type``/``typespecs`` (stock/common, fund/etf, spot/crypto,
  swap/perpetual, futures, forex), ``market`` (america, uk, germany ... crypto, forex) and the
  clusterfolio extras ``asset_class`` and ``kind``.

Computation
-----------
The symbols of a table are computed together. Their candles are stacked in *panels*: 2-D
arrays (one row per symbol, bars along the columns) right-aligned on each symbol's last bar, NaN
before its first bar. Symbols whose histories have similar lengths share a panel (those of one
calendar have the same length; a panel holds at most :data:`PANEL_CELLS` cells). Every indicator
is one array operation along the bars of the whole panel:

- windows (SMA, average volumes, Stoch smoothing, AO) are differences of suffix sums
  cumulated from the last bar backwards, so a value read near the last bar carries the rounding
  of its own window only; rolling extremes and the CCI use sliding windows;
- the seeded Wilder and EMA recursions are one loop over bars vectorised across the rows (a
  row whose input has a gap after the seed, e.g. the DI of flat prices, is smoothed alone with
  pandas' ``ewm`` rules for missing values);
- calendar columns (``Perf.*``, ``Volatility.W/M``) search every bar's reference date at once in
  keys ``(row, rank of the session among the panel's sessions)``;
- ``|1W`` and ``|1M`` bars of every row are aggregated with one ``reduceat`` per field.

Each symbol's values equal those computed on its candles alone (1e-12 relative in the tests).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from clusterfolio.data.schema import CANDLE_COLUMNS, Listing
from clusterfolio.discovery.identity import SymbolKind, SymbolParseError, parse_symbol
from clusterfolio.enums import AssetClass
from clusterfolio.errors import DataError, SchemaError

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

MA_LENGTHS: tuple[int, ...] = (10, 20, 30, 50, 100, 200)
PERF_PERIODS: dict[str, pd.DateOffset] = {
    "Perf.W": pd.DateOffset(days=7),
    "Perf.1M": pd.DateOffset(months=1),
    "Perf.3M": pd.DateOffset(months=3),
    "Perf.6M": pd.DateOffset(months=6),
    "Perf.Y": pd.DateOffset(years=1),
}
#: Timeframes computed from resampled daily bars, and the pandas rule they are equivalent to.
RESAMPLE_RULES: dict[str, str] = {"1W": "W-FRI", "1M": "ME"}
#: Most cells (series x bars) of one panel: bounds the memory of the cached indicator arrays
#: (about 2 MiB each) whatever the number of symbols.
PANEL_CELLS = 1 << 18
#: Series whose history is at least this fraction of the longest one share its panel.
PANEL_FILL = 0.75

#: Metadata columns (taken from the listing, identical on every timeframe).
METADATA_COLUMNS: tuple[str, ...] = (
    "name",
    "exchange",
    "description",
    "sector",
    "industry",
    "market_cap_basic",
    "market_cap_calc",
    "currency",
    "base_currency",
    "type",
    "typespecs",
    "market",
    "asset_class",
    "kind",
)

_US_VENUES = frozenset({"NASDAQ", "NYSE", "AMEX", "ARCA", "NYSEARCA", "BATS", "CBOE", "OTC", "IEX"})
_VENUE_MARKETS: dict[str, str] = {
    "LSE": "uk",
    "LSIN": "uk",
    "XETR": "germany",
    "FWB": "germany",
    "EURONEXT": "france",
    "TSX": "canada",
    "TSE": "japan",
    "HKEX": "hongkong",
    "ASX": "australia",
    "SIX": "switzerland",
    "NSE": "india",
    "BSE": "india",
}
_COLUMN = re.compile(r"^(?P<base>[^\[\]|]+)(?:\[(?P<shift>\d+)\])?(?:\|(?P<tf>[^|\[\]]+))?$")


@dataclass(frozen=True)
class ColumnSpec:
    """A parsed column name: ``base[shift]|timeframe``."""

    name: str
    base: str
    shift: int
    timeframe: str

    @property
    def is_metadata(self) -> bool:
        """True for listing metadata columns."""
        return self.base in METADATA_COLUMNS


def parse_column(name: str) -> ColumnSpec:
    """Parse ``NAME``, ``NAME[k]``, ``NAME|1W``, ``NAME[k]|1M``.

    Raises
    ------
    DataError
        Unknown column or timeframe (the message lists what can be computed).
    """
    match = _COLUMN.match(name)
    if not match:
        raise DataError(f"column {name!r}: expected NAME, NAME[k], NAME|1W or NAME[k]|1M")
    base = match["base"]
    shift = int(match["shift"] or 0)
    tf = match["tf"] or "1D"
    if tf not in ("1D", *RESAMPLE_RULES):
        raise DataError(f"column {name!r}: timeframe {tf!r} cannot be computed from daily bars")
    if base not in METADATA_COLUMNS and base not in _INDICATORS:
        raise DataError(
            f"column {name!r} cannot be computed locally; computable: "
            f"{sorted(_INDICATORS)} and metadata {list(METADATA_COLUMNS)}"
        )
    if base in METADATA_COLUMNS and (shift or tf != "1D"):
        raise DataError(f"column {name!r}: metadata has no previous bar or timeframe")
    return ColumnSpec(name=name, base=base, shift=shift, timeframe=tf)


def previous_column(name: str, k: int = 1) -> str:
    """Name of the column ``k`` bars earlier: ``RSI|1W`` → ``RSI[1]|1W``."""
    spec = parse_column(name)
    tf = "" if spec.timeframe == "1D" else f"|{spec.timeframe}"
    return f"{spec.base}[{spec.shift + k}]{tf}"


# --------------------------------------------------------------------------- smoothing helpers
#
# Every helper works along the last axis: a 1-D array is one series, a 2-D array a panel
# (one series per row, bars along the columns). A value is NaN where its window or its seed
# is not fully defined.


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


# --------------------------------------------------------------------------- the indicator set


@dataclass(frozen=True)
class CandleArrays:
    """The candles of one symbol as arrays (sorted by session, cut to the history window)."""

    sessions: np.ndarray  # datetime64[ns]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return int(self.close.size)


_FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "volume")


class Bars:
    """Indicators of a panel of candle series, each computed once on demand for all of them.

    A panel holds one series per row, right-aligned: the last column is every series' last bar
    and a series shorter than the panel is NaN (``NaT`` for sessions) before its first bar.
    Every indicator is a 2-D array of the panel's shape, computed along the bars of each row
    exactly as it would be on that series alone.

    Parameters
    ----------
    lengths : numpy.ndarray
        Number of bars of each row.
    sessions : numpy.ndarray
        The sessions of every row, one after the other (``datetime64[ns]``, each row sorted).
    open, high, low, close, volume : numpy.ndarray
        The bars, in the same order.
    """

    def __init__(
        self,
        lengths: IntArray,
        sessions: np.ndarray,
        open: FloatArray,
        high: FloatArray,
        low: FloatArray,
        close: FloatArray,
        volume: FloatArray,
    ) -> None:
        lengths = np.asarray(lengths, dtype="int64")
        n_bars = int(lengths.max()) if lengths.size else 0
        self.lengths: IntArray = lengths
        self.shape: tuple[int, int] = (int(lengths.size), n_bars)
        #: positions of the defined cells in the flattened panel (row-major: by row, then bar)
        self.cells: IntArray = _cells(lengths, n_bars)
        self.sessions = self._place(sessions, "datetime64[ns]")
        self.open = self._place(open)
        self.high = self._place(high)
        self.low = self._place(low)
        self.close = self._place(close)
        self.volume = self._place(volume)
        self.pad: BoolArray = np.arange(n_bars)[None, :] < (n_bars - lengths)[:, None]
        self._cache: dict[str, FloatArray] = {}

    @classmethod
    def from_series(cls, series: Sequence[CandleArrays]) -> Bars:
        """A panel of several series (one row each, in order)."""
        lengths = np.array([len(s) for s in series], dtype="int64")

        def joined(field: str, dtype: str) -> np.ndarray:
            if not series:
                return np.zeros(0, dtype=dtype)
            return np.concatenate([np.asarray(getattr(s, field), dtype=dtype) for s in series])

        return cls(
            lengths,
            joined("sessions", "datetime64[ns]"),
            *(joined(f, "float64") for f in _FIELDS),
        )

    @classmethod
    def from_candles(cls, candles: pd.DataFrame) -> Bars:
        """A one-row panel of canonical candles (sorted by session)."""
        return cls.from_series([_series_of(candles)])

    def _place(self, values: np.ndarray, dtype: str = "float64") -> np.ndarray:
        fill = np.datetime64("NaT") if dtype.startswith("datetime64") else np.nan
        out = np.full(self.shape, fill, dtype=dtype)
        out.ravel()[self.cells] = np.asarray(values, dtype=dtype)
        return out

    def __len__(self) -> int:
        return self.shape[1]

    def series(self, base: str) -> FloatArray:
        """The whole-history panel (rows x bars) of indicator ``base``."""
        if base not in self._cache:
            try:
                fn = _INDICATORS[base]
            except KeyError as exc:
                raise DataError(f"unknown indicator {base!r}") from exc
            values = np.asarray(fn(self), dtype="float64")
            self._cache[base] = np.where(self.pad, np.nan, values)
        return self._cache[base]

    def value(self, base: str, shift: int = 0) -> FloatArray:
        """Indicator ``base`` ``shift`` bars before each row's last bar (NaN out of range)."""
        column = self.shape[1] - 1 - shift
        if column < 0:
            return np.full(self.shape[0], np.nan)
        return self.series(base)[:, column].copy()

    # ---- building blocks
    @cached_property
    def first_bar(self) -> BoolArray:
        """True on each row's first bar."""
        out = np.zeros(self.shape, dtype=bool)
        rows = np.flatnonzero(self.lengths > 0)
        out[rows, self.shape[1] - self.lengths[rows]] = True
        return out

    @cached_property
    def prev_close(self) -> FloatArray:
        """Close of the previous bar (NaN on the first)."""
        return _shift(self.close)

    @cached_property
    def true_range(self) -> FloatArray:
        """True range; high - low on the first bar (Pine ``ta.tr(true)``)."""
        pc = self.prev_close
        hl = self.high - self.low
        tr = np.fmax(hl, np.fmax(np.abs(self.high - pc), np.abs(self.low - pc)))
        return np.where(np.isnan(pc), hl, tr)

    @cached_property
    def dmi(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(+DI, -DI, ADX) with length 14 (Pine ``ta.dmi(14, 14)``)."""
        n = 14
        up = self.high - _shift(self.high)
        down = _shift(self.low) - self.low
        plus_dm = np.where((up > down) & (up > 0), up, 0.0)
        minus_dm = np.where((down > up) & (down > 0), down, 0.0)
        before = self.pad | self.first_bar  # TR and DM start on the second bar
        plus_dm[before] = minus_dm[before] = np.nan
        tr = np.where(before, np.nan, self.true_range)
        atr = rma(tr, n)
        plus = 100.0 * _ratio(rma(plus_dm, n), atr)
        minus = 100.0 * _ratio(rma(minus_dm, n), atr)
        total = plus + minus
        dx = np.abs(plus - minus) / np.where(total == 0, 1.0, total)
        adx = 100.0 * rma(dx, n)
        return plus, minus, adx

    def rsi(self, n: int) -> FloatArray:
        """Wilder RSI over ``n`` bars."""
        change = self.close - self.prev_close
        gain = rma(np.where(np.isnan(change), np.nan, np.fmax(change, 0.0)), n)
        loss = rma(np.where(np.isnan(change), np.nan, np.fmax(-change, 0.0)), n)
        with np.errstate(divide="ignore", invalid="ignore"):
            rs = 100.0 - 100.0 / (1.0 + gain / loss)
        out = np.where(loss == 0, 100.0, np.where(gain == 0, 0.0, rs))
        return np.where(np.isnan(gain) | np.isnan(loss), np.nan, out)

    def _extremes(self, n: int) -> tuple[FloatArray, FloatArray]:
        return (
            _rolling_extreme(self.high, n, highest=True),
            _rolling_extreme(self.low, n, highest=False),
        )

    # ---- calendar columns: searches over (row, session rank) keys of the defined cells
    @cached_property
    def _timeline(self) -> _Timeline:
        return _Timeline(self)

    def _at_or_before(self, ref: np.ndarray) -> FloatArray:
        """Close of the last bar of the same row on or before ``ref`` (one date per distinct
        session of the panel, aligned with ``_timeline.days``), as a panel."""
        line = self._timeline
        found = line.last_at_or_before(ref)
        closes = self.close.ravel()[self.cells]
        ref_close = np.where(found >= 0, closes[np.clip(found, 0, None)], np.nan)
        return self._spread(ref_close)

    def _spread(self, flat: FloatArray) -> FloatArray:
        out = np.full(self.shape, np.nan)
        out.ravel()[self.cells] = flat
        return out

    def perf(self, offset: pd.DateOffset) -> FloatArray:
        """100 (close / close on or before session - offset - 1)."""
        days = self._timeline.days
        ref = (pd.DatetimeIndex(days) - offset).to_numpy(dtype="datetime64[ns]")
        return 100.0 * (self.close / self._at_or_before(ref) - 1.0)

    def perf_ytd(self) -> FloatArray:
        """100 (close / last close of the previous calendar year - 1)."""
        years = pd.DatetimeIndex(self._timeline.days).year.to_numpy()
        ref = pd.to_datetime({"year": years - 1, "month": 12, "day": 31}).to_numpy()
        return 100.0 * (self.close / self._at_or_before(ref.astype("datetime64[ns]")) - 1.0)

    def trailing_range_mean(self, days: int) -> FloatArray:
        """Mean of 100 (high - low) / low over bars in (session - days, session]."""
        line = self._timeline
        rng = 100.0 * (self.high - self.low) / np.abs(self.low)
        cs = np.zeros((self.shape[0], self.shape[1] + 1))
        cs[:, 1:] = np.cumsum(np.where(self.pad, 0.0, rng), axis=1)
        ref = line.days - np.timedelta64(days, "D")
        found = line.last_at_or_before(ref)  # last bar at or before session - days
        start = np.maximum(found + 1, line.row_start)  # first bar inside the window
        cols = self.cells % max(self.shape[1], 1)
        start_cols = cols - (np.arange(self.cells.size) - start)
        rows = line.rows
        total = cs[rows, cols + 1] - cs[rows, start_cols]
        return self._spread(total / (cols + 1 - start_cols))

    def cci(self, n: int = 20) -> FloatArray:
        """Commodity channel index of the typical price."""
        tp = (self.high + self.low + self.close) / 3.0
        out = np.full(tp.shape, np.nan)
        if tp.shape[1] >= n:
            windows = _windows(tp, n)
            mean = windows.mean(axis=2)
            mad = np.abs(windows - mean[:, :, None]).mean(axis=2)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[:, n - 1 :] = (tp[:, n - 1 :] - mean) / (0.015 * mad)
            out[~np.isfinite(out)] = np.nan
        return out

    # ---- timeframes
    def resample(self, timeframe: str) -> Bars:
        """The panel of ``1W`` (W-FRI) or ``1M`` (month-end) bars of every row.

        Same bars as :func:`resample_candles` on each row alone: open = first, high = max,
        low = min, close = last, volume = sum; the session is the period's label.
        """
        line = self._timeline
        flat = {f: getattr(self, f).ravel()[self.cells] for f in _FIELDS}
        sessions = self.sessions.ravel()[self.cells]
        labels = period_labels(sessions, timeframe)
        size = sessions.size
        new = np.ones(size, dtype=bool)
        new[1:] = (line.rows[1:] != line.rows[:-1]) | (labels[1:] != labels[:-1])
        starts = np.flatnonzero(new)
        ends = np.r_[starts[1:] - 1, size - 1].astype("int64")
        counts = np.bincount(line.rows[starts], minlength=self.shape[0]).astype("int64")
        if size == 0:
            return Bars(counts, labels, *(flat[f] for f in _FIELDS))
        return Bars(
            counts,
            labels[starts],
            flat["open"][starts],
            np.maximum.reduceat(flat["high"], starts),
            np.minimum.reduceat(flat["low"], starts),
            flat["close"][ends],
            np.add.reduceat(flat["volume"], starts),
        )


class _Timeline:
    """The defined cells of a panel in row-major order, keyed by (row, session rank).

    ``days`` are the distinct sessions of the panel (sorted); a cell's key is
    ``row * (len(days) + 1) + rank + 1``, increasing along the cells, so "the last bar of the
    same row on or before a date" is one ``searchsorted`` for every cell at once.
    """

    def __init__(self, bars: Bars) -> None:
        n_bars = max(bars.shape[1], 1)
        sessions = bars.sessions.ravel()[bars.cells]
        self.rows: IntArray = (bars.cells // n_bars).astype("int64")
        self.days, rank = np.unique(sessions, return_inverse=True)
        self.rank: IntArray = rank.reshape(-1).astype("int64")
        self.width = int(self.days.size) + 1
        self.keys: IntArray = self.rows * self.width + self.rank + 1
        #: index (among the cells) of the first cell of each cell's row
        firsts = np.r_[0, np.cumsum(bars.lengths)[:-1]].astype("int64")
        self.row_start: IntArray = firsts[self.rows] if self.rows.size else self.rows

    def last_at_or_before(self, ref: np.ndarray) -> IntArray:
        """For every cell, the index of the last cell of its row whose session is on or before
        ``ref[rank of the cell's session]``; -1 when there is none."""
        ref_rank = np.searchsorted(self.days, ref, side="right") - 1  # -1: before every session
        query = self.rows * self.width + ref_rank[self.rank] + 1
        found = np.searchsorted(self.keys, query, side="right") - 1
        return np.where(found >= self.row_start, found, -1)


def _cells(lengths: IntArray, n_bars: int) -> IntArray:
    """Flat positions of the defined cells of a right-aligned panel, row by row."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype="int64")
    rows = np.repeat(np.arange(lengths.size), lengths)
    offsets = np.r_[0, np.cumsum(lengths)[:-1]]
    within = np.arange(total) - np.repeat(offsets, lengths)
    return (rows * n_bars + (n_bars - lengths)[rows] + within).astype("int64")


def _stoch_k(b: Bars) -> FloatArray:
    hh, ll = b._extremes(14)
    raw = 100.0 * _ratio(b.close - ll, hh - ll)
    return sma(raw, 3)


def _williams(b: Bars) -> FloatArray:
    hh, ll = b._extremes(14)
    return -100.0 * _ratio(hh - b.close, hh - ll)


def _ao(b: Bars) -> FloatArray:
    hl2 = (b.high + b.low) / 2.0
    return sma(hl2, 5) - sma(hl2, 34)


def _macd(b: Bars) -> FloatArray:
    return ema(b.close, 12) - ema(b.close, 26)


def _recommend_ma(b: Bars) -> FloatArray:
    votes = []
    for n in MA_LENGTHS:
        for ma in (b.series(f"SMA{n}"), b.series(f"EMA{n}")):
            diff = b.close - ma
            votes.append(_vote(diff > 0, diff < 0, ~np.isnan(ma)))
    return _nanmean(votes)


def _osc_votes(b: Bars) -> list[FloatArray]:
    def rising(x: FloatArray) -> tuple[BoolArray, BoolArray, BoolArray]:
        prev = _shift(x)
        return x > prev, x < prev, ~np.isnan(x) & ~np.isnan(prev)

    rsi = b.series("RSI")
    up, dn, ok = rising(rsi)
    v_rsi = _vote((rsi < 30) & up, (rsi > 70) & dn, ok)

    k, d = b.series("Stoch.K"), b.series("Stoch.D")
    k1, d1 = _shift(k), _shift(d)
    ok = ~np.isnan(k) & ~np.isnan(d) & ~np.isnan(k1) & ~np.isnan(d1)
    v_stoch = _vote((k < 20) & (k > d) & (k1 < d1), (k > 80) & (k < d) & (k1 > d1), ok)

    cci = b.series("CCI20")
    up, dn, ok = rising(cci)
    v_cci = _vote((cci < -100) & up, (cci > 100) & dn, ok)

    plus, minus, adx = b.dmi
    p1, m1 = _shift(plus), _shift(minus)
    ok = ~np.isnan(adx) & ~np.isnan(p1) & ~np.isnan(m1)
    strong = adx > 20
    v_adx = _vote(strong & (p1 < m1) & (plus > minus), strong & (p1 > m1) & (plus < minus), ok)

    ao = b.series("AO")
    up, dn, ok = rising(ao)
    v_ao = _vote((ao > 0) & up, (ao < 0) & dn, ok)

    up, dn, ok = rising(b.series("Mom"))
    v_mom = _vote(up, dn, ok)

    macd, signal = b.series("MACD.macd"), b.series("MACD.signal")
    v_macd = _vote(macd > signal, macd < signal, ~np.isnan(macd) & ~np.isnan(signal))

    wr = b.series("W.R")
    up, dn, ok = rising(wr)
    v_wr = _vote((wr < -80) & up, (wr > -20) & dn, ok)
    return [v_rsi, v_stoch, v_cci, v_adx, v_ao, v_mom, v_macd, v_wr]


def _recommend_all(b: Bars) -> FloatArray:
    return _nanmean([b.series("Recommend.MA"), b.series("Recommend.Other")])


def _avg_volume(n: int) -> Callable[[Bars], FloatArray]:
    return lambda b: sma(b.volume, n)


def _perf(offset: pd.DateOffset) -> Callable[[Bars], FloatArray]:
    return lambda b: b.perf(offset)


def _sma_close(n: int) -> Callable[[Bars], FloatArray]:
    return lambda b: sma(b.close, n)


def _ema_close(n: int) -> Callable[[Bars], FloatArray]:
    return lambda b: ema(b.close, n)


def _build_registry() -> dict[str, Callable[[Bars], FloatArray]]:
    reg: dict[str, Callable[[Bars], FloatArray]] = {
        "open": lambda b: b.open,
        "high": lambda b: b.high,
        "low": lambda b: b.low,
        "close": lambda b: b.close,
        "volume": lambda b: b.volume,
        "change": lambda b: 100.0 * (b.close / b.prev_close - 1.0),
        "change_abs": lambda b: b.close - b.prev_close,
        "gap": lambda b: 100.0 * (b.open / b.prev_close - 1.0),
        "Value.Traded": lambda b: b.close * b.volume,
        "relative_volume_10d_calc": lambda b: _ratio(b.volume, _shift(sma(b.volume, 10))),
        "Perf.YTD": Bars.perf_ytd,
        "Volatility.D": lambda b: 100.0 * b.true_range / np.abs(b.low),
        "Volatility.W": lambda b: b.trailing_range_mean(7),
        "Volatility.M": lambda b: b.trailing_range_mean(30),
        "ATR": lambda b: rma(b.true_range, 14),
        "ATRP": lambda b: 100.0 * b.series("ATR") / b.close,
        "RSI": lambda b: b.rsi(14),
        "RSI7": lambda b: b.rsi(7),
        "ADX": lambda b: b.dmi[2],
        "ADX+DI": lambda b: b.dmi[0],
        "ADX-DI": lambda b: b.dmi[1],
        "MACD.macd": _macd,
        "MACD.signal": lambda b: ema(b.series("MACD.macd"), 9),
        "Mom": lambda b: b.close - _shift(b.close, 10),
        "Stoch.K": _stoch_k,
        "Stoch.D": lambda b: sma(b.series("Stoch.K"), 3),
        "CCI20": lambda b: b.cci(20),
        "W.R": _williams,
        "AO": _ao,
        "Recommend.MA": _recommend_ma,
        "Recommend.Other": lambda b: _nanmean(_osc_votes(b)),
        "Recommend.All": _recommend_all,
    }
    for n in (10, 30, 60, 90):
        reg[f"average_volume_{n}d_calc"] = _avg_volume(n)
    for name, offset in PERF_PERIODS.items():
        reg[name] = _perf(offset)
    for n in MA_LENGTHS:
        reg[f"SMA{n}"] = _sma_close(n)
        reg[f"EMA{n}"] = _ema_close(n)
    return reg


_INDICATORS: dict[str, Callable[[Bars], FloatArray]] = _build_registry()

#: Every indicator that can be computed locally (before ``[k]`` and ``|TF`` decoration).
INDICATOR_COLUMNS: tuple[str, ...] = tuple(sorted(_INDICATORS))

#: Columns that the Alpha Discovery Score and the forex MTF screens need, by default.
DEFAULT_COLUMNS: tuple[str, ...] = (
    "close",
    "change",
    "volume",
    "average_volume_10d_calc",
    "average_volume_30d_calc",
    "Value.Traded",
    "Perf.W",
    "Perf.1M",
    "Perf.3M",
    "Perf.6M",
    "Perf.Y",
    "Volatility.D",
    "ATR",
    "ADX",
    "RSI",
    "SMA20",
    "SMA50",
    "SMA200",
    "EMA20",
    "EMA50",
    "Recommend.All",
    "market_cap_basic",
)


# --------------------------------------------------------------------------- resampling / table


def period_labels(sessions: np.ndarray, timeframe: str) -> np.ndarray:
    """Label of each session's period: the Friday ending its week (``1W``, W-FRI) or the last
    day of its month (``1M``), as ``datetime64[ns]``."""
    days = sessions.astype("datetime64[D]")
    if timeframe == "1W":
        weekday = (days.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday (3)
        labels = days + ((4 - weekday) % 7).astype("timedelta64[D]")
    elif timeframe == "1M":
        labels = (days.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    else:
        raise DataError(f"timeframe {timeframe!r}: only 1W and 1M are resampled")
    return labels.astype("datetime64[ns]")


def resample_candles(candles: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """Aggregate daily candles to ``1W`` (W-FRI) or ``1M`` (month-end) bars.

    Open = first, high = max, low = min, close = last, volume = sum; periods without a session
    do not appear; ``session`` is the period's label (the Friday, the month end). Equivalent to
    ``resample("W-FRI" | "ME")`` with those aggregations, done with ``numpy.ufunc.reduceat``.
    """
    if timeframe == "1D":
        return candles
    sessions = candles["session"].to_numpy(dtype="datetime64[ns]")
    if sessions.size == 0:
        return candles.iloc[0:0]
    labels = period_labels(sessions, timeframe)
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    ends = np.r_[starts[1:] - 1, sessions.size - 1]
    return pd.DataFrame(
        {
            "session": labels[starts],
            "open": candles["open"].to_numpy(dtype="float64")[starts],
            "high": np.maximum.reduceat(candles["high"].to_numpy(dtype="float64"), starts),
            "low": np.minimum.reduceat(candles["low"].to_numpy(dtype="float64"), starts),
            "close": candles["close"].to_numpy(dtype="float64")[ends],
            "volume": np.add.reduceat(candles["volume"].to_numpy(dtype="float64"), starts),
        }
    )


def _as_timestamp(as_of: date | datetime | str | pd.Timestamp | None) -> pd.Timestamp | None:
    if as_of is None:
        return None
    return pd.Timestamp(as_of).normalize()


def _check_columns(candles: pd.DataFrame, source: str) -> None:
    missing = [c for c in CANDLE_COLUMNS if c not in candles.columns]
    if missing:
        raise SchemaError(f"{source}: missing candle columns {missing}")


def _cut(
    sessions: np.ndarray,
    fields: Sequence[FloatArray],
    first: pd.Timestamp | None,
    last: pd.Timestamp | None,
) -> CandleArrays:
    """The bars with sessions in ``[first, last]`` (open bounds when None), sorted (stable)."""
    keep: np.ndarray | None = None
    if last is not None:
        keep = sessions <= last.to_datetime64()
    if first is not None:
        after = sessions >= first.to_datetime64()
        keep = after if keep is None else keep & after
    if sessions.size > 1 and (np.diff(sessions.view("int64")) < 0).any():
        order = np.argsort(sessions, kind="stable")
        if keep is not None:
            order = order[keep[order]]
        keep = None
        sessions, fields = sessions[order], [f[order] for f in fields]
    if keep is not None and not keep.all():
        sessions, fields = sessions[keep], [f[keep] for f in fields]
    return CandleArrays(sessions, *fields)


def _series_of(
    candles: pd.DataFrame, as_of: pd.Timestamp | None = None, source: str = "candles"
) -> CandleArrays:
    """The candle arrays of one frame, bars after ``as_of`` dropped, sorted by session.

    Raises
    ------
    SchemaError
        A candle column is missing.
    """
    _check_columns(candles, source)
    sessions = candles["session"].to_numpy(dtype="datetime64[ns]")
    fields = [candles[f].to_numpy(dtype="float64") for f in _FIELDS]
    return _cut(sessions, fields, None, as_of)


def _stack(
    frames: Sequence[pd.DataFrame],
    sources: Sequence[str],
    first: pd.Timestamp | None,
    last: pd.Timestamp | None,
) -> list[CandleArrays]:
    """:func:`_series_of` of many frames, their columns read once from one concatenation
    (reading a column costs pandas far more per frame than per row)."""
    for frame, source in zip(frames, sources, strict=True):
        _check_columns(frame, source)
    lengths = np.array([len(f) for f in frames], dtype="int64")
    filled = [f.loc[:, list(CANDLE_COLUMNS)] if f.shape[1] != 6 else f for f in frames if len(f)]
    if not filled:
        empty = np.zeros(0, dtype="float64")
        return [CandleArrays(np.zeros(0, "datetime64[ns]"), *([empty] * 5)) for _ in frames]
    joined = pd.concat(filled, ignore_index=True, sort=False) if len(filled) > 1 else filled[0]
    sessions = joined["session"].to_numpy(dtype="datetime64[ns]")
    fields = [joined[f].to_numpy(dtype="float64") for f in _FIELDS]
    bounds = np.r_[0, np.cumsum(lengths)]
    return [
        _cut(sessions[lo:hi], [f[lo:hi] for f in fields], first, last)
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
    ]


def _panels(lengths: IntArray) -> list[IntArray]:
    """Rows grouped into panels: similar history lengths, at most :data:`PANEL_CELLS` cells."""
    order = np.argsort(-lengths, kind="stable")
    panels: list[IntArray] = []
    i = 0
    while i < order.size:
        longest = int(lengths[order[i]])
        if longest == 0:
            panels.append(order[i:])
            break
        most = max(1, PANEL_CELLS // longest)
        j = i + 1
        while j < order.size and j - i < most and lengths[order[j]] >= PANEL_FILL * longest:
            j += 1
        panels.append(order[i:j])
        i = j
    return panels


def indicator_values(
    series: Sequence[CandleArrays], specs: Sequence[ColumnSpec]
) -> dict[str, FloatArray]:
    """Indicator columns of many series, computed panel by panel.

    Parameters
    ----------
    series : sequence of CandleArrays
        One entry per symbol (sorted by session, cut at the as-of date).
    specs : sequence of ColumnSpec
        Parsed indicator columns (no metadata).

    Returns
    -------
    dict
        Column name to an array of one value per series (NaN when the history is too short).
    """
    out = {spec.name: np.full(len(series), np.nan) for spec in specs}
    if not specs:
        return out
    lengths = np.array([len(s) for s in series], dtype="int64")
    for rows in _panels(lengths):
        daily = Bars.from_series([series[int(r)] for r in rows])
        frames: dict[str, Bars] = {"1D": daily}
        for spec in specs:
            if spec.timeframe not in frames:
                frames[spec.timeframe] = daily.resample(spec.timeframe)
            out[spec.name][rows] = frames[spec.timeframe].value(spec.base, spec.shift)
    return out


def listing_metadata(symbol: str, listing: Listing | None) -> dict[str, Any]:
    """Metadata columns of one symbol (:data:`METADATA_COLUMNS`)."""
    hint = listing.asset_class if listing is not None else None
    try:
        parsed = parse_symbol(
            symbol,
            hint,
            base_hint=listing.base if listing is not None else "",
            quote_hint=listing.quote if listing is not None else "",
        )
        kind: SymbolKind | None = parsed.kind
        asset_class: AssetClass | None = parsed.asset_class
        exchange, ticker, base, quote = parsed.exchange, parsed.ticker, parsed.base, parsed.quote
    except SymbolParseError:
        kind, asset_class = None, hint
        exchange, _, ticker = symbol.upper().rpartition(":")
        base, quote = "", ""
    types = {
        SymbolKind.SPOT: ("spot", ["crypto"]),
        SymbolKind.PERPETUAL: ("swap", ["perpetual"]),
        SymbolKind.FUTURE: ("futures", []),
        SymbolKind.FOREX: ("forex", []),
        SymbolKind.EQUITY: ("stock", ["common"]),
        SymbolKind.ETF: ("fund", ["etf"]),
        SymbolKind.INDEX: ("index", []),
    }
    type_, typespecs = types.get(kind, ("", [])) if kind is not None else ("", [])
    if asset_class is AssetClass.CRYPTO:
        market = "crypto"
    elif asset_class is AssetClass.FOREX:
        market = "forex"
    elif exchange in _US_VENUES:
        market = "america"
    else:
        market = _VENUE_MARKETS.get(exchange, "")
    if kind in (SymbolKind.SPOT, SymbolKind.PERPETUAL, SymbolKind.FUTURE, SymbolKind.FOREX):
        currency = quote or "USD"
    else:
        currency = "GBP" if market == "uk" else "USD"
    return {
        "name": ticker,
        "exchange": exchange,
        "description": listing.description if listing is not None else "",
        "sector": listing.sector if listing is not None else "",
        "industry": listing.industry if listing is not None else "",
        "market_cap_basic": float(listing.market_cap) if listing is not None else float("nan"),
        # TradingView's crypto market names the same figure market_cap_calc
        "market_cap_calc": float(listing.market_cap) if listing is not None else float("nan"),
        "currency": currency,
        "base_currency": base if kind is not None and quote else "",
        "type": type_,
        "typespecs": list(typespecs),
        "market": market,
        "asset_class": str(asset_class) if asset_class is not None else "",
        "kind": str(kind) if kind is not None else "",
    }


def screener_row(
    candles: pd.DataFrame,
    columns: Sequence[str] = DEFAULT_COLUMNS,
    *,
    symbol: str = "",
    listing: Listing | None = None,
    as_of: date | datetime | str | pd.Timestamp | None = None,
) -> dict[str, Any]:
    """Compute ``columns`` for one symbol as of its last bar on or before ``as_of``.

    Parameters
    ----------
    candles : pandas.DataFrame
        Canonical candles.
    columns : sequence of str
        Column names (``NAME[k]|TF``, see the module docstring).
    symbol : str
        ``EXCHANGE:TICKER`` (metadata, errors).
    listing : Listing, optional
        Metadata source.
    as_of : date-like, optional
        Point in time; later bars are ignored.

    Returns
    -------
    dict
        Column name to value (NaN when the history is too short).
    """
    table = _table(
        [symbol], [candles], {symbol: listing} if listing is not None else {}, columns, as_of=as_of
    )
    return {name: _scalar(table[name][0]) for name in dict.fromkeys(columns)}


def _scalar(value: Any) -> Any:
    return float(value) if isinstance(value, np.floating) else value


def _table(
    symbols: Sequence[str],
    frames: Sequence[pd.DataFrame],
    listings: Mapping[str, Listing | None],
    columns: Iterable[str],
    *,
    as_of: date | datetime | str | pd.Timestamp | None,
    start: date | datetime | str | pd.Timestamp | None = None,
) -> dict[str, Any]:
    specs = [parse_column(c) for c in dict.fromkeys(columns)]
    sources = [symbol or "candles" for symbol in symbols]
    series = _stack(frames, sources, _as_timestamp(start), _as_timestamp(as_of))
    values: dict[str, Any] = dict(indicator_values(series, [s for s in specs if not s.is_metadata]))
    meta_specs = [s for s in specs if s.is_metadata]
    if meta_specs:
        metas = [listing_metadata(s, listings.get(s)) for s in symbols]
        for spec in meta_specs:
            values[spec.name] = [m[spec.base] for m in metas]
    return {spec.name: values[spec.name] for spec in specs}


def screener_table(
    candles_by_symbol: Mapping[str, pd.DataFrame],
    listings: Mapping[str, Listing],
    columns: Iterable[str] | None = None,
    *,
    as_of: date | datetime | str | pd.Timestamp | None = None,
    start: date | datetime | str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Screener table of many symbols: one row per symbol, one column per requested field.

    Parameters
    ----------
    candles_by_symbol : mapping of str to DataFrame
        Candles per ``EXCHANGE:TICKER``.
    listings : mapping of str to Listing
        Metadata per symbol (a symbol without a listing gets metadata parsed from its name).
    columns : iterable of str, optional
        Columns to compute; :data:`DEFAULT_COLUMNS` plus every metadata column when omitted.
        Metadata columns ``asset_class``, ``market``, ``type`` and ``typespecs`` are always
        included (the local evaluator restricts on them).
    as_of : date-like, optional
        Point in time for every symbol (later bars are ignored).
    start : date-like, optional
        First session used (earlier bars are ignored): the history window is
        ``[start, as_of]``.

    Returns
    -------
    pandas.DataFrame
        Index ``symbol`` (sorted), the requested columns in order, then the added metadata.
        The indicators of all symbols are computed together, panel by panel (module
        docstring); each value equals the one computed on that symbol's candles alone.
    """
    wanted = list(dict.fromkeys(columns if columns is not None else DEFAULT_COLUMNS))
    if columns is None:
        wanted += [c for c in METADATA_COLUMNS if c not in wanted]
    wanted += [c for c in ("asset_class", "market", "type", "typespecs") if c not in wanted]
    symbols = sorted(candles_by_symbol)
    data = _table(
        symbols,
        [candles_by_symbol[s] for s in symbols],
        {s: listings.get(s) for s in symbols},
        wanted,
        as_of=as_of,
        start=start,
    )
    return pd.DataFrame(data, index=pd.Index(symbols, name="symbol"), columns=wanted)
