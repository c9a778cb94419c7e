"""Point-in-time regime reads: one date (:func:`detect_regime`) or every date (:func:`regime_series`).

Windows, warm-up, features, labels and persistence: ``docs/regime-calibration.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.enums import Regime
from clusterfolio.errors import ConfigError, DataError
from clusterfolio.manifest import RegimeSettings
from clusterfolio.risk.regime.features import FEATURES, _Params, feature_frame
from clusterfolio.risk.regime.labels import (
    ORDER,
    _check_thresholds,
    _weights,
    apply_persistence,
    classify,
    composite_score,
    stand_in_dispersion,
)

__all__ = [
    "RegimeResult",
    "detect_regime",
    "regime_series",
]

#: The per-date bookkeeping columns a read records next to the features and their scores.
_BOOKKEEPING: tuple[str, ...] = (
    "baseline_sessions",
    "level_sessions",
    "warming_up",
    "level_prior_weight",
    "dispersion_read",
)


def _params(settings: RegimeSettings) -> _Params:
    """The windows of a read, checked (a settings copy made without validation included)."""
    window = int(settings.window)
    params = _Params(
        window=window,
        short_window=int(settings.short_window),
        baseline=max(int(settings.baseline), window),
        level_history=int(settings.level_history),
        persistence=int(settings.persistence),
    )
    if not 2 <= params.short_window <= window:
        raise ConfigError(
            f"regime short_window must lie in [2, window={window}], got {params.short_window}"
        )
    if params.level_history < 1:
        raise ConfigError(f"regime level_history must be >= 1, got {params.level_history}")
    if params.persistence < 1:
        raise ConfigError(f"regime persistence must be >= 1, got {params.persistence}")
    return params


@dataclass(frozen=True)
class RegimeResult:
    """Regime read at one date.

    Attributes
    ----------
    date : pandas.Timestamp or None
        Date of the last return used (None when the proxy has no date index).
    label : Regime
        The regime (after persistence).
    score : float
        Composite score in ``[0, 1]``.
    features : dict of str to float
        Raw features (:data:`~clusterfolio.risk.regime.features.FEATURES`; ``dispersion`` is
        NaN when it was not read), their scores (``<name>_score``), ``baseline_sessions``,
        ``level_sessions``, ``warming_up`` (1.0 while fewer than ``window`` returns exist),
        ``level_prior_weight`` and ``dispersion_read`` (the share of its weight the dispersion
        got: 0 when it was not read, 1 once it has a year of history).
    warming_up : bool
        True when the read used fewer than ``window`` returns.
    """

    date: pd.Timestamp | None
    label: Regime
    score: float
    features: dict[str, float] = field(default_factory=dict)
    warming_up: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (a feature that was not read is ``None``)."""
        return {
            "date": None if self.date is None else self.date.isoformat(),
            "label": self.label.value,
            "score": float(self.score),
            "warming_up": bool(self.warming_up),
            "features": {k: float(v) if np.isfinite(v) else None for k, v in self.features.items()},
        }


def _clean_proxy(proxy: pd.Series, params: _Params) -> pd.Series:
    if not isinstance(proxy, pd.Series):
        raise TypeError(f"proxy must be a pandas Series, got {type(proxy).__name__}")
    clean = proxy.astype(np.float64).dropna()
    if np.isinf(clean.to_numpy()).any():
        raise DataError("market proxy has infinite values")
    if len(clean) < params.short_window:
        raise DataError(
            f"market proxy has {len(clean)} returns; the regime needs {params.short_window} "
            f"(short_window) to warm up and {params.window} (window) for a full read"
        )
    return clean


def _aligned_dispersion(dispersion: pd.Series | None, index: pd.Index) -> np.ndarray | None:
    """The dispersion on the proxy's dates (NaN where it has none); None when not given."""
    if dispersion is None:
        return None
    if not isinstance(dispersion, pd.Series):
        raise TypeError(f"dispersion must be a pandas Series, got {type(dispersion).__name__}")
    values = dispersion.astype(np.float64).reindex(index).to_numpy(dtype=np.float64)
    if np.isinf(values).any() or (values < 0).any():
        raise DataError("market dispersion has infinite or negative values")
    return values


def _series(
    proxy: pd.Series,
    settings: RegimeSettings,
    spectral: bool,
    dispersion: pd.Series | None,
) -> pd.DataFrame:
    params = _params(settings)
    clean = _clean_proxy(proxy, params)
    _weights(settings)
    _check_thresholds(settings)
    frame = feature_frame(
        clean.to_numpy(dtype=np.float64), _aligned_dispersion(dispersion, clean.index), params
    )
    used = {n: frame[f"{n}_score"] for n in FEATURES}
    used["dispersion"] = stand_in_dispersion(
        frame["dispersion_score"], frame["dispersion_read"], frame["vol_level_score"]
    )
    scores = composite_score(used, settings)
    rank = {regime: k for k, regime in enumerate(ORDER)}
    raw = np.array(
        [rank[classify(float(x), settings, spectral=spectral)] for x in scores], dtype=np.int64
    )
    held = apply_persistence(raw, params.persistence)
    names = np.array([r.value for r in ORDER], dtype=object)
    return pd.DataFrame(
        {"label": names[held], "raw_label": names[raw], "score": scores, **frame},
        index=clean.index[params.short_window - 1 :],
    )


def detect_regime(
    proxy: pd.Series,
    settings: RegimeSettings,
    *,
    spectral: bool,
    dispersion: pd.Series | None = None,
) -> RegimeResult:
    """Regime at the last date of ``proxy``, from the data up to that date.

    It is the last row of :func:`regime_series` on the same inputs (the level medians and the
    persistence read the whole history given).

    Parameters
    ----------
    proxy : pandas.Series
        Market proxy returns in date order (see
        :func:`~clusterfolio.risk.regime.proxy.market_proxy`); NaN are dropped.
    settings : RegimeSettings
        Windows (``window``, ``short_window``, ``baseline``, ``level_history``),
        ``persistence``, thresholds and weights.
    spectral : bool
        The ``feat_spectral_regimes`` flag (whether ``TURBULENT`` exists).
    dispersion : pandas.Series, optional
        Daily cross-sectional dispersion of the proxy's members
        (:func:`~clusterfolio.risk.regime.proxy.market_dispersion`), aligned on the proxy's
        dates; dates after the proxy's last are ignored. Without it (or on a date where it is
        NaN) the ``dispersion`` feature is left out of the score, recorded as
        ``dispersion_read`` 0.

    Returns
    -------
    RegimeResult

    Raises
    ------
    DataError
        When fewer than ``short_window`` returns are available, or on infinite inputs.
    ConfigError
        On unknown weight keys, unordered thresholds or out-of-range windows.
    """
    series = _series(proxy, settings, spectral, dispersion)
    last = series.iloc[-1]
    keys = [*FEATURES, *(f"{n}_score" for n in FEATURES), *_BOOKKEEPING]
    date = series.index[-1]
    return RegimeResult(
        date=pd.Timestamp(date) if isinstance(date, pd.Timestamp | np.datetime64) else None,
        label=Regime(str(last["label"])),
        score=float(last["score"]),
        features={key: float(last[key]) for key in keys},
        warming_up=bool(last["warming_up"]),
    )


def regime_series(
    proxy: pd.Series,
    settings: RegimeSettings,
    *,
    spectral: bool,
    dispersion: pd.Series | None = None,
) -> pd.DataFrame:
    """Point-in-time regime for every date of the proxy.

    The row of date ``t`` uses the inputs up to ``t`` only and equals
    ``detect_regime(proxy.loc[:t], ..., dispersion=dispersion.loc[:t])``. Computed on sliding
    windows (no recomputation from scratch per date).

    Parameters
    ----------
    proxy : pandas.Series
        Market proxy returns in date order; NaN are dropped.
    settings : RegimeSettings
        As in :func:`detect_regime`.
    spectral : bool
        The ``feat_spectral_regimes`` flag.
    dispersion : pandas.Series, optional
        As in :func:`detect_regime`.

    Returns
    -------
    pandas.DataFrame
        Indexed by the proxy dates from the ``short_window``-th return on, columns ``label``
        (the regime value as a string, after persistence), ``raw_label`` (before persistence),
        ``score``, the raw features, their ``<name>_score``, ``baseline_sessions``,
        ``level_sessions``, ``warming_up``, ``level_prior_weight`` and ``dispersion_read``.

    Raises
    ------
    DataError, ConfigError
        As :func:`detect_regime` (whose read is this frame's last row).
    """
    return _series(proxy, settings, spectral, dispersion)
