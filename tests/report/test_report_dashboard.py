"""The terminal dashboard, driven headless with Textual's pilot."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pandas as pd
from textual.widgets import DataTable, Static, TabbedContent

from clusterfolio.report import artifacts as A
from clusterfolio.report.dashboard import PortfolioDashboard
from clusterfolio.report.dashboard_model import load_dashboard
from tests.fakes.sample_run import SampleRun


def _texts(app: PortfolioDashboard, prefix: str) -> list[str]:
    return [str(w.content) for w in app.query(Static) if (w.id or "").startswith(prefix)]


def test_tabs_and_profiles(sample_template: SampleRun) -> None:
    model = load_dashboard(sample_template.run_dir)
    assert [p.key for p in model.profiles][:2] == ["min_variance", "hrp"]

    async def drive() -> None:
        app = PortfolioDashboard(model)
        async with app.run_test(size=(160, 48)) as pilot:
            tabs = app.query_one("#tabs", TabbedContent)
            assert tabs.active == "portfolios"
            profiles = app.query_one("#profiles", TabbedContent)
            assert model.accepted == "hrp"
            assert profiles.active == "profile-hrp"  # opens on the accepted profile
            hrp = app.query_one("#profile-hrp-table-0", DataTable)
            portfolio = json.loads(
                (sample_template.run_dir / "portfolio_optimized.json").read_text()
            )
            held = len(portfolio["profiles"]["hrp"]["assets"])
            assert hrp.row_count == len(model.profiles[1].tables[0].rows) == held
            await pilot.press("[")
            await pilot.pause()
            assert profiles.active == "profile-min_variance"
            await pilot.press("[")
            await pilot.pause()
            assert profiles.active == "profile-market"
            await pilot.press("2")
            await pilot.pause()
            assert tabs.active == "clusters"
            assert app.query_one("#clusters-table-0", DataTable).row_count == len(
                model.clusters.tables[0].rows
            )
            await pilot.press("3")
            await pilot.pause()
            assert tabs.active == "orders"
            orders = pd.read_csv(sample_template.run_dir / "orders.csv")
            trades = int((orders["symbol"] != "CASH").sum())  # the cash line is not an order
            assert app.query_one("#orders-table-0", DataTable).row_count == trades > 0
            assert any("Audit PASSED" in t for t in _texts(app, "orders-line"))
            await pilot.press("4")
            await pilot.pause()
            assert tabs.active == "health"
            health = json.loads((sample_template.run_dir / A.HEALTH_JSON).read_text())
            flagged = [x for x in health["listings"] if x["status"] != "OK"]  # OK rows hidden
            assert app.query_one("#health-table-0", DataTable).row_count == len(flagged) > 0
            await pilot.press("5")
            await pilot.pause()
            assert tabs.active == "tournament"
            assert app.query_one("#tournament-table-0", DataTable).row_count == len(
                model.tournament.tables[0].rows
            )
            await pilot.press("q")

    asyncio.run(drive())


def test_absent_artifacts_are_said(sample_copy: Path) -> None:
    for name in (A.AUDIT_JSON, A.DRIFT_JSON, A.ORDERS_CSV, A.TOURNAMENT_SUMMARY):
        (sample_copy / name).unlink()
    model = load_dashboard(sample_copy)
    assert model.tournament.tables == []
    assert model.tournament.lines == [
        "not available in this run: tournament_summary.json (the tournament has not run)"
    ]
    assert model.orders.lines[0] == "not available in this run: audit.json (run make audit)"

    async def drive() -> None:
        app = PortfolioDashboard(model)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("5")
            await pilot.pause()
            assert app.query_one("#tabs", TabbedContent).active == "tournament"
            assert any("not available in this run" in t for t in _texts(app, "tournament-line"))
            assert not app.query("#tournament-table-0")

    asyncio.run(drive())


def test_formatting_health_ranking_and_no_terminal(sample_template: SampleRun, capsys) -> None:  # type: ignore[no-untyped-def]
    from clusterfolio.report.dashboard import run_dashboard

    model = load_dashboard(sample_template.run_dir)
    orders = model.orders.tables[0]
    assert orders.headers[:3] == ["Symbol", "Side", "Target"]  # readable names, not fields
    target = orders.rows[0][2]
    assert target.endswith("%")
    assert any(line.startswith("Drift against") for line in model.orders.lines)
    health = model.health.tables
    assert len(health) == 2 and health[1].title.startswith("All ")
    assert len(health[1].rows) > len(health[0].rows)
    ranks = [row[0] for row in model.tournament.tables[0].rows]
    assert ranks == [str(i) for i in range(1, len(ranks) + 1)]
    sharpe = [float(r[6]) for r in model.tournament.tables[0].rows if r[4] == "ok"]
    assert sharpe == sorted(sharpe, reverse=True)
    run_dashboard(sample_template.run_dir, interactive=False)  # returns at once
    out = capsys.readouterr().out
    assert "== hrp (accepted)" in out and out.index("== hrp") < out.index("== min_variance")


def test_money_cells() -> None:
    from clusterfolio.report.dashboard_model import fmt_money

    assert fmt_money(1234567.891) == "1,234,567.89"
    assert fmt_money(None) == "n/a" and fmt_money(float("nan")) == "n/a"
