"""The batch commit of the lakehouse (``Lakehouse.merge_batch`` / ``_commit``): tables read once
by the caller are merged as given, the temporary files of a batch are flushed together before
anything is moved, and a failed move leaves the old file and no temporary file."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from clusterfolio.data import atomic_files
from clusterfolio.data.lakehouse import Coverage, Lakehouse, coverage_of
from clusterfolio.errors import CorruptFileError
from tests.fakes.spy import spy


def candles(start: str, n: int) -> pd.DataFrame:
    """Valid candles whose close is a function of the session (asked again: the same bar)."""
    sessions = pd.date_range(start, periods=n, freq="D")
    close = 100.0 + (sessions - pd.Timestamp("2024-01-01")).days.to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "session": sessions,
            "open": close,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.full(n, 10.0),
        }
    )


SYMBOLS = [f"NYSE:B{i}" for i in range(5)]


def _stored(tmp_path: Path, *, durable: bool = False) -> Lakehouse:
    lake = Lakehouse(tmp_path / "lake", durable=durable)
    lake.merge_many({s: candles("2024-01-01", 5) for s in SYMBOLS})
    return lake


def _leftovers(lake: Lakehouse) -> list[str]:
    return sorted(n for n in os.listdir(lake.root) if not n.endswith("_1d.parquet"))


def test_merge_batch_merges_the_tables_the_caller_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = _stored(tmp_path)
    tables = lake.read_tables(SYMBOLS)
    assert all(isinstance(t, pa.Table) for t in tables)
    given = dict(zip(SYMBOLS[:4], tables[:4], strict=True))
    read: list[str] = []
    spy(monkeypatch, Lakehouse, "_read_table", lambda self, symbol, *_: read.append(symbol))
    new = {s: candles("2024-01-04", 3) for s in SYMBOLS}  # two bars asked again, one new
    reports, failures = lake.merge_batch(new, stored=given)
    assert failures == {} and read == [SYMBOLS[4]]  # only the table not given is read
    assert all(r.appended == 1 and r.unchanged == 2 and r.written for r in reports.values())
    monkeypatch.undo()
    for symbol in SYMBOLS:
        assert lake.coverage(symbol) == Coverage(date(2024, 1, 1), date(2024, 1, 6), 6)


def test_a_conflict_against_a_given_table_is_reported_and_the_bar_kept(tmp_path: Path) -> None:
    lake = _stored(tmp_path)
    revised = candles("2024-01-05", 2)
    revised["close"] = revised["close"] + np.array([1.0, 0.0])  # 2024-01-05 revised
    given = {SYMBOLS[0]: lake.read_tables([SYMBOLS[0]])[0]}
    reports, _ = lake.merge_batch({SYMBOLS[0]: revised}, stored=given)
    report = reports[SYMBOLS[0]]
    assert [c.session for c in report.conflicts] == [date(2024, 1, 5)] and report.appended == 1
    assert lake.read(SYMBOLS[0])["close"].iloc[4] == 104.0


def test_read_tables_answers_missing_and_corrupt_files_without_raising(tmp_path: Path) -> None:
    lake = _stored(tmp_path)
    Path(lake.path(SYMBOLS[1])).write_bytes(b"not parquet")
    first, corrupt, missing = lake.read_tables([SYMBOLS[0], SYMBOLS[1], "NYSE:NONE"])
    assert isinstance(first, pa.Table) and first.num_rows == 5
    assert isinstance(corrupt, CorruptFileError) and "B1" in str(corrupt)
    assert missing is None


def test_coverage_of_a_table() -> None:
    assert coverage_of(None) == Coverage(None, None, 0)
    table = pa.Table.from_pandas(candles("2024-03-01", 3), preserve_index=False)
    assert coverage_of(table) == Coverage(date(2024, 3, 1), date(2024, 3, 3), 3)
    assert coverage_of(table.slice(0, 0)) == Coverage(None, None, 0)


def test_a_durable_batch_is_flushed_once_before_any_move(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = _stored(tmp_path, durable=True)
    events: list[tuple[str, bool]] = []
    fsynced: list[str] = []
    spy(monkeypatch, atomic_files, "syncfs", lambda folder: events.append(("flush", True)))
    spy(
        monkeypatch,
        Lakehouse,
        "_replace",
        lambda self, tmp, symbol: events.append(("move", Path(tmp).exists())),
    )
    spy(monkeypatch, Lakehouse, "_fsync", lambda self, path: fsynced.append(path))
    lake.merge_many({s: candles("2024-01-06", 1) for s in SYMBOLS})
    assert events == [("flush", True)] + [("move", True)] * len(SYMBOLS)
    if sys.platform.startswith("linux"):  # one syncfs, then the folder: no fsync per file
        assert fsynced == [lake.root]
    assert _leftovers(lake) == []


def test_without_syncfs_every_temporary_file_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = _stored(tmp_path, durable=True)
    monkeypatch.setattr(atomic_files, "syncfs", lambda folder: False)
    fsynced: list[str] = []
    monkeypatch.setattr(Lakehouse, "_fsync", lambda self, path: fsynced.append(path))
    lake.merge_many({s: candles("2024-01-06", 1) for s in SYMBOLS})
    temps = [p for p in fsynced if p != lake.root]
    assert len(temps) == len(SYMBOLS) and all(".tmp-" in p for p in temps)
    assert fsynced[-1] == lake.root


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs(2) is Linux only")
def test_syncfs_flushes_the_filesystem_of_a_folder(tmp_path: Path) -> None:
    assert atomic_files.syncfs(str(tmp_path)) is True
    with pytest.raises(FileNotFoundError):
        atomic_files.syncfs(str(tmp_path / "missing"))


def test_a_failed_move_keeps_that_file_and_the_other_moves_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = _stored(tmp_path)
    before = Path(lake.path(SYMBOLS[2])).read_bytes()
    real_replace = Lakehouse._replace

    def replace(self: Lakehouse, tmp: str, symbol: str) -> None:
        if symbol == SYMBOLS[2]:
            raise OSError("rename failed")
        real_replace(self, tmp, symbol)

    monkeypatch.setattr(Lakehouse, "_replace", replace)
    with pytest.raises(OSError, match="rename failed"):
        lake.merge_batch({s: candles("2024-01-06", 1) for s in SYMBOLS})
    assert Path(lake.path(SYMBOLS[2])).read_bytes() == before
    assert [lake.coverage(s).n for s in SYMBOLS] == [6, 6, 5, 6, 6]
    assert _leftovers(lake) == []


def test_a_merge_report_as_a_dictionary(tmp_path: Path) -> None:
    lake = _stored(tmp_path)
    revised = candles("2024-01-05", 2)
    revised.loc[0, "open"] = 99.0
    report = lake.merge(SYMBOLS[0], revised, partial_last=False)
    assert report.as_dict() == {
        "symbol": SYMBOLS[0],
        "rows_before": 5,
        "rows_after": 6,
        "appended": 1,
        "backfilled": 0,
        "unchanged": 0,
        "replaced_partial": None,
        "conflicts": [
            {
                "symbol": SYMBOLS[0],
                "session": "2024-01-05",
                "stored": {
                    "open": 104.0,
                    "high": 105.0,
                    "low": 103.0,
                    "close": 104.0,
                    "volume": 10.0,
                },
                "new": {"open": 99.0, "high": 105.0, "low": 103.0, "close": 104.0, "volume": 10.0},
            }
        ],
        "written": True,
    }
