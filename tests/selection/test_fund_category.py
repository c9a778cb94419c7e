"""Funds carry what they hold (equity sector, government bond, T-bill, credit ...), not "Funds"."""

from __future__ import annotations

import pytest

from clusterfolio.data.schema import Listing
from clusterfolio.enums import AssetClass, CalendarKind
from clusterfolio.selection.enrichment import enrich_winners
from clusterfolio.selection.fund_category import FundCategory, fund_category


@pytest.mark.parametrize(
    ("klass", "category", "text", "expected"),
    [
        ("bond", "bond", "SHV US Treasury bills, up to 1 year", FundCategory.TBILL),
        ("bond", "bond", "TLT US Treasuries, 20+ years", FundCategory.GOVERNMENT_BOND),
        ("bond", "bond", "HYG US high-yield corporates", FundCategory.CREDIT),
        ("bond", "bond", "LQD US investment-grade corporates", FundCategory.CREDIT),
        ("bond", "bond", "TIP US inflation-protected Treasuries", FundCategory.INFLATION_LINKED),
        ("bond", "bond", "AGG US aggregate bonds", FundCategory.AGGREGATE_BOND),
        ("commodity", "commodity", "GLD Gold bullion", FundCategory.PRECIOUS_METALS),
        ("commodity", "commodity", "USO WTI crude oil futures", FundCategory.COMMODITY),
        ("etf", "sector", "XLK US Information Technology sector", FundCategory.EQUITY_SECTOR),
        ("etf", "broad", "SPY S&P 500", FundCategory.BROAD_EQUITY),
        ("etf", "country", "EWJ Japan", FundCategory.INTERNATIONAL_EQUITY),
        ("etf", "", "XBI US biotechnology", FundCategory.EQUITY_SECTOR),
        ("etf", "", "IWM Russell 2000", FundCategory.BROAD_EQUITY),
    ],
)
def test_categories(klass: str, category: str, text: str, expected: FundCategory) -> None:
    assert fund_category(klass, category, text) is expected


def test_not_a_fund() -> None:
    assert fund_category("equity", "", "Apple") is None
    assert fund_category("crypto") is None


def test_enrichment_replaces_a_generic_fund_sector() -> None:
    listing = Listing(
        symbol="ARCA:BIL",
        asset_class=AssetClass.BOND,
        calendar=CalendarKind.NYSE,
        description="US Treasury bills, 1-3 months",
        sector="Funds",
        industry="Bond Fund",
    )
    result = enrich_winners([{"symbol": "ARCA:BIL", "asset_class": "bond"}], lambda s: listing)
    (bil,) = result.winners
    assert bil["sector"] == "T-Bill"
    assert bil["fallback_fields"] == ["sector"]  # the replacement is recorded
    assert result.fallbacks[0]["values"] == {"sector": "T-Bill"}
