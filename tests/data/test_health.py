"""Tests of the per-listing health audit, the report and the strict gate."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterfolio.data.health import (
    SEVERITY_ORDER,
    Finding,
    FindingKind,
    HealthReport,
    ListingHealth,
    audit_listing,
    auditor_from_settings,
    most_severe,
    partition_missing,
    severity,
    strict_gate,
)
from clusterfolio.enums import HealthStatus
from clusterfolio.errors import DataError, HealthError, SchemaError
from clusterfolio.io import canonical_json
from clusterfolio.manifest import DataSettings

N_SESSIONS = 120
CALENDAR = pd.bdate_range("2024-01-02", periods=N_SESSIONS)  # weekdays: an NYSE-like calendar

THRESHOLDS: dict[str, Any] = {
    "min_days_floor": 40,
    "stale_tolerance_sessions": 1,
    "spike_zscore": 12.0,
    "required_sessions": N_SESSIONS,
}


def make_candles(sessions: pd.DatetimeIndex = CALENDAR, *, seed: int = 0) -> pd.DataFrame:
    """A consistent random-walk candle frame (1% daily volatility) on ``sessions``."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, len(sessions))))
    open_ = np.concatenate(([100.0], close[:-1]))
    return pd.DataFrame(
        {
            "session": sessions,
            "open": open_,
            "high": np.maximum(open_, close) * 1.002,
            "low": np.minimum(open_, close) * 0.998,
            "close": close,
            "volume": np.full(len(sessions), 1e6),
        }
    )


def scale_closes(frame: pd.DataFrame, rows: slice | list[int], factor: float) -> pd.DataFrame:
    """Multiply every price of ``rows`` by ``factor`` (keeps each bar consistent)."""
    out = frame.copy()
    idx = out.index[rows]
    for col in ("open", "high", "low", "close"):
        out.loc[idx, col] *= factor
    return out


def audit(frame: pd.DataFrame, symbol: str = "NASDAQ:TEST", **overrides: Any) -> ListingHealth:
    return audit_listing(symbol, frame, CALENDAR, **{**THRESHOLDS, **overrides})


def kinds(health: ListingHealth) -> set[FindingKind]:
    return {f.kind for f in health.findings}


def finding(health: ListingHealth, kind: FindingKind) -> Finding:
    (found,) = [f for f in health.findings if f.kind is kind]
    return found


def day(ts: pd.Timestamp) -> date:
    return ts.date()


# ------------------------------------------------------------------------------------------
# Statuses
# ------------------------------------------------------------------------------------------


def test_clean_listing_is_ok() -> None:
    health = audit(make_candles())
    assert health.status is HealthStatus.OK
    assert health.findings == ()
    assert health.sessions_present == N_SESSIONS
    assert health.last_session == day(CALENDAR[-1])


@pytest.mark.parametrize(
    "frame", [pd.DataFrame(), make_candles().iloc[:0]], ids=["no columns", "empty"]
)
def test_no_data_is_missing(frame: pd.DataFrame) -> None:
    health = audit(frame)
    assert health.status is HealthStatus.MISSING
    assert kinds(health) == {FindingKind.NO_DATA}


def test_bars_only_before_the_window_are_missing() -> None:
    old = make_candles(pd.bdate_range("2022-01-03", periods=50))
    health = audit(old)
    assert health.status is HealthStatus.MISSING
    assert "last stored bar" in finding(health, FindingKind.NO_DATA).detail


def test_fewer_sessions_than_the_floor_is_missing() -> None:
    health = audit(make_candles().iloc[-30:])
    assert health.status is HealthStatus.MISSING
    assert FindingKind.TOO_SHORT in kinds(health)
    assert "floor of 40" in finding(health, FindingKind.TOO_SHORT).detail


def test_floor_is_capped_by_the_window_length() -> None:
    short_calendar = CALENDAR[-20:]
    health = audit_listing(
        "NASDAQ:TEST", make_candles(short_calendar), short_calendar, **THRESHOLDS
    )
    assert health.status is HealthStatus.OK


def test_stale_beyond_tolerance() -> None:
    frame = make_candles().iloc[:-3]
    health = audit(frame)
    assert health.status is HealthStatus.STALE
    stale = finding(health, FindingKind.STALE)
    assert stale.sessions == tuple(day(s) for s in CALENDAR[-3:])
    assert "3 sessions behind" in stale.detail
    assert audit(frame, stale_tolerance_sessions=3).status is HealthStatus.OK


def test_one_session_behind_is_tolerated() -> None:
    assert audit(make_candles().iloc[:-1]).status is HealthStatus.OK


def test_gapped_lists_missing_sessions_and_runs() -> None:
    dropped = [10, 11, 12, 30]
    frame = make_candles().drop(index=dropped)
    health = audit(frame)
    assert health.status is HealthStatus.GAPPED
    gap = finding(health, FindingKind.GAP)
    assert gap.sessions == tuple(day(CALENDAR[i]) for i in dropped)
    assert [(r.first, r.last, r.length) for r in gap.runs] == [
        (day(CALENDAR[10]), day(CALENDAR[12]), 3),
        (day(CALENDAR[30]), day(CALENDAR[30]), 1),
    ]
    assert "4 missing sessions in 2 runs" in gap.detail


def test_gap_run_spans_a_weekend() -> None:
    # Friday and the next Monday are consecutive sessions: one run of 2
    fridays = np.flatnonzero(CALENDAR.dayofweek == 4)
    friday = int(fridays[2])
    frame = make_candles().drop(index=[friday, friday + 1])
    (run,) = finding(audit(frame), FindingKind.GAP).runs
    assert run.length == 2
    assert run.first.weekday() == 4 and run.last.weekday() == 0


def test_short_history_is_ok_with_a_note() -> None:
    health = audit(make_candles().iloc[50:])
    assert health.status is HealthStatus.OK
    note = finding(health, FindingKind.SHORT_HISTORY)
    assert len(note.sessions) == 50
    assert health.problems() == ()


def test_required_sessions_audits_the_trailing_window() -> None:
    frame = make_candles().iloc[60:]
    health = audit(frame, required_sessions=60)
    assert health.status is HealthStatus.OK
    assert health.findings == ()
    assert health.sessions_expected == 60


# ------------------------------------------------------------------------------------------
# Anomalies
# ------------------------------------------------------------------------------------------


def test_spike_that_reverts_is_detected() -> None:
    frame = scale_closes(make_candles(), [70], 1.4)
    health = audit(frame)
    assert health.status is HealthStatus.ANOMALOUS
    spike = finding(health, FindingKind.SPIKE)
    assert spike.sessions == (day(CALENDAR[70]),)
    assert FindingKind.SUSPECTED_SPLIT not in kinds(health)


def test_downward_spike_that_reverts_is_detected() -> None:
    frame = scale_closes(make_candles(seed=3), [40], 0.7)
    assert finding(audit(frame), FindingKind.SPIKE).sessions == (day(CALENDAR[40]),)


def test_one_way_jump_is_not_a_spike() -> None:
    frame = scale_closes(make_candles(), slice(70, None), 1.3)
    health = audit(frame)
    assert health.status is HealthStatus.OK
    assert FindingKind.SPIKE not in kinds(health)


def test_moderate_move_that_reverts_is_not_a_spike() -> None:
    frame = scale_closes(make_candles(), [70], 1.03)  # about 3 sigma, far below the threshold
    assert audit(frame).status is HealthStatus.OK


@pytest.mark.parametrize("factor", [0.5, 1 / 3, 0.25, 2.0, 4.0, 0.1])
def test_split_ratio_jump_is_a_suspected_split(factor: float) -> None:
    frame = scale_closes(make_candles(seed=1), slice(80, None), factor)
    health = audit(frame)
    assert health.status is HealthStatus.ANOMALOUS
    split = finding(health, FindingKind.SUSPECTED_SPLIT)
    assert split.sessions == (day(CALENDAR[80]),)
    assert FindingKind.SPIKE not in kinds(health)


def test_two_for_one_split_is_named() -> None:
    frame = scale_closes(make_candles(seed=1), slice(80, None), 0.5)
    assert "2:1 split" in finding(audit(frame), FindingKind.SUSPECTED_SPLIT).detail


def test_split_ratio_that_reverts_is_a_spike_not_a_split() -> None:
    frame = scale_closes(make_candles(seed=1), [80], 0.5)
    health = audit(frame)
    assert FindingKind.SPIKE in kinds(health)
    assert FindingKind.SUSPECTED_SPLIT not in kinds(health)


def test_duplicated_session() -> None:
    frame = make_candles()
    frame = pd.concat([frame, frame.iloc[[50]]], ignore_index=True)
    health = audit(frame)
    assert health.status is HealthStatus.ANOMALOUS
    dup = finding(health, FindingKind.DUPLICATE_SESSION)
    assert dup.sessions == (day(CALENDAR[50]),)
    assert "x2" in dup.detail


def test_weekend_bar_is_an_unexpected_session() -> None:
    frame = make_candles()
    saturday = CALENDAR[20] + pd.offsets.Week(weekday=5)
    weekend = frame.iloc[[20]].assign(session=saturday)
    health = audit(pd.concat([frame, weekend], ignore_index=True))
    assert health.status is HealthStatus.ANOMALOUS
    off = finding(health, FindingKind.UNEXPECTED_SESSION)
    assert off.sessions == (saturday.date(),)
    assert "(Sat)" in off.detail


@pytest.mark.parametrize("value", [0.0, -1.0])
def test_non_positive_price(value: float) -> None:
    frame = make_candles()
    frame.loc[15, "low"] = value
    health = audit(frame)
    assert health.status is HealthStatus.ANOMALOUS
    assert finding(health, FindingKind.NON_POSITIVE_PRICE).sessions == (day(CALENDAR[15]),)


def test_non_finite_price() -> None:
    frame = make_candles()
    frame.loc[15, "close"] = np.nan
    health = audit(frame)
    assert health.status is HealthStatus.ANOMALOUS
    assert "close" in finding(health, FindingKind.NON_FINITE_PRICE).detail


@pytest.mark.parametrize(
    ("column", "factor", "why"),
    [
        ("high", 0.9, "high < max(open, close)"),
        ("low", 1.1, "low > min(open, close)"),
    ],
)
def test_ohlc_inconsistent(column: str, factor: float, why: str) -> None:
    frame = make_candles()
    frame[column] = frame[column].where(frame.index != 33, frame[column] * factor)
    health = audit(frame)
    assert health.status is HealthStatus.ANOMALOUS
    bad = finding(health, FindingKind.OHLC_INCONSISTENT)
    assert bad.sessions == (day(CALENDAR[33]),)
    assert why in bad.detail


def test_low_above_high() -> None:
    frame = make_candles()
    frame.loc[33, ["open", "close", "high", "low"]] = [100.0, 100.0, 100.0, 101.0]
    assert "low > high" in finding(audit(frame), FindingKind.OHLC_INCONSISTENT).detail


def test_unsorted_input_is_audited_in_session_order() -> None:
    frame = make_candles().sample(frac=1.0, random_state=4)
    assert audit(frame).status is HealthStatus.OK


# ------------------------------------------------------------------------------------------
# Severity
# ------------------------------------------------------------------------------------------


def test_documented_severity_order() -> None:
    assert SEVERITY_ORDER == (
        HealthStatus.MISSING,
        HealthStatus.ANOMALOUS,
        HealthStatus.STALE,
        HealthStatus.GAPPED,
        HealthStatus.OK,
    )
    ranks = [severity(s) for s in SEVERITY_ORDER]
    assert ranks == sorted(ranks, reverse=True)
    assert most_severe([]) is HealthStatus.OK
    assert most_severe([HealthStatus.GAPPED, HealthStatus.STALE]) is HealthStatus.STALE


def test_several_findings_take_the_most_severe_status() -> None:
    gapped_and_stale = make_candles().drop(index=[10]).iloc[:-3]
    health = audit(gapped_and_stale)
    assert kinds(health) == {FindingKind.GAP, FindingKind.STALE}
    assert health.status is HealthStatus.STALE

    with_spike = scale_closes(gapped_and_stale.reset_index(drop=True), [70], 1.5)
    health = audit(with_spike)
    assert {FindingKind.GAP, FindingKind.STALE, FindingKind.SPIKE} <= kinds(health)
    assert health.status is HealthStatus.ANOMALOUS

    too_short = scale_closes(make_candles().iloc[-30:].reset_index(drop=True), [10], 1.5)
    health = audit(too_short)
    assert {FindingKind.TOO_SHORT, FindingKind.SPIKE} <= kinds(health)
    assert health.status is HealthStatus.MISSING
    # findings are listed most severe first
    assert [f.kind for f in health.findings] == sorted(
        (f.kind for f in health.findings), key=lambda k: k.order
    )


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------


def test_empty_calendar_is_a_data_error() -> None:
    with pytest.raises(DataError, match="NASDAQ:TEST"):
        audit_listing("NASDAQ:TEST", make_candles(), pd.DatetimeIndex([]), **THRESHOLDS)


def test_missing_column_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match=r"NASDAQ:TEST.*volume"):
        audit(make_candles().drop(columns="volume"))


def test_bad_threshold_is_rejected() -> None:
    with pytest.raises(ValueError, match="required_sessions"):
        audit(make_candles(), required_sessions=0)


# ------------------------------------------------------------------------------------------
# Partition property
# ------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.sets(st.integers(min_value=1, max_value=N_SESSIONS - 2), max_size=30))
def test_interior_drops_are_exactly_the_gaps(dropped: set[int]) -> None:
    frame = make_candles().drop(index=sorted(dropped))
    miss = partition_missing(CALENDAR, frame["session"].to_numpy())
    assert list(miss.interior) == [CALENDAR[i] for i in sorted(dropped)]
    assert len(miss.leading) == 0 and len(miss.trailing) == 0
    health = audit(frame)
    expected_status = HealthStatus.GAPPED if dropped else HealthStatus.OK
    if N_SESSIONS - len(dropped) < THRESHOLDS["min_days_floor"]:  # pragma: no cover
        expected_status = HealthStatus.MISSING
    assert health.status is expected_status


# ------------------------------------------------------------------------------------------
# Report and gate
# ------------------------------------------------------------------------------------------


def sample_report(order: list[int] | None = None) -> HealthReport:
    listings = [
        audit(make_candles(), "NYSE:OKAY"),
        audit(make_candles().drop(index=[10, 11]), "NASDAQ:GAPS"),
        audit(make_candles().iloc[:-5], "AMEX:OLD"),
        audit(scale_closes(make_candles(), [70], 1.5), "NASDAQ:SPIKY"),
        audit(pd.DataFrame(), "NYSE:NONE"),
        audit(make_candles().iloc[50:], "NASDAQ:YOUNG"),
    ]
    if order is not None:
        listings = [listings[i] for i in order]
    return HealthReport(tuple(listings))


def test_report_counts_and_failing() -> None:
    report = sample_report()
    assert report.counts() == {
        HealthStatus.MISSING: 1,
        HealthStatus.ANOMALOUS: 1,
        HealthStatus.STALE: 1,
        HealthStatus.GAPPED: 1,
        HealthStatus.OK: 2,
    }
    assert [h.symbol for h in report.failing()] == [
        "AMEX:OLD",
        "NASDAQ:GAPS",
        "NASDAQ:SPIKY",
        "NYSE:NONE",
    ]
    assert [h.symbol for h in report.failing([HealthStatus.GAPPED, HealthStatus.STALE])] == [
        "AMEX:OLD",
        "NASDAQ:GAPS",
    ]
    assert report["NYSE:OKAY"].ok
    assert not report.all_ok


def test_report_json_is_deterministic_and_sorted() -> None:
    a = sample_report()
    b = sample_report(order=[5, 3, 1, 0, 4, 2])
    assert canonical_json(a.to_json_dict()) == canonical_json(b.to_json_dict())
    doc = json.loads(canonical_json(a.to_json_dict()))
    symbols = [item["symbol"] for item in doc["listings"]]
    assert symbols == sorted(symbols)
    assert doc["counts"]["GAPPED"] == 1
    gaps = next(item for item in doc["listings"] if item["symbol"] == "NASDAQ:GAPS")
    assert gaps["findings"][0]["runs"] == [
        {"first": "2024-01-16", "last": "2024-01-17", "length": 2}
    ]


def test_report_rejects_a_repeated_symbol() -> None:
    health = audit(make_candles(), "NYSE:OKAY")
    with pytest.raises(ValueError, match="NYSE:OKAY"):
        HealthReport((health, health))


def test_markdown_names_every_non_ok_listing_with_its_evidence() -> None:
    text = sample_report().to_markdown()
    for symbol in ("NASDAQ:GAPS", "AMEX:OLD", "NASDAQ:SPIKY", "NYSE:NONE"):
        assert symbol in text
    assert "| MISSING | 1 |" in text
    assert "| **Total** | **6** |" in text
    assert "2 missing sessions in 1 run" in text
    assert "one-bar spike" in text
    # the worst listing comes first
    assert text.index("NYSE:NONE") < text.index("NASDAQ:SPIKY") < text.index("AMEX:OLD")
    assert text.index("AMEX:OLD") < text.index("NASDAQ:GAPS")
    # a healthy listing with a note is shown apart
    assert "Notes on healthy listings" in text and "NASDAQ:YOUNG" in text


def test_markdown_of_a_healthy_report() -> None:
    report = HealthReport((audit(make_candles(), "NYSE:OKAY"),))
    assert "All 1 listings are healthy." in report.to_markdown()


def test_strict_gate_names_every_failing_listing() -> None:
    report = sample_report()
    with pytest.raises(HealthError) as err:
        strict_gate(report, strict=True)
    message = str(err.value)
    for health in report.failing():
        assert health.symbol in message
        assert str(health.status) in message
    assert "NYSE:OKAY" not in message and "NASDAQ:YOUNG" not in message
    assert "4 listings" in message


def test_lenient_gate_returns_warnings() -> None:
    problems = strict_gate(sample_report(), strict=False)
    assert len(problems) == 4
    assert problems[0].startswith("AMEX:OLD: STALE - stale:")
    healthy = HealthReport((audit(make_candles(), "NYSE:OKAY"),))
    assert strict_gate(healthy, strict=True) == []


def test_gate_can_fail_on_chosen_statuses() -> None:
    problems = strict_gate(sample_report(), strict=False, fail_on=[HealthStatus.MISSING])
    assert problems == ["NYSE:NONE: MISSING - no_data: no bars stored"]
    with pytest.raises(HealthError, match="NYSE:NONE") as err:
        strict_gate(sample_report(), strict=True, fail_on=[HealthStatus.MISSING])
    assert "NASDAQ:GAPS" not in str(err.value)


def test_auditor_from_settings_uses_the_manifest_thresholds() -> None:
    settings_ = DataSettings(stale_tolerance_sessions=5)
    audit_fn = auditor_from_settings(settings_, required_sessions=N_SESSIONS)
    assert audit_fn("NASDAQ:TEST", make_candles().iloc[:-3], CALENDAR).status is HealthStatus.OK
    strict = auditor_from_settings(DataSettings(stale_tolerance_sessions=0), required_sessions=60)
    assert strict("NASDAQ:TEST", make_candles().iloc[:-3], CALENDAR).status is HealthStatus.STALE


def test_crash_and_rebound_in_a_volatile_stretch_is_not_a_spike() -> None:
    rng = np.random.default_rng(11)
    returns = rng.normal(0.0, 0.01, N_SESSIONS)
    returns[50:75] = rng.normal(0.0, 0.06, 25)  # a turbulent month
    returns[62], returns[63] = -0.22, 0.21  # a genuine crash day and its rebound
    close = 100.0 * np.exp(np.cumsum(returns))
    frame = make_candles().assign(open=close, high=close * 1.001, low=close * 0.999, close=close)
    assert FindingKind.SPIKE not in kinds(audit(frame))
    calm = make_candles()
    calm_returns = np.diff(np.log(calm["close"].to_numpy()), prepend=np.log(100.0))
    calm_returns[62], calm_returns[63] = -0.22, 0.21  # the same pair in a calm stretch
    calm_close = 100.0 * np.exp(np.cumsum(calm_returns))
    calm = calm.assign(
        open=calm_close, high=calm_close * 1.001, low=calm_close * 0.999, close=calm_close
    )
    assert finding(audit(calm), FindingKind.SPIKE).sessions == (day(CALENDAR[62]),)


# ------------------------------------------------------------------------------------------
# Real data
# ------------------------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_etfs_flag_known_splits_and_not_the_march_2020_crash(shared_data: Path) -> None:
    xcals = pytest.importorskip("exchange_calendars")
    folder = shared_data / "etfs" / "m6_universe"
    names = ["IAU", "CNC", "IVV", "XLV"]
    if not all((folder / f"{n}.csv.gz").exists() for n in names):
        pytest.skip(f"M6 files {names} absent from {folder}")
    frames = {}
    for name in names:
        raw = pd.read_csv(folder / f"{name}.csv.gz")
        frames[name] = pd.DataFrame(
            {
                "session": pd.to_datetime(raw["Date"]),
                "open": raw["Open"],
                "high": raw["High"],
                "low": raw["Low"],
                "close": raw["Close"],
                "volume": raw["Volume"],
            }
        )
    last = max(f["session"].max() for f in frames.values())
    expected = xcals.get_calendar("XNYS").sessions_in_range("2018-01-02", last)
    report = {
        n: audit_listing(
            f"NYSE:{n}", f, expected, **{**THRESHOLDS, "required_sessions": len(expected)}
        )
        for n, f in frames.items()
    }
    assert finding(report["IAU"], FindingKind.SUSPECTED_SPLIT).sessions == (date(2021, 5, 24),)
    assert finding(report["CNC"], FindingKind.SUSPECTED_SPLIT).sessions == (date(2019, 2, 7),)
    for name in ("IVV", "XLV"):
        assert FindingKind.SPIKE not in kinds(report[name]), report[name].evidence()
