"""The point-in-time decision of one walk-forward window, shared by every engine.

:func:`decide` recomputes, from a training slice only, everything the live pipeline decides in
steps 5 (with ``backtest.dynamic_universe``), 9 and 10 before the optimiser of step 11 runs, with
the same library functions:

1. **Universe**: with ``universe`` (``backtest.universe = point_in_time``, the default), the
   winners and directions :func:`~clusterfolio.backtest.universe.choose_universe` decided from
   the market known at the training end (screens, raw pool, natural selection); without it
   (``as_of_winners``, labelled look-ahead in every report) the columns of the slice except the
   market baseline, with the directions given (those of the as-of ``winners.json``).
2. **Eligibility**: a symbol with fewer than ``selection.min_overlap`` observations in the slice
   is left out (recorded in :attr:`DecisionInputs.excluded`); it cannot be clustered.
3. **Synthetic long**: SHORT candidates are negated exactly once
   (:meth:`DecisionInputs.synthetic_long`); every engine optimises on that matrix.
4. **Regime** (step 10): :func:`~clusterfolio.risk.regime.detect_regime` on the proxy of the
   LONG symbols (:func:`~clusterfolio.risk.regime.market_proxy`, raw returns, the slice's column
   order as in step 10) and their dispersion (:func:`~clusterfolio.risk.regime.market_dispersion`),
   spectral with ``features.feat_spectral_regimes``.
5. **Clusters** (step 9): intersection-correlation distance averaged over ``risk.lookbacks``
   (:func:`~clusterfolio.risk.correlation.averaged_distance`, ``selection.min_overlap``), Ward
   linkage, cut at ``risk.base_threshold x risk.threshold_by_regime[regime]``.
6. **Statistics** (step 9): :func:`~clusterfolio.risk.antifragility.antifragility_table` of the
   synthetic-long slice (fragility, antifragility).
7. **Execution scores** (the hybrid within-cluster weights and the barbell use them): with a
   point-in-time universe, the scores natural selection computed at the cut; otherwise the Execution
   Intelligence score (:mod:`clusterfolio.selection.execution`) of the last
   ``data.light_lookback_days`` rows of the synthetic-long slice, normalised within the window's
   clusters (global percentile ranks with ``features.feat_xs_momentum``). The liquidity signals
   are left out in both cases: the screener is a snapshot taken at the as-of date, not a point
   in time. (The live step 11 reads the scores of ``winners.json``, computed at the as-of date:
   reading them here would leak later data into earlier windows.)

Nothing else is read: a change of the data after the slice's last session cannot change the
decision (a test rewrites the future and checks it). :attr:`DecisionInputs.data_until` records
the last session any input read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clusterfolio.enums import Direction, Regime
from clusterfolio.errors import DataError
from clusterfolio.manifest import Settings

if TYPE_CHECKING:
    from clusterfolio.backtest.universe import UniverseChoice

__all__ = ["DecisionInputs", "decide"]


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
        Summary of the point-in-time universe choice (screens, pool, winners), when made.
    data_until : pandas.Timestamp or None
        Last session any input of the decision read (``<= train_end``); None: ``train_end``.
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
    data_until: pd.Timestamp | None = None

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
            "data_until": (self.data_until or self.train_end).isoformat(),
            "symbols": {s: Direction(self.directions[s]).value for s in self.symbols},
            "clusters": len(counts),
            "largest_cluster": max(counts.values()) if counts else 0,
            "excluded": dict(sorted(self.excluded.items())),
            "notes": list(self.notes),
        }
        if self.selection is not None:
            out["selection"] = dict(self.selection)
        return out


def _observations(frame: pd.DataFrame) -> pd.Series:
    return frame.notna().sum(axis=0).astype(np.int64)


def _last_observation(
    train: pd.DataFrame, columns: list[str], universe: UniverseChoice | None
) -> pd.Timestamp:
    """Last session with a value in the columns the decision read (and the universe's data)."""
    used = train.loc[:, [c for c in columns if c in train.columns]]
    rows = used.index[used.notna().any(axis=1).to_numpy()]
    last = pd.Timestamp(rows[-1]) if len(rows) else pd.Timestamp(train.index[0])
    return last if universe is None else max(last, universe.data_until)


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
    scored = execution_scores(
        raw,
        groups,
        xs_momentum=settings.features.feat_xs_momentum,
        weights=settings.scoring.execution,
    )
    values = scored["execution_score"]
    return {str(k): float(v) for k, v in values.items() if np.isfinite(v)}, []


def _check_slice(train_returns: pd.DataFrame) -> None:
    """A training slice is a frame on a DatetimeIndex with at least two sessions."""
    if not isinstance(train_returns, pd.DataFrame) or not isinstance(
        train_returns.index, pd.DatetimeIndex
    ):
        raise DataError("training returns must be a DataFrame with a DatetimeIndex")
    if len(train_returns) < 2:
        raise DataError(f"training slice has {len(train_returns)} sessions; need at least 2")


def _candidates(
    train_returns: pd.DataFrame,
    directions: Mapping[str, Direction] | None,
    baseline: str,
    universe: UniverseChoice | None,
) -> tuple[list[str], dict[str, Direction], dict[str, Any] | None]:
    """The candidates (the baseline apart), their directions and the universe's summary."""
    end = pd.Timestamp(train_returns.index[-1])
    if universe is not None:
        if universe.data_until > end:
            raise DataError(
                f"universe read data until {universe.data_until.date()}, after the training "
                f"end {end.date()}"
            )
        candidates = [s for s in universe.symbols if s != baseline]
        dirs = {s: Direction(universe.directions[s]) for s in candidates}
        return candidates, dirs, dict(universe.summary)
    given = {str(k): Direction(v) for k, v in (directions or {}).items()}
    candidates = [str(c) for c in train_returns.columns if str(c) != baseline]
    return candidates, {s: given.get(s, Direction.LONG) for s in candidates}, None


def _eligible(
    train_returns: pd.DataFrame, candidates: list[str], min_overlap: int
) -> tuple[list[str], dict[str, str]]:
    """The candidates with at least ``min_overlap`` observations (slice column order, as step
    10), and the others with the reason."""
    counts = _observations(train_returns.loc[:, candidates]) if candidates else pd.Series()
    excluded = {
        s: f"{int(counts[s])} observations in the training slice < min_overlap {min_overlap}"
        for s in candidates
        if int(counts[s]) < min_overlap
    }
    kept = [s for s in candidates if s not in excluded]
    if not kept:
        raise DataError(
            f"no eligible symbol in the training slice ending {train_returns.index[-1].date()} "
            f"({len(candidates)} candidates, min_overlap {min_overlap})"
        )
    return kept, excluded


def decide(
    train_returns: pd.DataFrame,
    directions: Mapping[str, Direction] | None,
    settings: Settings,
    *,
    universe: UniverseChoice | None = None,
) -> DecisionInputs:
    """Recompute the decision inputs from a training slice only (rules in the module docstring).

    Parameters
    ----------
    train_returns : pandas.DataFrame
        Raw returns of the training slice (sessions x symbols, NaN where closed), the baseline
        included when available; with ``universe``, at least its symbols.
    directions : Mapping[str, Direction] or None
        Direction per symbol (LONG when missing); ignored with ``universe``.
    settings : Settings
        ``risk`` (lookbacks, threshold, regime), ``selection.min_overlap``, ``features``,
        ``backtest.baseline`` and ``data.light_lookback_days``.
    universe : UniverseChoice, optional
        The point-in-time universe of the window (its symbols, directions and scores).

    Returns
    -------
    DecisionInputs

    Raises
    ------
    DataError
        When the slice is empty, no symbol is eligible, the regime cannot be read, or the
        universe's data end after the slice.
    """
    from clusterfolio.risk.antifragility import antifragility_table
    from clusterfolio.risk.clustering import adaptive_threshold, cut, ward_linkage
    from clusterfolio.risk.correlation import averaged_distance
    from clusterfolio.risk.regime import detect_market_regime

    _check_slice(train_returns)
    risk, baseline = settings.risk, settings.backtest.baseline
    min_overlap = settings.selection.min_overlap
    candidates, dirs, selection = _candidates(train_returns, directions, baseline, universe)
    kept, excluded = _eligible(train_returns, candidates, min_overlap)
    directions_kept = {s: dirs[s] for s in kept}
    symbols = sorted(kept)

    spectral = settings.features.feat_spectral_regimes
    regime = detect_market_regime(
        train_returns.loc[:, kept], risk.regime, spectral=spectral, directions=directions_kept
    )
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
    if universe is not None:
        scores = {s: v for s, v in universe.execution_scores.items() if s in clusters}
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
        data_until=_last_observation(train_returns, [*symbols, baseline], universe),
    )
