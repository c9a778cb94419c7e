"""The report pictures (PNG): clustermap, equity curves, drawdowns, weights by cluster, regimes.

Determinism: every figure is drawn on its own :class:`matplotlib.figure.Figure` with the Agg
canvas (no pyplot, no global backend switch), under a fixed style (:data:`STYLE`) and a fixed
``dpi``, and saved with ``metadata={"Software": None}`` so the PNG carries no version or
timestamp chunk: the same inputs give the same bytes. Matplotlib is imported inside the functions (it
is heavy and the CLI must start fast); seaborn is not needed (its import alone costs seconds).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DPI",
    "REGIME_COLORS",
    "STYLE",
    "cluster_weights_png",
    "clustermap_png",
    "drawdowns_png",
    "equity_curves_png",
    "regime_timeline_png",
]

DPI = 110
STYLE: dict[str, Any] = {
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "clusterfolio",
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
}
REGIME_COLORS: dict[str, str] = {
    "QUIET": "#4daf4a",
    "NORMAL": "#377eb8",
    "TURBULENT": "#ff7f00",
    "CRISIS": "#e41a1c",
}
_BENCH_STYLE: dict[str, Any] = {"color": "black", "linestyle": "--", "linewidth": 1.4}
_MAX_LABELS = 90


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _style() -> Any:
    """Matplotlib's default style plus :data:`STYLE`, whatever another library set globally.

    (QuantStats and seaborn change the global style when they are imported: without the reset
    the pictures would depend on what was imported before.)
    """
    import matplotlib.style

    return matplotlib.style.context(["default", STYLE])


def _palette(n: int) -> list[tuple[float, float, float]]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [tuple(float(x) for x in cmap(i % cmap.N)[:3]) for i in range(n)]  # type: ignore[misc]


def clustermap_png(
    distance: pd.DataFrame,
    labels: Mapping[str, int],
    *,
    linkage: Sequence[Sequence[float]] | None = None,
    threshold: float | None = None,
    title: str = "Clustermap",
) -> bytes:
    """The ordered distance matrix with cluster blocks, under its dendrogram.

    Parameters
    ----------
    distance : pandas.DataFrame
        ``clustermap.parquet``: the distance matrix in dendrogram leaf order.
    labels : mapping of str to int
        Cluster of each symbol (``clusters.json["labels"]``).
    linkage : sequence, optional
        ``clusters.json["linkage"]`` over the symbols in sorted order; the dendrogram is drawn
        only when its leaf order is the matrix's order.
    threshold : float, optional
        The cut distance (drawn on the dendrogram).
    title : str
        Figure title.
    """
    order = [str(s) for s in distance.index]
    n = len(order)
    z = _matching_linkage(order, linkage)
    size = min(max(6.0, 0.2 * n + 3.0), 20.0)
    with _style():
        fig = _figure(size + 1.0, size + (1.6 if z is not None else 0.4))
        ax, cax = _clustermap_axes(fig, z, size, n, threshold)
        mesh = _distance_mesh(ax, distance, order)
        fig.colorbar(mesh, cax=cax, label="distance (0 = moves together)")
        _cluster_blocks(ax, order, labels)
        fig.suptitle(title)
        return _png(fig)


def _matching_linkage(
    order: list[str], linkage: Sequence[Sequence[float]] | None
) -> np.ndarray | None:
    """The linkage matrix when its leaf order (over the sorted symbols) is ``order``."""
    from scipy.cluster.hierarchy import leaves_list

    n = len(order)
    z = np.asarray(linkage, dtype=np.float64) if linkage is not None and len(linkage) else None
    if z is not None:
        leaves = [sorted(order)[i] for i in leaves_list(z)] if z.shape[0] == n - 1 else []
        if leaves != order:
            z = None
    return z


def _clustermap_axes(
    fig: Figure, z: np.ndarray | None, size: float, n: int, threshold: float | None
) -> tuple[Any, Any]:
    """The matrix and colour-bar axes, under the dendrogram when there is one."""
    from scipy.cluster.hierarchy import dendrogram

    if z is None:
        grid = fig.add_gridspec(1, 2, width_ratios=[size, 0.25], wspace=0.03)
        return fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    grid = fig.add_gridspec(
        2, 2, height_ratios=[1.4, size], width_ratios=[size, 0.25], hspace=0.0, wspace=0.02
    )
    top = fig.add_subplot(grid[0, 0])
    dendrogram(
        z,
        ax=top,
        no_labels=True,
        color_threshold=threshold if threshold is not None else 0,
        above_threshold_color="#888888",
    )
    if threshold is not None:
        top.axhline(threshold, color="#e41a1c", linewidth=0.9, linestyle=":")
    top.set_xlim(0, 10 * n)
    top.set_axis_off()
    return fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])


def _distance_mesh(ax: Any, distance: pd.DataFrame, order: list[str]) -> Any:
    """The distance matrix as a colour mesh, labelled when there are few symbols."""
    n = len(order)
    show = n <= _MAX_LABELS
    mesh = ax.pcolormesh(
        np.arange(n + 1),
        np.arange(n + 1),
        distance.to_numpy(dtype=np.float64),
        cmap="viridis",
        vmin=0.0,
    )
    ax.set_xlim(0, n)
    ax.set_ylim(n, 0)
    ax.set_aspect("auto")
    ticks = np.arange(n) + 0.5
    ax.set_xticks(ticks if show else [])
    ax.set_yticks(ticks if show else [])
    if show:
        ax.set_xticklabels(order, rotation=90)
        ax.set_yticklabels(order)
    ax.tick_params(labelsize=max(4.0, min(8.0, 400.0 / max(n, 1))), length=0)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return mesh


def _cluster_blocks(ax: Any, order: list[str], labels: Mapping[str, int]) -> None:
    """A framed block per run of symbols of one cluster, labelled with the cluster."""
    n = len(order)
    start = 0
    for i in range(1, n + 1):
        if i == n or labels.get(order[i]) != labels.get(order[start]):
            width = i - start
            ax.add_patch(_rectangle((start, start), width, width))
            if width >= 1:
                ax.text(
                    start + width / 2,
                    start - 0.15,
                    str(labels.get(order[start], "")),
                    ha="center",
                    va="bottom",
                    fontsize=6,
                    color="white",
                )
            start = i


def _rectangle(xy: tuple[float, float], width: float, height: float) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle(xy, width, height, fill=False, edgecolor="#e41a1c", linewidth=1.0)


def _message_png(title: str, message: str) -> bytes:
    """A small picture that says why the real one is absent (never a made-up chart)."""
    with _style():
        fig = _figure(8.0, 2.0)
        ax = fig.add_subplot(1, 1, 1)
        ax.set_axis_off()
        ax.set_title(title)
        ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=10, transform=ax.transAxes)
        return _png(fig)


def _span(series: Mapping[str, pd.Series]) -> tuple[pd.Timestamp, pd.Timestamp]:
    starts = [s.dropna().index[0] for s in series.values() if not s.dropna().empty]
    ends = [s.dropna().index[-1] for s in series.values() if not s.dropna().empty]
    return min(starts), max(ends)


def _wealth(series: pd.Series) -> pd.Series:
    r = series.dropna().astype(float)
    return (1.0 + r).cumprod() - 1.0


def _drawdown(series: pd.Series) -> pd.Series:
    from clusterfolio.backtest.metrics import drawdown_series

    return drawdown_series(series.dropna().astype(float))


def _lines(
    series: Mapping[str, pd.Series],
    benchmark: pd.Series | None,
    benchmark_name: str,
    transform: Any,
    title: str,
    ylabel: str,
) -> bytes:
    from matplotlib.ticker import PercentFormatter

    names = list(series)
    colors = _palette(len(names))
    lo, hi = _span(series)
    with _style():
        fig = _figure(11.0, 5.5)
        ax = fig.add_subplot(1, 1, 1)
        for name, color in zip(names, colors, strict=True):
            values = transform(series[name])
            ax.plot(values.index, values.to_numpy(), label=name, color=color, linewidth=1.3)
        if benchmark is not None:
            bench = benchmark.dropna()
            bench = bench[(bench.index >= lo) & (bench.index <= hi)]
            if not bench.empty:
                values = transform(bench)
                ax.plot(values.index, values.to_numpy(), label=benchmark_name, **_BENCH_STYLE)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        fig.autofmt_xdate()
        return _png(fig)


def equity_curves_png(
    series: Mapping[str, pd.Series],
    benchmark: pd.Series | None,
    *,
    benchmark_name: str = "AMEX:SPY",
) -> bytes:
    """Cumulative return of each strategy against the baseline (over the strategies' span)."""
    return _lines(
        series, benchmark, benchmark_name, _wealth, "Equity curves (realized)", "cumulative return"
    )


def drawdowns_png(
    series: Mapping[str, pd.Series],
    benchmark: pd.Series | None,
    *,
    benchmark_name: str = "AMEX:SPY",
) -> bytes:
    """Drawdown of each strategy against the baseline."""
    return _lines(series, benchmark, benchmark_name, _drawdown, "Drawdowns (realized)", "drawdown")


def _stacked_cluster_bars(
    ax: Any,
    weights: Mapping[str, Mapping[str, float]],
    profiles: list[str],
    order: list[str],
    colors: Mapping[str, tuple[float, float, float]],
    leads: Mapping[str, str] | None,
) -> np.ndarray:
    """One segment per cluster on each profile's bar (featured clusters coloured and in the
    legend, the others grey); the bars' total lengths."""
    y = np.arange(len(profiles))
    left = np.zeros(len(profiles))
    for cluster in order:
        values = np.array([float(weights[p].get(cluster, 0.0)) for p in profiles])
        if not (values > 0).any():
            continue
        color = colors.get(cluster, (0.78, 0.78, 0.78))
        label = None
        if cluster in colors:
            lead = (leads or {}).get(cluster)
            label = f"{cluster}: {lead}" if lead else f"cluster {cluster}"
        ax.barh(y, values, left=left, color=color, edgecolor="white", linewidth=0.4, label=label)
        for i, v in enumerate(values):
            if v >= 0.06:
                ax.text(
                    left[i] + v / 2,
                    y[i],
                    cluster,
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white",
                )
        left += values
    return left


def cluster_weights_png(
    weights: Mapping[str, Mapping[str, float]],
    *,
    leads: Mapping[str, str] | None = None,
    top: int = 12,
    title: str = "Gross weight by cluster",
) -> bytes:
    """Stacked horizontal bars: one bar per profile, one segment per cluster.

    Parameters
    ----------
    weights : mapping
        ``profile -> {cluster id -> gross weight}``.
    leads : mapping, optional
        ``cluster id -> lead asset`` for the legend.
    top : int
        Clusters with the largest weight in any profile get their own colour; the others are
        drawn in grey as one segment per cluster.
    """
    from matplotlib.ticker import PercentFormatter

    profiles = list(weights)
    if not profiles:
        return _message_png(title, "no profile in portfolio_optimized.json")
    clusters = sorted({c for w in weights.values() for c in w}, key=lambda c: (len(c), c))
    peak = {c: max(float(weights[p].get(c, 0.0)) for p in profiles) for c in clusters}
    featured = sorted(clusters, key=lambda c: (-peak[c], len(c), c))[:top]
    featured = sorted(featured, key=lambda c: (len(c), c))
    colors = dict(zip(featured, _palette(len(featured)), strict=True))
    with _style():
        fig = _figure(11.0, max(3.0, 0.55 * len(profiles) + 1.6))
        ax = fig.add_subplot(1, 1, 1)
        y = np.arange(len(profiles))
        left = _stacked_cluster_bars(
            ax,
            weights,
            profiles,
            featured + [c for c in clusters if c not in colors],
            colors,
            leads,
        )
        ax.set_yticks(y)
        ax.set_yticklabels(profiles)
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlim(0, max(1.0, float(left.max()) if len(left) else 1.0))
        ax.set_title(
            title
            + (
                f" (grey: the other {len(clusters) - len(featured)} clusters)"
                if len(clusters) > len(featured)
                else ""
            )
        )
        ax.legend(
            loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="cluster: lead"
        )
        ax.grid(axis="y", visible=False)
        return _png(fig)


def _regime_spans(ax: Any, x: np.ndarray, labels: np.ndarray) -> None:
    """A shaded span per run of sessions with one regime label."""
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            end = x[i] if i < len(labels) else x[-1]
            ax.axvspan(
                float(x[start]),
                float(end),
                color=REGIME_COLORS.get(labels[start], "#999999"),
                alpha=0.18,
                linewidth=0,
            )
            start = i


def _score_panel(
    top: Any,
    index: pd.DatetimeIndex,
    score: np.ndarray,
    labels: np.ndarray,
    thresholds: Mapping[str, float] | None,
) -> None:
    """The composite score with its thresholds, and a legend of the regimes present."""
    from matplotlib.patches import Patch

    top.plot(index, score, color="black", linewidth=1.1, label="composite score")
    lines = []
    for key, style in (("quiet_below", ":"), ("turbulent_above", "--"), ("crisis_above", "-.")):
        if thresholds and key in thresholds:
            value = float(thresholds[key])
            lines.append(
                top.axhline(
                    value,
                    color="#555555",
                    linestyle=style,
                    linewidth=0.8,
                    label=f"{key.replace('_', ' ')} {value:.2f}",
                )
            )
    top.set_ylim(0, 1)
    top.set_ylabel("score (0 calm .. 1 stressed)")
    top.set_title("Regime timeline: composite score and labels")
    present = [label for label in REGIME_COLORS if label in set(labels)]
    top.legend(
        handles=[
            *[Patch(color=REGIME_COLORS[label], alpha=0.4, label=label) for label in present],
            *lines,
        ],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
    )


def regime_timeline_png(
    regimes: pd.DataFrame,
    *,
    thresholds: Mapping[str, float] | None = None,
    benchmark: pd.Series | None = None,
    benchmark_name: str = "AMEX:SPY",
) -> bytes:
    """The composite regime score over time on the regime colours, and the baseline below.

    Parameters
    ----------
    regimes : pandas.DataFrame
        ``regime_series.parquet`` (``label`` and ``score`` per session).
    thresholds : mapping, optional
        ``quiet_below``, ``turbulent_above``, ``crisis_above`` (drawn as lines).
    benchmark : pandas.Series, optional
        The baseline's daily returns (its cumulative return is drawn under the score).
    """
    from matplotlib.ticker import PercentFormatter

    if regimes.empty or not {"label", "score"} <= set(regimes.columns):
        return _message_png(
            "Regime timeline",
            "not available in this run: regime_series.parquet (no labelled session)",
        )
    from matplotlib.dates import date2num

    frame = regimes.sort_index()
    index = pd.DatetimeIndex(frame.index)
    x = np.asarray(date2num(index.to_pydatetime()), dtype=np.float64)
    labels = frame["label"].astype(str).to_numpy()
    with _style():
        rows = 2 if benchmark is not None else 1
        fig = _figure(11.0, 3.2 * rows + 0.6)
        axes = [fig.add_subplot(rows, 1, i + 1) for i in range(rows)]
        for ax in axes:
            _regime_spans(ax, x, labels)
        _score_panel(axes[0], index, frame["score"].to_numpy(dtype=np.float64), labels, thresholds)
        if benchmark is not None:
            bench = benchmark.dropna()
            bench = bench[(bench.index >= index[0]) & (bench.index <= index[-1])]
            wealth = (1.0 + bench).cumprod() - 1.0
            axes[1].plot(wealth.index, wealth.to_numpy(), color="black", linewidth=1.2)
            axes[1].yaxis.set_major_formatter(PercentFormatter(1.0))
            axes[1].set_ylabel(f"{benchmark_name} cumulative")
        fig.autofmt_xdate()
        return _png(fig)
