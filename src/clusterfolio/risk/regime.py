"""Market regime: a composite stress score on a market proxy, read point in time.

Market proxy
------------
:func:`market_proxy` is the equal-weight mean of the returns of the LONG assets that traded each
session (NaN ignored; a session where none traded is dropped). SHORT candidates are left out so
that a bearish screen does not flip the sign of the market; a symbol absent from ``directions``
counts as LONG.

Features (computed on the proxy up to date ``t`` only)
------------------------------------------------------
``recent`` is the last ``window`` returns, ``baseline`` the last ``baseline`` returns (it
contains the recent window; while fewer returns exist, the whole history is the baseline, which
is reported as ``baseline_sessions``). Each feature is mapped to a stress score in ``[0, 1]``
(``clip`` to ``[0, 1]``):

``vol_ratio``
    ``std(recent) / std(baseline)`` (ddof 1). Score ``0.5 + 0.5 log2(ratio)``: 0.5 when recent
    volatility equals the baseline, 1 when it has doubled, 0 when it has halved.
``turbulence``
    Wavelet spectral turbulence: each window is demeaned and decomposed with ``pywt.wavedec``
    (``db4``, ``mode="periodization"``, two levels); the fine share is the energy of the two
    finest detail levels (periods of 2 to 8 sessions) over the total coefficient energy, and the
    feature is ``share(recent) / share(baseline)``. Score ``0.5 + log2(ratio)``: 0.5 when the
    spectrum matches the baseline, 1 when the fine share is ``sqrt(2)`` times larger.
``vol_clustering``
    Mean autocorrelation of ``|r|`` at lags 1 to 5 over the recent window. Score
    ``acf / 0.4``: 0 for independent returns, 1 at crisis-like clustering (0.4 or more).
``entropy``
    Normalised permutation entropy of order 3 (delay 1; ties ordered by position) over the
    recent window, in ``[0, 1]``; lower entropy means a more structured, trending market.
    Score ``(1 - H) / 0.1``: 0 for a disordered (noise-like) window, 1 at ``H <= 0.9``.

The composite score is the weighted mean of the feature scores with ``RegimeSettings.weights``
(unknown keys are a :class:`~clusterfolio.errors.ConfigError`; a feature without a weight has
weight 0).

Labels
------
``CRISIS`` when ``score >= crisis_above``; ``TURBULENT`` when ``score >= turbulent_above``;
``QUIET`` when ``score < quiet_below``; otherwise ``NORMAL``. ``TURBULENT`` exists only when the
``feat_spectral_regimes`` flag is on (``spectral=True``). With the flag off the turbulent band
``[turbulent_above, crisis_above)`` is split at its midpoint: its lower half reads ``NORMAL``
and its upper half ``CRISIS`` (the composite score itself does not depend on the flag).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from clusterfolio.enums import Direction, Regime
from clusterfolio.errors import ConfigError, DataError
from clusterfolio.manifest import RegimeSettings

__all__ = [
    "FEATURES",
    "RegimeResult",
    "classify",
    "composite_score",
    "confusion_matrix",
    "detect_regime",
    "feature_scores",
    "market_proxy",
    "regime_series",
]

#: Feature names, as used in ``RegimeSettings.weights``.
FEATURES: tuple[str, ...] = ("vol_ratio", "turbulence", "vol_clustering", "entropy")

#: Wavelet, decomposition depth (finest detail levels counted) and boundary mode.
WAVELET = "db4"
FINE_LEVELS = 2
WAVELET_MODE = "periodization"
#: Lags of the absolute-return autocorrelation.
CLUSTERING_LAGS = 5
#: Mean autocorrelation of |r| that scores 1.
CLUSTERING_FULL = 0.4
#: Permutation entropy order and the entropy deficit ``1 - H`` that scores 1.
ENTROPY_ORDER = 3
ENTROPY_FULL_DEFICIT = 0.1

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------- market proxy


def market_proxy(
    returns: pd.DataFrame, *, directions: Mapping[str, Direction | str] | None = None
) -> pd.Series:
    """Equal-weight market proxy of the LONG assets.

    Parameters
    ----------
    returns : pandas.DataFrame
        Raw (not direction-adjusted) return matrix, NaN where an asset did not trade.
    directions : mapping of str to Direction, optional
        Direction per symbol; SHORT symbols are left out. A symbol absent from the mapping (or
        every symbol when it is None) counts as LONG.

    Returns
    -------
    pandas.Series
        Mean return of the LONG assets that traded each session (named ``"market_proxy"``);
        sessions where none traded are dropped.

    Raises
    ------
    DataError
        When no column is LONG.
    """
    if directions is None:
        longs = list(returns.columns)
    else:
        longs = [
            c
            for c in returns.columns
            if Direction(directions.get(c, Direction.LONG)) is Direction.LONG
        ]
    if not longs:
        raise DataError("market proxy: no LONG asset in the return matrix")
    proxy = returns.loc[:, longs].astype(np.float64).mean(axis=1, skipna=True).dropna()
    proxy.name = "market_proxy"
    return proxy


# --------------------------------------------------------------------------- feature kernels
# Every kernel takes a C-contiguous (k, L) array of k windows and returns k values, so that the
# single-date and the all-dates paths run the same arithmetic.


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


def _raw_features(
    recent: FloatArray, base_std: FloatArray, base_share: FloatArray
) -> dict[str, FloatArray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        rec_std = _std(recent)
        vol_ratio = np.where(base_std > 0, rec_std / base_std, np.where(rec_std > 0, np.inf, 1.0))
        rec_share = _fine_share(recent)
        turbulence = np.where(base_share > 0, rec_share / base_share, 1.0)
    turbulence = np.where(np.isnan(turbulence), 1.0, turbulence)
    return {
        "vol_ratio": vol_ratio,
        "turbulence": turbulence,
        "vol_clustering": _vol_clustering(recent),
        "entropy": _permutation_entropy(recent),
    }


def feature_scores(raw: Mapping[str, npt.ArrayLike]) -> dict[str, FloatArray]:
    """Map raw features to stress scores in ``[0, 1]`` (transforms in the module docstring).

    Parameters
    ----------
    raw : mapping of str to array_like
        Raw ``vol_ratio``, ``turbulence``, ``vol_clustering`` and ``entropy`` values.

    Returns
    -------
    dict of str to numpy.ndarray
        One score array per feature.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        vol = 0.5 + 0.5 * np.log2(np.asarray(raw["vol_ratio"], dtype=np.float64))
        turb = 0.5 + np.log2(np.asarray(raw["turbulence"], dtype=np.float64))
    clus = np.asarray(raw["vol_clustering"], dtype=np.float64) / CLUSTERING_FULL
    ent = (1.0 - np.asarray(raw["entropy"], dtype=np.float64)) / ENTROPY_FULL_DEFICIT
    return {
        name: np.clip(np.nan_to_num(v, nan=0.5, posinf=1.0, neginf=0.0), 0.0, 1.0)
        for name, v in zip(FEATURES, (vol, turb, clus, ent), strict=True)
    }


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
    """Weighted mean of the feature scores with ``settings.weights`` (in ``[0, 1]``)."""
    weights = _weights(settings)
    total = sum(weights.values())
    acc = sum(w * np.asarray(scores[name], dtype=np.float64) for name, w in weights.items())
    return np.asarray(acc, dtype=np.float64) / total


def _check_thresholds(settings: RegimeSettings) -> None:
    if not settings.quiet_below <= settings.turbulent_above <= settings.crisis_above:
        raise ConfigError(
            "risk.regime thresholds must satisfy quiet_below <= turbulent_above <= crisis_above, "
            f"got {settings.quiet_below}, {settings.turbulent_above}, {settings.crisis_above}"
        )


def classify(score: float, settings: RegimeSettings, *, spectral: bool) -> Regime:
    """Label of a composite score (rules in the module docstring).

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


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class RegimeResult:
    """Regime read at one date.

    Attributes
    ----------
    date : pandas.Timestamp or None
        Date of the last return used (None when the proxy has no date index).
    label : Regime
        The regime.
    score : float
        Composite score in ``[0, 1]``.
    features : dict of str to float
        Raw features (``vol_ratio``, ``turbulence``, ``vol_clustering``, ``entropy``), their
        scores (``<name>_score``) and ``baseline_sessions``.
    """

    date: pd.Timestamp | None
    label: Regime
    score: float
    features: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record."""
        return {
            "date": None if self.date is None else self.date.isoformat(),
            "label": self.label.value,
            "score": float(self.score),
            "features": {k: float(v) for k, v in self.features.items()},
        }


def _clean_proxy(proxy: pd.Series, settings: RegimeSettings) -> pd.Series:
    if not isinstance(proxy, pd.Series):
        raise TypeError(f"proxy must be a pandas Series, got {type(proxy).__name__}")
    clean = proxy.astype(np.float64).dropna()
    if np.isinf(clean.to_numpy()).any():
        raise DataError("market proxy has infinite values")
    if len(clean) < settings.window:
        raise DataError(
            f"market proxy has {len(clean)} returns; the regime window needs {settings.window}"
        )
    return clean


def _feature_frame(values: FloatArray, settings: RegimeSettings) -> dict[str, FloatArray]:
    """Raw features, scores and baseline length for every date from ``window - 1`` on."""
    w, b = settings.window, max(settings.baseline, settings.window)
    n = values.size
    ends = np.arange(w - 1, n)  # index of the last return of each window
    recent = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(values, w))
    base_std = np.empty(ends.size)
    base_share = np.empty(ends.size)
    base_len = np.minimum(ends + 1, b)
    warm = ends < b - 1
    for k in np.nonzero(warm)[0]:  # warm-up: the baseline is the whole history so far
        window = np.ascontiguousarray(values[: ends[k] + 1])[None, :]
        base_std[k] = _std(window)[0]
        base_share[k] = _fine_share(window)[0]
    if (~warm).any():
        full = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(values, b))
        base_std[~warm] = _std(full)
        base_share[~warm] = _fine_share(full)
    raw = _raw_features(recent, base_std, base_share)
    scores = feature_scores(raw)
    out: dict[str, FloatArray] = {}
    for name in FEATURES:
        out[name] = raw[name]
        out[f"{name}_score"] = scores[name]
    out["baseline_sessions"] = base_len.astype(np.float64)
    return out


def detect_regime(proxy: pd.Series, settings: RegimeSettings, *, spectral: bool) -> RegimeResult:
    """Regime at the last date of ``proxy``, from the data up to that date.

    Parameters
    ----------
    proxy : pandas.Series
        Market proxy returns in date order (see :func:`market_proxy`); NaN are dropped.
    settings : RegimeSettings
        Window, baseline, thresholds and weights.
    spectral : bool
        The ``feat_spectral_regimes`` flag (whether ``TURBULENT`` exists).

    Returns
    -------
    RegimeResult

    Raises
    ------
    DataError
        When fewer than ``settings.window`` returns are available.
    ConfigError
        On unknown weight keys or unordered thresholds.
    """
    clean = _clean_proxy(proxy, settings)
    w, b = settings.window, max(settings.baseline, settings.window)
    values = clean.to_numpy(dtype=np.float64)
    recent = np.ascontiguousarray(values[-w:])[None, :]
    base = np.ascontiguousarray(values[-b:])[None, :]
    raw = _raw_features(recent, _std(base), _fine_share(base))
    scores = feature_scores(raw)
    score = float(composite_score(scores, settings)[0])
    features: dict[str, float] = {}
    for name in FEATURES:
        features[name] = float(raw[name][0])
        features[f"{name}_score"] = float(scores[name][0])
    features["baseline_sessions"] = float(base.shape[1])
    date = clean.index[-1]
    return RegimeResult(
        date=pd.Timestamp(date) if isinstance(date, pd.Timestamp | np.datetime64) else None,
        label=classify(score, settings, spectral=spectral),
        score=score,
        features=features,
    )


def regime_series(proxy: pd.Series, settings: RegimeSettings, *, spectral: bool) -> pd.DataFrame:
    """Point-in-time regime for every date of the proxy.

    The row of date ``t`` uses the proxy up to ``t`` only and equals
    ``detect_regime(proxy.loc[:t], ...)``. Computed on sliding windows (no recomputation from
    scratch per date).

    Parameters
    ----------
    proxy : pandas.Series
        Market proxy returns in date order; NaN are dropped.
    settings : RegimeSettings
        Window, baseline, thresholds and weights.
    spectral : bool
        The ``feat_spectral_regimes`` flag.

    Returns
    -------
    pandas.DataFrame
        Indexed by the proxy dates from the ``window``-th return on, columns ``label`` (the
        regime value as a string), ``score``, the raw features, their ``<name>_score`` and
        ``baseline_sessions``.
    """
    clean = _clean_proxy(proxy, settings)
    _weights(settings)
    _check_thresholds(settings)
    values = clean.to_numpy(dtype=np.float64)
    frame = _feature_frame(values, settings)
    scores = composite_score({n: frame[f"{n}_score"] for n in FEATURES}, settings)
    labels = [classify(float(s), settings, spectral=spectral).value for s in scores]
    out = pd.DataFrame(
        {"label": labels, "score": scores, **frame}, index=clean.index[settings.window - 1 :]
    )
    return out


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
