"""A window's universe and directions, decided as the live steps 2-5 would have at its date.

:func:`choose_universe` runs, on :meth:`MarketHistory.until` the window's training end only, the
same library functions as the live pipeline:

1. **Screens** (step 2): the screener columns of every listing that had traded by then
   (:func:`~clusterfolio.discovery.columns.screener_table` over ``discovery.history_days`` of
   candles before the cut) and every screen of the history
   (:func:`~clusterfolio.discovery.evaluate.run_scanners`);
2. **Raw pool** (step 3): :func:`~clusterfolio.discovery.pool.build_raw_pool` (identities, lead
   listings, alpha score, class caps);
3. **Light pass** (step 4): the leads' returns over their last ``data.light_lookback_days``
   sessions (:func:`~clusterfolio.data.returns.build_matrices`);
4. **Natural selection** (step 5): :func:`~clusterfolio.selection.natural.natural_selection`
   with the screener table of the cut (liquidity signals included: they are computed from the
   cut's candles, so they are point in time). Its winners and their directions are the universe;
   their execution scores feed the optimiser.

:attr:`UniverseChoice.data_until` is the last session any of these inputs read: never after the
cut.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.backtest.history import MarketHistory
from clusterfolio.enums import Direction
from clusterfolio.errors import DataError
from clusterfolio.manifest import Settings

__all__ = ["UniverseChoice", "choose_universe"]


@dataclass(frozen=True, eq=False)
class UniverseChoice:
    """The universe one window decided at its training end.

    Attributes
    ----------
    symbols : tuple of str
        Winners (the baseline excluded), sorted.
    directions : Mapping[str, Direction]
        Direction of each winner.
    execution_scores : Mapping[str, float]
        Execution Intelligence score of each winner (finite values only).
    data_until : pandas.Timestamp
        Last session any input of the choice read.
    summary : Mapping[str, Any]
        Counts: listings known at the cut, screen rows, raw pool identities, winners.
    """

    symbols: tuple[str, ...]
    directions: Mapping[str, Direction]
    execution_scores: Mapping[str, float]
    data_until: pd.Timestamp
    summary: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "directions", dict(self.directions))
        object.__setattr__(self, "execution_scores", dict(self.execution_scores))
        object.__setattr__(self, "summary", dict(self.summary))


def _pool_frame(
    history: MarketHistory, day: pd.Timestamp, settings: Settings
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    from clusterfolio.discovery.columns import screener_table
    from clusterfolio.discovery.evaluate import ScanStatus, required_columns, run_scanners
    from clusterfolio.discovery.pool import build_raw_pool

    discovery = settings.discovery
    start = (day - timedelta(days=discovery.history_days)).date()
    table = screener_table(
        history.candles,
        history.listings,
        required_columns(history.screens),
        as_of=day.date(),
        start=start,
    )
    exports = run_scanners(
        list(history.screens), table, as_of=day.date(), run_id=f"window@{day.date()}"
    )
    pool = build_raw_pool(
        exports,
        history.listings,
        max_per_class=discovery.max_per_class,
        xs_momentum=settings.features.feat_xs_momentum,
        min_value_traded=discovery.min_value_traded,
        weights=settings.scoring.alpha,
    )
    frame = pool.to_frame()
    frame.insert(0, "symbol", frame["lead_symbol"])
    counts = {
        "listings": len(history.candles),
        "screens": len(exports),
        "screens_failed": sum(e.status is ScanStatus.FAILED for e in exports),
        "screen_rows": sum(e.n_rows for e in exports),
        "identities": len(frame),
    }
    return frame.reset_index(drop=True), table, counts


def choose_universe(
    history: MarketHistory, day: pd.Timestamp, settings: Settings
) -> UniverseChoice:
    """Screens, raw pool and natural selection on the history known at ``day`` (module doc).

    Parameters
    ----------
    history : MarketHistory
        The market; it is cut at ``day`` here (a cut history is cut again at no cost).
    day : pandas.Timestamp
        The window's training end: the last session that may be read.
    settings : Settings
        ``discovery``, ``selection``, ``features``, ``data.light_lookback_days`` and
        ``backtest.baseline``.

    Returns
    -------
    UniverseChoice

    Raises
    ------
    DataError
        When no listing had traded by ``day``, or the baseline had not.
    """
    from clusterfolio.data.returns import build_matrices
    from clusterfolio.selection.natural import natural_selection

    day = pd.Timestamp(day).normalize()
    known = history.until(day)
    baseline = settings.backtest.baseline
    if not known.candles:
        raise DataError(f"no listing has a bar on or before {day.date()}")
    if baseline not in known.candles:
        raise DataError(f"baseline {baseline} has no bar on or before {day.date()}")
    frame, table, counts = _pool_frame(known, day, settings)
    leads = [s for s in frame["symbol"].astype(str) if s in known.candles]
    symbols = list(dict.fromkeys([*leads, baseline]))
    _, light = build_matrices(
        known.candles,
        known.listings,
        symbols,
        as_of=day.date(),
        n_sessions=settings.data.light_lookback_days,
    )
    result = natural_selection(
        frame,
        light,
        table,
        settings=settings.selection,
        xs_momentum=settings.features.feat_xs_momentum,
        baseline=baseline,
        weights=settings.scoring.execution,
    )
    directions: dict[str, Direction] = {}
    scores: dict[str, float] = {}
    for winner in result.winners:
        symbol = str(winner["symbol"])
        if symbol == baseline or bool(winner.get("baseline", False)):
            continue
        directions[symbol] = Direction(str(winner["direction"]))
        score = winner.get("execution_score")
        if isinstance(score, int | float) and np.isfinite(score):
            scores[symbol] = float(score)
    last = known.last_session()
    if last is None or last > day:  # the cut guarantees it; a broken cut must not pass silently
        raise DataError(f"history cut at {day.date()} holds a bar of {last}")
    return UniverseChoice(
        symbols=tuple(sorted(directions)),
        directions=directions,
        execution_scores=scores,
        data_until=last,
        summary={
            "chosen_at": day.isoformat(),
            **counts,
            "winners": len(directions),
            "light_sessions": len(light),
        },
    )
