"""Atomic, deterministic artifact input and output (temporary file, fsync, rename)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
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


def _is_default_str(dtype: Any) -> bool:
    """Whether ``dtype`` is pandas 3's default text dtype (``str``: NaN as the missing value)."""
    return isinstance(dtype, pd.StringDtype) and dtype.na_value is not pd.NA


def _text_as_object(labels: pd.Index) -> pd.Index:
    if isinstance(labels, pd.MultiIndex):
        levels: list[Any] = [
            lv.astype(object) if _is_default_str(lv.dtype) else lv for lv in labels.levels
        ]
        return labels.set_levels(levels)
    return labels.astype(object) if _is_default_str(labels.dtype) else labels


def _stored_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with pandas 3's default ``str`` columns and labels as ``object``.

    Text is then stored the same way on pandas 2 and 3 (Arrow ``string``, pandas type
    ``unicode``); reading it back gives the default text dtype of the pandas that reads.
    """
    text = [c for c, dtype in frame.dtypes.items() if _is_default_str(dtype)]
    index, columns = _text_as_object(frame.index), _text_as_object(frame.columns)
    if not text and index is frame.index and columns is frame.columns:
        return frame
    out = frame.astype(dict.fromkeys(text, object)) if text else frame.copy(deep=False)
    out.index, out.columns = index, columns
    return out


def _without_pandas_version(table: pa.Table) -> pa.Table:
    """``table`` without the ``pandas_version`` that pyarrow stamps into its pandas metadata.

    The stamp is the only thing in the file that names the pandas that wrote it; reading does
    not use it. The rest of the metadata keeps pyarrow's own JSON layout.
    """
    meta = dict(table.schema.metadata or {})
    if b"pandas" not in meta:
        return table
    doc = json.loads(meta[b"pandas"])
    doc.pop("pandas_version", None)
    meta[b"pandas"] = json.dumps(doc).encode("utf-8")
    return table.replace_schema_metadata(meta)


def parquet_bytes(frame: pd.DataFrame, *, index: bool = True) -> bytes:
    """Serialise a frame to deterministic Parquet bytes (no creation timestamps, zstd).

    The bytes do not depend on the pandas version: text columns and labels are stored as
    ``object`` (:func:`_stored_text`) and the metadata names no pandas version
    (:func:`_without_pandas_version`).
    """
    table = pa.Table.from_pandas(_stored_text(frame), preserve_index=index)
    table = _without_pandas_version(table)
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


def read_csv_exactly(text: str) -> pd.DataFrame:
    """A CSV document as a frame, its ``float64`` columns parsed exactly.

    pandas' C parser infers the columns; the numbers of its ``float64`` columns are then read
    again by Python's ``float`` (correctly rounded: a number written with ``repr`` reads back
    as the same double). pandas 2's parser can miss by one unit in the last place, pandas 3's
    does not: this reads the same frame on both.

    Parameters
    ----------
    text : str
        The document.

    Returns
    -------
    pandas.DataFrame
        What ``pandas.read_csv`` gives, with exact floats.
    """
    frame = pd.read_csv(io.StringIO(text))
    floats = [name for name, dtype in frame.dtypes.items() if dtype == np.float64]
    if floats:
        raw = pd.read_csv(io.StringIO(text), dtype=object)
        for name in floats:
            frame[name] = np.array(raw[name].to_numpy(dtype=object), dtype=np.float64)
    return frame


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
