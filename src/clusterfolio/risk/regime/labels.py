"""Composite score, thresholds, raw labels and persistence of the regime.

Rules and calibration: ``docs/regime-calibration.md`` ("Labels", "Persistence", "Calibration").
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
import pandas as pd

from clusterfolio.enums import Regime
from clusterfolio.errors import ConfigError
from clusterfolio.manifest import RegimeSettings
from clusterfolio.risk.regime.features import FEATURES
from clusterfolio.risk.regime.kernels import FloatArray, IntArray

__all__ = [
    "CALIBRATED_THRESHOLDS",
    "CALIBRATED_WEIGHTS",
    "ORDER",
    "applied_thresholds",
    "apply_persistence",
    "classify",
    "composite_score",
    "confusion_matrix",
    "stand_in_dispersion",
]

_DEFAULTS = RegimeSettings()
#: Calibrated feature weights: the defaults of ``RegimeSettings.weights`` (one source).
CALIBRATED_WEIGHTS: Mapping[str, float] = MappingProxyType(dict(_DEFAULTS.weights))
#: Calibrated ``quiet_below``, ``turbulent_above`` and ``crisis_above`` (the settings defaults).
CALIBRATED_THRESHOLDS: Mapping[str, float] = MappingProxyType(
    {k: float(getattr(_DEFAULTS, k)) for k in ("quiet_below", "turbulent_above", "crisis_above")}
)

#: Regimes from calm to stressed (the order of the persistence rule).
ORDER: tuple[Regime, ...] = (Regime.QUIET, Regime.NORMAL, Regime.TURBULENT, Regime.CRISIS)


def _weights(settings: RegimeSettings) -> dict[str, float]:
    unknown = sorted(set(settings.weights) - set(FEATURES))
    if unknown:
        raise ConfigError(
            f"risk.regime.weights has unknown features {unknown}; allowed: {list(FEATURES)}"
        )
    weights = {name: float(settings.weights.get(name, 0.0)) for name in FEATURES}
    if any(w < 0 or not np.isfinite(w) for w in weights.values()) or sum(weights.values()) <= 0:
        raise ConfigError(
            f"risk.regime.weights must be finite, non-negative and not all zero, got {weights}"
        )
    return weights


def composite_score(scores: Mapping[str, npt.ArrayLike], settings: RegimeSettings) -> FloatArray:
    """Weighted mean of the feature scores with ``settings.weights``, per date.

    A feature whose score is NaN on a date or that is missing from ``scores`` is left out of
    that date's mean and the other weights are renormalised; a date with no feature read scores
    0.5. (The detector never passes a NaN: :func:`stand_in_dispersion` fills the dispersion.)

    Parameters
    ----------
    scores : mapping of str to array_like
        Score arrays of the features, of equal lengths.
    settings : RegimeSettings
        The weights (they need not sum to 1).

    Returns
    -------
    numpy.ndarray
        Composite score per date, in ``[0, 1]``.

    Raises
    ------
    ConfigError
        On unknown, negative, non-finite or all-zero weights.
    """
    weights = {n: w for n, w in _weights(settings).items() if w > 0 and n in scores}
    if not weights:
        length = len(np.asarray(next(iter(scores.values())))) if scores else 0
        return np.full(length, 0.5)
    stacked = np.stack([np.asarray(scores[n], dtype=np.float64) for n in weights])
    w = np.array(list(weights.values()))[:, None] * np.isfinite(stacked)
    total = w.sum(axis=0)
    acc = (w * np.nan_to_num(stacked, nan=0.0)).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(total > 0, acc / total, 0.5), dtype=np.float64)


def stand_in_dispersion(
    dispersion_score: npt.ArrayLike, share: npt.ArrayLike, vol_level_score: npt.ArrayLike
) -> FloatArray:
    """The dispersion score the composite uses: its own where read, the volatility level's else.

    ``share * dispersion + (1 - share) * vol_level`` with the dispersion's ``dispersion_read``
    share (0 where it is not read, so a NaN dispersion never enters): a universe too small for
    a cross-section, or a dispersion history too short to know its typical level, is read on
    the proxy's own level against its typical level, and the score keeps its centre.

    Parameters
    ----------
    dispersion_score, share, vol_level_score : array_like
        Per date: the dispersion's score (NaN where not read), its share in ``[0, 1]`` and the
        ``vol_level`` score.

    Returns
    -------
    numpy.ndarray
    """
    own = np.asarray(dispersion_score, dtype=np.float64)
    weight = np.where(np.isfinite(own), np.clip(np.asarray(share, dtype=np.float64), 0, 1), 0)
    level = np.asarray(vol_level_score, dtype=np.float64)
    return np.asarray(weight * np.nan_to_num(own) + (1 - weight) * level, dtype=np.float64)


def _check_thresholds(settings: RegimeSettings) -> None:
    if not settings.quiet_below <= settings.turbulent_above <= settings.crisis_above:
        raise ConfigError(
            "risk.regime thresholds must satisfy quiet_below <= turbulent_above <= crisis_above, "
            f"got {settings.quiet_below}, {settings.turbulent_above}, {settings.crisis_above}"
        )


def applied_thresholds(settings: RegimeSettings, *, spectral: bool) -> dict[str, float | None]:
    """The score thresholds :func:`classify` applies (not merely the configured ones).

    Returns
    -------
    dict
        ``quiet_below``, ``turbulent_above`` (None when TURBULENT does not exist, i.e. with the
        spectral flag off) and ``crisis_above`` (the midpoint of the turbulent band when the
        flag is off).
    """
    _check_thresholds(settings)
    if spectral:
        return {
            "quiet_below": float(settings.quiet_below),
            "turbulent_above": float(settings.turbulent_above),
            "crisis_above": float(settings.crisis_above),
        }
    midpoint = 0.5 * (settings.turbulent_above + settings.crisis_above)
    return {
        "quiet_below": float(settings.quiet_below),
        "turbulent_above": None,
        "crisis_above": float(midpoint),
    }


def classify(score: float, settings: RegimeSettings, *, spectral: bool) -> Regime:
    """Raw label of a composite score (rules in the calibration study, "Labels").

    Parameters
    ----------
    score : float
        Composite score in ``[0, 1]``.
    settings : RegimeSettings
        Thresholds.
    spectral : bool
        The ``feat_spectral_regimes`` flag: whether ``TURBULENT`` exists.

    Returns
    -------
    Regime
    """
    _check_thresholds(settings)
    if score >= settings.crisis_above:
        return Regime.CRISIS
    if score >= settings.turbulent_above:
        if spectral:
            return Regime.TURBULENT
        midpoint = 0.5 * (settings.turbulent_above + settings.crisis_above)
        return Regime.CRISIS if score >= midpoint else Regime.NORMAL
    if score < settings.quiet_below:
        return Regime.QUIET
    return Regime.NORMAL


def apply_persistence(raw: npt.ArrayLike, persistence: int) -> IntArray:
    """Hysteresis on a path of ordinal labels (0 calmest), read point in time.

    Parameters
    ----------
    raw : array_like of int
        Raw ordinal labels in date order.
    persistence : int
        Number of consecutive sessions a score must stay beyond a threshold to change the label
        (1: the raw labels).

    Returns
    -------
    numpy.ndarray
        The persisted labels: the first raw label, then at each date the calmest raw label of
        the last ``persistence`` dates when it is above the current label, the most stressed one
        when it is below, else the current label.
    """
    path = np.asarray(raw, dtype=np.int64)
    if persistence <= 1 or path.size == 0:
        return path.copy()
    # calmest and most stressed raw label of the last `persistence` dates (fewer at the start)
    padded = np.concatenate([np.full(persistence - 1, path[0]), path])
    last = np.lib.stride_tricks.sliding_window_view(padded, persistence)
    lows, highs = last.min(axis=1).tolist(), last.max(axis=1).tolist()
    out: list[int] = []
    current = int(path[0])
    for lo, hi in zip(lows, highs, strict=True):
        if lo > current:
            current = lo
        elif hi < current:
            current = hi
        out.append(current)
    return np.asarray(out, dtype=np.int64)


def confusion_matrix(predicted: pd.Series, truth: pd.Series) -> pd.DataFrame:
    """Counts of true versus predicted regimes on the dates both series label.

    Parameters
    ----------
    predicted : pandas.Series
        Predicted labels (Regime or its string value), indexed by date.
    truth : pandas.Series
        Ground-truth labels, indexed by date.

    Returns
    -------
    pandas.DataFrame
        Rows = true regime, columns = predicted regime, both in :class:`Regime` order (calmest
        first, all four present); integer counts.
    """
    joined = pd.concat({"predicted": predicted, "truth": truth}, axis=1, join="inner").dropna()
    names = [r.value for r in Regime]
    truth_labels = pd.Series([Regime(v).value for v in joined["truth"]], name="truth", dtype=object)
    pred_labels = pd.Series(
        [Regime(v).value for v in joined["predicted"]], name="predicted", dtype=object
    )
    table = pd.crosstab(truth_labels, pred_labels).reindex(index=names, columns=names, fill_value=0)
    table.index.name = "truth"
    table.columns.name = "predicted"
    return table.astype(np.int64)
