"""Regime features of every date and their stress scores (definitions: ``docs/regime-calibration.md``).

Every value at date ``t`` uses the proxy and the dispersion up to ``t`` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from clusterfolio.risk.regime.kernels import (
    FloatArray,
    IntArray,
    _drawdown,
    _fine_share,
    _permutation_entropy,
    _ratio,
    _std,
    _vol_clustering,
)

__all__ = [
    "ABSENT_WHEN_UNREAD",
    "DISPERSION_FULL_HISTORY",
    "DISPERSION_HALFLIFE",
    "DISPERSION_MIN_HISTORY",
    "DRAWDOWN_FULL",
    "FEATURES",
    "PRIOR_DAILY_VOL",
    "feature_scores",
]

#: Feature names, as used in ``RegimeSettings.weights``.
FEATURES: tuple[str, ...] = (
    "vol_ratio",
    "vol_level",
    "turbulence",
    "vol_clustering",
    "entropy",
    "dispersion",
    "drawdown",
)
#: Features that are left out of the composite (not scored 0.5) on a date they cannot be read.
ABSENT_WHEN_UNREAD: frozenset[str] = frozenset({"dispersion"})

#: Mean autocorrelation of |r| that scores 1.
CLUSTERING_FULL = 0.4
#: Entropy deficit ``1 - H`` that scores 1.
ENTROPY_FULL_DEFICIT = 0.1
#: Score slope of ``vol_level`` per doubling of the volatility level.
LEVEL_SLOPE = 0.25
#: Score slope of ``dispersion`` per doubling of the dispersion level.
DISPERSION_SLOPE = 0.5
#: Half-life (sessions) of the exponential mean of the daily dispersion.
DISPERSION_HALFLIFE = 3.0
#: Fewest dates of dispersion history behind its reference median.
DISPERSION_MIN_HISTORY = 20
#: Dates of dispersion history from which the dispersion gets its full weight.
DISPERSION_FULL_HISTORY = 250
#: Drawdown depth (in baseline standard deviations over ``short_window`` returns) scoring 1.
DRAWDOWN_FULL = 2.0
#: Returns over which the drawdown is measured (at most ``short_window``).
DRAWDOWN_SPAN = 5
#: Prior daily volatility of the proxy (about 13% a year): the volatility-level reference of
#: the first reads, before the history holds ``2 * window`` returns.
PRIOR_DAILY_VOL = 0.008


@dataclass(frozen=True)
class _Params:
    """Resolved windows of one read."""

    window: int
    short_window: int
    baseline: int
    level_history: int
    persistence: int


def _window_features(values: FloatArray, params: _Params) -> dict[str, FloatArray]:
    """Recent volatility and the window features of every date from ``short_window - 1`` on.

    A date with fewer than ``window`` returns so far (warming up) reads all of them as its recent
    window; the others read the last ``window``.
    """
    w, s = params.window, params.short_window
    n = values.size
    parts: dict[str, list[FloatArray]] = {k: [] for k in ("vol", "share", "clus", "ent")}

    def add(recent: FloatArray, short: FloatArray) -> None:
        parts["vol"].append(np.sqrt(_std(short) * _std(recent)))
        parts["share"].append(_fine_share(recent))
        parts["clus"].append(_vol_clustering(recent))
        parts["ent"].append(_permutation_entropy(recent))

    for end in range(s - 1, min(w - 1, n)):  # warm-up: the whole history so far
        recent = np.ascontiguousarray(values[: end + 1])[None, :]
        add(recent, np.ascontiguousarray(values[end + 1 - s : end + 1])[None, :])
    if n >= w:
        recent = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(values, w))
        add(
            recent,
            np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(values, s)[w - s :]),
        )
    return {k: np.concatenate(v) for k, v in parts.items()}


def _level_reference(recent_vol: FloatArray, ends: IntArray, params: _Params) -> FloatArray:
    """Median recent volatility of the last ``level_history`` dates, shrunk to the prior early.

    While fewer than ``2 * window`` returns exist the reference is the geometric blend
    ``exp(π log(prior) + (1 - π) log(median))`` with ``π = 1 - returns / (2 window)``:
    the first reads are measured against :data:`PRIOR_DAILY_VOL`, so a shock at the start of the
    history is not its own reference.
    """
    median = (
        pd.Series(recent_vol)
        .rolling(params.level_history, min_periods=1)
        .median()
        .to_numpy(dtype=np.float64)
    )
    prior_weight = np.clip(1.0 - (ends + 1) / (2.0 * params.window), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        blended = np.exp(
            prior_weight * np.log(PRIOR_DAILY_VOL) + (1 - prior_weight) * np.log(median)
        )
    return np.asarray(np.where(prior_weight > 0, blended, median), dtype=np.float64)


def _baseline(values: FloatArray, ends: IntArray, baseline: int) -> tuple[FloatArray, FloatArray]:
    """Standard deviation and fine wavelet share of the baseline window of every date."""
    base_std = np.empty(ends.size)
    base_share = np.empty(ends.size)
    warm = ends < baseline - 1
    for k in np.nonzero(warm)[0]:  # warm-up: the baseline is the whole history so far
        window = np.ascontiguousarray(values[: ends[k] + 1])[None, :]
        base_std[k] = _std(window)[0]
        base_share[k] = _fine_share(window)[0]
    if (~warm).any():
        full = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(values, baseline))
        base_std[~warm] = _std(full)
        base_share[~warm] = _fine_share(full)
    return base_std, base_share


def _dispersion_level(dispersion: FloatArray, params: _Params) -> tuple[FloatArray, FloatArray]:
    """Dispersion against its own typical level and the share of its weight, per proxy date.

    The level is the exponential mean (half-life :data:`DISPERSION_HALFLIFE`) of the daily
    dispersion over the median of that mean over the last ``level_history`` dates (at least
    :data:`DISPERSION_MIN_HISTORY` of them), NaN on a date whose own dispersion is NaN. The
    share is ``min(1, dates behind the median / DISPERSION_FULL_HISTORY)`` (0 where the level
    is NaN): a reference of a few months is not yet a typical level.
    """
    daily = pd.Series(dispersion, dtype=np.float64)
    smooth = daily.ewm(halflife=DISPERSION_HALFLIFE, ignore_na=True).mean()
    rolling = smooth.rolling(params.level_history, min_periods=DISPERSION_MIN_HISTORY)
    reference = rolling.median()
    level = (smooth / reference).where(daily.notna() & (reference > 0))
    share = np.clip(rolling.count().to_numpy(dtype=np.float64) / DISPERSION_FULL_HISTORY, 0, 1)
    values = level.to_numpy(dtype=np.float64)
    return values, np.where(np.isfinite(values), share, 0.0)


def _drawdown_depth(
    values: FloatArray, ends: IntArray, base_std: FloatArray, span: int
) -> FloatArray:
    """Drawdown over the last ``span`` returns in baseline standard deviations over ``span``."""
    depth = _drawdown(values, span)[ends]
    return np.asarray(np.where(depth > 0, _ratio(depth, base_std * np.sqrt(span)), 0.0))


def feature_frame(
    values: FloatArray, dispersion: FloatArray | None, params: _Params
) -> dict[str, FloatArray]:
    """Raw features, scores and history lengths for every date from ``short_window - 1`` on.

    ``dispersion`` is the daily dispersion aligned with ``values`` (None: not read).
    """
    w, s = params.window, params.short_window
    ends = np.arange(s - 1, values.size)  # index of the last return of each read
    win = _window_features(values, params)
    base_std, base_share = _baseline(values, ends, params.baseline)
    level_ref = _level_reference(win["vol"], ends, params)
    with np.errstate(divide="ignore", invalid="ignore"):
        turbulence = np.where(base_share > 0, win["share"] / base_share, 1.0)
    if dispersion is None:
        disp, disp_share = np.full(ends.size, np.nan), np.zeros(ends.size)
    else:
        disp, disp_share = (a[s - 1 :] for a in _dispersion_level(dispersion, params))
    raw = {
        "vol_ratio": _ratio(win["vol"], base_std),
        "vol_level": _ratio(win["vol"], level_ref),
        "turbulence": np.where(np.isnan(turbulence), 1.0, turbulence),
        "vol_clustering": win["clus"],
        "entropy": win["ent"],
        "dispersion": disp,
        "drawdown": _drawdown_depth(values, ends, base_std, min(DRAWDOWN_SPAN, s)),
    }
    scores = feature_scores(raw)
    out: dict[str, FloatArray] = {}
    for name in FEATURES:
        out[name] = raw[name]
        out[f"{name}_score"] = scores[name]
    out["baseline_sessions"] = np.minimum(ends + 1, params.baseline).astype(np.float64)
    out["level_sessions"] = np.minimum(np.arange(1, ends.size + 1), params.level_history).astype(
        np.float64
    )
    out["warming_up"] = (ends + 1 < w).astype(np.float64)
    out["level_prior_weight"] = np.clip(1.0 - (ends + 1) / (2.0 * w), 0.0, 1.0)
    out["dispersion_read"] = disp_share
    return out


def _transform(name: str, values: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "vol_ratio":
            return 0.5 + 0.5 * np.log2(values)
        if name == "vol_level":
            return 0.5 + LEVEL_SLOPE * np.log2(values)
        if name == "turbulence":
            return 0.5 + np.log2(values)
        if name == "vol_clustering":
            return values / CLUSTERING_FULL
        if name == "dispersion":
            return 0.5 + DISPERSION_SLOPE * np.log2(values)
        if name == "drawdown":
            return values / DRAWDOWN_FULL
        return (1.0 - values) / ENTROPY_FULL_DEFICIT  # entropy


def feature_scores(raw: Mapping[str, npt.ArrayLike]) -> dict[str, FloatArray]:
    """Map raw features to stress scores in ``[0, 1]`` (transforms in the calibration study).

    A NaN raw value (a feature that cannot be read at that date) scores a neutral 0.5, except
    for the features of :data:`ABSENT_WHEN_UNREAD` (``dispersion``), whose score stays NaN: the
    composite leaves them out of that date.

    Parameters
    ----------
    raw : mapping of str to array_like
        Raw values of some of :data:`FEATURES`; other keys are ignored.

    Returns
    -------
    dict of str to numpy.ndarray
        One score array per feature given, in :data:`FEATURES` order.
    """
    out: dict[str, FloatArray] = {}
    for name in FEATURES:
        if name in raw:
            values = np.asarray(raw[name], dtype=np.float64)
            score = _transform(name, values)
            neutral = np.nan if name in ABSENT_WHEN_UNREAD else 0.5
            score = np.clip(np.nan_to_num(score, nan=neutral, posinf=1.0, neginf=0.0), 0.0, 1.0)
            out[name] = np.where(np.isnan(values), neutral, score)
    return out
