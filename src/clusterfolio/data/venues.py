"""Venue tables: which exchange prefixes are crypto, forex or futures venues, and the currencies.

They sit in :mod:`clusterfolio.data` because the file provider's naming and inference read them
as well as :mod:`clusterfolio.discovery.identity` (which re-exports them), and ``data`` is the
lower layer.
"""

from __future__ import annotations

__all__ = ["CRYPTO_VENUES", "CURRENCIES", "FOREX_VENUES", "FUTURES_VENUES"]

#: Crypto venues (TradingView exchange prefixes).
CRYPTO_VENUES: frozenset[str] = frozenset(
    {
        "BINANCE", "BINANCEUS", "BYBIT", "OKX", "COINBASE", "KRAKEN", "BITSTAMP", "BITFINEX",
        "GEMINI", "KUCOIN", "BITGET", "MEXC", "GATEIO", "GATE", "HTX", "HUOBI", "CRYPTOCOM",
        "BTSE", "POLONIEX", "WHITEBIT", "BITFLYER", "BITMEX", "DERIBIT", "UPBIT", "BITHUMB",
        "PHEMEX", "BINGX", "BITRUE", "BITMART", "BITSO", "BITKUB", "COINEX", "PIONEX", "LBANK",
        "HYPERLIQUID", "DYDX", "CRYPTO", "COINW", "XT", "TOOBIT", "BLOFIN", "WOONETWORK", "FTX",
    }
)  # fmt: skip

#: Forex venues (TradingView exchange prefixes).
FOREX_VENUES: frozenset[str] = frozenset(
    {
        "FX", "FX_IDC", "OANDA", "FXCM", "SAXO", "FOREXCOM", "PEPPERSTONE", "ICMARKETS",
        "EIGHTCAP", "CAPITALCOM", "BLACKBULL", "ACTIVTRADES", "CITYINDEX", "EASYMARKETS",
        "FPMARKETS", "FUSIONMARKETS", "GBEBROKERS", "IG", "JFX", "VANTAGE", "TICKMILL", "YAHOO",
    }
)  # fmt: skip

#: Futures venues.
FUTURES_VENUES: frozenset[str] = frozenset(
    {
        "CME", "CME_MINI", "CBOT", "CBOT_MINI", "NYMEX", "NYMEX_MINI", "COMEX", "COMEX_MINI",
        "ICEUS", "ICEEUR", "ICEENDEX", "EUREX", "SGX", "OSE", "MOEX",
    }
)  # fmt: skip

#: ISO 4217 currency codes accepted in forex pairs (with the precious metals XAU XAG XPT XPD).
CURRENCIES: frozenset[str] = frozenset(
    {
        "USD", "EUR", "JPY", "GBP", "CHF", "AUD", "NZD", "CAD", "SEK", "NOK", "DKK", "PLN",
        "CZK", "HUF", "RON", "BGN", "ISK", "TRY", "RUB", "UAH", "ILS", "ZAR", "MXN", "BRL",
        "ARS", "CLP", "COP", "PEN", "CNY", "CNH", "HKD", "SGD", "TWD", "KRW", "INR", "IDR",
        "MYR", "PHP", "THB", "VND", "PKR", "BDT", "LKR", "AED", "SAR", "QAR", "KWD", "BHD",
        "OMR", "JOD", "EGP", "MAD", "TND", "NGN", "KES", "GHS", "KZT", "GEL",
        "XAU", "XAG", "XPT", "XPD",
    }
)  # fmt: skip
