"""Intersection (pairwise-complete) correlation and correlation distances.

Assets live on their own calendars (NYSE, 24/7 crypto, 24/5 forex), so a return matrix has NaN
wherever a market was closed. The correlation of a pair is therefore measured on the sessions
*both* assets traded: rows where both returns are non-NaN. A true zero return is a real
observation and is kept; only NaN means absence.

The computation is vectorised with masked matrix products. With ``X`` the returns filled with 0
where missing and ``M`` the 0/1 availability mask (both ``T x n``):

.. math::

    n_{ij} = (M^\\top M)_{ij}, \\quad
    S_{i|j} = (X^\\top M)_{ij}, \\quad
    Q_{i|j} = ((X \\odot X)^\\top M)_{ij}, \\quad
    P_{ij} = (X^\\top X)_{ij}

are, for every pair at once, the overlap length, the sum and sum of squares of asset ``i`` over
the overlap with ``j``, and the cross product over the overlap. Then

.. math::

    \\rho_{ij} = \\frac{P_{ij} - S_{i|j} S_{j|i} / n_{ij}}
                      {\\sqrt{(Q_{i|j} - S_{i|j}^2 / n_{ij})(Q_{j|i} - S_{j|i}^2 / n_{ij})}}

which is the exact pairwise-complete Pearson correlation in :math:`O(n^2 T)` BLAS work.

Numerical care: each column is first shifted by its mean and scaled by its root mean square
(correlation is invariant to both), which keeps the one-pass sums well conditioned. A pair whose
overlap variance is small relative to its sum of squares (ratio below ``1e-2``, where the
one-pass formula could lose digits) is recomputed exactly with a two-pass formula on the raw
values; such pairs are rare on returns. A series that is constant over the overlap has an
undefined correlation (NaN), as in :meth:`pandas.DataFrame.corr`. Results are clipped to
``[-1, 1]`` and the matrix is exactly symmetric.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from clusterfolio.errors import DataError

__all__ = [
    "NEUTRAL_CORRELATION",
    "averaged_distance",
    "correlation_distance",
    "intersection_correlation",
    "undefined_pairs",
]

#: Correlation assumed for a pair whose correlation is undefined (too little overlap, or a
#: constant series): zero, i.e. distance ``sqrt(0.5)``, neither close nor opposite.
NEUTRAL_CORRELATION: float = 0.0

#: Overlap variance / sum of squares below which a pair is recomputed with the two-pass formula.
_ILL_CONDITIONED_RATIO = 1e-2

#: Rows of the output computed per block (keeps the intermediates cache sized; measured best
#: between 600 and 5,000 assets).
_BLOCK_ROWS = 32

#: Output cells per panel of matrix products (bounds the memory of the intermediate products:
#: six panels of this many float64, about 100 MB).
_PANEL_CELLS = 2_097_152

#: Upper bound on the number of cells (pairs x rows) handled at once by the exact fallback.
_FALLBACK_CHUNK_CELLS = 4_000_000

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _validated_values(returns: pd.DataFrame) -> FloatArray:
    """Return the matrix as float64, refusing duplicated columns and infinite values."""
    if not isinstance(returns, pd.DataFrame):
        raise TypeError(f"returns must be a pandas DataFrame, got {type(returns).__name__}")
    if returns.columns.has_duplicates:
        dupes = sorted({str(c) for c in returns.columns[returns.columns.duplicated()]})
        raise DataError(f"return matrix has duplicated columns: {dupes}")
    try:
        values = returns.to_numpy(dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise DataError(f"return matrix is not numeric ({exc})") from exc
    infinite = np.isinf(values)
    if infinite.any():
        bad = sorted({str(c) for c in returns.columns[infinite.any(axis=0)]})
        raise DataError(f"return matrix has infinite values in columns {bad}")
    return values


def _two_pass_pairs(
    values: FloatArray, mask: BoolArray, rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp]
) -> FloatArray:
    """Exact two-pass Pearson correlation of the pairs ``(rows[k], cols[k])`` on raw values.

    A pair that is constant over its overlap gets NaN.
    """
    n_rows = values.shape[0]
    out = np.empty(rows.size, dtype=np.float64)
    step = max(1, _FALLBACK_CHUNK_CELLS // max(n_rows, 1))
    for start in range(0, rows.size, step):
        a = rows[start : start + step]
        b = cols[start : start + step]
        joint = mask[:, a] & mask[:, b]
        n = joint.sum(axis=0).astype(np.float64)
        xa = np.where(joint, values[:, a], 0.0)
        xb = np.where(joint, values[:, b], 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            da = np.where(joint, xa - xa.sum(axis=0) / n, 0.0)
            db = np.where(joint, xb - xb.sum(axis=0) / n, 0.0)
            ssa = np.einsum("ij,ij->j", da, da)
            ssb = np.einsum("ij,ij->j", db, db)
            cov = np.einsum("ij,ij->j", da, db)
            corr = cov / np.sqrt(ssa * ssb)
        hi_a = np.where(joint, values[:, a], -np.inf).max(axis=0)
        lo_a = np.where(joint, values[:, a], np.inf).min(axis=0)
        hi_b = np.where(joint, values[:, b], -np.inf).max(axis=0)
        lo_b = np.where(joint, values[:, b], np.inf).min(axis=0)
        constant = (hi_a <= lo_a) | (hi_b <= lo_b)
        corr[constant] = np.nan
        out[start : start + step] = corr
    return out


def _standardised(values: FloatArray, mask: BoolArray) -> FloatArray:
    """Shift each column by its mean and scale it by its root mean square; 0 where missing."""
    counts = np.maximum(mask.sum(axis=0), 1).astype(np.float64)
    centre = np.where(mask, values, 0.0).sum(axis=0) / counts
    x = np.where(mask, values - centre, 0.0)
    scale = np.sqrt((x * x).sum(axis=0) / counts)
    scale[~np.isfinite(scale) | (scale == 0.0)] = 1.0
    x /= scale
    return x


def _pairwise_complete(values: FloatArray, min_overlap: int) -> FloatArray:
    """Pairwise-complete Pearson correlation of the columns of ``values`` (NaN = absent).

    Works on panels of rows of the output (upper block-triangle only, then mirrored): the six
    masked products of a panel are single BLAS calls, and the element-wise algebra runs on
    cache-sized blocks of ``_BLOCK_ROWS`` rows; the output is the only ``n x n`` allocation.
    """
    n_cols = values.shape[1]
    mask = ~np.isnan(values)
    m = mask.astype(np.float64)
    x = _standardised(values, mask)
    x2 = x * x
    corr = np.empty((n_cols, n_cols), dtype=np.float64)
    flagged_rows: list[npt.NDArray[np.intp]] = []
    flagged_cols: list[npt.NDArray[np.intp]] = []
    size = max(1, _BLOCK_ROWS)
    # a few large matrix products (few BLAS calls, good thread efficiency), then the
    # element-wise algebra on cache-sized blocks of their rows
    panel = size * max(1, _PANEL_CELLS // max(n_cols * size, 1))
    for a0 in range(0, n_cols, panel):
        b0 = min(a0 + panel, n_cols)
        mb, xb, x2b = m[:, a0:b0], x[:, a0:b0], x2[:, a0:b0]
        mr, xr, x2r = m[:, a0:], x[:, a0:], x2[:, a0:]
        n_all = mb.T @ mr  # overlap lengths
        s_i_all = xb.T @ mr  # sum of x_i over the overlap with j
        q_i_all = x2b.T @ mr  # sum of x_i**2 over the overlap with j
        s_j_all = mb.T @ xr  # sum of x_j over the overlap with i
        q_j_all = mb.T @ x2r  # sum of x_j**2 over the overlap with i
        p_all = xb.T @ xr  # cross products over the overlap (x is 0 where missing)
        for a in range(a0, b0, size):
            b = min(a + size, b0)
            rs, cs = slice(a - a0, b - a0), slice(a - a0, None)
            n, p = n_all[rs, cs], p_all[rs, cs]
            s_i, q_i, s_j, q_j = s_i_all[rs, cs], q_i_all[rs, cs], s_j_all[rs, cs], q_j_all[rs, cs]
            with np.errstate(divide="ignore", invalid="ignore"):
                var_i = q_i - s_i * s_i / n  # n * variance of i over the overlap
                var_j = q_j - s_j * s_j / n
                block = (p - s_i * s_j / n) / np.sqrt(var_i * var_j)
                enough = n >= min_overlap
                ill = (var_i <= _ILL_CONDITIONED_RATIO * q_i) | (
                    var_j <= _ILL_CONDITIONED_RATIO * q_j
                )
            ill &= enough
            block[~enough] = np.nan
            width = b - a
            ill[:, :width] &= np.triu(np.ones((width, width), dtype=np.bool_), k=1)
            rows, cols = np.nonzero(ill)
            flagged_rows.append(rows + a)
            flagged_cols.append(cols + a)
            square = block[:, :width]
            block[:, :width] = np.triu(square) + np.triu(square, k=1).T
            corr[a:b, a:] = block
    for a in range(0, n_cols, size):  # mirror the upper block-triangle, strip by strip
        b = min(a + size, n_cols)
        corr[b:, a:b] = corr[a:b, b:].T
    rows = np.concatenate(flagged_rows) if flagged_rows else np.empty(0, dtype=np.intp)
    cols = np.concatenate(flagged_cols) if flagged_cols else np.empty(0, dtype=np.intp)
    if rows.size:
        exact = _two_pass_pairs(values, mask, rows, cols)
        corr[rows, cols] = exact
        corr[cols, rows] = exact
    np.clip(corr, -1.0, 1.0, out=corr)
    np.fill_diagonal(corr, 1.0)
    return corr


def intersection_correlation(returns: pd.DataFrame, *, min_overlap: int) -> pd.DataFrame:
    """Pearson correlation of each pair over the sessions both assets traded.

    Parameters
    ----------
    returns : pandas.DataFrame
        Return matrix (rows = sessions, columns = symbols); NaN where an asset did not trade.
        Zero returns are real observations and are kept.
    min_overlap : int
        Minimum number of shared sessions; a pair with a shorter overlap gets NaN.

    Returns
    -------
    pandas.DataFrame
        Symmetric correlation matrix labelled by the columns of ``returns``, values in
        ``[-1, 1]`` or NaN (overlap shorter than ``min_overlap``, or a series constant over the
        overlap). The diagonal is 1 for every column (unlike :meth:`pandas.DataFrame.corr`, which
        writes NaN on the diagonal of a column with too few observations or no variance);
        off the diagonal the values equal ``returns.corr(min_periods=min_overlap)``.

    Raises
    ------
    ValueError
        When ``min_overlap`` is below 1.
    DataError
        When the matrix has duplicated columns, non-numeric or infinite values.

    Notes
    -----
    Vectorised with masked matrix products (see the module docstring); cost
    :math:`O(n^2 T)` in BLAS, no Python loop over pairs.
    """
    if int(min_overlap) < 1:
        raise ValueError(f"min_overlap must be at least 1, got {min_overlap}")
    values = _validated_values(returns)
    corr = _pairwise_complete(values, int(min_overlap))
    return pd.DataFrame(corr, index=returns.columns.copy(), columns=returns.columns.copy())


def undefined_pairs(corr: pd.DataFrame | npt.ArrayLike) -> int:
    """Count the unordered off-diagonal pairs whose correlation is NaN.

    Parameters
    ----------
    corr : pandas.DataFrame or array_like
        Square correlation matrix.

    Returns
    -------
    int
        Number of pairs ``i < j`` with an undefined correlation.
    """
    rho = np.asarray(corr, dtype=np.float64)
    return int(np.isnan(rho[np.triu_indices(rho.shape[0], k=1)]).sum())


def correlation_distance(
    corr: pd.DataFrame | npt.ArrayLike, *, nan_correlation: float = NEUTRAL_CORRELATION
) -> FloatArray:
    """Correlation distance :math:`d_{ij} = \\sqrt{(1 - \\rho_{ij}) / 2}`.

    Parameters
    ----------
    corr : pandas.DataFrame or array_like
        Square correlation matrix.
    nan_correlation : float, default 0.0
        Correlation assumed where ``corr`` is NaN (an undefined pair). The default, 0, gives the
        neutral distance ``sqrt(0.5)``: an undefined pair is neither close nor opposite. Count
        such pairs with :func:`undefined_pairs` (``averaged_distance`` records them).

    Returns
    -------
    numpy.ndarray
        Symmetric matrix of distances in ``[0, 1]`` with a zero diagonal.
    """
    if not -1.0 <= nan_correlation <= 1.0:
        raise ValueError(f"nan_correlation must lie in [-1, 1], got {nan_correlation}")
    rho = np.array(corr, dtype=np.float64, copy=True)
    if rho.ndim != 2 or rho.shape[0] != rho.shape[1]:
        raise ValueError(f"correlation matrix must be square, got shape {rho.shape}")
    rho[np.isnan(rho)] = nan_correlation
    np.clip(rho, -1.0, 1.0, out=rho)
    dist = np.sqrt(0.5 * (1.0 - rho))
    dist = 0.5 * (dist + dist.T)
    np.fill_diagonal(dist, 0.0)
    return dist


def averaged_distance(
    returns: pd.DataFrame, lookbacks: Sequence[int], *, min_overlap: int
) -> pd.DataFrame:
    """Correlation distance averaged over several lookbacks.

    For each lookback ``L`` that fits (``L <= len(returns)``) the distance is computed on the
    last ``L`` rows of the matrix (intersection correlation, undefined pairs at the neutral
    distance ``sqrt(0.5)``); the distances are averaged with equal weights. When no lookback
    fits, all rows are used once.

    Parameters
    ----------
    returns : pandas.DataFrame
        Return matrix (rows = sessions in ascending order, columns = symbols).
    lookbacks : sequence of int
        Lookbacks in rows; duplicates are ignored. Each must be at least 1.
    min_overlap : int
        Minimum overlap of a pair (see :func:`intersection_correlation`).

    Returns
    -------
    pandas.DataFrame
        Symmetric distance matrix labelled by the columns. ``attrs["lookbacks_used"]`` lists the
        lookbacks averaged (the row count when none fitted) and ``attrs["undefined_pairs"]``
        maps each of them (as a string) to its number of undefined pairs.
    """
    wanted = sorted({int(lb) for lb in lookbacks})
    if any(lb < 1 for lb in wanted):
        raise ValueError(f"lookbacks must be positive, got {list(lookbacks)}")
    n_rows = len(returns)
    used = [lb for lb in wanted if lb <= n_rows] or [n_rows]
    total = np.zeros((returns.shape[1], returns.shape[1]), dtype=np.float64)
    missing: dict[str, int] = {}
    for lb in used:
        window = returns.iloc[n_rows - lb :]
        corr = intersection_correlation(window, min_overlap=min_overlap)
        missing[str(lb)] = undefined_pairs(corr)
        total += correlation_distance(corr)
    out = pd.DataFrame(
        total / len(used), index=returns.columns.copy(), columns=returns.columns.copy()
    )
    out.attrs["lookbacks_used"] = used
    out.attrs["undefined_pairs"] = missing
    return out
