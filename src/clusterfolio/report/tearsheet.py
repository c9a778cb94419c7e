"""QuantStats-style Markdown tear sheets of tournament return series.

A tear sheet compares one strategy's daily returns (``tournament_returns.parquet``) with the
market baseline's returns taken from ``returns.parquet`` as a pandas Series over the same span:
nothing is downloaded (no ticker is ever passed to QuantStats, and ``qs.reports`` is not used).

Statistics
----------
With ``quantstats`` installed (the ``peers`` extra), the figures come from ``quantstats.stats``
functions called on Series: ``comp``, ``cagr``, ``volatility``, ``sharpe``, ``sortino``,
``calmar``, ``max_drawdown``, ``skew``, ``kurtosis``, ``value_at_risk``, ``cvar``, ``win_rate``,
``best``, ``worst``, and against the baseline ``greeks`` (beta, alpha), ``r_squared``,
``information_ratio``. Without it, the core figures come from
:func:`clusterfolio.backtest.metrics.summary_metrics` (the same definitions, checked against
QuantStats to 1e-10) and the others are shown as ``n/a`` with a note.

- NaN returns are dropped before any statistic (QuantStats would count them as zero returns).
- Standalone figures of the baseline are measured on the strategy's own session axis (the
  tournament's: a session on which the baseline's market is closed is a 0 return, as in the
  simulators) and annualised with the same sessions per year, so the market row and the
  baseline agree (apart from the costs).
- Relative figures are computed on the baseline's own sessions (alpha annualised with
  :data:`BENCHMARK_PERIODS`, an exchange calendar): the strategy's returns are compounded over
  each baseline period
  (:func:`clusterfolio.report.analytics.compound_to_sessions`), so weekend crypto moves land on
  the next baseline session instead of being paired with nothing.

Tables: monthly returns (:func:`~clusterfolio.backtest.metrics.monthly_returns_matrix`), annual
returns against the baseline (:func:`~clusterfolio.backtest.metrics.annual_returns`) and the
five worst drawdowns (:func:`~clusterfolio.backtest.metrics.drawdown_table`).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.data.calendars import EXCHANGE_PERIODS_PER_YEAR
from clusterfolio.report import analytics
from clusterfolio.report.markdown import (
    Markdown,
    MetricColumn,
    MetricKind,
    fmt_metric,
    fmt_pct,
    is_number,
)

__all__ = [
    "BENCHMARK_PERIODS",
    "TearsheetStats",
    "quantstats_available",
    "render_tearsheet",
    "tearsheet_name",
    "tearsheet_stats",
]

BENCHMARK_PERIODS = EXCHANGE_PERIODS_PER_YEAR
_DRAWDOWNS = 5


def quantstats_available() -> bool:
    """Whether ``quantstats`` can be imported (without importing it)."""
    return importlib.util.find_spec("quantstats") is not None


def tearsheet_name(engine: str, profile: str, simulator: str) -> str:
    """File name of a tear sheet: ``<engine>_<profile>_<simulator>.md``."""
    return f"{engine}_{profile}_{simulator}.md"


#: The tear-sheet metric rows (strategy beside benchmark).
METRICS: tuple[MetricColumn, ...] = (
    MetricColumn("total_return", "Cumulative return", MetricKind.PCT),
    MetricColumn("cagr", "CAGR", MetricKind.PCT),
    MetricColumn("volatility", "Volatility (annualised)", MetricKind.PCT),
    MetricColumn("sharpe", "Sharpe", MetricKind.RATIO),
    MetricColumn("sortino", "Sortino", MetricKind.RATIO),
    MetricColumn("calmar", "Calmar", MetricKind.RATIO),
    MetricColumn("max_drawdown", "Max drawdown", MetricKind.PCT),
    MetricColumn("skew", "Skew", MetricKind.RATIO),
    MetricColumn("kurtosis", "Kurtosis", MetricKind.RATIO),
    MetricColumn("var_95", "Daily VaR (95%)", MetricKind.PCT),
    MetricColumn("cvar_95", "Daily CVaR (95%)", MetricKind.PCT),
    MetricColumn("win_rate", "Win rate (sessions)", MetricKind.PCT),
    MetricColumn("best", "Best session", MetricKind.PCT),
    MetricColumn("worst", "Worst session", MetricKind.PCT),
)
#: The tear-sheet rows against the benchmark (beta, alpha ...).
RELATIVE: tuple[MetricColumn, ...] = (
    MetricColumn("beta", "Beta", MetricKind.RATIO),
    MetricColumn("alpha", "Alpha (annualised)", MetricKind.PCT),
    MetricColumn("correlation", "Correlation", MetricKind.RATIO),
    MetricColumn("r_squared", "R²", MetricKind.RATIO),
    MetricColumn("information_ratio", "Information ratio", MetricKind.RATIO),
)


@dataclass
class TearsheetStats:
    """Figures of one tear sheet.

    Parameters
    ----------
    strategy, benchmark : dict of str to float
        Standalone figures (keys of :data:`METRICS`).
    relative : dict of str to float
        Figures against the baseline (keys of :data:`RELATIVE`).
    source : str
        ``quantstats`` or ``clusterfolio`` (the fallback).
    n_sessions, n_benchmark_periods : int
        Sessions of the strategy, baseline periods compared.
    """

    strategy: dict[str, float]
    benchmark: dict[str, float]
    relative: dict[str, float]
    source: str
    n_sessions: int
    n_benchmark_periods: int


def _float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def _qs_standalone(r: pd.Series, periods: int) -> dict[str, float]:
    import quantstats.stats as qs

    calls: dict[str, Callable[[], Any]] = {
        "total_return": lambda: qs.comp(r),
        "cagr": lambda: qs.cagr(r, periods=periods),
        "volatility": lambda: qs.volatility(r, periods=periods),
        "sharpe": lambda: qs.sharpe(r, periods=periods),
        "sortino": lambda: qs.sortino(r, periods=periods),
        "calmar": lambda: qs.calmar(r, periods=periods),
        "max_drawdown": lambda: qs.max_drawdown(r),
        "skew": lambda: qs.skew(r),
        "kurtosis": lambda: qs.kurtosis(r),
        "var_95": lambda: qs.value_at_risk(r),
        "cvar_95": lambda: qs.cvar(r),
        "win_rate": lambda: qs.win_rate(r),
        "best": lambda: qs.best(r),
        "worst": lambda: qs.worst(r),
    }
    out = {}
    for key, call in calls.items():
        try:
            out[key] = _float(call())
        except (ValueError, ZeroDivisionError, FloatingPointError, TypeError):
            out[key] = math.nan
    return out


def _own_standalone(r: pd.Series, periods: int) -> dict[str, float]:
    from clusterfolio.backtest.metrics import summary_metrics

    base = summary_metrics(r, periods=periods)
    out = {key: math.nan for key, _, _ in METRICS}
    for key in (
        "total_return",
        "cagr",
        "volatility",
        "sharpe",
        "sortino",
        "calmar",
        "max_drawdown",
    ):
        out[key] = _float(base.get(key))
    return out


def _relative(aligned: pd.Series, bench: pd.Series, use_qs: bool) -> dict[str, float]:
    out = {key: math.nan for key, _, _ in RELATIVE}
    if len(bench) < 3 or float(np.var(bench.to_numpy(), ddof=1)) == 0.0:
        return out
    stats = analytics.beta_correlation_aligned(aligned, bench)
    out["correlation"] = stats.correlation
    if use_qs:
        import quantstats.stats as qs

        greeks = qs.greeks(aligned, bench, periods=BENCHMARK_PERIODS)
        out["beta"] = _float(greeks["beta"])
        out["alpha"] = _float(greeks["alpha"])
        out["r_squared"] = _float(qs.r_squared(aligned, bench))
        out["information_ratio"] = _float(qs.information_ratio(aligned, bench))
    else:
        out["beta"] = stats.beta
    return out


def tearsheet_stats(
    strategy: pd.Series,
    benchmark: pd.Series,
    periods: int,
    *,
    use_quantstats: bool | None = None,
) -> TearsheetStats:
    """Compute the figures of a tear sheet.

    Parameters
    ----------
    strategy : pandas.Series
        The strategy's daily returns (DatetimeIndex).
    benchmark : pandas.Series
        The baseline's daily returns on its own sessions (NaN where closed); restricted here to
        the strategy's span.
    periods : int
        Sessions per year of the strategy.
    use_quantstats : bool, optional
        Force (True) or forbid (False) QuantStats; by default, used when installed.

    Returns
    -------
    TearsheetStats
    """
    use_qs = quantstats_available() if use_quantstats is None else use_quantstats
    r = strategy.dropna().astype(float)
    lo, hi = r.index[0], r.index[-1]
    bench_all = benchmark.dropna().astype(float)
    bench_span = bench_all[(bench_all.index >= lo) & (bench_all.index <= hi)]
    standalone = _qs_standalone if use_qs else _own_standalone
    sessions = pd.DatetimeIndex(bench_span.index)
    aligned = analytics.compound_to_sessions(r, sessions)
    bench_rel = bench_span.iloc[1:]
    bench_axis = bench_span.reindex(r.index).fillna(0.0)
    return TearsheetStats(
        strategy=standalone(r, periods),
        benchmark=standalone(bench_axis, periods) if len(bench_span) > 1 else {},
        relative=_relative(aligned, bench_rel, use_qs),
        source="quantstats" if use_qs else "clusterfolio",
        n_sessions=len(r),
        n_benchmark_periods=len(bench_rel),
    )


def _day(value: Any) -> str:
    return pd.Timestamp(value).date().isoformat()


def render_tearsheet(
    title: str,
    strategy: pd.Series,
    benchmark: pd.Series,
    periods: int,
    *,
    benchmark_name: str,
    use_quantstats: bool | None = None,
    notes: tuple[str, ...] = (),
) -> str:
    """Render one tear sheet (see the module docstring).

    Parameters
    ----------
    title : str
        ``engine × profile × simulator``.
    strategy, benchmark : pandas.Series
        Daily returns (see :func:`tearsheet_stats`).
    periods : int
        Sessions per year of the strategy.
    benchmark_name : str
        The baseline's symbol.
    use_quantstats : bool, optional
        See :func:`tearsheet_stats`.
    notes : tuple of str
        Extra lines under the title (the tournament row's status ...).

    Returns
    -------
    str
        The Markdown document.
    """
    stats = tearsheet_stats(strategy, benchmark, periods, use_quantstats=use_quantstats)
    r = strategy.dropna().astype(float)
    md = Markdown()
    md.h1(f"Tear sheet: {title}")
    md.add(
        f"{r.index[0].date()} .. {r.index[-1].date()} · {stats.n_sessions} sessions · "
        f"{periods} sessions per year · benchmark `{benchmark_name}` (a Series from "
        "`returns.parquet` on the same sessions, 0 where its market is closed) · statistics: "
        + (
            "`quantstats.stats`"
            if stats.source == "quantstats"
            else "`clusterfolio.backtest.metrics`"
        )
    )
    for note in notes:
        md.add(f"> {note}")
    if stats.source != "quantstats":
        md.add(
            "> QuantStats is not installed (`peers` extra): skew, kurtosis, VaR, CVaR, win rate, "
            "best/worst, alpha, R² and information ratio are not available."
        )
    md.h2("Key metrics")
    md.table(
        ["Metric", "Strategy", benchmark_name],
        [
            [t, fmt_metric(stats.strategy.get(k), kind), fmt_metric(stats.benchmark.get(k), kind)]
            for k, t, kind in METRICS
        ],
        "lrr",
    )
    md.h2(f"Against {benchmark_name}")
    md.table(
        ["Metric", "Value"],
        [[t, fmt_metric(stats.relative.get(k), kind)] for k, t, kind in RELATIVE],
        "lr",
    )
    md.add(
        f"On {stats.n_benchmark_periods} {benchmark_name} sessions (strategy compounded over each)."
    )
    _monthly_returns(md, r)
    _annual_returns(md, r, benchmark, benchmark_name)
    _worst_drawdowns(md, r)
    return md.render()


def _monthly_returns(md: Markdown, r: pd.Series) -> None:
    """The strategy's returns month by month, one row per year."""
    from clusterfolio.backtest.metrics import annual_returns, monthly_returns_matrix

    md.h2("Monthly returns")
    monthly = monthly_returns_matrix(r)
    md.table(
        ["Year", *[str(c) for c in monthly.columns], "Total"],
        [
            [str(year), *[fmt_pct(v, 2) if is_number(v) else "" for v in row], fmt_pct(annual, 2)]
            for (year, row), annual in zip(
                monthly.iterrows(), annual_returns(r).reindex(monthly.index), strict=True
            )
        ],
        "l" + "r" * 13,
    )


def _annual_returns(md: Markdown, r: pd.Series, benchmark: pd.Series, benchmark_name: str) -> None:
    """The strategy's and the benchmark's return of each calendar year."""
    from clusterfolio.backtest.metrics import annual_returns

    md.h2("Annual returns")
    bench = benchmark.dropna().astype(float)
    bench = bench[(bench.index >= r.index[0]) & (bench.index <= r.index[-1])]
    strat_years = {int(str(k)): float(v) for k, v in annual_returns(r).items()}
    bench_years = (
        {int(str(k)): float(v) for k, v in annual_returns(bench).items()} if len(bench) else {}
    )
    md.table(
        ["Year", "Strategy", benchmark_name, "Difference"],
        [
            [
                str(year),
                fmt_pct(value, 2),
                fmt_pct(bench_years.get(year), 2),
                fmt_pct(value - bench_years[year], 2, signed=True)
                if year in bench_years
                else "n/a",
            ]
            for year, value in strat_years.items()
        ],
        "lrrr",
    )


def _worst_drawdowns(md: Markdown, r: pd.Series) -> None:
    """The deepest drawdowns with their start, trough, end and length."""
    from clusterfolio.backtest.metrics import drawdown_table

    md.h2("Worst drawdowns")
    table = drawdown_table(r, top=_DRAWDOWNS)
    if table.empty:
        md.add("No drawdown over the period.")
    else:
        md.table(
            ["Start", "Trough", "End", "Depth", "Sessions", "Recovered"],
            [
                [
                    _day(row["start"]),
                    _day(row["trough"]),
                    _day(row["end"]) if row["recovered"] else "not recovered",
                    fmt_pct(row["depth"], 2),
                    int(row["length"]),
                    "yes" if row["recovered"] else "no",
                ]
                for row in table.to_dict(orient="records")
            ],
            "lllrrl",
        )
