"""The indicator set of the locally computed screener columns: candle panels and their indicators.

The definitions are documented in :mod:`clusterfolio.discovery.columns`; :class:`Bars` computes
each indicator once per panel (one series per row, right-aligned), and the registry maps a
column's base name to the function that computes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from clusterfolio.discovery.smoothing import (
    BoolArray,
    FloatArray,
    IntArray,
    _nanmean,
    _ratio,
    _rolling_extreme,
    _shift,
    _vote,
    _windows,
    ema,
    rma,
    sma,
)
from clusterfolio.errors import DataError

MA_LENGTHS: tuple[int, ...] = (10, 20, 30, 50, 100, 200)
PERF_PERIODS: dict[str, pd.DateOffset] = {
    "Perf.W": pd.DateOffset(days=7),
    "Perf.1M": pd.DateOffset(months=1),
    "Perf.3M": pd.DateOffset(months=3),
    "Perf.6M": pd.DateOffset(months=6),
    "Perf.Y": pd.DateOffset(years=1),
}


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
