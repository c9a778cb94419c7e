"""Orders in money: price book (point in time, currency conversion), lots, costs, totals."""

from __future__ import annotations

import csv
import io
from datetime import date

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clusterfolio.audit.drift import CASH_ROW, ORDER_COLUMNS, drift
from clusterfolio.audit.pricing import PriceBook, listing_currency
from clusterfolio.audit.sizing import round_to_lot, size_orders
from clusterfolio.backtest.costs import CostModel
from clusterfolio.manifest import PortfolioSettings

COST = CostModel(slippage=0.0005, commission=0.0001)


def prices() -> pd.DataFrame:
    idx = pd.to_datetime(["2026-11-30", "2026-12-01", "2026-12-02"])
    return pd.DataFrame(
        {
            "NASDAQ:AAA": [10.0, 33.0, 999.0],  # 999 is after the as-of date
            "LSE:GBF": [2.0, 4.0, 4.0],
            "FX_IDC:GBPUSD": [1.2, 1.25, 1.3],
            "FX_IDC:USDJPY": [150.0, 160.0, 170.0],
            "TSE:JPX": [1000.0, 1600.0, 1600.0],
            "BINANCE:ETHUSDT": [2000.0, 3000.0, 3000.0],
            "BINANCE:SOLETH": [0.05, 0.04, 0.04],
            "XETR:EUF": [5.0, 5.0, 5.0],
        },
        index=idx,
    )


def book() -> PriceBook:
    return PriceBook(
        prices(),
        base_currency="USD",
        as_of=date(2026, 12, 1),
        asset_classes={"BINANCE:ETHUSDT": "crypto", "BINANCE:SOLETH": "crypto"},
    )


def target(weights: dict[str, float]) -> dict[str, object]:
    return {"assets": [{"symbol": s, "net": w, "gross": abs(w)} for s, w in weights.items()]}


def test_round_to_lot_golden() -> None:
    assert round_to_lot(1515.15, 1.0) == 1515.0
    assert round_to_lot(-1499.0, 1000.0) == -1000.0
    assert round_to_lot(0.00016, 0.0001) == pytest.approx(0.0002)
    assert round_to_lot(0.4, 1.0) == 0.0


@given(st.floats(-1e7, 1e7), st.sampled_from([0.0001, 1.0, 100.0, 1000.0]))
def test_round_to_lot_is_a_multiple_within_half_a_lot(quantity: float, lot: float) -> None:
    out = round_to_lot(quantity, lot)
    assert abs(out - quantity) <= lot / 2 + 1e-6 * max(1.0, abs(quantity))
    units = out / lot
    assert abs(units - round(units)) < 1e-6 + 1e-12 * abs(units)


def test_listing_currency() -> None:
    assert listing_currency("FX_IDC:EURGBP", "forex") == "GBP"
    assert listing_currency("LSE:HIGH") == "GBP"
    assert listing_currency("NASDAQ:AAPL", "equity") == "USD"
    assert listing_currency("BINANCE:SOLETH", "crypto") == "ETH"


def test_price_book_is_point_in_time_and_converts() -> None:
    b = book()
    assert b.last("NASDAQ:AAA") == (33.0, "2026-12-01")
    gbp = b.quote("LSE:GBF")
    assert gbp.currency == "GBP" and gbp.base_price == pytest.approx(4.0 * 1.25)
    jpy = b.quote("TSE:JPX")
    assert jpy.base_price == pytest.approx(1600.0 / 160.0)
    assert "1 / FX_IDC:USDJPY" in jpy.conversion.source
    eth = b.quote("BINANCE:SOLETH")
    assert eth.base_price == pytest.approx(0.04 * 3000.0)
    assert "at par with USD" in eth.conversion.source
    eur = b.quote("XETR:EUF")
    assert eur.base_price is None and "EUR->USD missing" in eur.problem
    assert b.quote("NYSE:NONE").problem == "no price for NYSE:NONE in the run"


def test_via_usd_when_the_base_is_not_usd() -> None:
    b = PriceBook(prices(), base_currency="GBP", as_of=date(2026, 12, 1))
    rate = b.conversion("JPY").rate
    assert rate == pytest.approx((1 / 160.0) * (1 / 1.25))


def test_orders_in_money_golden() -> None:
    settings = PortfolioSettings(capital=100_000.0)
    report = drift(
        target({"NASDAQ:AAA": 0.5, "LSE:GBF": 0.3, "XETR:EUF": 0.1, "TSE:JPX": 0.0009}),
        None,
        partial_rebalance=False,
    )
    plan = size_orders(report.lines, book(), settings, COST)
    aaa = plan.lines["NASDAQ:AAA"]
    assert aaa.target_value == 50_000.0
    assert aaa.quantity == 1515.0  # 50,000 / 33 = 1515.15 -> 1515 shares
    assert aaa.notional == pytest.approx(1515 * 33.0)
    assert aaa.est_cost == pytest.approx(0.0006 * 1515 * 33.0)  # the cost rebuilt by hand
    gbf = plan.lines["LSE:GBF"]
    assert gbf.quantity == 6000.0 and gbf.notional == pytest.approx(6000 * 5.0)
    eur = plan.lines["XETR:EUF"]
    assert eur.quantity is None and "conversion EUR->USD missing" in eur.note
    tiny = plan.lines["TSE:JPX"]  # 90 USD worth: 9 shares of 10 USD, below the 100 USD minimum
    assert tiny.quantity == 0.0 and "minimum trade value" in tiny.note
    totals = plan.totals()
    invested = 1515 * 33.0 + 6000 * 5.0
    assert totals["invested_after"] == pytest.approx(invested)
    assert totals["residual_cash"] == pytest.approx(100_000 - invested - totals["est_cost"])
    assert totals["n_unpriced"] == 1 and totals["n_orders"] == 2


def test_held_quantities_and_shorts() -> None:
    settings = PortfolioSettings(capital=100_000.0)
    report = drift(
        target({"NASDAQ:AAA": -0.2, "LSE:GBF": 0.3}),
        {"weights": {"NASDAQ:AAA": 0.1, "LSE:GBF": 0.3}},
        partial_rebalance=False,
    )
    plan = size_orders(
        report.lines,
        book(),
        settings,
        COST,
        held_quantities={"NASDAQ:AAA": 300.0, "LSE:GBF": 6000.0},
    )
    aaa = plan.lines["NASDAQ:AAA"]
    assert aaa.quantity == -606.0 - 300.0  # to -606 shares (20,000 / 33 = 606.06) from +300
    assert plan.lines["LSE:GBF"].quantity == 0.0  # already held exactly: HOLD
    assert not plan.notes  # real quantities: nothing converted from weights


def test_fractional_units() -> None:
    settings = PortfolioSettings(capital=1000.0, fractional_units=True)
    report = drift(target({"NASDAQ:AAA": 0.5}), None, partial_rebalance=False)
    plan = size_orders(report.lines, book(), settings, COST)
    assert plan.lines["NASDAQ:AAA"].quantity == pytest.approx(15.151515, abs=1e-6)


def test_orders_csv_and_markdown_carry_money() -> None:
    report = drift(target({"NASDAQ:AAA": 0.5, "XETR:EUF": 0.2}), None, partial_rebalance=False)
    plan = size_orders(report.lines, book(), PortfolioSettings(capital=10_000.0), COST)
    from dataclasses import replace

    report = replace(report, money=plan)
    rows = list(csv.DictReader(io.StringIO(report.orders_csv())))
    assert tuple(rows[0]) == ORDER_COLUMNS
    aaa = next(r for r in rows if r["symbol"] == "NASDAQ:AAA")
    assert (aaa["quantity"], aaa["price_date"], aaa["currency"]) == ("152.0", "2026-12-01", "USD")
    eur = next(r for r in rows if r["symbol"] == "XETR:EUF")
    assert eur["quantity"] == "" and "missing" in eur["money_note"]
    cash = rows[-1]
    assert cash["symbol"] == CASH_ROW
    assert float(cash["notional"]) == pytest.approx(plan.totals()["residual_cash"])
    md = report.to_markdown()
    assert "## Totals" in md and "residual cash after rounding and costs (USD)" in md
    assert md.index("## Totals") > md.index("| NASDAQ:AAA |")
    assert report.to_json_dict()["money"]["totals"]["n_orders"] == 1
