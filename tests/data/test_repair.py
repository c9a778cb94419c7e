"""Tests of gap repair (refetch, bounded forward fill, duplicates) and of the recovery loop."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from clusterfolio.data.health import ListingHealth, audit_listing
from clusterfolio.data.health.repair import (
    RecoveryStop,
    RepairAction,
    recover,
    repair_listing,
)
from clusterfolio.enums import HealthStatus
from clusterfolio.errors import ProviderError
from clusterfolio.io import canonical_json

N_SESSIONS = 100
CALENDAR = pd.bdate_range("2024-01-02", periods=N_SESSIONS).as_unit("ns")
SYMBOL = "NASDAQ:TEST"


def make_candles(sessions: pd.DatetimeIndex = CALENDAR, *, seed: int = 0) -> pd.DataFrame:
    """A consistent random-walk candle frame on ``sessions``."""
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


TRUTH = make_candles()


class FakeProvider:
    """Serves ``truth`` for ``[start, end]`` and records every call."""

    def __init__(self, truth: pd.DataFrame = TRUTH, *, withheld: list[int] | None = None) -> None:
        self.truth = truth
        self.withheld = set(withheld or [])
        self.calls: list[tuple[str, date, date]] = []

    def __call__(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        self.calls.append((symbol, start, end))
        sessions = self.truth["session"]
        keep = (sessions >= pd.Timestamp(start)) & (sessions <= pd.Timestamp(end))
        keep &= ~self.truth.index.isin(sorted(self.withheld))
        return self.truth.loc[keep].reset_index(drop=True)


def empty_fetch(symbol: str, start: date, end: date) -> pd.DataFrame:
    return TRUTH.iloc[:0]


def days(rows: list[int]) -> tuple[date, ...]:
    return tuple(CALENDAR[i].date() for i in rows)


def audit(symbol: str, candles: pd.DataFrame, expected: pd.DatetimeIndex) -> ListingHealth:
    return audit_listing(
        symbol,
        candles,
        expected,
        min_days_floor=40,
        stale_tolerance_sessions=1,
        spike_zscore=12.0,
        required_sessions=len(expected),
    )


def actions_of(result_actions: tuple[dict[str, Any], ...], action: RepairAction) -> list[dict]:
    return [a for a in result_actions if a["action"] == str(action)]


# ------------------------------------------------------------------------------------------
# repair_listing
# ------------------------------------------------------------------------------------------


def test_gap_the_provider_supplies_is_refetched_and_disappears() -> None:
    stored = TRUTH.drop(index=[10, 11, 12, 40])
    assert audit(SYMBOL, stored, CALENDAR).status is HealthStatus.GAPPED
    provider = FakeProvider()
    result = repair_listing(
        SYMBOL, stored, CALENDAR, provider, max_ffill_sessions=0, allow_ffill=False
    )
    # one call per run, over the narrowest covering range
    assert provider.calls == [
        (SYMBOL, CALENDAR[10].date(), CALENDAR[12].date()),
        (SYMBOL, CALENDAR[40].date(), CALENDAR[40].date()),
    ]
    assert result.refetched == days([10, 11, 12, 40])
    assert result.still_missing == () and result.filled == ()
    assert result.changed
    pd.testing.assert_frame_equal(result.frame, TRUTH)
    assert audit(SYMBOL, result.frame, CALENDAR).status is HealthStatus.OK
    refetch = actions_of(result.actions, RepairAction.REFETCH)
    assert [a["sessions"] for a in refetch] == [
        [d.isoformat() for d in days([10, 11, 12])],
        [CALENDAR[40].date().isoformat()],
    ]
    assert all(set(a) == {"symbol", "action", "sessions", "reason"} for a in result.actions)


def test_stale_tail_is_refetched() -> None:
    provider = FakeProvider()
    result = repair_listing(
        SYMBOL, TRUTH.iloc[:-4], CALENDAR, provider, max_ffill_sessions=0, allow_ffill=False
    )
    assert provider.calls == [(SYMBOL, CALENDAR[-4].date(), CALENDAR[-1].date())]
    pd.testing.assert_frame_equal(result.frame, TRUTH)


def test_unsuppliable_gap_stays_when_ffill_is_disallowed() -> None:
    stored = TRUTH.drop(index=[20, 21])
    result = repair_listing(
        SYMBOL, stored, CALENDAR, empty_fetch, max_ffill_sessions=5, allow_ffill=False
    )
    assert result.still_missing == days([20, 21])
    assert result.filled == ()
    assert not result.changed
    pd.testing.assert_frame_equal(result.frame, stored.reset_index(drop=True))
    (empty,) = actions_of(result.actions, RepairAction.REFETCH_EMPTY)
    (left,) = actions_of(result.actions, RepairAction.UNREPAIRED)
    assert left["sessions"] == [d.isoformat() for d in days([20, 21])]
    assert "disallowed" in left["reason"]
    assert empty["sessions"] == left["sessions"]


def test_unsuppliable_short_gap_is_forward_filled_and_recorded() -> None:
    stored = TRUTH.drop(index=[20, 21])
    result = repair_listing(
        SYMBOL, stored, CALENDAR, empty_fetch, max_ffill_sessions=2, allow_ffill=True
    )
    assert result.filled == days([20, 21])
    assert result.still_missing == ()
    assert result.changed
    prev_close = TRUTH.loc[19, "close"]
    filled = result.frame.set_index("session").loc[CALENDAR[20:22]]
    for col in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(filled[col].to_numpy(), [prev_close, prev_close])
    np.testing.assert_array_equal(filled["volume"].to_numpy(), [0.0, 0.0])
    (fill,) = actions_of(result.actions, RepairAction.FORWARD_FILL)
    assert fill["sessions"] == [d.isoformat() for d in days([20, 21])]
    assert "max_ffill_sessions=2" in fill["reason"]
    health = audit(SYMBOL, result.frame, CALENDAR)
    assert health.status is HealthStatus.OK


def test_gap_longer_than_the_bound_stays() -> None:
    stored = TRUTH.drop(index=[20, 21, 22])
    result = repair_listing(
        SYMBOL, stored, CALENDAR, empty_fetch, max_ffill_sessions=2, allow_ffill=True
    )
    assert result.filled == ()
    assert result.still_missing == days([20, 21, 22])
    (left,) = actions_of(result.actions, RepairAction.UNREPAIRED)
    assert "longer than max_ffill_sessions=2" in left["reason"]


def test_only_runs_within_the_bound_are_filled() -> None:
    stored = TRUTH.drop(index=[20, 30, 31, 32])
    result = repair_listing(
        SYMBOL, stored, CALENDAR, empty_fetch, max_ffill_sessions=1, allow_ffill=True
    )
    assert result.filled == days([20])
    assert result.still_missing == days([30, 31, 32])


def test_zero_bound_means_never_fill() -> None:
    stored = TRUTH.drop(index=[20])
    result = repair_listing(
        SYMBOL, stored, CALENDAR, empty_fetch, max_ffill_sessions=0, allow_ffill=True
    )
    assert result.filled == () and result.still_missing == days([20])


def test_stale_tail_and_history_start_are_never_forward_filled() -> None:
    stored = TRUTH.iloc[5:-2]
    result = repair_listing(
        SYMBOL, stored, CALENDAR, empty_fetch, max_ffill_sessions=10, allow_ffill=True
    )
    assert result.filled == ()
    assert result.still_missing == days([0, 1, 2, 3, 4, N_SESSIONS - 2, N_SESSIONS - 1])
    reasons = [a["reason"] for a in actions_of(result.actions, RepairAction.UNREPAIRED)]
    assert any("before the first stored bar" in r for r in reasons)
    assert any("after the last stored bar" in r for r in reasons)


def test_existing_bars_are_never_overwritten() -> None:
    stored = TRUTH.drop(index=[50, 51])
    altered = TRUTH.copy()
    altered[["open", "high", "low", "close"]] *= 1.5
    altered["volume"] = 7.0
    provider = FakeProvider(altered)

    def wide_fetch(symbol: str, start: date, end: date) -> pd.DataFrame:
        provider.calls.append((symbol, start, end))
        return altered  # answers far more than was asked, with different values

    result = repair_listing(
        SYMBOL, stored, CALENDAR, wide_fetch, max_ffill_sessions=0, allow_ffill=False
    )
    assert result.refetched == days([50, 51])
    frame = result.frame.set_index("session")
    kept = stored.set_index("session")
    pd.testing.assert_frame_equal(frame.loc[kept.index], kept)
    np.testing.assert_allclose(frame.loc[CALENDAR[50:52], "close"], TRUTH.loc[50:51, "close"] * 1.5)


def test_refetch_ignores_bars_off_the_calendar() -> None:
    stored = TRUTH.drop(index=[3])
    saturday = CALENDAR[3] + pd.offsets.Week(weekday=5)

    def fetch(symbol: str, start: date, end: date) -> pd.DataFrame:
        extra = TRUTH.iloc[[3]].assign(session=saturday)
        return pd.concat([TRUTH.iloc[[3]], extra], ignore_index=True)

    result = repair_listing(
        SYMBOL, stored, CALENDAR, fetch, max_ffill_sessions=0, allow_ffill=False
    )
    assert saturday not in set(result.frame["session"])
    pd.testing.assert_frame_equal(result.frame, TRUTH)


def test_duplicates_are_collapsed_to_the_last_occurrence() -> None:
    revised = TRUTH.iloc[[30]].assign(close=TRUTH["close"].iloc[30] * 1.001)
    stored = pd.concat([TRUTH, revised], ignore_index=True)
    assert audit(SYMBOL, stored, CALENDAR).status is HealthStatus.ANOMALOUS
    result = repair_listing(
        SYMBOL, stored, CALENDAR, empty_fetch, max_ffill_sessions=0, allow_ffill=False
    )
    assert result.duplicates == days([30])
    assert result.changed
    assert result.frame["session"].is_unique
    assert result.frame.loc[30, "close"] == revised["close"].iloc[0]
    (collapse,) = actions_of(result.actions, RepairAction.COLLAPSE_DUPLICATES)
    assert "last occurrence" in collapse["reason"]
    assert audit(SYMBOL, result.frame, CALENDAR).status is HealthStatus.OK


def test_provider_failure_is_recorded_not_raised() -> None:
    def failing(symbol: str, start: date, end: date) -> pd.DataFrame:
        raise ProviderError(f"{symbol}: timeout")

    result = repair_listing(
        SYMBOL, TRUTH.drop(index=[7]), CALENDAR, failing, max_ffill_sessions=0, allow_ffill=False
    )
    (failed,) = actions_of(result.actions, RepairAction.REFETCH_FAILED)
    assert "timeout" in failed["reason"]
    assert result.still_missing == days([7])


def test_invalid_refetched_batch_is_rejected() -> None:
    def bad(symbol: str, start: date, end: date) -> pd.DataFrame:
        return TRUTH.iloc[[7]].assign(close=-1.0)

    result = repair_listing(
        SYMBOL, TRUTH.drop(index=[7]), CALENDAR, bad, max_ffill_sessions=0, allow_ffill=False
    )
    assert actions_of(result.actions, RepairAction.REFETCH_REJECTED)
    assert result.still_missing == days([7])
    assert not result.changed


def test_bars_outside_the_window_are_kept() -> None:
    history = make_candles(pd.bdate_range("2023-06-01", CALENDAR[-1]).as_unit("ns"))
    window = CALENDAR[-30:]
    stored = history.loc[history["session"] != window[5]]
    result = repair_listing(
        SYMBOL, stored, window, empty_fetch, max_ffill_sessions=1, allow_ffill=True
    )
    assert result.filled == (window[5].date(),)
    assert len(result.frame) == len(history)


def test_repair_result_is_json_ready() -> None:
    result = repair_listing(
        SYMBOL,
        TRUTH.drop(index=[9]),
        CALENDAR,
        FakeProvider(),
        max_ffill_sessions=0,
        allow_ffill=False,
    )
    text = canonical_json(result.to_dict())
    assert CALENDAR[9].date().isoformat() in text


# ------------------------------------------------------------------------------------------
# recover
# ------------------------------------------------------------------------------------------


class Store:
    """An in-memory lakehouse."""

    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        self.frames = {k: v.reset_index(drop=True) for k, v in frames.items()}
        self.writes: list[str] = []

    def load(self, symbol: str) -> pd.DataFrame:
        return self.frames[symbol].copy()

    def store(self, symbol: str, frame: pd.DataFrame) -> None:
        self.writes.append(symbol)
        self.frames[symbol] = frame.copy()


def expected_for(symbol: str) -> pd.DatetimeIndex:
    return CALENDAR


def test_recover_repairs_and_stops_when_all_ok() -> None:
    store = Store({"A:GAP": TRUTH.drop(index=[10, 11]), "B:OK": TRUTH, "C:OLD": TRUTH.iloc[:-5]})
    provider = FakeProvider()
    outcome = recover(
        ["C:OLD", "A:GAP", "B:OK"],
        store.load,
        provider,
        expected_for,
        audit,
        store.store,
        attempts=3,
    )
    assert outcome.stop is RecoveryStop.ALL_OK
    assert len(outcome.rounds) == 1
    assert outcome.initial.statuses == {
        "A:GAP": HealthStatus.GAPPED,
        "B:OK": HealthStatus.OK,
        "C:OLD": HealthStatus.STALE,
    }
    assert outcome.final.all_ok
    assert outcome.rounds[0].attempted == ("A:GAP", "C:OLD")
    assert sorted(store.writes) == ["A:GAP", "C:OLD"]
    assert {s for s, _, _ in provider.calls} == {"A:GAP", "C:OLD"}
    assert outcome.rounds[0].counts_after[HealthStatus.OK] == 3


def test_recover_stops_after_attempts() -> None:
    store = Store({"A:GAP": TRUTH.drop(index=[10, 11, 12, 13, 14])})

    def one_at_a_time(symbol: str, start: date, end: date) -> pd.DataFrame:
        return TRUTH.loc[TRUTH["session"] == pd.Timestamp(start)]  # only the first session

    outcome = recover(
        ["A:GAP"], store.load, one_at_a_time, expected_for, audit, store.store, attempts=2
    )
    assert outcome.stop is RecoveryStop.ATTEMPTS_EXHAUSTED
    assert len(outcome.rounds) == 2
    assert outcome.final["A:GAP"].status is HealthStatus.GAPPED
    assert len(outcome.final["A:GAP"].findings[0].sessions) == 3
    assert store.writes == ["A:GAP", "A:GAP"]


def test_recover_stops_early_when_nothing_changes() -> None:
    store = Store({"A:GAP": TRUTH.drop(index=[10])})
    outcome = recover(
        ["A:GAP"], store.load, empty_fetch, expected_for, audit, store.store, attempts=5
    )
    assert outcome.stop is RecoveryStop.NO_CHANGE
    assert len(outcome.rounds) == 1
    assert outcome.rounds[0].changed == ()
    assert store.writes == []
    assert outcome.final["A:GAP"].status is HealthStatus.GAPPED


def test_recover_does_nothing_when_all_ok() -> None:
    store = Store({"B:OK": TRUTH})
    provider = FakeProvider()
    outcome = recover(["B:OK"], store.load, provider, expected_for, audit, store.store, attempts=3)
    assert outcome.stop is RecoveryStop.ALL_OK
    assert outcome.rounds == ()
    assert provider.calls == [] and store.writes == []


def test_recover_records_actions_with_their_round() -> None:
    store = Store({"A:GAP": TRUTH.drop(index=[10, 11, 12])})

    def one_at_a_time(symbol: str, start: date, end: date) -> pd.DataFrame:
        return TRUTH.loc[TRUTH["session"] == pd.Timestamp(start)]

    outcome = recover(
        ["A:GAP"], store.load, one_at_a_time, expected_for, audit, store.store, attempts=5
    )
    assert outcome.stop is RecoveryStop.ALL_OK
    refetches = [a for a in outcome.actions if a["action"] == str(RepairAction.REFETCH)]
    assert [(a["round"], a["sessions"]) for a in refetches] == [
        (1, [CALENDAR[10].date().isoformat()]),
        (2, [CALENDAR[11].date().isoformat()]),
        (3, [CALENDAR[12].date().isoformat()]),
    ]
    doc = outcome.to_dict()
    assert doc["stop"] == "all_ok" and len(doc["rounds"]) == 3
    assert canonical_json(doc) == canonical_json(outcome.to_dict())


def test_recover_with_bounded_forward_fill() -> None:
    store = Store({"A:GAP": TRUTH.drop(index=[10])})
    outcome = recover(
        ["A:GAP"],
        store.load,
        empty_fetch,
        expected_for,
        audit,
        store.store,
        attempts=3,
        max_ffill_sessions=1,
        allow_ffill=True,
    )
    assert outcome.stop is RecoveryStop.ALL_OK
    fills = [a for a in outcome.actions if a["action"] == str(RepairAction.FORWARD_FILL)]
    assert fills and fills[0]["sessions"] == [CALENDAR[10].date().isoformat()]


def test_recover_rejects_zero_attempts() -> None:
    with pytest.raises(ValueError, match="attempts"):
        recover(
            [], lambda s: TRUTH, empty_fetch, expected_for, audit, lambda s, f: None, attempts=0
        )
