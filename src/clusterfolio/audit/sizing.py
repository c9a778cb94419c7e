r"""Orders in money: the drift's weight changes turned into quantities, notionals and costs.

For each drift line, with capital :math:`V` (base currency), the last price :math:`p` converted
into the base currency, the target net weight :math:`w` and the quantity held :math:`q_0`:

* target value :math:`w V`; target quantity :math:`w V / p` rounded to the nearest multiple of
  the asset class's lot (``portfolio.lots``; to :data:`FRACTION_STEP` with
  ``portfolio.fractional_units``);
* order quantity :math:`q = \mathrm{round}(w V / p) - q_0` and notional :math:`q p` (signed, base
  currency); an order whose notional is below the class's ``min_trade_value`` is not sent, nor is
  one the drift skips as dust;
* estimated cost from the one cost model (:class:`~clusterfolio.backtest.costs.CostModel`):
  :math:`(s + c) |q p|`;
* the residual cash after rounding is :math:`V - \sum_i (q_{0,i} + q_i) p_i - \text{costs}`,
  and the rounding residual :math:`\sum_i w_i V - \sum_i (q_{0,i} + q_i) p_i`.

The quantity held is the accepted state's when it keeps quantities; a weight-only state (older
files) is turned into quantities at today's prices (:math:`w_0 V / p`), and the plan says so.
A line without a price or without a currency conversion gets no quantity and says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clusterfolio.artifacts.encoding import record
from clusterfolio.audit.pricing import PriceBook, Quote
from clusterfolio.enums import AssetClass, Side
from clusterfolio.manifest import LotRule, PortfolioSettings

if TYPE_CHECKING:
    from clusterfolio.audit.drift import DriftLine
    from clusterfolio.backtest.costs import CostModel

FRACTION_STEP = 1e-6
"""Smallest quantity step when fractional units are allowed."""


def round_to_lot(quantity: float, lot: float) -> float:
    """``quantity`` rounded to the nearest multiple of ``lot`` (half away from zero).

    Examples
    --------
    >>> round_to_lot(12.5, 1.0), round_to_lot(-1250.0, 1000.0), round_to_lot(0.00012, 0.0001)
    (13.0, -1000.0, 0.0001)
    """
    units = abs(quantity) / lot
    whole = math.floor(units + 0.5 + 1e-9)
    return math.copysign(round(whole * lot, 10), quantity) if whole else 0.0


@dataclass(frozen=True, kw_only=True)
class MoneyLine:
    """One symbol in money (the symbol is its quote's: ``quote.symbol``).

    Attributes
    ----------
    target_value : float
        Target net weight times capital (base currency).
    quote : Quote
        Last price, its date and currency conversion.
    held_quantity : float or None
        Units held before the trade (None: unknown because the price is missing).
    quantity : float or None
        Signed units to trade (None: no price or no conversion).
    notional : float or None
        Signed value traded in base currency.
    est_cost : float or None
        Estimated cost from the one cost model.
    note : str
        Why a quantity is zero or missing (``""`` otherwise).
    """

    target_value: float
    quote: Quote
    held_quantity: float | None
    quantity: float | None = None
    notional: float | None = None
    est_cost: float | None = None
    note: str = ""

    @property
    def post_value(self) -> float | None:
        """Value held after the trade (base currency)."""
        price = self.quote.base_price
        if price is None or self.held_quantity is None:
            return None
        return (self.held_quantity + (self.quantity or 0.0)) * price

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready form: the fields, the quote flattened (price, its date, currency, rate)."""
        quote = self.quote
        return record(
            self,
            drop=("quote",),
            symbol=quote.symbol,
            last_price=quote.price,
            price_date=quote.date,
            currency=quote.currency,
            fx_rate=quote.conversion.rate,
            fx_source=quote.conversion.source,
        )


@dataclass(frozen=True)
class MoneyPlan:
    """The drift in money: one :class:`MoneyLine` per drift line and the totals.

    Attributes
    ----------
    capital : float
        Portfolio value the weights apply to (base currency).
    capital_source : str
        ``manifest`` or ``accepted holdings``.
    base_currency : str
        Currency of every value.
    lines : dict
        Symbol to :class:`MoneyLine`.
    notes : list of str
        Plan-wide remarks (a weight-only state converted at today's prices ...).
    """

    capital: float
    capital_source: str
    base_currency: str
    lines: dict[str, MoneyLine]
    notes: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, Any]:
        """Buy and sell notionals, costs, residual cash and missing prices."""
        notionals = [x.notional for x in self.lines.values() if x.notional]
        cost = sum(x.est_cost or 0.0 for x in self.lines.values())
        post = sum(x.post_value or 0.0 for x in self.lines.values())
        target = sum(x.target_value for x in self.lines.values() if x.post_value is not None)
        return {
            "capital": self.capital,
            "capital_source": self.capital_source,
            "base_currency": self.base_currency,
            "n_orders": len(notionals),
            "buy_notional": float(sum(n for n in notionals if n > 0)),
            "sell_notional": float(-sum(n for n in notionals if n < 0)),
            "est_cost": float(cost),
            "invested_after": float(post),
            "rounding_residual": float(target - post),
            "residual_cash": float(self.capital - post - cost),
            "n_unpriced": sum(1 for x in self.lines.values() if x.quantity is None),
        }

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``money`` section of ``drift.json``)."""
        return {
            "totals": self.totals(),
            "notes": list(self.notes),
            "lines": [self.lines[k].to_json_dict() for k in sorted(self.lines)],
        }


def _lot(settings: PortfolioSettings, asset_class: str | None) -> LotRule:
    try:
        key = AssetClass(asset_class or "equity")
    except ValueError:
        key = AssetClass.EQUITY
    return settings.lots.get(key, LotRule())


def _size_line(
    line: DriftLine,
    quote: Quote,
    *,
    capital: float,
    held: float | None,
    rule: LotRule,
    settings: PortfolioSettings,
    cost: CostModel,
) -> MoneyLine:
    target_value = line.target * capital
    price = quote.base_price
    if price is None:
        return MoneyLine(
            target_value=target_value, quote=quote, held_quantity=held, note=quote.problem
        )
    held_qty = held if held is not None else line.actual * capital / price
    raw = target_value / price
    step = FRACTION_STEP if settings.fractional_units else rule.lot_size
    wanted = round_to_lot(raw, step)
    order = 0.0 if line.action is Side.HOLD else round(wanted - held_qty, 10)
    note = ""
    if line.skipped:
        note = "dust: not traded"
    elif order == 0.0 and abs(line.delta) > 0 and line.action is not Side.HOLD:
        note = f"rounds to zero lots (lot {step:g})"
    elif 0 < abs(order * price) < rule.min_trade_value:
        note = f"below the minimum trade value {rule.min_trade_value:g} {settings.base_currency}"
        order = 0.0
    notional = order * price
    return MoneyLine(
        target_value=target_value,
        quote=quote,
        held_quantity=held_qty,
        quantity=order,
        notional=notional,
        est_cost=cost.cost([notional]),
        note=note,
    )


def size_orders(
    lines: tuple[DriftLine, ...],
    book: PriceBook,
    settings: PortfolioSettings,
    cost: CostModel,
    *,
    held_quantities: Mapping[str, float] | None = None,
    capital: float | None = None,
    quotes: Mapping[str, Quote] | None = None,
) -> MoneyPlan:
    """Size every drift line in money.

    Parameters
    ----------
    lines : tuple of DriftLine
        The drift (target and actual net weights, skipped dust).
    book : PriceBook
        The run's last prices and currency conversions.
    settings : PortfolioSettings
        Capital, base currency, lots, minimum trade values, fractional units.
    cost : CostModel
        The one cost model.
    held_quantities : mapping, optional
        Units held per symbol (an accepted state with quantities); without it the actual
        weights are converted at today's prices.
    capital : float, optional
        Portfolio value; ``settings.capital`` when omitted.
    quotes : mapping, optional
        Prices given with the holdings (they win over the run's).

    Returns
    -------
    MoneyPlan
    """
    value = float(capital if capital is not None else settings.capital)
    notes: list[str] = []
    if held_quantities is None and any(abs(x.actual) > 0 for x in lines):
        notes.append(
            "the accepted state holds weights only: quantities held are its weights at today's "
            "prices"
        )
    out: dict[str, MoneyLine] = {}
    for line in lines:
        quote = (quotes or {}).get(line.symbol) or book.quote(line.symbol)
        held = None
        if held_quantities is not None:
            held = float(held_quantities.get(line.symbol, 0.0))
        rule = _lot(settings, book.asset_classes.get(line.symbol))
        out[line.symbol] = _size_line(
            line, quote, capital=value, held=held, rule=rule, settings=settings, cost=cost
        )
    source = "manifest" if capital is None else "accepted holdings"
    return MoneyPlan(value, source, settings.base_currency, out, notes)


def _money(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _qty(value: float | None) -> str:
    return (
        "n/a"
        if value is None
        else f"{value:,.6g}"
        if abs(value) < 1
        else f"{value:,.4f}".rstrip("0").rstrip(".")
    )


def money_markdown(lines: list[DriftLine], plan: MoneyPlan) -> list[str]:
    """The drift table in money and its totals, as Markdown lines (``drift.md``)."""
    ccy = plan.base_currency
    out = [
        f"- capital: {plan.capital:,.2f} {ccy} ({plan.capital_source})",
        *(f"- note: {note}" for note in plan.notes),
        "",
        f"| Symbol | Target | Actual | Δ | Action | Target value ({ccy}) | Last price | Price date "
        f"| Qty | Notional ({ccy}) | Est. cost ({ccy}) | Note |",
        "|---|---:|---:|---:|---|---:|---:|---|---:|---:|---:|---|",
    ]
    for x in lines:
        m = plan.lines[x.symbol]
        price = "n/a" if m.quote.price is None else f"{m.quote.price:,.6g} {m.quote.currency}"
        note = "; ".join(t for t in (x.reason, m.note) if t).replace("|", "\\|")
        out.append(
            f"| {x.symbol} | {x.target:.4%} | {x.actual:.4%} | {x.delta:+.4%} | {x.action.value} "
            f"| {_money(m.target_value)} | {price} | {m.quote.date or 'n/a'} | {_qty(m.quantity)} "
            f"| {_money(m.notional)} | {_money(m.est_cost)} | {note} |"
        )
    t = plan.totals()
    out += [
        "",
        "## Totals",
        "",
        "| | |",
        "|---|---:|",
        f"| orders sent | {t['n_orders']} |",
        f"| buys ({ccy}) | {_money(t['buy_notional'])} |",
        f"| sells ({ccy}) | {_money(t['sell_notional'])} |",
        f"| estimated cost ({ccy}) | {_money(t['est_cost'])} |",
        f"| invested after the trades, net ({ccy}) | {_money(t['invested_after'])} |",
        f"| rounding residual ({ccy}) | {_money(t['rounding_residual'])} |",
        f"| residual cash after rounding and costs ({ccy}) | {_money(t['residual_cash'])} |",
        f"| lines without a price or conversion | {t['n_unpriced']} |",
    ]
    return out
