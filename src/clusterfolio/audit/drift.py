"""Drift monitor: the target portfolio of a profile against the accepted (held) state.

For every symbol of the target or of the accepted state, on net weights (SHORT positions
negative):

* ``delta = target - actual``; the side is ``BUY`` when ``delta > 0``, ``SELL`` when
  ``delta < 0`` and ``HOLD`` when ``|delta| <=`` :data:`HOLD_TOL` (numerical noise, no order);
* ``churn = sum |delta| / 2`` (the one-way turnover of the full rebalance);
* with ``feat_partial_rebalance``, a change with ``0 < |delta| < dust`` (1% by default) is
  skipped as dust: its line keeps its side and says ``skipped`` with the reason, its action is
  ``HOLD``, and it is left out of the executed churn. Without the flag nothing is skipped. The
  rule applies the same way when there is no accepted state (opening positions below the dust
  threshold are skipped too);
* with no accepted state every position is opened from zero (``actual = 0``; ``BUY``, or ``SELL``
  for a SHORT candidate), and the report says so.

With a :class:`~clusterfolio.audit.sizing.MoneyPlan` attached (``money``), every line is also
sized in money: target value, last price and its date, currency and conversion, quantity rounded
to lots, notional and estimated cost, with the totals (buys, sells, costs, residual cash).

Outputs (:func:`write_drift`): ``drift.json``, ``drift.md`` (totals at the bottom) and
``orders.csv`` (:data:`ORDER_COLUMNS`: one row per line that is not ``HOLD`` by side, skipped
dust included with ``skipped=true``; money columns empty without a plan; a last ``CASH`` row with
the residual cash after rounding when there is a plan), each written atomically.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clusterfolio.artifacts.audit import DRIFT_JSON, DRIFT_MD, ORDERS_CSV
from clusterfolio.artifacts.encoding import record
from clusterfolio.enums import Side
from clusterfolio.errors import DataError
from clusterfolio.io import atomic_write_json, atomic_write_text

if TYPE_CHECKING:
    from clusterfolio.audit.sizing import MoneyPlan

DEFAULT_DUST = 0.01
"""Partial rebalance: changes smaller than this (1% of the portfolio) are skipped."""

HOLD_TOL = 1e-9
"""A change this small is numerical noise: no order (``HOLD``)."""

WEIGHT_COLUMNS = ("symbol", "side", "delta_weight", "target", "actual", "skipped", "reason")
MONEY_COLUMNS = (
    "target_value",
    "last_price",
    "price_date",
    "currency",
    "fx_rate",
    "quantity",
    "notional",
    "est_cost",
    "money_note",
)
ORDER_COLUMNS = WEIGHT_COLUMNS + MONEY_COLUMNS
CASH_ROW = "CASH"
"""Symbol of the last ``orders.csv`` row: the residual cash after rounding (base currency)."""


@dataclass(frozen=True)
class DriftLine:
    """One symbol of the drift.

    Attributes
    ----------
    symbol : str
        The listing.
    target, actual : float
        Net weights (target of the profile, accepted state).
    delta : float
        ``target - actual``.
    side : Side
        The sign of ``delta`` (``HOLD`` for noise).
    skipped : bool
        Dust skipped by the partial rebalance.
    reason : str
        Why (``open``, ``increase``, ``close``, ``dust ...``).
    """

    symbol: str
    target: float
    actual: float
    delta: float
    side: Side
    skipped: bool
    reason: str

    @property
    def action(self) -> Side:
        """What to do: the side, or ``HOLD`` when skipped."""
        return Side.HOLD if self.skipped else self.side


@dataclass(frozen=True)
class DriftReport:
    """Target versus accepted state, line by line, with churn.

    Attributes
    ----------
    lines : tuple of DriftLine
        One per symbol of the target or the state, sorted by symbol.
    has_state : bool
        False when nothing was accepted yet (every position opened from zero).
    partial_rebalance : bool
        Whether dust was skipped.
    dust : float
        The dust threshold.
    meta : dict
        Context: target profile and date, accepted state's profile, date and run.
    """

    lines: tuple[DriftLine, ...]
    has_state: bool
    partial_rebalance: bool
    dust: float
    meta: dict[str, Any] = field(default_factory=dict)
    money: MoneyPlan | None = None

    @property
    def churn(self) -> float:
        """``sum |delta| / 2`` over every line (the full rebalance)."""
        return float(sum(abs(x.delta) for x in self.lines) / 2.0)

    @property
    def executed_churn(self) -> float:
        """The churn of the orders actually sent (skipped dust left out)."""
        return float(sum(abs(x.delta) for x in self.lines if not x.skipped) / 2.0)

    @property
    def skipped(self) -> list[DriftLine]:
        """The dust lines skipped by the partial rebalance."""
        return [x for x in self.lines if x.skipped]

    @property
    def orders(self) -> list[DriftLine]:
        """Lines with a side other than ``HOLD`` (skipped dust included, flagged), biggest first."""
        chosen = [x for x in self.lines if x.side is not Side.HOLD]
        return sorted(chosen, key=lambda x: (x.skipped, -abs(x.delta), x.symbol))

    def summary(self) -> dict[str, Any]:
        """Counts and churn."""
        actions = [x.action for x in self.lines]
        return {
            "n_lines": len(self.lines),
            "n_buy": actions.count(Side.BUY),
            "n_sell": actions.count(Side.SELL),
            "n_hold": actions.count(Side.HOLD),
            "n_skipped": len(self.skipped),
            "churn": self.churn,
            "executed_churn": self.executed_churn,
            "skipped_churn": self.churn - self.executed_churn,
            "unexecuted_net": float(sum(x.delta for x in self.skipped)),
            "target_net": float(sum(x.target for x in self.lines)),
            "actual_net": float(sum(x.actual for x in self.lines)),
        }

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready form (``drift.json``): the fields, each line with its action, the summary."""
        return record(
            self,
            baseline="accepted state" if self.has_state else "none: every position from zero",
            summary=self.summary(),
            lines=[record(x, action=x.action) for x in self.lines],
            money=self.money.to_json_dict() if self.money is not None else None,
        )

    def _money_cells(self, symbol: str) -> list[str]:
        money = self.money.lines.get(symbol) if self.money is not None else None
        if money is None:
            return [""] * len(MONEY_COLUMNS)
        q = money.quote
        return [
            _num(money.target_value),
            _num(q.price),
            q.date or "",
            q.currency,
            _num(q.conversion.rate),
            _num(money.quantity),
            _num(money.notional),
            _num(money.est_cost),
            money.note,
        ]

    def orders_csv(self) -> str:
        """The orders as CSV text (header :data:`ORDER_COLUMNS`, deterministic)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(ORDER_COLUMNS)
        for x in self.orders:
            writer.writerow(
                [
                    x.symbol,
                    x.side.value,
                    repr(x.delta),
                    repr(x.target),
                    repr(x.actual),
                    "true" if x.skipped else "false",
                    x.reason,
                    *self._money_cells(x.symbol),
                ]
            )
        if self.money is not None:
            totals = self.money.totals()
            cash = [""] * len(ORDER_COLUMNS)
            cash[0], cash[-1] = CASH_ROW, "residual cash after rounding and costs"
            cash[ORDER_COLUMNS.index("currency")] = totals["base_currency"]
            cash[ORDER_COLUMNS.index("notional")] = _num(totals["residual_cash"])
            writer.writerow(cash)
        return buffer.getvalue()

    def to_markdown(self) -> str:
        """The drift for people (``drift.md``)."""
        s = self.summary()
        meta = self.meta
        lines = [f"# Drift: {meta.get('profile', '?')} target vs accepted state", ""]
        if self.has_state:
            lines.append(
                f"- accepted state: profile {meta.get('state_profile', '?')}, as of "
                f"{meta.get('state_as_of', '?')} (run {meta.get('state_run_id', '?')})"
            )
        else:
            lines.append(
                "- **no accepted state**: nothing is held yet, every position is opened from "
                "zero (BUY from 0; SELL for a SHORT candidate)"
            )
        if meta.get("implementable") is False:
            lines.append("- **the run's audit failed: do not implement these orders**")
        lines += [
            f"- target: as of {meta.get('as_of', '?')}",
            f"- churn (sum |Δ| / 2): {s['churn']:.4%}; executed: {s['executed_churn']:.4%}",
            f"- orders: {s['n_buy']} BUY, {s['n_sell']} SELL, {s['n_hold']} HOLD",
        ]
        if self.partial_rebalance:
            lines.append(
                f"- partial rebalance on: {s['n_skipped']} change(s) below {self.dust:.2%} skipped "
                f"as dust ({s['skipped_churn']:.4%} churn, {s['unexecuted_net']:+.4%} net left "
                "unexecuted)"
            )
        else:
            lines.append("- partial rebalance off: every change is traded")
        if self.money is None:
            lines += [
                "",
                "| Symbol | Target | Actual | Δ | Action | Note |",
                "|---|---:|---:|---:|---|---|",
            ]
            for x in sorted(self.lines, key=lambda x: (-abs(x.delta), x.symbol)):
                lines.append(
                    f"| {x.symbol} | {x.target:.4%} | {x.actual:.4%} | {x.delta:+.4%} | "
                    f"{x.action.value} | {_cell(x.reason)} |"
                )
            return "\n".join(lines) + "\n"
        from clusterfolio.audit.sizing import money_markdown

        ordered = sorted(self.lines, key=lambda x: (-abs(x.delta), x.symbol))
        return "\n".join(lines + money_markdown(ordered, self.money)) + "\n"


def _num(value: float | None) -> str:
    """A number for the CSV (``repr``; empty for None)."""
    return "" if value is None else repr(float(value))


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"{what}: weight {value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise DataError(f"{what}: weight {number!r} is not finite")
    return number


def _target_weights(target: Mapping[str, Any]) -> dict[str, float]:
    assets = target.get("assets")
    if not isinstance(assets, list):
        raise DataError("target profile has no 'assets' list")
    out: dict[str, float] = {}
    for row in assets:
        symbol = str(row["symbol"])
        out[symbol] = out.get(symbol, 0.0) + _finite(row.get("net"), f"target {symbol}")
    return out


def _actual_weights(actual: Mapping[str, Any]) -> dict[str, float]:
    nested = actual.get("weights")
    raw: Mapping[str, Any] = nested if isinstance(nested, Mapping) else actual
    return {str(k): _finite(v, f"accepted state {k}") for k, v in raw.items()}


def _reason(target: float, actual: float, side: Side, has_state: bool) -> str:
    if side is Side.HOLD:
        return "unchanged"
    if not has_state:
        return "open from zero (no accepted state)"
    if abs(actual) <= HOLD_TOL:
        return "open"
    if abs(target) <= HOLD_TOL:
        return "close"
    if target * actual < 0:
        return "flip"
    return "increase" if abs(target) > abs(actual) else "decrease"


def drift(
    target: Mapping[str, Any],
    actual: Mapping[str, Any] | None,
    *,
    partial_rebalance: bool,
    dust: float = DEFAULT_DUST,
) -> DriftReport:
    """Compare a profile's target with the accepted state.

    Parameters
    ----------
    target : mapping
        A profile section of ``portfolio_optimized.json`` (its ``assets`` with ``symbol`` and
        ``net``).
    actual : mapping or None
        The accepted state (``load_state``: a document with ``weights``), a plain
        ``{symbol: net weight}`` mapping, or None when nothing was accepted yet.
    partial_rebalance : bool
        ``features.feat_partial_rebalance``: skip changes below ``dust``.
    dust : float, default 0.01
        The dust threshold (a change exactly at it is traded).

    Returns
    -------
    DriftReport

    Raises
    ------
    DataError
        A weight that is not a finite number.
    """
    if not (math.isfinite(dust) and dust >= 0):
        raise DataError(f"dust threshold {dust!r} must be a finite number >= 0")
    goal = _target_weights(target)
    held = _actual_weights(actual) if actual is not None else {}
    has_state = actual is not None
    lines = []
    for symbol in sorted(set(goal) | set(held)):
        t, a = goal.get(symbol, 0.0), held.get(symbol, 0.0)
        delta = t - a
        side = Side.HOLD if abs(delta) <= HOLD_TOL else (Side.BUY if delta > 0 else Side.SELL)
        skipped = partial_rebalance and side is not Side.HOLD and abs(delta) < dust
        reason = _reason(t, a, side, has_state)
        if skipped:
            reason = f"dust: |Δ| {abs(delta):.4%} < {dust:.2%} (feat_partial_rebalance); {reason}"
        lines.append(DriftLine(symbol, t, a, delta, side, skipped, reason))
    meta: dict[str, Any] = {}
    if actual is not None and isinstance(actual.get("weights"), Mapping):
        meta = {
            "state_as_of": actual.get("as_of"),
            "state_run_id": actual.get("run_id"),
            "state_profile": actual.get("profile"),
        }
    return DriftReport(
        lines=tuple(lines),
        has_state=has_state,
        partial_rebalance=partial_rebalance,
        dust=float(dust),
        meta=meta,
    )


def write_drift(run_dir: Path, report: DriftReport, *, orders: bool = True) -> list[Path]:
    """Write ``drift.json``, ``drift.md`` and (with ``orders``) ``orders.csv``, atomically.

    With ``orders=False`` (a run whose audit failed) no order file is written and a stale one is
    removed, so no order list of an unimplementable portfolio is left behind.

    Returns
    -------
    list of Path
        The files written.
    """
    written = [run_dir / DRIFT_JSON, run_dir / DRIFT_MD]
    atomic_write_json(written[0], report.to_json_dict())
    atomic_write_text(written[1], report.to_markdown())
    if orders:
        written.append(run_dir / ORDERS_CSV)
        atomic_write_text(written[2], report.orders_csv())
    else:
        (run_dir / ORDERS_CSV).unlink(missing_ok=True)
    return written
