"""Candle schema and listing metadata shared by every provider and the lakehouse."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from clusterfolio.enums import AssetClass, CalendarKind
from clusterfolio.errors import SchemaError

#: Columns of a daily candle table, in order. ``session`` is the trading session date
#: (timezone-naive, midnight), unique and sorted ascending.
CANDLE_COLUMNS: tuple[str, ...] = ("session", "open", "high", "low", "close", "volume")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")

#: Arrow schema of a stored candle file.
CANDLE_SCHEMA = pa.schema(
    [
        pa.field("session", pa.timestamp("ns"), nullable=False),
        pa.field("open", pa.float64()),
        pa.field("high", pa.float64()),
        pa.field("low", pa.float64()),
        pa.field("close", pa.float64()),
        pa.field("volume", pa.float64()),
    ]
)


@dataclass(frozen=True)
class Listing:
    """One tradable listing ``EXCHANGE:TICKER`` and its metadata.

    Parameters
    ----------
    symbol : str
        ``EXCHANGE:TICKER``, e.g. ``BINANCE:BTCUSDT.P`` or ``NASDAQ:AAPL``.
    asset_class : AssetClass
        Broad class.
    calendar : CalendarKind
        Sessions on which the listing trades.
    description, sector, industry : str
        Provider metadata ("" when unknown; enrichment fills documented fallbacks).
    market_cap : float
        Market capitalisation in USD (NaN when not applicable).
    base, quote : str
        For crypto and forex: base and quote currency as the provider states them ("" if unknown).
    """

    symbol: str
    asset_class: AssetClass
    calendar: CalendarKind
    description: str = ""
    sector: str = ""
    industry: str = ""
    market_cap: float = float("nan")
    base: str = ""
    quote: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def exchange(self) -> str:
        """Exchange part of the symbol."""
        return self.symbol.split(":", 1)[0]

    @property
    def ticker(self) -> str:
        """Ticker part of the symbol."""
        return self.symbol.split(":", 1)[1] if ":" in self.symbol else self.symbol


def empty_candles() -> pd.DataFrame:
    """Return an empty candle frame with the canonical dtypes."""
    return pd.DataFrame(
        {
            "session": pd.Series([], dtype="datetime64[ns]"),
            **{
                c: pd.Series([], dtype="float64")
                for c in ("open", "high", "low", "close", "volume")
            },
        }
    )


def _canonical_session(column: pd.Series) -> bool:
    """Whether sessions are already naive ``datetime64[ns]`` at midnight (nothing to convert)."""
    if column.dtype != np.dtype("datetime64[ns]"):
        return False
    ticks = column.to_numpy().view("int64")
    return bool((ticks % 86_400_000_000_000 == 0).all())


def _canonical_dtypes(out: pd.DataFrame, source: str) -> None:
    """Sessions as naive ``datetime64[ns]`` days and the OHLCV columns as float64 (in place)."""
    if not _canonical_session(out["session"]):
        try:
            out["session"] = pd.to_datetime(out["session"]).dt.tz_localize(None).dt.normalize()
        except (ValueError, TypeError) as exc:
            raise SchemaError(f"{source}: column 'session' is not a date ({exc})") from exc
        if out["session"].dt.tz is not None:  # pragma: no cover - defensive
            out["session"] = out["session"].dt.tz_localize(None)
        out["session"] = out["session"].astype("datetime64[ns]")
    for col in ("open", "high", "low", "close", "volume"):
        if out[col].dtype == np.float64:
            continue  # already canonical (the common case: a cleaned or stored frame)
        try:
            out[col] = pd.to_numeric(out[col], errors="raise").astype("float64")
        except (ValueError, TypeError) as exc:
            raise SchemaError(f"{source}: column {col!r} is not numeric ({exc})") from exc


def validate_candles(frame: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """Check and normalise a candle frame, naming ``source`` and the row in every error.

    Parameters
    ----------
    frame : pandas.DataFrame
        Must hold :data:`CANDLE_COLUMNS`.
    source : str
        File or symbol named in errors.

    Returns
    -------
    pandas.DataFrame
        Canonical dtypes, columns in order, sorted by session, default index.

    Raises
    ------
    SchemaError
        Missing columns, unparsable sessions, duplicated sessions, or non-finite / non-positive
        prices, with the offending row.
    """
    missing = [c for c in CANDLE_COLUMNS if c not in frame.columns]
    if missing:
        raise SchemaError(f"{source}: missing columns {missing} (have {list(frame.columns)})")
    if tuple(frame.columns) == CANDLE_COLUMNS:
        out = frame.copy()
    else:
        out = frame.loc[:, list(CANDLE_COLUMNS)].copy()
    _canonical_dtypes(out, source)
    prices = np.column_stack([out[c].to_numpy() for c in PRICE_COLUMNS])
    bad = ~np.isfinite(prices) | (prices <= 0)
    if bad.any():
        row = int(np.argwhere(bad.any(axis=1))[0][0])
        col = PRICE_COLUMNS[int(np.argwhere(bad[row])[0][0])]
        raise SchemaError(
            f"{source}: row {row} (session {out['session'].iloc[row].date()}) has "
            f"{col}={prices[row, PRICE_COLUMNS.index(col)]!r}: prices must be finite and positive"
        )
    vol = out["volume"].to_numpy()
    if (~np.isfinite(vol) | (vol < 0)).any():
        row = int(np.argwhere(~np.isfinite(vol) | (vol < 0))[0][0])
        raise SchemaError(f"{source}: row {row} has volume={vol[row]!r}: must be finite and >= 0")
    if not out["session"].is_monotonic_increasing:
        out = out.sort_values("session", kind="mergesort")
    dup = out["session"].duplicated(keep=False)
    if dup.any():
        first = out.loc[dup, "session"].iloc[0]
        raise SchemaError(f"{source}: duplicated session {first.date()} ({int(dup.sum())} rows)")
    return out.reset_index(drop=True)
