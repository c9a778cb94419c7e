"""Drift monitor: per-asset deltas, churn, dust skipping with the flag only, orders CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import audit_factory as af
import pytest

from clusterfolio.audit.drift import (
    ORDER_COLUMNS,
    DriftLine,
    DriftReport,
    drift,
    write_drift,
)
from clusterfolio.enums import Side
from clusterfolio.errors import DataError


def target(weights: dict[str, float], directions: dict[str, str] | None = None) -> dict[str, Any]:
    return af.section(weights, {s: 1 for s in weights}, directions=directions)


def state(weights: dict[str, float]) -> dict[str, Any]:
    return {"as_of": "2026-11-13", "run_id": "old", "profile": "hrp", "weights": weights}


def line(report: DriftReport, symbol: str) -> DriftLine:
    return next(x for x in report.lines if x.symbol == symbol)


def test_deltas_actions_and_churn() -> None:
    report = drift(
        target({"A:X": 0.5, "B:Y": 0.5}),
        state({"A:X": 0.6, "C:Z": 0.4}),
        partial_rebalance=False,
    )
    assert [x.symbol for x in report.lines] == ["A:X", "B:Y", "C:Z"]
    a, b, c = (line(report, s) for s in ("A:X", "B:Y", "C:Z"))
    assert (a.delta, a.side, a.reason) == (pytest.approx(-0.1), Side.SELL, "decrease")
    assert (b.delta, b.side, b.reason) == (pytest.approx(0.5), Side.BUY, "open")
    assert (c.delta, c.side, c.reason) == (pytest.approx(-0.4), Side.SELL, "close")
    assert report.churn == pytest.approx((0.1 + 0.5 + 0.4) / 2)
    assert report.executed_churn == pytest.approx(report.churn)
    assert report.has_state
    assert report.meta["state_as_of"] == "2026-11-13"


def test_unchanged_is_hold_and_noise_is_not_an_order() -> None:
    report = drift(
        target({"A:X": 0.5, "B:Y": 0.5}),
        state({"A:X": 0.5, "B:Y": 0.5 + 1e-12}),
        partial_rebalance=False,
    )
    assert [x.action for x in report.lines] == [Side.HOLD, Side.HOLD]
    assert report.orders == []
    assert report.churn == pytest.approx(0.0, abs=1e-11)


def test_dust_is_skipped_only_with_the_flag() -> None:
    goal = target({"A:X": 0.305, "B:Y": 0.295, "C:Z": 0.40})
    held = state({"A:X": 0.30, "B:Y": 0.30, "C:Z": 0.38, "D:W": 0.02})
    off = drift(goal, held, partial_rebalance=False)
    on = drift(goal, held, partial_rebalance=True)
    assert off.skipped == []
    assert {x.symbol for x in on.skipped} == {"A:X", "B:Y"}
    assert off.churn == pytest.approx(on.churn) == pytest.approx((0.005 + 0.005 + 0.02 + 0.02) / 2)
    assert on.executed_churn == pytest.approx((0.02 + 0.02) / 2)
    a = line(on, "A:X")
    assert a.side is Side.BUY and a.action is Side.HOLD and a.skipped
    assert a.reason.startswith("dust: |Δ| 0.5000% < 1.00% (feat_partial_rebalance)")
    summary = on.summary()
    assert summary["n_skipped"] == 2
    assert summary["skipped_churn"] == pytest.approx(0.005)
    assert summary["unexecuted_net"] == pytest.approx(0.0)
    # a change of exactly the dust threshold is traded
    assert not line(on, "C:Z").skipped and not line(on, "D:W").skipped


def test_custom_dust_threshold() -> None:
    report = drift(
        target({"A:X": 0.5, "B:Y": 0.5}),
        state({"A:X": 0.47, "B:Y": 0.53}),
        partial_rebalance=True,
        dust=0.05,
    )
    assert len(report.skipped) == 2
    assert report.executed_churn == 0.0


def test_no_accepted_state_buys_everything_from_zero() -> None:
    report = drift(target({"A:X": 0.6, "B:Y": 0.4}), None, partial_rebalance=False)
    assert not report.has_state
    assert all(x.side is Side.BUY and x.actual == 0.0 for x in report.lines)
    assert all(x.reason == "open from zero (no accepted state)" for x in report.lines)
    assert report.churn == pytest.approx(0.5)
    md = report.to_markdown()
    assert "no accepted state" in md and "opened from zero" in md
    assert report.to_json_dict()["baseline"] == "none: every position from zero"


def test_short_target_sells_from_zero() -> None:
    report = drift(
        target({"A:X": 0.7, "B:Y": 0.3}, {"B:Y": "SHORT"}), None, partial_rebalance=False
    )
    b = line(report, "B:Y")
    assert b.target == pytest.approx(-0.3)
    assert b.side is Side.SELL


def test_flip_from_long_to_short() -> None:
    report = drift(
        target({"A:X": 1.0}, {"A:X": "SHORT"}), state({"A:X": 0.5}), partial_rebalance=False
    )
    assert line(report, "A:X").reason == "flip"
    assert line(report, "A:X").delta == pytest.approx(-1.5)


def test_plain_mapping_as_actual() -> None:
    report = drift(target({"A:X": 1.0}), {"A:X": 0.9}, partial_rebalance=False)
    assert line(report, "A:X").delta == pytest.approx(0.1)


def test_non_finite_weights_are_rejected() -> None:
    with pytest.raises(DataError, match="not finite"):
        drift(target({"A:X": 1.0}), state({"A:X": float("nan")}), partial_rebalance=False)
    bad = target({"A:X": 1.0})
    bad["assets"][0]["net"] = None
    with pytest.raises(DataError, match="not a number"):
        drift(bad, None, partial_rebalance=False)


def test_orders_csv_content() -> None:
    report = drift(
        target({"A:X": 0.305, "B:Y": 0.295, "C:Z": 0.40}),
        state({"A:X": 0.30, "B:Y": 0.30, "C:Z": 0.34, "D:W": 0.05}),
        partial_rebalance=True,
    )
    rows = list(csv.DictReader(io.StringIO(report.orders_csv())))
    assert tuple(rows[0]) == ORDER_COLUMNS
    # executed orders first (biggest first, then symbol), skipped dust after; HOLD never listed
    assert [(r["symbol"], r["side"], r["skipped"]) for r in rows] == [
        ("C:Z", "BUY", "false"),
        ("D:W", "SELL", "false"),
        ("A:X", "BUY", "true"),
        ("B:Y", "SELL", "true"),
    ]
    c = rows[0]
    assert float(c["delta_weight"]) == pytest.approx(0.06)
    assert float(c["target"]) == pytest.approx(0.40)
    assert float(c["actual"]) == pytest.approx(0.34)
    assert c["reason"] == "increase"
    assert rows[3]["reason"].startswith("dust:")
    assert report.orders_csv() == report.orders_csv()  # deterministic


def test_write_drift_files(tmp_path: Path) -> None:
    report = drift(target({"A:X": 1.0}), None, partial_rebalance=False)
    files = write_drift(tmp_path, report)
    assert [p.name for p in files] == ["drift.json", "drift.md", "orders.csv"]
    data = json.loads((tmp_path / "drift.json").read_text())
    assert data["summary"]["n_buy"] == 1 and data["has_state"] is False
    assert (tmp_path / "orders.csv").read_text().startswith(",".join(ORDER_COLUMNS) + "\n")
    assert not list(tmp_path.glob(".*.tmp"))
    # without orders (a failed audit) a stale orders.csv is removed
    files = write_drift(tmp_path, report, orders=False)
    assert [p.name for p in files] == ["drift.json", "drift.md"]
    assert not (tmp_path / "orders.csv").exists()


def test_markdown_escapes_pipes() -> None:
    report = drift(
        target({"A:X": 0.505, "B:Y": 0.495}),
        state({"A:X": 0.5, "B:Y": 0.5}),
        partial_rebalance=True,
    )
    table = [row for row in report.to_markdown().splitlines() if row.startswith("| A:X")]
    assert table and table[0].count(" | ") == 5
