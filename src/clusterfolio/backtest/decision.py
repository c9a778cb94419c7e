"""The point-in-time decision of one walk-forward window, shared by every engine.

:func:`decide` recomputes, from a training slice only, everything the live pipeline decides in
steps 5 (with ``backtest.dynamic_universe``), 9 and 10 before the optimiser of step 11 runs, with
the same library functions:

1. **Universe** (static): the columns of the slice except the market baseline, with the
   directions of ``winners.json`` (LONG when unknown). With ``backtest.dynamic_universe``
   natural selection (:func:`clusterfolio.selection.natural.natural_selection`) is re-run on the
   last ``data.light_lookback_days`` rows of the slice (the analogue of the live light pass) and
   its winners, with their directions, are the universe.
2. **Eligibility**: a symbol with fewer than ``selection.min_overlap`` observations in the slice
   is left out (recorded in :attr:`DecisionInputs.excluded`); it cannot be clustered.
3. **Synthetic long**: SHORT candidates are negated exactly once
   (:meth:`DecisionInputs.synthetic_long`); every engine optimises on that matrix.
4. **Regime** (step 10): :func:`~clusterfolio.risk.regime.detect_regime` on the equal-weight
   proxy of the LONG symbols (:func:`~clusterfolio.risk.regime.market_proxy`, raw returns, the
   slice's column order as in step 10), spectral with ``features.feat_spectral_regimes``.
5. **Clusters** (step 9): intersection-correlation distance averaged over ``risk.lookbacks``
   (:func:`~clusterfolio.risk.correlation.averaged_distance`, ``selection.min_overlap``), Ward
   linkage, cut at ``risk.base_threshold x risk.threshold_by_regime[regime]``.
6. **Statistics** (step 9): :func:`~clusterfolio.risk.antifragility.antifragility_table` of the
   synthetic-long slice (fragility, antifragility).
7. **Execution scores** (the hybrid within-cluster weights and the barbell use them): with the
   dynamic universe, the scores natural selection computed on the slice; otherwise the Execution
   Intelligence score (:mod:`clusterfolio.selection.execution`) of the last
   ``data.light_lookback_days`` rows of the synthetic-long slice, normalised within the window's
   clusters (global percentile ranks with ``features.feat_xs_momentum``). The liquidity signals
   are left out in both cases: the screener is a snapshot taken at the as-of date, not a point
   in time. (The live step 11 reads the scores of ``winners.json``, computed at the as-of date:
   reading them here would leak later data into earlier windows.)

Nothing else is read: a change of the data after the slice's last session cannot change the
decision (a test checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.enums import Direction, Regime
from clusterfolio.errors import ConfigError, DataError
from clusterfolio.manifest import Settings

__all__ = [
    "DYNAMIC_UNIVERSE_NEEDS",
    "DecisionInputs",
    "decide",
    "natural_selection_function",
    "pool_from_winners",
]

DYNAMIC_UNIVERSE_NEEDS = "clusterfolio.selection.natural.natural_selection"
"""The function ``backtest.dynamic_universe`` re-runs on every training slice."""


def _copy(mapping: Mapping[str, Any]) -> dict[str, Any]:
    # plain dict copies (not MappingProxyType): decisions travel to worker processes
    return dict(mapping)


@dataclass(frozen=True, eq=False)
class DecisionInputs:
    """What one window decided from its training slice (inputs of every engine).

    Attributes
    ----------
    train_start, train_end : pandas.Timestamp
        First and last session of the training slice.
    symbols : tuple of str
        Optimisation universe, sorted (the baseline excluded).
    directions : Mapping[str, Direction]
        Direction of each symbol.
    clusters : Mapping[str, int]
        Cluster of each symbol (ids from 1, see :func:`~clusterfolio.risk.clustering.cut`).
    threshold : float
        The adaptive clustering threshold applied.
    regime : Regime
        The regime read at ``train_end``.
    regime_score : float
        Its composite score.
    fragility, antifragility : Mapping[str, float]
        Statistics of the synthetic-long slice (symbols with a defined value only).
    execution_scores : Mapping[str, float]
        Execution Intelligence score per symbol (missing: 0 for the optimiser, which records it).
    baseline : str
        The market baseline (never in :attr:`symbols`, never direction-flipped).
    excluded : Mapping[str, str]
        Symbols left out of the universe, with the reason.
    notes : tuple of str
        Anything that deviated from the first-choice procedure.
    selection : Mapping[str, Any] or None
        Summary of the natural selection re-run (dynamic universe only).
    """

    train_start: pd.Timestamp
    train_end: pd.Timestamp
    symbols: tuple[str, ...]
    directions: Mapping[str, Direction]
    clusters: Mapping[str, int]
    threshold: float
    regime: Regime
    regime_score: float
    fragility: Mapping[str, float]
    antifragility: Mapping[str, float]
    execution_scores: Mapping[str, float]
    baseline: str
    excluded: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    selection: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in (
            "directions",
            "clusters",
            "fragility",
            "antifragility",
            "execution_scores",
            "excluded",
        ):
            set_(self, name, _copy(getattr(self, name)))
        if self.selection is not None:
            set_(self, "selection", _copy(self.selection))

    @property
    def n_clusters(self) -> int:
        """Number of clusters."""
        return len(set(self.clusters.values()))

    def sign(self, symbol: str) -> float:
        """+1 or -1: the direction's sign; the baseline is always +1 (never flipped)."""
        if symbol == self.baseline:
            return 1.0
        return float(self.directions.get(symbol, Direction.LONG).sign)

    def synthetic_long(self, returns: pd.DataFrame) -> pd.DataFrame:
        """The universe's returns as held: SHORT columns negated exactly once.

        Parameters
        ----------
        returns : pandas.DataFrame
            Raw returns holding every symbol of :attr:`symbols`.

        Returns
        -------
        pandas.DataFrame
            Columns :attr:`symbols` in that (sorted) order.
        """
        missing = [s for s in self.symbols if s not in returns.columns]
        if missing:
            raise DataError(f"training returns lack the universe's symbols {missing}")
        frame = returns.loc[:, list(self.symbols)].astype(np.float64)
        signs = np.array([self.sign(s) for s in self.symbols], dtype=np.float64)
        return pd.DataFrame(
            frame.to_numpy(copy=True) * signs[None, :],
            index=frame.index.copy(),
            columns=frame.columns.copy(),
        )

    def net_weights(self, gross: pd.Series) -> pd.Series:
        """Net weights ``sign x gross`` (the baseline stays long), the same for every engine."""
        signs = np.array([self.sign(str(s)) for s in gross.index], dtype=np.float64)
        return pd.Series(
            gross.to_numpy(dtype=np.float64) * signs, index=gross.index.copy(), name="net"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (for the tournament summary's window list)."""
        counts: dict[int, int] = {}
        for label in self.clusters.values():
            counts[int(label)] = counts.get(int(label), 0) + 1
        out: dict[str, Any] = {
            "train_start": self.train_start.isoformat(),
            "train_end": self.train_end.isoformat(),
            "universe": len(self.symbols),
            "short": sorted(s for s in self.symbols if self.sign(s) < 0),
            "regime": self.regime.value,
            "regime_score": float(self.regime_score),
            "threshold": float(self.threshold),
            "clusters": len(counts),
            "largest_cluster": max(counts.values()) if counts else 0,
            "excluded": dict(sorted(self.excluded.items())),
            "notes": list(self.notes),
        }
        if self.selection is not None:
            out["selection"] = dict(self.selection)
        return out


def natural_selection_function() -> Any:
    """The natural selection function of ``backtest.dynamic_universe``.

    Returns
    -------
    callable
        :func:`clusterfolio.selection.natural.natural_selection`.

    Raises
    ------
    ConfigError
        When that function cannot be imported: ``dynamic_universe`` is never faked.
    """
    try:
        from clusterfolio.selection import natural
    except ImportError as exc:
        raise ConfigError(
            f"backtest.dynamic_universe needs {DYNAMIC_UNIVERSE_NEEDS}, which cannot be "
            f"imported ({exc}); set backtest.dynamic_universe=false"
        ) from exc
    function = getattr(natural, "natural_selection", None)
    if not callable(function):
        raise ConfigError(
            f"backtest.dynamic_universe needs {DYNAMIC_UNIVERSE_NEEDS}, which does not exist; "
            "set backtest.dynamic_universe=false"
        )
    return function


def pool_from_winners(
    symbols: list[str],
    directions: Mapping[str, Direction],
    winners_info: Mapping[str, Mapping[str, Any]] | None,
) -> pd.DataFrame:
    """A candidate pool for natural selection built from ``winners.json`` records.

    Parameters
    ----------
    symbols : list of str
        Candidates (the columns of the audited return matrix).
    directions : Mapping[str, Direction]
        Direction of each candidate.
    winners_info : Mapping[str, Mapping[str, Any]] or None
        ``symbol -> winner record`` (identity, asset_class, alpha_score ...), when present.

    Returns
    -------
    pandas.DataFrame
        Columns ``symbol``, ``identity``, ``asset_class``, ``direction``, ``score`` (alpha
        score; NaN when unknown). No ``value_traded``: liquidity is not point in time.
    """
    info = winners_info or {}
    rows = []
    for symbol in symbols:
        record = info.get(symbol, {})
        alpha = record.get("alpha_score")
        rows.append(
            {
                "symbol": symbol,
                "identity": str(record.get("identity") or symbol.split(":", 1)[-1]),
                "asset_class": str(record.get("asset_class") or ""),
                "direction": Direction(directions.get(symbol, Direction.LONG)).value,
                "score": float(alpha) if isinstance(alpha, int | float) else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=["symbol", "identity", "asset_class", "direction", "score"])


def _observations(frame: pd.DataFrame) -> pd.Series:
    return frame.notna().sum(axis=0).astype(np.int64)


def _dynamic_universe(
    train: pd.DataFrame,
    directions: Mapping[str, Direction],
    winners_info: Mapping[str, Mapping[str, Any]] | None,
    pool: pd.DataFrame | None,
    settings: Settings,
) -> tuple[list[str], dict[str, Direction], dict[str, float], dict[str, Any]]:
    natural_selection = natural_selection_function()
    baseline = settings.backtest.baseline
    candidates = [str(c) for c in train.columns if str(c) != baseline]
    if pool is None:
        frame = pool_from_winners(candidates, directions, winners_info)
    else:
        key = "symbol" if "symbol" in pool.columns else "lead_symbol"
        frame = pool.loc[pool[key].astype(str).isin([*candidates, baseline])].copy()
        frame = frame.drop(columns=[c for c in ("value_traded",) if c in frame.columns])
    light = train.iloc[-settings.data.light_lookback_days :]
    result = natural_selection(
        frame,
        light,
        None,
        settings=settings.selection,
        xs_momentum=settings.features.feat_xs_momentum,
        baseline=baseline,
    )
    symbols: list[str] = []
    dirs: dict[str, Direction] = {}
    scores: dict[str, float] = {}
    for winner in result.winners:
        symbol = str(winner["symbol"])
        if symbol == baseline or bool(winner.get("baseline", False)):
            continue
        symbols.append(symbol)
        dirs[symbol] = Direction(str(winner["direction"]))
        score = winner.get("execution_score")
        if isinstance(score, int | float) and np.isfinite(score):
            scores[symbol] = float(score)
    summary = {
        "candidates": len(frame),
        "sessions": len(light),
        "winners": sorted(symbols),
        "clusters": int(result.summary.get("clusters", 0)),
    }
    return symbols, dirs, scores, summary


def _static_scores(
    synth: pd.DataFrame, clusters: Mapping[str, int], settings: Settings
) -> tuple[dict[str, float], list[str]]:
    try:
        from clusterfolio.risk.antifragility import antifragility_table
        from clusterfolio.selection.execution import (
            execution_scores,
            raw_execution_signals,
            window_statistics,
        )
    except ImportError as exc:
        return {}, [f"execution scores unavailable ({exc}): the optimiser scores every symbol 0"]
    light = synth.iloc[-settings.data.light_lookback_days :]
    stats = window_statistics(light)
    tails = antifragility_table(light)
    raw = raw_execution_signals(stats, tails, None)
    groups = pd.Series([int(clusters[str(s)]) for s in raw.index], index=raw.index)
    scored = execution_scores(raw, groups, xs_momentum=settings.features.feat_xs_momentum)
    values = scored["execution_score"]
    return {str(k): float(v) for k, v in values.items() if np.isfinite(v)}, []


def decide(
    train_returns: pd.DataFrame,
    directions: Mapping[str, Direction] | None,
    winners_info: Mapping[str, Mapping[str, Any]] | None,
    settings: Settings,
    *,
    pool: pd.DataFrame | None = None,
) -> DecisionInputs:
    """Recompute the decision inputs from a training slice only (rules in the module docstring).

    Parameters
    ----------
    train_returns : pandas.DataFrame
        Raw returns of the training slice (sessions x symbols, NaN where closed), the baseline
        included when available.
    directions : Mapping[str, Direction] or None
        Direction per symbol (LONG when missing).
    winners_info : Mapping[str, Mapping[str, Any]] or None
        ``winners.json`` records by symbol; only used to build the candidate pool of the dynamic
        universe when ``pool`` is None.
    settings : Settings
        ``risk`` (lookbacks, threshold, regime), ``selection`` (``min_overlap`` and the dynamic
        universe), ``features``, ``backtest`` (baseline, ``dynamic_universe``) and
        ``data.light_lookback_days``.
    pool : pandas.DataFrame, optional
        The raw pool (``raw_pool.parquet``) for the dynamic universe.

    Returns
    -------
    DecisionInputs

    Raises
    ------
    DataError
        When the slice is empty, no symbol is eligible, or the regime cannot be read.
    ConfigError
        When ``dynamic_universe`` is on and natural selection is unavailable.
    """
    from clusterfolio.risk.antifragility import antifragility_table
    from clusterfolio.risk.clustering import adaptive_threshold, cut, ward_linkage
    from clusterfolio.risk.correlation import averaged_distance
    from clusterfolio.risk.regime import detect_regime, market_proxy

    if not isinstance(train_returns, pd.DataFrame) or not isinstance(
        train_returns.index, pd.DatetimeIndex
    ):
        raise DataError("training returns must be a DataFrame with a DatetimeIndex")
    if len(train_returns) < 2:
        raise DataError(f"training slice has {len(train_returns)} sessions; need at least 2")
    risk, baseline = settings.risk, settings.backtest.baseline
    min_overlap = settings.selection.min_overlap
    given = {str(k): Direction(v) for k, v in (directions or {}).items()}
    selection: dict[str, Any] | None = None
    dynamic_scores: dict[str, float] = {}
    if settings.backtest.dynamic_universe:
        candidates, dirs, dynamic_scores, selection = _dynamic_universe(
            train_returns, given, winners_info, pool, settings
        )
    else:
        candidates = [str(c) for c in train_returns.columns if str(c) != baseline]
        dirs = {s: given.get(s, Direction.LONG) for s in candidates}
    counts = _observations(train_returns.loc[:, candidates]) if candidates else pd.Series()
    excluded = {
        s: f"{int(counts[s])} observations in the training slice < min_overlap {min_overlap}"
        for s in candidates
        if int(counts[s]) < min_overlap
    }
    kept = [s for s in candidates if s not in excluded]  # slice column order (as step 10)
    if not kept:
        raise DataError(
            f"no eligible symbol in the training slice ending {train_returns.index[-1].date()} "
            f"({len(candidates)} candidates, min_overlap {min_overlap})"
        )
    directions_kept = {s: dirs[s] for s in kept}
    symbols = sorted(kept)

    proxy = market_proxy(train_returns.loc[:, kept], directions=directions_kept)
    regime = detect_regime(proxy, risk.regime, spectral=settings.features.feat_spectral_regimes)
    threshold = adaptive_threshold(risk.base_threshold, regime.label, risk.threshold_by_regime)

    signs = np.array([directions_kept[s].sign for s in symbols], dtype=np.float64)
    raw = train_returns.loc[:, symbols].astype(np.float64)
    synth = pd.DataFrame(
        raw.to_numpy(copy=True) * signs[None, :], index=raw.index.copy(), columns=symbols
    )
    distance = averaged_distance(synth, risk.lookbacks, min_overlap=min_overlap)
    labels = cut(ward_linkage(distance), threshold)
    clusters = {s: int(v) for s, v in zip(distance.index, labels, strict=True)}
    table = antifragility_table(synth)
    notes: list[str] = []
    if settings.backtest.dynamic_universe:
        scores = {s: v for s, v in dynamic_scores.items() if s in clusters}
    else:
        scores, notes = _static_scores(synth, clusters, settings)
    return DecisionInputs(
        train_start=pd.Timestamp(train_returns.index[0]),
        train_end=pd.Timestamp(train_returns.index[-1]),
        symbols=tuple(symbols),
        directions=directions_kept,
        clusters=clusters,
        threshold=float(threshold),
        regime=Regime(regime.label),
        regime_score=float(regime.score),
        fragility={str(k): float(v) for k, v in table["fragility"].dropna().items()},
        antifragility={str(k): float(v) for k, v in table["antifragility"].dropna().items()},
        execution_scores=scores,
        baseline=baseline,
        excluded=excluded,
        notes=tuple(notes),
        selection=selection,
    )
