"""Symbol grammar and canonical identities (examples, properties, real TradingView symbols)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from clusterfolio.discovery.identity import (
    CRYPTO_QUOTES,
    CURRENCIES,
    DEFAULT_KNOWN_BASES,
    GLOBAL_ALIASES,
    SymbolKind,
    SymbolParseError,
    identity_of,
    infer_known_bases,
    parse_symbol,
    quote_candidates,
)
from clusterfolio.enums import AssetClass

CASES = [
    # symbol, hint, kind, base, quote, identity
    ("BINANCE:BTCUSDT", None, SymbolKind.SPOT, "BTC", "USDT", "BTC"),
    ("BINANCE:BTCUSDT.P", None, SymbolKind.PERPETUAL, "BTC", "USDT", "BTC"),
    ("BYBIT:BTCUSDT", None, SymbolKind.SPOT, "BTC", "USDT", "BTC"),
    ("OKX:BTCUSDT", None, SymbolKind.SPOT, "BTC", "USDT", "BTC"),
    ("OKX:BTC-USDT-SWAP", None, SymbolKind.PERPETUAL, "BTC", "USDT", "BTC"),
    ("COINBASE:BTCUSD", None, SymbolKind.SPOT, "BTC", "USD", "BTC"),
    ("KRAKEN:XBTUSD", None, SymbolKind.SPOT, "BTC", "USD", "BTC"),
    ("FTX:BTC-PERP", None, SymbolKind.PERPETUAL, "BTC", "USD", "BTC"),
    ("BINANCE:BTCUSDTPERP", None, SymbolKind.PERPETUAL, "BTC", "USDT", "BTC"),
    ("BINANCE:ETHBTC", None, SymbolKind.SPOT, "ETH", "BTC", "ETH/BTC"),
    ("BITFINEX:ETHBTC", None, SymbolKind.SPOT, "ETH", "BTC", "ETH/BTC"),
    ("KRAKEN:BTCEUR", None, SymbolKind.SPOT, "BTC", "EUR", "BTC/EUR"),
    ("BINANCE:BTCTUSD", None, SymbolKind.SPOT, "BTC", "TUSD", "BTC"),
    ("BINANCE:BTCFDUSD", None, SymbolKind.SPOT, "BTC", "FDUSD", "BTC"),
    ("BINANCE:DOTUSD", None, SymbolKind.SPOT, "DOT", "USD", "DOT"),
    ("KRAKEN:ARBUSD", None, SymbolKind.SPOT, "ARB", "USD", "ARB"),
    ("BITFINEX:USTUSD", None, SymbolKind.SPOT, "USDT", "USD", "USDT"),
    ("BITFINEX:BTCUST", None, SymbolKind.SPOT, "BTC", "USDT", "BTC"),
    ("BITFINEX:DSHUSD", None, SymbolKind.SPOT, "DASH", "USD", "DASH"),
    ("GEMINI:BTCRLUSD", None, SymbolKind.SPOT, "BTC", "RLUSD", "BTC"),
    ("KRAKEN:EURUSD", None, SymbolKind.SPOT, "EUR", "USD", "EURUSD"),
    ("KRAKEN:PAXGUSD", None, SymbolKind.SPOT, "PAXG", "USD", "PAXG"),
    ("COINBASE:BTC-USD", None, SymbolKind.SPOT, "BTC", "USD", "BTC"),
    ("BINANCE:BTCUSDT_240628", None, SymbolKind.FUTURE, "BTC", "USDT", "BTC"),
    ("OKX:BTC-USD-240927", None, SymbolKind.FUTURE, "BTC", "USD", "BTC"),
    ("CME:BTCZ2025", None, SymbolKind.FUTURE, "BTC", "USD", "BTC"),
    ("CME:BTC1!", None, SymbolKind.FUTURE, "BTC", "USD", "BTC"),
    ("CME:MBTH2026", None, SymbolKind.FUTURE, "BTC", "USD", "BTC"),
    ("CME_MINI:ES1!", None, SymbolKind.FUTURE, "ES", "", "ES"),
    ("FX:EURUSD", None, SymbolKind.FOREX, "EUR", "USD", "EURUSD"),
    ("FX_IDC:USDJPY", None, SymbolKind.FOREX, "USD", "JPY", "USDJPY"),
    ("OANDA:EUR_USD", None, SymbolKind.FOREX, "EUR", "USD", "EURUSD"),
    ("YAHOO:GBPUSD=X", None, SymbolKind.FOREX, "GBP", "USD", "GBPUSD"),
    ("OANDA:XAUUSD", None, SymbolKind.FOREX, "XAU", "USD", "XAUUSD"),
    ("NASDAQ:AAPL", None, SymbolKind.EQUITY, "AAPL", "", "AAPL"),
    ("NYSE:BRK.B", None, SymbolKind.EQUITY, "BRK", "", "BRK.B"),
    ("NYSE:BRK.A", None, SymbolKind.EQUITY, "BRK", "", "BRK.A"),
    ("NYSE:BRK/B", None, SymbolKind.EQUITY, "BRK", "", "BRK.B"),
    ("NYSE:BF-B", None, SymbolKind.EQUITY, "BF", "", "BF.B"),
    ("NASDAQ:PLTR", None, SymbolKind.EQUITY, "PLTR", "", "PLTR"),
    ("AMEX:SPY", AssetClass.ETF, SymbolKind.ETF, "SPY", "", "SPY"),
    ("AMEX:TLT", AssetClass.BOND, SymbolKind.ETF, "TLT", "", "TLT"),
    ("SP:SPX", AssetClass.INDEX, SymbolKind.INDEX, "SPX", "", "SPX"),
    ("binance:btcusdt", None, SymbolKind.SPOT, "BTC", "USDT", "BTC"),
    ("MYVENUE:SOLUSDT", AssetClass.CRYPTO, SymbolKind.SPOT, "SOL", "USDT", "SOL"),
]


@pytest.mark.parametrize(("symbol", "hint", "kind", "base", "quote", "identity"), CASES)
def test_examples(
    symbol: str,
    hint: AssetClass | None,
    kind: SymbolKind,
    base: str,
    quote: str,
    identity: str,
) -> None:
    parsed = parse_symbol(symbol, hint)
    assert (parsed.kind, parsed.base, parsed.quote) == (kind, base, quote)
    assert identity_of(parsed) == identity
    assert parsed.identity == identity


def test_venue_neutral_btc() -> None:
    symbols = [
        "BINANCE:BTCUSDT",
        "BINANCE:BTCUSDT.P",
        "BYBIT:BTCUSDT",
        "OKX:BTCUSDT",
        "COINBASE:BTCUSD",
    ]
    assert {parse_symbol(s).identity for s in symbols} == {"BTC"}
    assert parse_symbol("BINANCE:ETHBTC").identity != parse_symbol("BINANCE:ETHUSDT").identity


def test_expiry_and_share_class_fields() -> None:
    assert parse_symbol("BINANCE:BTCUSDT_240628").expiry == "2024-06-28"
    assert parse_symbol("CME:BTCZ2025").expiry == "2025-12"
    assert parse_symbol("CME:BTC1!").expiry == "continuous"
    assert parse_symbol("NYSE:BRK.B").share_class == "B"
    assert parse_symbol("NYSE:BRK.A").identity != parse_symbol("NYSE:BRK.B").identity


def test_no_prefix_collisions() -> None:
    pairs = [("PLTR", "PL"), ("PAXG", "PA"), ("SIRI", "SI")]
    for long, short in pairs:
        assert parse_symbol(f"NASDAQ:{long}").identity == long
        assert parse_symbol(f"NASDAQ:{long}").identity != parse_symbol(f"NASDAQ:{short}").identity
        assert parse_symbol(f"KRAKEN:{long}USD").identity == long
        assert (
            parse_symbol(f"KRAKEN:{long}USD").identity
            != parse_symbol(f"KRAKEN:{short}USD").identity
        )


@pytest.mark.parametrize(
    "symbol",
    ["BINANCE:", "FX:EURXYZ", "FX:EURUSDX", "CME:ESZ", "BINANCE:BTC/USD/T", "NASDAQ:A B"],
)
def test_errors(symbol: str) -> None:
    with pytest.raises(SymbolParseError):
        parse_symbol(symbol)


def test_bad_expiry_is_an_error() -> None:
    with pytest.raises(SymbolParseError, match="expiry"):
        parse_symbol("BINANCE:BTCUSDT_241399")


def test_hints_are_used_only_when_they_spell_the_ticker() -> None:
    parsed = parse_symbol("MYDEX:ABCDUSD", AssetClass.CRYPTO, base_hint="ABC", quote_hint="DUSD")
    assert (parsed.base, parsed.quote) == ("ABC", "DUSD")
    parsed = parse_symbol("KRAKEN:BTCUSD", AssetClass.CRYPTO, base_hint="BTCUSD", quote_hint="")
    assert (parsed.base, parsed.quote) == ("BTC", "USD")


def test_known_bases_resolve_nested_quotes() -> None:
    # an unknown coin ending in T quoted in USD: the shortest quote wins by default ...
    assert parse_symbol("BINANCE:ZZTUSD").base == "ZZT"
    # ... unless the universe knows the shorter base
    assert parse_symbol("BINANCE:ZZTUSD", known_bases={"ZZ"}).base == "ZZ"
    assert infer_known_bases(["BINANCE:ZZUSDT", "NASDAQ:QQQ", "BINANCE:ZZTUSD"]) == {"ZZ"}


# ------------------------------------------------------------------------- properties

BASE_TOKENS = st.from_regex(r"[A-Z][A-Z0-9]{1,7}", fullmatch=True)
UNNESTED_QUOTES = ("USDT", "USDC", "BTC", "ETH", "EUR", "BNB")


def _plain(base: str) -> bool:
    return base not in GLOBAL_ALIASES and base not in CURRENCIES and base not in CRYPTO_QUOTES


@given(base=BASE_TOKENS, quote=st.sampled_from(UNNESTED_QUOTES))
def test_property_spot_pair_round_trip(base: str, quote: str) -> None:
    assume(_plain(base))
    assume(not any((base + quote).endswith(q) and q != quote for q in CRYPTO_QUOTES))
    parsed = parse_symbol(f"BYBIT:{base}{quote}")
    assert (parsed.base, parsed.quote) == (base, quote)
    expected = base if quote in ("USDT", "USDC") else f"{base}/{quote}"
    assert parsed.identity == expected


@given(base=BASE_TOKENS, venue=st.sampled_from(["BINANCE", "BYBIT", "OKX", "BITGET"]))
def test_property_perpetual_is_its_spot_identity(base: str, venue: str) -> None:
    assume(_plain(base))
    spot = parse_symbol(f"{venue}:{base}USDT")
    perp = parse_symbol(f"{venue}:{base}USDT.P")
    assert perp.kind is SymbolKind.PERPETUAL
    assert perp.identity == spot.identity == base


@given(base=BASE_TOKENS)
def test_property_stablecoin_and_usd_quotes_merge(base: str) -> None:
    assume(_plain(base))
    assume(len(quote_candidates(f"{base}USD", "COINBASE")) == 1)
    ids = {
        parse_symbol(s).identity
        for s in (f"BINANCE:{base}USDT", f"OKX:{base}USDC", f"COINBASE:{base}USD")
    }
    assert ids == {base}


@given(base=BASE_TOKENS, other=BASE_TOKENS)
def test_property_exact_base_no_prefix_matching(base: str, other: str) -> None:
    assume(_plain(base) and _plain(other) and base != other)
    a = parse_symbol(f"NASDAQ:{base}")
    b = parse_symbol(f"NASDAQ:{other}")
    assert a.identity == base
    assert a.identity != b.identity


@given(
    pair=st.tuples(st.sampled_from(sorted(CURRENCIES)), st.sampled_from(sorted(CURRENCIES))),
    venue=st.sampled_from(["FX", "FX_IDC", "OANDA", "FXCM"]),
)
def test_property_forex_pairs_are_their_own_identity(pair: tuple[str, str], venue: str) -> None:
    a, b = pair
    parsed = parse_symbol(f"{venue}:{a}{b}")
    assert parsed.kind is SymbolKind.FOREX
    assert parsed.identity == f"{a}{b}"


def test_default_known_bases_are_plain_tokens() -> None:
    assert all((b.isalnum() and b.isupper()) or b[0].isdigit() for b in DEFAULT_KNOWN_BASES)
    assert "USD" not in DEFAULT_KNOWN_BASES


# ------------------------------------------------------------------------- real symbols


def test_tradingview_market_caps_group_by_base(shared_data: Path) -> None:
    rows = json.loads(
        (shared_data / "tradingview" / "tommy-ca" / "market_caps_crypto.json").read_text()
    )
    assert len(rows) == 1000
    symbols = [r["symbol"] for r in rows]
    known = infer_known_bases(symbols)
    groups: dict[str, set[str]] = defaultdict(set)
    identity = {}
    for symbol in symbols:
        ident = parse_symbol(symbol, AssetClass.CRYPTO, known_bases=known).identity
        groups[ident].add(symbol)
        identity[symbol] = ident
    # BTCUSD on 11 exchanges plus Gemini's RLUSD pair are one economic unit
    btc = groups["BTC"]
    assert {s for s in symbols if s.endswith(":BTCUSD")} <= btc
    assert "GEMINI:BTCRLUSD" in btc
    assert len({s.split(":")[0] for s in btc}) >= 11
    assert all(s.split(":")[1] in ("BTCUSD", "BTCRLUSD") for s in btc)
    sample = {
        "WHITEBIT:ETHUSD": "ETH",
        "BITFINEX:USTUSD": "USDT",
        "KRAKEN:USDTUSD": "USDT",
        "BITFINEX:UDCUSD": "USDC",
        "BITFINEX:DSHUSD": "DASH",
        "BITFINEX:IOTUSD": "IOTA",
        "KRAKEN:PAXGUSD": "PAXG",
        "KRAKEN:DOTUSD": "DOT",
        "BINANCE:DOTUSD": "DOT",
        "KRAKEN:ARBUSD": "ARB",
        "BINANCE:FETUSD": "FET",
        "KRAKEN:MNTUSD": "MNT",
        "COINBASE:BATUSD": "BAT",
        "KRAKEN:MERLUSD": "MERL",
        "GEMINI:USDTRLUSD": "USDT",
        "KRAKEN:JITOSOLUSD": "JITOSOL",
        "OKX:STETHUSD": "STETH",
    }
    for symbol, expected in sample.items():
        assert identity[symbol] == expected, symbol
    # every ticker is the same coin on every exchange that lists it
    by_ticker: dict[str, set[str]] = defaultdict(set)
    for symbol in symbols:
        by_ticker[symbol.split(":")[1]].add(identity[symbol])
    ambiguous = {t: ids for t, ids in by_ticker.items() if len(ids) > 1}
    aliased = {"USTUSD", "UDCUSD", "DSHUSD", "IOTUSD", "ALGUSD", "ATOUSD", "WBTUSD"}
    assert set(ambiguous) <= aliased
    # no base was cut at a prefix: the base plus its quote spells the ticker
    for symbol in symbols:
        parsed = parse_symbol(symbol, AssetClass.CRYPTO, known_bases=known)
        if parsed.exchange != "BITFINEX":
            assert parsed.ticker == parsed.base + parsed.quote
