"""Atomic, durable replacement of the files of one folder (the write side of the lakehouse).

A file is written to a hidden temporary file beside its target and moved over it
(``FileSystem.move``, atomic on one filesystem), so a crash leaves the old or the new file,
never a partial one, and a failed write removes its temporary file. On a local disk a single
write fsyncs the file and the folder; a batch (:meth:`AtomicFiles._commit`) writes every
temporary file first, makes them all durable at once (:func:`syncfs` on Linux: one journal
commit and one disk flush for the batch; elsewhere an fsync per file), then moves them into
place concurrently and fsyncs the folder once.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from clusterfolio.data.filenames import symbol_to_filename

_TMP_PREFIX = ".tmp-"
#: Threads moving a batch's temporary files into place (replacing a file waits on the disk).
_MOVE_WORKERS = 16
_T = TypeVar("_T")


def join_path(root: str, name: str) -> str:
    """``name`` inside the folder ``root`` of a pyarrow filesystem (``""``: relative)."""
    if not root:
        return name
    return f"{root}/{name}" if root != "/" else f"/{name}"


def syncfs(folder: str) -> bool:
    """Flush every written file of the filesystem holding ``folder`` to disk in one call.

    Linux ``syncfs(2)`` (errors of the writeback are reported since Linux 5.8): one journal
    commit and one disk flush for a whole batch instead of one per file. Returns ``False``
    where it is not available (the caller then fsyncs file by file).
    """
    if not sys.platform.startswith("linux"):
        return False
    call = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
    if call is None:  # pragma: no cover - a libc without syncfs
        return False
    fd = os.open(folder, os.O_RDONLY)
    try:
        if call(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"syncfs {folder}: {os.strerror(err)}")
    finally:
        os.close(fd)
    return True


class AtomicFiles:
    """Atomic writes of one table per symbol under :attr:`root` (mixed into the lakehouse).

    The class using it provides the filesystem, the root folder, whether writes are durable,
    the file path of a symbol, the metadata stamped on a table and a concurrent map.
    """

    filesystem: pafs.FileSystem
    root: str
    durable: bool

    def path(self, symbol: str) -> str:  # pragma: no cover - provided by the lakehouse
        """The file of ``symbol``."""
        raise NotImplementedError

    def _stamped(self, table: pa.Table) -> pa.Table:  # pragma: no cover - as above
        raise NotImplementedError

    def _map(self, fn: Callable[[str], _T], symbols: Sequence[str]) -> list[_T]:  # pragma: no cover
        raise NotImplementedError

    def _fsync(self, path: str) -> None:
        if not self.durable or not isinstance(self.filesystem, pafs.LocalFileSystem):
            return
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _write_temp(self, symbol: str, table: pa.Table, *, fsync: bool = True) -> str:
        """Write ``table`` to a hidden temporary file beside ``symbol``'s file; fsync it unless
        the caller flushes the whole batch itself (``fsync=False``)."""
        name = symbol_to_filename(symbol)
        tmp = join_path(self.root, f"{_TMP_PREFIX}{uuid.uuid4().hex}-{name}.tmp")
        try:
            with self.filesystem.open_output_stream(tmp, compression=None) as sink:
                pq.write_table(
                    self._stamped(table),
                    sink,
                    compression="zstd",
                    use_dictionary=False,
                    write_statistics=True,
                )
            if fsync:
                self._fsync(tmp)
        except BaseException:
            self._drop_temp(tmp)
            raise
        return tmp

    def _drop_temp(self, tmp: str) -> None:
        with contextlib.suppress(OSError):  # FileNotFoundError included
            self.filesystem.delete_file(tmp)

    def _replace(self, tmp: str, symbol: str) -> None:
        """Move a complete temporary file over ``symbol``'s file (atomic on one filesystem)."""
        self.filesystem.move(tmp, self.path(symbol))

    def _sync_root(self) -> None:
        if self.root:
            with contextlib.suppress(OSError):  # some systems cannot fsync a folder
                self._fsync(self.root)

    def _atomic_write(self, symbol: str, table: pa.Table) -> None:
        if self.root:
            self.filesystem.create_dir(self.root, recursive=True)
        tmp = self._write_temp(symbol, table)
        try:
            self._replace(tmp, symbol)
        except BaseException:
            self._drop_temp(tmp)
            raise
        self._sync_root()

    def _commit(self, tables: Mapping[str, pa.Table]) -> None:
        """Write every table to a temporary file, flush them all, then move them into place.

        Nothing is moved before every temporary file is durable; the moves run concurrently
        (replacing a file waits on the disk), each one atomic, and the folder is fsync-ed once
        at the end. A failure before the moves removes every temporary file; a failed move
        removes the temporary files not moved and is raised.
        """
        if not tables:
            return
        if self.root:
            self.filesystem.create_dir(self.root, recursive=True)
        symbols = list(tables)
        temps: dict[str, str] = {}

        def write(symbol: str) -> None:
            temps[symbol] = self._write_temp(symbol, tables[symbol], fsync=False)

        def move(symbol: str) -> BaseException | None:
            try:
                self._replace(temps[symbol], symbol)
            except BaseException as exc:  # reported after the other moves completed
                return exc
            del temps[symbol]
            return None

        try:  # encoding and compressing: as many threads as the reads use
            self._map(write, symbols)
            self._flush(list(temps.values()))
        except BaseException:
            for tmp in temps.values():
                self._drop_temp(tmp)
            raise
        workers = min(_MOVE_WORKERS, len(symbols))
        with ThreadPoolExecutor(workers, thread_name_prefix="lakehouse-move") as pool:
            failed = [exc for exc in pool.map(move, symbols) if exc is not None]
        for tmp in temps.values():  # the moves that failed
            self._drop_temp(tmp)
        if failed:
            raise failed[0]
        self._sync_root()

    def _flush(self, paths: Sequence[str]) -> None:
        """Make the written ``paths`` durable: one ``syncfs`` where available, else an fsync
        per file (concurrent); nothing on a remote filesystem or when not ``durable``."""
        if not self.durable or not isinstance(self.filesystem, pafs.LocalFileSystem):
            return
        if not paths or syncfs(self.root or "/"):
            return
        self._map(self._fsync, paths)  # pragma: no cover - not Linux
