"""Fixtures of the discovery tests: real candles read straight from ``../shared/data``."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pandas as pd
import pytest

from clusterfolio.data.schema import Listing
from clusterfolio.enums import AssetClass, CalendarKind

#: CryptoDataDownload folders and the TradingView venue they stand for.
CDD_VENUES: dict[str, str] = {
    "binance": "BINANCE",
    "binance_futures": "BINANCE",
    "bitfinex": "BITFINEX",
    "bitstamp": "BITSTAMP",
    "coinbase": "COINBASE",
    "kraken": "KRAKEN",
}

#: M6 ETF types and the class their funds get.
ETF_CLASSES: dict[str, AssetClass] = {
    "Fixed Income": AssetClass.BOND,
    "Commodities": AssetClass.COMMODITY,
}


def read_m6(path: Path) -> pd.DataFrame:
    """Canonical candles of one M6 file (``Date,Open,High,Low,Close,Adjusted_close,Volume``)."""
    raw = pd.read_csv(path)
    return pd.DataFrame(
        {
            "session": pd.to_datetime(raw["Date"]).astype("datetime64[ns]"),
            "open": raw["Open"].astype(float),
            "high": raw["High"].astype(float),
            "low": raw["Low"].astype(float),
            "close": raw["Close"].astype(float),
            "volume": raw["Volume"].astype(float),
        }
    )


def cdd_symbol(path: Path) -> str:
    """TradingView symbol of a CryptoDataDownload file name.

    ``binance/Binance_BTCUSDT_d.csv.gz`` is ``BINANCE:BTCUSDT``; the USDT-M futures file
    ``binance_futures/BTCUSDT_Binance_futures_data_day.csv.gz`` is ``BINANCE:BTCUSDT.P``.
    """
    venue = CDD_VENUES[path.parent.name]
    stem = path.name.removesuffix(".csv.gz")
    if path.parent.name == "binance_futures":
        return f"{venue}:{stem.split('_')[0]}.P"
    return f"{venue}:{stem.split('_')[1]}"


def read_cdd(path: Path) -> pd.DataFrame:
    """Canonical daily candles of a CryptoDataDownload file.

    Skips the URL line, reads unix seconds or milliseconds (or the date column), volume in the
    base currency, keeps the last row of a duplicated day and drops all-zero pre-listing rows.
    """
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    lines = text.splitlines()
    if lines and lines[0].startswith("http"):
        lines = lines[1:]
    raw = pd.read_csv(io.StringIO("\n".join(lines)))
    cols = {c.lower(): c for c in raw.columns}
    if "unix" in cols:
        unix = pd.to_numeric(raw[cols["unix"]], errors="coerce")
        unit_ms = unix > 1e11
        seconds = unix.astype(float).where(~unit_ms, unix / 1000.0)
        session = pd.to_datetime(seconds, unit="s")
    else:
        dayfirst = "/" in str(raw[cols["date"]].iloc[0])
        session = pd.to_datetime(raw[cols["date"]], dayfirst=dayfirst)
    symbol_col = cols["symbol"]
    first = str(raw[symbol_col].iloc[0]).replace("/", "")
    base_volume = None
    for col in raw.columns:
        if col.lower().startswith("volume ") and first.startswith(col.split(" ", 1)[1]):
            base_volume = raw[col]
            break
    if base_volume is None:  # pragma: no cover - every file names its base volume
        raise ValueError(f"{path}: no base-currency volume column")
    frame = pd.DataFrame(
        {
            "session": session.dt.normalize().astype("datetime64[ns]"),
            "open": raw[cols["open"]].astype(float),
            "high": raw[cols["high"]].astype(float),
            "low": raw[cols["low"]].astype(float),
            "close": raw[cols["close"]].astype(float),
            "volume": base_volume.astype(float),
        }
    )
    frame = frame.loc[(frame[["open", "high", "low", "close"]] > 0).all(axis=1)]
    frame = frame.sort_values("session", kind="mergesort")
    frame = frame.drop_duplicates("session", keep="last")
    return frame.reset_index(drop=True)


def read_yahoo_fx(path: Path) -> pd.DataFrame:
    """Canonical candles of a Yahoo forex file (``;``-separated, decimal commas)."""
    raw = pd.read_csv(path, sep=";", decimal=",")
    frame = pd.DataFrame(
        {
            "session": pd.to_datetime(raw["Date"]).astype("datetime64[ns]"),
            "open": raw["Open"].astype(float),
            "high": raw[["High", "Close", "Open"]].max(axis=1).astype(float),
            "low": raw[["Low", "Close", "Open"]].min(axis=1).astype(float),
            "close": raw["Close"].astype(float),
            "volume": raw["Volume"].astype(float),
        }
    )
    frame = frame.dropna().loc[lambda f: f["close"] > 0]
    return frame.drop_duplicates("session", keep="last").reset_index(drop=True)


@pytest.fixture(scope="session")
def crypto_universe(
    shared_data: Path,
) -> tuple[dict[str, pd.DataFrame], dict[str, Listing]]:
    """Candles and listings of every CryptoDataDownload file (symbol from the file name)."""
    candles: dict[str, pd.DataFrame] = {}
    listings: dict[str, Listing] = {}
    for path in sorted((shared_data / "crypto" / "cryptodatadownload").glob("*/*.csv.gz")):
        symbol = cdd_symbol(path)
        candles[symbol] = read_cdd(path)
        listings[symbol] = Listing(
            symbol=symbol, asset_class=AssetClass.CRYPTO, calendar=CalendarKind.CRYPTO_24_7
        )
    return candles, listings


@pytest.fixture(scope="session")
def m6_universe(shared_data: Path) -> tuple[dict[str, pd.DataFrame], dict[str, Listing]]:
    """Candles and listings of the US M6 stocks and ETFs (London funds left out)."""
    folder = shared_data / "etfs" / "m6_universe"
    meta = pd.read_csv(folder / "M6_Universe.csv", encoding="utf-8-sig")
    candles: dict[str, pd.DataFrame] = {}
    listings: dict[str, Listing] = {}
    for rec in meta.to_dict(orient="records"):
        ticker = str(rec["symbol"])
        if ticker.endswith(".L"):
            continue
        kind = str(rec["GICS_sector/ETF_type"])
        if rec["class"] == "Stock":
            klass = AssetClass.EQUITY
        else:
            klass = ETF_CLASSES.get(kind, AssetClass.ETF)
        venue = "NYSE" if klass is AssetClass.EQUITY else "AMEX"
        symbol = f"{venue}:{ticker}"
        candles[symbol] = read_m6(folder / f"{ticker}.csv.gz")
        listings[symbol] = Listing(
            symbol=symbol, asset_class=klass, calendar=CalendarKind.NYSE, sector=kind
        )
    return candles, listings


@pytest.fixture(scope="session")
def fx_universe(shared_data: Path) -> tuple[dict[str, pd.DataFrame], dict[str, Listing]]:
    """Candles and listings of the Yahoo forex pairs (``FX_IDC:EURUSD`` ...)."""
    candles: dict[str, pd.DataFrame] = {}
    listings: dict[str, Listing] = {}
    for path in sorted((shared_data / "forex" / "yahoo").glob("*.csv.gz")):
        pair = path.name.split("=")[0]
        symbol = f"FX_IDC:{pair}"
        candles[symbol] = read_yahoo_fx(path)
        listings[symbol] = Listing(
            symbol=symbol,
            asset_class=AssetClass.FOREX,
            calendar=CalendarKind.FOREX_24_5,
            base=pair[:3],
            quote=pair[3:],
        )
    return candles, listings


@pytest.fixture(scope="session")
def xlk(shared_data: Path) -> pd.DataFrame:
    """Real candles of XLK (M6 universe)."""
    return read_m6(shared_data / "etfs" / "m6_universe" / "XLK.csv.gz")


@pytest.fixture(scope="session")
def scanners_root(repo_root: Path) -> Path:
    """The project's ``configs/scanners``."""
    return repo_root / "configs" / "scanners"
