"""Session helpers of the data-health audit, shared with :mod:`clusterfolio.data.health.repair`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clusterfolio.data.health.findings import SessionRun
from clusterfolio.data.schema import CANDLE_COLUMNS, empty_candles
from clusterfolio.errors import SchemaError

if TYPE_CHECKING:
    pass


def as_sessions(sessions: Iterable[Any]) -> pd.DatetimeIndex:
    """Return ``sessions`` as a sorted, unique, naive, midnight ``DatetimeIndex`` (ns)."""
    values = sessions if isinstance(sessions, pd.Index | pd.Series | np.ndarray) else list(sessions)
    index = pd.DatetimeIndex(values)
    if index.tz is not None:
        index = index.tz_localize(None)
    return pd.DatetimeIndex(index.normalize().unique().sort_values(), dtype="datetime64[ns]")


def coerce_candles(candles: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """Return the candle columns of ``candles`` with canonical dtypes, sorted stably by session.

    Unlike :func:`~clusterfolio.data.schema.validate_candles` this keeps bad rows (duplicated
    sessions, non-positive or missing prices) so that they can be reported or repaired.

    Parameters
    ----------
    candles : pandas.DataFrame
        Candles with :data:`~clusterfolio.data.schema.CANDLE_COLUMNS`; an empty frame may lack them.
    source : str
        Symbol or file named in errors.

    Returns
    -------
    pandas.DataFrame
        Columns in canonical order, ``session`` naive midnight ``datetime64[ns]``, numbers
        ``float64`` (unparsable values become NaN), rows in stable session order, default index.

    Raises
    ------
    SchemaError
        A column is missing from a non-empty frame, or a session is missing or unparsable.
    """
    if len(candles) == 0:
        return empty_candles()
    missing = [c for c in CANDLE_COLUMNS if c not in candles.columns]
    if missing:
        raise SchemaError(f"{source}: missing columns {missing} (have {list(candles.columns)})")
    out = candles.loc[:, list(CANDLE_COLUMNS)].copy()
    try:
        sessions = pd.to_datetime(out["session"])
    except (ValueError, TypeError) as exc:
        raise SchemaError(f"{source}: column 'session' is not a date ({exc})") from exc
    if sessions.isna().any():
        row = int(np.flatnonzero(sessions.isna().to_numpy())[0])
        raise SchemaError(f"{source}: row {row} has no session")
    if sessions.dt.tz is not None:
        sessions = sessions.dt.tz_localize(None)
    out["session"] = sessions.dt.normalize().astype("datetime64[ns]")
    for col in ("open", "high", "low", "close", "volume"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    return out.sort_values("session", kind="mergesort").reset_index(drop=True)


def session_runs(sessions: pd.DatetimeIndex, calendar: pd.DatetimeIndex) -> list[pd.DatetimeIndex]:
    """Group ``sessions`` into runs of sessions consecutive in ``calendar``.

    Parameters
    ----------
    sessions : pandas.DatetimeIndex
        Sorted unique sessions, all in ``calendar``.
    calendar : pandas.DatetimeIndex
        Sorted unique calendar sessions.

    Returns
    -------
    list of pandas.DatetimeIndex
        One index per run, in order.
    """
    if len(sessions) == 0:
        return []
    pos = calendar.get_indexer(sessions)
    if (pos < 0).any():
        raise ValueError("session_runs: every session must belong to the calendar")
    breaks = np.flatnonzero(np.diff(pos) != 1) + 1
    return [sessions[chunk] for chunk in np.split(np.arange(len(sessions)), breaks)]


def _runs(sessions: pd.DatetimeIndex, calendar: pd.DatetimeIndex) -> tuple[SessionRun, ...]:
    return tuple(
        SessionRun(run[0].date(), run[-1].date(), len(run))
        for run in session_runs(sessions, calendar)
    )


@dataclass(frozen=True)
class MissingSessions:
    """Window sessions without a stored bar, split by where they lie.

    Attributes
    ----------
    window : pandas.DatetimeIndex
        The calendar sessions considered.
    present : pandas.DatetimeIndex
        Window sessions with at least one stored bar.
    leading : pandas.DatetimeIndex
        Missing sessions before the first stored bar (the history starts later).
    interior : pandas.DatetimeIndex
        Missing sessions between the first stored bar and the last stored bar of the window (gaps).
    trailing : pandas.DatetimeIndex
        Missing sessions after the last stored bar of the window (staleness).
    """

    window: pd.DatetimeIndex
    present: pd.DatetimeIndex
    leading: pd.DatetimeIndex
    interior: pd.DatetimeIndex
    trailing: pd.DatetimeIndex

    @property
    def missing(self) -> pd.DatetimeIndex:
        """Every missing window session, ascending."""
        return self.window[~self.window.isin(self.present)]


def partition_missing(window: pd.DatetimeIndex, stored: Iterable[Any]) -> MissingSessions:
    """Split the window sessions without a stored bar into leading, interior and trailing.

    Parameters
    ----------
    window : pandas.DatetimeIndex
        Sorted unique calendar sessions (see :func:`as_sessions`).
    stored : iterable of datetime-like
        Sessions of every stored bar (any order, duplicates allowed, any date).

    Returns
    -------
    MissingSessions
        With no stored bar at or before the window end, every window session is leading.
    """
    stored_idx = pd.DatetimeIndex(np.asarray(stored, dtype="datetime64[ns]"))
    has_bar = window.isin(stored_idx)
    present = window[has_bar]
    missing = window[~has_bar]
    upto_end = stored_idx[stored_idx <= window[-1]] if len(window) else stored_idx[:0]
    if len(upto_end) == 0:
        return MissingSessions(window, present, missing, missing[:0], missing[:0])
    first, last = upto_end.min(), upto_end.max()
    leading = missing[missing < first]
    trailing = missing[missing > last]
    interior = missing[(missing > first) & (missing < last)]
    return MissingSessions(window, present, leading, interior, trailing)
