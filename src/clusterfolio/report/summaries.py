"""Atomic replacement of the ``summaries/`` folder (outside the run directory).

The new set of files is written into a staging folder beside the target (same file system, every
file fsynced), then swapped in:

- on Linux, with ``renameat2(RENAME_EXCHANGE)``: the two folders trade places in one atomic
  step, so a reader sees the complete old set or the complete new set, never a mix and never
  nothing;
- elsewhere (or where the file system refuses the exchange), with two renames: the old folder
  moves aside, the staging folder takes its name. A reader may then find no ``summaries/`` for
  the instant between the two renames, but never a partial set.

The previous folder is deleted afterwards; a crash after the swap leaves a ``.summaries.old-*``
sibling that the next sync removes.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from clusterfolio.io import atomic_write_bytes

__all__ = ["replace_dir", "sync_summaries"]

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths (Linux ``renameat2``); False when unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_dir(staging: Path, target: Path) -> None:
    """Put the folder ``staging`` in place of ``target`` (see the module docstring).

    Parameters
    ----------
    staging : Path
        A complete folder on the same file system as ``target``; it ceases to exist.
    target : Path
        The folder to replace (created when absent).
    """
    parent = target.parent
    if not target.exists():
        os.replace(staging, target)
        _fsync_dir(parent)
        return
    if _exchange(staging, target):
        # ``staging`` now holds the previous content
        _fsync_dir(parent)
        shutil.rmtree(staging, ignore_errors=True)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=parent))
    old.rmdir()
    os.replace(target, old)
    os.replace(staging, target)
    _fsync_dir(parent)
    shutil.rmtree(old, ignore_errors=True)


def sync_summaries(source_dir: Path, files: Iterable[str], target: Path) -> list[str]:
    """Replace ``target`` atomically with copies of ``files`` (paths relative to ``source_dir``).

    Parameters
    ----------
    source_dir : Path
        The run directory.
    files : iterable of str
        Relative paths of the files to copy (sub-folders are kept: ``tearsheets/x.md``).
    target : Path
        The summaries folder (outside the run directory).

    Returns
    -------
    list of str
        The relative paths copied, in the order given.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in target.parent.glob(f".{target.name}.old-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    copied: list[str] = []
    try:
        os.chmod(staging, 0o755)
        for name in files:
            data = (Path(source_dir) / name).read_bytes()
            atomic_write_bytes(staging / name, data)
            copied.append(name)
        for folder in sorted({p for p in staging.rglob("*") if p.is_dir()}, reverse=True):
            _fsync_dir(folder)
        _fsync_dir(staging)
        replace_dir(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return copied
