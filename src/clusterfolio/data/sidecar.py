"""The optional metadata sidecar of a folder of candles: ``listings.csv`` (or ``.parquet``).

One row per listing; column names are matched case-insensitively, and only ``symbol`` is
required::

    symbol,exchange,asset_class,sector,industry,market_cap,description,currency
    AAPL,NASDAQ,equity,Technology,Consumer Electronics,3.4e12,Apple Inc.,USD
    SPY,AMEX,etf,,,,SPDR S&P 500 ETF,USD
    BTCUSDT,BINANCE,crypto,,,,Bitcoin / Tether,USDT

``symbol`` may be a ticker (``AAPL``, matched against the file's ticker) or a full
``EXCHANGE:TICKER``. Aliases: ``ticker`` for ``symbol``; ``class``/``type`` for
``asset_class``; ``name`` for ``description``; ``marketcap``/``market_cap_basic`` for
``market_cap``. ``asset_class`` accepts the class names and the usual synonyms (stock, fund,
fixed income, fx, cryptocurrency ...). A row that cannot be read is reported and ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from clusterfolio.enums import AssetClass

__all__ = ["SIDECAR_NAMES", "SidecarRow", "is_sidecar", "parse_asset_class", "read_sidecar"]

#: File names of a sidecar (lower-case).
SIDECAR_NAMES: tuple[str, ...] = (
    "listings.csv", "listings.csv.gz", "listings.parquet", "metadata.csv", "metadata.parquet",
)  # fmt: skip
_ALIASES: dict[str, tuple[str, ...]] = {
    "symbol": ("symbol", "ticker"),
    "exchange": ("exchange", "venue", "market"),
    "asset_class": ("asset_class", "asset class", "class", "type"),
    "sector": ("sector",),
    "industry": ("industry",),
    "market_cap": ("market_cap", "market cap", "marketcap", "market_cap_basic"),
    "description": ("description", "name"),
    "currency": ("currency",),
}
_CLASS_WORDS: dict[str, AssetClass] = {
    "stock": AssetClass.EQUITY, "equity": AssetClass.EQUITY, "common": AssetClass.EQUITY,
    "share": AssetClass.EQUITY, "etf": AssetClass.ETF, "fund": AssetClass.ETF,
    "bond": AssetClass.BOND, "fixed income": AssetClass.BOND, "commodity": AssetClass.COMMODITY,
    "commodities": AssetClass.COMMODITY, "crypto": AssetClass.CRYPTO,
    "cryptocurrency": AssetClass.CRYPTO, "forex": AssetClass.FOREX, "fx": AssetClass.FOREX,
    "currency": AssetClass.FOREX, "index": AssetClass.INDEX,
}  # fmt: skip


@dataclass(frozen=True)
class SidecarRow:
    """One listing's metadata as the sidecar states it ("" / NaN where it states nothing)."""

    symbol: str
    exchange: str = ""
    asset_class: AssetClass | None = None
    sector: str = ""
    industry: str = ""
    market_cap: float = math.nan
    description: str = ""
    currency: str = ""
    line: int = 0


def is_sidecar(path: Path) -> bool:
    """Whether ``path`` is named like a sidecar."""
    return path.name.lower() in SIDECAR_NAMES


def parse_asset_class(text: str) -> AssetClass | None:
    """``"Stock"`` -> equity, ``"Fixed Income"`` -> bond ...; None when unknown or empty."""
    word = text.strip().lower()
    if word in {c.value for c in AssetClass}:
        return AssetClass(word)
    return _CLASS_WORDS.get(word)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def read_sidecar(path: Path) -> tuple[dict[str, SidecarRow], list[tuple[int | None, str]]]:
    """Read a sidecar: ``(rows by upper-case symbol, problems as (line, message))``.

    Raises
    ------
    OSError, ValueError
        The file cannot be read at all (the caller reports it).
    """
    if path.name.lower().endswith(".parquet"):
        frame = pd.read_parquet(path)
        first_line = 1
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, sep=None, engine="python")
        first_line = 2
    lowered = {str(c).strip().lower(): c for c in frame.columns}
    columns = {
        key: next((lowered[a] for a in names if a in lowered), None)
        for key, names in _ALIASES.items()
    }
    problems: list[tuple[int | None, str]] = []
    if columns["symbol"] is None:
        problems.append((None, f"no 'symbol' column (columns {list(frame.columns)}): ignored"))
        return {}, problems
    out: dict[str, SidecarRow] = {}
    for i, record in enumerate(frame.to_dict(orient="records")):
        line = first_line + i
        get = {k: _text(record[c]) if c is not None else "" for k, c in columns.items()}
        symbol = get["symbol"].upper()
        if not symbol:
            problems.append((line, "row without a symbol: ignored"))
            continue
        cls = parse_asset_class(get["asset_class"]) if get["asset_class"] else None
        if get["asset_class"] and cls is None:
            problems.append((line, f"unknown asset class {get['asset_class']!r}: inferred"))
        cap = pd.to_numeric(pd.Series([get["market_cap"] or "nan"]), errors="coerce").iloc[0]
        if get["market_cap"] and math.isnan(float(cap)):
            problems.append((line, f"market cap {get['market_cap']!r} is not a number"))
        if symbol in out:
            problems.append((line, f"{symbol} already described at line {out[symbol].line}"))
            continue
        out[symbol] = SidecarRow(
            symbol=symbol, exchange=get["exchange"].upper(), asset_class=cls,
            sector=get["sector"], industry=get["industry"], market_cap=float(cap),
            description=get["description"], currency=get["currency"].upper(), line=line,
        )  # fmt: skip
    return out, problems
