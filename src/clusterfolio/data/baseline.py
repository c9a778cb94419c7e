"""The market baseline and the as-of date that fit the data a run is given.

Baseline (``backtest.baseline``)
--------------------------------
A symbol (``AMEX:SPY``; a bare ticker such as ``IVV`` is matched against the listings when it
names exactly one), or ``universe_equal_weight``: the equal-weighted universe the provider
serves, the listing :data:`UNIVERSE_SYMBOL` (:func:`equal_weight_index`). With the ``files``
provider a configured baseline that is not among the listings is settled by
``backtest.baseline_fallback``:

``error``
    stop, naming the setting and the broad-market candidates found (SPY, IVV, VOO ...);
``candidate``
    use the first candidate found (:data:`BROAD_MARKET`, in that order); error when none;
``candidate_or_universe`` (default)
    a candidate, else ``universe_equal_weight``.

The replacement is applied as the override ``backtest.baseline=<symbol>`` (so every step and
report names the baseline used) with ``backtest.baseline_requested`` holding the configured
value; the discovery step records it as a fallback.

As-of (files provider)
----------------------
Without ``--as-of`` the run is dated on the **last session of the baseline** (the market the
portfolio is measured against; a folder whose files end on different days is dated on the
market's). An as-of after that session is an error naming both dates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from clusterfolio.data.calendars import sessions
from clusterfolio.data.schema import Listing
from clusterfolio.enums import AssetClass, BaselineFallback, CalendarKind
from clusterfolio.errors import ConfigError
from clusterfolio.manifest import Settings

__all__ = [
    "BROAD_MARKET",
    "UNIVERSE_EQUAL_WEIGHT",
    "UNIVERSE_SYMBOL",
    "BaselineChoice",
    "FilesRunPlan",
    "default_as_of",
    "equal_weight_index",
    "plan_files_run",
    "resolve_baseline",
    "universe_listing",
]

#: The setting value naming the equal-weighted universe.
UNIVERSE_EQUAL_WEIGHT = "universe_equal_weight"
#: The listing that serves it.
UNIVERSE_SYMBOL = "UNIVERSE:EQUAL_WEIGHT"
#: Broad US market funds tried, in order, when the configured baseline is absent.
BROAD_MARKET: tuple[str, ...] = (
    "SPY", "IVV", "VOO", "VTI", "SPLG", "ITOT", "SCHB", "SCHX", "IWB", "IWV", "RSP", "ACWI", "VT",
)  # fmt: skip


@dataclass(frozen=True)
class BaselineChoice:
    """The baseline a run uses and why.

    Attributes
    ----------
    symbol : str
        The listing used as the market.
    requested : str
        ``backtest.baseline`` as configured.
    reason : str
        Why ``symbol`` (empty when it is the configured one).
    candidates : tuple of str
        Broad-market listings found.
    """

    symbol: str
    requested: str
    reason: str = ""
    candidates: tuple[str, ...] = field(default=())

    @property
    def replaced(self) -> bool:
        """Whether the run uses another baseline than the configured one."""
        return self.symbol != self.requested


def universe_listing() -> Listing:
    """The listing of the equal-weighted universe (NYSE sessions, an index)."""
    return Listing(
        symbol=UNIVERSE_SYMBOL,
        asset_class=AssetClass.INDEX,
        calendar=CalendarKind.NYSE,
        description="Equal-weighted universe of the files provider (daily rebalanced)",
        extra={"baseline": UNIVERSE_EQUAL_WEIGHT},
    )


def broad_market_candidates(symbols: Sequence[str]) -> list[str]:
    """Listings whose ticker is a broad-market fund, in :data:`BROAD_MARKET` order."""
    by_ticker: dict[str, list[str]] = {}
    for symbol in sorted(symbols):
        by_ticker.setdefault(symbol.rsplit(":", 1)[-1].upper(), []).append(symbol)
    return [s for t in BROAD_MARKET for s in by_ticker.get(t, [])]


def resolve_baseline(
    requested: str, symbols: Sequence[str], fallback: BaselineFallback, *, where: str
) -> BaselineChoice:
    """Settle ``backtest.baseline`` against the listings ``symbols`` (rules in the module doc).

    Raises
    ------
    ConfigError
        The baseline is absent and the fallback does not allow a replacement (or finds none);
        the message names the setting, ``where`` the data is and the candidates found.
    """
    known = set(symbols)
    if requested == UNIVERSE_EQUAL_WEIGHT:
        return BaselineChoice(UNIVERSE_SYMBOL, requested, "the equal-weighted universe")
    if requested in known:
        return BaselineChoice(requested, requested)
    candidates = tuple(broad_market_candidates(symbols))
    if ":" not in requested:
        same = [s for s in sorted(known) if s.rsplit(":", 1)[-1].upper() == requested.upper()]
        if len(same) == 1:
            return BaselineChoice(same[0], requested, f"the only listing of {requested}")
    found = ", ".join(candidates) if candidates else "none"
    message = (
        f"backtest.baseline {requested!r} is not among the {len(known)} listings of {where}; "
        f"broad-market candidates found: {found}"
    )
    if fallback is BaselineFallback.ERROR or (
        fallback is BaselineFallback.CANDIDATE and not candidates
    ):
        raise ConfigError(
            f"{message}. Set backtest.baseline to one of them or to '{UNIVERSE_EQUAL_WEIGHT}', "
            f"or backtest.baseline_fallback to 'candidate' or 'candidate_or_universe'"
        )
    if candidates:
        return BaselineChoice(candidates[0], requested, f"{message}: using {candidates[0]}",
                              candidates)  # fmt: skip
    return BaselineChoice(
        UNIVERSE_SYMBOL, requested, f"{message}: using the equal-weighted universe", candidates
    )


def default_as_of(last_session: date | None, requested: date | None, *, baseline: str) -> date:
    """The run's as-of: ``requested``, or the baseline's last session when omitted.

    Raises
    ------
    ConfigError
        ``requested`` is after the baseline's last session, or the baseline has no data.
    """
    if last_session is None:
        raise ConfigError(f"the baseline {baseline} has no usable candles: no as-of date")
    if requested is None:
        return last_session
    if requested > last_session:
        raise ConfigError(
            f"--as-of {requested} is after the data ends: the baseline {baseline}'s last "
            f"session is {last_session}; pass an earlier --as-of or omit it"
        )
    return requested


def equal_weight_index(
    histories: Mapping[str, pd.DataFrame], calendars: Mapping[str, CalendarKind]
) -> pd.DataFrame:
    """Candles of the equal-weighted universe, daily rebalanced, on NYSE sessions.

    Each listing's close is taken at its last quote on or before each NYSE session (so a 24/7
    coin's weekend is in Monday's return); the index return of a session is the mean return of
    the listings quoted on it and on the session before; the level starts at 100. It uses on
    each session only the listings' closes up to that session (point in time). OHLC equal the
    close; the volume is 0.
    """
    del calendars  # every listing is sampled on NYSE sessions
    frames = {s: f for s, f in histories.items() if len(f) >= 2}
    if not frames:
        return pd.DataFrame(columns=["session", "open", "high", "low", "close", "volume"])
    first = min(f["session"].iloc[0] for f in frames.values())
    last = max(f["session"].iloc[-1] for f in frames.values())
    grid = pd.DatetimeIndex(sessions(CalendarKind.NYSE, first.date(), last.date()))
    if len(grid) < 2:
        return pd.DataFrame(columns=["session", "open", "high", "low", "close", "volume"])
    columns = []
    for frame in frames.values():
        close = pd.Series(frame["close"].to_numpy(), index=pd.DatetimeIndex(frame["session"]))
        sampled = close.reindex(grid, method="ffill")
        live = (grid >= close.index[0]) & (grid <= close.index[-1])
        columns.append(np.where(live, sampled.to_numpy(), np.nan))
    matrix = np.column_stack(columns)
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = matrix[1:] / matrix[:-1] - 1.0
    counts = np.isfinite(returns).sum(axis=1)
    mean = np.where(counts > 0, np.nansum(returns, axis=1) / np.maximum(counts, 1), 0.0)
    level = 100.0 * np.concatenate([[1.0], np.cumprod(1.0 + mean)])
    return pd.DataFrame(
        {
            "session": grid.astype("datetime64[ns]"),
            "open": level,
            "high": level,
            "low": level,
            "close": level,
            "volume": np.zeros(len(grid)),
        }
    )


@dataclass(frozen=True)
class FilesRunPlan:
    """What a files-provider run needs before its first step.

    Attributes
    ----------
    overrides : list of str
        ``section.key=value`` to add (the baseline replacement), empty when none.
    as_of : date
        The run's as-of date.
    notes : list of str
        What was decided and why (shown in the terminal; the baseline one is also recorded).
    """

    overrides: list[str]
    as_of: date
    notes: list[str]


def plan_files_run(settings: Settings, project_root: Path, as_of: date | None) -> FilesRunPlan:
    """Settle the baseline and the as-of of a run on the ``files`` provider.

    Raises
    ------
    ConfigError
        The baseline is absent and may not be replaced, or the as-of is after the data ends.
    ProviderError
        The root folder does not exist.
    """
    from clusterfolio.data.files import FilesProvider

    provider = FilesProvider(settings.data.files, root_dir=project_root)
    symbols = [listing.symbol for listing in provider.listings()]
    requested = settings.backtest.baseline
    choice = resolve_baseline(
        requested,
        symbols,
        settings.backtest.baseline_fallback,
        where=f"the files under {provider.root}",
    )
    overrides, notes = [], []
    if choice.replaced:
        overrides = [
            f"backtest.baseline={choice.symbol}",
            f"backtest.baseline_requested={requested}",
        ]
        notes.append(f"baseline {choice.symbol}: {choice.reason}")
    history = provider.history(choice.symbol)
    last = None if history.empty else history["session"].iloc[-1].date()
    day = default_as_of(last, as_of, baseline=choice.symbol)
    if as_of is None:
        notes.append(f"as-of {day}: the last session of the baseline {choice.symbol}")
    return FilesRunPlan(overrides, day, notes)
