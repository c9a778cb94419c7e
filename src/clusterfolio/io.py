"""Atomic, deterministic artifact input and output (temporary file, fsync, rename)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clusterfolio.artifacts.encoding import dumps
from clusterfolio.errors import CorruptFileError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically.

    Parameters
    ----------
    path : Path
        Destination; its parent folder is created when missing.
    data : bytes
        Content. A reader sees either the old file or the complete new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def canonical_json(obj: Any) -> str:
    """Serialise ``obj`` as deterministic JSON (:func:`clusterfolio.artifacts.encoding.dumps`)."""
    return dumps(obj)


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as canonical JSON atomically."""
    atomic_write_text(path, canonical_json(obj))


def read_json(path: Path) -> Any:
    """Read a JSON document, naming the file when it is missing or corrupt."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"{path}: not valid JSON ({exc})") from exc


def parquet_bytes(frame: pd.DataFrame, *, index: bool = True) -> bytes:
    """Serialise a frame to deterministic Parquet bytes (no creation timestamps, zstd)."""
    table = pa.Table.from_pandas(frame, preserve_index=index)
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression="zstd",
        write_statistics=True,
        use_dictionary=True,
    )
    return bytes(sink.getvalue().to_pybytes())


def atomic_write_parquet(path: Path, frame: pd.DataFrame, *, index: bool = True) -> None:
    """Write a frame as Parquet atomically and deterministically."""
    atomic_write_bytes(path, parquet_bytes(frame, index=index))


def read_parquet(path: Path) -> pd.DataFrame:
    """Read a Parquet file, raising :class:`CorruptFileError` naming the file when unreadable."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(path)
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        raise CorruptFileError(f"{path}: corrupt or truncated Parquet ({exc})") from exc


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    """Return the hex SHA-256 of a UTF-8 string."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
