"""Listings of the vendor formats of ``../shared/data``: M6 (with its universe table) and
CryptoDataDownload exports (venue and pair from the file name or its folder).

Problems are handed to ``report(path, row, kind, detail, severity)``, which the files provider
records per file.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from clusterfolio.data.formats import IssueKind, Severity
from clusterfolio.data.schema import Listing
from clusterfolio.enums import AssetClass, CalendarKind

__all__ = [
    "CRYPTO_VENUES",
    "QUOTES",
    "cdd_listing",
    "m6_listing",
    "read_universe_table",
    "split_pair",
]

#: ``report(path, row, kind, detail, severity)``.
Report = Callable[[Path, int | None, IssueKind, str, Severity], None]

#: CryptoDataDownload venue (lower-case, as in file and folder names) -> exchange prefix.
CRYPTO_VENUES: dict[str, str] = {
    "binance": "BINANCE",
    "bitfinex": "BITFINEX",
    "bitstamp": "BITSTAMP",
    "coinbase": "COINBASE",
    "kraken": "KRAKEN",
}
#: Quote currencies recognised at the end of a pair, longest first.
QUOTES: tuple[str, ...] = (
    "USDT", "USDC", "BUSD", "TUSD", "FDUSD", "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD",
    "NZD", "CNY", "TRY", "BTC", "ETH", "BNB", "DAI",
)  # fmt: skip
_PAIR = re.compile(r"^[A-Z0-9]{4,20}$")


def split_pair(pair: str) -> tuple[str, str]:
    """Split ``ETHBTC`` into ``("ETH", "BTC")`` using :data:`QUOTES`; ``("", "")`` if unknown."""
    pair = pair.upper().replace("/", "").replace("-", "")
    for quote in QUOTES:
        if pair.endswith(quote) and len(pair) > len(quote):
            return pair[: -len(quote)], quote
    return "", ""


def read_universe_table(folder: Path, report: Report) -> dict[str, dict[str, str]]:
    """The ``*universe*.csv`` tables of ``folder`` (M6_Universe.csv): symbol -> row."""
    table: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*")):
        if not (
            path.is_file()
            and "universe" in path.name.lower()
            and path.name.lower().endswith(".csv")
        ):
            continue
        try:
            with path.open("r", encoding="utf-8-sig", newline="") as handle:
                for line, row in enumerate(csv.DictReader(handle), start=2):
                    symbol = (row.get("symbol") or "").strip()
                    if not symbol:
                        report(
                            path,
                            line,
                            IssueKind.METADATA,
                            "row without a symbol: ignored",
                            Severity.WARNING,
                        )
                        continue
                    table.setdefault(
                        symbol, {k.strip(): (v or "").strip() for k, v in row.items() if k}
                    )
        except (OSError, csv.Error, UnicodeError) as exc:
            report(
                path,
                None,
                IssueKind.UNREADABLE,
                f"metadata table unreadable ({exc})",
                Severity.WARNING,
            )
    return table


def m6_listing(
    path: Path,
    ticker: str,
    extra: dict[str, str],
    *,
    table: Mapping[str, dict[str, str]],
    overrides: Mapping[str, str],
    report: Report,
) -> Listing:
    """The listing of an M6 file (class, sector and name from the universe table)."""
    meta = table.get(ticker)
    if meta is None:
        report(
            path, None, IssueKind.METADATA,
            f"{ticker} is not in a universe table beside the file: class and sector unknown",
            Severity.INFO,
        )  # fmt: skip
        meta = {}
    kind = meta.get("class", "").lower()
    sector = meta.get("GICS_sector/ETF_type", "")
    industry = meta.get("GICS_industry/ETF_subtype", "")
    if kind == "etf":
        asset_class = {
            "fixed income": AssetClass.BOND,
            "commodities": AssetClass.COMMODITY,
        }.get(sector.lower(), AssetClass.ETF)
    else:
        asset_class = AssetClass.EQUITY
    london = ticker.upper().endswith(".L")
    clean = ticker[:-2] if london else ticker
    clean = clean.replace("-", ".").upper()
    if ticker in overrides:
        exchange = overrides[ticker]
    elif london:
        exchange = "LSE"
    else:
        exchange = "NYSE" if asset_class is AssetClass.EQUITY and kind != "etf" else "AMEX"
        if exchange == "NYSE":
            report(
                path, None, IssueKind.INFERRED,
                f"NYSE:{clean}: exchange NYSE assumed (the file does not say where a US stock is "
                "listed; exchange_overrides corrects it)",
                Severity.INFO,
            )  # fmt: skip
    if meta:
        extra = {**extra, "vendor_ticker": ticker, "vendor_class": meta.get("class", "")}
    return Listing(
        symbol=f"{exchange}:{clean}", asset_class=asset_class,
        calendar=CalendarKind.LSE if exchange == "LSE" else CalendarKind.NYSE,
        description=meta.get("name", ""), sector=sector, industry=industry, extra=extra,
    )  # fmt: skip


def cdd_listing(path: Path, stem: str, extra: dict[str, str], report: Report) -> Listing | None:
    """The listing of a CryptoDataDownload export; None when the name says too little."""
    tokens = stem.split("_")
    folder = path.parent.name.lower()
    venue = next((t.lower() for t in tokens if t.lower() in CRYPTO_VENUES), None)
    if venue is None:
        venue = next((v for v in CRYPTO_VENUES if folder.startswith(v)), None)
    pair = next(
        (t.upper() for t in tokens if t.lower() not in CRYPTO_VENUES and _PAIR.match(t.upper())),
        None,
    )
    if venue is None or pair is None:
        report(
            path, None, IssueKind.METADATA,
            "cannot tell the venue and the pair from the file name: treated as a generic file",
            Severity.INFO,
        )  # fmt: skip
        return None
    futures = "futures" in (t.lower() for t in tokens) or "futures" in folder
    base, quote = split_pair(pair)
    exchange = CRYPTO_VENUES[venue]
    extra = {**extra, "venue": venue, "contract": "perpetual" if futures else "spot"}
    return Listing(
        symbol=f"{exchange}:{pair}{'.P' if futures else ''}", asset_class=AssetClass.CRYPTO,
        calendar=CalendarKind.CRYPTO_24_7,
        description=f"{base}/{quote} {'perpetual' if futures else 'spot'} on {exchange}" if base else pair,
        base=base, quote=quote, extra=extra,
    )  # fmt: skip
