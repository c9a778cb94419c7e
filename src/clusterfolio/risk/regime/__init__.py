"""Market regime: a composite stress score on the market, read point in time.

The market is read on one business-day calendar (24/7 weekend moves folded into the next
session) as two series of the LONG assets: a proxy return with capped inverse-volatility weights
(:func:`market_proxy`) and the cross-sectional dispersion of its members
(:func:`market_dispersion`). Seven features of them (volatility level and ratio, dispersion
level, drawdown, wavelet turbulence, volatility clustering, permutation entropy) are scored in
``[0, 1]`` and averaged with ``RegimeSettings.weights``; the composite score is cut into
QUIET / NORMAL / TURBULENT / CRISIS by the calibrated thresholds and held by a persistence
rule. Every label at date ``t`` uses the data up to ``t`` only.

Definitions, the calibration rule, the accuracy against the synthetic market's recorded regime
path and the labels read on real shocks: ``docs/regime-calibration.md`` (the regime calibration
study).

Modules
-------
proxy
    :func:`market_proxy` and :func:`market_dispersion`.
kernels
    Window kernels (standard deviation, wavelet fine share, clustering, entropy, drawdown).
features
    The features of every date and their scores (:func:`feature_scores`).
labels
    Composite score, thresholds, raw labels, persistence, confusion matrix.
detector
    :func:`detect_regime` (one date) and :func:`regime_series` (every date).
market
    The same from a return matrix: :func:`detect_market_regime`, :func:`market_regime_series`.
"""

from __future__ import annotations

from clusterfolio.risk.regime.detector import (
    RegimeResult,
    detect_regime,
    regime_series,
)
from clusterfolio.risk.regime.features import FEATURES, PRIOR_DAILY_VOL, feature_scores
from clusterfolio.risk.regime.labels import (
    CALIBRATED_THRESHOLDS,
    CALIBRATED_WEIGHTS,
    applied_thresholds,
    apply_persistence,
    classify,
    composite_score,
    confusion_matrix,
    stand_in_dispersion,
)
from clusterfolio.risk.regime.market import detect_market_regime, market_regime_series
from clusterfolio.risk.regime.proxy import market_dispersion, market_proxy

__all__ = [
    "CALIBRATED_THRESHOLDS",
    "CALIBRATED_WEIGHTS",
    "FEATURES",
    "PRIOR_DAILY_VOL",
    "RegimeResult",
    "applied_thresholds",
    "apply_persistence",
    "classify",
    "composite_score",
    "confusion_matrix",
    "detect_market_regime",
    "detect_regime",
    "feature_scores",
    "market_dispersion",
    "market_proxy",
    "market_regime_series",
    "regime_series",
    "stand_in_dispersion",
]
