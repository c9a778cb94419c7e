"""TradingView screener columns computed locally from daily candles.

Every column is computed for the whole history of one candle frame with vectorised numpy /
pandas operations and read at the last bar (as of ``as_of``: later bars are dropped first, so a
column never sees the future). Column names follow TradingView's scanner fields:

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

#: Metadata columns (taken from the listing, identical on every timeframe).
METADATA_COLUMNS: tuple[str, ...] = (
    "name",
    "exchange",
    "description",
    "sector",
    "industry",
    "market_cap_basic",
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


def seeded_smooth(values: FloatArray, n: int, alpha: float) -> FloatArray:
    """Exponential smoothing seeded with the mean of the first ``n`` defined values.

    ``y[s] = mean(x[f : f + n])`` with ``f`` the first non-NaN index and ``s = f + n - 1``;
    then ``y[t] = alpha x[t] + (1 - alpha) y[t - 1]``; NaN before ``s``. ``alpha = 1 / n`` is
    Wilder's RMA, ``alpha = 2 / (n + 1)`` the EMA.
    """
    x = np.asarray(values, dtype="float64")
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


def rma(values: FloatArray, n: int) -> FloatArray:
    """Wilder's moving average (Pine ``ta.rma``)."""
    return seeded_smooth(values, n, 1.0 / n)


def ema(values: FloatArray, n: int) -> FloatArray:
    """Exponential moving average seeded with an SMA (Pine ``ta.ema``)."""
    return seeded_smooth(values, n, 2.0 / (n + 1))


def sma(values: FloatArray, n: int) -> FloatArray:
    """Simple moving average over ``n`` bars (NaN until ``n`` bars exist)."""
    return pd.Series(values).rolling(n, min_periods=n).mean().to_numpy()


def _shift(values: FloatArray, k: int = 1) -> FloatArray:
    out = np.full(values.shape, np.nan)
    if k < values.size:
        out[k:] = values[: values.size - k]
    return out


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out[~np.isfinite(out)] = np.nan
    return out


def _vote(buy: FloatArray | np.ndarray, sell: np.ndarray, defined: np.ndarray) -> FloatArray:
    out = np.where(buy, 1.0, np.where(sell, -1.0, 0.0))
    return np.where(defined, out, np.nan)


def _nanmean_rows(stack: FloatArray) -> FloatArray:
    counts = (~np.isnan(stack)).sum(axis=1)
    sums = np.nansum(stack, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = sums / counts
    return np.where(counts > 0, out, np.nan)


# --------------------------------------------------------------------------- the indicator set


class Bars:
    """Indicators of one candle frame, each computed once on demand for the whole history.

    Parameters
    ----------
    candles : pandas.DataFrame
        Canonical candles (:data:`~clusterfolio.data.schema.CANDLE_COLUMNS`), sorted by session.
    """

    def __init__(self, candles: pd.DataFrame) -> None:
        self.sessions = pd.DatetimeIndex(candles["session"].to_numpy(dtype="datetime64[ns]"))
        self.open = candles["open"].to_numpy(dtype="float64")
        self.high = candles["high"].to_numpy(dtype="float64")
        self.low = candles["low"].to_numpy(dtype="float64")
        self.close = candles["close"].to_numpy(dtype="float64")
        self.volume = candles["volume"].to_numpy(dtype="float64")
        self._cache: dict[str, FloatArray] = {}

    def __len__(self) -> int:
        return int(self.close.size)

    def series(self, base: str) -> FloatArray:
        """The whole-history array of indicator ``base``."""
        if base not in self._cache:
            try:
                fn = _INDICATORS[base]
            except KeyError as exc:
                raise DataError(f"unknown indicator {base!r}") from exc
            self._cache[base] = np.asarray(fn(self), dtype="float64")
        return self._cache[base]

    def value(self, base: str, shift: int = 0) -> float:
        """Indicator ``base`` ``shift`` bars before the last bar (NaN when out of range)."""
        n = len(self)
        if shift >= n:
            return float("nan")
        return float(self.series(base)[n - 1 - shift])

    # ---- building blocks
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
        plus_dm[0] = minus_dm[0] = np.nan
        tr = self.true_range.copy()
        tr[0] = np.nan
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
        hh = pd.Series(self.high).rolling(n, min_periods=n).max().to_numpy()
        ll = pd.Series(self.low).rolling(n, min_periods=n).min().to_numpy()
        return hh, ll

    def perf(self, offset: pd.DateOffset) -> FloatArray:
        """100 (close / close on or before session - offset - 1)."""
        ref_dates = (self.sessions - offset).to_numpy()
        idx = np.searchsorted(self.sessions.to_numpy(), ref_dates, side="right") - 1
        ref = np.where(idx >= 0, self.close[np.clip(idx, 0, None)], np.nan)
        return 100.0 * (self.close / ref - 1.0)

    def perf_ytd(self) -> FloatArray:
        """100 (close / last close of the previous calendar year - 1)."""
        years = self.sessions.year.to_numpy()
        ref_dates = pd.to_datetime({"year": years - 1, "month": 12, "day": 31}).to_numpy()
        idx = np.searchsorted(self.sessions.to_numpy(), ref_dates, side="right") - 1
        ref = np.where(idx >= 0, self.close[np.clip(idx, 0, None)], np.nan)
        return 100.0 * (self.close / ref - 1.0)

    def trailing_range_mean(self, days: int) -> FloatArray:
        """Mean of 100 (high - low) / low over bars in (session - days, session]."""
        rng = 100.0 * (self.high - self.low) / np.abs(self.low)
        cs = np.concatenate([[0.0], np.cumsum(rng)])
        sessions = self.sessions.to_numpy()
        start = np.searchsorted(sessions, sessions - np.timedelta64(days, "D"), side="right")
        end = np.arange(1, sessions.size + 1)
        return (cs[end] - cs[start]) / (end - start)

    def cci(self, n: int = 20) -> FloatArray:
        """Commodity channel index of the typical price."""
        tp = (self.high + self.low + self.close) / 3.0
        out = np.full(tp.shape, np.nan)
        if tp.size >= n:
            windows = sliding_window_view(tp, n)
            mean = windows.mean(axis=1)
            mad = np.abs(windows - mean[:, None]).mean(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[n - 1 :] = (tp[n - 1 :] - mean) / (0.015 * mad)
            out[~np.isfinite(out)] = np.nan
        return out


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
    return _nanmean_rows(np.column_stack(votes))


def _osc_votes(b: Bars) -> FloatArray:
    def rising(x: FloatArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    return np.column_stack([v_rsi, v_stoch, v_cci, v_adx, v_ao, v_mom, v_macd, v_wr])


def _recommend_all(b: Bars) -> FloatArray:
    return _nanmean_rows(np.column_stack([b.series("Recommend.MA"), b.series("Recommend.Other")]))


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
        "Recommend.Other": lambda b: _nanmean_rows(_osc_votes(b)),
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


def _prepare(candles: pd.DataFrame, as_of: pd.Timestamp | None, source: str) -> pd.DataFrame:
    missing = [c for c in CANDLE_COLUMNS if c not in candles.columns]
    if missing:
        raise SchemaError(f"{source}: missing candle columns {missing}")
    frame = candles.loc[:, list(CANDLE_COLUMNS)]
    if as_of is not None:
        frame = frame.loc[frame["session"] <= as_of]
    if not frame["session"].is_monotonic_increasing:
        frame = frame.sort_values("session", kind="mergesort")
    return frame.reset_index(drop=True)


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
    specs = [parse_column(c) for c in columns]
    frame = _prepare(candles, _as_timestamp(as_of), symbol or "candles")
    bars: dict[str, Bars] = {}
    meta: dict[str, Any] | None = None
    row: dict[str, Any] = {}
    for spec in specs:
        if spec.is_metadata:
            if meta is None:
                meta = listing_metadata(symbol, listing)
            row[spec.name] = meta[spec.base]
            continue
        if spec.timeframe not in bars:
            bars[spec.timeframe] = Bars(resample_candles(frame, spec.timeframe))
        row[spec.name] = bars[spec.timeframe].value(spec.base, spec.shift)
    return row


def screener_table(
    candles_by_symbol: Mapping[str, pd.DataFrame],
    listings: Mapping[str, Listing],
    columns: Iterable[str] | None = None,
    *,
    as_of: date | datetime | str | pd.Timestamp | None = None,
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
        Point in time for every symbol.

    Returns
    -------
    pandas.DataFrame
        Index ``symbol`` (sorted), the requested columns in order, then the added metadata.
    """
    wanted = list(dict.fromkeys(columns if columns is not None else DEFAULT_COLUMNS))
    if columns is None:
        wanted += [c for c in METADATA_COLUMNS if c not in wanted]
    wanted += [c for c in ("asset_class", "market", "type", "typespecs") if c not in wanted]
    for name in wanted:
        parse_column(name)
    rows = [
        screener_row(
            candles_by_symbol[symbol],
            wanted,
            symbol=symbol,
            listing=listings.get(symbol),
            as_of=as_of,
        )
        for symbol in sorted(candles_by_symbol)
    ]
    table = pd.DataFrame.from_records(rows, columns=wanted)
    table.index = pd.Index(sorted(candles_by_symbol), name="symbol")
    return table
