"""The batched sync (``data/sync.py``): the next day appends, conflicts are reported, one state
write and one folder fsync per batch, and a kill mid-batch loses or corrupts nothing stored."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterfolio.artifacts.state import SYNC_STATE_FILE as STATE_FILE
from clusterfolio.data import sync as sync_module
from clusterfolio.data.lakehouse import Lakehouse
from clusterfolio.data.sync import SyncOutcome, SyncState, collapse_duplicates, sync_listings
from clusterfolio.data.synthetic import SyntheticProvider
from clusterfolio.manifest import FaultSettings, SyntheticSettings
from tests.fakes.spy import spy

DAY = date(2025, 3, 3)  # a Monday: every calendar has a session on the next day
NEXT = date(2025, 3, 4)
QUIET = FaultSettings(missing_bars=0, stale_listings=0, spikes=0, duplicated_rows=0)
SMALL = SyntheticSettings(
    start="2024-06-03", n_equities=11, n_etfs=4, n_crypto_coins=2, n_forex=2, faults=QUIET
)
REPO = Path(__file__).resolve().parents[2]


class _Revised:
    """A provider double that revises the close of one session of one listing."""

    def __init__(self, inner: SyntheticProvider, symbol: str, session: date) -> None:
        self.inner, self.symbol, self.session = inner, symbol, pd.Timestamp(session)

    def listings(self) -> object:
        return self.inner.listings()

    def candles(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        frame = self.inner.candles(symbol, start, end)
        if symbol == self.symbol:
            frame.loc[frame["session"] == self.session, "close"] *= 1.01
        return frame


def _sync(lake: Lakehouse, provider: Any, as_of: date, root: Path) -> list[SyncOutcome]:
    listings = list(SyntheticProvider(SMALL, as_of).listings())
    return sync_listings(lake, provider, listings, as_of=as_of, n_sessions=40, state_dir=root)


def test_next_day_appends_one_bar_with_one_state_write_and_one_folder_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lakehouse(tmp_path / "lake")
    first = _sync(lake, SyntheticProvider(SMALL, DAY), DAY, tmp_path)
    assert {o.action for o in first} == {"fetched"}
    before = lake.read_many(lake.symbols())

    saves: list[Path] = []
    folder_syncs: list[str] = []
    spy(monkeypatch, sync_module, "atomic_write_json", lambda path, obj: saves.append(path))
    monkeypatch.setattr(Lakehouse, "_sync_root", lambda self: folder_syncs.append(self.root))
    nxt = _sync(lake, SyntheticProvider(SMALL, NEXT), NEXT, tmp_path)

    assert {o.action for o in nxt} == {"fetched"} and all(o.appended == 1 for o in nxt)
    assert saves == [tmp_path / STATE_FILE] and len(folder_syncs) == 1
    after = lake.read_many(lake.symbols())
    for symbol, old in before.items():  # never a stored bar rewritten
        pd.testing.assert_frame_equal(after[symbol].iloc[: len(old)], old)
        assert after[symbol]["session"].iloc[-1] == pd.Timestamp(NEXT)
    state = SyncState(tmp_path / STATE_FILE)
    assert all(state.stored_last(s) == NEXT.isoformat() for s in before)
    again = _sync(lake, SyntheticProvider(SMALL, NEXT), NEXT, tmp_path)  # the second run
    assert {o.action for o in again} == {"fresh"}


def test_a_revised_stored_bar_is_a_reported_conflict_and_kept(tmp_path: Path) -> None:
    lake = Lakehouse(tmp_path / "lake")
    _sync(lake, SyntheticProvider(SMALL, DAY), DAY, tmp_path)
    symbol = "BINANCE:BTCUSDT"
    stored = lake.read(symbol)
    revised = _Revised(SyntheticProvider(SMALL, NEXT), symbol, DAY)
    outcomes = {o.symbol: o for o in _sync(lake, revised, NEXT, tmp_path)}
    assert outcomes[symbol].conflicts == 1
    assert outcomes[symbol].conflict_sessions == [DAY.isoformat()]
    assert outcomes[symbol].appended == 1
    pd.testing.assert_frame_equal(lake.read(symbol).iloc[: len(stored)], stored)


_KILLED = textwrap.dedent(
    """
    import os, signal, sys, threading
    from datetime import date
    from pathlib import Path
    from clusterfolio.data.lakehouse import Lakehouse
    from clusterfolio.data.synthetic import SyntheticProvider
    from clusterfolio.data.sync import sync_listings
    from clusterfolio.manifest import FaultSettings, SyntheticSettings

    root, day, kill_after = Path(sys.argv[1]), date.fromisoformat(sys.argv[2]), int(sys.argv[3])
    quiet = FaultSettings(missing_bars=0, stale_listings=0, spikes=0, duplicated_rows=0)
    settings = SyntheticSettings(start="2024-06-03", n_equities=11, n_etfs=4, n_crypto_coins=2,
                                 n_forex=2, faults=quiet)
    moved = []
    real = Lakehouse._replace
    lock = threading.Lock()  # the moves run in threads: count the completed ones exactly

    def replace(self, tmp, symbol):
        with lock:
            if len(moved) == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)  # a kill mid-batch: no clean-up runs
            real(self, tmp, symbol)
            moved.append(symbol)

    Lakehouse._replace = replace
    provider = SyntheticProvider(settings, day)
    sync_listings(Lakehouse(root / "lake"), provider, list(provider.listings()), as_of=day,
                  n_sessions=40, state_dir=root)
    """
)


def _killed_sync(root: Path, day: date, kill_after: int) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    args = [sys.executable, "-c", _KILLED, str(root), day.isoformat(), str(kill_after)]
    return subprocess.run(args, env=env, check=False, capture_output=True).returncode


def test_a_kill_mid_batch_loses_and_corrupts_nothing(tmp_path: Path) -> None:
    lake = Lakehouse(tmp_path / "lake")
    _sync(lake, SyntheticProvider(SMALL, DAY), DAY, tmp_path)
    before = lake.read_many(lake.symbols())
    state_before = (tmp_path / STATE_FILE).read_bytes()

    assert _killed_sync(tmp_path, NEXT, kill_after=7) == -9
    after = lake.read_many(lake.symbols())  # every file readable: none partial
    assert set(after) == set(before)
    grown = [s for s in before if len(after[s]) == len(before[s]) + 1]
    assert len(grown) == 7  # the files moved before the kill hold the new bar ...
    for symbol, old in before.items():  # ... and no stored bar was lost or changed
        pd.testing.assert_frame_equal(after[symbol].iloc[: len(old)], old)
    assert (tmp_path / STATE_FILE).read_bytes() == state_before  # written after the files

    outcomes = _sync(lake, SyntheticProvider(SMALL, NEXT), NEXT, tmp_path)  # re-run completes
    assert not any(o.action == "failed" or o.conflicts for o in outcomes)
    clean = Lakehouse(tmp_path / "clean")
    _sync(clean, SyntheticProvider(SMALL, DAY), DAY, tmp_path / "c")
    _sync(clean, SyntheticProvider(SMALL, NEXT), NEXT, tmp_path / "c")
    for symbol, frame in clean.read_many(clean.symbols()).items():
        pd.testing.assert_frame_equal(lake.read(symbol), frame)


def test_each_file_is_read_once_per_append(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = Lakehouse(tmp_path / "lake")
    _sync(lake, SyntheticProvider(SMALL, DAY), DAY, tmp_path)
    reads: list[tuple[str, object]] = []
    spy(monkeypatch, Lakehouse, "_read_table", lambda self, s, c=None: reads.append((s, c)))
    outcomes = _sync(lake, SyntheticProvider(SMALL, NEXT), NEXT, tmp_path)
    assert all(o.appended == 1 for o in outcomes)
    assert sorted(reads) == sorted((o.symbol, None) for o in outcomes)  # one whole read each


def _reference_collapse(frame: pd.DataFrame) -> pd.DataFrame:
    """The rule spelled out in pandas (unique sessions: the frame as it is)."""
    if not frame["session"].duplicated().any():
        return frame
    out = frame.drop_duplicates("session", keep="last").sort_values("session", kind="mergesort")
    return out.reset_index(drop=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 12), max_size=12), st.booleans())
def test_collapse_duplicates_keeps_the_last_bar_of_each_session(
    days: list[int], ascending: bool
) -> None:
    days = sorted(set(days)) if ascending else days
    sessions = pd.Timestamp("2025-01-01") + pd.to_timedelta(days, unit="D")
    frame = pd.DataFrame({"session": sessions, "close": np.arange(len(days), dtype=float)})
    out, collapsed = collapse_duplicates(frame)
    if ascending:  # the provider's usual answer: returned as it is
        assert out is frame and collapsed == []
    else:
        pd.testing.assert_frame_equal(out.reset_index(drop=True), _reference_collapse(frame))
        repeated = sorted({d for d in days if days.count(d) > 1})
        expected = [(pd.Timestamp("2025-01-01") + pd.Timedelta(days=d)).date() for d in repeated]
        assert collapsed == [d.isoformat() for d in expected]


def test_collapse_duplicates_of_sessions_with_a_missing_date_or_as_text() -> None:
    text = pd.DataFrame({"session": ["2025-01-02", "2025-01-02"], "close": [1.0, 2.0]})
    out, collapsed = collapse_duplicates(text)
    assert collapsed == ["2025-01-02"] and out["close"].tolist() == [2.0]
    nat = pd.DataFrame({"session": [pd.Timestamp("2025-01-02"), pd.NaT], "close": [1.0, 2.0]})
    assert collapse_duplicates(nat)[0] is nat  # nothing duplicated: the validation names the NaT
