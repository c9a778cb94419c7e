"""The money side of one run: its price book, the accepted holdings valued at its prices, the plan.

:func:`run_book` builds the :class:`~clusterfolio.audit.pricing.PriceBook` of a run directory
(prices as of the run's date, asset classes from the target and the accepted state);
:func:`revalue` values an accepted state that keeps quantities at those prices (weights derived,
capital = positions + cash); :func:`plan_for_run` sizes a drift in money with the one cost model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clusterfolio.artifacts.portfolio import profiles_of, section_assets
from clusterfolio.audit.pricing import PriceBook, Quote
from clusterfolio.audit.sizing import MoneyPlan, size_orders
from clusterfolio.manifest import Settings

if TYPE_CHECKING:
    from clusterfolio.audit.drift import DriftLine


def _as_of(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def asset_classes_of(
    target: Mapping[str, Any] | None, state: Mapping[str, Any] | None
) -> dict[str, str]:
    """Symbol to asset class, from the accepted state then the target (the target wins)."""
    out: dict[str, str] = {}
    if state is not None and isinstance(state.get("asset_classes"), Mapping):
        out.update({str(k): str(v) for k, v in state["asset_classes"].items()})
    for row in section_assets(target):
        if row.get("asset_class"):
            out[str(row["symbol"])] = str(row["asset_class"])
    return out


def run_book(
    run_dir: Path,
    settings: Settings,
    *,
    as_of: Any,
    target: Mapping[str, Any] | None = None,
    state: Mapping[str, Any] | None = None,
) -> PriceBook:
    """The price book of a run (prices on or before ``as_of``)."""
    return PriceBook.from_run(
        run_dir,
        base_currency=settings.portfolio.base_currency,
        as_of=_as_of(as_of),
        asset_classes=asset_classes_of(target, state),
    )


def state_quotes(state: Mapping[str, Any] | None, book: PriceBook) -> dict[str, Quote]:
    """Prices given with the holdings, for the symbols the run holds no price of."""
    given = (state or {}).get("prices")
    if not isinstance(given, Mapping):
        return {}
    out: dict[str, Quote] = {}
    for symbol, info in given.items():
        if book.last(symbol) is None and isinstance(info, Mapping) and info.get("price"):
            out[str(symbol)] = book.quote(
                str(symbol),
                currency=info.get("currency"),
                price=float(info["price"]),
                price_date=info.get("date"),
            )
    return out


@dataclass(frozen=True)
class Valuation:
    """Accepted holdings valued at a run's prices.

    Attributes
    ----------
    weights : dict
        Net weight per symbol (value / capital).
    values : dict
        Value per symbol in base currency (None: no price or no conversion).
    capital : float
        Positions (net) plus cash.
    cash : float
        Cash in base currency.
    """

    weights: dict[str, float]
    values: dict[str, float | None]
    capital: float
    cash: float


def revalue(state: Mapping[str, Any], book: PriceBook) -> Valuation:
    """Value a state with quantities at the book's prices (stored values where none exists)."""
    quotes = state_quotes(state, book)
    stored = state.get("values") if isinstance(state.get("values"), Mapping) else {}
    values: dict[str, float | None] = {}
    for symbol, qty in sorted(state["quantities"].items()):
        quote = quotes.get(symbol) or book.quote(symbol)
        price = quote.base_price
        if price is not None:
            values[symbol] = float(qty) * price
        else:
            old = stored.get(symbol) if isinstance(stored, Mapping) else None
            values[symbol] = float(old) if old is not None else None
    cash = float(state.get("cash", 0.0) or 0.0)
    capital = cash + sum(v for v in values.values() if v is not None)
    weights = {s: (v / capital if capital and v is not None else 0.0) for s, v in values.items()}
    return Valuation(weights=weights, values=values, capital=capital, cash=cash)


def held_state(state: dict[str, Any] | None, book: PriceBook) -> dict[str, Any] | None:
    """The accepted state as the drift reads it: imported holdings reweighted at the run's prices."""
    if state is None or state.get("source") != "holdings":
        return state
    return {**state, "weights": revalue(state, book).weights}


def plan_for_run(
    lines: tuple[DriftLine, ...],
    book: PriceBook,
    settings: Settings,
    state: Mapping[str, Any] | None,
) -> MoneyPlan:
    """Size a drift in money: the accepted holdings' quantities and capital when it has them."""
    from clusterfolio.backtest.costs import CostModel

    held: Mapping[str, float] | None = None
    capital: float | None = None
    if state is not None and isinstance(state.get("quantities"), Mapping):
        held = {str(k): float(v) for k, v in state["quantities"].items()}
        if state.get("source") == "holdings":
            capital = revalue(state, book).capital
    return size_orders(
        lines,
        book,
        settings.portfolio,
        CostModel.from_settings(settings.backtest),
        held_quantities=held,
        capital=capital,
        quotes=state_quotes(state, book),
    )


def target_holdings(
    run_dir: Path, settings: Settings, portfolio: Mapping[str, Any], profile: str
) -> dict[str, Any]:
    """The quantities a profile's target buys at the run's prices (for ``accept-state``).

    Returns
    -------
    dict
        ``quantities`` (rounded to lots; a symbol without a price is left out and listed in
        ``unpriced``), ``prices`` (last price, date, currency), ``capital``, ``base_currency``
        and ``asset_classes``.
    """
    from clusterfolio.audit.drift import drift

    target = profiles_of(portfolio)[profile]
    book = run_book(run_dir, settings, as_of=portfolio.get("as_of"), target=target)
    plan = plan_for_run(drift(target, None, partial_rebalance=False).lines, book, settings, None)
    quantities: dict[str, float] = {}
    prices: dict[str, dict[str, Any]] = {}
    for symbol, line in sorted(plan.lines.items()):
        if line.quantity is None:
            continue
        if line.quantity:
            quantities[symbol] = line.quantity
        prices[symbol] = {
            "price": line.quote.price,
            "date": line.quote.date,
            "currency": line.quote.currency,
        }
    return {
        "quantities": quantities,
        "prices": prices,
        "capital": plan.capital,
        "base_currency": plan.base_currency,
        "asset_classes": dict(book.asset_classes),
        "unpriced": sorted(s for s, x in plan.lines.items() if x.quantity is None),
    }
