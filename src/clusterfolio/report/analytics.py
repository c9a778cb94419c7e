r"""Numbers the reports compute from the artifacts (pure functions, no I/O).

Portfolio statistics (``portfolio_report.md``)
----------------------------------------------
A profile's historical series holds its *net* weights :math:`w` constant (rebalanced every
session) over the audited return matrix ``returns.parquet``: :math:`p_t = \sum_i w_i r_{i,t}` where
a NaN return (the asset's market was closed) counts as 0. Sessions on which none of the held
assets traded are dropped, so an all-NYSE portfolio lives on NYSE sessions and a portfolio
holding crypto on every day.

- volatility: sample standard deviation (``ddof=1``) times :math:`\sqrt{P}`, with :math:`P` the
  series' own sessions per year (:func:`clusterfolio.backtest.metrics.periods_per_year` of its
  index: about 252 for exchange sessions, 365 with 24/7 assets);
- beta and correlation to the market baseline (``AMEX:SPY``) on the baseline's sessions: the
  portfolio's return over each baseline period (from one baseline session to the next, weekend
  crypto moves included) is the compounded :math:`\prod (1 + p_t) - 1` over the sessions of the
  period, compared with the baseline's own return of that period;
  :math:`\beta = \mathrm{cov}(p, b) / \mathrm{var}(b)` and the Pearson correlation, both with
  ``ddof=1``.

Regime attribution (``backtest_comparison.md``)
-----------------------------------------------
Each session's return is attributed to the regime label in force when the position was held:
the label read at the last labelled session strictly before it (``regime_series.parquet`` is
point in time, so the label of session *t* already saw session *t*'s data). Sessions before the
first label are ``unlabelled``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from clusterfolio.errors import DataError

__all__ = [
    "UNLABELLED",
    "BetaStats",
    "attribute_regimes",
    "beta_correlation",
    "beta_correlation_aligned",
    "compound_to_sessions",
    "portfolio_returns",
    "regime_attribution",
    "series_volatility",
    "smallest_cover",
    "top_share",
]

UNLABELLED = "unlabelled"


def portfolio_returns(returns: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    """Daily returns of constant net weights over a return matrix.

    Parameters
    ----------
    returns : pandas.DataFrame
        Sessions × symbols, simple returns, NaN where the market was closed.
    weights : mapping of str to float
        Net weight per symbol (zero weights are ignored).

    Returns
    -------
    pandas.Series
        :math:`\\sum_i w_i r_{i,t}` on the sessions where at least one held asset traded.

    Raises
    ------
    DataError
        When a held symbol is not a column of ``returns``.
    """
    held = {str(s): float(w) for s, w in weights.items() if float(w) != 0.0}
    absent = sorted(s for s in held if s not in returns.columns)
    if absent:
        raise DataError(f"weights name symbols absent from the return matrix: {absent}")
    if not held:
        return pd.Series(dtype=np.float64, name="portfolio")
    frame = returns[list(held)]
    traded = frame.notna().any(axis=1)
    vector = np.array(list(held.values()), dtype=np.float64)
    values = frame.fillna(0.0).to_numpy(dtype=np.float64) @ vector
    series = pd.Series(values, index=returns.index, name="portfolio")
    return series[traded.to_numpy()]


def series_volatility(series: pd.Series) -> tuple[float, int]:
    """Annualised volatility and the sessions per year used (NaN when fewer than 3 sessions).

    Returns
    -------
    tuple of (float, int)
        ``std(ddof=1) * sqrt(P)`` and ``P`` (see the module docstring).
    """
    from clusterfolio.backtest.metrics import periods_per_year

    clean = series.dropna()
    if len(clean) < 3:
        return math.nan, 0
    periods = periods_per_year(pd.DatetimeIndex(clean.index))
    return float(clean.std(ddof=1)) * math.sqrt(periods), periods


def compound_to_sessions(series: pd.Series, sessions: pd.DatetimeIndex) -> pd.Series:
    """Compound daily returns into the periods between consecutive ``sessions``.

    Parameters
    ----------
    series : pandas.Series
        Daily returns (NaN counts as 0) on a sorted DatetimeIndex.
    sessions : pandas.DatetimeIndex
        Sorted period ends (the benchmark's sessions).

    Returns
    -------
    pandas.Series
        Indexed by ``sessions[1:]``: the compounded return over the sessions in
        ``(sessions[k-1], sessions[k]]``.
    """
    if len(sessions) < 2:
        return pd.Series(dtype=np.float64)
    wealth = np.cumprod(1.0 + series.fillna(0.0).to_numpy(dtype=np.float64))
    index = pd.DatetimeIndex(series.index)
    position = index.searchsorted(sessions, side="right") - 1
    sampled = np.where(position >= 0, wealth[np.clip(position, 0, None)], 1.0)
    out = sampled[1:] / sampled[:-1] - 1.0
    return pd.Series(out, index=sessions[1:], name=series.name)


class BetaStats:
    """Beta and correlation of a portfolio to a benchmark.

    Parameters
    ----------
    beta, correlation : float
        NaN when undefined (fewer than 3 periods, a constant benchmark).
    n_periods : int
        Benchmark periods compared.
    """

    def __init__(self, beta: float, correlation: float, n_periods: int) -> None:
        self.beta = beta
        self.correlation = correlation
        self.n_periods = n_periods


def beta_correlation(portfolio: pd.Series, benchmark: pd.Series) -> BetaStats:
    """Beta and correlation of ``portfolio`` to ``benchmark`` on the benchmark's sessions.

    Parameters
    ----------
    portfolio : pandas.Series
        Daily portfolio returns.
    benchmark : pandas.Series
        The benchmark's returns on its own sessions (NaN where closed).

    Returns
    -------
    BetaStats
        See the module docstring for the alignment.
    """
    bench = benchmark.dropna()
    if portfolio.empty or bench.empty:
        return BetaStats(math.nan, math.nan, 0)
    lo, hi = portfolio.index[0], portfolio.index[-1]
    bench = bench[(bench.index >= lo) & (bench.index <= hi)]
    sessions = pd.DatetimeIndex(bench.index)
    return beta_correlation_aligned(compound_to_sessions(portfolio, sessions), bench.iloc[1:])


def beta_correlation_aligned(portfolio: pd.Series, benchmark: pd.Series) -> BetaStats:
    """Beta and correlation of two series already on the same periods (``ddof=1``).

    Parameters
    ----------
    portfolio, benchmark : pandas.Series
        Returns of the same periods, in the same order (compared position by position).

    Returns
    -------
    BetaStats
        NaN figures under 3 periods or when a variance is zero.
    """
    p = portfolio.to_numpy(dtype=np.float64)
    b = benchmark.to_numpy(dtype=np.float64)
    if len(p) != len(b):
        raise DataError(f"series of different lengths: {len(p)} and {len(b)}")
    n = len(b)
    if n < 3:
        return BetaStats(math.nan, math.nan, n)
    var_b = float(np.var(b, ddof=1))
    var_p = float(np.var(p, ddof=1))
    cov = float(np.cov(p, b, ddof=1)[0, 1])
    beta = cov / var_b if var_b > 0 else math.nan
    corr = cov / math.sqrt(var_b * var_p) if var_b > 0 and var_p > 0 else math.nan
    return BetaStats(beta, corr, n)


def smallest_cover(weights: Mapping[str, float], share: float) -> list[tuple[str, float]]:
    """The fewest keys whose absolute weights reach ``share`` of the total, largest first.

    Ties in weight are broken by key, so the answer is deterministic. Returns an empty list
    when the total is zero.
    """
    items = sorted(
        ((str(k), abs(float(v))) for k, v in weights.items()), key=lambda x: (-x[1], x[0])
    )
    total = sum(v for _, v in items)
    if total <= 0:
        return []
    out: list[tuple[str, float]] = []
    running = 0.0
    for key, value in items:
        out.append((key, value))
        running += value
        if running >= share * total - 1e-12:
            break
    return out


def top_share(weights: Mapping[str, float], n: int) -> float:
    """Share of the total absolute weight held by the ``n`` largest (NaN when the total is 0)."""
    values = sorted((abs(float(v)) for v in weights.values()), reverse=True)
    total = sum(values)
    return sum(values[:n]) / total if total > 0 else math.nan


def attribute_regimes(index: pd.DatetimeIndex, labels: pd.Series) -> pd.Series:
    """The regime label in force at each session of ``index`` (see the module docstring)."""
    lab = labels.dropna().sort_index()
    lab_index = pd.DatetimeIndex(lab.index)
    position = lab_index.searchsorted(index, side="left") - 1
    values = lab.astype(str).to_numpy()
    out = np.where(position >= 0, values[np.clip(position, 0, None)], UNLABELLED)
    return pd.Series(out, index=index, name="regime")


def regime_attribution(returns: pd.DataFrame, labels: pd.Series, periods: int) -> pd.DataFrame:
    """Performance of each return column by regime label.

    Parameters
    ----------
    returns : pandas.DataFrame
        Daily returns, one column per strategy (NaN: no return that session).
    labels : pandas.Series
        Regime label per session (``regime_series.parquet["label"]``).
    periods : int
        Sessions per year used to annualise.

    Returns
    -------
    pandas.DataFrame
        One row per (``strategy``, ``regime``) with ``sessions``, ``total_return``
        (compounded), ``mean_annual`` (mean × ``periods``) and ``volatility``
        (``std(ddof=1)`` × sqrt(``periods``), NaN under 2 sessions); regimes in the order of
        first appearance of :class:`~clusterfolio.enums.Regime`, then ``unlabelled``.
    """
    from clusterfolio.enums import Regime

    regimes = attribute_regimes(pd.DatetimeIndex(returns.index), labels)
    order = [r.value for r in Regime] + [UNLABELLED]
    rows = []
    for column in returns.columns:
        series = returns[column]
        for label in order:
            chunk = series[(regimes == label).to_numpy()].dropna().to_numpy(dtype=np.float64)
            if len(chunk) == 0:
                continue
            rows.append(
                {
                    "strategy": str(column),
                    "regime": label,
                    "sessions": len(chunk),
                    "total_return": float(np.prod(1.0 + chunk) - 1.0),
                    "mean_annual": float(chunk.mean()) * periods,
                    "volatility": (
                        float(chunk.std(ddof=1)) * math.sqrt(periods)
                        if len(chunk) > 1
                        else math.nan
                    ),
                }
            )
    columns = ["strategy", "regime", "sessions", "total_return", "mean_annual", "volatility"]
    return pd.DataFrame(rows, columns=columns)
