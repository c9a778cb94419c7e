"""The tournament reports: Strategy Resume, engine benchmark and slippage decay audit.

- ``backtest_comparison.md`` (Strategy Resume): the *realizable baseline* is the tournament's
  realized simulator (slippage and commission paid on every rebalance) for the custom engine,
  one row per profile ranked by realized PSR (then Sharpe), the DSR beside each Sharpe, then the market row (the market engine, 100 %
  ``AMEX:SPY``), idealized versus realized, and the regime attribution of the daily tournament
  returns (:func:`clusterfolio.report.analytics.regime_attribution`).
- ``engine_comparison_report.md``: every engine of every profile, ranked by realized PSR
  (then Sharpe; rows that failed or were skipped are listed after, with their error), with the idealized
  figures and the decay beside them, the engines' capabilities, and the window count per
  engine and simulator.
- ``slippage_decay_audit.md``: :mod:`clusterfolio.report.slippage`.

Figures are copied from ``tournament_summary.json`` (never recomputed), except the regime
attribution, computed from ``tournament_returns.parquet``. Every metrics table names its
annualisation convention and marks short samples, and the reports carry the multiple-testing,
plausibility and (engine report) constraint sections of
:mod:`clusterfolio.report.tournament_evidence`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from clusterfolio.data.calendars import EXCHANGE_PERIODS_PER_YEAR
from clusterfolio.enums import EngineName, ProfileName, SimulatorName
from clusterfolio.report import analytics
from clusterfolio.report.artifacts import (
    REGIME_SERIES,
    TOURNAMENT_RESULTS,
    TOURNAMENT_RETURNS,
    TOURNAMENT_SUMMARY,
    RunArtifacts,
)
from clusterfolio.report.config import ReportConfig
from clusterfolio.report.jsonview import scalar
from clusterfolio.report.markdown import (
    Markdown,
    MetricColumn,
    MetricKind,
    fmt_float,
    fmt_metric,
    fmt_pct,
    is_number,
)
from clusterfolio.report.tournament_evidence import (
    convention,
    render_plausibility,
    render_trials,
    short_mark,
    suspicion,
    table_note,
)
from clusterfolio.report.universe import as_of_winners, render_universe_changes

__all__ = [
    "METRIC_COLUMNS",
    "TournamentView",
    "column_key",
    "frictions",
    "render_backtest_comparison",
]

#: Metrics of a tournament row shown in the reports.
METRIC_COLUMNS: tuple[MetricColumn, ...] = (
    MetricColumn("cagr", "CAGR", MetricKind.PCT),
    MetricColumn("volatility", "Volatility", MetricKind.PCT),
    MetricColumn("sharpe", "Sharpe", MetricKind.RATIO),
    MetricColumn("dsr", "DSR", MetricKind.PROB),
    MetricColumn("psr", "PSR", MetricKind.PROB),
    MetricColumn("sortino", "Sortino", MetricKind.RATIO),
    MetricColumn("calmar", "Calmar", MetricKind.RATIO),
    MetricColumn("max_drawdown", "Max drawdown", MetricKind.PCT),
    MetricColumn("turnover", "Turnover (annual)", MetricKind.RATIO),
    MetricColumn("costs", "Costs (total)", MetricKind.PCT),
    MetricColumn("win_rate", "Win rate", MetricKind.PCT),
)
_BAD_STATUS = frozenset(
    {
        "failed",
        "error",
        "skipped",
        "unsupported",
        "infeasible",
        "not_applicable",
        "partial",
        "timeout",
    }
)
_ABSENT_STATUS = frozenset({"skipped", "not_applicable"})
_SEP = "|"


def column_key(engine: str, profile: str, simulator: str) -> str:
    """Column name of ``tournament_returns.parquet`` (``engine|profile|simulator``)."""
    return _SEP.join((engine, profile, simulator))


class TournamentView:
    """The tournament's three artifacts, read tolerantly.

    Parameters
    ----------
    arts : RunArtifacts
        The run.
    """

    def __init__(self, arts: RunArtifacts) -> None:
        summary = arts.json(TOURNAMENT_SUMMARY)
        self.summary: dict[str, Any] | None = summary if isinstance(summary, dict) else None
        self.results = arts.parquet(TOURNAMENT_RESULTS)
        self.returns = arts.parquet(TOURNAMENT_RETURNS)
        if self.returns is not None:
            self.returns.index = pd.DatetimeIndex(self.returns.index)
            self.returns = self.returns.sort_index()

    @property
    def available(self) -> bool:
        """Whether the tournament summary exists."""
        return self.summary is not None

    @property
    def periods(self) -> int | None:
        """Sessions per year the tournament annualised with."""
        if self.summary is None or not is_number(self.summary.get("periods_per_year")):
            return None
        return int(self.summary["periods_per_year"])

    def rows(self) -> list[dict[str, Any]]:
        """Rows of the summary (each ``{engine, profile, simulator, status, error, metrics}``)."""
        if self.summary is None:
            return []
        return [r for r in self.summary.get("rows", []) if isinstance(r, dict)]

    def row(self, engine: str, profile: str, simulator: str) -> dict[str, Any] | None:
        """One row of the summary, or None."""
        for r in self.rows():
            if (str(r.get("engine")), str(r.get("profile")), str(r.get("simulator"))) == (
                engine,
                profile,
                simulator,
            ):
                return r
        return None

    def series(self, engine: str, profile: str, simulator: str) -> pd.Series | None:
        """Daily returns of one combination (leading and trailing NaN dropped), or None."""
        if self.returns is None:
            return None
        key = column_key(engine, profile, simulator)
        if key not in self.returns.columns:
            return None
        series = self.returns[key].astype(float)
        valid = series.dropna()
        if valid.empty:
            return None
        return series.loc[valid.index[0] : valid.index[-1]].rename(key)

    def decay(self) -> list[dict[str, Any]]:
        """The summary's decay rows."""
        if self.summary is None:
            return []
        return [d for d in self.summary.get("decay", []) if isinstance(d, dict)]


def is_ok(row: dict[str, Any]) -> bool:
    """Whether a tournament row succeeded (no error and not a failed/skipped status)."""
    status = str(row.get("status", "")).lower()
    return not row.get("error") and status not in _BAD_STATUS


def _metric(row: dict[str, Any] | None, key: str) -> Any:
    if row is None:
        return None
    return (row.get("metrics") or {}).get(key)


def _sharpe_key(row: dict[str, Any]) -> tuple[int, float, float, str]:
    """Rank: rows that ran first, then by PSR (absent: last), then by Sharpe."""
    psr, sharpe = _metric(row, "psr"), _metric(row, "sharpe")
    first = float(psr) if is_number(psr) else -math.inf
    value = float(sharpe) if is_number(sharpe) else -math.inf
    return (0 if is_ok(row) else 1, -first, -value, str(row.get("engine")))


def _metric_cells(row: dict[str, Any] | None, keys: Sequence[MetricColumn]) -> list[str]:
    return [fmt_metric(_metric(row, k), kind) for k, _, kind in keys]


def frictions(config: ReportConfig) -> str:
    """The simulators' frictions in words (shared by the tournament reports)."""
    return (
        f"realized simulator: slippage {fmt_float(config.slippage * 1e4, 1)} bps + commission "
        f"{fmt_float(config.commission * 1e4, 1)} bp per unit traded; idealized: no friction"
    )


def _day(value: Any) -> str:
    text = str(value)
    return text[:10] if len(text) >= 10 and text[4] == "-" else text


def _windows_text(summary: dict[str, Any]) -> str:
    windows = summary.get("windows")
    settings = summary.get("settings") if isinstance(summary.get("settings"), dict) else {}
    shape = ""
    if settings and all(k in settings for k in ("train", "test", "step")):
        shape = f", train {settings['train']} / test {settings['test']} / step {settings['step']} sessions"
    if isinstance(windows, list):
        if windows and all(isinstance(w, dict) for w in windows):
            first, last = windows[0], windows[-1]
            start = _day(first.get("test_start", first.get("start", "?")))
            end = _day(last.get("test_end", last.get("end", "?")))
            failed = sum(1 for w in windows if str(w.get("status", "ok")) != "ok")
            note = f", ⚠ {failed} failed" if failed else ""
            return f"{len(windows)} walk-forward test windows ({start} .. {end}{shape}{note})"
        return f"{len(windows)} walk-forward test windows"
    if isinstance(windows, dict):
        parts = ", ".join(
            f"{k} {scalar(v)}" for k, v in sorted(windows.items()) if not isinstance(v, list | dict)
        )
        return f"walk-forward windows: {parts}"
    if windows is not None:
        return f"walk-forward test windows: {scalar(windows)}"
    return "walk-forward windows: n/a"


def _baseline_text(summary: dict[str, Any], config: ReportConfig) -> str:
    base = summary.get("baseline")
    if isinstance(base, dict):
        symbol = str(base.get("symbol") or config.baseline)
        return symbol if base.get("present", True) else f"{symbol} (absent from the tournament)"
    return str(base) if base else config.baseline


def _header(md: Markdown, title: str, view: TournamentView, config: ReportConfig) -> bool:
    md.h1(f"{title}: {config.as_of}")
    if not view.available or view.summary is None:
        md.missing(TOURNAMENT_SUMMARY, "the tournament (step 12) has not run for this run")
        return False
    summary = view.summary
    periods = f"annualised with {convention(summary)}"
    md.add(
        " · ".join(
            [
                f"market baseline {_baseline_text(summary, config)}",
                _windows_text(summary),
                periods,
                frictions(config),
            ]
        )
    )
    parity = summary.get("live_parity")
    if isinstance(parity, dict) and parity.get("checked"):
        agree = all(parity.get(k) for k in ("clusters", "regime", "threshold", "statistics"))
        mark = "" if agree else "⚠ "
        md.add(f"> {mark}Live parity: {parity.get('detail', '')}.")
    return True


def _strategy_label(engine: str, profile: str) -> str:
    return "market (100% long)" if engine == EngineName.MARKET.value else f"{engine} · {profile}"


def render_backtest_comparison(arts: RunArtifacts, config: ReportConfig) -> str:
    """Render ``backtest_comparison.md`` (the Strategy Resume); see the module docstring."""
    view = TournamentView(arts)
    md = Markdown()
    if not _header(md, "Strategy Resume", view, config) or view.summary is None:
        return md.render()
    summary = view.summary
    market_row = view.row(
        EngineName.MARKET.value, ProfileName.MARKET.value, SimulatorName.REALIZED.value
    )
    _realizable_section(md, view, summary, market_row, config)
    _market_section(md, summary, market_row, config)
    _ideal_vs_real_section(md, view, summary)
    render_trials(md, summary)
    render_plausibility(md, summary)
    _regime_attribution(md, arts, view, config)
    render_universe_changes(md, view.summary or {}, as_of_winners(arts))
    return md.render()


def _realizable_section(
    md: Markdown,
    view: TournamentView,
    summary: dict[str, Any],
    market_row: dict[str, Any] | None,
    config: ReportConfig,
) -> None:
    """The custom engine's profiles under the realized simulator, ranked by Sharpe."""
    realized = SimulatorName.REALIZED.value
    custom = EngineName.CUSTOM.value
    md.h2("Realizable baseline (custom engine, realized simulator)")
    rows = [r for r in view.rows() if r.get("engine") == custom and r.get("simulator") == realized]
    rows.sort(key=_sharpe_key)
    if rows:
        headers = [
            "Rank",
            "Profile",
            *[t for _, t, _ in METRIC_COLUMNS],
            "CAGR vs market",
            "Status",
        ]
        table = []
        market_cagr = _metric(market_row, "cagr")
        for rank, r in enumerate(rows, start=1):
            cagr = _metric(r, "cagr")
            excess = (
                fmt_pct(float(cagr) - float(market_cagr), 2, signed=True)
                if is_number(cagr) and is_number(market_cagr)
                else "n/a"
            )
            profile = str(r.get("profile"))
            mark = " (accepted)" if profile == config.accepted_profile else ""
            table.append(
                [
                    rank if is_ok(r) else "—",
                    f"{profile}{mark}{short_mark(summary, r)}",
                    *_metric_cells(r, METRIC_COLUMNS),
                    excess,
                    ("ok" if is_ok(r) else f"⚠ {r.get('status')}: {r.get('error') or ''}")
                    + suspicion(summary, r),
                ]
            )
        md.table(headers, table, "rl" + "r" * (len(METRIC_COLUMNS) + 1) + "l")
        md.add(table_note(summary, rows))
    else:
        md.add("No custom-engine row with the realized simulator in the tournament summary.")


def _market_section(
    md: Markdown, summary: dict[str, Any], market_row: dict[str, Any] | None, config: ReportConfig
) -> None:
    """The market baseline's figures."""
    md.h2(f"Market ({config.baseline}, 100% long)")
    if market_row is None:
        md.add(
            "No market row (engine `market`, profile `market`, realized) in the tournament summary."
        )
    else:
        md.table(
            [t for _, t, _ in METRIC_COLUMNS],
            [_metric_cells(market_row, METRIC_COLUMNS)],
            "r" * len(METRIC_COLUMNS),
        )
        md.add(table_note(summary, [market_row]))


def _ideal_vs_real_section(md: Markdown, view: TournamentView, summary: dict[str, Any]) -> None:
    """Idealized against realized figures of each custom-engine profile."""
    realized = SimulatorName.REALIZED.value
    idealized = SimulatorName.IDEALIZED.value
    custom = EngineName.CUSTOM.value
    md.h2("Idealized versus realized (custom engine)")
    pairs = []
    for profile in sorted(
        {str(r.get("profile")) for r in view.rows() if r.get("engine") == custom}
    ):
        ideal = view.row(custom, profile, idealized)
        real = view.row(custom, profile, realized)
        pairs.append(
            [
                f"{profile}{short_mark(summary, real or ideal)}",
                fmt_pct(_metric(ideal, "cagr"), 2),
                fmt_pct(_metric(real, "cagr"), 2),
                fmt_float(_metric(ideal, "sharpe"), 2),
                fmt_float(_metric(real, "sharpe"), 2),
                fmt_pct(_metric(real, "costs"), 2),
            ]
        )
    if pairs:
        md.table(
            [
                "Profile",
                "Idealized CAGR",
                "Realized CAGR",
                "Idealized Sharpe",
                "Realized Sharpe",
                "Costs",
            ],
            pairs,
            "lrrrrr",
        )
        md.add(table_note(summary, [r for r in view.rows() if r.get("engine") == custom]))
    else:
        md.add("No custom-engine rows.")


def _regime_attribution(
    md: Markdown, arts: RunArtifacts, view: TournamentView, config: ReportConfig
) -> None:
    md.h2("Regime attribution")
    if view.returns is None:
        md.missing(TOURNAMENT_RETURNS)
        return
    series = arts.parquet(REGIME_SERIES)
    if series is None or "label" not in series.columns:
        md.missing(REGIME_SERIES)
        return
    columns = {}
    for engine, profile, simulator in config.essential_combinations:
        s = view.series(engine, profile, simulator)
        if s is not None:
            columns[_strategy_label(engine, profile)] = s
    if not columns:
        md.add("No essential combination (custom × profiles × realized, market) in the returns.")
        return
    frame = pd.DataFrame(columns)
    labels = series["label"].copy()
    labels.index = pd.DatetimeIndex(labels.index)
    periods = view.periods or EXCHANGE_PERIODS_PER_YEAR
    table = analytics.regime_attribution(frame, labels, periods)
    summary = view.summary or {}
    md.add(
        "Each session's realized return is attributed to the regime in force (the label read "
        "at the previous labelled session). Cells: compounded return over the regime's sessions, "
        f"then its annualised volatility ({periods} sessions per year)."
    )
    regimes = [r for r in dict.fromkeys(table["regime"])]
    sessions = table.groupby("regime", sort=False)["sessions"].max()
    counts = {r: {"metrics": {"n_periods": int(sessions[r])}} for r in regimes}
    headers = [
        "Strategy",
        *[f"{r} ({int(sessions[r])} sessions){short_mark(summary, counts[r])}" for r in regimes],
    ]
    rows = []
    for strategy in columns:
        part = table[table["strategy"] == strategy].set_index("regime")
        cells = []
        for r in regimes:
            if r in part.index:
                row = part.loc[r]
                cells.append(
                    f"{fmt_pct(row['total_return'], 2)} (σ {fmt_pct(row['volatility'], 1)})"
                )
            else:
                cells.append("—")
        rows.append([strategy, *cells])
    md.table(headers, rows, "l" + "r" * len(regimes))
    md.add(table_note(summary, counts.values()))
