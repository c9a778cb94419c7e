"""Moment estimators of the optimiser: expected returns and a repaired covariance.

Both work on a return matrix as the rest of the project builds it (rows: sessions, columns:
symbols, simple returns, NaN where an asset's market was closed). Each asset keeps its own
sessions: nothing is zero-filled and no row is dropped.

* :func:`expected_returns`: the mean of each column over its own observations, times 252.
* :func:`covariance`: the pairwise-complete sample covariance (each pair on the intersection of
  its two assets' sessions, ``ddof=1``, the same estimator as :meth:`pandas.DataFrame.cov`), times
  252. A pairwise-complete matrix need not be positive semidefinite; when it is not, it is repaired
  to the nearest PSD matrix in the Frobenius norm by clipping its negative eigenvalues to zero, and
  the repair is recorded on the returned :class:`CovarianceEstimate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.data.calendars import EXCHANGE_PERIODS_PER_YEAR
from clusterfolio.errors import DataError

PERIODS_PER_YEAR = EXCHANGE_PERIODS_PER_YEAR
"""Sessions per year used to annualise means and covariances (an exchange calendar's,
:data:`clusterfolio.data.calendars.PERIODS_PER_YEAR`)."""

PSD_TOLERANCE = 1e-10
"""A covariance is repaired when its smallest eigenvalue is below ``-PSD_TOLERANCE * max|eig|``
(smaller negative eigenvalues are floating-point noise of a PSD matrix)."""


@dataclass(frozen=True, eq=False)
class CovarianceEstimate:
    """An annualised covariance matrix and how it was obtained.

    Attributes
    ----------
    matrix : pandas.DataFrame
        Annualised covariance, index and columns in the order of the input columns.
    min_pair_observations : int
        The smallest number of sessions shared by a pair of assets.
    pairwise : bool
        True when the input had NaN (pairwise-complete estimate); False for a complete panel.
    repaired : bool
        True when the raw estimate was not PSD and eigenvalue clipping was applied.
    min_eigenvalue : float or None
        Smallest eigenvalue of the raw estimate (only computed when a Cholesky factorisation
        failed, otherwise None: the raw matrix was positive definite).
    clipped_eigenvalues : int
        How many eigenvalues were clipped to zero by the repair.
    repair_frobenius : float
        Frobenius norm of the change made by the repair (0 when not repaired).
    annualisation : dict or None
        The calendar convention (:mod:`clusterfolio.optimize.calendar_risk`) when the estimate
        was annualised per asset's calendar; None for a single factor of 252.
    """

    matrix: pd.DataFrame
    min_pair_observations: int
    pairwise: bool
    repaired: bool
    min_eigenvalue: float | None
    clipped_eigenvalues: int
    repair_frobenius: float
    annualisation: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the provenance of the estimate (not the matrix) as JSON-ready values."""
        out: dict[str, Any] = {
            "estimator": (
                "pairwise-complete sample covariance, annualised per calendar, PSD repair by "
                "eigenvalue clip"
                if self.annualisation is not None
                else "pairwise-complete sample covariance x252, PSD repair by eigenvalue clip"
            ),
            "n_assets": int(self.matrix.shape[0]),
            "min_pair_observations": int(self.min_pair_observations),
            "pairwise": bool(self.pairwise),
            "repaired": bool(self.repaired),
            "min_eigenvalue": None if self.min_eigenvalue is None else float(self.min_eigenvalue),
            "clipped_eigenvalues": int(self.clipped_eigenvalues),
            "repair_frobenius": float(self.repair_frobenius),
        }
        if self.annualisation is not None:
            out["annualisation"] = self.annualisation
        return out


def _as_float_array(returns: pd.DataFrame) -> np.ndarray:
    if not isinstance(returns, pd.DataFrame):
        raise DataError(f"returns must be a pandas DataFrame, got {type(returns).__name__}")
    if returns.shape[1] == 0 or returns.shape[0] == 0:
        raise DataError(f"returns is empty (shape {returns.shape})")
    try:
        values = returns.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"returns must be numeric: {exc}") from exc
    if np.isinf(values).any():
        bad = [
            str(c) for c, col in zip(returns.columns, values.T, strict=True) if np.isinf(col).any()
        ]
        raise DataError(f"returns hold infinite values for {bad}")
    return values


def expected_returns(
    returns: pd.DataFrame, *, periods_per_year: int = PERIODS_PER_YEAR
) -> pd.Series:
    """Annualised expected returns: each column's mean over its own sessions times 252.

    Parameters
    ----------
    returns : pandas.DataFrame
        Simple returns, NaN where a market was closed.
    periods_per_year : int, default 252
        Annualisation factor.

    Returns
    -------
    pandas.Series
        Indexed like ``returns.columns``.

    Raises
    ------
    DataError
        When a column has no observation at all.
    """
    values = _as_float_array(returns)
    counts = np.sum(~np.isnan(values), axis=0)
    if np.any(counts == 0):
        empty = [str(c) for c, n in zip(returns.columns, counts, strict=True) if n == 0]
        raise DataError(f"no observation for {empty}")
    mean = np.nansum(values, axis=0) / counts
    return pd.Series(mean * periods_per_year, index=returns.columns, name="expected_return")


def _raw_covariance(values: np.ndarray, min_periods: int) -> tuple[np.ndarray, int, bool]:
    """Unscaled covariance (ddof=1), its smallest pair overlap and whether it is pairwise."""
    mask = ~np.isnan(values)
    if mask.all():
        n_obs = values.shape[0]
        if n_obs < min_periods:
            raise DataError(f"{n_obs} sessions, fewer than the {min_periods} needed")
        centred = values - values.mean(axis=0)
        cov = centred.T @ centred / (n_obs - 1)
        return cov, n_obs, False
    m = mask.astype(np.float64)
    x0 = np.where(mask, values, 0.0)
    counts = m.T @ m
    sums = x0.T @ m  # sums[i, j]: sum of x_i over the sessions shared with j
    cross = x0.T @ x0
    low = counts < min_periods
    if low.any():
        raise DataError(f"pair overlap below {min_periods} sessions (min {int(counts.min())})")
    cov = (cross - sums * sums.T / counts) / (counts - 1.0)
    return cov, int(counts.min()), True


def _named_low_overlap(returns: pd.DataFrame, min_periods: int) -> str:
    mask = returns.notna().to_numpy(dtype=np.float64)
    counts = mask.T @ mask
    rows, cols = np.nonzero(np.triu(counts < min_periods))
    names = [
        f"{returns.columns[i]}/{returns.columns[j]} ({int(counts[i, j])})"
        for i, j in zip(rows[:5], cols[:5], strict=True)
    ]
    more = "" if len(rows) <= 5 else f" and {len(rows) - 5} more"
    return ", ".join(names) + more


def nearest_psd(matrix: np.ndarray) -> tuple[np.ndarray, float, int]:
    """Clip the negative eigenvalues of a symmetric matrix to zero.

    Parameters
    ----------
    matrix : numpy.ndarray
        Symmetric matrix.

    Returns
    -------
    tuple
        ``(repaired, min_eigenvalue, n_clipped)``; ``repaired`` is the nearest PSD matrix in the
        Frobenius norm (Higham 1988), symmetrised.
    """
    eigenvalues, vectors = np.linalg.eigh(matrix)
    clipped = np.clip(eigenvalues, 0.0, None)
    repaired = (vectors * clipped) @ vectors.T
    repaired = 0.5 * (repaired + repaired.T)
    return repaired, float(eigenvalues[0]), int(np.sum(eigenvalues < 0))


def covariance(
    returns: pd.DataFrame,
    *,
    periods_per_year: int = PERIODS_PER_YEAR,
    min_periods: int = 2,
) -> CovarianceEstimate:
    """Annualised pairwise-complete sample covariance, repaired to PSD when needed.

    Parameters
    ----------
    returns : pandas.DataFrame
        Simple returns, NaN where a market was closed (never zero-padded).
    periods_per_year : int, default 252
        Annualisation factor.
    min_periods : int, default 2
        Minimum number of shared sessions per pair.

    Returns
    -------
    CovarianceEstimate
        The matrix and its provenance (``repaired`` tells whether eigenvalue clipping ran).

    Raises
    ------
    DataError
        When the input is empty, non-numeric, infinite, or a pair shares fewer than
        ``min_periods`` sessions (the message names the pairs).

    Notes
    -----
    For each pair ``(i, j)`` with ``S`` the sessions where both are observed and ``n = |S|``:
    ``cov_ij = (sum_S x_i x_j - sum_S x_i * sum_S x_j / n) / (n - 1)``. Without NaN this is the
    ordinary sample covariance (computed on centred data). A negative eigenvalue below
    ``-PSD_TOLERANCE * max|eig|`` triggers the repair ``Q max(L, 0) Q^T``.
    """
    values = _as_float_array(returns)
    try:
        raw, min_obs, pairwise = _raw_covariance(values, min_periods)
    except DataError as exc:
        if "pair overlap" in str(exc):
            raise DataError(f"{exc}: {_named_low_overlap(returns, min_periods)}") from exc
        raise
    cov = 0.5 * (raw + raw.T) * periods_per_year
    diag = np.diag(cov)
    if not np.all(np.isfinite(cov)):
        raise DataError("covariance has non-finite entries (constant or empty columns?)")
    if np.any(diag <= 0):
        flat = [str(c) for c, d in zip(returns.columns, diag, strict=True) if d <= 0]
        raise DataError(f"zero variance for {flat}")
    return repaired_estimate(cov, returns.columns, min_obs, pairwise)


def repaired_estimate(
    cov: np.ndarray, columns: pd.Index, min_obs: int, pairwise: bool
) -> CovarianceEstimate:
    """A :class:`CovarianceEstimate` of ``cov``, repaired to PSD when it is not (recorded)."""
    repaired = False
    min_eig: float | None = None
    n_clipped = 0
    change = 0.0
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        eigenvalues = np.linalg.eigvalsh(cov)
        min_eig = float(eigenvalues[0])
        scale = float(np.max(np.abs(eigenvalues)))
        if min_eig < -PSD_TOLERANCE * scale:
            fixed, _, n_clipped = nearest_psd(cov)
            change = float(np.linalg.norm(fixed - cov))
            cov = fixed
            repaired = True
    return CovarianceEstimate(
        # copy=False keeps the array's row-major layout on every pandas (pandas 3 copies into
        # column-major by default, which changes the rounding of the products downstream)
        matrix=pd.DataFrame(cov, index=columns, columns=columns, copy=False),
        min_pair_observations=min_obs,
        pairwise=pairwise,
        repaired=repaired,
        min_eigenvalue=min_eig,
        clipped_eigenvalues=n_clipped,
        repair_frobenius=change,
    )


def correlation_from_covariance(cov: np.ndarray) -> np.ndarray:
    """Correlation matrix of a covariance matrix (clipped to [-1, 1], unit diagonal)."""
    std = np.sqrt(np.diag(cov))
    corr = cov / np.outer(std, std)
    np.clip(corr, -1.0, 1.0, out=corr)
    np.fill_diagonal(corr, 1.0)
    return corr
