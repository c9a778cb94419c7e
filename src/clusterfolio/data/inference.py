"""The listing of a generic file (or of one key of a long or wide file), and how it was told.

Order of evidence, strongest first: the metadata sidecar (:mod:`clusterfolio.data.sidecar`),
the file name or the key (``NYSE:AAPL``, ``NYSE_AAPL_1d.csv``), ``data.files.default_exchange``,
the venue (a crypto or forex exchange), the folder (``crypto/``, ``forex/``, ``bonds/`` ...),
then the symbol grammar (:func:`clusterfolio.data.naming.class_from_ticker`). Whatever was not
stated is returned as a note, so the provider records every inference per listing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from clusterfolio.data.naming import NameGuess, class_from_ticker, exchange_for
from clusterfolio.data.schema import Listing
from clusterfolio.data.sidecar import SidecarRow
from clusterfolio.data.venues import CRYPTO_VENUES, FOREX_VENUES
from clusterfolio.enums import AssetClass, CalendarKind

__all__ = ["Inferred", "calendar_of", "infer_listing"]

_FOLDER_CLASSES: tuple[tuple[str, AssetClass], ...] = (
    ("crypto", AssetClass.CRYPTO),
    ("forex", AssetClass.FOREX),
    ("fx", AssetClass.FOREX),
    ("bond", AssetClass.BOND),
    ("commodit", AssetClass.COMMODITY),
    ("etf", AssetClass.ETF),
    ("equit", AssetClass.EQUITY),
    ("stock", AssetClass.EQUITY),
    ("index", AssetClass.INDEX),
)


@dataclass
class Inferred:
    """A listing and the notes on what was inferred rather than stated."""

    listing: Listing
    notes: list[str] = field(default_factory=list)
    named: bool = False


def calendar_of(asset_class: AssetClass, exchange: str) -> CalendarKind:
    """The calendar of a class on an exchange (crypto 24/7, forex 24/5, LSE, else NYSE)."""
    if asset_class is AssetClass.CRYPTO:
        return CalendarKind.CRYPTO_24_7
    if asset_class is AssetClass.FOREX:
        return CalendarKind.FOREX_24_5
    return CalendarKind.LSE if exchange in ("LSE", "LSIN") else CalendarKind.NYSE


def _folder_class(folders: Sequence[str]) -> AssetClass | None:
    for part in reversed(folders):
        for key, cls in _FOLDER_CLASSES:
            if part.lower().startswith(key):
                return cls
    return None


def _class(
    guess: NameGuess, exchange: str, row: SidecarRow | None, folders: Sequence[str]
) -> tuple[AssetClass, str, str, str | None]:
    """``(class, base, quote, note)``; the note is None when the class was stated."""
    ticker = guess.ticker
    grammar, base, quote, rule = class_from_ticker(ticker, exchange)
    if row is not None and row.asset_class is not None:
        return row.asset_class, base, quote, None
    if exchange in CRYPTO_VENUES or exchange in FOREX_VENUES:
        return grammar, base, quote, f"asset class {grammar.value} from the venue {exchange}"
    folder = _folder_class(folders)
    if folder is not None and not (folder is AssetClass.ETF and grammar is not AssetClass.EQUITY):
        return folder, base, quote, f"asset class {folder.value} from the folder name"
    return grammar, base, quote, f"asset class {grammar.value} inferred ({rule})"


def infer_listing(
    guess: NameGuess,
    *,
    sidecar: Mapping[str, SidecarRow],
    default_exchange: str,
    folders: Sequence[str],
    extra: dict[str, str],
) -> Inferred:
    """Build the listing of ``guess`` (a file name or a key) with the evidence at hand."""
    ticker = guess.ticker
    row = sidecar.get(f"{guess.exchange}:{ticker}") if guess.exchange else None
    row = row or sidecar.get(ticker)
    stated_exchange = guess.exchange or (row.exchange if row is not None else "")
    exchange = stated_exchange or default_exchange
    cls, base, quote, class_note = _class(guess, exchange, row, folders)
    notes = [class_note] if class_note else []
    if not exchange:
        exchange, why = exchange_for(cls, ticker)
        notes.append(f"exchange {exchange}: {why}")
    elif not stated_exchange:
        notes.append(f"exchange {exchange} from data.files.default_exchange")
    clean = ticker.removesuffix(".L") if exchange in ("LSE", "LSIN") else ticker
    if row is not None:
        extra = {**extra, "sidecar_line": str(row.line)}
        if row.currency:
            extra["currency"] = row.currency
    listing = Listing(
        symbol=f"{exchange}:{clean}", asset_class=cls, calendar=calendar_of(cls, exchange),
        description=row.description if row is not None else "",
        sector=row.sector if row is not None else "",
        industry=row.industry if row is not None else "",
        market_cap=row.market_cap if row is not None else math.nan,
        base=base, quote=quote, extra=extra,
    )  # fmt: skip
    return Inferred(listing, notes, named=bool(guess.exchange))
