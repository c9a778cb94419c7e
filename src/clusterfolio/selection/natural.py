"""Natural selection: prune the raw pool to a diverse set of winners (step 5).

:func:`natural_selection` is pure and deterministic (the same inputs give the same result,
whatever the row or column order): the pipeline runs it on the 60-session light pass, and the
tournament can re-run it on a training slice (``backtest.dynamic_universe``). It uses every row
of ``returns`` it is given and nothing else (point in time).

Rules, in order (each candidate gets exactly one *fate*, :class:`SelectionFate`, with a reason):

1. **Candidates**: one row of the raw pool per identity (lead listing ``symbol``, ``identity``,
   ``asset_class``, ``direction``, alpha ``score``). The market baseline (``AMEX:SPY``,
   ``backtest.baseline``) is added when the pool lacks it.
2. **One listing per identity**: rows sharing ``(asset_class, identity)`` keep one listing: the
   baseline first, then the best alpha score, the largest ``value_traded``, the symbol; the
   others are ``duplicate_identity`` (the raw pool already guarantees this; the rule protects
   other callers).
3. **Synthetic long**: a SHORT candidate's returns are negated exactly once; everything below
   (correlation, clusters, statistics, gate, score) sees the synthetic-long series. The baseline
   is always LONG.
4. **History filter** (``insufficient_history``): a candidate with fewer than
   ``selection.min_overlap`` return observations (or absent from the return matrix) cannot share
   ``min_overlap`` sessions with anyone; it is not clustered.
5. **Clusters**: intersection correlation
   (:func:`~clusterfolio.risk.correlation.intersection_correlation`, ``min_overlap``) of the
   clustered candidates (the baseline included, so its cluster is reported); a pair with a
   shorter overlap (or a constant series) gets the documented neutral correlation 0, distance
   ``sqrt(0.5)``; distance :math:`\\sqrt{(1 - \\rho) / 2}`; Ward linkage cut at
   ``selection.threshold`` (:mod:`clusterfolio.risk.clustering`: cluster 1 holds the first
   symbol in sorted order).
6. **Momentum gate** (``momentum_gate``): a clustered candidate whose synthetic-long window
   return :math:`\\prod (1 + x) - 1` is below ``selection.momentum_gate`` is rejected (it keeps
   its cluster id for the audit).
7. **Execution Intelligence score** (:mod:`clusterfolio.selection.execution`) of the
   remaining candidates, normalised within the cluster (or globally with ``xs_momentum``).
8. **Top N per cluster and direction**: the candidates of each ``(cluster, direction)`` are
   ranked by execution score (ties: alpha score, then symbol); ranks ``<= selection.top_n`` are
   kept, the others are ``below_top_n`` (the reason names the kept ones).
9. **Global cap**: when more than ``selection.max_winners`` remain, the best cluster leader of
   every asset class is kept first (a multi-asset floor: the most volatile class is never
   crowded out entirely), then the others by (rank in
   cluster ascending, ``global_score`` descending, symbol): every cluster's leader comes before
   any runner-up, so the cap removes depth before it removes diversity; among equal ranks the
   comparison across clusters uses ``global_score``, the execution score normalised by global
   percentile ranks (equal to ``execution_score`` with ``xs_momentum``; within-cluster z-scores
   are not comparable across clusters, a singleton always scores 0). The others are
   ``global_cap``.
10. **Baseline**: the baseline is always carried (``baseline``, flagged ``baseline: true``),
    LONG, never ranked and never counted against a cluster, ``top_n`` or ``max_winners``.

Hence ``selected <= top_n x clusters x directions + 1`` (the baseline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.enums import Direction
from clusterfolio.errors import DataError
from clusterfolio.manifest import SelectionSettings
from clusterfolio.risk.antifragility import STAT_COLUMNS, antifragility_table
from clusterfolio.risk.clustering import cluster_labels
from clusterfolio.risk.correlation import (
    NEUTRAL_CORRELATION,
    correlation_distance,
    intersection_correlation,
)
from clusterfolio.selection.candidates import (
    KEPT_FATES,
    SelectionFate,
    _dedupe,
    _prepare,
    records,
)
from clusterfolio.selection.execution import (
    EXECUTION_COMPONENTS,
    ExecutionWeights,
    execution_scores,
    raw_execution_signals,
    window_statistics,
)
from clusterfolio.selection.explain import (
    _cluster_table,
    _decisions,
    _ordered,
    _reasons,
    _summary,
    _winners,
)

__all__ = [
    "CANDIDATE_COLUMNS",
    "KEPT_FATES",
    "SelectionFate",
    "SelectionResult",
    "cluster_candidates",
    "natural_selection",
    "records",
    "synthetic_long",
]


#: Columns of :attr:`SelectionResult.candidates`, in order.
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "symbol",
    "identity",
    "asset_class",
    "direction",
    "kind",
    "exchange",
    "alpha_score",
    "value_traded",
    "n_obs",
    "total_return",
    "volatility",
    "max_drawdown",
    "skew",
    "tail_convexity",
    "fragility",
    "cluster",
    "cluster_size",
    *EXECUTION_COMPONENTS,
    "execution_score",
    "global_score",
    "rank",
    "group_size",
    "selected",
    "baseline",
    "fate",
    "reason",
)


@dataclass
class SelectionResult:
    """The outcome of :func:`natural_selection`.

    Attributes
    ----------
    candidates : pandas.DataFrame
        One row per candidate (:data:`CANDIDATE_COLUMNS`): statistics of its synthetic-long
        returns, cluster, normalised components, execution score, rank in its
        ``(cluster, direction)`` group, ``selected``, ``baseline``, ``fate`` and ``reason``.
        Sorted by cluster (unclustered last), direction, rank, symbol.
    winners : list of dict
        The selected candidates (by cluster, direction, rank), then the baseline: ``symbol``,
        ``identity``, ``asset_class``, ``direction``, ``kind``, ``exchange``, ``cluster``,
        ``execution_score``, ``rank``, ``alpha_score``, ``baseline``, ``reason``.
    decisions : list of dict
        ``{subject, action, reason, details}``: one per candidate (action = its fate), then a
        summary of the clustering and, when it bound, of the global cap.
    antifragility : pandas.DataFrame
        :func:`~clusterfolio.risk.antifragility.antifragility_table` of every candidate's
        synthetic-long returns (index ``symbol``) with its ``direction`` in front.
    clusters : pandas.DataFrame
        One row per cluster: ``cluster``, ``size``, ``members``, ``selected`` (comma-joined
        symbols in sorted order), ``mean_correlation`` (over defined member pairs).
    summary : dict
        Counts (candidates, clusters, winners, fates, neutral pairs ...) and the settings used.
    """

    candidates: pd.DataFrame
    winners: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    antifragility: pd.DataFrame
    clusters: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def selected_symbols(self) -> list[str]:
        """Symbols of the winners, in :attr:`winners` order (the baseline last)."""
        return [str(w["symbol"]) for w in self.winners]

    def fate_of(self, symbol: str) -> SelectionFate:
        """The fate of ``symbol`` (raises ``KeyError`` for a symbol that was no candidate)."""
        rows = self.candidates.loc[self.candidates["symbol"] == symbol, "fate"]
        if rows.empty:
            raise KeyError(symbol)
        return SelectionFate(str(rows.iloc[0]))


def synthetic_long(returns: pd.DataFrame, directions: pd.Series) -> pd.DataFrame:
    """Returns as held: a SHORT column is negated exactly once, a LONG one is unchanged.

    Parameters
    ----------
    returns : pandas.DataFrame
        Raw returns (rows = sessions, columns = symbols), NaN where closed.
    directions : pandas.Series
        ``LONG`` / ``SHORT`` per symbol; symbols absent from ``returns`` get all-NaN columns.

    Returns
    -------
    pandas.DataFrame
        Columns = ``directions.index`` in that order.
    """
    frame = returns.reindex(columns=directions.index)
    sign = np.where(directions.astype(str).to_numpy() == str(Direction.SHORT), -1.0, 1.0)
    values = frame.to_numpy(dtype=np.float64, copy=True) * sign[None, :]
    return pd.DataFrame(values, index=frame.index.copy(), columns=frame.columns.copy())


def cluster_candidates(
    returns: pd.DataFrame, *, min_overlap: int, threshold: float
) -> tuple[pd.Series, int, pd.DataFrame]:
    """Ward clusters of the intersection-correlation distance of ``returns``.

    Parameters
    ----------
    returns : pandas.DataFrame
        (Synthetic-long) returns of the candidates to cluster, NaN where closed.
    min_overlap : int
        Minimum shared sessions of a pair; shorter pairs take the neutral correlation
        (:data:`~clusterfolio.risk.correlation.NEUTRAL_CORRELATION`, 0).
    threshold : float
        Ward merge-height cut (:func:`~clusterfolio.risk.clustering.cut`).

    Returns
    -------
    (pandas.Series, int, pandas.DataFrame)
        Cluster id per symbol (index in sorted symbol order, ids from 1), the number of pairs
        at the neutral correlation, and the correlation matrix (NaN where undefined).
    """
    columns = sorted(returns.columns, key=str)
    if not columns:
        empty = pd.DataFrame(index=pd.Index([], dtype=object), columns=pd.Index([], dtype=object))
        return pd.Series([], dtype="int64", name="cluster"), 0, empty
    ordered = returns.loc[:, columns]
    corr = intersection_correlation(ordered, min_overlap=min_overlap)
    # the matrix is exactly symmetric with a unit diagonal: NaN cells / 2 is
    # risk.correlation.undefined_pairs without building the triangle's indices
    neutral = int(np.count_nonzero(np.isnan(corr.to_numpy()))) // 2
    distance = pd.DataFrame(
        correlation_distance(corr, nan_correlation=NEUTRAL_CORRELATION),
        index=corr.index,
        columns=corr.columns,
    )
    labels = cluster_labels(distance, threshold).astype("int64")
    return labels, neutral, corr


# ---------------------------------------------------------------------------------- selection


def natural_selection(
    pool_frame: pd.DataFrame,
    returns: pd.DataFrame,
    screener: pd.DataFrame | None,
    *,
    settings: SelectionSettings,
    xs_momentum: bool,
    baseline: str,
    weights: ExecutionWeights | None = None,
) -> SelectionResult:
    """Prune the raw pool to its winners (rules in the module docstring).

    Parameters
    ----------
    pool_frame : pandas.DataFrame
        The raw pool (``raw_pool.parquet``): ``symbol`` (lead listing), ``identity``,
        ``asset_class``, ``direction``; optional ``score`` (alpha), ``value_traded``, ``kind``,
        ``exchange``.
    returns : pandas.DataFrame
        Raw returns (rows = sessions, columns = symbols; NaN where closed), e.g. the light
        pass ``returns_light.parquet`` or a training slice. Every row is used.
    screener : pandas.DataFrame or None
        Screener columns indexed by symbol (``Value.Traded``, ``ATR``, ``close``) for the
        liquidity signals; None (e.g. a backtest slice) falls back on the pool's
        ``value_traded`` and leaves the ATR signal out.
    settings : SelectionSettings
        ``top_n``, ``threshold``, ``min_overlap``, ``momentum_gate``, ``max_winners``.
    xs_momentum : bool
        ``features.feat_xs_momentum``: global percentile ranks instead of within-cluster
        z-scores.
    baseline : str
        The market baseline (``backtest.baseline``), always carried.
    weights : ExecutionWeights, optional
        Weights of the execution score components.

    Returns
    -------
    SelectionResult

    Raises
    ------
    SchemaError
        When the pool frame lacks a required column or has an unknown direction.
    DataError
        When the pool lists a symbol twice, or the return matrix is unusable.
    """
    if not isinstance(returns, pd.DataFrame):
        raise TypeError(f"returns must be a pandas DataFrame, got {type(returns).__name__}")
    if returns.columns.has_duplicates:
        raise DataError("return matrix has duplicated columns")
    min_overlap = int(settings.min_overlap)
    cand = _prepare(pool_frame, screener, baseline)
    _mark_duplicates(cand)
    directions = pd.Series(cand["direction"].to_numpy(), index=pd.Index(cand["symbol"]))
    synth = synthetic_long(returns.sort_index(), directions)
    stats, tails = _attach_statistics(cand, synth)

    undecided = cand["fate"].isna()
    short_history = undecided & (cand["n_obs"] < min_overlap)
    cand.loc[short_history & ~cand["baseline"], "fate"] = str(SelectionFate.INSUFFICIENT_HISTORY)
    clustered = undecided & ~short_history
    labels, neutral, corr = cluster_candidates(
        synth.loc[:, cand.loc[clustered, "symbol"].tolist()],
        min_overlap=min_overlap,
        threshold=float(settings.threshold),
    )
    cand["cluster"] = cand["symbol"].map(labels).astype("float64").astype("Int64")
    sizes = labels.value_counts()
    cand["cluster_size"] = cand["cluster"].map(sizes).astype("float64").astype("Int64")

    gated = clustered & ~cand["baseline"] & (cand["total_return"] < float(settings.momentum_gate))
    cand.loc[gated, "fate"] = str(SelectionFate.MOMENTUM_GATE)
    scored = clustered & ~cand["baseline"] & ~gated
    _score_candidates(cand, scored, _Signals(stats, tails, screener), xs_momentum, weights)
    n_capped = _assign_fates(cand, scored, int(settings.top_n), int(settings.max_winners))

    cand["reason"] = _reasons(cand, settings, baseline)
    cand = _ordered(cand)
    cluster_table = _cluster_table(cand, corr)
    afx = tails.copy()
    afx.insert(0, "direction", directions.to_numpy())
    afx.index.name = "symbol"
    afx = afx.sort_index(kind="mergesort")
    summary = _summary(cand, cluster_table, neutral, len(synth.index), settings, xs_momentum)
    summary["baseline"] = baseline
    return SelectionResult(
        candidates=cand.loc[:, list(CANDIDATE_COLUMNS)].reset_index(drop=True),
        winners=_winners(cand),
        decisions=_decisions(cand, cluster_table, neutral, settings, xs_momentum, n_capped),
        antifragility=afx.loc[:, ["direction", *STAT_COLUMNS]],
        clusters=cluster_table,
        summary=summary,
    )


def _attach_statistics(
    cand: pd.DataFrame, synth: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Window statistics and tail measures of the held returns, copied onto ``cand``."""
    stats = window_statistics(synth)
    tails = antifragility_table(synth)
    for col in ("n_obs", "total_return", "volatility", "max_drawdown"):
        cand[col] = stats[col].to_numpy()
    for col in ("skew", "tail_convexity", "fragility"):
        cand[col] = tails[col].to_numpy()
    return stats, tails


def _mark_duplicates(cand: pd.DataFrame) -> None:
    """Every listing but the kept one of its identity gets its fate (in place)."""
    keeper = _dedupe(cand)
    cand["fate"] = pd.Series([None] * len(cand), dtype=object)
    duplicate = (keeper != cand["symbol"]).to_numpy()
    cand.loc[duplicate, "fate"] = str(SelectionFate.DUPLICATE_IDENTITY)
    cand["kept_listing"] = keeper.to_numpy()


@dataclass(frozen=True)
class _Signals:
    """The inputs of the execution signals: window statistics, tails and the screener."""

    stats: pd.DataFrame
    tails: pd.DataFrame
    screener: pd.DataFrame | None


def _score_candidates(
    cand: pd.DataFrame,
    scored: pd.Series,
    signals: _Signals,
    xs_momentum: bool,
    weights: ExecutionWeights | None,
) -> None:
    """Execution score components, the execution score and the global score (in place)."""
    scored_idx = cand.index[scored]
    raw = raw_execution_signals(
        signals.stats.iloc[scored_idx],
        signals.tails.iloc[scored_idx],
        signals.screener,
        value_traded=pd.Series(
            cand.loc[scored, "value_traded"].to_numpy(), index=signals.stats.index[scored_idx]
        ),
    )
    clusters_of = pd.Series(cand.loc[scored, "cluster"].astype("int64").to_numpy(), index=raw.index)
    scores = execution_scores(raw, clusters_of, xs_momentum=xs_momentum, weights=weights)
    for col in (*EXECUTION_COMPONENTS, "execution_score"):
        cand[col] = np.nan
        cand.loc[scored, col] = scores[col].to_numpy()
    cand["global_score"] = np.nan
    cand.loc[scored, "global_score"] = (
        scores["execution_score"]
        if xs_momentum
        else execution_scores(raw, clusters_of, xs_momentum=True, weights=weights)[
            "execution_score"
        ]
    ).to_numpy()


def _assign_fates(cand: pd.DataFrame, scored: pd.Series, top_n: int, max_winners: int) -> int:
    """Rank, top-N, the global cap and the baseline (in place); the number of capped rows."""
    _rank(cand, scored)
    cand["selected"] = False
    within = scored & (cand["rank"] <= top_n).fillna(False).to_numpy(dtype=bool)
    cand.loc[scored & ~within, "fate"] = str(SelectionFate.BELOW_TOP_N)
    capped = _apply_cap(cand, within, max_winners)
    cand.loc[capped, "fate"] = str(SelectionFate.GLOBAL_CAP)
    cand.loc[within & ~capped, "fate"] = str(SelectionFate.SELECTED)
    cand.loc[cand["baseline"], "fate"] = str(SelectionFate.BASELINE)
    cand["selected"] = cand["fate"].isin([str(f) for f in KEPT_FATES])
    if cand["fate"].isna().any():  # pragma: no cover - every branch above assigns a fate
        raise AssertionError("a candidate was left without a fate")
    return int(capped.sum())


def _rank(cand: pd.DataFrame, scored: pd.Series) -> None:
    """Rank the scored candidates within ``(cluster, direction)`` (in place)."""
    cand["rank"] = pd.Series(pd.NA, index=cand.index, dtype="Int64")
    cand["group_size"] = pd.Series(pd.NA, index=cand.index, dtype="Int64")
    if not scored.any():
        return
    part = cand.loc[scored, ["cluster", "direction", "execution_score", "alpha_score", "symbol"]]
    part = part.assign(
        cluster=part["cluster"].astype("int64"), _alpha=part["alpha_score"].fillna(-np.inf)
    ).sort_values(
        ["cluster", "direction", "execution_score", "_alpha", "symbol"],
        ascending=[True, True, False, False, True],
        kind="mergesort",
    )
    groups = part.groupby(["cluster", "direction"], sort=False)
    cand.loc[part.index, "rank"] = (groups.cumcount() + 1).to_numpy()
    cand.loc[part.index, "group_size"] = groups["symbol"].transform("size").to_numpy()


def _apply_cap(cand: pd.DataFrame, within: pd.Series, max_winners: int) -> pd.Series:
    """Rows of ``within`` beyond the global cap (kept by rank, global score, symbol)."""
    capped = pd.Series(False, index=cand.index)
    if int(within.sum()) <= max_winners:
        return capped
    part = cand.loc[within, ["rank", "global_score", "symbol", "asset_class"]].assign(
        rank=lambda f: f["rank"].astype("int64")
    )
    part = part.sort_values(
        ["rank", "global_score", "symbol"], ascending=[True, False, True], kind="mergesort"
    )
    # asset-class floor: the best cluster leader of every asset class is kept first
    leaders = part[part["rank"] == 1]
    floor = leaders.drop_duplicates("asset_class", keep="first").index
    part = part.assign(floor=~part.index.isin(floor)).sort_values(
        ["floor", "rank", "global_score", "symbol"],
        ascending=[True, True, False, True],
        kind="mergesort",
    )
    capped.loc[part.index[max_winners:]] = True
    return capped
