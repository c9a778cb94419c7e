"""What a lakehouse merge does to one listing, decided before anything is written.

:func:`check_new` validates one listing's incoming candles, naming the symbol and the row;
:func:`check_new_many` validates a whole batch in one vectorised pass over all the new bars and
falls back to :func:`check_new` only for the frames that need converting or that fail (so every
error still names its symbol and row). :func:`plan_merge` compares the incoming bars with the
stored table and returns the :class:`MergeReport` and the table to write (``None``: nothing
changes). The rules (append, backfill, unchanged, partial last bar, conflict) are those of
:mod:`clusterfolio.data.lakehouse`; a stored bar is never modified except a partial last bar.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from clusterfolio.artifacts.encoding import record
from clusterfolio.data.schema import CANDLE_COLUMNS, CANDLE_SCHEMA, validate_candles
from clusterfolio.errors import SchemaError

#: Relative tolerance under which a stored and a new bar are the same bar.
MERGE_RTOL = 1e-9
#: Parquet metadata keys of a candle file: the source that wrote it, and its last session when
#: that bar was written before its session closed (partial).
META_SOURCE = b"clusterfolio.source"
META_PARTIAL = b"clusterfolio.partial"
VALUE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
_DAY_NS = 86_400_000_000_000


@dataclass(frozen=True)
class MergeConflict:
    """A stored session that a merge wanted to change: the stored bar was kept."""

    symbol: str
    session: date
    stored: dict[str, float]
    new: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary (:func:`~clusterfolio.artifacts.encoding.record`)."""
        return record(self)


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
        """Return a JSON-ready dictionary: the fields in order, dates as ISO text, conflicts
        as their own dictionaries (:func:`~clusterfolio.artifacts.encoding.record`)."""
        return record(self)


# ----------------------------------------------------------------------------- validation


def _session_values(symbol: str, column: pd.Series) -> np.ndarray:
    try:
        if column.dtype == np.dtype("datetime64[ns]"):  # the common case, without parsing
            return column.to_numpy().astype("datetime64[D]").astype("datetime64[ns]")
        sessions = pd.to_datetime(column)
        if sessions.dt.tz is not None:
            sessions = sessions.dt.tz_localize(None)
        return sessions.dt.normalize().to_numpy(dtype="datetime64[ns]")
    except (ValueError, TypeError, OverflowError) as exc:
        raise SchemaError(f"{symbol}: column 'session' is not a date ({exc})") from exc


def check_new(symbol: str, new: pd.DataFrame) -> pd.DataFrame:
    """Validate one listing's incoming candles, naming the symbol and the offending row.

    Raises
    ------
    SchemaError
        Not a frame, missing columns, unparsable, unsorted or duplicated sessions, non-finite
        or non-positive prices, negative volume.
    """
    if not isinstance(new, pd.DataFrame):
        raise SchemaError(f"{symbol}: candles must be a pandas DataFrame, got {type(new).__name__}")
    if "session" in new.columns and len(new):
        values = _session_values(symbol, new["session"])
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


def _canonical(frame: object) -> bool:
    """Whether ``frame`` is already a canonical candle frame (nothing to convert)."""
    if not isinstance(frame, pd.DataFrame) or tuple(frame.columns) != CANDLE_COLUMNS:
        return False
    dtypes = frame.dtypes.tolist()
    return bool(dtypes[0] == np.dtype("datetime64[ns]")) and all(
        d == np.float64 for d in dtypes[1:]
    )


def _batch_ok(frames: list[pd.DataFrame]) -> bool:
    """One vectorised pass over every bar of canonical frames: all valid?"""
    if not frames:
        return True
    sizes = np.fromiter((len(f) for f in frames), dtype=np.int64, count=len(frames))
    ticks = np.concatenate([f["session"].to_numpy().view("int64") for f in frames])
    values = np.concatenate([f.iloc[:, 1:].to_numpy() for f in frames])
    if ticks.size == 0:
        return True
    nat = np.iinfo(np.int64).min
    if ((ticks == nat) | (ticks % _DAY_NS != 0)).any():
        return False
    prices, volume = values[:, :4], values[:, 4]
    if not (np.isfinite(prices).all() and (prices > 0).all()):
        return False
    if not (np.isfinite(volume).all() and (volume >= 0).all()):
        return False
    step = np.diff(ticks) > 0  # strictly ascending within each frame
    starts = np.cumsum(sizes)[:-1]  # the first row of every frame after the first
    step[starts[starts < ticks.size] - 1] = True
    return bool(step.all())


def check_new_many(
    frames: Mapping[str, pd.DataFrame],
) -> tuple[dict[str, pd.DataFrame], dict[str, SchemaError]]:
    """Validate a batch of incoming candles: one vectorised pass over all the new bars.

    Canonical frames (the candle columns in order, ``datetime64[ns]`` sessions at midnight,
    ``float64`` values) are checked together; when that pass finds a fault, or a frame needs
    converting, the frames concerned go through :func:`check_new` one by one so every error
    names its symbol and row.

    Returns
    -------
    tuple of dict
        ``symbol -> validated frame`` and ``symbol -> SchemaError`` (in the order given).
    """
    fast = [s for s, f in frames.items() if _canonical(f)]
    checked: dict[str, pd.DataFrame] = {}
    if _batch_ok([frames[s] for s in fast]):
        checked = {s: frames[s].reset_index(drop=True) for s in fast}
    errors: dict[str, SchemaError] = {}
    for symbol, frame in frames.items():
        if symbol in checked:
            continue
        try:
            checked[symbol] = check_new(symbol, frame)
        except SchemaError as exc:
            errors[symbol] = exc
    ordered = {s: checked[s] for s in frames if s in checked}
    return ordered, errors


# ----------------------------------------------------------------------------- planning


def table_from_frame(frame: pd.DataFrame) -> pa.Table:
    """The Arrow table of a canonical candle frame (:data:`CANDLE_SCHEMA`)."""
    arrays = [pa.array(frame["session"].to_numpy(dtype="datetime64[ns]"), type=pa.timestamp("ns"))]
    arrays += [
        pa.array(frame[c].to_numpy(dtype="float64"), type=pa.float64()) for c in VALUE_COLUMNS
    ]
    return pa.Table.from_arrays(arrays, schema=CANDLE_SCHEMA)


def _values(row: np.ndarray) -> dict[str, float]:
    return {c: float(v) for c, v in zip(VALUE_COLUMNS, row.tolist(), strict=True)}


def plan_merge(
    symbol: str,
    stored: pa.Table | None,
    incoming: pd.DataFrame,
    *,
    partial_last: bool,
) -> tuple[MergeReport, pa.Table | None]:
    """Decide a merge: the report and the table to write (``None``: nothing to write).

    Parameters
    ----------
    symbol : str
        The listing (named in conflicts).
    stored : pyarrow.Table or None
        The stored table with its metadata (``None``: nothing stored).
    incoming : pandas.DataFrame
        Validated new candles (:func:`check_new`).
    partial_last : bool
        Whether a different new bar may replace a last stored bar recorded as partial.

    Notes
    -----
    The daily case (every new session after the last stored one) and a deepened history (every
    new session before the first stored one) concatenate Arrow tables: the stored bars are
    carried over as they are, without a round trip through pandas.
    """
    rows = 0 if stored is None else stored.num_rows
    report = MergeReport(symbol=symbol, rows_before=rows, rows_after=rows)
    if incoming.empty:
        return report, None
    new_table = table_from_frame(incoming)
    if stored is None or rows == 0:
        report.appended = report.rows_after = len(incoming)
        return report, new_table
    s_sess = stored.column("session").to_numpy()
    n_sess = incoming["session"].to_numpy()
    if n_sess[-1] < s_sess[0]:  # a deepened history: every new session before the stored ones
        report.backfilled = len(incoming)
        report.rows_after = rows + len(incoming)
        return report, pa.concat_tables([new_table, stored.replace_schema_metadata(None)])
    tail = _tail_append(report, stored, new_table, s_sess, n_sess)
    if tail is not None:  # the daily append, the last stored bars possibly asked again
        return tail
    raw_partial = (stored.schema.metadata or {}).get(META_PARTIAL)
    partial_last = partial_last and raw_partial == (
        pd.Timestamp(s_sess[-1]).date().isoformat().encode("ascii")
    )
    return _overlapping(report, stored.to_pandas(use_threads=False), incoming, partial_last)


def _tail_append(
    report: MergeReport,
    stored: pa.Table,
    new_table: pa.Table,
    s_sess: np.ndarray,
    n_sess: np.ndarray,
) -> tuple[MergeReport, pa.Table | None] | None:
    """The daily case, the last stored bars possibly asked again: Arrow only, no pandas.

    Applies when the new sessions (``n_sess``) start after the stored ones (``s_sess``) or
    inside their tail, repeat every stored session from there on, and every repeated bar
    equals the stored one (as :func:`_overlapping` would find them: ``allclose`` at
    :data:`MERGE_RTOL`); anything else (a conflict, a partial last bar replaced, a gap filled)
    returns ``None`` for the general case.
    """
    start = int(np.searchsorted(s_sess, n_sess[0]))
    repeated = len(s_sess) - start
    if repeated > len(n_sess) or not np.array_equal(s_sess[start:], n_sess[:repeated]):
        return None
    tail, head = stored.slice(start), new_table.slice(0, repeated)
    s_vals = np.column_stack([tail.column(c).to_numpy() for c in VALUE_COLUMNS])
    n_vals = np.column_stack([head.column(c).to_numpy() for c in VALUE_COLUMNS])
    if not np.allclose(s_vals, n_vals, rtol=MERGE_RTOL, atol=0.0):
        return None
    report.unchanged = repeated
    report.appended = len(n_sess) - repeated
    report.rows_after = report.rows_before + report.appended
    if report.appended == 0:
        return report, None
    appended = new_table.slice(repeated)
    return report, pa.concat_tables([stored.replace_schema_metadata(None), appended])


def _overlapping(
    report: MergeReport, stored: pd.DataFrame, incoming: pd.DataFrame, partial_last: bool
) -> tuple[MergeReport, pa.Table | None]:
    """The general case: overlaps compared bar by bar, new sessions inserted in order."""
    s_sess = stored["session"].to_numpy()
    n_sess = incoming["session"].to_numpy()
    pos = np.searchsorted(s_sess, n_sess)
    pos_clipped = np.minimum(pos, len(s_sess) - 1)
    overlap = s_sess[pos_clipped] == n_sess
    s_vals = stored.loc[:, list(VALUE_COLUMNS)].to_numpy()
    n_vals = incoming.loc[:, list(VALUE_COLUMNS)].to_numpy()
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
                    symbol=report.symbol,
                    session=pd.Timestamp(s_sess[i]).date(),
                    stored=_values(s_vals[i]),
                    new=_values(n_vals[j]),
                )
            )
    fresh = incoming.loc[~overlap]
    report.appended = int((fresh["session"].to_numpy() > s_sess[-1]).sum())
    report.backfilled = len(fresh) - report.appended
    if report.replaced_partial is None and fresh.empty:
        return report, None
    if not fresh.empty:
        result = pd.concat([result, fresh], ignore_index=True)
        result = result.sort_values("session", kind="mergesort").reset_index(drop=True)
    report.rows_after = len(result)
    return report, table_from_frame(result)
