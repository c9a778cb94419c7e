"""A broker's positions turned into the accepted state (``clusterfolio holdings import``).

The file is a CSV with a header. Columns are found by name, case-insensitively
(:data:`COLUMN_ALIASES`): ``symbol`` and ``quantity`` are required, ``price`` and ``currency``
optional. A row whose symbol is ``CASH`` (or ``CASH <CCY>``) is cash: its quantity is an amount of
its currency (the base currency when none is given).

Symbols are matched against what the run knows (its prices, its discovered listings, its raw
pool and its target), in this order: the exact ``EXCHANGE:TICKER``; a Yahoo-style suffix
(``HSBA.L`` is ``LSE:HSBA``); the bare ticker or the identity when it names exactly one listing
(the target's listing first). A symbol that matches nothing, or several listings, is *unknown*:
it is left out of the state and reported with its closest known symbols and identities
(:func:`difflib.get_close_matches`).

Values are taken at the run's last prices (point in time, converted into the base currency with
the run's forex series); the file's price serves only for a symbol the run holds no price of
(``GBX``/``GBp`` prices are pence: divided by 100 into GBP). Weights are value / (positions +
cash). Bad input (no symbol or quantity column, a quantity that is not a finite number, a
duplicated symbol) is a :class:`~clusterfolio.errors.DataError` naming the file and row.
"""

from __future__ import annotations

import csv
import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from clusterfolio.artifacts.discovery import RAW_POOL, SCREENER
from clusterfolio.artifacts.encoding import record
from clusterfolio.artifacts.portfolio import profiles_of, section_assets
from clusterfolio.audit.money import Valuation, revalue, run_book
from clusterfolio.audit.pricing import PriceBook
from clusterfolio.audit.state import save_state
from clusterfolio.errors import DataError
from clusterfolio.io import sha256_file
from clusterfolio.manifest import Settings

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "symbol": ("symbol", "ticker", "instrument", "security", "code", "financial instrument"),
    "quantity": ("quantity", "qty", "position", "shares", "units", "amount"),
    "price": ("price", "last", "last price", "mark price", "close", "market price"),
    "currency": ("currency", "ccy", "curr"),
}
"""Header names recognised for each column (lower case)."""

SUFFIX_VENUES: dict[str, str] = {".L": "LSE", ".DE": "XETR", ".PA": "EURONEXT", ".TO": "TSX"}
"""Yahoo-style ticker suffixes and their venues."""

PENCE = frozenset({"GBX", "GBP_PENCE"})
CASH = "CASH"


@dataclass(frozen=True)
class Position:
    """One row of the broker file."""

    row: int
    raw_symbol: str
    quantity: float
    price: float | None
    currency: str | None


@dataclass(frozen=True)
class Unknown:
    """A position whose symbol the run does not know, with its closest identities."""

    row: int
    symbol: str
    quantity: float
    closest: list[str]
    reason: str = "not a listing of this run"


@dataclass
class Catalogue:
    """What a run knows: symbols, identities and asset classes."""

    symbols: set[str] = field(default_factory=set)
    identities: dict[str, set[str]] = field(default_factory=dict)
    asset_classes: dict[str, str] = field(default_factory=dict)
    preferred: set[str] = field(default_factory=set)

    def add(self, symbol: str, identity: str = "", asset_class: str = "") -> None:
        """Add a listing."""
        self.symbols.add(symbol)
        ticker = symbol.rpartition(":")[2]
        for key in {ticker, identity} - {""}:
            self.identities.setdefault(key.upper(), set()).add(symbol)
        if asset_class and symbol not in self.asset_classes:
            self.asset_classes[symbol] = asset_class

    def match(self, raw: str) -> tuple[str | None, list[str]]:
        """The listing ``raw`` names, or None with the candidates (several, or the closest)."""
        text = raw.strip().upper()
        if text in self.symbols:
            return text, []
        for suffix, venue in SUFFIX_VENUES.items():
            if text.endswith(suffix) and f"{venue}:{text[: -len(suffix)]}" in self.symbols:
                return f"{venue}:{text[: -len(suffix)]}", []
        found = sorted(self.identities.get(text.rpartition(":")[2], set()))
        if len(found) > 1:
            preferred = [s for s in found if s in self.preferred]
            if len(preferred) == 1:
                return preferred[0], []
        if len(found) == 1:
            return found[0], []
        if found:
            return None, found
        pool = sorted(self.symbols | set(self.identities))
        return None, difflib.get_close_matches(text, pool, n=5, cutoff=0.5)


def run_catalogue(run_dir: Path, target: Mapping[str, Any] | None, book: PriceBook) -> Catalogue:
    """The listings a run knows (prices, screener, raw pool, target)."""
    cat = Catalogue()
    for symbol in book.symbols:
        cat.add(symbol, asset_class=book.asset_classes.get(symbol, ""))
    pool = run_dir / RAW_POOL
    if pool.exists():
        frame = pd.read_parquet(pool, columns=["symbol", "identity", "asset_class"])
        for row in frame.itertuples(index=False):
            cat.add(str(row.symbol), str(row.identity), str(row.asset_class))
    screener = run_dir / SCREENER
    if screener.exists():
        for symbol in pd.read_parquet(screener, columns=["asset_class"]).index:
            cat.add(str(symbol))
    for asset in section_assets(target):
        symbol = str(asset["symbol"])
        cat.add(symbol, str(asset.get("identity", "")), str(asset.get("asset_class", "")))
        cat.preferred.add(symbol)
    return cat


def _columns(header: Iterable[str], path: Path) -> dict[str, str]:
    names = {h.strip().lower(): h for h in header if h is not None}
    out: dict[str, str] = {}
    for key, aliases in COLUMN_ALIASES.items():
        hit = next((names[a] for a in aliases if a in names), None)
        if hit is not None:
            out[key] = hit
    missing = [k for k in ("symbol", "quantity") if k not in out]
    if missing:
        raise DataError(
            f"{path}: no {' or '.join(missing)} column; header {sorted(names)}; accepted names: "
            + "; ".join(f"{k}: {', '.join(COLUMN_ALIASES[k])}" for k in missing)
        )
    return out


def _number(text: str | None, what: str, path: Path, row: int) -> float | None:
    if text is None or not text.strip():
        return None
    cleaned = text.strip().replace(",", "").replace(" ", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise DataError(f"{path}: row {row}: {what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{path}: row {row}: {what} {text!r} is not finite")
    return value


def read_positions(path: Path) -> list[Position]:
    """Read a broker CSV (header aliases, thousands separators, blank lines skipped).

    Raises
    ------
    DataError
        No symbol or quantity column, a bad number, a row without a quantity.
    """
    if not path.is_file():
        raise DataError(f"{path}: no such holdings file")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        cols = _columns(reader.fieldnames or [], path)
        out = []
        for row_no, row in enumerate(reader, start=2):
            symbol = (row.get(cols["symbol"]) or "").strip()
            if not symbol and not any((v or "").strip() for v in row.values()):
                continue
            if not symbol:
                raise DataError(f"{path}: row {row_no}: no symbol")
            qty = _number(row.get(cols["quantity"]), "quantity", path, row_no)
            if qty is None:
                raise DataError(f"{path}: row {row_no} ({symbol}): no quantity")
            price = (
                _number(row.get(cols["price"]), "price", path, row_no) if "price" in cols else None
            )
            ccy = (row.get(cols["currency"]) or "").strip() if "currency" in cols else ""
            out.append(Position(row_no, symbol, qty, price, ccy.upper() or None))
    return out


@dataclass(frozen=True)
class HoldingsImport:
    """The outcome of an import: the state document and what was left out."""

    state: dict[str, Any]
    valuation: Valuation
    unknown: list[Unknown]


def _cash(position: Position, book: PriceBook) -> float:
    """A cash row in base currency (its currency converted; DataError when it cannot be)."""
    text = position.raw_symbol.strip().upper()
    ccy = position.currency or (text.split()[1] if len(text.split()) > 1 else book.base_currency)
    rate = book.conversion(ccy).rate
    if rate is None:
        raise DataError(
            f"row {position.row}: cash in {ccy} cannot be converted into {book.base_currency}: "
            f"{book.conversion(ccy).source}"
        )
    return position.quantity * rate


def _unmatched_reason(closest: list[str]) -> str:
    """Why a broker row matched no listing: an ambiguous identity or an unknown symbol."""
    if closest and len(closest) > 1 and all(":" in c for c in closest):
        return "several listings match"
    return "not a listing of this run"


def _broker_quote(position: Position, as_of: str | None) -> dict[str, Any] | None:
    """The broker's own price of a row (pence turned into pounds), or None when it gives none."""
    price, ccy = position.price, position.currency
    if price is None:
        return None
    if ccy in PENCE:
        price, ccy = price / 100.0, "GBP"
    return {"price": price, "currency": ccy, "date": as_of}


def build_state(
    positions: list[Position],
    catalogue: Catalogue,
    book: PriceBook,
    *,
    as_of: str | None,
    run_id: str,
    source_file: Path,
) -> HoldingsImport:
    """Match the positions, value them at the run's prices and build the accepted state."""
    quantities: dict[str, float] = {}
    prices: dict[str, dict[str, Any]] = {}
    unknown: list[Unknown] = []
    cash = 0.0
    for pos in positions:
        if pos.raw_symbol.strip().upper().split()[0] == CASH:
            cash += _cash(pos, book)
            continue
        symbol, closest = catalogue.match(pos.raw_symbol)
        if symbol is None:
            reason = _unmatched_reason(closest)
            unknown.append(Unknown(pos.row, pos.raw_symbol, pos.quantity, closest, reason))
            continue
        if symbol in quantities:
            raise DataError(f"{source_file}: row {pos.row}: {symbol} appears twice")
        quantities[symbol] = pos.quantity
        if (quote := _broker_quote(pos, as_of)) is not None:
            prices[symbol] = quote
    state: dict[str, Any] = {
        "as_of": as_of,
        "run_id": run_id,
        "profile": "holdings",
        "source": "holdings",
        "source_file": str(source_file),
        "source_sha256": sha256_file(source_file),
        "base_currency": book.base_currency,
        "quantities": quantities,
        "prices": prices,
        "cash": cash,
        "asset_classes": {
            s: catalogue.asset_classes[s] for s in quantities if s in catalogue.asset_classes
        },
    }
    valuation = revalue(state, book)
    state.update(
        {
            "capital": valuation.capital,
            "values": valuation.values,
            "weights": {s: w for s, w in valuation.weights.items() if w},
            "gross_weights": {s: abs(w) for s, w in valuation.weights.items() if w},
            "unknown": [record(u) for u in unknown],
            "unpriced": sorted(s for s, v in valuation.values.items() if v is None),
        }
    )
    return HoldingsImport(state=state, valuation=valuation, unknown=unknown)


def import_holdings(
    path: Path,
    *,
    run_dir: Path,
    settings: Settings,
    portfolio: Mapping[str, Any],
    run_id: str,
    lakehouse_root: Path | None = None,
) -> HoldingsImport:
    """Read a broker CSV, value it at a run's prices and (with ``lakehouse_root``) accept it.

    Parameters
    ----------
    path : Path
        The broker's positions.
    run_dir : Path
        The run whose prices and listings are used.
    settings : Settings
        The run's settings (base currency).
    portfolio : mapping
        The run's ``portfolio_optimized.json`` (its as-of date and accepted profile's target).
    run_id : str
        The run's id, stored with the state.
    lakehouse_root : Path, optional
        Where to write the accepted state; None only builds it (a dry run).

    Returns
    -------
    HoldingsImport
    """
    profile = settings.run.accepted_profile.value
    target = profiles_of(portfolio).get(profile)
    book = run_book(run_dir, settings, as_of=portfolio.get("as_of"), target=target)
    catalogue = run_catalogue(run_dir, target, book)
    book.asset_classes.update(catalogue.asset_classes)
    result = build_state(
        read_positions(path),
        catalogue,
        book,
        as_of=portfolio.get("as_of"),
        run_id=run_id,
        source_file=path,
    )
    if lakehouse_root is not None:
        save_state(lakehouse_root, result.state)
    return result
