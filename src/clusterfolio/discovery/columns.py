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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.data.schema import CANDLE_COLUMNS, Listing
from clusterfolio.discovery.identity import SymbolKind, SymbolParseError, parse_symbol
from clusterfolio.discovery.indicators import (
    _FIELDS,
    _INDICATORS,
    DEFAULT_COLUMNS,
    INDICATOR_COLUMNS,
    MA_LENGTHS,
    PERF_PERIODS,
    Bars,
    CandleArrays,
    period_labels,
)
from clusterfolio.discovery.smoothing import (
    FloatArray,
    IntArray,
    _rolling_extreme,
    ema,
    rma,
    seeded_smooth,
    sma,
)
from clusterfolio.enums import AssetClass
from clusterfolio.errors import DataError, SchemaError

__all__ = [
    "DEFAULT_COLUMNS",
    "INDICATOR_COLUMNS",
    "MA_LENGTHS",
    "METADATA_COLUMNS",
    "PERF_PERIODS",
    "RESAMPLE_RULES",
    "ColumnSpec",
    "_rolling_extreme",
    "ema",
    "indicator_values",
    "listing_metadata",
    "parse_column",
    "period_labels",
    "previous_column",
    "resample_candles",
    "rma",
    "screener_row",
    "screener_table",
    "seeded_smooth",
    "sma",
]

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


# --------------------------------------------------------------------------- resampling / table


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
