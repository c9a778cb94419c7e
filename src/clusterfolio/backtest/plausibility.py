r"""Plausibility guard of the tournament: out-of-sample Sharpe ratios too good to be true.

A summary row (engine, profile, simulator) is *suspicious* when its annualised out-of-sample
Sharpe ratio

- exceeds the market baseline's (the ``market`` engine and profile, same simulator) by more
  than ``backtest.plausibility_sharpe_excess`` (reason ``sharpe_excess``), or
- exceeds ``backtest.plausibility_sharpe_max`` (reason ``sharpe_above_max``).

Each flag names the test window that contributes most: with :math:`r_t` the row's daily
returns and :math:`m_t` the market's (same simulator), the window :math:`w` with the largest
excess log growth :math:`c_w = \sum_{t \in w} \log(1 + r_t) - \log(1 + m_t)` (the row's own log
growth when no market series exists), its share :math:`c_w / \sum_v \max(c_v, 0)` of the
windows' gains (None when no window gains) and its dates. The share is of the gains, not of the
net total: a profile can beat the market's Sharpe with a lower volatility while its net excess
log growth is negative, and a net total can be smaller than one window's gain. A flag is a warning for the reader, never a filter:
the row keeps its metrics and its rank.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.backtest.windows import Window
from clusterfolio.enums import EngineName, ProfileName
from clusterfolio.manifest import BacktestSettings

__all__ = ["PlausibilityReason", "plausibility_flags", "top_window"]


class PlausibilityReason(StrEnum):
    """Why a row is flagged."""

    SHARPE_EXCESS = "sharpe_excess"
    """Sharpe above the market's by more than ``backtest.plausibility_sharpe_excess``."""
    SHARPE_ABOVE_MAX = "sharpe_above_max"
    """Sharpe above ``backtest.plausibility_sharpe_max``."""


def _log_growth(series: pd.Series, window: Window) -> float | None:
    chunk = series.loc[window.test_start : window.test_end].dropna().to_numpy(dtype=np.float64)
    if len(chunk) == 0 or np.any(chunk <= -1.0):
        return None
    return float(np.sum(np.log1p(chunk)))


def top_window(
    returns: pd.Series, market: pd.Series | None, windows: Sequence[Window]
) -> dict[str, Any] | None:
    """The window with the largest (excess) log growth, its share and dates (module docstring).

    Returns
    -------
    dict or None
        ``window``, ``test_start``, ``test_end``, ``log_growth`` (the excess over the market
        when ``market`` is given), ``share`` (of the sum of the windows' positive contributions;
        None when no window has one) and ``basis`` (``excess_over_market`` or ``own``); None when no window
        holds returns.
    """
    contributions: list[tuple[Window, float]] = []
    for window in windows:
        own = _log_growth(returns, window)
        if own is None:
            continue
        base = _log_growth(market, window) if market is not None else 0.0
        contributions.append((window, own - (base or 0.0)))
    if not contributions:
        return None
    gains = sum(max(c, 0.0) for _, c in contributions)
    window, best = max(contributions, key=lambda item: item[1])
    return {
        "window": window.index,
        "test_start": window.test_start.date().isoformat(),
        "test_end": window.test_end.date().isoformat(),
        "log_growth": best,
        "share": best / gains if gains > 0 else None,
        "basis": "own" if market is None else "excess_over_market",
    }


def _sharpe(row: Mapping[str, Any] | None) -> float | None:
    value = ((row or {}).get("metrics") or {}).get("sharpe")
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def plausibility_flags(
    rows: Sequence[Mapping[str, Any]],
    series: Mapping[str, pd.Series],
    windows: Sequence[Window],
    backtest: BacktestSettings,
) -> dict[str, Any]:
    """The plausibility section of ``tournament_summary.json``.

    Parameters
    ----------
    rows : sequence of dict
        Summary rows (``engine``, ``profile``, ``simulator``, ``metrics``).
    series : mapping of str to pandas.Series
        Daily returns by ``engine|profile|simulator``.
    windows : sequence of Window
        The walk-forward windows.
    backtest : BacktestSettings
        ``plausibility_sharpe_excess`` and ``plausibility_sharpe_max``.

    Returns
    -------
    dict
        ``sharpe_excess_threshold``, ``sharpe_max``, ``market_sharpe`` (per simulator),
        ``flags`` (one per suspicious row: ``engine``, ``profile``, ``simulator``, ``sharpe``,
        ``market_sharpe``, ``excess``, ``reasons``, ``top_window``) and ``definition``.
    """
    market_key = (EngineName.MARKET.value, ProfileName.MARKET.value)
    market_rows = {
        str(r["simulator"]): r for r in rows if (r["engine"], r["profile"]) == market_key
    }
    flags: list[dict[str, Any]] = []
    for row in rows:
        sharpe = _sharpe(row)
        if sharpe is None:
            continue
        simulator = str(row["simulator"])
        market = _sharpe(market_rows.get(simulator))
        excess = None if market is None else sharpe - market
        reasons = []
        if excess is not None and excess > backtest.plausibility_sharpe_excess:
            reasons.append(PlausibilityReason.SHARPE_EXCESS.value)
        if sharpe > backtest.plausibility_sharpe_max:
            reasons.append(PlausibilityReason.SHARPE_ABOVE_MAX.value)
        if not reasons:
            continue
        key = f"{row['engine']}|{row['profile']}|{simulator}"
        market_key_series = f"{market_key[0]}|{market_key[1]}|{simulator}"
        market_series = None if key == market_key_series else series.get(market_key_series)
        returns = series.get(key)
        flags.append(
            {
                "engine": row["engine"],
                "profile": row["profile"],
                "simulator": simulator,
                "sharpe": sharpe,
                "market_sharpe": market,
                "excess": excess,
                "reasons": reasons,
                "top_window": None
                if returns is None
                else top_window(returns, market_series, windows),
            }
        )
    return {
        "sharpe_excess_threshold": backtest.plausibility_sharpe_excess,
        "sharpe_max": backtest.plausibility_sharpe_max,
        "market_sharpe": {s: _sharpe(r) for s, r in sorted(market_rows.items())},
        "flags": flags,
        "definition": (
            "suspicious: annualised out-of-sample Sharpe above the market's (same simulator) by "
            "more than sharpe_excess_threshold, or above sharpe_max; top_window: the test window "
            "with the largest log growth in excess of the market (own log growth without a "
            "market series) and its share of the windows' positive contributions"
        ),
    }
