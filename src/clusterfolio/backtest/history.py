"""The market as it was: what a point-in-time window may read, cut at its training end.

:class:`MarketHistory` holds the stored candles of every listing the provider serves (the whole
universe the screens look at, not only today's winners), their metadata and the screens. A
window reads ``history.until(train_end)``: every bar after the cut is dropped and a listing with
no bar on or before it does not exist yet. Nothing else reaches a window's decision, so a change
of the data after the cut cannot change it (a test rewrites the future and checks).

Screens whose columns cannot be computed from candles (a remote-only field such as a
fundamental) are skipped for history, each recorded in :attr:`MarketHistory.notes`: the live
run's remote scanner evaluated them at the as-of date only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clusterfolio.data.schema import Listing
from clusterfolio.discovery.screens import Screen
from clusterfolio.errors import ClusterfolioError, DataError

__all__ = ["MarketHistory", "computable_screens"]


@dataclass(frozen=True, eq=False)
class MarketHistory:
    """Candles, metadata and screens of the whole screened universe.

    Attributes
    ----------
    candles : Mapping[str, pandas.DataFrame]
        Stored candles per listing (``session`` column sorted ascending), up to the as-of date.
    listings : Mapping[str, Listing]
        Metadata per listing (every key of :attr:`candles` has one).
    screens : tuple of Screen
        The screens evaluated in every window (computable from candles).
    notes : tuple of str
        What the history leaves out (skipped screens, a universe bounded by the as-of scan).
    """

    candles: Mapping[str, pd.DataFrame]
    listings: Mapping[str, Listing]
    screens: tuple[Screen, ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        missing = sorted(set(self.candles) - set(self.listings))
        if missing:
            raise DataError(f"market history: no listing metadata for {missing[:5]}")
        object.__setattr__(self, "candles", dict(self.candles))
        object.__setattr__(self, "listings", dict(self.listings))

    @property
    def symbols(self) -> list[str]:
        """Listings with candles, sorted."""
        return sorted(self.candles)

    def until(self, day: pd.Timestamp, *, since: pd.Timestamp | None = None) -> MarketHistory:
        """The history as known at the end of ``day``.

        Parameters
        ----------
        day : pandas.Timestamp
            Last session that may be read (inclusive).
        since : pandas.Timestamp, optional
            First session kept (earlier bars are dropped to keep the cut small).

        Returns
        -------
        MarketHistory
            Bars on or before ``day`` only; listings without such a bar are absent.
        """
        cut = pd.Timestamp(day).normalize().to_datetime64()
        first = None if since is None else pd.Timestamp(since).to_datetime64()
        candles: dict[str, pd.DataFrame] = {}
        for symbol, frame in self.candles.items():
            if frame.empty:
                continue
            values = frame["session"].to_numpy(dtype="datetime64[ns]")
            stop = int(np.searchsorted(values, cut, side="right"))
            start = 0 if first is None else int(np.searchsorted(values, first, side="left"))
            if stop <= start:
                continue
            whole = start == 0 and stop == len(values)  # already cut: no copy
            candles[symbol] = frame if whole else frame.iloc[start:stop].reset_index(drop=True)
        listings = {s: self.listings[s] for s in candles}
        return MarketHistory(candles, listings, self.screens, self.notes)

    def last_session(self) -> pd.Timestamp | None:
        """The latest bar of any listing (None when empty)."""
        last = [frame["session"].iloc[-1] for frame in self.candles.values() if not frame.empty]
        return pd.Timestamp(max(last)) if last else None


def computable_screens(
    screens: Sequence[Screen],
    candles: Mapping[str, pd.DataFrame],
    listings: Mapping[str, Listing],
) -> tuple[list[Screen], list[str]]:
    """Split ``screens`` into those computable from candles and notes on the others.

    Each column a screen needs is computed once on one listing's candles (the local screener's
    own code decides what it can compute); a screen with a column it cannot compute is left out
    of the history, with a note naming the screen and the column.

    Parameters
    ----------
    screens : sequence of Screen
    candles, listings : mapping
        A sample listing is taken from them (the first symbol with candles).

    Returns
    -------
    (list of Screen, list of str)
    """
    from clusterfolio.discovery.columns import screener_table
    from clusterfolio.discovery.evaluate import required_columns

    sample = next((s for s in sorted(candles) if not candles[s].empty), None)
    if sample is None:
        return list(screens), []
    verdict: dict[str, str | None] = {}
    kept: list[Screen] = []
    notes: list[str] = []
    for screen in screens:
        bad = None
        for column in required_columns([screen]):
            if column not in verdict:
                try:
                    screener_table({sample: candles[sample]}, {sample: listings[sample]}, [column])
                    verdict[column] = None
                except ClusterfolioError as exc:
                    verdict[column] = str(exc)
            if verdict[column] is not None:
                bad = column
                break
        if bad is None:
            kept.append(screen)
        else:
            notes.append(
                f"screen {screen.name} skipped for history: column {bad!r} cannot be computed "
                f"from candles ({verdict[bad]})"
            )
    return kept, notes
