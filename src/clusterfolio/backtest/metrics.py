r"""Performance statistics (QuantStats conventions) and tear-sheet tables.

Definitions, on the non-NaN daily returns :math:`r_1 .. r_n` and ``periods`` :math:`P` per
year (they are those of ``quantstats.stats`` 0.0.86 with the same ``periods``, and a test
checks each to 1e-10):

- total return :math:`R = \prod_t (1 + r_t) - 1`;
- CAGR :math:`(1 + R)^{P / n} - 1`: years are *counted periods* :math:`n / P`, not calendar
  time (``quantstats.stats.cagr``); NaN if :math:`1 + R < 0`;
- volatility :math:`s \sqrt{P}` with :math:`s` the sample standard deviation (``ddof=1``);
- Sharpe :math:`\bar r / s \cdot \sqrt{P}` (risk-free rate 0);
- Sortino :math:`\bar r / d \cdot \sqrt{P}` with the downside deviation
  :math:`d = \sqrt{\sum_{r_t < 0} r_t^2 / n}` (all :math:`n` observations in the denominator);
- max drawdown :math:`\min_t W_t / \max_{s \le t} W_s - 1` on the wealth
  :math:`W_t = \prod_{s \le t}(1 + r_s)` with a starting wealth :math:`W_0 = 1`, so a loss on the
  first day counts (negative number);
- Calmar CAGR / :math:`|` max drawdown :math:`|`.

Where QuantStats returns :math:`\pm\infty` or raises on a degenerate series (zero volatility,
no negative return, no drawdown, fewer than two returns), these functions return NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from clusterfolio.backtest.windows import Window
from clusterfolio.data.calendars import EXCHANGE_PERIODS_PER_YEAR, PERIODS_PER_YEAR
from clusterfolio.enums import CalendarKind
from clusterfolio.errors import ConfigError, DataError

__all__ = [
    "MONTHS",
    "PERIODS_PER_YEAR",
    "SHORT_SAMPLE_SESSIONS",
    "annual_returns",
    "annualisation",
    "drawdown_series",
    "drawdown_table",
    "monthly_returns_matrix",
    "periods_per_year",
    "summary_metrics",
]

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
"""Column labels of :func:`monthly_returns_matrix`."""

_DAYS_PER_YEAR = 365.25

SHORT_SAMPLE_SESSIONS = EXCHANGE_PERIODS_PER_YEAR
"""A metric computed on fewer sessions than this carries a short-sample note in the reports."""

_CALENDAR_FAMILY = {
    CalendarKind.NYSE: "exchange calendar",
    CalendarKind.LSE: "exchange calendar",
    CalendarKind.CRYPTO_24_7: "24/7 book",
    CalendarKind.FOREX_24_5: "24/5 book",
}


def _sessions_per_year(index: pd.DatetimeIndex) -> int:
    if len(index) < 2:
        raise DataError(f"periods_per_year: need at least 2 sessions, got {len(index)}")
    if not index.is_monotonic_increasing or not index.is_unique:
        raise DataError("periods_per_year: the index must be strictly increasing")
    span_days = (index[-1] - index[0]) / pd.Timedelta(days=1)
    return round((len(index) - 1) * _DAYS_PER_YEAR / span_days)


def periods_per_year(
    calendars_or_index: pd.DatetimeIndex | Iterable[CalendarKind | str],
    *,
    index: pd.DatetimeIndex | None = None,
) -> int:
    """Sessions per year used to annualise a portfolio's statistics.

    Parameters
    ----------
    calendars_or_index : pandas.DatetimeIndex, CalendarKind or iterable of CalendarKind
        Either the calendars of the universe's assets (one per asset, duplicates welcome), or
        the portfolio series' own index.
    index : pandas.DatetimeIndex, optional
        The portfolio series' index, used when the calendars disagree.

    Returns
    -------
    int
        252 when every asset trades on an exchange calendar (NYSE, LSE); 365 when every asset
        trades every day (crypto); 260 for 24/5 (forex). When the calendars disagree (a mixed
        universe), or when an index is given instead of calendars, the series' own frequency:
        ``round((n - 1) * 365.25 / span_in_days)`` over its ``n`` sessions (about 252 for an
        exchange calendar, 365 for a daily one, 261 for weekdays).

    Raises
    ------
    ConfigError
        When no calendar is given, a calendar is unknown, or the calendars disagree and no
        ``index`` is given.
    DataError
        When the index has fewer than two sessions or is not strictly increasing.
    """
    if isinstance(calendars_or_index, pd.DatetimeIndex):
        return _sessions_per_year(calendars_or_index)
    calendars = [calendars_or_index] if isinstance(calendars_or_index, str) else calendars_or_index
    try:
        kinds = {CalendarKind(c) for c in calendars}
    except ValueError as exc:
        raise ConfigError(
            f"periods_per_year: unknown calendar ({exc}); allowed: {[c.value for c in CalendarKind]}"
        ) from exc
    if not kinds:
        raise ConfigError("periods_per_year: no calendar given")
    figures = {PERIODS_PER_YEAR[k] for k in kinds}
    if len(figures) == 1:
        return figures.pop()
    if index is None:
        raise ConfigError(
            f"periods_per_year: mixed calendars {sorted(k.value for k in kinds)} need the "
            "portfolio series' index (index=...)"
        )
    return _sessions_per_year(index)


def annualisation(periods: int, source: str = "calendars") -> dict[str, Any]:
    """How a figure of :func:`periods_per_year` was chosen, in words, for every metrics table.

    Parameters
    ----------
    periods : int
        The sessions per year used.
    source : str, default "calendars"
        ``calendars`` when one calendar family set the figure (252 for an exchange calendar,
        365 only for a 24/7 book, 260 for a 24/5 book); anything else (mixed or unknown
        calendars) means the union axis' own session count.

    Returns
    -------
    dict
        ``periods_per_year``, ``source``, ``convention`` (e.g. ``"252 sessions per year
        (exchange calendar)"``) and ``short_sample_sessions`` (:data:`SHORT_SAMPLE_SESSIONS`).
    """
    families = sorted({f for k, f in _CALENDAR_FAMILY.items() if PERIODS_PER_YEAR[k] == periods})
    if source == "calendars" and families:
        why = " / ".join(families)
    else:
        why = f"session count of the union axis; {source}"
    return {
        "periods_per_year": int(periods),
        "source": source,
        "convention": f"{int(periods)} sessions per year ({why})",
        "short_sample_sessions": SHORT_SAMPLE_SESSIONS,
    }


def _clean(returns: pd.Series) -> npt.NDArray[np.float64]:
    if not isinstance(returns, pd.Series):
        raise DataError(f"returns must be a pandas Series, got {type(returns).__name__}")
    values = returns.to_numpy(dtype=np.float64)
    values = values[~np.isnan(values)]
    if np.isinf(values).any():
        raise DataError("returns contain infinite values")
    return values


def _ratio(numerator: float, denominator: float) -> float:
    if denominator == 0 or not math.isfinite(denominator):
        return math.nan
    return numerator / denominator


def _max_drawdown(r: npt.NDArray[np.float64]) -> float:
    if len(r) == 0:
        return 0.0
    wealth = np.concatenate(([1.0], np.cumprod(1.0 + r)))
    return float(np.min(wealth / np.maximum.accumulate(wealth)) - 1.0)


def summary_metrics(
    returns: pd.Series,
    *,
    periods: int,
    turnover: pd.Series | Sequence[float] | None = None,
    costs: pd.Series | Sequence[float] | None = None,
    windows: Sequence[Window | tuple[Any, Any]] | None = None,
) -> dict[str, float]:
    """Headline statistics of a daily return series.

    Parameters
    ----------
    returns : pandas.Series
        Daily portfolio returns (NaN entries are ignored, as QuantStats does).
    periods : int
        Periods per year (see :func:`periods_per_year`).
    turnover : pandas.Series or sequence of float, optional
        One-way turnover per rebalance (``SimulationResult.turnover``).
    costs : pandas.Series or sequence of float, optional
        Costs paid per rebalance (``SimulationResult.costs``).
    windows : sequence of Window or (start, end), optional
        Test periods; their compounded returns give the window win rate.

    Returns
    -------
    dict of str to float
        ``total_return``, ``cagr``, ``volatility``, ``sharpe``, ``sortino``, ``calmar``,
        ``max_drawdown`` (negative), ``n_periods``; with ``turnover``: ``turnover_total``,
        ``turnover_mean`` (per rebalance) and ``turnover_annual`` (total x periods / n); with
        ``costs``: ``costs_total``; with ``windows``: ``n_windows`` and ``window_win_rate``
        (share of windows whose compounded return is strictly positive). NaN where undefined.
        See the module docstring for the definitions.

    Raises
    ------
    ConfigError
        When ``periods`` is not a positive integer.
    DataError
        When ``returns`` is not a Series or holds infinite values.
    """
    if isinstance(periods, bool) or not isinstance(periods, int | np.integer) or periods < 1:
        raise ConfigError(f"summary_metrics: periods must be a positive integer, got {periods!r}")
    r = _clean(returns)
    n = len(r)
    total = float(np.prod(1.0 + r) - 1.0) if n else 0.0
    wealth = 1.0 + total
    cagr = math.nan if n == 0 or wealth < 0 else float(wealth ** (periods / n) - 1.0)
    mean = float(r.mean()) if n else math.nan
    std = float(r.std(ddof=1)) if n > 1 else math.nan
    downside = float(np.sqrt(np.sum(r[r < 0] ** 2) / n)) if n else math.nan
    max_dd = _max_drawdown(r)
    root = math.sqrt(periods)
    out: dict[str, float] = {
        "n_periods": float(n),
        "total_return": total,
        "cagr": cagr,
        "volatility": std * root,
        "sharpe": _ratio(mean, std) * root,
        "sortino": _ratio(mean, downside) * root,
        "max_drawdown": max_dd,
        "calmar": _ratio(cagr, abs(max_dd)),
    }
    if turnover is not None:
        t = np.asarray(turnover, dtype=np.float64)
        out["turnover_total"] = float(t.sum())
        out["turnover_mean"] = float(t.mean()) if len(t) else math.nan
        out["turnover_annual"] = float(t.sum()) * periods / n if n else math.nan
    if costs is not None:
        out["costs_total"] = float(np.asarray(costs, dtype=np.float64).sum())
    if windows is not None:
        out["n_windows"] = float(len(windows))
        out["window_win_rate"] = _window_win_rate(returns, windows)
    return out


def _window_win_rate(returns: pd.Series, windows: Sequence[Window | tuple[Any, Any]]) -> float:
    if len(windows) == 0:
        return math.nan
    index = returns.index
    values = returns.to_numpy(dtype=np.float64)
    wins = 0
    for window in windows:
        if isinstance(window, Window):
            first, last = window.test_start, window.test_end
        else:
            first, last = pd.Timestamp(window[0]), pd.Timestamp(window[1])
        lo = int(index.searchsorted(first, side="left"))
        hi = int(index.searchsorted(last, side="right"))
        chunk = values[lo:hi]
        chunk = chunk[~np.isnan(chunk)]
        if float(np.prod(1.0 + chunk)) - 1.0 > 0.0:
            wins += 1
    return wins / len(windows)


def _compound(group: pd.Series) -> float:
    return float(np.prod(1.0 + group.dropna().to_numpy(dtype=np.float64)) - 1.0)


def _datetime_index(returns: pd.Series) -> pd.DatetimeIndex:
    if not isinstance(returns, pd.Series) or not isinstance(returns.index, pd.DatetimeIndex):
        raise DataError("returns must be a pandas Series with a DatetimeIndex")
    return returns.index


def monthly_returns_matrix(returns: pd.Series) -> pd.DataFrame:
    """Compounded monthly returns, years x months.

    Parameters
    ----------
    returns : pandas.Series
        Daily returns with a DatetimeIndex.

    Returns
    -------
    pandas.DataFrame
        Index: the years (int, ascending); columns :data:`MONTHS` (``Jan`` .. ``Dec``); each cell
        :math:`\\prod (1 + r) - 1` over that month's sessions. A month without any session is
        NaN (QuantStats' ``monthly_returns`` shows 0 there).
    """
    index = _datetime_index(returns)
    years = index.year
    months = index.month
    grouped = returns.groupby([years, months]).apply(_compound)
    matrix = grouped.unstack()
    matrix = matrix.reindex(columns=range(1, 13))
    matrix.columns = pd.Index(MONTHS)
    matrix.index = pd.Index(matrix.index.astype(int), name="year")
    return matrix.astype(np.float64)


def annual_returns(returns: pd.Series) -> pd.Series:
    """Compounded return of each calendar year, indexed by the year (int)."""
    index = _datetime_index(returns)
    out = returns.groupby(index.year).apply(_compound)
    out.index = pd.Index(out.index.astype(int), name="year")
    return out.astype(np.float64).rename("return")


def drawdown_series(returns: pd.Series) -> pd.Series:
    """Drawdown at each session: ``W_t / max(1, max_{s<=t} W_s) - 1`` (0 at a new high)."""
    if not isinstance(returns, pd.Series):
        raise DataError(f"returns must be a pandas Series, got {type(returns).__name__}")
    r = np.nan_to_num(returns.to_numpy(dtype=np.float64), nan=0.0)
    wealth = np.concatenate(([1.0], np.cumprod(1.0 + r)))
    dd = wealth / np.maximum.accumulate(wealth) - 1.0
    return pd.Series(dd[1:], index=returns.index, name="drawdown")


def drawdown_table(returns: pd.Series, top: int = 5) -> pd.DataFrame:
    """The deepest drawdowns, deepest first.

    Parameters
    ----------
    returns : pandas.Series
        Daily returns (NaN counts as 0); the wealth starts at 1 before the first session.
    top : int, default 5
        How many drawdowns to keep.

    Returns
    -------
    pandas.DataFrame
        One row per drawdown with columns ``start`` (first session under the previous peak),
        ``trough`` (session of the lowest wealth), ``end`` (first session back at the peak;
        NaT while not recovered), ``depth`` (lowest ``W / peak - 1``, negative), ``length``
        (sessions spent under the peak, int) and ``recovered`` (bool). Ties in depth keep
        chronological order.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ConfigError(f"drawdown_table: top must be an integer >= 1, got {top!r}")
    dd = drawdown_series(returns)
    values = dd.to_numpy()
    under = values < 0.0
    rows: list[dict[str, Any]] = []
    n = len(values)
    i = 0
    while i < n:
        if not under[i]:
            i += 1
            continue
        j = i
        while j < n and under[j]:
            j += 1
        trough = i + int(np.argmin(values[i:j]))
        recovered = j < n
        rows.append(
            {
                "start": dd.index[i],
                "trough": dd.index[trough],
                "end": dd.index[j] if recovered else pd.NaT,
                "depth": float(values[trough]),
                "length": j - i,
                "recovered": recovered,
            }
        )
        i = j
    columns = ["start", "trough", "end", "depth", "length", "recovered"]
    table = pd.DataFrame(rows, columns=columns)
    if table.empty:
        return table
    table = table.sort_values("depth", kind="stable").head(top).reset_index(drop=True)
    table["length"] = table["length"].astype(int)
    table["recovered"] = table["recovered"].astype(bool)
    return table
