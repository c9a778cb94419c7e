"""Canonical identities: the ``EXCHANGE:TICKER`` grammar and the economic unit of a listing.

Grammar
-------
A symbol is ``EXCHANGE:TICKER`` (upper-cased; a symbol without ``:`` has an empty exchange).
The *family* of the ticker is taken from the asset-class hint when one is given, otherwise from
the venue (tables :data:`CRYPTO_VENUES`, :data:`FOREX_VENUES`, :data:`FUTURES_VENUES`); any other
venue is an equity venue.

Crypto tickers (``kind`` spot, perpetual or future):

- perpetuals: suffix ``.P`` (TradingView, ``BINANCE:BTCUSDT.P``), ``-SWAP`` (OKX,
  ``BTC-USDT-SWAP``), ``-PERP`` / ``_PERP`` / ``PERP`` (``BTC-PERP`` and ``BTCPERP``: no quote
  written means USD-margined, quote ``USD``);
- dated futures: ``<PAIR>_<YYMMDD>`` or ``<PAIR>-<YYMMDD>`` (Binance / OKX delivery contracts,
  ``BTCUSDT_240628``), ``expiry`` ``"2024-06-28"``;
- the pair: an explicit separator (``BTC/USD``, ``BTC-USDT``, ``BTC_USDT``) splits base and
  quote; otherwise the quote is matched as a *suffix* on :data:`CRYPTO_QUOTES` (plus the venue's
  own quote codes, e.g. Bitfinex ``UST``). The base is always the complete remainder, never a
  prefix match, so ``PLTRUSD`` is ``PLTR``, ``PAXGUSD`` is ``PAXG`` and ``SIRIUSD`` is ``SIRI``.
  When several quotes match (nested quotes: ``TUSD``, ``BUSD``, ``FDUSD``, ``RLUSD`` and ``PYUSD``
  all end in ``USD``), the candidates whose base is a *known base* win and among them the longest
  quote (``BTCTUSD`` is BTC/TUSD because BTC is known); when no candidate base is known the
  shortest quote wins (``DOTUSD`` is DOT/USD, never DO/TUSD): plain USD quotes vastly outnumber the
  nested stablecoin quotes. Known bases are :data:`DEFAULT_KNOWN_BASES` plus whatever the caller
  passes (:func:`infer_known_bases` collects them from a universe's unambiguous tickers);
- venue aliases are applied to base and quote afterwards (``XBT`` is ``BTC``; on Bitfinex
  ``UST`` is ``USDT``, ``UDC`` is ``USDC``, ``DSH`` is ``DASH`` ...).

Futures venues (CME, CBOT, NYMEX, COMEX, ICE, Eurex ...): ``<ROOT><MONTH CODE><YYYY>``
(``CME:BTCZ2025``, ``expiry`` ``"2025-12"``) and continuous ``<ROOT><N>!`` (``CME:BTC1!``). Roots of
crypto contracts (BTC, MBT, ETH, MET) map to their coin.

Forex (``kind`` forex): six letters made of two ISO currency codes (:data:`CURRENCIES`, metals
XAU/XAG included); ``EUR/USD``, ``EUR_USD`` and Yahoo's ``EURUSD=X`` are accepted too.

Equities and funds (``kind`` equity, etf or index): share classes after ``.``, ``-``, ``/`` or
``_`` (one or two letters): ``BRK.B``, ``BF-B``, ``BRK/B`` all give root ``BRK``/``BF`` and class
``B``. ETF, bond and commodity hints give ``kind`` etf; an index hint gives index.

Identities (:func:`identity_of`)
--------------------------------
- crypto with a USD-family quote (USD and the USD stablecoins :data:`USD_QUOTES`, or no quote)
  is its base: BINANCE:BTCUSDT, BINANCE:BTCUSDT.P, BYBIT:BTCUSDT, OKX:BTC-USDT-SWAP,
  COINBASE:BTCUSD and CME:BTC1! are all ``BTC``. A fiat base on a crypto venue (KRAKEN:EURUSD) is
  the currency pair ``EURUSD``;
- crypto with any other quote is the cross ``BASE/QUOTE``: ETHBTC is ``ETH/BTC`` (not ETH), and
  BTCEUR is ``BTC/EUR`` (it carries EUR exposure on top of BTC);
- forex pairs are their own identity (``EURUSD``; the inverse pair is a different identity);
- equities and funds are ``ROOT`` or ``ROOT.CLASS`` (BRK.A and BRK.B differ); the exchange is not
  part of the identity (NASDAQ:AAPL and BATS:AAPL are the same unit). The raw pool groups by
  asset class *and* identity, so an equity ticker never merges with a coin of the same letters;
- other futures are their root (``CME:ES1!`` is ``ES``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from clusterfolio.data.venues import CRYPTO_VENUES, CURRENCIES, FOREX_VENUES, FUTURES_VENUES
from clusterfolio.enums import AssetClass
from clusterfolio.errors import DataError


class SymbolParseError(DataError):
    """A symbol does not follow the ``EXCHANGE:TICKER`` grammar of its family."""


class SymbolKind(StrEnum):
    """What a listing is, as far as its identity is concerned."""

    SPOT = "spot"
    PERPETUAL = "perpetual"
    FUTURE = "future"
    FOREX = "forex"
    EQUITY = "equity"
    ETF = "etf"
    INDEX = "index"


#: Quotes that are the US dollar or a USD stablecoin: the same economic unit for identities.
USD_QUOTES: frozenset[str] = frozenset(
    {"USD", "USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "USDP", "RLUSD", "PYUSD"}
)

#: Quote codes matched as a ticker suffix on crypto venues (the longest wins, see module doc).
CRYPTO_QUOTES: tuple[str, ...] = (
    *sorted(USD_QUOTES),
    "EUR", "GBP", "JPY", "AUD", "CAD", "CHF", "TRY", "BRL", "KRW",
    "BTC", "XBT", "ETH", "BNB",
)  # fmt: skip

#: Extra quote codes of a venue.
VENUE_QUOTES: dict[str, tuple[str, ...]] = {"BITFINEX": ("UST", "UDC")}

#: Quotes that end with another quote (TUSD ends in USD): ambiguous as a ticker suffix.
NESTED_QUOTES: frozenset[str] = frozenset(
    q for q in CRYPTO_QUOTES if any(q != o and q.endswith(o) for o in CRYPTO_QUOTES)
)

#: Nested quotes each crypto venue lists. A crypto venue absent from this table lists none
#: (``KRAKEN:ARBUSD`` is ARB/USD, never AR/BUSD); a venue outside :data:`CRYPTO_VENUES` may
#: list any.
VENUE_NESTED_QUOTES: dict[str, frozenset[str]] = {
    "BINANCE": frozenset({"TUSD", "BUSD", "FDUSD"}),
    "BINANCEUS": frozenset({"TUSD", "BUSD"}),
    "GEMINI": frozenset({"RLUSD"}),
    "BITSTAMP": frozenset({"RLUSD"}),
    "KRAKEN": frozenset({"RLUSD", "PYUSD"}),
}

#: Aliases applied to bases and quotes on every venue.
GLOBAL_ALIASES: dict[str, str] = {"XBT": "BTC"}

#: Aliases of one venue (applied after :data:`GLOBAL_ALIASES`).
VENUE_ALIASES: dict[str, dict[str, str]] = {
    "BITFINEX": {
        "UST": "USDT",
        "UDC": "USDC",
        "DSH": "DASH",
        "IOT": "IOTA",
        "ALG": "ALGO",
        "ATO": "ATOM",
        "WBT": "WBTC",
        "QTM": "QTUM",
    },
    "KRAKEN": {"XDG": "DOGE"},
}

#: Futures roots that are coins (CME bitcoin, micro bitcoin, ether, micro ether).
CRYPTO_FUTURE_ROOTS: dict[str, str] = {"BTC": "BTC", "MBT": "BTC", "ETH": "ETH", "MET": "ETH"}

#: Crypto bases known without looking at a universe (used to resolve nested quotes).
DEFAULT_KNOWN_BASES: frozenset[str] = frozenset(
    {
        "BTC", "ETH", "USDT", "USDC", "BNB", "XRP", "SOL", "ADA", "DOGE", "TRX", "TON", "DOT",
        "AVAX", "SHIB", "LINK", "BCH", "LTC", "XLM", "XMR", "UNI", "ATOM", "ETC", "FIL", "HBAR",
        "APT", "ARB", "OP", "NEAR", "ICP", "VET", "ALGO", "QNT", "AAVE", "MKR", "GRT", "SAND",
        "MANA", "AXS", "EGLD", "THETA", "XTZ", "EOS", "NEO", "QTUM", "REP", "IOTA", "DASH",
        "ZEC", "BAT", "CHZ", "CRV", "COMP", "SNX", "LDO", "INJ", "RNDR", "RENDER", "FET",
        "IMX", "STX", "SUI", "SEI", "TIA", "PEPE", "WIF", "BONK", "FLOKI", "TRUMP", "WLD",
        "JUP", "PYTH", "ENA", "ONDO", "TAO", "KAS", "HYPE", "MNT", "CRO", "LEO", "PAXG",
        "XAUT", "WBTC", "STETH", "DAI", "TUSD", "BUSD", "FDUSD", "PYUSD", "RLUSD", "USDP",
        "USDE", "USDS", "USD1", "EURC", "GALA", "FLOW", "KAVA", "ROSE", "RUNE", "1INCH", "ENS",
        "LPT", "GNO", "DYDX", "APE", "BLUR", "GMX", "JTO", "STRK", "ZK", "ZRO", "EIGEN",
        "PENDLE", "ETHFI", "AERO", "VIRTUAL", "POL", "MATIC", "FTM", "XDC", "HNT", "JASMY",
        "MINA", "KSM", "ZIL", "ONE", "CELO", "LUNA", "LUNC", "CAKE", "SUSHI", "YFI", "BAL",
        "ZRX", "OMG", "ICX", "WAVES", "KNC", "ANKR", "STORJ", "SKL", "AUDIO", "LRC", "ENJ",
        "GMT", "MASK", "OCEAN", "AGIX", "RSR", "CFX", "NEXO", "XEC", "BTT", "JST", "SUN",
        "WLFI", "PUMP", "SPX", "MORPHO", "SYRUP", "KAIA", "ASTER", "PENGU", "FARTCOIN", "XPL",
        "EUR", "GBP", "JPY", "AUD", "CAD", "CHF", "TRY", "BRL", "KRW",
    }
)  # fmt: skip

_MONTH_CODES = "FGHJKMNQUVXZ"
_PERP_SUFFIXES: tuple[str, ...] = (".P", "-SWAP", "_SWAP", "-PERP", "_PERP", "PERP")
_DATED_FUTURE = re.compile(r"^(?P<stem>[A-Z0-9]+(?:[-_/][A-Z0-9]+)?)[-_](?P<date>\d{6})$")
_MONTH_FUTURE = re.compile(r"^(?P<root>[A-Z0-9]+?)(?P<month>[FGHJKMNQUVXZ])(?P<year>\d{4})$")
_CONTINUOUS_FUTURE = re.compile(r"^(?P<root>[A-Z0-9]+?)(?P<n>\d)!$")
_SHARE_CLASS = re.compile(r"^(?P<root>[A-Z0-9&]+)[./\-_](?P<cls>[A-Z]{1,2})$")
_TOKEN = re.compile(r"^[A-Z0-9]+$")
_EQUITY_TOKEN = re.compile(r"^[A-Z0-9&.\-/_]+$")


@dataclass(frozen=True)
class ParsedSymbol:
    """A symbol taken apart.

    Parameters
    ----------
    symbol : str
        The normalised symbol ``EXCHANGE:TICKER``.
    exchange, ticker : str
        Its two parts (upper case).
    kind : SymbolKind
        Spot, perpetual, future, forex, equity, etf or index.
    base, quote : str
        Crypto and forex: base and quote currency after aliases (``quote`` is ``""`` when the
        ticker names none). Equities and futures: the root ticker and ``""``.
    share_class : str
        Equity share class (``"B"`` for ``BRK.B``), else ``""``.
    expiry : str
        Futures: ``"YYYY-MM-DD"`` (dated crypto contracts), ``"YYYY-MM"`` (month-code contracts),
        ``"continuous"`` (``1!``); else ``""``.
    asset_class : AssetClass
        The class the symbol was parsed as (the hint, or the venue's family).
    """

    symbol: str
    exchange: str
    ticker: str
    kind: SymbolKind
    base: str
    quote: str = ""
    share_class: str = ""
    expiry: str = ""
    asset_class: AssetClass = AssetClass.EQUITY

    @property
    def identity(self) -> str:
        """The economic identity (:func:`identity_of`)."""
        return identity_of(self)


def _split_symbol(symbol: str) -> tuple[str, str]:
    text = symbol.strip().upper()
    if ":" in text:
        exchange, ticker = text.split(":", 1)
    else:
        exchange, ticker = "", text
    exchange, ticker = exchange.strip(), ticker.strip()
    if not ticker:
        raise SymbolParseError(f"symbol {symbol!r}: empty ticker (expected EXCHANGE:TICKER)")
    if ":" in ticker or " " in ticker:
        raise SymbolParseError(f"symbol {symbol!r}: malformed ticker {ticker!r}")
    return exchange, ticker


def _family(exchange: str, hint: AssetClass | None) -> str:
    if exchange in FUTURES_VENUES:
        return "future"
    if hint is AssetClass.CRYPTO:
        return "crypto"
    if hint is AssetClass.FOREX:
        return "forex"
    if hint is not None:
        return "equity"
    if exchange in CRYPTO_VENUES:
        return "crypto"
    if exchange in FOREX_VENUES:
        return "forex"
    return "equity"


def _alias(code: str, exchange: str) -> str:
    code = GLOBAL_ALIASES.get(code, code)
    return VENUE_ALIASES.get(exchange, {}).get(code, code)


def quote_candidates(stem: str, exchange: str = "") -> list[tuple[str, str]]:
    """Every ``(base, quote)`` split of a separator-free crypto ticker stem, longest quote first.

    Parameters
    ----------
    stem : str
        Ticker without perpetual or expiry suffix (``"BTCUSDT"``).
    exchange : str
        Venue (adds its own quote codes, :data:`VENUE_QUOTES`).

    Returns
    -------
    list of tuple of str
        Raw (un-aliased) splits whose base is non-empty and alphanumeric.
    """
    quotes = {*CRYPTO_QUOTES, *VENUE_QUOTES.get(exchange, ())}
    if exchange in CRYPTO_VENUES:
        quotes -= NESTED_QUOTES - VENUE_NESTED_QUOTES.get(exchange, frozenset())
    out = [
        (stem[: -len(q)], q)
        for q in quotes
        if stem.endswith(q) and len(stem) > len(q) and _TOKEN.match(stem[: -len(q)])
    ]
    out.sort(key=lambda bq: (-len(bq[1]), bq[1]))
    return out


def _split_pair(
    stem: str,
    exchange: str,
    known: Collection[str],
    base_hint: str,
    quote_hint: str,
) -> tuple[str, str]:
    """Split a crypto stem into raw ``(base, quote)``; ``quote`` is ``""`` when none matches."""
    if base_hint and quote_hint:
        flat = stem.replace("-", "").replace("_", "").replace("/", "")
        if flat == base_hint + quote_hint:
            return base_hint, quote_hint
    for sep in ("/", "-", "_"):
        if sep in stem:
            parts = stem.split(sep)
            if len(parts) == 2 and all(_TOKEN.match(p) for p in parts):
                return parts[0], parts[1]
            raise SymbolParseError(f"ticker {stem!r}: cannot split {sep!r}-separated pair")
    if not _TOKEN.match(stem):
        raise SymbolParseError(f"ticker {stem!r}: not an alphanumeric crypto ticker")
    candidates = quote_candidates(stem, exchange)
    if not candidates:
        return stem, ""
    if len(candidates) == 1:
        return candidates[0]
    with_known = [c for c in candidates if _alias(c[0], exchange) in known]
    if with_known:
        return with_known[0]  # longest quote among known bases
    return candidates[-1]  # shortest quote: plain USD beats the nested stablecoin quotes


def _parse_crypto(
    exchange: str,
    ticker: str,
    hint: AssetClass | None,
    known: Collection[str],
    base_hint: str,
    quote_hint: str,
) -> ParsedSymbol:
    stem, kind, expiry = ticker, SymbolKind.SPOT, ""
    for suffix in _PERP_SUFFIXES:
        if stem.endswith(suffix) and len(stem) > len(suffix):
            stem, kind = stem[: -len(suffix)], SymbolKind.PERPETUAL
            break
    if kind is SymbolKind.SPOT:
        match = _DATED_FUTURE.match(stem)
        if match:
            raw = match["date"]
            try:
                expiry = date(2000 + int(raw[:2]), int(raw[2:4]), int(raw[4:])).isoformat()
            except ValueError as exc:
                raise SymbolParseError(f"{exchange}:{ticker}: bad expiry {raw!r}") from exc
            stem, kind = match["stem"], SymbolKind.FUTURE
    base, quote = _split_pair(stem, exchange, known, base_hint, quote_hint)
    if not quote and kind is not SymbolKind.SPOT:
        quote = "USD"  # BTC-PERP, BTCPERP: USD-margined
    return ParsedSymbol(
        symbol=f"{exchange}:{ticker}",
        exchange=exchange,
        ticker=ticker,
        kind=kind,
        base=_alias(base, exchange),
        quote=_alias(quote, exchange) if quote else "",
        expiry=expiry,
        asset_class=hint or AssetClass.CRYPTO,
    )


def _parse_forex(exchange: str, ticker: str, hint: AssetClass | None) -> ParsedSymbol:
    stem = ticker.removesuffix("=X").replace("/", "").replace("_", "").replace("-", "")
    if len(stem) != 6 or stem[:3] not in CURRENCIES or stem[3:] not in CURRENCIES:
        raise SymbolParseError(
            f"{exchange}:{ticker}: not a currency pair (expected two ISO codes, e.g. EURUSD)"
        )
    return ParsedSymbol(
        symbol=f"{exchange}:{ticker}",
        exchange=exchange,
        ticker=ticker,
        kind=SymbolKind.FOREX,
        base=stem[:3],
        quote=stem[3:],
        asset_class=hint or AssetClass.FOREX,
    )


def _parse_future(exchange: str, ticker: str, hint: AssetClass | None) -> ParsedSymbol:
    cont = _CONTINUOUS_FUTURE.match(ticker)
    month = _MONTH_FUTURE.match(ticker)
    if cont:
        root, expiry = cont["root"], "continuous"
    elif month:
        root = month["root"]
        expiry = f"{month['year']}-{_MONTH_CODES.index(month['month']) + 1:02d}"
    else:
        raise SymbolParseError(
            f"{exchange}:{ticker}: futures ticker must be ROOT<month code><YYYY> or ROOT<n>!"
        )
    coin = CRYPTO_FUTURE_ROOTS.get(root)
    return ParsedSymbol(
        symbol=f"{exchange}:{ticker}",
        exchange=exchange,
        ticker=ticker,
        kind=SymbolKind.FUTURE,
        base=coin or root,
        quote="USD" if coin else "",
        expiry=expiry,
        asset_class=hint or (AssetClass.CRYPTO if coin else AssetClass.COMMODITY),
    )


def _parse_equity(exchange: str, ticker: str, hint: AssetClass | None) -> ParsedSymbol:
    if not _EQUITY_TOKEN.match(ticker):
        raise SymbolParseError(f"{exchange}:{ticker}: not an equity ticker")
    match = _SHARE_CLASS.match(ticker)
    root, share_class = (match["root"], match["cls"]) if match else (ticker, "")
    if hint in (AssetClass.ETF, AssetClass.BOND, AssetClass.COMMODITY):
        kind = SymbolKind.ETF
    elif hint is AssetClass.INDEX:
        kind = SymbolKind.INDEX
    else:
        kind = SymbolKind.EQUITY
    return ParsedSymbol(
        symbol=f"{exchange}:{ticker}",
        exchange=exchange,
        ticker=ticker,
        kind=kind,
        base=root,
        share_class=share_class,
        asset_class=hint or AssetClass.EQUITY,
    )


def parse_symbol(
    symbol: str,
    asset_class_hint: AssetClass | None = None,
    *,
    known_bases: Collection[str] | None = None,
    base_hint: str = "",
    quote_hint: str = "",
) -> ParsedSymbol:
    """Parse ``EXCHANGE:TICKER`` (grammar in the module docstring).

    Parameters
    ----------
    symbol : str
        The symbol; case and surrounding blanks are ignored.
    asset_class_hint : AssetClass, optional
        The listing's class; without it the venue decides the family.
    known_bases : collection of str, optional
        Crypto bases known to exist, *added* to :data:`DEFAULT_KNOWN_BASES` (resolves nested
        quotes such as TUSD vs USD).
    base_hint, quote_hint : str
        The provider's base and quote; used only when both are given and they spell the ticker.

    Returns
    -------
    ParsedSymbol

    Raises
    ------
    SymbolParseError
        The ticker does not follow its family's grammar.
    """
    exchange, ticker = _split_symbol(symbol)
    known: Collection[str] = DEFAULT_KNOWN_BASES
    if known_bases:
        known = DEFAULT_KNOWN_BASES | frozenset(known_bases)
    family = _family(exchange, asset_class_hint)
    if family == "future":
        return _parse_future(exchange, ticker, asset_class_hint)
    if family == "crypto":
        return _parse_crypto(
            exchange,
            ticker,
            asset_class_hint,
            known,
            base_hint.strip().upper(),
            quote_hint.strip().upper(),
        )
    if family == "forex":
        return _parse_forex(exchange, ticker, asset_class_hint)
    return _parse_equity(exchange, ticker, asset_class_hint)


def identity_of(parsed: ParsedSymbol) -> str:
    """Return the economic identity of a parsed symbol (rules in the module docstring).

    Parameters
    ----------
    parsed : ParsedSymbol

    Returns
    -------
    str
        ``"BTC"``, ``"ETH/BTC"``, ``"EURUSD"``, ``"BRK.B"``, ``"ES"`` ...
    """
    kind = parsed.kind
    if kind is SymbolKind.FOREX:
        return f"{parsed.base}{parsed.quote}"
    if kind in (SymbolKind.EQUITY, SymbolKind.ETF, SymbolKind.INDEX):
        return f"{parsed.base}.{parsed.share_class}" if parsed.share_class else parsed.base
    if kind is SymbolKind.FUTURE and not parsed.quote:
        return parsed.base  # a non-crypto futures root (CME:ES1! is ES)
    base, quote = parsed.base, parsed.quote
    if not quote or quote in USD_QUOTES:
        if base in CURRENCIES and base != "USD":
            return f"{base}USD"
        return base
    return f"{base}/{quote}"


def infer_known_bases(symbols: Iterable[str], *, crypto_only: bool = True) -> frozenset[str]:
    """Collect crypto bases from the tickers of a universe that split in exactly one way.

    Parameters
    ----------
    symbols : iterable of str
        ``EXCHANGE:TICKER`` symbols (non-crypto venues are skipped when ``crypto_only``).
    crypto_only : bool
        Only look at :data:`CRYPTO_VENUES`.

    Returns
    -------
    frozenset of str
        Aliased bases, for :func:`parse_symbol`'s ``known_bases``.
    """
    out: set[str] = set()
    for symbol in symbols:
        try:
            exchange, ticker = _split_symbol(symbol)
        except SymbolParseError:
            continue
        if crypto_only and exchange not in CRYPTO_VENUES:
            continue
        stem = ticker
        for suffix in _PERP_SUFFIXES:
            if stem.endswith(suffix) and len(stem) > len(suffix):
                stem = stem[: -len(suffix)]
                break
        if not _TOKEN.match(stem):
            continue
        candidates = quote_candidates(stem, exchange)
        if len(candidates) == 1:
            out.add(_alias(candidates[0][0], exchange))
    return frozenset(out)
