"""Tests of the intersection correlation and correlation distances."""

from __future__ import annotations

from decimal import Decimal, getcontext
from fractions import Fraction
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterfolio.errors import DataError
from clusterfolio.risk import correlation as corrmod
from clusterfolio.risk.correlation import (
    averaged_distance,
    correlation_distance,
    intersection_correlation,
    undefined_pairs,
)


def _random_returns(
    seed: int, n_rows: int, n_cols: int, nan_share: float, zero_share: float
) -> pd.DataFrame:
    """Return-like matrix: heterogeneous scales and drifts, NaN holes, true zeros, a constant
    stretch, an exactly collinear pair and a column that is constant where it trades."""
    rng = np.random.default_rng(seed)
    scale = 10 ** rng.uniform(-4, -1, n_cols)
    drift = rng.normal(size=n_cols) * scale * rng.choice([0.0, 1.0, 3.0], n_cols)
    x = rng.normal(size=(n_rows, n_cols)) * scale + drift
    x[rng.random(x.shape) < zero_share] = 0.0
    if n_cols > 2:
        x[: n_rows // 2, 1] = 0.0  # stale prices: a run of exact zero returns
        x[:, 2] = 0.0125
    if n_cols > 4:
        x[:, 4] = 2.0 * x[:, 3] - 0.001
    x[rng.random(x.shape) < nan_share] = np.nan
    return pd.DataFrame(x, columns=[f"S{j:03d}" for j in range(n_cols)])


def _assert_matches_pandas(frame: pd.DataFrame, min_overlap: int) -> None:
    ours = intersection_correlation(frame, min_overlap=min_overlap).to_numpy()
    ref = frame.corr(min_periods=min_overlap).to_numpy()
    n = frame.shape[1]
    off = ~np.eye(n, dtype=bool)
    np.testing.assert_array_equal(np.isnan(ours[off]), np.isnan(ref[off]))
    np.testing.assert_allclose(ours[off], ref[off], rtol=0, atol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(np.diag(ours), np.ones(n))
    np.testing.assert_array_equal(ours, ours.T)
    finite = ours[np.isfinite(ours)]
    assert ((finite >= -1.0) & (finite <= 1.0)).all()


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_rows=st.integers(0, 90),
    n_cols=st.integers(1, 45),
    nan_share=st.floats(0.0, 0.7),
    zero_share=st.floats(0.0, 0.3),
    min_overlap=st.integers(1, 25),
    block_rows=st.sampled_from([1, 3, 7, 32]),
    panel_cells=st.sampled_from([1, 60, 2_097_152]),
)
def test_matches_pandas_pairwise_complete(
    seed: int,
    n_rows: int,
    n_cols: int,
    nan_share: float,
    zero_share: float,
    min_overlap: int,
    block_rows: int,
    panel_cells: int,
) -> None:
    frame = _random_returns(seed, n_rows, n_cols, nan_share, zero_share)
    with (
        mock.patch.object(corrmod, "_BLOCK_ROWS", block_rows),
        mock.patch.object(corrmod, "_PANEL_CELLS", panel_cells),
    ):
        _assert_matches_pandas(frame, min_overlap)


def test_zero_returns_are_observations() -> None:
    a = np.array([0.01, 0.0, -0.02, 0.0, 0.03, 0.0, np.nan, 0.01])
    b = np.array([0.02, 0.01, -0.01, 0.0, 0.02, -0.01, 0.5, np.nan])
    frame = pd.DataFrame({"A": a, "B": b})
    got = intersection_correlation(frame, min_overlap=2).loc["A", "B"]
    both = ~np.isnan(a) & ~np.isnan(b)
    assert got == pytest.approx(np.corrcoef(a[both], b[both])[0, 1], abs=1e-14)
    nonzero = both & (a != 0) & (b != 0)
    assert abs(got - np.corrcoef(a[nonzero], b[nonzero])[0, 1]) > 1e-3


def _exact_corr(x: np.ndarray, y: np.ndarray) -> float:
    xs = [Fraction(v) for v in x]
    ys = [Fraction(v) for v in y]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((a - mx) * (b - my) for a, b in zip(xs, ys, strict=True))
    vx = sum((a - mx) ** 2 for a in xs)
    vy = sum((b - my) ** 2 for b in ys)
    getcontext().prec = 40

    def dec(f: Fraction | float) -> Decimal:
        g = Fraction(f)
        return Decimal(g.numerator) / Decimal(g.denominator)

    return float(dec(cov) / (dec(vx) * dec(vy)).sqrt())


def test_exact_on_ill_conditioned_levels() -> None:
    """Large offsets relative to the spread: the exact two-pass fallback keeps full accuracy."""
    rng = np.random.default_rng(5)
    n = 40
    x = np.full((n, 3), np.nan)
    x[:, 0] = 364.7 + rng.normal(size=n) * 0.03
    x[:, 1] = np.where(np.arange(n) < 20, 0.0, 40.0 + rng.normal(size=n) * 5)
    x[:, 2] = 1.0e6 + rng.normal(size=n) * 1e-3
    x[rng.random(x.shape) < 0.15] = np.nan
    frame = pd.DataFrame(x, columns=["A", "B", "C"])
    got = intersection_correlation(frame, min_overlap=3)
    for i, j in [("A", "B"), ("A", "C"), ("B", "C")]:
        both = frame[[i, j]].dropna().to_numpy()
        assert got.loc[i, j] == pytest.approx(_exact_corr(both[:, 0], both[:, 1]), abs=1e-14)


def test_constant_overlap_and_short_overlap_are_nan() -> None:
    frame = pd.DataFrame(
        {
            "A": [0.01, 0.02, -0.01, 0.03, 0.0, 0.01],
            "B": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "C": [np.nan, np.nan, np.nan, np.nan, 0.02, 0.01],
        }
    )
    got = intersection_correlation(frame, min_overlap=3)
    assert np.isnan(float(got["B"]["A"])) and np.isnan(float(got["A"]["B"]))
    assert np.isnan(float(got["C"]["A"]))
    assert got.loc["B", "B"] == 1.0 and got.loc["C", "C"] == 1.0
    assert undefined_pairs(got) == 3


def test_invalid_inputs() -> None:
    frame = pd.DataFrame({"A": [0.1, 0.2], "B": [0.1, np.inf]})
    with pytest.raises(DataError, match="infinite"):
        intersection_correlation(frame, min_overlap=1)
    with pytest.raises(ValueError, match="min_overlap"):
        intersection_correlation(frame, min_overlap=0)
    dupes = pd.DataFrame([[0.1, 0.2], [0.2, 0.1]], columns=["A", "A"])
    with pytest.raises(DataError, match="duplicated"):
        intersection_correlation(dupes, min_overlap=1)


def test_correlation_distance() -> None:
    corr = pd.DataFrame(
        [[1.0, 0.5, np.nan], [0.5, 1.0, -1.0], [np.nan, -1.0, 1.0]],
        index=list("ABC"),
        columns=list("ABC"),
    )
    dist = correlation_distance(corr)
    assert dist[0, 1] == pytest.approx(0.5)
    assert dist[0, 2] == pytest.approx(np.sqrt(0.5))
    assert dist[1, 2] == pytest.approx(1.0)
    np.testing.assert_array_equal(np.diag(dist), 0.0)
    np.testing.assert_array_equal(dist, dist.T)
    assert correlation_distance(corr, nan_correlation=1.0)[0, 2] == 0.0
    with pytest.raises(ValueError):
        correlation_distance(np.ones((2, 3)))


def test_averaged_distance() -> None:
    frame = _random_returns(11, 130, 6, nan_share=0.1, zero_share=0.05)
    got = averaged_distance(frame, [60, 120, 200, 60], min_overlap=10)
    expected = np.mean(
        [
            correlation_distance(intersection_correlation(frame.iloc[-lb:], min_overlap=10))
            for lb in (60, 120)
        ],
        axis=0,
    )
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=0, atol=1e-15)
    assert got.attrs["lookbacks_used"] == [60, 120]
    assert set(got.attrs["undefined_pairs"]) == {"60", "120"}
    assert list(got.columns) == list(frame.columns)

    short = averaged_distance(frame.iloc[:40], [60, 120], min_overlap=10)
    whole = correlation_distance(intersection_correlation(frame.iloc[:40], min_overlap=10))
    np.testing.assert_allclose(short.to_numpy(), whole, rtol=0, atol=0)
    assert short.attrs["lookbacks_used"] == [40]
    with pytest.raises(ValueError):
        averaged_distance(frame, [0], min_overlap=10)
