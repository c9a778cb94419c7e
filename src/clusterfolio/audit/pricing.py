"""Last prices of a run and their conversion into the base currency.

A :class:`PriceBook` holds the close prices a run stored (``prices_deep.parquet`` first, then
``prices_light.parquet``) and answers, for one listing, its last price on or before the as-of
date, the date of that price, the listing's currency and the rate that turns it into the base
currency (:class:`Conversion`).

Currencies:

* crypto and forex listings are priced in their *quote* currency (``FX_IDC:EURGBP`` in GBP,
  ``BINANCE:BTCUSDT`` in USDT); an equity or a fund in the currency of its venue
  (:data:`VENUE_CURRENCIES`, USD for any other venue);
* the USD stablecoins (:data:`~clusterfolio.discovery.identity.USD_QUOTES`) are taken at par with
  USD, and the conversion says so;
* any other currency is converted with a forex series of the run: ``CCYBASE`` (multiply) or
  ``BASECCY`` (divide), else through USD (two legs). When no series is found the conversion is
  *missing*: the price is kept, the value in base currency is not invented.

Nothing after the as-of date is read (point in time).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from clusterfolio.artifacts.matrices import DEEP_PRICES, LIGHT_PRICES
from clusterfolio.discovery.identity import USD_QUOTES, SymbolParseError, parse_symbol
from clusterfolio.enums import AssetClass

PRICE_FILES = (DEEP_PRICES, LIGHT_PRICES)
"""Run artifacts holding close prices, the first one wins for a symbol."""

VENUE_CURRENCIES: dict[str, str] = {
    "LSE": "GBP",
    "LSIN": "GBP",
    "XETR": "EUR",
    "FWB": "EUR",
    "EURONEXT": "EUR",
    "TSX": "CAD",
    "TSE": "JPY",
    "HKEX": "HKD",
    "ASX": "AUD",
    "SIX": "CHF",
    "NSE": "INR",
    "BSE": "INR",
}
"""Trading currency of equity venues outside the US (anything else trades in USD)."""


def listing_currency(symbol: str, asset_class: AssetClass | str | None = None) -> str:
    """The currency a listing is priced in.

    Parameters
    ----------
    symbol : str
        ``EXCHANGE:TICKER``.
    asset_class : AssetClass or str, optional
        The listing's class (decides the grammar; the venue decides without it).

    Returns
    -------
    str
        An upper-case currency code (``USD`` when nothing else is known).

    Examples
    --------
    >>> listing_currency("FX_IDC:EURGBP", "forex"), listing_currency("LSE:HIGH")
    ('GBP', 'GBP')
    """
    hint = _asset_class(asset_class)
    try:
        parsed = parse_symbol(symbol, hint)
    except SymbolParseError:
        return "USD"
    if parsed.asset_class in (AssetClass.CRYPTO, AssetClass.FOREX) and parsed.quote:
        return parsed.quote
    return VENUE_CURRENCIES.get(parsed.exchange, "USD")


def _asset_class(value: AssetClass | str | None) -> AssetClass | None:
    if value is None or value == "":
        return None
    try:
        return AssetClass(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class Conversion:
    """How one currency becomes the base currency.

    Attributes
    ----------
    currency, base : str
        From and to.
    rate : float or None
        Base-currency units per unit of ``currency``; None when the conversion is missing.
    source : str
        ``same currency``, the series and date used, a par assumption, or why it is missing.
    """

    currency: str
    base: str
    rate: float | None
    source: str

    @property
    def missing(self) -> bool:
        """Whether no rate could be found."""
        return self.rate is None


@dataclass(frozen=True, kw_only=True)
class Quote:
    """The last price of a listing, in its own currency and in the base currency.

    Attributes
    ----------
    symbol : str
        The listing.
    price : float or None
        Last close on or before the as-of date (None: the run holds no price).
    date : str or None
        Date of that close (ISO).
    conversion : Conversion
        From the listing's currency (:attr:`currency`) into the base currency.
    source : str
        Where the price comes from (``run prices``, ``holdings file``).
    """

    symbol: str
    price: float | None
    date: str | None
    conversion: Conversion
    source: str = "run prices"

    @property
    def currency(self) -> str:
        """The listing's currency (the one its conversion starts from)."""
        return self.conversion.currency

    @property
    def base_price(self) -> float | None:
        """The price in the base currency, or None when the price or the rate is missing."""
        if self.price is None or self.conversion.rate is None:
            return None
        return self.price * self.conversion.rate

    @property
    def problem(self) -> str:
        """Why no base price exists (``""`` when it does)."""
        if self.price is None:
            return f"no price for {self.symbol} in the run"
        if self.conversion.rate is None:
            return f"conversion {self.currency}->{self.conversion.base} missing: {self.conversion.source}"
        return ""


class PriceBook:
    """Last prices of a run, point in time, with currency conversion.

    Parameters
    ----------
    prices : DataFrame
        Close prices, one column per symbol, a date index (sessions).
    base_currency : str
        The portfolio's currency.
    as_of : date, optional
        Nothing after it is read.
    asset_classes : mapping, optional
        Symbol to asset class, to read the listing currency right.
    """

    def __init__(
        self,
        prices: pd.DataFrame,
        *,
        base_currency: str,
        as_of: date | None = None,
        asset_classes: Mapping[str, str] | None = None,
    ) -> None:
        frame = prices.sort_index()
        if as_of is not None and len(frame):
            frame = frame.loc[pd.DatetimeIndex(frame.index) <= pd.Timestamp(as_of)]
        self._last: dict[str, tuple[float, str]] = {}
        for column in frame.columns:
            series = frame[column].dropna()
            series = series[series.map(lambda v: math.isfinite(float(v)) and float(v) > 0)]
            if len(series):
                stamp = pd.Timestamp(series.index[-1]).date().isoformat()
                self._last[str(column)] = (float(series.iloc[-1]), stamp)
        self.base_currency = base_currency.upper()
        self.asset_classes = dict(asset_classes or {})

    @classmethod
    def from_run(
        cls,
        run_dir: Path,
        *,
        base_currency: str,
        as_of: date | None = None,
        asset_classes: Mapping[str, str] | None = None,
    ) -> PriceBook:
        """Read the close prices of a run directory (:data:`PRICE_FILES`; none is an empty book)."""
        frames = [
            pd.read_parquet(run_dir / name) for name in PRICE_FILES if (run_dir / name).exists()
        ]
        prices = pd.DataFrame()
        for frame in frames:
            frame.index = pd.DatetimeIndex(frame.index)
            prices = frame if prices.empty else prices.combine_first(frame)
        return cls(prices, base_currency=base_currency, as_of=as_of, asset_classes=asset_classes)

    @property
    def symbols(self) -> list[str]:
        """Symbols with a price, sorted."""
        return sorted(self._last)

    def last(self, symbol: str) -> tuple[float, str] | None:
        """Last close and its date, or None."""
        return self._last.get(symbol)

    def _pairs(self) -> list[tuple[str, str, str, str]]:
        """``(column, base, quote, kind note)`` of every currency pair or crypto pair of the book."""
        out = []
        for column in sorted(self._last):
            try:
                parsed = parse_symbol(column, _asset_class(self.asset_classes.get(column)))
            except SymbolParseError:
                continue
            if parsed.asset_class not in (AssetClass.CRYPTO, AssetClass.FOREX) or not parsed.quote:
                continue
            note = f", {parsed.kind.value}" if parsed.kind.value not in ("spot", "forex") else ""
            out.append((column, parsed.base, parsed.quote, note))
        return out

    def _pair(self, currency: str, base: str) -> Conversion | None:
        """A direct rate from a ``CCY/BASE`` or ``BASE/CCY`` pair of the book.

        For USD, a pair quoted in a USD stablecoin (``BTCUSDT``) serves too, taken at par; a spot
        pair is preferred to a perpetual.
        """
        quotes = [base] + (sorted(USD_QUOTES - {"USD"}) if base == "USD" else [])
        pairs = sorted(self._pairs(), key=lambda p: (p[3] != "", p[0]))
        for quote in quotes:
            par = "" if quote == base else f"; {quote} at par with USD"
            for column, b, q, note in pairs:
                price, stamp = self._last[column]
                if (b, q) == (currency, quote):
                    return Conversion(currency, base, price, f"{column} {stamp}{note}{par}")
                if (b, q) == (quote, currency):
                    return Conversion(
                        currency, base, 1.0 / price, f"1 / {column} {stamp}{note}{par}"
                    )
        return None

    def conversion(self, currency: str) -> Conversion:
        """Rate from ``currency`` to the base currency (:class:`Conversion`)."""
        ccy, base = currency.upper(), self.base_currency
        if ccy == base:
            return Conversion(ccy, base, 1.0, "same currency")
        if ccy in USD_QUOTES and ccy != "USD":
            to_usd = Conversion(ccy, "USD", 1.0, f"{ccy} taken at par with USD")
            if base == "USD":
                return Conversion(ccy, base, 1.0, to_usd.source)
            leg = self.conversion("USD")
            if leg.rate is None:
                return Conversion(ccy, base, None, leg.source)
            return Conversion(ccy, base, leg.rate, f"{to_usd.source}; {leg.source}")
        direct = self._pair(ccy, base)
        if direct is not None:
            return direct
        if "USD" not in (ccy, base):
            first, second = self._pair(ccy, "USD"), self._pair("USD", base)
            if first is not None and second is not None and first.rate and second.rate:
                return Conversion(
                    ccy, base, first.rate * second.rate, f"{first.source} x {second.source}"
                )
        return Conversion(ccy, base, None, f"no {ccy}{base} or {base}{ccy} series in the run")

    def quote(
        self,
        symbol: str,
        *,
        currency: str | None = None,
        price: float | None = None,
        price_date: str | None = None,
    ) -> Quote:
        """The last price of ``symbol`` (a given ``price`` wins over the run's)."""
        ccy = (currency or listing_currency(symbol, self.asset_classes.get(symbol))).upper()
        conversion = self.conversion(ccy)
        if price is not None:
            return Quote(
                symbol=symbol,
                price=float(price),
                date=price_date,
                conversion=conversion,
                source="holdings file",
            )
        last, day = self._last.get(symbol, (None, None))
        return Quote(symbol=symbol, price=last, date=day, conversion=conversion)
