"""Holdings import: a real-looking broker CSV becomes the accepted state; drift starts from it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import audit_factory as af
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from clusterfolio.audit.holdings import read_positions
from clusterfolio.audit.state import load_state
from clusterfolio.cli_audit import register as register_audit
from clusterfolio.cli_holdings import register as register_holdings
from clusterfolio.errors import DataError
from clusterfolio.io import atomic_write_json, atomic_write_parquet

BROKER_CSV = """Symbol,Description,Quantity,Price,Currency,Market Value
C1A0,Alpha Corp,"1,000",49.50,USD,"49,500.00"
NASDAQ:C2A0,Beta Inc,500,20.00,USD,"10,000.00"
VOD.L,Vodafone Group PLC,"2,000",7050,GBX,"141,000.00"
C3AX,Typo Holdings,10,5,USD,50
CASH GBP,Sterling cash,"1,000.00",,GBP,
CASH,US dollar cash,"5,000.00",,USD,
"""


def write_priced_run(root: Path) -> Path:
    run_dir = af.write_run(root)
    idx = pd.to_datetime(["2026-11-19", "2026-11-20", "2026-11-21"])
    prices = pd.DataFrame(
        {s: [40.0, 50.0, 999.0] for s in af.SYMBOLS}
        | {"FX_IDC:GBPUSD": [1.2, 1.25, 9.9], af.BASELINE: [500.0, 500.0, 500.0]},
        index=idx,
    )
    prices["NASDAQ:C2A0"] = [18.0, 20.0, 999.0]
    atomic_write_parquet(run_dir / "prices_deep.parquet", prices)
    pool = pd.DataFrame(
        {
            "symbol": [*af.SYMBOLS, "LSE:VOD"],
            "identity": [s.split(":")[1] for s in af.SYMBOLS] + ["VOD"],
            "asset_class": ["equity"] * (len(af.SYMBOLS) + 1),
        }
    )
    atomic_write_parquet(run_dir / "raw_pool.parquet", pool)
    return run_dir


@pytest.fixture
def cli(repo_root: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def main() -> None:
        """Test application."""

    register_audit(app)
    register_holdings(app)
    runner = CliRunner()
    base = ["--root", str(tmp_path), "--manifest", str(repo_root / "configs/manifest.json")]
    return lambda *args: runner.invoke(app, [*args, *base])


def test_broker_csv_becomes_the_accepted_state(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run_dir = write_priced_run(tmp_path)
    broker = tmp_path / "positions.csv"
    broker.write_text(BROKER_CSV)
    result = cli("holdings", "import", str(broker))
    # an unknown symbol: imported without it, exit 1, closest identities named
    assert result.exit_code == 1, result.output
    assert "unknown symbol 'C3AX'" in result.output
    assert "C3A0" in result.output.split("unknown symbol 'C3AX'")[1].splitlines()[0]
    state = load_state(tmp_path / "data" / "lakehouse")
    assert state is not None and state["source"] == "holdings"
    q = state["quantities"]
    assert q == {"NASDAQ:C1A0": 1000.0, "NASDAQ:C2A0": 500.0, "LSE:VOD": 2000.0}
    # values at the run's prices on the as-of date (the file's 49.50 is ignored: the run has 50)
    assert state["values"]["NASDAQ:C1A0"] == pytest.approx(50_000.0)
    # foreign currency: the run has no VOD price, the file's 7050 pence = 70.50 GBP x 1.25
    assert state["values"]["LSE:VOD"] == pytest.approx(2000 * 70.50 * 1.25)
    assert state["cash"] == pytest.approx(1000 * 1.25 + 5000)
    capital = 50_000 + 10_000 + 2000 * 70.50 * 1.25 + 1250 + 5000
    assert state["capital"] == pytest.approx(capital)
    assert state["weights"]["NASDAQ:C1A0"] == pytest.approx(50_000 / capital)
    assert [u["symbol"] for u in state["unknown"]] == ["C3AX"]

    # the drift starts from the holdings: quantities to trade from what is held
    result = cli("drift")
    assert result.exit_code == 0, result.output
    drift_doc = json.loads((run_dir / "drift.json").read_text())
    assert drift_doc["money"]["totals"]["capital"] == pytest.approx(capital)
    assert drift_doc["money"]["totals"]["capital_source"] == "accepted holdings"
    rows = {
        r["symbol"]: r for r in csv.DictReader(io.StringIO((run_dir / "orders.csv").read_text()))
    }
    hrp = {a["symbol"]: a["net"] for a in af.portfolio()["profiles"]["hrp"]["assets"]}
    wanted = round(hrp["NASDAQ:C1A0"] * capital / 50.0)
    assert float(rows["NASDAQ:C1A0"]["quantity"]) == wanted - 1000
    assert rows["LSE:VOD"]["side"] == "SELL"
    assert float(rows["LSE:VOD"]["quantity"]) == -2000.0  # not in the target: sold entirely


def test_old_weight_only_state_is_still_read(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run_dir = write_priced_run(tmp_path)
    lake = tmp_path / "data" / "lakehouse"
    atomic_write_json(
        lake / "portfolio_actual_state.json",
        {"as_of": "2026-11-01", "run_id": "old", "profile": "hrp", "weights": {"NASDAQ:C1A0": 0.1}},
    )
    result = cli("drift")
    assert result.exit_code == 0, result.output
    doc = json.loads((run_dir / "drift.json").read_text())
    assert any("weights only" in n for n in doc["money"]["notes"])
    c1 = next(x for x in doc["money"]["lines"] if x["symbol"] == "NASDAQ:C1A0")
    assert c1["held_quantity"] == pytest.approx(0.1 * 1_000_000 / 50.0)


def test_accept_state_keeps_quantities(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_priced_run(tmp_path)
    assert cli("accept-state").exit_code == 0
    state = load_state(tmp_path / "data" / "lakehouse")
    assert state is not None
    assert state["quantities"]["NASDAQ:C1A0"] == round(state["weights"]["NASDAQ:C1A0"] * 1e6 / 50)
    assert state["prices"]["NASDAQ:C1A0"] == {
        "price": 50.0,
        "date": "2026-11-20",
        "currency": "USD",
    }


def test_bad_files_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("Ticker,Qty\nAAA,ten\n")
    with pytest.raises(DataError, match="row 2: quantity 'ten' is not a number"):
        read_positions(path)
    path.write_text("Name,Value\nAAA,1\n")
    with pytest.raises(DataError, match="no symbol or quantity column"):
        read_positions(path)
    with pytest.raises(DataError, match="no such holdings file"):
        read_positions(tmp_path / "absent.csv")


def test_cli_bad_input_exits_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_priced_run(tmp_path)
    result = cli("holdings", "import", str(tmp_path / "absent.csv"))
    assert result.exit_code == 2 and "no such holdings file" in result.output
