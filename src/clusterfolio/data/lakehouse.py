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
write removes its temporary file. One process should write a given lakehouse at a time. A batch
(:meth:`Lakehouse.merge_batch`) writes every temporary file, makes them durable together (one
``syncfs`` on Linux), then moves them; see :mod:`clusterfolio.data.atomic_files`.

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

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from clusterfolio.data.atomic_files import AtomicFiles, join_path
from clusterfolio.data.filenames import FILE_SUFFIX, filename_to_symbol, symbol_to_filename
from clusterfolio.data.merging import (
    MERGE_RTOL,
    META_PARTIAL,
    META_SOURCE,
    MergeConflict,
    MergeReport,
    check_new,
    check_new_many,
    plan_merge,
)
from clusterfolio.data.schema import CANDLE_SCHEMA, empty_candles
from clusterfolio.errors import CorruptFileError, DataError

__all__ = [
    "FILE_SUFFIX",
    "MERGE_RTOL",
    "META_PARTIAL",
    "META_SOURCE",
    "Coverage",
    "Lakehouse",
    "ListingNotStoredError",
    "MergeConflict",
    "MergeReport",
    "SourceMismatchError",
    "coverage_of",
    "filename_to_symbol",
    "symbol_to_filename",
]

_T = TypeVar("_T")


class ListingNotStoredError(DataError, FileNotFoundError):
    """The lakehouse holds no file for the requested listing (the message names symbol and path)."""


class SourceMismatchError(CorruptFileError):
    """A stored file belongs to another source than the lakehouse reading it."""


def _today() -> date:
    """The wall-clock date (UTC): a bar of this session or later may still be partial."""
    return datetime.now(UTC).date()


class Coverage(NamedTuple):
    """First and last stored session and the number of stored sessions of one listing."""

    first: date | None
    last: date | None
    n: int


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


def _frame_from_table(table: pa.Table) -> pd.DataFrame:
    # the stored table carries no pandas metadata: a plain conversion with a RangeIndex
    # (timestamp[ns] -> datetime64[ns], float64 -> float64; about 3x faster than a dict of arrays)
    return table.to_pandas(use_threads=False)


def coverage_of(table: pa.Table | None) -> Coverage:
    """``(first, last, n)`` of a stored table (``(None, None, 0)`` for ``None`` or no rows)."""
    if table is None or table.num_rows == 0:
        return Coverage(None, None, 0)
    sessions = table.column("session")
    first, last = sessions[0].as_py(), sessions[-1].as_py()
    return Coverage(pd.Timestamp(first).date(), pd.Timestamp(last).date(), table.num_rows)


# ----------------------------------------------------------------------------- the store


class Lakehouse(AtomicFiles):
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
            join_path(self.root, "quarantine")
            if quarantine_root is None
            else _resolve_root(quarantine_root)[1]
        )

    def __repr__(self) -> str:
        return f"Lakehouse({self.uri!r})"

    # -- paths -------------------------------------------------------------------------

    def path(self, symbol: str) -> str:
        """Return the filesystem path of ``symbol``'s file (always directly under the root)."""
        return join_path(self.root, symbol_to_filename(symbol))

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
        target = join_path(self.quarantine_root, f"{symbol_to_filename(symbol)}.{stamp}")
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
        return coverage_of(self._read_table(symbol, columns=["session"]))

    def read_tables(self, symbols: Sequence[str]) -> list[pa.Table | CorruptFileError | None]:
        """Read several stored tables concurrently, as :meth:`merge_batch` takes them.

        Returns
        -------
        list
            Per symbol, in order: the table with its metadata, ``None`` (nothing stored) or the
            :class:`CorruptFileError` that reading it raised (nothing is raised here).
        """

        def read(symbol: str) -> pa.Table | CorruptFileError | None:
            try:
                return self._read_table(symbol)
            except CorruptFileError as exc:
                return exc

        return self._map(read, symbols)

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

    def _stamped(self, table: pa.Table) -> pa.Table:
        """The table with its metadata: the source, and the last session when it may be partial."""
        meta = {META_SOURCE: self.source.encode("ascii")} if self.source else {}
        if table.num_rows:
            last = pd.Timestamp(table.column("session")[-1].as_py()).date()
            if last >= _today():
                meta[META_PARTIAL] = last.isoformat().encode("ascii")
        return table.replace_schema_metadata(meta or None)

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
        incoming = check_new(symbol, new)
        report, table = plan_merge(
            symbol, self._read_table(symbol), incoming, partial_last=partial_last
        )
        if table is not None:
            self._atomic_write(symbol, table)
            report.written = True
        return report

    def merge_many(
        self, frames: Mapping[str, pd.DataFrame], *, partial_last: bool = True
    ) -> dict[str, MergeReport]:
        """Merge a batch of listings (see :meth:`merge_batch`); raise the first failure.

        The listings that can be merged are merged; when one fails (invalid new bars, an
        unreadable stored file), the first failure in the order given is raised after the
        others completed.

        Returns
        -------
        dict
            ``symbol -> MergeReport`` in the order given.
        """
        reports, failures = self.merge_batch(frames, partial_last=partial_last)
        for symbol in frames:
            if symbol in failures:
                raise failures[symbol]
        return reports

    def merge_batch(
        self,
        frames: Mapping[str, pd.DataFrame],
        *,
        partial_last: bool = True,
        stored: Mapping[str, pa.Table | None] | None = None,
    ) -> tuple[dict[str, MergeReport], dict[str, DataError | OSError]]:
        """Merge a batch of listings: one validation pass, then one commit for the batch.

        The new bars of every listing are validated together
        (:func:`~clusterfolio.data.merging.check_new_many`); each listing's file is read once
        (or taken from ``stored``, the tables the caller has just read with
        :meth:`read_tables`: ``None`` for nothing stored) and its merge decided as by
        :meth:`merge`; the new files are written to temporary files concurrently, made durable
        (:meth:`_flush`: one ``syncfs`` on Linux, else an fsync per file), moved over the old
        ones concurrently, and the folder is fsync-ed once. A crash (or a kill) before a move leaves that
        listing's old file, after it the new complete one: never a partial file, never a lost
        bar; merging the same data again is idempotent, so a killed batch is simply re-run.
        A failure while writing the temporary files abandons the whole batch (nothing stored
        changes) and is raised.

        Returns
        -------
        tuple of dict
            ``symbol -> MergeReport`` of the listings merged (in the order given), and
            ``symbol -> error`` of those left as they are (invalid new bars, unreadable file).
        """
        checked, errors = check_new_many(frames)
        failures: dict[str, DataError | OSError] = dict(errors)

        tables: dict[str, pa.Table | None] = dict(stored or {})

        def read(symbol: str) -> pa.Table | DataError | OSError | None:
            try:
                return self._read_table(symbol)
            except (DataError, OSError) as exc:
                return exc

        unread = [s for s in checked if s not in tables]  # the reads wait: threads
        for symbol, table in zip(unread, self._map(read, unread), strict=True):
            if isinstance(table, DataError | OSError):
                failures[symbol] = table
            else:
                tables[symbol] = table
        planned: dict[str, tuple[MergeReport, pa.Table | None]] = {}
        for symbol in checked:  # the plans compute: one thread, no hand-offs
            if symbol in failures:
                continue
            try:
                planned[symbol] = plan_merge(
                    symbol, tables[symbol], checked[symbol], partial_last=partial_last
                )
            except (DataError, OSError) as exc:
                failures[symbol] = exc
        self._commit({s: t for s, (_, t) in planned.items() if t is not None})
        for report, table in planned.values():
            report.written = table is not None
        return {s: planned[s][0] for s in frames if s in planned}, failures

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
