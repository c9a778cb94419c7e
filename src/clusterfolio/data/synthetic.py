"""The ``synthetic`` provider: an embedded, deterministic multi-asset market.

The market is a factor model simulated on calendar days from the fixed epoch
``SyntheticSettings.start``:

* **Factors**: a global equity factor, one factor per GICS sector and per industry, rates, credit,
  gold, energy and agricultural commodities, crypto, regional equity factors and a European
  currency block. Each follows a GARCH(1,1) recursion driven by standardised Student-t shocks
  (volatility clustering and fat tails).
* **Economic units** (a company, a fund, a coin, a currency) load on the factors and add their own
  GARCH(1,1) Student-t noise. Treasury funds have a small negative equity beta and a
  flight-to-quality term that turns it more negative in stressed regimes.
* **Regimes**: a persistent Markov chain over :class:`~clusterfolio.enums.Regime` scales the
  volatility of the global factor more than that of the other factors and of the idiosyncratic
  noise (so correlations rise in stress); a crisis has a negative equity drift. The path is drawn
  over a fixed horizon (``horizon_years`` after the epoch) and recorded: :meth:`regime_path`.
* **Listings** are what a provider serves: US equities and funds on the NYSE calendar, coins on
  several crypto venues (spot, perpetual, USD and BTC quotes; listings of one coin differ by a
  small mean-reverting basis), and forex pairs on the 24/5 calendar (``log(EURUSD) = log EUR -
  log USD`` of currency units). Each listing has its own sessions
  (:mod:`clusterfolio.data.calendars`); returns on days its market is closed are damped and carried
  into the next session.

Determinism: every random stream is derived from ``(seed, name)`` by hashing (a listing's stream
from its symbol), draws are indexed by calendar day from the epoch and all recursions are causal,
so a bar never changes when the as-of date moves later; the as-of date only truncates. Adding
listings does not change the others.

Fault injection (:class:`~clusterfolio.manifest.FaultSettings`, ground truth in :meth:`faults`
and :meth:`fault_details`; ``AMEX:SPY`` is never affected; patterns are fixed in time, so they are
as permanent at the provider as the clean bars):

* ``missing_bars``: a run of 3 to 6 sessions is missing every :data:`GAP_PERIOD` sessions, so any
  window of 60 sessions holds a complete run; a narrower re-fetch misses them too.
* ``stale_listings``: the listing's last 5 to 10 sessions before the as-of date are not served.
* ``spikes``: every :data:`SPIKE_PERIOD` sessions one close is multiplied by
  :data:`SPIKE_FACTOR` (the high follows), reverting the next session.
* ``duplicated_rows``: :meth:`SyntheticProvider.candles` serves one session twice (same values).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from clusterfolio.data.calendars import as_day
from clusterfolio.data.provider import ProviderStats
from clusterfolio.data.schema import Listing
from clusterfolio.data.synthetic_market import (
    GAP_LENGTH,
    GAP_PERIOD,
    HORIZON_YEARS,
    OHLCV,
    REGIMES,
    SPIKE_FACTOR,
    SPIKE_PERIOD,
    STALE_LAG,
    FaultKind,
    FaultPlan,
    IntArray,
    Market,
    garch_filter,
    regime_chain,
    simulate,
)
from clusterfolio.data.synthetic_universe import Model, build_universe, stream
from clusterfolio.enums import ProviderName
from clusterfolio.errors import ConfigError, DataError, UnknownSymbolError
from clusterfolio.manifest import SyntheticSettings

#: The market baseline listing (its returns are the global equity factor plus tiny noise).
MARKET_SYMBOL = "AMEX:SPY"


@dataclass(frozen=True)
class FaultRecord:
    """Ground truth of one injected fault as of the provider's as-of date.

    Attributes
    ----------
    kind : FaultKind
        The fault.
    symbol : str
        Affected listing.
    sessions : pandas.DatetimeIndex
        Missing sessions (``missing_bars``), sessions not served (``stale_listings``), spiked
        sessions (``spikes``); empty for ``duplicated_rows`` (the duplicated session depends on
        the requested range: the middle row of every response).
    """

    kind: FaultKind
    symbol: str
    sessions: pd.DatetimeIndex


class SyntheticProvider:
    """The embedded deterministic market (see the module docstring for the model).

    Parameters
    ----------
    settings : SyntheticSettings
        Seed, fixed epoch ``start``, market size and faults.
    as_of : date
        Last calendar day served: a session's bar is served when the session is on or before it.
    horizon_years : int
        Length of the fixed simulation horizon after the epoch; the regime path is drawn over it
        and ``as_of`` must lie within it.

    Attributes
    ----------
    name : str
        ``"synthetic"``.
    stats : ProviderStats
        Calls to :meth:`candles` and :meth:`metadata`.

    Notes
    -----
    Constructing the provider builds the listing catalogue only (milliseconds); the market is
    simulated once, vectorised across listings, on the first call that needs prices, and every
    :meth:`candles` call slices it.
    """

    name: str = ProviderName.SYNTHETIC.value

    def __init__(
        self, settings: SyntheticSettings, as_of: date, *, horizon_years: int = HORIZON_YEARS
    ) -> None:
        self.settings = settings
        self.stats = ProviderStats()
        self._epoch = as_day(settings.start, "data.synthetic.start")
        self._as_of = as_day(as_of, "as_of")
        horizon_end = self._epoch + pd.DateOffset(years=horizon_years)
        if self._as_of < self._epoch:
            raise DataError(
                f"synthetic provider: as-of {self._as_of.date()} is before the epoch "
                f"data.synthetic.start={self._epoch.date()}"
            )
        if self._as_of >= horizon_end:
            raise DataError(
                f"synthetic provider: as-of {self._as_of.date()} is beyond the simulated horizon "
                f"({horizon_years} years after {self._epoch.date()}, until "
                f"{(horizon_end - pd.Timedelta(days=1)).date()})"
            )
        self._horizon_days = int((horizon_end - self._epoch).days)
        self._universe = build_universe(settings)
        self._models = {m.listing.symbol: m for m in self._universe.models}
        self._listings = tuple(
            sorted((m.listing for m in self._universe.models), key=lambda x: x.symbol)
        )
        self._plans = self._plan_faults()
        self._regimes = regime_chain(settings.seed, self._horizon_days)
        self._market: Market | None = None
        self._lock = threading.Lock()

    # -- properties ---------------------------------------------------------------------------

    @property
    def as_of(self) -> pd.Timestamp:
        """Last calendar day served."""
        return self._as_of

    @property
    def epoch(self) -> pd.Timestamp:
        """First calendar day simulated (``settings.start``)."""
        return self._epoch

    # -- Provider protocol --------------------------------------------------------------------

    def listings(self) -> Sequence[Listing]:
        """Return every listing, sorted by symbol."""
        return self._listings

    def metadata(self, symbol: str) -> Listing:
        """Return the listing of ``symbol``.

        Raises
        ------
        UnknownSymbolError
            The market has no such listing (the message names it).
        """
        self.stats.metadata_calls += 1
        return self._model(symbol).listing

    def candles(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Return the daily candles of ``symbol`` for its sessions in ``[start, end]``.

        Sessions after the as-of date are never served. Injected faults show as described in
        the module docstring.

        Parameters
        ----------
        symbol : str
            ``EXCHANGE:TICKER``.
        start, end : date
            Inclusive range; clipped to ``[epoch, min(as_of, today)]`` (today: the wall-clock
            date in UTC, so no bar is ever served for a session that has not happened).

        Returns
        -------
        pandas.DataFrame
            Columns :data:`~clusterfolio.data.schema.CANDLE_COLUMNS`, sorted by session.

        Raises
        ------
        UnknownSymbolError
            Unknown symbol.
        """
        self.stats.record_candles(symbol)
        self._model(symbol)
        market = self._ensure_market()
        kind, col = market.where[symbol]
        group = market.groups[kind]
        first = as_day(start, "start")
        # never a made-up bar after the wall-clock date, whatever the as-of date
        last = min(as_day(end, "end"), self._as_of, pd.Timestamp(datetime.now(UTC).date()))
        lo = int(group.sessions.searchsorted(first, side="left"))
        hi = int(group.sessions.searchsorted(last, side="right"))
        stale = self._plans.get((FaultKind.STALE_LISTINGS, symbol))
        if stale is not None:
            hi = min(hi, max(0, len(group.sessions) - stale.length))
        rows = np.arange(lo, max(lo, hi))
        gap = self._plans.get((FaultKind.MISSING_BARS, symbol))
        if gap is not None:
            rows = rows[~self._missing(rows, gap)]
        frame = pd.DataFrame(group.ohlcv[col, rows], columns=list(OHLCV))
        frame.insert(0, "session", group.sessions[rows])
        if (FaultKind.DUPLICATED_ROWS, symbol) in self._plans and len(frame):
            k = len(frame) // 2
            frame = pd.concat([frame.iloc[: k + 1], frame.iloc[k:]], ignore_index=True)
        return frame

    def screen(self, request: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Not available: discovery evaluates screens locally from candles."""
        raise NotImplementedError("the synthetic provider has no remote scanner")

    # -- ground truth -------------------------------------------------------------------------

    def regime_path(self) -> pd.Series:
        """Return the true regime of every calendar day from the epoch to the as-of date.

        Returns
        -------
        pandas.Series
            Index: calendar days (naive midnight); values: :class:`Regime` values as strings.
        """
        days = pd.date_range(self._epoch, self._as_of, freq="D")
        labels = np.array([r.value for r in REGIMES], dtype=object)
        return pd.Series(labels[self._regimes[: len(days)]], index=days, name="regime")

    def factor_returns(self) -> pd.DataFrame:
        """Return the simulated factor log-returns (calendar days x factor names)."""
        market = self._ensure_market()
        return pd.DataFrame(
            market.factor_returns, index=market.days, columns=list(self._universe.factors)
        )

    def faults(self) -> dict[str, list[str]]:
        """Return the injected faults: kind (``FaultSettings`` field name) -> sorted symbols."""
        out: dict[str, list[str]] = {kind.value: [] for kind in FaultKind}
        for kind, symbol in sorted(self._plans):
            out[kind.value].append(symbol)
        return out

    def fault_details(self) -> list[FaultRecord]:
        """Return every injected fault with the sessions it affects up to the as-of date."""
        market = self._ensure_market()
        records = []
        for (kind, symbol), plan in sorted(self._plans.items()):
            group = market.groups[market.where[symbol][0]]
            idx = np.arange(len(group.sessions))
            if kind is FaultKind.MISSING_BARS:
                hit = idx[self._missing(idx, plan)]
            elif kind is FaultKind.SPIKES:
                hit = idx[(idx - plan.phase) % SPIKE_PERIOD == 0]
            elif kind is FaultKind.STALE_LISTINGS:
                hit = idx[max(0, len(idx) - plan.length) :]
            else:
                hit = idx[:0]
            records.append(FaultRecord(kind, symbol, pd.DatetimeIndex(group.sessions[hit])))
        return records

    def market_summary(self) -> dict[str, Any]:
        """Return counts of the catalogue (by class, exchange, calendar and sector)."""
        listings = self._listings
        return {
            "listings": len(listings),
            "by_asset_class": dict(sorted(Counter(x.asset_class.value for x in listings).items())),
            "by_exchange": dict(sorted(Counter(x.exchange for x in listings).items())),
            "by_calendar": dict(sorted(Counter(x.calendar.value for x in listings).items())),
            "by_sector": dict(sorted(self._universe.sector_counts.items())),
            "coins": self._universe.coins,
            "factors": len(self._universe.factors),
            "epoch": self._epoch.date().isoformat(),
            "as_of": self._as_of.date().isoformat(),
        }

    # -- internals ----------------------------------------------------------------------------

    def _model(self, symbol: str) -> Model:
        try:
            return self._models[symbol]
        except KeyError:
            raise UnknownSymbolError(
                f"synthetic provider: unknown symbol {symbol!r}"
                + ("" if ":" in str(symbol) else " (expected EXCHANGE:TICKER)")
            ) from None

    @staticmethod
    def _missing(rows: IntArray, plan: FaultPlan) -> npt.NDArray[np.bool_]:
        return np.asarray((rows - plan.phase) % GAP_PERIOD < plan.length)

    def _plan_faults(self) -> dict[tuple[FaultKind, str], FaultPlan]:
        faults = self.settings.faults
        wanted = [
            (FaultKind.MISSING_BARS, faults.missing_bars),
            (FaultKind.STALE_LISTINGS, faults.stale_listings),
            (FaultKind.SPIKES, faults.spikes),
            (FaultKind.DUPLICATED_ROWS, faults.duplicated_rows),
        ]
        eligible = [x.symbol for x in self._listings if x.symbol != MARKET_SYMBOL]
        total = sum(count for _, count in wanted)
        if total > len(eligible):
            raise ConfigError(
                f"data.synthetic.faults: {total} faulty listings requested, "
                f"only {len(eligible)} eligible"
            )
        rng = stream(self.settings.seed, "faults")
        order = rng.permutation(len(eligible))
        plans: dict[tuple[FaultKind, str], FaultPlan] = {}
        k = 0
        for kind, count in wanted:
            for _ in range(count):
                symbol = eligible[int(order[k])]
                k += 1
                if kind is FaultKind.MISSING_BARS:
                    plan = FaultPlan(
                        kind,
                        symbol,
                        int(rng.integers(GAP_PERIOD)),
                        int(rng.integers(GAP_LENGTH[0], GAP_LENGTH[1] + 1)),
                    )
                elif kind is FaultKind.SPIKES:
                    plan = FaultPlan(kind, symbol, int(rng.integers(1, SPIKE_PERIOD)))
                elif kind is FaultKind.STALE_LISTINGS:
                    lag = int(rng.integers(STALE_LAG[0], STALE_LAG[1] + 1))
                    plan = FaultPlan(kind, symbol, 0, lag)
                else:
                    plan = FaultPlan(kind, symbol)
                plans[(kind, symbol)] = plan
        return plans

    def _ensure_market(self) -> Market:
        if self._market is None:
            with self._lock:
                if self._market is None:
                    days = pd.date_range(self._epoch, self._as_of, freq="D")
                    days = pd.DatetimeIndex(np.asarray(days, dtype="datetime64[ns]"))
                    spikes = {
                        p.symbol: p for (k, _), p in self._plans.items() if k is FaultKind.SPIKES
                    }
                    self._market = simulate(
                        self._universe,
                        self.settings.seed,
                        days,
                        self._regimes[: len(days)],
                        spikes,
                    )
        return self._market


__all__ = [
    "GAP_LENGTH",
    "GAP_PERIOD",
    "HORIZON_YEARS",
    "MARKET_SYMBOL",
    "SPIKE_FACTOR",
    "SPIKE_PERIOD",
    "STALE_LAG",
    "FaultKind",
    "FaultRecord",
    "SyntheticProvider",
    "garch_filter",
]
