"""Tests of the Parquet candle lakehouse."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterfolio.data import lakehouse as lakehouse_module
from clusterfolio.data.lakehouse import (
    MERGE_RTOL,
    Coverage,
    Lakehouse,
    ListingNotStoredError,
    filename_to_symbol,
    symbol_to_filename,
)
from clusterfolio.data.schema import CANDLE_COLUMNS, CANDLE_SCHEMA
from clusterfolio.errors import CorruptFileError, DataError, SchemaError

SYMBOL = "BINANCE:BTCUSDT.P"


def candles(start: str = "2024-01-01", n: int = 5, base: float = 100.0) -> pd.DataFrame:
    """Deterministic, valid candles: close rises by 1 per session."""
    close = base + np.arange(n, dtype="float64")
    return pd.DataFrame(
        {
            "session": pd.date_range(start, periods=n, freq="D", unit="ns"),
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.full(n, 1000.0),
        }
    )


@pytest.fixture
def lake(tmp_path: Path) -> Lakehouse:
    # fsync is exercised by test_round_trip_preserves_values_and_dtypes and the URI tests
    return Lakehouse(tmp_path / "lake", durable=False)


def file_bytes(lake: Lakehouse, symbol: str) -> bytes:
    return Path(lake.path(symbol)).read_bytes()


def leftovers(lake: Lakehouse) -> list[str]:
    return sorted(n for n in os.listdir(lake.root) if not n.endswith("_1d.parquet"))


# ----------------------------------------------------------------------------- round trip


def test_round_trip_preserves_values_and_dtypes(tmp_path: Path) -> None:
    lake = Lakehouse(tmp_path / "lake")  # durable: fsync of the file and the folder
    frame = candles(n=30)
    report = lake.merge(SYMBOL, frame)
    assert report.written and report.appended == 30 and report.rows_after == 30
    out = lake.read(SYMBOL)
    pd.testing.assert_frame_equal(out, frame, check_freq=False)
    assert list(out.columns) == list(CANDLE_COLUMNS)
    assert out["session"].dtype == np.dtype("datetime64[ns]")
    assert Path(lake.path(SYMBOL)).name == "BINANCE_BTCUSDT.P_1d.parquet"
    assert pq.read_schema(lake.path(SYMBOL)).remove_metadata().equals(CANDLE_SCHEMA)


def test_write_is_merge(lake: Lakehouse) -> None:
    lake.write(SYMBOL, candles(n=3))
    report = lake.write(SYMBOL, candles("2024-01-02", n=3, base=101.0))
    assert report.appended == 1 and report.unchanged == 2 and report.rows_after == 4


def test_append_new_sessions(lake: Lakehouse) -> None:
    lake.merge(SYMBOL, candles(n=5))
    report = lake.merge(SYMBOL, candles("2024-01-06", n=4, base=105.0))
    assert report.appended == 4 and report.backfilled == 0 and not report.conflicts
    out = lake.read(SYMBOL)
    assert len(out) == 9
    np.testing.assert_allclose(out["close"], 100.0 + np.arange(9), rtol=1e-12)


def test_backfill_older_sessions_is_added(lake: Lakehouse) -> None:
    lake.merge(SYMBOL, candles("2024-01-10", n=3, base=109.0))
    report = lake.merge(SYMBOL, candles("2024-01-01", n=9))
    assert report.backfilled == 9 and report.appended == 0
    assert lake.coverage(SYMBOL) == Coverage(date(2024, 1, 1), date(2024, 1, 12), 12)


def test_identical_overlap_is_unchanged_and_not_rewritten(lake: Lakehouse) -> None:
    lake.merge(SYMBOL, candles(n=5))
    before = file_bytes(lake, SYMBOL)
    again = candles(n=5)
    again["close"] *= 1 + MERGE_RTOL / 10  # within tolerance
    report = lake.merge(SYMBOL, again)
    assert report.unchanged == 5 and not report.written and not report.conflicts
    assert file_bytes(lake, SYMBOL) == before


def test_partial_last_bar_is_replaced(lake: Lakehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lakehouse_module, "_today", lambda: date(2024, 1, 5))
    lake.merge(SYMBOL, candles(n=5))  # written during the session of 2024-01-05: partial
    monkeypatch.setattr(lakehouse_module, "_today", lambda: date(2024, 1, 9))
    update = candles("2024-01-05", n=3, base=104.0)
    update.loc[0, ["high", "close", "volume"]] = [110.0, 108.0, 5000.0]  # the closed session
    report = lake.merge(SYMBOL, update)
    assert report.replaced_partial == date(2024, 1, 5)
    assert report.appended == 2 and not report.conflicts
    out = lake.read(SYMBOL).set_index("session")
    assert out.loc["2024-01-05", "close"] == 108.0
    assert out.loc["2024-01-05", "volume"] == 5000.0


def test_a_final_last_bar_is_never_replaced(lake: Lakehouse) -> None:
    lake.merge(SYMBOL, candles(n=5))  # written long after 2024-01-05 closed: final
    update = candles("2024-01-05", n=1, base=104.0)
    update.loc[0, "close"] = 104.5
    report = lake.merge(SYMBOL, update)
    assert report.replaced_partial is None and len(report.conflicts) == 1
    assert lake.read(SYMBOL)["close"].iloc[-1] != 104.5


def test_partial_last_can_be_protected(lake: Lakehouse) -> None:
    lake.merge(SYMBOL, candles(n=5))
    update = candles("2024-01-05", n=1, base=104.0)
    update.loc[0, "close"] = 104.5
    report = lake.merge(SYMBOL, update, partial_last=False)
    assert report.replaced_partial is None and len(report.conflicts) == 1


def test_conflicting_history_is_recorded_and_kept(lake: Lakehouse) -> None:
    lake.merge(SYMBOL, candles(n=5))
    before = file_bytes(lake, SYMBOL)
    revised = candles(n=5)
    revised.loc[1, "close"] = 150.0  # 2024-01-02 rewritten by the vendor
    revised.loc[2, "volume"] = 1.0  # 2024-01-03 volume differs
    report = lake.merge(SYMBOL, revised)
    assert report.has_conflicts and len(report.conflicts) == 2
    first = report.conflicts[0]
    assert first.symbol == SYMBOL and first.session == date(2024, 1, 2)
    assert first.stored["close"] == 101.0 and first.new["close"] == 150.0
    assert report.conflicts[1].session == date(2024, 1, 3)
    assert report.conflicts[1].as_dict()["new"]["volume"] == 1.0
    assert report.as_dict()["conflicts"][0]["session"] == "2024-01-02"
    assert not report.written
    assert file_bytes(lake, SYMBOL) == before  # stored history untouched


def test_conflicts_recorded_while_new_sessions_are_appended(lake: Lakehouse) -> None:
    lake.merge(SYMBOL, candles(n=5))
    update = candles("2024-01-03", n=5, base=102.0)
    update.loc[0, "open"] = 1.0  # conflicts with the stored 2024-01-03
    report = lake.merge(SYMBOL, update)
    assert [c.session for c in report.conflicts] == [date(2024, 1, 3)]
    assert report.appended == 2 and report.written
    assert lake.read(SYMBOL).set_index("session").loc["2024-01-03", "open"] == 101.5


def test_daily_append_with_the_stored_tail_asked_again(lake: Lakehouse) -> None:
    """The daily sync asks the last stored bars again: equal ones are kept, new ones appended."""
    lake.merge(SYMBOL, candles(n=5))
    update = candles("2024-01-04", n=4, base=103.0)  # 2 stored sessions repeated, 2 new
    report = lake.merge(SYMBOL, update)
    assert (report.unchanged, report.appended, report.backfilled) == (2, 2, 0)
    assert report.rows_after == 7 and report.written and not report.conflicts
    pd.testing.assert_frame_equal(lake.read(SYMBOL), candles(n=7), check_freq=False)
    again = lake.merge(SYMBOL, candles("2024-01-06", n=2, base=105.0))  # only repeats
    assert again.unchanged == 2 and again.appended == 0 and not again.written


def test_merge_many(lake: Lakehouse) -> None:
    frames = {f"NYSE:M{i}": candles(n=3 + i) for i in range(6)}
    reports = lake.merge_many(frames)
    assert list(reports) == list(frames)
    assert [r.appended for r in reports.values()] == [3, 4, 5, 6, 7, 8]
    again = lake.merge_many(frames)  # idempotent
    assert all(not r.written and r.unchanged == r.rows_after for r in again.values())
    bad = {"NYSE:M0": candles("2024-02-01", n=2), "NYSE:M1": _nan_price(candles(n=4))}
    with pytest.raises(SchemaError, match="NYSE:M1"):
        lake.merge_many({**bad, "NYSE:NEW": candles()})
    assert lake.coverage("NYSE:M0").n == 5 and lake.has("NYSE:NEW")  # the others completed


def test_empty_new_frame_is_a_no_op(lake: Lakehouse) -> None:
    lake.merge(SYMBOL, candles(n=3))
    report = lake.merge(SYMBOL, candles(n=0))
    assert not report.written and report.rows_after == 3


# ----------------------------------------------------------------------------- bad input


def _nan_price(f: pd.DataFrame) -> pd.DataFrame:
    f.loc[2, "close"] = np.nan
    return f


def _inf_price(f: pd.DataFrame) -> pd.DataFrame:
    f.loc[2, "high"] = np.inf
    return f


def _negative_price(f: pd.DataFrame) -> pd.DataFrame:
    f.loc[2, "low"] = -1.0
    return f


def _negative_volume(f: pd.DataFrame) -> pd.DataFrame:
    f.loc[2, "volume"] = -5.0
    return f


def _missing_column(f: pd.DataFrame) -> pd.DataFrame:
    return f.drop(columns=["low"])


def _duplicated(f: pd.DataFrame) -> pd.DataFrame:
    sessions = list(f["session"])
    sessions[2] = sessions[1]
    f["session"] = sessions
    return f


def _unsorted(f: pd.DataFrame) -> pd.DataFrame:
    return f.iloc[[0, 1, 3, 2, 4]].reset_index(drop=True)


def _no_session(f: pd.DataFrame) -> pd.DataFrame:
    f["session"] = f["session"].astype(object)
    f.loc[2, "session"] = None
    return f


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        (_nan_price, "row 2"),
        (_inf_price, "row 2"),
        (_negative_price, "row 2"),
        (_negative_volume, "row 2"),
        (_missing_column, "missing columns ['low']"),
        (_duplicated, "rows 1 and 2"),
        (_unsorted, "row 3"),
        (_no_session, "row 2"),
    ],
    ids=["nan", "inf", "negative", "negative-volume", "missing-col", "dup", "unsorted", "nat"],
)
def test_bad_input_raises_and_leaves_the_file_untouched(
    lake: Lakehouse, corrupt: object, expected: str
) -> None:
    lake.merge(SYMBOL, candles(n=5))
    before = file_bytes(lake, SYMBOL)
    bad = corrupt(candles("2024-01-04", n=5, base=103.0))  # type: ignore[operator]
    with pytest.raises(SchemaError) as info:
        lake.merge(SYMBOL, bad)
    message = str(info.value)
    assert SYMBOL in message and expected in message
    assert file_bytes(lake, SYMBOL) == before
    assert leftovers(lake) == []


def test_bad_input_for_a_new_symbol_creates_no_file(lake: Lakehouse) -> None:
    with pytest.raises(SchemaError, match="NEW:SYM"):
        lake.merge("NEW:SYM", _nan_price(candles()))
    assert not lake.has("NEW:SYM")


def test_not_a_frame_is_a_schema_error(lake: Lakehouse) -> None:
    with pytest.raises(SchemaError, match="DataFrame"):
        lake.merge(SYMBOL, [1, 2, 3])  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- corrupt files


def test_truncated_parquet_raises_corrupt_file_error_naming_the_path(lake: Lakehouse) -> None:
    lake.merge(SYMBOL, candles(n=50))
    lake.merge("NYSE:KEEP", candles(n=5))
    path = Path(lake.path(SYMBOL))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError) as info:
        lake.read(SYMBOL)
    assert str(path) in str(info.value)
    with pytest.raises(CorruptFileError):
        lake.merge(SYMBOL, candles("2024-03-01", n=2))
    with pytest.raises(CorruptFileError):
        lake.read_many([SYMBOL, "NYSE:KEEP"])
    # nothing was deleted or repaired behind our back
    assert path.read_bytes() == data[: len(data) // 2]
    assert lake.symbols() == [SYMBOL, "NYSE:KEEP"]
    assert len(lake.read("NYSE:KEEP")) == 5


def test_garbage_and_foreign_schema_files_are_corrupt(lake: Lakehouse) -> None:
    lake.merge(SYMBOL, candles())
    Path(lake.path(SYMBOL)).write_bytes(b"not parquet at all")
    with pytest.raises(CorruptFileError, match=r"BINANCE_BTCUSDT\.P_1d\.parquet"):
        lake.read(SYMBOL)
    other = pa.table({"session": pa.array([1, 2]), "price": pa.array([1.0, 2.0])})
    pq.write_table(other, lake.path("X:FOREIGN"))
    with pytest.raises(CorruptFileError, match="candle schema"):
        lake.read("X:FOREIGN")


# ----------------------------------------------------------------------------- atomicity


def test_failed_write_leaves_old_file_and_no_temporary(
    lake: Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake.merge(SYMBOL, candles(n=5))
    before = file_bytes(lake, SYMBOL)
    real_write = lakehouse_module.pq.write_table

    def half_write(table: pa.Table, sink: pa.NativeFile, **kwargs: object) -> None:
        sink.write(b"PAR1 partial")
        raise OSError("disk full")

    monkeypatch.setattr(lakehouse_module.pq, "write_table", half_write)
    with pytest.raises(OSError, match="disk full"):
        lake.merge(SYMBOL, candles("2024-01-06", n=2, base=105.0))
    with pytest.raises(OSError, match="disk full"):
        lake.merge("NEW:ONE", candles())
    monkeypatch.setattr(lakehouse_module.pq, "write_table", real_write)
    assert file_bytes(lake, SYMBOL) == before
    assert leftovers(lake) == []
    assert lake.symbols() == [SYMBOL]


class _FailingMove:
    """Delegates to a real filesystem but fails every move (a crash before the rename)."""

    def __init__(self, inner: object):
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def move(self, src: str, dest: str) -> None:
        raise OSError("rename failed")


def test_failed_move_keeps_the_old_file_and_removes_the_temporary(lake: Lakehouse) -> None:
    lake.merge(SYMBOL, candles(n=5))
    before = file_bytes(lake, SYMBOL)
    lake.filesystem = _FailingMove(lake.filesystem)  # type: ignore[assignment]
    with pytest.raises(OSError, match="rename failed"):
        lake.merge(SYMBOL, candles("2024-01-06", n=2, base=105.0))
    assert file_bytes(lake, SYMBOL) == before
    assert leftovers(lake) == []


def test_a_folder_in_place_of_a_file_is_reported(lake: Lakehouse) -> None:
    Path(lake.path(SYMBOL)).mkdir(parents=True)
    with pytest.raises(CorruptFileError, match=r"BINANCE_BTCUSDT\.P_1d\.parquet"):
        lake.read(SYMBOL)


# ----------------------------------------------------------------------------- file names


TRAVERSAL = ["../x", "A/B", "..", ".", "x\\y", "a\x00b", "NYSE:../../etc/passwd", "./a", ":", "_"]


@pytest.mark.parametrize("symbol", [*TRAVERSAL, "A:B:C", "a_b:c_d", "%2F:%", "ÉTÉ:€", "BF.B"])
def test_hostile_symbols_stay_inside_and_round_trip(lake: Lakehouse, symbol: str) -> None:
    name = symbol_to_filename(symbol)
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert not name.startswith(".") and name.endswith("_1d.parquet")
    assert filename_to_symbol(name) == symbol
    assert PurePosixPath(lake.path(symbol)).parent == PurePosixPath(lake.root)
    lake.merge(symbol, candles())
    assert os.listdir(lake.root) == [name]
    assert lake.symbols() == [symbol]
    assert len(lake.read(symbol)) == 5
    assert lake.delete(symbol) and not lake.delete(symbol)
    assert os.listdir(lake.root) == []


def test_known_file_names() -> None:
    assert symbol_to_filename("NASDAQ:AAPL") == "NASDAQ_AAPL_1d.parquet"
    assert symbol_to_filename("FX_IDC:EURUSD") == "FX%5FIDC_EURUSD_1d.parquet"
    assert symbol_to_filename("A/B") == "A%2FB_1d.parquet"
    assert symbol_to_filename("..") == "%2E._1d.parquet"
    assert filename_to_symbol("BINANCE_BTCUSDT_1d.parquet") == "BINANCE:BTCUSDT"


@pytest.mark.parametrize(
    "name",
    [
        "a_b_c_1d.parquet",  # too many separators
        "x%2f_1d.parquet",  # lower-case escape is not canonical
        "%41_1d.parquet",  # 'A' needs no escape
        "%G1_1d.parquet",
        "a b_1d.parquet",
        ".hidden_1d.parquet",
        "portfolio_actual_state.json",
        "_1d.parquet",
        "%FF_1d.parquet",  # not UTF-8
    ],
)
def test_foreign_file_names_are_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="not a lakehouse file name"):
        filename_to_symbol(name)


def test_empty_and_too_long_symbols_are_refused() -> None:
    with pytest.raises(DataError, match="non-empty"):
        symbol_to_filename("")
    with pytest.raises(DataError, match="too long"):
        symbol_to_filename("X:" + "€" * 100)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_file_names_round_trip_and_stay_in_the_root(symbol: str) -> None:
    try:
        name = symbol_to_filename(symbol)
    except DataError:
        return  # only refused for names over 255 bytes
    assert filename_to_symbol(name) == symbol
    root = "/srv/lake"
    path = PurePosixPath(f"{root}/{name}")
    assert path.parent == PurePosixPath(root) and path.name == name
    assert name not in (".", "..") and not name.startswith(".")
    assert set(name) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_%")


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=12))
def test_file_names_round_trip_through_a_filesystem(symbol: str) -> None:
    lake = Lakehouse("mock://")
    lake.merge(symbol, candles(n=2))
    assert lake.symbols() == [symbol]
    assert len(lake.read(symbol)) == 2


def test_symbols_ignore_other_files(lake: Lakehouse) -> None:
    lake.merge("NASDAQ:AAPL", candles())
    lake.merge("AMEX:SPY", candles())
    root = Path(lake.root)
    (root / "portfolio_actual_state.json").write_text("{}")
    (root / ".tmp-abc-NASDAQ_X_1d.parquet.tmp").write_bytes(b"x")
    (root / "sub_1d.parquet").mkdir()
    assert lake.symbols() == ["AMEX:SPY", "NASDAQ:AAPL"]


# ----------------------------------------------------------------------------- queries


def test_missing_listing(lake: Lakehouse) -> None:
    assert not lake.has("NYSE:NONE")
    with pytest.raises(ListingNotStoredError, match="NYSE:NONE") as info:
        lake.read("NYSE:NONE")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, DataError)
    assert lake.read("NYSE:NONE", missing_ok=True).empty
    assert list(lake.read("NYSE:NONE", missing_ok=True).columns) == list(CANDLE_COLUMNS)
    assert lake.last_session("NYSE:NONE") is None
    assert lake.coverage("NYSE:NONE") == Coverage(None, None, 0)
    assert lake.symbols() == []  # the root folder does not even exist yet
    assert not lake.delete("NYSE:NONE")


def test_coverage_last_session_has_delete(lake: Lakehouse) -> None:
    lake.merge(SYMBOL, candles("2024-02-27", n=4))
    assert lake.has(SYMBOL)
    first, last, n = lake.coverage(SYMBOL)
    assert (first, last, n) == (date(2024, 2, 27), date(2024, 3, 1), 4)
    assert lake.last_session(SYMBOL) == date(2024, 3, 1)
    assert lake.delete(SYMBOL) and not lake.has(SYMBOL)


def test_read_many_matches_read(lake: Lakehouse) -> None:
    symbols = [f"NYSE:S{i:03d}" for i in range(24)]
    for i, symbol in enumerate(symbols):
        lake.merge(symbol, candles(n=10 + i, base=10.0 + i))
    many = lake.read_many(reversed(symbols))
    assert list(many) == list(reversed(symbols))
    for symbol in symbols:
        pd.testing.assert_frame_equal(many[symbol], lake.read(symbol))
    with pytest.raises(ListingNotStoredError):
        lake.read_many([*symbols, "NYSE:NONE"])
    assert lake.read_many(["NYSE:NONE"], missing_ok=True)["NYSE:NONE"].empty


def test_data_signature(lake: Lakehouse) -> None:
    lake.merge("A:ONE", candles(n=5))
    lake.merge("B:TWO", candles(n=6))
    sig = lake.data_signature()
    assert len(sig) == 64
    assert sig == lake.data_signature(["B:TWO", "A:ONE", "A:ONE"])
    assert sig != lake.data_signature(["A:ONE"])
    assert sig != lake.data_signature(["A:ONE", "B:TWO", "C:MISSING"])
    other = Lakehouse(Path(lake.root).parent / "copy")
    other.merge("A:ONE", candles(n=5))
    other.merge("B:TWO", candles(n=6))
    assert other.data_signature() == sig  # same data, another folder: same signature
    changed = candles(n=6)
    changed.loc[5, "close"] = 105.5  # a final bar: a conflict, the signature is unchanged
    lake.merge("B:TWO", changed)
    assert lake.data_signature() == sig
    lake.merge("B:TWO", candles("2024-01-07", n=1, base=110.0))
    assert lake.data_signature() != sig


# ----------------------------------------------------------------------------- URIs


@pytest.mark.parametrize("kind", ["mock", "file"])
def test_uri_roots(tmp_path: Path, kind: str) -> None:
    uri = "mock://" if kind == "mock" else (tmp_path / "uri lake").as_uri()
    lake = Lakehouse(uri)
    report = lake.merge(SYMBOL, candles(n=5))
    assert report.written
    lake.merge(SYMBOL, candles("2024-01-06", n=2, base=105.0))
    assert lake.symbols() == [SYMBOL]
    assert len(lake.read(SYMBOL)) == 7
    assert lake.coverage(SYMBOL).n == 7
    assert list(lake.read_many([SYMBOL])) == [SYMBOL]
    if kind == "file":
        assert (tmp_path / "uri lake" / "BINANCE_BTCUSDT.P_1d.parquet").is_file()
        assert Lakehouse(tmp_path / "uri lake").data_signature() == lake.data_signature()
    assert lake.delete(SYMBOL) and lake.symbols() == []


def test_bad_uri_is_a_data_error() -> None:
    with pytest.raises(DataError, match="nosuchscheme"):
        Lakehouse("nosuchscheme://bucket/lake")
