"""Read sets: a window's signature sees its own bars only; a sync that would fetch is named."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from clusterfolio.data.lakehouse import Lakehouse
from clusterfolio.data.sync import SyncState
from clusterfolio.pipeline.reads import LakeView, ReadSet

AS_OF = date(2026, 11, 20)
SYMBOL = "NYSE:AAA"


def _bars(sessions: pd.DatetimeIndex, level: float = 100.0) -> pd.DataFrame:
    close = level + np.arange(len(sessions), dtype=float)
    return pd.DataFrame(
        {
            "session": sessions,
            "open": close,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": np.full(len(sessions), 1e6),
        }
    )


def _setup(tmp_path: Path) -> tuple[Lakehouse, Path, ReadSet, dict[str, object]]:
    lake = Lakehouse(tmp_path / "ns", durable=False)
    lake.write(SYMBOL, _bars(pd.bdate_range("2026-10-01", AS_OF)))
    state = SyncState(tmp_path / "ns" / "_sync_state.json")
    state.add(SYMBOL, date(2026, 10, 1), AS_OF)
    state.mark_stored(SYMBOL, AS_OF)
    state.save()
    reads = ReadSet()
    reads.window([SYMBOL], date(2026, 11, 2), AS_OF, synced=True)
    view = LakeView(lake, state.path, AS_OF)
    return lake, state.path, reads, reads.to_record(view.signature(reads))


def test_unchanged_bars_and_bars_outside_the_window_keep_the_signature(tmp_path: Path) -> None:
    lake, state, _, record = _setup(tmp_path)
    assert LakeView(lake, state, AS_OF).why_changed(record) == ""
    # history added before the window (a deeper pass) and a bar after the as-of date
    lake.write(SYMBOL, _bars(pd.bdate_range("2026-09-01", "2026-09-30"), level=50.0))
    lake.write(SYMBOL, _bars(pd.bdate_range("2026-11-23", "2026-11-23"), level=500.0))
    assert LakeView(lake, state, AS_OF).why_changed(record) == ""


def test_a_changed_bar_inside_the_window_is_seen(tmp_path: Path) -> None:
    lake, state, _, record = _setup(tmp_path)
    frame = lake.read(SYMBOL)
    frame.loc[frame.index[-3], "close"] += 0.5
    lake.delete(SYMBOL)
    lake.write(SYMBOL, frame)
    why = LakeView(lake, state, AS_OF).why_changed(record)
    assert why.startswith("stored bars inside the windows of the 1 listings it read changed")


def test_a_deleted_file_would_be_fetched_again(tmp_path: Path) -> None:
    lake, state, _, record = _setup(tmp_path)
    lake.delete(SYMBOL)
    why = LakeView(lake, state, AS_OF).why_changed(record)
    assert why == f"its sync would ask the provider for {SYMBOL}"


def test_a_gap_not_covered_by_the_sync_state_and_a_live_ask(tmp_path: Path) -> None:
    lake, state, reads, _ = _setup(tmp_path)
    reads.ask(SYMBOL, date(2026, 9, 1), date(2026, 9, 5))  # before what the state covers
    view = LakeView(lake, state, AS_OF)
    record = reads.to_record(view.signature(reads))
    assert view.why_changed(record).startswith("gaps it fetched would be asked for again")
    reads.ask_live("a remote screener")
    assert "asked the provider live" in view.why_changed(reads.to_record("x"))
    assert ReadSet.from_record(record).to_record(record["signature"]) == record  # type: ignore[arg-type]
