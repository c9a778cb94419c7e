"""Per-asset tail statistics and the fragility / antifragility scores.

Everything is point in time (only the rows given are used) and vectorised over columns; each
column is measured on its own non-NaN sessions (NaN means the market was closed).

Statistics (``n`` = number of observations of the asset, ``x_(1) <= ... <= x_(n)`` its sorted
returns):

- ``skew``: adjusted Fisher-Pearson sample skewness
  :math:`G_1 = \\sqrt{n(n-1)}/(n-2) \\cdot m_3 / m_2^{3/2}` (as ``pandas.Series.skew`` and
  ``scipy.stats.skew(bias=False)``); NaN when ``n < 3`` or the series is constant.
- ``tail_gain``: mean of the top 5% returns, the ``k = ceil(0.05 n)`` largest (at least one).
- ``var_95``: historical Value at Risk at 95% as a positive loss, ``-x_(k+1)`` with
  ``k = ceil(0.05 n) - 1`` (0-based), Riskfolio-Lib's ``VaR_Hist``.
- ``cvar_95``: historical Conditional VaR as a positive loss, Riskfolio-Lib's ``CVaR_Hist``:
  :math:`\\mathrm{VaR} + \\frac{1}{0.05 n}\\sum_{i \\le k} (x_{(k)} - x_{(i)})` (the
  Rockafellar-Uryasev form; equals the mean of the worst ``0.05 n`` returns when that is whole).
- ``tail_ratio``: 95th percentile / ``|5th percentile|`` (linear interpolation); NaN when the
  5th percentile is zero.
- ``max_drawdown``: largest peak-to-trough loss of the compounded wealth ``prod(1 + r)`` started
  at 1, in ``[0, 1]`` for returns above -100%.
- ``tail_convexity``: ``tail_gain / cvar_95``, the upside tail against the downside tail (NaN
  when CVaR is not positive).

Scores (cross-sectional, over the assets with the inputs defined; percentile rank
``(rank - 1) / (m - 1)`` with average ranks for ties, 0.5 when a single asset is ranked):

- ``fragility`` in ``[0, 1]``, higher is more fragile: mean of the percentile ranks of
  ``cvar_95`` (deeper tail loss), ``-skew`` (more negative skew) and ``max_drawdown``.
- ``antifragility`` in ``[0, 1]``, higher is more convex: mean of the percentile ranks of
  ``skew`` and ``tail_convexity``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from clusterfolio.errors import DataError

__all__ = [
    "ALPHA",
    "STAT_COLUMNS",
    "antifragility_table",
    "historical_cvar",
    "historical_var",
    "max_drawdown",
]

#: Tail probability of VaR, CVaR and the tail gain.
ALPHA = 0.05

#: Columns of :func:`antifragility_table`, in order.
STAT_COLUMNS: tuple[str, ...] = (
    "n_obs",
    "skew",
    "tail_gain",
    "var_95",
    "cvar_95",
    "tail_ratio",
    "max_drawdown",
    "tail_convexity",
    "fragility",
    "antifragility",
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def _as_matrix(values: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"returns must be one or two dimensional, got {arr.ndim} dimensions")
    if np.isinf(arr).any():
        raise DataError("returns have infinite values")
    return arr


def _sorted_with_counts(x: FloatArray) -> tuple[FloatArray, IntArray]:
    """Sort each column ascending (NaN last) and count its observations."""
    return np.sort(x, axis=0), (~np.isnan(x)).sum(axis=0).astype(np.intp)


def _tail_index(counts: IntArray, alpha: float) -> IntArray:
    """0-based index of the VaR order statistic, computed as Riskfolio-Lib does."""
    return (np.ceil(alpha * counts.astype(np.float64)) - 1).astype(np.intp)


def _take(sorted_x: FloatArray, index: IntArray) -> FloatArray:
    safe = np.clip(index, 0, max(sorted_x.shape[0] - 1, 0))
    return np.take_along_axis(sorted_x, safe[None, :], axis=0)[0]


def historical_var(returns: npt.ArrayLike, alpha: float = ALPHA) -> FloatArray:
    """Historical Value at Risk per column, as a positive loss (Riskfolio-Lib ``VaR_Hist``).

    Parameters
    ----------
    returns : array_like
        ``T`` or ``T x n`` returns; NaN are ignored per column.
    alpha : float, default 0.05
        Tail probability.

    Returns
    -------
    numpy.ndarray
        One value per column; NaN for a column without observations.
    """
    sorted_x, counts = _sorted_with_counts(_as_matrix(returns))
    if sorted_x.shape[0] == 0:
        return np.full(sorted_x.shape[1], np.nan)
    var = -_take(sorted_x, _tail_index(counts, alpha))
    var[counts == 0] = np.nan
    return var


def historical_cvar(returns: npt.ArrayLike, alpha: float = ALPHA) -> FloatArray:
    """Historical Conditional VaR per column, as a positive loss (Riskfolio-Lib ``CVaR_Hist``).

    ``CVaR = VaR + sum_{i <= k} (x_(k) - x_(i)) / (alpha n)`` with ``k = ceil(alpha n) - 1``
    (0-based order statistics of the column's non-NaN returns).

    Parameters
    ----------
    returns : array_like
        As for :func:`historical_var`.
    alpha : float, default 0.05
        As for :func:`historical_var`.

    Returns
    -------
    numpy.ndarray
        One value per column, as :func:`historical_var`.
    """
    sorted_x, counts = _sorted_with_counts(_as_matrix(returns))
    if sorted_x.shape[0] == 0:
        return np.full(sorted_x.shape[1], np.nan)
    k = _tail_index(counts, alpha)
    x_k = _take(sorted_x, k)
    cumulative = np.cumsum(np.nan_to_num(sorted_x, nan=0.0), axis=0)
    tail_sum = _take(cumulative, k)
    excess = (k + 1) * x_k - tail_sum  # sum_{i <= k} (x_(k) - x_(i))
    with np.errstate(divide="ignore", invalid="ignore"):
        cvar = -x_k + excess / (alpha * counts)
    cvar[counts == 0] = np.nan
    return cvar


def max_drawdown(returns: npt.ArrayLike) -> FloatArray:
    """Largest peak-to-trough loss of the compounded wealth per column, in ``[0, 1]``.

    Wealth starts at 1 and compounds ``1 + r`` over the column's non-NaN returns (a NaN leaves
    the wealth unchanged, which does not alter the drawdown).

    Parameters
    ----------
    returns : array_like
        ``T`` or ``T x n`` simple returns.

    Returns
    -------
    numpy.ndarray
        One value per column (0 for a column without observations).
    """
    x = _as_matrix(returns)
    growth = 1.0 + np.nan_to_num(x, nan=0.0)
    wealth = np.vstack([np.ones((1, x.shape[1])), np.cumprod(growth, axis=0)])
    peak = np.fmax.accumulate(wealth, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = 1.0 - wealth / peak
    return np.asarray(np.nanmax(np.where(peak > 0, drawdown, 1.0), axis=0), dtype=np.float64)


def _quantile(sorted_x: FloatArray, counts: IntArray, q: float) -> FloatArray:
    """Linear-interpolation quantile per column of a NaN-last sorted matrix."""
    pos = q * (counts - 1).astype(np.float64)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, np.maximum(counts - 1, 0))
    frac = pos - lo
    lo_v = _take(sorted_x, lo)
    hi_v = _take(sorted_x, hi)
    out = lo_v + (hi_v - lo_v) * frac
    out[counts == 0] = np.nan
    return out


def _skew(x: FloatArray, counts: IntArray) -> FloatArray:
    n = counts.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.nansum(x, axis=0) / n
        dev = np.where(np.isnan(x), 0.0, x - mean)
        m2 = (dev**2).sum(axis=0) / n
        m3 = (dev**3).sum(axis=0) / n
        g1 = m3 / m2**1.5
        skew = np.sqrt(n * (n - 1.0)) / (n - 2.0) * g1
    # a (numerically) constant column has no skew
    scale = np.nanmax(np.abs(np.where(np.isnan(x), 0.0, x)), axis=0, initial=0.0)
    degenerate = (counts < 3) | (m2 <= (1e-14 * scale) ** 2)
    return np.where(degenerate, np.nan, skew)


def _tail_gain(sorted_x: FloatArray, counts: IntArray, alpha: float) -> FloatArray:
    k = np.maximum(np.ceil(alpha * counts.astype(np.float64)).astype(np.intp), 1)
    cumulative = np.cumsum(np.nan_to_num(sorted_x, nan=0.0), axis=0)
    total = _take(cumulative, counts - 1)
    below = np.where(counts - k - 1 >= 0, _take(cumulative, counts - k - 1), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (total - below) / k
    out[counts == 0] = np.nan
    return out


def _percentile_rank(values: FloatArray) -> FloatArray:
    """Percentile rank in [0, 1] among finite values (average ties); NaN elsewhere."""
    series = pd.Series(values)
    finite = series[np.isfinite(series.to_numpy())]
    out = np.full(values.shape, np.nan)
    if finite.empty:
        return out
    if len(finite) == 1:
        out[finite.index.to_numpy()] = 0.5
        return out
    ranks = finite.rank(method="average").to_numpy()
    out[finite.index.to_numpy()] = (ranks - 1.0) / (len(finite) - 1.0)
    return out


def antifragility_table(returns: pd.DataFrame, *, alpha: float = ALPHA) -> pd.DataFrame:
    """Tail statistics, fragility and antifragility of every asset (see the module docstring).

    Parameters
    ----------
    returns : pandas.DataFrame
        Return matrix (rows = sessions, columns = symbols), NaN where an asset did not trade.
        For a SHORT candidate pass its negated returns.
    alpha : float, default 0.05
        Tail probability (0.05 gives the 95% statistics named in the columns).

    Returns
    -------
    pandas.DataFrame
        Index = symbols, columns :data:`STAT_COLUMNS`. Statistics that need more data than a
        column has are NaN (a column without observations is all NaN except ``n_obs = 0``).
    """
    if not isinstance(returns, pd.DataFrame):
        raise TypeError(f"returns must be a pandas DataFrame, got {type(returns).__name__}")
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must lie in (0, 0.5), got {alpha}")
    x = _as_matrix(returns.to_numpy(dtype=np.float64))
    n_cols = x.shape[1]
    sorted_x, counts = _sorted_with_counts(x)
    if x.shape[0] == 0:
        nan = np.full(n_cols, np.nan)
        table = pd.DataFrame({c: nan for c in STAT_COLUMNS}, index=returns.columns.copy())
        table["n_obs"] = 0
        return table
    skew = _skew(x, counts)
    tail_gain = _tail_gain(sorted_x, counts, alpha)
    var = historical_var(x, alpha)
    cvar = historical_cvar(x, alpha)
    p_hi = _quantile(sorted_x, counts, 1.0 - alpha)
    p_lo = _quantile(sorted_x, counts, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        tail_ratio = np.where(p_lo != 0.0, p_hi / np.abs(p_lo), np.nan)
        convexity = np.where(cvar > 0.0, tail_gain / cvar, np.nan)
    mdd = max_drawdown(x)
    mdd[counts == 0] = np.nan

    frag_inputs = np.vstack([cvar, -skew, mdd])
    defined = np.isfinite(frag_inputs).all(axis=0)
    frag_ranks = np.vstack(
        [_percentile_rank(np.where(defined, row, np.nan)) for row in frag_inputs]
    )
    fragility = frag_ranks.mean(axis=0)

    anti_inputs = np.vstack([skew, convexity])
    defined = np.isfinite(anti_inputs).all(axis=0)
    anti_ranks = np.vstack(
        [_percentile_rank(np.where(defined, row, np.nan)) for row in anti_inputs]
    )
    antifragility = anti_ranks.mean(axis=0)

    table = pd.DataFrame(
        {
            "n_obs": counts.astype(np.int64),
            "skew": skew,
            "tail_gain": tail_gain,
            "var_95": var,
            "cvar_95": cvar,
            "tail_ratio": tail_ratio,
            "max_drawdown": mdd,
            "tail_convexity": convexity,
            "fragility": fragility,
            "antifragility": antifragility,
        },
        index=returns.columns.copy(),
    )
    return table[list(STAT_COLUMNS)]
