"""Enrichment: provider metadata first, documented fallbacks by asset class, none silent."""

from __future__ import annotations

from typing import Any

import pytest

from clusterfolio.data.schema import Listing
from clusterfolio.enums import AssetClass, CalendarKind
from clusterfolio.errors import UnknownSymbolError
from clusterfolio.selection.enrichment import (
    ENRICHED_FIELDS,
    EnrichmentSource,
    enrich_winners,
    fallback_metadata,
)

LISTINGS = {
    "NASDAQ:AAPL": Listing(
        "NASDAQ:AAPL",
        AssetClass.EQUITY,
        CalendarKind.NYSE,
        description="Apple Inc.",
        sector="Information Technology",
        industry="Technology Hardware",
    ),
    "FX_IDC:EURUSD": Listing(
        "FX_IDC:EURUSD",
        AssetClass.FOREX,
        CalendarKind.FOREX_24_5,
        description="Euro / US Dollar",
        base="EUR",
        quote="USD",
    ),
    "AMEX:TLT": Listing("AMEX:TLT", AssetClass.BOND, CalendarKind.NYSE),
    "AMEX:SPY": Listing(
        "AMEX:SPY",
        AssetClass.ETF,
        CalendarKind.NYSE,
        description="S&P 500 tracker",
        extra={"category": "broad"},
    ),
}


def _lookup(symbol: str) -> Listing:
    if symbol not in LISTINGS:
        raise UnknownSymbolError(f"unknown symbol {symbol}")
    return LISTINGS[symbol]


def _winner(symbol: str, asset_class: str, kind: str = "") -> dict[str, Any]:
    return {"symbol": symbol, "asset_class": asset_class, "kind": kind, "cluster": 1}


def test_provider_metadata_is_used_as_is() -> None:
    result = enrich_winners([_winner("NASDAQ:AAPL", "equity")], _lookup)
    (w,) = result.winners
    assert w["sector"] == "Information Technology"
    assert w["industry"] == "Technology Hardware"
    assert w["description"] == "Apple Inc."
    assert w["enrichment_source"] == EnrichmentSource.PROVIDER
    assert w["fallback_fields"] == [] and result.fallbacks == []
    assert w["cluster"] == 1  # other keys are kept


def test_unknown_crypto_perpetual_falls_back_entirely() -> None:
    result = enrich_winners([_winner("BINANCE:BTCUSDT.P", "crypto", "perpetual")], _lookup)
    (w,) = result.winners
    assert (w["sector"], w["industry"]) == ("Crypto", "Perpetual")
    assert w["description"] == "BTC/USDT perpetual on BINANCE"
    assert w["enrichment_source"] == EnrichmentSource.FALLBACK
    (fb,) = result.fallbacks
    assert fb["fields"] == list(ENRICHED_FIELDS)
    assert "UnknownSymbolError" in fb["error"]


def test_crypto_kind_parsed_from_the_symbol() -> None:
    meta = fallback_metadata("COINBASE:ETHUSD", "crypto")
    assert meta == {
        "sector": "Crypto",
        "industry": "Spot",
        "description": "ETH/USD spot on COINBASE",
    }


def test_partial_metadata_fills_only_the_missing_fields() -> None:
    result = enrich_winners(
        [
            _winner("FX_IDC:EURUSD", "forex"),
            _winner("AMEX:TLT", "bond"),
            _winner("AMEX:SPY", "etf"),
        ],
        _lookup,
    )
    fx, tlt, spy = result.winners
    assert (fx["sector"], fx["industry"], fx["description"]) == (
        "Currencies",
        "Spot FX",
        "Euro / US Dollar",
    )
    assert fx["enrichment_source"] == EnrichmentSource.PARTIAL
    assert fx["fallback_fields"] == ["sector", "industry"]
    # without a description a bond fund's category is the generic aggregate bond
    assert (tlt["sector"], tlt["industry"]) == ("Aggregate Bond", "Bond Fund")
    assert tlt["description"] == "TLT: bond fund on AMEX"
    assert tlt["enrichment_source"] == EnrichmentSource.FALLBACK  # all three fell back
    assert (spy["sector"], spy["industry"]) == ("Broad Equity", "Broad Fund")
    assert len(result.fallbacks) == 3
    assert {fb["symbol"] for fb in result.fallbacks} == {"FX_IDC:EURUSD", "AMEX:TLT", "AMEX:SPY"}


@pytest.mark.parametrize("klass", [c.value for c in AssetClass] + ["unknown"])
def test_no_field_is_ever_empty(klass: str) -> None:
    result = enrich_winners([_winner("NOPE:XYZ", klass)], _lookup)
    (w,) = result.winners
    assert all(w[name] for name in ENRICHED_FIELDS)
    assert result.fallbacks and result.fallbacks[0]["fields"] == list(ENRICHED_FIELDS)
