"""The asset-class category of a fund (ETF, bond fund, commodity fund).

A fund's "sector" is what it holds: equity sector, broad equity, international equity,
government bond, T-bill, credit, inflation-linked, aggregate bond, commodity, precious metals.
:func:`fund_category` decides it from the listing's category (the provider's ``extra["category"]``:
``sector``, ``broad``, ``country``, ``bond``, ``commodity``) and the words of its name and
description, first rule that matches (table :data:`_RULES`), so the sector summaries and cluster
labels mean something instead of a flat "Funds".
"""

from __future__ import annotations

import re
from enum import StrEnum

from clusterfolio.enums import AssetClass


class FundCategory(StrEnum):
    """What a fund holds."""

    EQUITY_SECTOR = "Equity Sector"
    BROAD_EQUITY = "Broad Equity"
    INTERNATIONAL_EQUITY = "International Equity"
    GOVERNMENT_BOND = "Government Bond"
    TBILL = "T-Bill"
    INFLATION_LINKED = "Inflation-Linked Bond"
    CREDIT = "Credit"
    AGGREGATE_BOND = "Aggregate Bond"
    COMMODITY = "Commodity"
    PRECIOUS_METALS = "Precious Metals"


#: Ordered (pattern on the lower-cased name and description, category); first match wins.
_RULES: tuple[tuple[str, FundCategory], ...] = (
    (r"\bbills?\b|t-bill|money market|0-3 month|1-3 month", FundCategory.TBILL),
    (r"inflation|\btips\b", FundCategory.INFLATION_LINKED),
    (
        r"corporate|high[- ]yield|investment[- ]grade|municipal|emerging[- ]market.*bond|"
        r"mortgage|credit|\bloans?\b",
        FundCategory.CREDIT,
    ),
    (r"treasur|government|gilt|bund|strips", FundCategory.GOVERNMENT_BOND),
    (r"aggregate|total bond|bond market|international bond", FundCategory.AGGREGATE_BOND),
    (r"gold|silver|platinum|palladium|precious", FundCategory.PRECIOUS_METALS),
    (r"commodit|crude|oil futures|natural gas|agricultur|copper|metals futures|wheat|corn",
     FundCategory.COMMODITY),
    (r"sector|semiconductor|software|biotech|banks?\b|oil and gas|oil services|construction|"
     r"retail|real estate|reit|mining|aerospace|technology|health ?care|utilities|financials|"
     r"energy|industrials|materials|consumer|communication",
     FundCategory.EQUITY_SECTOR),
    (r"emerging|developed markets|europe|japan|china|brazil|india|country|international|"
     r"korea|taiwan|canada|australia|mexico|germany|france|kingdom|eurozone|hong kong",
     FundCategory.INTERNATIONAL_EQUITY),
)  # fmt: skip

_BY_PROVIDER_CATEGORY: dict[str, FundCategory] = {
    "sector": FundCategory.EQUITY_SECTOR,
    "broad": FundCategory.BROAD_EQUITY,
    "country": FundCategory.INTERNATIONAL_EQUITY,
}

#: Provider sectors that say nothing about a fund (replaced by the category).
GENERIC_FUND_SECTORS = frozenset({"", "funds", "fund", "etf", "miscellaneous", "unclassified"})

FUND_CLASSES = frozenset({str(AssetClass.ETF), str(AssetClass.BOND), str(AssetClass.COMMODITY)})


def fund_category(asset_class: str, category: str = "", text: str = "") -> FundCategory | None:
    """The category of a fund, or None for a listing that is not a fund.

    Parameters
    ----------
    asset_class : str
        ``etf``, ``bond`` or ``commodity`` (anything else is not a fund).
    category : str, optional
        The provider's category (``sector``, ``broad``, ``country``, ``bond``, ``commodity``).
    text : str, optional
        Name and description.

    Examples
    --------
    >>> fund_category("bond", "bond", "US Treasury bills, 1-3 months").value
    'T-Bill'
    >>> fund_category("etf", "broad", "S&P 500").value
    'Broad Equity'
    >>> fund_category("equity") is None
    True
    """
    if asset_class not in FUND_CLASSES:
        return None
    words = text.lower()
    if asset_class == str(AssetClass.ETF) and category.lower() in _BY_PROVIDER_CATEGORY:
        return _BY_PROVIDER_CATEGORY[category.lower()]
    for pattern, found in _RULES:
        if re.search(pattern, words):
            if asset_class == str(AssetClass.BOND) and found in (
                FundCategory.EQUITY_SECTOR,
                FundCategory.INTERNATIONAL_EQUITY,
                FundCategory.COMMODITY,
                FundCategory.PRECIOUS_METALS,
            ):
                continue
            return found
    if asset_class == str(AssetClass.BOND):
        return FundCategory.AGGREGATE_BOND
    if asset_class == str(AssetClass.COMMODITY):
        return FundCategory.COMMODITY
    return FundCategory.BROAD_EQUITY
