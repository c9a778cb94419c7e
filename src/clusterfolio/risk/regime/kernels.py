"""Window kernels of the regime features.

Every kernel takes a C-contiguous ``(k, L)`` array of ``k`` windows and returns ``k`` values.
The definitions are in ``docs/regime-calibration.md`` ("Features").
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Wavelet, decomposition depth (finest detail levels counted) and boundary mode.
WAVELET = "db4"
FINE_LEVELS = 2
WAVELET_MODE = "periodization"
#: Lags of the absolute-return autocorrelation.
CLUSTERING_LAGS = 5
#: Permutation entropy order.
ENTROPY_ORDER = 3


def _std(windows: FloatArray) -> FloatArray:
    return np.asarray(np.std(windows, axis=1, ddof=1), dtype=np.float64)


def _fine_share(windows: FloatArray) -> FloatArray:
    """Share of the energy in the FINE_LEVELS finest wavelet detail levels, per window."""
    import pywt

    centred = windows - windows.mean(axis=1, keepdims=True)
    max_level = pywt.dwt_max_level(windows.shape[1], pywt.Wavelet(WAVELET).dec_len)
    level = max(1, min(FINE_LEVELS, max_level))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # boundary-effect notice on short windows
        coeffs = pywt.wavedec(centred, WAVELET, mode=WAVELET_MODE, level=level, axis=1)
    energies = np.stack([np.einsum("ij,ij->i", c, c) for c in coeffs], axis=1)
    total = energies.sum(axis=1)
    fine = energies[:, 1:].sum(axis=1)  # coeffs = [cA_level, cD_level, ..., cD_1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, fine / total, np.nan)


def _vol_clustering(windows: FloatArray) -> FloatArray:
    """Mean autocorrelation of |r| at lags 1..CLUSTERING_LAGS, per window."""
    a = np.abs(windows)
    a = a - a.mean(axis=1, keepdims=True)
    denom = np.einsum("ij,ij->i", a, a)
    lags = min(CLUSTERING_LAGS, windows.shape[1] - 1)
    acf = np.stack([np.einsum("ij,ij->i", a[:, :-k], a[:, k:]) for k in range(1, lags + 1)])
    with np.errstate(divide="ignore", invalid="ignore"):
        out = acf.mean(axis=0) / denom
    return np.where(denom > 0, out, 0.0)


def _permutation_entropy(windows: FloatArray) -> FloatArray:
    """Normalised permutation entropy of order ENTROPY_ORDER, per window."""
    from math import factorial

    order = ENTROPY_ORDER
    emb = np.lib.stride_tricks.sliding_window_view(windows, order, axis=1)  # (k, L-o+1, o)
    perm = np.argsort(emb, axis=2, kind="stable")
    codes = (perm * (order ** np.arange(order - 1, -1, -1))).sum(axis=2)  # (k, L-o+1)
    n_codes = order**order
    counts = np.stack([(codes == c).sum(axis=1) for c in range(n_codes)], axis=1)
    probs = counts / codes.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(probs > 0, -probs * np.log(probs), 0.0)
    return np.asarray(terms.sum(axis=1) / np.log(factorial(order)), dtype=np.float64)


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """``num / den`` with ``0 / 0 = 1`` and ``x / 0 = inf``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.where(num > 0, np.inf, 1.0))


def _drawdown(values: FloatArray, span: int) -> FloatArray:
    """Depth of the proxy below its highest level of the last ``span`` dates, per date.

    The level is the cumulative log return (0 before the first return; a return at or below
    -100% counts as -99%); the depth after return ``t`` is the highest level of the last
    ``span`` returns, the level before them included, minus the level after ``t`` (fewer at the
    start): zero at a new high, never negative.
    """
    level = np.concatenate([[0.0], np.cumsum(np.log1p(np.maximum(values, -0.99)))])
    padded = np.concatenate([np.full(span, level[0]), level])
    highs = np.lib.stride_tricks.sliding_window_view(padded, span + 1).max(axis=1)[1:]
    return np.asarray(highs - level[1:], dtype=np.float64)
