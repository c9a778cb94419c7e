"""Walk-forward windows: anchored at the last session, training strictly before test."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterfolio.backtest.windows import Window, covered_sessions, walk_forward_windows
from clusterfolio.errors import ConfigError, DataError


def _sessions(n: int) -> pd.DatetimeIndex:
    return pd.bdate_range("2020-01-01", periods=n)


def test_last_window_ends_on_the_last_session() -> None:
    sessions = _sessions(300)
    windows = walk_forward_windows(sessions, train=252, test=20, step=20)
    assert len(windows) == 2
    last = windows[-1]
    assert last.test_end == sessions[-1]
    assert last.test_start == sessions[280]
    assert last.train_end == sessions[279]
    assert last.train_start == sessions[28]
    assert last.test == slice(280, 300)
    assert last.train == slice(28, 280)
    first = windows[0]
    assert first.test == slice(260, 280)
    assert [w.index for w in windows] == [0, 1]


def test_target_keeps_the_fewest_last_windows() -> None:
    sessions = _sessions(600)
    windows = walk_forward_windows(sessions, train=252, test=20, step=20, target=200)
    assert len(windows) == 10
    assert covered_sessions(windows) == 200
    assert windows[-1].test_end == sessions[-1]
    assert windows[0].test_start == sessions[400]
    # not a multiple of test: one more window
    assert len(walk_forward_windows(sessions, train=252, test=20, step=20, target=201)) == 11


def test_target_beyond_the_data_returns_every_window() -> None:
    sessions = _sessions(332)
    windows = walk_forward_windows(sessions, train=252, test=20, step=20, target=200)
    assert len(windows) == 4
    assert covered_sessions(windows) == 80
    assert windows == walk_forward_windows(sessions, train=252, test=20, step=20)


def test_training_slice_is_strictly_before_the_test_slice() -> None:
    sessions = _sessions(500)
    for window in walk_forward_windows(sessions, train=100, test=15, step=10):
        assert window.train_end < window.test_start
        assert window.train.stop == window.test.start
        assert window.n_train == 100
        assert sessions[window.train][-1] == window.train_end
        assert sessions[window.test][0] == window.test_start


def test_too_short_data_names_the_lengths() -> None:
    with pytest.raises(DataError, match=r"100 sessions.*252 \+ 20 = 272"):
        walk_forward_windows(_sessions(100), train=252, test=20, step=20)
    with pytest.raises(DataError, match=r"252 \+ 5 = 257"):
        walk_forward_windows(_sessions(256), train=252, test=20, step=20, min_test_sessions=5)


def test_min_test_sessions_allows_a_short_earliest_window() -> None:
    sessions = _sessions(265)
    windows = walk_forward_windows(sessions, train=252, test=20, step=20, min_test_sessions=10)
    assert len(windows) == 1
    assert windows[0].n_test == 13
    assert windows[0].train == slice(0, 252)
    assert windows[0].test_end == sessions[-1]
    # full windows only by default
    with pytest.raises(DataError):
        walk_forward_windows(sessions, train=252, test=20, step=20)


def test_gaps_between_test_periods() -> None:
    sessions = _sessions(200)
    gaps = walk_forward_windows(sessions, train=50, test=10, step=30)
    assert all(b.test.start - a.test.stop == 20 for a, b in itertools.pairwise(gaps))
    assert covered_sessions(gaps) == 10 * len(gaps)
    assert gaps[-1].test_end == sessions[-1]


def test_overlap_target_counts_distinct_sessions() -> None:
    sessions = _sessions(200)
    windows = walk_forward_windows(sessions, train=50, test=30, step=10, target=45)
    # 30 + 10 + 10 distinct sessions: three windows are needed for 45
    assert len(windows) == 3
    assert covered_sessions(windows) == 50


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"train": 0, "test": 5, "step": 5}, "train"),
        ({"train": 10, "test": 0, "step": 5}, "test"),
        ({"train": 10, "test": 5, "step": 0}, "step"),
        ({"train": 10, "test": 5, "step": 5, "min_test_sessions": 6}, "min_test_sessions"),
        ({"train": 10, "test": 5, "step": 5, "target": 0}, "target"),
    ],
)
def test_invalid_parameters(kwargs: dict[str, int], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        walk_forward_windows(_sessions(100), **kwargs)


def test_unsorted_sessions_are_rejected() -> None:
    sessions = _sessions(50)
    with pytest.raises(DataError, match="strictly increasing"):
        walk_forward_windows(sessions[::-1], train=10, test=5, step=5)
    with pytest.raises(DataError, match="DatetimeIndex"):
        walk_forward_windows(list(sessions), train=10, test=5, step=5)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(5, 400),
    train=st.integers(1, 120),
    test=st.integers(1, 40),
    step=st.integers(1, 50),
    data=st.data(),
)
def test_window_invariants(n: int, train: int, test: int, step: int, data: st.DataObject) -> None:
    min_test = data.draw(st.integers(1, test))
    sessions = _sessions(n)
    if n < train + min_test:
        with pytest.raises(DataError):
            walk_forward_windows(
                sessions, train=train, test=test, step=step, min_test_sessions=min_test
            )
        return
    windows = walk_forward_windows(
        sessions, train=train, test=test, step=step, min_test_sessions=min_test
    )
    assert windows
    assert windows[-1].test.stop == n
    for i, window in enumerate(windows):
        assert isinstance(window, Window)
        assert window.index == i
        assert window.n_train == train
        assert window.train.start >= 0
        assert window.train.stop == window.test.start
        assert min_test <= window.n_test <= test
        if i > 0:
            assert window.test.stop - windows[i - 1].test.stop == step
            assert window.n_test == test
