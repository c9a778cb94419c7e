"""The lakehouse: one Parquet candle file per listing, append-only with an overlap check.

Layout
------
``<root>/<EXCHANGE>_<TICKER>_1d.parquet`` with the Arrow schema
:data:`clusterfolio.data.schema.CANDLE_SCHEMA`. The root is a local folder or a filesystem URI
understood by :meth:`pyarrow.fs.FileSystem.from_uri` (``file:///srv/lake``, ``s3://bucket/lake``,
``mock://`` for tests); every read, write, listing and move goes through :mod:`pyarrow.fs`.
Other files beside the candle files (``portfolio_actual_state.json`` ...) are ignored.

File names
----------
:func:`symbol_to_filename` and :func:`filename_to_symbol` (see :mod:`clusterfolio.data.filenames`).

Merging
-------
:meth:`Lakehouse.merge` validates the new candles and never rewrites stored history silently:

* sessions the store lacks are added (after the last stored session: *appended*; before it:
  *backfilled*); nothing stored is modified by them;
* an overlapping session whose values agree (relative tolerance ``1e-9`` on open, high, low,
  close and volume) is left as it is;
* the **last stored session** may have been written before its session closed (a *partial*
  bar): only when the file records it as partial (its session was on or after the wall-clock
  date of the write, ``clusterfolio.partial`` in the Parquet metadata) does a different new bar
  replace it; a bar written after its session closed is final and a different one is a conflict;
* any other overlapping session that differs is a **conflict**: the stored bar is kept and the
  conflict (symbol, session, stored and new values) is recorded in the :class:`MergeReport`.

Writes are atomic: the new file is written to a hidden temporary file in the same folder and
moved over the old one (``FileSystem.move``; on a local disk the data and the folder are also
fsync-ed), so a crash leaves either the old or the new file, never a partial one, and a failed
write removes its temporary file. One process should write a given lakehouse at a time.

Sources
-------
A lakehouse built with ``source=KEY`` (see :mod:`clusterfolio.data.source`) stamps every file it
writes with ``clusterfolio.source=KEY`` and refuses to read or merge a file stamped with another
key (:class:`SourceMismatchError`, a :class:`CorruptFileError`): one folder, one source.
:meth:`Lakehouse.quarantine` moves an unreadable file aside with the reason, so it can be
fetched again while its bytes are kept for inspection.

Missing listings
----------------
:meth:`Lakehouse.read` raises :class:`ListingNotStoredError` (a :class:`DataError` and a
:class:`FileNotFoundError`) for a listing without a file, unless ``missing_ok=True`` (then an
empty canonical frame); :meth:`Lakehouse.has` tells first. :meth:`last_session` and
:meth:`coverage` answer ``None`` / ``(None, None, 0)`` for a missing listing, which is what an
incremental download needs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from clusterfolio.data.filenames import FILE_SUFFIX, filename_to_symbol, symbol_to_filename
from clusterfolio.data.schema import CANDLE_SCHEMA, empty_candles, validate_candles
from clusterfolio.errors import CorruptFileError, DataError, SchemaError

__all__ = [
    "FILE_SUFFIX",
    "MERGE_RTOL",
    "Coverage",
    "Lakehouse",
    "ListingNotStoredError",
    "MergeConflict",
    "MergeReport",
    "SourceMismatchError",
    "filename_to_symbol",
    "symbol_to_filename",
]

#: Relative tolerance under which a stored and a new bar are the same bar.
MERGE_RTOL = 1e-9
_VALUE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
_TMP_PREFIX = ".tmp-"
_T = TypeVar("_T")


class ListingNotStoredError(DataError, FileNotFoundError):
    """The lakehouse holds no file for the requested listing (the message names symbol and path)."""


class SourceMismatchError(CorruptFileError):
    """A stored file belongs to another source than the lakehouse reading it."""


#: Parquet metadata keys of a candle file.
META_SOURCE = b"clusterfolio.source"
META_PARTIAL = b"clusterfolio.partial"


def _today() -> date:
    """The wall-clock date (UTC): a bar of this session or later may still be partial."""
    return datetime.now(UTC).date()


class Coverage(NamedTuple):
    """First and last stored session and the number of stored sessions of one listing."""

    first: date | None
    last: date | None
    n: int


# ----------------------------------------------------------------------------- merge report


@dataclass(frozen=True)
class MergeConflict:
    """A stored session that a merge wanted to change: the stored bar was kept."""

    symbol: str
    session: date
    stored: dict[str, float]
    new: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary."""
        return {
            "symbol": self.symbol,
            "session": self.session.isoformat(),
            "stored": dict(self.stored),
            "new": dict(self.new),
        }


@dataclass
class MergeReport:
    """What :meth:`Lakehouse.merge` did to one listing.

    Attributes
    ----------
    symbol : str
        The listing.
    rows_before, rows_after : int
        Stored sessions before and after the merge.
    appended : int
        New sessions after the last stored session.
    backfilled : int
        New sessions before the last stored session that the store lacked.
    unchanged : int
        Overlapping sessions whose values agree within :data:`MERGE_RTOL`.
    replaced_partial : date or None
        The last stored session when a different new bar replaced it (a partial bar).
    conflicts : list of MergeConflict
        Overlapping sessions that differ: the stored history was kept.
    written : bool
        Whether the file was (re)written; ``False`` when nothing changed.
    """

    symbol: str
    rows_before: int = 0
    rows_after: int = 0
    appended: int = 0
    backfilled: int = 0
    unchanged: int = 0
    replaced_partial: date | None = None
    conflicts: list[MergeConflict] = field(default_factory=list)
    written: bool = False

    @property
    def has_conflicts(self) -> bool:
        """Whether some stored session disagreed with the new data."""
        return bool(self.conflicts)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary."""
        return {
            "symbol": self.symbol,
            "rows_before": self.rows_before,
            "rows_after": self.rows_after,
            "appended": self.appended,
            "backfilled": self.backfilled,
            "unchanged": self.unchanged,
            "replaced_partial": (
                None if self.replaced_partial is None else self.replaced_partial.isoformat()
            ),
            "conflicts": [c.as_dict() for c in self.conflicts],
            "written": self.written,
        }


# ----------------------------------------------------------------------------- helpers


def _resolve_root(root: str | Path) -> tuple[pafs.FileSystem, str]:
    text = str(root)
    if isinstance(root, str) and "://" in root:
        try:
            filesystem, path = pafs.FileSystem.from_uri(root)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, ValueError) as exc:
            raise DataError(
                f"lakehouse root {root!r} is not a usable filesystem URI ({exc})"
            ) from exc
        return filesystem, path.rstrip("/")
    return pafs.LocalFileSystem(), Path(text).expanduser().absolute().as_posix().rstrip("/") or "/"


def _join(root: str, name: str) -> str:
    if not root:
        return name
    return f"{root}/{name}" if root != "/" else f"/{name}"


def _check_new(symbol: str, new: pd.DataFrame) -> pd.DataFrame:
    """Validate incoming candles, naming the symbol and the offending row."""
    if not isinstance(new, pd.DataFrame):
        raise SchemaError(f"{symbol}: candles must be a pandas DataFrame, got {type(new).__name__}")
    if "session" in new.columns and len(new):
        column = new["session"]
        try:
            if column.dtype == np.dtype("datetime64[ns]"):  # the common case, without parsing
                values = column.to_numpy().astype("datetime64[D]").astype("datetime64[ns]")
            else:
                sessions = pd.to_datetime(column)
                if sessions.dt.tz is not None:
                    sessions = sessions.dt.tz_localize(None)
                values = sessions.dt.normalize().to_numpy(dtype="datetime64[ns]")
        except (ValueError, TypeError, OverflowError) as exc:
            raise SchemaError(f"{symbol}: column 'session' is not a date ({exc})") from exc
        nat = np.isnat(values)
        if nat.any():
            raise SchemaError(f"{symbol}: row {int(np.argmax(nat))} has no session date")
        back = np.flatnonzero(values[1:] < values[:-1])
        if back.size:
            i = int(back[0]) + 1
            raise SchemaError(
                f"{symbol}: row {i} (session {pd.Timestamp(values[i]).date()}) comes after row "
                f"{i - 1} (session {pd.Timestamp(values[i - 1]).date()}): sessions must be "
                "sorted ascending"
            )
        same = np.flatnonzero(values[1:] == values[:-1])
        if same.size:
            i = int(same[0]) + 1
            raise SchemaError(
                f"{symbol}: rows {i - 1} and {i} share session {pd.Timestamp(values[i]).date()}: "
                "duplicated session"
            )
    return validate_candles(new, source=symbol)


def _table_from_frame(frame: pd.DataFrame) -> pa.Table:
    arrays = [pa.array(frame["session"].to_numpy(dtype="datetime64[ns]"), type=pa.timestamp("ns"))]
    arrays += [
        pa.array(frame[c].to_numpy(dtype="float64"), type=pa.float64()) for c in _VALUE_COLUMNS
    ]
    return pa.Table.from_arrays(arrays, schema=CANDLE_SCHEMA)


def _frame_from_table(table: pa.Table) -> pd.DataFrame:
    # the stored table carries no pandas metadata: a plain conversion with a RangeIndex
    # (timestamp[ns] -> datetime64[ns], float64 -> float64; about 3x faster than a dict of arrays)
    return table.to_pandas(use_threads=False)


def _values(row: np.ndarray) -> dict[str, float]:
    return {c: float(v) for c, v in zip(_VALUE_COLUMNS, row.tolist(), strict=True)}


# ----------------------------------------------------------------------------- the store


class Lakehouse:
    """A folder of daily candle files, one per listing.

    Parameters
    ----------
    root : str or Path
        Local folder, or a filesystem URI (``file:///...``, ``mock://``, ``s3://...``).
    max_workers : int, optional
        Threads used by :meth:`read_many` and :meth:`data_signature` (default: 2 x CPUs,
        at most 16; raise it for a remote filesystem, where reads wait on the network).
    durable : bool
        On a local disk, fsync the new file and its folder on every write (default ``True``).
    source : str
        Key of the source this folder belongs to (stamped on writes, checked on reads; empty:
        no check, for tools and tests).
    quarantine_root : str or Path, optional
        Where :meth:`quarantine` moves corrupt files (default ``<root>/quarantine``), on the
        same filesystem.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        max_workers: int | None = None,
        durable: bool = True,
        source: str = "",
        quarantine_root: str | Path | None = None,
    ):
        self.filesystem, self.root = _resolve_root(root)
        self.uri = str(root)
        self.max_workers = max_workers or min(16, 2 * (os.cpu_count() or 1))
        self.durable = durable
        self.source = source
        self.quarantine_root = (
            _join(self.root, "quarantine")
            if quarantine_root is None
            else _resolve_root(quarantine_root)[1]
        )

    def __repr__(self) -> str:
        return f"Lakehouse({self.uri!r})"

    # -- paths -------------------------------------------------------------------------

    def path(self, symbol: str) -> str:
        """Return the filesystem path of ``symbol``'s file (always directly under the root)."""
        return _join(self.root, symbol_to_filename(symbol))

    def has(self, symbol: str) -> bool:
        """Whether a file is stored for ``symbol``."""
        info = self.filesystem.get_file_info(self.path(symbol))
        return bool(info.type == pafs.FileType.File)

    def symbols(self) -> list[str]:
        """Return the stored symbols, sorted (other files in the folder are ignored)."""
        selector = pafs.FileSelector(self.root, allow_not_found=True, recursive=False)
        out: list[str] = []
        for info in self.filesystem.get_file_info(selector):
            if info.type != pafs.FileType.File:
                continue
            try:
                out.append(filename_to_symbol(info.base_name))
            except ValueError:
                continue
        return sorted(out)

    # -- reading -----------------------------------------------------------------------

    def _read_table(self, symbol: str, columns: Sequence[str] | None = None) -> pa.Table | None:
        path = self.path(symbol)
        try:
            handle = self.filesystem.open_input_file(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            info = self.filesystem.get_file_info(path)
            if info.type == pafs.FileType.NotFound:
                return None
            raise CorruptFileError(f"{path}: cannot open ({exc})") from exc
        try:
            with handle:
                # ParquetFile.read skips the dataset machinery of pq.read_table (3x faster here)
                table = pq.ParquetFile(handle).read(
                    columns=list(columns) if columns else None, use_threads=False
                )
        except (pa.ArrowInvalid, pa.ArrowIOError, OSError, ValueError) as exc:
            raise CorruptFileError(f"{path}: corrupt or truncated Parquet ({exc})") from exc
        expected = (
            CANDLE_SCHEMA
            if columns is None
            else pa.schema([CANDLE_SCHEMA.field(c) for c in columns])
        )
        if not table.schema.remove_metadata().equals(expected):
            raise CorruptFileError(
                f"{path}: schema {table.schema.remove_metadata()} is not the candle schema"
            )
        stamped = (table.schema.metadata or {}).get(META_SOURCE, b"").decode("ascii", "replace")
        if self.source and stamped != self.source:
            raise SourceMismatchError(
                f"{path}: written by source {stamped or 'unknown'!r}, not by {self.source!r} "
                "(one folder, one source)"
            )
        return table

    def partial_session(self, symbol: str) -> date | None:
        """The stored session recorded as possibly partial when written (``None``: all final)."""
        table = self._read_table(symbol, columns=["session"])
        raw = None if table is None else (table.schema.metadata or {}).get(META_PARTIAL)
        return date.fromisoformat(raw.decode("ascii")) if raw else None

    def quarantine(self, symbol: str, reason: str) -> str:
        """Move ``symbol``'s file to the quarantine folder with a ``.reason.txt`` beside it.

        Returns
        -------
        str
            The path the file was moved to.
        """
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        target = _join(self.quarantine_root, f"{symbol_to_filename(symbol)}.{stamp}")
        self.filesystem.create_dir(self.quarantine_root, recursive=True)
        with self.filesystem.open_output_stream(f"{target}.reason.txt") as sink:
            sink.write(f"{symbol}: {reason}\n".encode())
        self.filesystem.move(self.path(symbol), target)
        return target

    def _missing(self, symbol: str) -> ListingNotStoredError:
        return ListingNotStoredError(f"{symbol}: no candles stored at {self.path(symbol)}")

    def read(self, symbol: str, *, missing_ok: bool = False) -> pd.DataFrame:
        """Return the stored candles of ``symbol`` (canonical frame, sorted by session).

        Parameters
        ----------
        symbol : str
            The listing.
        missing_ok : bool
            Return an empty frame instead of raising when nothing is stored.

        Raises
        ------
        ListingNotStoredError
            No file for ``symbol`` (and ``missing_ok`` is false).
        CorruptFileError
            The file is truncated, corrupt or not a candle file (the message names it).
        """
        table = self._read_table(symbol)
        if table is None:
            if missing_ok:
                return empty_candles()
            raise self._missing(symbol)
        return _frame_from_table(table)

    def _map(self, fn: Callable[[str], _T], symbols: Sequence[str]) -> list[_T]:
        if len(symbols) <= 1:
            return [fn(s) for s in symbols]
        workers = min(self.max_workers, len(symbols))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lakehouse") as pool:
            return list(pool.map(fn, symbols))

    def read_many(
        self, symbols: Iterable[str], *, missing_ok: bool = False
    ) -> dict[str, pd.DataFrame]:
        """Read several listings concurrently (threads; Parquet decoding releases the GIL).

        Returns
        -------
        dict
            ``symbol -> frame`` in the order asked (duplicates read once).

        Raises
        ------
        ListingNotStoredError, CorruptFileError
            As :meth:`read`, for the first failing symbol in the order asked.
        """
        wanted = list(dict.fromkeys(symbols))
        frames = self._map(lambda s: self.read(s, missing_ok=missing_ok), wanted)
        return dict(zip(wanted, frames, strict=True))

    def last_session(self, symbol: str) -> date | None:
        """Return the last stored session of ``symbol`` (``None`` when nothing is stored)."""
        return self.coverage(symbol).last

    def coverage(self, symbol: str) -> Coverage:
        """Return ``(first, last, n)`` of the stored sessions (``(None, None, 0)`` if missing)."""
        table = self._read_table(symbol, columns=["session"])
        if table is None or table.num_rows == 0:
            return Coverage(None, None, 0)
        sessions = table.column("session").to_numpy()
        return Coverage(
            pd.Timestamp(sessions[0]).date(), pd.Timestamp(sessions[-1]).date(), table.num_rows
        )

    def _signature_row(self, symbol: str) -> list[Any]:
        table = self._read_table(symbol, columns=["session", "close"])
        if table is None:
            return [symbol, 0, None, None]
        n = table.num_rows
        close = np.ascontiguousarray(table.column("close").to_numpy(), dtype="<f8")
        last = (
            pd.Timestamp(table.column("session").to_numpy()[-1]).date().isoformat() if n else None
        )
        return [symbol, n, last, hashlib.sha256(close.tobytes()).hexdigest()]

    def data_signature(self, symbols: Iterable[str] | None = None) -> str:
        """Return a SHA-256 over sorted ``(symbol, n rows, last session, sha256 of closes)``.

        Parameters
        ----------
        symbols : iterable of str, optional
            Listings to cover (default: every stored listing). A missing listing enters the
            signature as ``(symbol, 0, None, None)``.

        Returns
        -------
        str
            Hex digest, stable across runs and machines for the same stored data.
        """
        wanted = sorted(set(self.symbols() if symbols is None else symbols))
        rows = self._map(self._signature_row, wanted)
        payload = json.dumps(rows, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(payload.encode("ascii")).hexdigest()

    # -- writing -----------------------------------------------------------------------

    def _fsync(self, path: str) -> None:
        if not self.durable or not isinstance(self.filesystem, pafs.LocalFileSystem):
            return
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _atomic_write(self, symbol: str, frame: pd.DataFrame) -> None:
        final = self.path(symbol)
        name = symbol_to_filename(symbol)
        tmp = _join(self.root, f"{_TMP_PREFIX}{uuid.uuid4().hex}-{name}.tmp")
        last = frame["session"].iloc[-1] if len(frame) else None
        meta = {META_SOURCE: self.source.encode("ascii")} if self.source else {}
        if last is not None and pd.Timestamp(last).date() >= _today():
            meta[META_PARTIAL] = pd.Timestamp(last).date().isoformat().encode("ascii")
        table = _table_from_frame(frame).replace_schema_metadata(meta or None)
        if self.root:
            self.filesystem.create_dir(self.root, recursive=True)
        try:
            with self.filesystem.open_output_stream(tmp, compression=None) as sink:
                pq.write_table(
                    table, sink, compression="zstd", use_dictionary=False, write_statistics=True
                )
            self._fsync(tmp)
            self.filesystem.move(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):  # FileNotFoundError included
                self.filesystem.delete_file(tmp)
            raise
        if self.root:
            with contextlib.suppress(OSError):  # some systems cannot fsync a folder
                self._fsync(self.root)

    def merge(self, symbol: str, new: pd.DataFrame, *, partial_last: bool = True) -> MergeReport:
        """Merge new candles into ``symbol``'s history (see the module docstring).

        Parameters
        ----------
        symbol : str
            The listing.
        new : pandas.DataFrame
            Candles with :data:`CANDLE_COLUMNS`, sessions unique and ascending.
        partial_last : bool
            Let a different new bar replace the last stored session when the file records it
            as partial (written on or before its session's date). When false it is protected
            like any other stored session.

        Returns
        -------
        MergeReport

        Raises
        ------
        SchemaError
            Invalid new candles (missing columns, NaN/inf/non-positive prices, negative volume,
            duplicated or unsorted sessions), naming the symbol and the row. Nothing is written.
        CorruptFileError
            The stored file cannot be read; it is left as it is.
        """
        incoming = _check_new(symbol, new)
        table = self._read_table(symbol)
        stored = empty_candles() if table is None else _frame_from_table(table)
        raw_partial = None if table is None else (table.schema.metadata or {}).get(META_PARTIAL)
        report = MergeReport(symbol=symbol, rows_before=len(stored), rows_after=len(stored))
        if incoming.empty:
            return report
        if stored.empty:
            self._atomic_write(symbol, incoming)
            report.appended = report.rows_after = len(incoming)
            report.written = True
            return report

        s_sess = stored["session"].to_numpy()
        n_sess = incoming["session"].to_numpy()
        last = s_sess[-1]
        partial_last = partial_last and raw_partial == (
            pd.Timestamp(last).date().isoformat().encode("ascii")
        )
        pos = np.searchsorted(s_sess, n_sess)
        pos_clipped = np.minimum(pos, len(s_sess) - 1)
        overlap = s_sess[pos_clipped] == n_sess

        s_vals = stored.loc[:, list(_VALUE_COLUMNS)].to_numpy()
        n_vals = incoming.loc[:, list(_VALUE_COLUMNS)].to_numpy()
        result = stored.copy()
        for j in np.flatnonzero(overlap):
            i = int(pos_clipped[j])
            if np.allclose(s_vals[i], n_vals[j], rtol=MERGE_RTOL, atol=0.0):
                report.unchanged += 1
            elif partial_last and i == len(s_sess) - 1:
                result.iloc[i, 1:] = n_vals[j]
                report.replaced_partial = pd.Timestamp(s_sess[i]).date()
            else:
                report.conflicts.append(
                    MergeConflict(
                        symbol=symbol,
                        session=pd.Timestamp(s_sess[i]).date(),
                        stored=_values(s_vals[i]),
                        new=_values(n_vals[j]),
                    )
                )
        fresh = incoming.loc[~overlap]
        report.appended = int((fresh["session"].to_numpy() > last).sum())
        report.backfilled = len(fresh) - report.appended
        if report.replaced_partial is None and fresh.empty:
            return report
        if not fresh.empty:
            result = pd.concat([result, fresh], ignore_index=True)
            result = result.sort_values("session", kind="mergesort").reset_index(drop=True)
        self._atomic_write(symbol, result)
        report.rows_after = len(result)
        report.written = True
        return report

    def merge_many(
        self, frames: Mapping[str, pd.DataFrame], *, partial_last: bool = True
    ) -> dict[str, MergeReport]:
        """Merge several listings concurrently (threads overlap the fsync waits).

        Each listing is merged and written atomically on its own, as by :meth:`merge`. When one
        fails, the others still complete and the first failure (in the order given) is raised;
        merging the same data again is idempotent, so a failed batch can simply be re-run.

        Returns
        -------
        dict
            ``symbol -> MergeReport`` in the order given.
        """
        symbols = list(frames)

        def one(symbol: str) -> MergeReport | BaseException:
            try:
                return self.merge(symbol, frames[symbol], partial_last=partial_last)
            except (DataError, OSError) as exc:
                return exc

        results = self._map(one, symbols)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return {s: r for s, r in zip(symbols, results, strict=True) if isinstance(r, MergeReport)}

    def write(self, symbol: str, new: pd.DataFrame) -> MergeReport:
        """Alias of :meth:`merge`: the lakehouse never overwrites stored history silently.

        To replace a history on purpose, :meth:`delete` it first.
        """
        return self.merge(symbol, new)

    def delete(self, symbol: str) -> bool:
        """Delete ``symbol``'s file; return whether one existed."""
        try:
            self.filesystem.delete_file(self.path(symbol))
        except FileNotFoundError:
            return False
        return True
