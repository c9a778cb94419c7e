"""The regime read straight from a return matrix: proxy and dispersion built, then read.

One call for the pipeline's regime step and the tournament's per-window decision, so both read
the same market the same way (:func:`~clusterfolio.risk.regime.proxy.market_proxy` and
:func:`~clusterfolio.risk.regime.proxy.market_dispersion` of the same members).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from clusterfolio.enums import CalendarKind, Direction
from clusterfolio.manifest import RegimeSettings
from clusterfolio.risk.regime.detector import RegimeResult, detect_regime, regime_series
from clusterfolio.risk.regime.proxy import market_dispersion, market_proxy

__all__ = ["detect_market_regime", "market_regime_series"]


def _market(
    returns: pd.DataFrame,
    directions: Mapping[str, Direction | str] | None,
    calendars: Mapping[str, CalendarKind] | None,
) -> tuple[pd.Series, pd.Series]:
    proxy = market_proxy(returns, directions=directions, calendars=calendars)
    return proxy, market_dispersion(returns, directions=directions, calendars=calendars)


def detect_market_regime(
    returns: pd.DataFrame,
    settings: RegimeSettings,
    *,
    spectral: bool,
    directions: Mapping[str, Direction | str] | None = None,
    calendars: Mapping[str, CalendarKind] | None = None,
) -> RegimeResult:
    """Regime at the last date of ``returns``, from its proxy and dispersion.

    Parameters
    ----------
    returns : pandas.DataFrame
        Raw return matrix (NaN where an asset did not trade).
    settings : RegimeSettings
        Windows, thresholds and weights.
    spectral : bool
        The ``feat_spectral_regimes`` flag.
    directions, calendars : mapping, optional
        As in :func:`~clusterfolio.risk.regime.proxy.market_proxy`.

    Returns
    -------
    RegimeResult
        As :func:`~clusterfolio.risk.regime.detector.detect_regime`.
    """
    proxy, dispersion = _market(returns, directions, calendars)
    return detect_regime(proxy, settings, spectral=spectral, dispersion=dispersion)


def market_regime_series(
    returns: pd.DataFrame,
    settings: RegimeSettings,
    *,
    spectral: bool,
    directions: Mapping[str, Direction | str] | None = None,
    calendars: Mapping[str, CalendarKind] | None = None,
) -> pd.DataFrame:
    """Point-in-time regime of every date of ``returns``, from its proxy and dispersion.

    Parameters
    ----------
    returns, settings, spectral, directions, calendars
        As in :func:`detect_market_regime`.

    Returns
    -------
    pandas.DataFrame
        As :func:`~clusterfolio.risk.regime.detector.regime_series`.
    """
    proxy, dispersion = _market(returns, directions, calendars)
    return regime_series(proxy, settings, spectral=spectral, dispersion=dispersion)
