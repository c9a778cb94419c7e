"""What a user's file name and ticker say about a listing: exchange, ticker and asset class.

File names
----------
A per-symbol file may be named ``AAPL.csv``, ``AAPL_1d.parquet``, ``NYSE_AAPL_1d.csv``,
``NYSE:AAPL.csv`` or ``NYSE-AAPL.csv.gz``. :func:`name_from_file` strips the data suffixes and
a trailing timeframe token (``_1d``, ``_d``, ``_daily``, ``-1D`` ...), then reads an exchange
when the name carries one: after a ``:``, or before a ``_``/``-`` when that part is a known
exchange (or when the name ended with a timeframe token, as lakehouse files do).

Classes
-------
:func:`class_from_ticker` infers the class from the symbol grammar when nothing states it:
a known crypto or forex venue, a pair of ISO currencies (``EURUSD``, Yahoo's ``EURUSD=X``), a
coin against a crypto quote (``BTCUSDT``, Yahoo's ``BTC-USD``), an index (``^GSPC``), a
well-known ETF ticker (:data:`KNOWN_FUNDS`, split into bond, commodity and equity funds),
else an equity. Every inference names its rule, so the provider can record it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from clusterfolio.data.venues import CRYPTO_VENUES, CURRENCIES, FOREX_VENUES
from clusterfolio.enums import AssetClass

__all__ = [
    "KNOWN_EXCHANGES",
    "KNOWN_FUNDS",
    "NameGuess",
    "class_from_ticker",
    "name_from_file",
    "strip_data_suffixes",
]

#: Suffixes of data files, longest first.
DATA_SUFFIXES: tuple[str, ...] = (
    ".csv.gz", ".tsv.gz", ".txt.gz", ".parquet", ".csv", ".tsv", ".txt", ".pq", ".gz",
)  # fmt: skip
_TIMEFRAME = re.compile(r"[_\-\s](1d|d|1day|day|daily|eod|d1)$", re.IGNORECASE)
#: Stock and fund exchanges recognised in a file name (crypto and forex venues too).
KNOWN_EXCHANGES: frozenset[str] = frozenset(
    {
        "NYSE", "NASDAQ", "AMEX", "ARCA", "NYSEARCA", "BATS", "CBOE", "OTC", "IEX", "LSE",
        "LSIN", "XETR", "FWB", "EURONEXT", "TSX", "TSE", "HKEX", "ASX", "SIX", "BME", "MIL",
        "TVC", "SP", "INDEX", "FILES", *CRYPTO_VENUES, *FOREX_VENUES,
    }
)  # fmt: skip
_BOND_FUNDS = frozenset(
    {"AGG", "BND", "TLT", "IEF", "SHY", "LQD", "HYG", "JNK", "TIP", "MUB", "BNDX", "EMB",
     "VCIT", "VCSH", "BSV", "BIV", "BLV", "GOVT", "SHV", "BIL", "SGOV", "VGSH", "VGIT", "VGLT",
     "IGSB", "IGIB", "SCHZ", "SPTL", "EDV", "ZROZ", "TLH", "IEI", "MBB", "USHY", "FLOT"}
)  # fmt: skip
_COMMODITY_FUNDS = frozenset(
    {"GLD", "IAU", "SLV", "GSG", "DBC", "USO", "UNG", "PDBC", "DBA", "GLDM", "SGOL", "PPLT",
     "CPER", "BNO", "COMT", "BCI"}
)  # fmt: skip
_EQUITY_FUNDS = frozenset(
    {"SPY", "IVV", "VOO", "VTI", "QQQ", "QQQM", "IWM", "IWB", "IWV", "DIA", "MDY", "IJH", "IJR",
     "SPLG", "ITOT", "SCHB", "SCHX", "RSP", "EFA", "EEM", "VEA", "VWO", "IEFA", "IEMG", "ACWI",
     "VT", "VXUS", "VGK", "EWJ", "EWZ", "EWG", "EWU", "EWC", "EWA", "EWH", "EWT", "EWY", "EWL",
     "EWQ", "MCHI", "FXI", "INDA", "XLB", "XLC", "XLE", "XLF", "XLI", "XLK", "XLP", "XLU",
     "XLV", "XLY", "XLRE", "VNQ", "VUG", "VTV", "MTUM", "QUAL", "SIZE", "USMV", "VLUE", "IWF",
     "IWD", "SMH", "SOXX", "XBI", "IBB", "ARKK", "VIG", "SCHD", "DVY", "VXX", "ICLN", "IGF",
     "IXN", "REET", "IEUS"}
)  # fmt: skip
#: Well-known US fund tickers (class inference without a sidecar).
KNOWN_FUNDS: dict[str, AssetClass] = {
    **{t: AssetClass.ETF for t in _EQUITY_FUNDS},
    **{t: AssetClass.BOND for t in _BOND_FUNDS},
    **{t: AssetClass.COMMODITY for t in _COMMODITY_FUNDS},
}
_CRYPTO_QUOTES: tuple[str, ...] = ("USDT", "USDC", "BUSD", "FDUSD", "TUSD", "USD", "EUR", "BTC",
                                   "ETH")  # fmt: skip
_COINS = frozenset(
    {"BTC", "ETH", "XRP", "LTC", "BCH", "EOS", "XLM", "XMR", "TRX", "NEO", "QTUM", "REP", "ADA",
     "SOL", "DOGE", "DOT", "BNB", "AVAX", "LINK", "MATIC", "ATOM", "UNI", "ETC", "FIL", "SHIB",
     "TON", "NEAR", "APT", "ARB", "OP", "SUI", "PEPE", "ZEC", "DASH", "XTZ", "ALGO", "AAVE"}
)  # fmt: skip


def strip_data_suffixes(name: str) -> str:
    """``AAPL_1d.csv.gz`` -> ``AAPL_1d`` (the data suffixes of :data:`DATA_SUFFIXES`)."""
    lowered = name.lower()
    for suffix in DATA_SUFFIXES:
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class NameGuess:
    """What a file name says: ``exchange`` ("" when it says none), ``ticker`` and the rule."""

    exchange: str
    ticker: str
    rule: str


def name_from_file(filename: str) -> NameGuess:
    """Read the exchange and the ticker from a per-symbol file name (rules in the module doc)."""
    stem = strip_data_suffixes(filename).strip()
    timeframe = _TIMEFRAME.search(stem)
    if timeframe:
        stem = stem[: timeframe.start()]
    if ":" in stem:
        exchange, ticker = stem.split(":", 1)
        return NameGuess(exchange.upper(), ticker.upper(), "EXCHANGE:TICKER file name")
    for sep in ("_", "-"):
        if sep in stem:
            head, tail = stem.split(sep, 1)
            known = head.upper() in KNOWN_EXCHANGES
            if tail and (known or (timeframe is not None and sep == "_" and head.isupper())):
                return NameGuess(head.upper(), tail.upper(), f"EXCHANGE{sep}TICKER file name")
    return NameGuess("", stem.upper(), "ticker file name")


def class_from_ticker(ticker: str, exchange: str = "") -> tuple[AssetClass, str, str, str]:
    """Infer ``(asset class, base, quote, rule)`` from the symbol grammar (module docstring)."""
    raw = ticker.upper()
    if exchange in FOREX_VENUES or raw.endswith("=X"):
        pair = raw.removesuffix("=X").replace("/", "")
        return AssetClass.FOREX, pair[:3], pair[3:6], "forex venue or Yahoo =X ticker"
    if "-" in raw and raw.rsplit("-", 1)[1] in _CRYPTO_QUOTES:
        base, quote = raw.rsplit("-", 1)
        return AssetClass.CRYPTO, base, quote, "COIN-QUOTE ticker"
    pair = raw.replace("/", "").removesuffix(".P")
    if exchange in CRYPTO_VENUES:
        for quote in _CRYPTO_QUOTES:
            if pair.endswith(quote) and len(pair) > len(quote):
                return AssetClass.CRYPTO, pair[: -len(quote)], quote, "crypto venue"
        return AssetClass.CRYPTO, "", "", "crypto venue"
    if len(pair) == 6 and pair[:3] in CURRENCIES and pair[3:] in CURRENCIES:
        return AssetClass.FOREX, pair[:3], pair[3:], "pair of ISO currencies"
    for quote in _CRYPTO_QUOTES:
        base = pair[: -len(quote)]
        if pair.endswith(quote) and base in _COINS:
            return AssetClass.CRYPTO, base, quote, "coin and crypto quote"
    if raw.startswith("^"):
        return AssetClass.INDEX, "", "", "^ index ticker"
    if raw.removesuffix(".L") in KNOWN_FUNDS:
        return KNOWN_FUNDS[raw.removesuffix(".L")], "", "", "well-known fund ticker"
    return AssetClass.EQUITY, "", "", "default (no other rule matched)"


def exchange_for(asset_class: AssetClass, ticker: str) -> tuple[str, str]:
    """The exchange of a listing whose file and sidecar state none: ``(exchange, rule)``.

    US-looking equities -> ``NYSE``, funds -> ``AMEX`` (TradingView's NYSE Arca), ``.L`` ->
    ``LSE``, forex -> ``FX_IDC``, crypto and indices -> ``FILES`` (the class names the market).
    """
    if ticker.upper().endswith(".L"):
        return "LSE", "'.L' suffix: London"
    if asset_class is AssetClass.FOREX:
        return "FX_IDC", "forex"
    if asset_class in (AssetClass.CRYPTO, AssetClass.INDEX):
        return "FILES", f"{asset_class.value}: no venue stated"
    if asset_class is AssetClass.EQUITY:
        return "NYSE", "US equity assumed (set data.files.default_exchange or a listings sidecar)"
    return "AMEX", "US fund assumed (NYSE Arca, TradingView's AMEX)"
