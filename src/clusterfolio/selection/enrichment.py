"""Enrichment (step 6): sector, industry and description of every winner.

Each winner's listing metadata is asked from the provider (``provider.metadata(symbol)``). A
field the provider leaves empty (or every field, when the provider does not know the symbol)
takes the documented fallback of the winner's asset class; nothing is left empty silently:
every winner records its ``enrichment_source`` and the fields that fell back, and the step
records one decision per fallback.

Fallbacks by asset class (``kind`` is the winner's listing kind, ``base``/``quote`` the
provider's, else parsed from the symbol):

=========  ====================  ===========================================  =====================================
class      sector                industry                                     description
=========  ====================  ===========================================  =====================================
crypto     ``Crypto``            ``Spot`` / ``Perpetual`` / ``Future``        ``BASE/QUOTE <industry> on EXCHANGE``
                                 (from the kind; ``Spot`` when unknown)
forex      ``Currencies``        ``Spot FX``                                  ``BASE/QUOTE exchange rate``
bond       fund category [#]_    ``Bond Fund``                                ``TICKER: bond fund on EXCHANGE``
commodity  fund category [#]_    ``Commodity Fund``                           ``TICKER: commodity fund on EXCHANGE``
etf        fund category [#]_    ``<Category> Fund`` from the listing's       ``TICKER: exchange-traded fund on
                                 ``extra["category"]``, else                  EXCHANGE``
                                 ``Exchange-Traded Fund``
index      ``Indices``           ``Index``                                    ``TICKER: index``
equity     ``Unclassified``      ``Unclassified``                             ``TICKER: equity on EXCHANGE``
=========  ====================  ===========================================  =====================================

.. [#] :func:`~clusterfolio.selection.fund_category.fund_category`: what the fund holds
   (Equity Sector, Broad Equity, International Equity, Government Bond, T-Bill, Credit,
   Inflation-Linked Bond, Aggregate Bond, Commodity, Precious Metals), from the listing's category
   and description. A provider sector that says nothing about a fund ("Funds", "Miscellaneous")
   is replaced by it, and the replacement is recorded as a fallback.

``enrichment_source`` is ``provider`` (no fallback), ``provider+fallback`` (some fields fell
back) or ``fallback`` (the provider had no metadata for the symbol, or all three fields fell
back).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from clusterfolio.data.schema import Listing
from clusterfolio.discovery.identity import SymbolParseError, parse_symbol
from clusterfolio.enums import AssetClass
from clusterfolio.errors import DataError
from clusterfolio.selection.fund_category import FUND_CLASSES, GENERIC_FUND_SECTORS, fund_category

__all__ = [
    "ENRICHED_FIELDS",
    "EnrichmentResult",
    "EnrichmentSource",
    "enrich_winners",
    "fallback_metadata",
]

#: Fields filled by the enrichment, in order.
ENRICHED_FIELDS: tuple[str, ...] = ("sector", "industry", "description")

_SECTORS: dict[str, tuple[str, str]] = {
    str(AssetClass.CRYPTO): ("Crypto", "Spot"),
    str(AssetClass.FOREX): ("Currencies", "Spot FX"),
    str(AssetClass.BOND): ("Fixed Income", "Bond Fund"),
    str(AssetClass.COMMODITY): ("Commodities", "Commodity Fund"),
    str(AssetClass.ETF): ("Funds", "Exchange-Traded Fund"),
    str(AssetClass.INDEX): ("Indices", "Index"),
    str(AssetClass.EQUITY): ("Unclassified", "Unclassified"),
}

_CRYPTO_KINDS: dict[str, str] = {"spot": "Spot", "perpetual": "Perpetual", "future": "Future"}

_FUND_WORDS: dict[str, str] = {
    str(AssetClass.BOND): "bond fund",
    str(AssetClass.COMMODITY): "commodity fund",
    str(AssetClass.ETF): "exchange-traded fund",
}


class EnrichmentSource(StrEnum):
    """Where a winner's sector, industry and description came from."""

    PROVIDER = "provider"
    PARTIAL = "provider+fallback"
    FALLBACK = "fallback"


@dataclass
class EnrichmentResult:
    """Enriched winners and the fallbacks taken.

    Attributes
    ----------
    winners : list of dict
        The input winners with ``sector``, ``industry``, ``description``,
        ``enrichment_source`` and ``fallback_fields`` added, in the input order.
    fallbacks : list of dict
        One record per winner that fell back: ``symbol``, ``asset_class``, ``fields``,
        ``source`` and ``error`` (the provider's error when it had no metadata, else "").
    """

    winners: list[dict[str, Any]]
    fallbacks: list[dict[str, Any]] = field(default_factory=list)


def _split(symbol: str) -> tuple[str, str]:
    return (symbol.split(":", 1)[0], symbol.split(":", 1)[1]) if ":" in symbol else ("", symbol)


def _pair(symbol: str, asset_class: str, listing: Listing | None) -> tuple[str, str, str]:
    """Base, quote and kind of a crypto or forex symbol (provider first, else parsed)."""
    base = listing.base if listing is not None else ""
    quote = listing.quote if listing is not None else ""
    kind = ""
    try:
        hint = AssetClass(asset_class) if asset_class in set(AssetClass) else None
        parsed = parse_symbol(symbol, hint, base_hint=base, quote_hint=quote)
        base, quote, kind = base or parsed.base, quote or parsed.quote, str(parsed.kind)
    except SymbolParseError:
        pass
    return base, quote, kind


def fallback_metadata(
    symbol: str, asset_class: str, *, kind: str = "", listing: Listing | None = None
) -> dict[str, str]:
    """The fallback sector, industry and description of a listing (table in the docstring).

    Parameters
    ----------
    symbol : str
        ``EXCHANGE:TICKER``.
    asset_class : str
        The winner's asset class (an :class:`~clusterfolio.enums.AssetClass` value; any other
        string is treated as an equity).
    kind : str, optional
        Listing kind (``spot``, ``perpetual``, ``future`` ...); parsed from the symbol when
        empty.
    listing : Listing, optional
        The provider's listing (base, quote, ``extra["category"]``) when it has one.

    Returns
    -------
    dict
        ``sector``, ``industry`` and ``description``, never empty.
    """
    klass = asset_class if asset_class in _SECTORS else str(AssetClass.EQUITY)
    sector, industry = _SECTORS[klass]
    exchange, ticker = _split(symbol)
    venue = f" on {exchange}" if exchange else ""
    if klass in (str(AssetClass.CRYPTO), str(AssetClass.FOREX)):
        base, quote, parsed_kind = _pair(symbol, klass, listing)
        pair = f"{base}/{quote}" if base and quote else ticker
        if klass == str(AssetClass.CRYPTO):
            industry = _CRYPTO_KINDS.get((kind or parsed_kind).lower(), "Spot")
            description = f"{pair} {industry.lower()}{venue}"
        else:
            description = f"{pair} exchange rate"
    elif klass in _FUND_WORDS:
        category = listing.extra.get("category", "") if listing is not None else ""
        if klass == str(AssetClass.ETF) and category:
            industry = f"{category.strip().title()} Fund"
        text = " ".join([ticker, listing.description if listing is not None else "", str(category)])
        found = fund_category(klass, str(category), text)
        sector = found.value if found is not None else sector
        description = f"{ticker}: {_FUND_WORDS[klass]}{venue}"
    elif klass == str(AssetClass.INDEX):
        description = f"{ticker}: index"
    else:
        description = f"{ticker}: equity{venue}"
    return {"sector": sector, "industry": industry, "description": description}


def enrich_winners(
    winners: Sequence[Mapping[str, Any]], lookup: Callable[[str], Listing]
) -> EnrichmentResult:
    """Add sector, industry and description to every winner (rules in the module docstring).

    Parameters
    ----------
    winners : sequence of mapping
        Winners with at least ``symbol`` and ``asset_class`` (``kind`` optional).
    lookup : callable
        ``symbol -> Listing`` (``provider.metadata``); a
        :class:`~clusterfolio.errors.DataError` (``UnknownSymbolError``, a provider failure)
        means no metadata: every field falls back and the error is recorded.

    Returns
    -------
    EnrichmentResult
    """
    out: list[dict[str, Any]] = []
    fallbacks: list[dict[str, Any]] = []
    for winner in winners:
        symbol = str(winner["symbol"])
        klass = str(winner.get("asset_class", ""))
        listing: Listing | None
        error = ""
        try:
            listing = lookup(symbol)
        except DataError as exc:
            listing, error = None, f"{type(exc).__name__}: {exc}"
        fallback = fallback_metadata(
            symbol, klass, kind=str(winner.get("kind", "") or ""), listing=listing
        )
        values: dict[str, str] = {}
        fell_back: list[str] = []
        for name in ENRICHED_FIELDS:
            given = str(getattr(listing, name, "") or "").strip() if listing is not None else ""
            if name == "sector" and klass in FUND_CLASSES and given.lower() in GENERIC_FUND_SECTORS:
                given = ""  # "Funds" says nothing: the fund's category replaces it (recorded)
            if given:
                values[name] = given
            else:
                values[name] = fallback[name]
                fell_back.append(name)
        if not fell_back:
            source = EnrichmentSource.PROVIDER
        elif listing is None or len(fell_back) == len(ENRICHED_FIELDS):
            source = EnrichmentSource.FALLBACK
        else:
            source = EnrichmentSource.PARTIAL
        enriched = dict(winner)
        enriched.update(values)
        enriched["enrichment_source"] = str(source)
        enriched["fallback_fields"] = list(fell_back)
        out.append(enriched)
        if fell_back:
            fallbacks.append(
                {
                    "symbol": symbol,
                    "asset_class": klass,
                    "fields": list(fell_back),
                    "source": str(source),
                    "error": error,
                    "values": {k: values[k] for k in fell_back},
                }
            )
    return EnrichmentResult(winners=out, fallbacks=fallbacks)
