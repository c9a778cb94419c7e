"""Walk-forward windows anchored at the last session.

A window trains on ``train`` consecutive sessions and is tested on the sessions that follow
(``test`` of them), so the training slice always ends strictly before the test slice starts.
Windows are laid out backwards from the last session: the last window's test slice ends on the
last session, the one before it ends ``step`` sessions earlier, and so on while a full training
slice still fits. The most recent period is therefore always covered, and asking for a
``target`` number of test sessions keeps the fewest *last* windows that cover it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from clusterfolio.errors import ConfigError, DataError

__all__ = ["Window", "covered_sessions", "walk_forward_windows"]


@dataclass(frozen=True, slots=True)
class Window:
    """One walk-forward window.

    Attributes
    ----------
    index : int
        Position of the window in chronological order (0 is the earliest).
    train_start, train_end : pandas.Timestamp
        First and last training sessions (inclusive).
    test_start, test_end : pandas.Timestamp
        First and last test sessions (inclusive); ``train_end < test_start``.
    train, test : slice
        Integer slices of the session index (``sessions[window.test]``), ``step`` None.
    """

    index: int
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp
    train: slice
    test: slice

    @property
    def n_train(self) -> int:
        """Number of training sessions."""
        return int(self.train.stop - self.train.start)

    @property
    def n_test(self) -> int:
        """Number of test sessions."""
        return int(self.test.stop - self.test.start)


def _check_positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"walk_forward_windows: {name} must be an integer >= 1, got {value!r}")
    return value


def _validate_sessions(sessions: pd.DatetimeIndex) -> pd.DatetimeIndex:
    if not isinstance(sessions, pd.DatetimeIndex):
        raise DataError(
            f"walk_forward_windows: sessions must be a pandas.DatetimeIndex, "
            f"got {type(sessions).__name__}"
        )
    if sessions.hasnans:
        raise DataError("walk_forward_windows: sessions contain NaT")
    if not sessions.is_monotonic_increasing or not sessions.is_unique:
        raise DataError(
            "walk_forward_windows: sessions must be strictly increasing (sorted, unique)"
        )
    return sessions


def _test_spans(
    n: int, *, train: int, test: int, step: int, min_test: int, target: int | None
) -> list[tuple[int, int]]:
    """``(test_start, test_stop)`` positions (stop exclusive), chronological: laid from the
    last session backwards until ``target`` sessions are covered or no training slice fits."""
    # (test_start, test_stop) positions, latest first; stop is exclusive.
    spans: list[tuple[int, int]] = []
    stop = n
    covered = 0
    while True:
        start = max(stop - test, train)
        if stop - start < min_test:
            break
        # distinct sessions this window adds to the later ones (they cut it at their start)
        later_start = spans[-1][0] if spans else n
        covered += min(stop, later_start) - start
        spans.append((start, stop))
        if target is not None and covered >= target:
            break
        if start == train:  # nothing earlier has a full training slice
            break
        stop -= step
        if stop - train < min_test:
            break

    spans.reverse()
    return spans


def walk_forward_windows(
    sessions: pd.DatetimeIndex,
    *,
    train: int,
    test: int,
    step: int,
    min_test_sessions: int | None = None,
    target: int | None = None,
) -> list[Window]:
    """Lay out walk-forward windows ending on the last session.

    Parameters
    ----------
    sessions : pandas.DatetimeIndex
        The session calendar (sorted, unique), e.g. the index of the return matrix.
    train : int
        Training sessions per window.
    test : int
        Test sessions per window.
    step : int
        Sessions between consecutive test starts. ``step == test`` tiles the test periods;
        ``step > test`` leaves gaps between them; ``step < test`` makes them overlap (the
        simulators then cut each test period at the next window's start).
    min_test_sessions : int, optional
        Shortest test slice accepted, ``1 <= min_test_sessions <= test``; default ``test``
        (full windows only). Only the earliest window can be short: when its full test slice
        would leave less than ``train`` sessions before it, its test start moves later (its end
        stays), and the window is kept if at least ``min_test_sessions`` test sessions remain.
    target : int, optional
        Number of test sessions to cover. The fewest last windows whose test periods cover at
        least ``target`` distinct sessions are returned; when the data cannot cover it, every
        window that fits is returned (check with :func:`covered_sessions`). ``None``: all
        windows that fit.

    Returns
    -------
    list of Window
        Chronological, ``index`` 0 first. The last window's ``test_end`` is the last session.

    Raises
    ------
    ConfigError
        When ``train``, ``test``, ``step``, ``min_test_sessions`` or ``target`` is invalid.
    DataError
        When ``sessions`` is not a sorted unique DatetimeIndex, or is shorter than
        ``train + min_test_sessions`` (the message names the lengths).
    """
    sessions = _validate_sessions(sessions)
    train = _check_positive("train", train)
    test = _check_positive("test", test)
    step = _check_positive("step", step)
    min_test = (
        test
        if min_test_sessions is None
        else _check_positive("min_test_sessions", min_test_sessions)
    )
    if min_test > test:
        raise ConfigError(
            f"walk_forward_windows: min_test_sessions ({min_test}) must not exceed test ({test})"
        )
    if target is not None:
        target = _check_positive("target", target)

    n = len(sessions)
    if n < train + min_test:
        raise DataError(
            f"walk_forward_windows: {n} sessions are too few for one window: need "
            f"train + min_test_sessions = {train} + {min_test} = {train + min_test} "
            f"(test={test}, step={step})"
        )

    spans = _test_spans(n, train=train, test=test, step=step, min_test=min_test, target=target)
    out: list[Window] = []
    for i, (start, stop) in enumerate(spans):
        out.append(
            Window(
                index=i,
                train_start=sessions[start - train],
                train_end=sessions[start - 1],
                test_start=sessions[start],
                test_end=sessions[stop - 1],
                train=slice(start - train, start),
                test=slice(start, stop),
            )
        )
    return out


def covered_sessions(windows: Sequence[Window]) -> int:
    """Number of distinct test sessions covered by ``windows`` (overlaps counted once)."""
    positions: set[int] = set()
    for window in windows:
        positions.update(range(window.test.start, window.test.stop))
    return len(positions)
