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

import hashlib
import math
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from clusterfolio.data.calendars import as_day, sessions
from clusterfolio.data.provider import ProviderStats
from clusterfolio.data.schema import Listing
from clusterfolio.enums import AssetClass, CalendarKind, ProviderName, Regime
from clusterfolio.errors import ConfigError, DataError, UnknownSymbolError
from clusterfolio.manifest import SyntheticSettings

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: The market baseline listing (its returns are the global equity factor plus tiny noise).
MARKET_SYMBOL = "AMEX:SPY"
#: Close multiplier of an injected spike.
SPIKE_FACTOR = 1.8
#: A spike listing has one spike every this many sessions (so the last 120 sessions hold one).
SPIKE_PERIOD = 100
#: A missing-bars listing misses a run every this many sessions (the last 60 sessions hold one).
GAP_PERIOD = 50
#: Length range (inclusive) of a run of missing sessions.
GAP_LENGTH = (3, 6)
#: Range (inclusive) of the number of final sessions a stale listing does not serve.
STALE_LAG = (5, 10)
#: Default length of the fixed simulation horizon after the epoch.
HORIZON_YEARS = 12

_OHLCV = ("open", "high", "low", "close", "volume")
_REGIMES: tuple[Regime, ...] = (Regime.QUIET, Regime.NORMAL, Regime.TURBULENT, Regime.CRISIS)
#: Daily transition matrix of the regime chain (rows: from, columns: to, order of _REGIMES).
_TRANSITIONS = np.array(
    [
        [0.986, 0.014, 0.000, 0.000],
        [0.007, 0.986, 0.007, 0.000],
        [0.000, 0.022, 0.966, 0.012],
        [0.000, 0.006, 0.030, 0.964],
    ]
)
_GLOBAL_VOL_MULT = np.array([0.6, 1.0, 1.5, 2.2])
_FACTOR_VOL_MULT = np.array([0.75, 1.0, 1.3, 1.7])
_IDIO_VOL_MULT = np.array([0.85, 1.0, 1.15, 1.35])
_GLOBAL_DRIFT = np.array([0.0007, 0.0004, -0.0006, -0.0035])
_STRESS = np.array([0.0, 0.0, 0.5, 1.0])
_VOLUME_REGIME = np.array([-0.1, 0.0, 0.15, 0.35])
#: Scale of the log-return of a day on which the listing's market is closed.
_CLOSED_DAY_SCALE: dict[CalendarKind, float] = {
    CalendarKind.NYSE: 0.3,
    CalendarKind.LSE: 0.3,
    CalendarKind.FOREX_24_5: 0.15,
    CalendarKind.CRYPTO_24_7: 1.0,
}
_BASIS_RHO = 0.7
_SHOCK_CLIP = 4.5
#: Cap of the GARCH variance multiplier (keeps a run of extreme shocks from exploding).
_GARCH_CAP = 4.0


class FaultKind(StrEnum):
    """Kinds of injected faults (the field names of ``FaultSettings``)."""

    MISSING_BARS = "missing_bars"
    STALE_LISTINGS = "stale_listings"
    SPIKES = "spikes"
    DUPLICATED_ROWS = "duplicated_rows"


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


# --------------------------------------------------------------------------------------------
# Catalogue of the market
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sector:
    name: str
    weight: float
    beta: float
    vol: float
    nasdaq_share: float
    cap_scale: float
    industries: tuple[tuple[str, tuple[str, ...]], ...]


_SECTORS: tuple[_Sector, ...] = (
    _Sector(
        "Information Technology", 0.14, 1.2, 0.008, 0.75, 1.5,
        (
            ("Software", ("Software", "Systems", "Labs")),
            ("Semiconductors", ("Semiconductor", "Micro", "Devices")),
            ("IT Services", ("Digital", "Data", "Consulting")),
            ("Technology Hardware", ("Computing", "Instruments")),
            ("Electronic Equipment", ("Electronics", "Sensors")),
        ),
    ),
    _Sector(
        "Health Care", 0.12, 0.85, 0.006, 0.6, 1.0,
        (
            ("Pharmaceuticals", ("Pharma", "Pharmaceuticals")),
            ("Biotechnology", ("Therapeutics", "Biosciences", "Bio")),
            ("Health Care Equipment", ("Medical", "Surgical")),
            ("Health Care Providers", ("Health", "Care")),
        ),
    ),
    _Sector(
        "Financials", 0.13, 1.1, 0.007, 0.25, 1.0,
        (
            ("Banks", ("Bancorp", "Bank", "Financial")),
            ("Insurance", ("Insurance", "Assurance")),
            ("Capital Markets", ("Capital", "Partners")),
            ("Consumer Finance", ("Credit", "Lending")),
        ),
    ),
    _Sector(
        "Consumer Discretionary", 0.10, 1.15, 0.007, 0.45, 1.0,
        (
            ("Specialty Retail", ("Retail", "Stores")),
            ("Hotels Restaurants & Leisure", ("Resorts", "Restaurants", "Leisure")),
            ("Automobiles", ("Motors", "Automotive")),
            ("Household Durables", ("Homes", "Living")),
            ("Textiles & Apparel", ("Apparel", "Brands")),
        ),
    ),
    _Sector(
        "Industrials", 0.13, 1.05, 0.005, 0.25, 1.0,
        (
            ("Aerospace & Defense", ("Aerospace", "Defense")),
            ("Machinery", ("Machinery", "Industries")),
            ("Transportation", ("Logistics", "Freight", "Rail")),
            ("Building Products", ("Building", "Structures")),
            ("Professional Services", ("Services", "Solutions")),
        ),
    ),
    _Sector(
        "Communication Services", 0.06, 1.0, 0.007, 0.6, 1.3,
        (
            ("Interactive Media", ("Interactive", "Online")),
            ("Entertainment", ("Entertainment", "Studios")),
            ("Telecommunication Services", ("Telecom", "Communications")),
            ("Media", ("Media", "Broadcasting")),
        ),
    ),
    _Sector(
        "Consumer Staples", 0.07, 0.65, 0.004, 0.25, 1.0,
        (
            ("Food Products", ("Foods", "Farms")),
            ("Beverages", ("Beverages", "Brewing")),
            ("Household Products", ("Household", "Consumer")),
            ("Consumer Staples Retail", ("Markets", "Grocers")),
        ),
    ),
    _Sector(
        "Energy", 0.06, 1.1, 0.012, 0.2, 1.0,
        (
            ("Oil Gas & Consumable Fuels", ("Petroleum", "Energy", "Resources")),
            ("Energy Equipment & Services", ("Drilling", "Oilfield")),
        ),
    ),
    _Sector(
        "Utilities", 0.06, 0.55, 0.006, 0.2, 0.8,
        (
            ("Electric Utilities", ("Electric", "Power")),
            ("Multi-Utilities", ("Utilities", "Energy Holdings")),
            ("Gas Utilities", ("Gas",)),
            ("Water Utilities", ("Water",)),
        ),
    ),
    _Sector(
        "Real Estate", 0.06, 0.85, 0.007, 0.2, 0.6,
        (
            ("Residential REITs", ("Residential", "Living Trust")),
            ("Industrial REITs", ("Industrial Realty", "Logistics Trust")),
            ("Office REITs", ("Office Properties", "Realty")),
            ("Specialized REITs", ("Towers", "Storage")),
        ),
    ),
    _Sector(
        "Materials", 0.07, 1.05, 0.006, 0.2, 0.7,
        (
            ("Chemicals", ("Chemicals", "Materials")),
            ("Metals & Mining", ("Mining", "Metals")),
            ("Construction Materials", ("Aggregates", "Cement")),
            ("Containers & Packaging", ("Packaging", "Containers")),
        ),
    ),
)  # fmt: skip

_ONSETS = (
    "Al", "Ar", "Bel", "Bri", "Cal", "Cor", "Dal", "Dex", "El", "Fal", "Fer", "Gal", "Hal",
    "Hel", "Ist", "Jor", "Kal", "Ker", "Lum", "Lor", "Mar", "Mer", "Nor", "Nov", "Or", "Pal",
    "Pyr", "Quan", "Ros", "Sal", "Sol", "Tal", "Tor", "Ul", "Val", "Ver", "Wes", "Xan", "Yar",
    "Zen",
)  # fmt: skip
_CODAS = (
    "a", "ex", "ion", "ora", "ium", "is", "on", "ar", "ent", "ova", "ix", "yn", "et", "ia",
    "ant", "os", "era", "ine", "ard", "ux",
)  # fmt: skip


@dataclass(frozen=True)
class _Etf:
    ticker: str
    exchange: str
    category: str
    asset_class: AssetClass
    description: str
    price: float
    dollar_volume: float
    exposures: tuple[tuple[str, float], ...]
    idio: float
    ftq: float = 0.0
    drift: float = 0.0


def _sec(name: str) -> str:
    return f"sector:{name}"


def _ind(sector: str, industry: str) -> str:
    return f"industry:{sector}/{industry}"


_IT, _HC, _FIN, _CD = (s.name for s in _SECTORS[:4])
_INDU, _COMM, _CS, _EN, _UT, _RE, _MAT = (s.name for s in _SECTORS[4:])
_E = AssetClass.ETF
_B = AssetClass.BOND
_C = AssetClass.COMMODITY
_BOND_CARRY = 0.0001

_ETFS: dict[str, tuple[_Etf, ...]] = {
    "broad": (
        _Etf("SPY", "AMEX", "broad", _E, "S&P 500 tracker: the market", 250, 2.5e10,
             (("global", 1.0),), 0.0003),
        _Etf("QQQ", "AMEX", "broad", _E, "Nasdaq-100 tracker", 155, 1e10,
             (("global", 1.1), (_sec(_IT), 0.55), (_sec(_COMM), 0.25)), 0.002),
        _Etf("IWM", "AMEX", "broad", _E, "US small caps", 135, 4e9, (("global", 1.15),), 0.006),
        _Etf("DIA", "AMEX", "broad", _E, "US blue chips (price weighted)", 235, 1.2e9,
             (("global", 0.95), (_sec(_INDU), 0.15)), 0.0025),
        _Etf("VTI", "ARCA", "broad", _E, "US total market", 125, 2e9, (("global", 1.02),), 0.001),
        _Etf("RSP", "ARCA", "broad", _E, "S&P 500 equal weight", 95, 8e8,
             (("global", 1.02),), 0.003),
        _Etf("MDY", "ARCA", "broad", _E, "US mid caps", 310, 6e8, (("global", 1.1),), 0.004),
        _Etf("VTV", "ARCA", "broad", _E, "US large-cap value", 100, 5e8,
             (("global", 0.9), (_sec(_FIN), 0.3), (_sec(_EN), 0.15)), 0.002),
        _Etf("VUG", "ARCA", "broad", _E, "US large-cap growth", 140, 5e8,
             (("global", 1.1), (_sec(_IT), 0.45)), 0.002),
        _Etf("USMV", "ARCA", "broad", _E, "US minimum volatility", 55, 4e8,
             (("global", 0.7), (_sec(_UT), 0.2), (_sec(_CS), 0.2)), 0.002),
        _Etf("MTUM", "ARCA", "broad", _E, "US momentum factor", 105, 3e8,
             (("global", 1.05), (_sec(_IT), 0.2)), 0.004),
        _Etf("SCHD", "ARCA", "broad", _E, "US dividend payers", 50, 4e8,
             (("global", 0.8), (_sec(_FIN), 0.2), (_sec(_CS), 0.15)), 0.0025),
    ),
    "bond": (
        _Etf("TLT", "AMEX", "bond", _B, "US Treasuries, 20+ years", 120, 2e9,
             (("rates", 2.3), ("global", -0.1)), 0.0008, -0.18, _BOND_CARRY),
        _Etf("IEF", "AMEX", "bond", _B, "US Treasuries, 7-10 years", 104, 1e9,
             (("rates", 1.0), ("global", -0.04)), 0.0004, -0.08, _BOND_CARRY),
        _Etf("SHY", "AMEX", "bond", _B, "US Treasuries, 1-3 years", 83, 4e8,
             (("rates", 0.22),), 0.0005, -0.02, _BOND_CARRY),
        _Etf("LQD", "AMEX", "bond", _B, "US investment-grade corporates", 115, 1.5e9,
             (("rates", 1.1), ("credit", 1.0), ("global", 0.06)), 0.0008, 0.0, _BOND_CARRY),
        _Etf("HYG", "AMEX", "bond", _B, "US high-yield corporates", 84, 2e9,
             (("rates", 0.3), ("credit", 1.8), ("global", 0.22)), 0.0012, 0.0, _BOND_CARRY),
        _Etf("AGG", "ARCA", "bond", _B, "US aggregate bonds", 105, 6e8,
             (("rates", 0.8), ("credit", 0.25)), 0.0003, -0.04, _BOND_CARRY),
        _Etf("BND", "ARCA", "bond", _B, "US total bond market", 79, 5e8,
             (("rates", 0.8), ("credit", 0.25)), 0.0003, -0.04, _BOND_CARRY),
        _Etf("TIP", "ARCA", "bond", _B, "US inflation-protected Treasuries", 110, 3e8,
             (("rates", 0.85), ("energy_commodity", 0.03)), 0.0015, -0.03, _BOND_CARRY),
        _Etf("GOVT", "ARCA", "bond", _B, "US Treasuries, all maturities", 25, 2e8,
             (("rates", 0.75),), 0.0003, -0.06, _BOND_CARRY),
        _Etf("SHV", "ARCA", "bond", _B, "US Treasury bills, up to 1 year", 110, 3e8,
             (("rates", 0.03),), 0.00005, 0.0, _BOND_CARRY),
        _Etf("BIL", "ARCA", "bond", _B, "US Treasury bills, 1-3 months", 91.5, 4e8,
             (("rates", 0.01),), 0.00003, 0.0, _BOND_CARRY),
        _Etf("TLH", "ARCA", "bond", _B, "US Treasuries, 10-20 years", 125, 1e8,
             (("rates", 1.8), ("global", -0.07)), 0.0008, -0.14, _BOND_CARRY),
        _Etf("EDV", "ARCA", "bond", _B, "US Treasury STRIPS, extended duration", 115, 1.2e8,
             (("rates", 3.0), ("global", -0.12)), 0.0015, -0.22, _BOND_CARRY),
        _Etf("IEI", "ARCA", "bond", _B, "US Treasuries, 3-7 years", 120, 1.5e8,
             (("rates", 0.6),), 0.0003, -0.05, _BOND_CARRY),
        _Etf("VGSH", "ARCA", "bond", _B, "US short-term Treasuries", 60, 1.5e8,
             (("rates", 0.22),), 0.0002, -0.02, _BOND_CARRY),
        _Etf("MUB", "ARCA", "bond", _B, "US municipal bonds", 107, 2e8,
             (("rates", 0.7), ("credit", 0.3)), 0.001, 0.0, _BOND_CARRY),
        _Etf("VCIT", "ARCA", "bond", _B, "US intermediate corporates", 82, 2e8,
             (("rates", 0.8), ("credit", 0.6), ("global", 0.04)), 0.0006, 0.0, _BOND_CARRY),
        _Etf("VCSH", "ARCA", "bond", _B, "US short-term corporates", 78, 2e8,
             (("rates", 0.35), ("credit", 0.3)), 0.0004, 0.0, _BOND_CARRY),
        _Etf("IGSB", "ARCA", "bond", _B, "US short-term investment grade", 52, 1e8,
             (("rates", 0.35), ("credit", 0.3)), 0.0004, 0.0, _BOND_CARRY),
        _Etf("JNK", "ARCA", "bond", _B, "US high-yield bonds", 105, 8e8,
             (("rates", 0.3), ("credit", 1.8), ("global", 0.22)), 0.0013, 0.0, _BOND_CARRY),
        _Etf("EMB", "ARCA", "bond", _B, "Emerging-market dollar bonds", 105, 4e8,
             (("rates", 0.9), ("credit", 1.2), ("global", 0.15), ("region:EM Asia", 0.1)),
             0.0025, 0.0, _BOND_CARRY),
        _Etf("BNDX", "ARCA", "bond", _B, "International bonds, dollar hedged", 55, 1.5e8,
             (("rates", 0.6),), 0.001, -0.03, _BOND_CARRY),
        _Etf("MBB", "ARCA", "bond", _B, "US mortgage-backed securities", 105, 2e8,
             (("rates", 0.75), ("credit", 0.1)), 0.0005, -0.03, _BOND_CARRY),
    ),
    "commodity": (
        _Etf("GLD", "AMEX", "commodity", _C, "Gold bullion", 121, 1.5e9,
             (("gold", 1.0), ("global", 0.03)), 0.0006),
        _Etf("SLV", "AMEX", "commodity", _C, "Silver bullion", 14.5, 5e8,
             (("gold", 1.3), ("global", 0.25)), 0.009),
        _Etf("USO", "AMEX", "commodity", _C, "WTI crude oil futures", 9.5, 1e9,
             (("energy_commodity", 1.0), ("global", 0.15)), 0.006),
        _Etf("DBC", "AMEX", "commodity", _C, "Diversified commodity futures", 15, 1.5e8,
             (("energy_commodity", 0.5), ("agri", 0.3), ("gold", 0.15)), 0.003),
        _Etf("IAU", "AMEX", "commodity", _C, "Gold bullion (low fee)", 12, 3e8,
             (("gold", 1.0),), 0.0006),
        _Etf("DBA", "ARCA", "commodity", _C, "Agricultural futures", 16, 5e7,
             (("agri", 1.0),), 0.004),
        _Etf("UNG", "AMEX", "commodity", _C, "Natural gas futures", 22, 3e8,
             (("energy_commodity", 0.3),), 0.028),
        _Etf("BNO", "AMEX", "commodity", _C, "Brent crude oil futures", 14, 3e7,
             (("energy_commodity", 1.0), ("global", 0.15)), 0.007),
        _Etf("PPLT", "AMEX", "commodity", _C, "Platinum bullion", 75, 2e7,
             (("gold", 0.7), ("global", 0.2)), 0.011),
        _Etf("PDBC", "ARCA", "commodity", _C, "Optimum-yield diversified commodities", 15, 1e8,
             (("energy_commodity", 0.55), ("agri", 0.25), ("gold", 0.15)), 0.003),
        _Etf("CORN", "ARCA", "commodity", _C, "Corn futures", 16, 1e7, (("agri", 1.1),), 0.01),
        _Etf("WEAT", "ARCA", "commodity", _C, "Wheat futures", 5.5, 1e7, (("agri", 1.0),), 0.012),
        _Etf("CPER", "ARCA", "commodity", _C, "Copper futures", 18, 1e7,
             (("global", 0.35), ("gold", 0.2)), 0.012),
        _Etf("DBB", "ARCA", "commodity", _C, "Base metals futures", 16, 1e7,
             (("global", 0.3), ("gold", 0.15)), 0.011),
    ),
    "sector": (
        *(
            _Etf(t, "AMEX", "sector", _E, f"US {s.name} sector", p, 8e8,
                 (("global", s.beta), (_sec(s.name), 1.0)), 0.0015)
            for t, s, p in zip(
                ("XLK", "XLV", "XLF", "XLY", "XLI", "XLC", "XLP", "XLE", "XLU", "XLRE", "XLB"),
                _SECTORS,
                (62, 86, 25, 100, 65, 45, 50, 57, 53, 32, 50),
                strict=True,
            )
        ),
        _Etf("SMH", "ARCA", "sector", _E, "US semiconductors", 90, 8e8,
             (("global", 1.3), (_sec(_IT), 1.0), (_ind(_IT, "Semiconductors"), 1.0)), 0.003),
        _Etf("IGV", "ARCA", "sector", _E, "US software", 190, 3e8,
             (("global", 1.2), (_sec(_IT), 1.0), (_ind(_IT, "Software"), 1.0)), 0.003),
        _Etf("XBI", "ARCA", "sector", _E, "US biotechnology (equal weight)", 70, 6e8,
             (("global", 1.0), (_sec(_HC), 1.0), (_ind(_HC, "Biotechnology"), 1.2)), 0.008),
        _Etf("IBB", "ARCA", "sector", _E, "US biotechnology", 105, 3e8,
             (("global", 0.9), (_sec(_HC), 1.0), (_ind(_HC, "Biotechnology"), 1.0)), 0.004),
        _Etf("KRE", "ARCA", "sector", _E, "US regional banks", 52, 5e8,
             (("global", 1.2), (_sec(_FIN), 1.2), (_ind(_FIN, "Banks"), 1.1)), 0.005),
        _Etf("KBE", "ARCA", "sector", _E, "US banks", 40, 1e8,
             (("global", 1.15), (_sec(_FIN), 1.1), (_ind(_FIN, "Banks"), 1.0)), 0.004),
        _Etf("XOP", "ARCA", "sector", _E, "US oil and gas exploration", 110, 4e8,
             (("global", 1.2), (_sec(_EN), 1.2), (_ind(_EN, "Oil Gas & Consumable Fuels"), 1.0),
              ("energy_commodity", 0.5)), 0.006),
        _Etf("OIH", "ARCA", "sector", _E, "US oil services", 300, 1e8,
             (("global", 1.25), (_sec(_EN), 1.2), (_ind(_EN, "Energy Equipment & Services"), 1.0),
              ("energy_commodity", 0.4)), 0.007),
        _Etf("ITB", "ARCA", "sector", _E, "US home construction", 32, 1e8,
             (("global", 1.2), (_sec(_CD), 0.9), (_ind(_CD, "Household Durables"), 1.0)), 0.006),
        _Etf("XRT", "ARCA", "sector", _E, "US retail", 42, 2e8,
             (("global", 1.15), (_sec(_CD), 1.0), (_ind(_CD, "Specialty Retail"), 1.0)), 0.005),
        _Etf("IYR", "ARCA", "sector", _E, "US real estate", 78, 4e8,
             (("global", 0.85), (_sec(_RE), 1.0)), 0.002),
        _Etf("VNQ", "ARCA", "sector", _E, "US REITs", 75, 4e8,
             (("global", 0.85), (_sec(_RE), 1.0)), 0.002),
        _Etf("XME", "ARCA", "sector", _E, "US metals and mining", 28, 1e8,
             (("global", 1.2), (_sec(_MAT), 1.2), (_ind(_MAT, "Metals & Mining"), 1.0),
              ("gold", 0.2)), 0.007),
        _Etf("ITA", "ARCA", "sector", _E, "US aerospace and defense", 190, 1e8,
             (("global", 1.0), (_sec(_INDU), 1.0), (_ind(_INDU, "Aerospace & Defense"), 1.0)),
             0.004),
    ),
    "country": (
        _Etf("EFA", "ARCA", "country", _E, "Developed markets ex US", 60, 1.2e9,
             (("global", 0.8), ("region:Europe", 0.6), ("region:Japan", 0.25)), 0.002),
        _Etf("EEM", "ARCA", "country", _E, "Emerging markets", 40, 1.5e9,
             (("global", 0.75), ("region:EM Asia", 0.6), ("region:China", 0.3),
              ("region:Latin America", 0.15)), 0.003),
        _Etf("VGK", "ARCA", "country", _E, "Europe", 52, 3e8,
             (("global", 0.8), ("region:Europe", 1.0)), 0.002),
        _Etf("EWJ", "ARCA", "country", _E, "Japan", 55, 4e8,
             (("global", 0.7), ("region:Japan", 1.0)), 0.003),
        _Etf("FXI", "ARCA", "country", _E, "China large caps", 40, 5e8,
             (("global", 0.6), ("region:China", 1.0)), 0.005),
        _Etf("EWZ", "ARCA", "country", _E, "Brazil", 38, 6e8,
             (("global", 0.8), ("region:Latin America", 1.1), ("energy_commodity", 0.15)), 0.009),
        _Etf("VWO", "ARCA", "country", _E, "Emerging markets (broad)", 40, 4e8,
             (("global", 0.75), ("region:EM Asia", 0.6), ("region:China", 0.3),
              ("region:Latin America", 0.15)), 0.003),
        _Etf("EZU", "AMEX", "country", _E, "Eurozone", 38, 2e8,
             (("global", 0.8), ("region:Europe", 1.05)), 0.002),
        _Etf("EWG", "AMEX", "country", _E, "Germany", 27, 1.5e8,
             (("global", 0.85), ("region:Europe", 1.05)), 0.004),
        _Etf("EWU", "AMEX", "country", _E, "United Kingdom", 32, 1e8,
             (("global", 0.75), ("region:Europe", 0.85)), 0.004),
        _Etf("EWY", "AMEX", "country", _E, "South Korea", 58, 2e8,
             (("global", 0.8), ("region:EM Asia", 1.0)), 0.006),
        _Etf("EWT", "AMEX", "country", _E, "Taiwan", 33, 1.5e8,
             (("global", 0.85), ("region:EM Asia", 1.0), (_sec(_IT), 0.3)), 0.006),
        _Etf("INDA", "AMEX", "country", _E, "India", 33, 2e8,
             (("global", 0.6), ("region:EM Asia", 0.7)), 0.007),
        _Etf("MCHI", "AMEX", "country", _E, "China (broad)", 55, 1.5e8,
             (("global", 0.65), ("region:China", 1.0)), 0.004),
        _Etf("EWC", "AMEX", "country", _E, "Canada", 27, 1e8,
             (("global", 0.8), ("region:Commodity Bloc", 1.0), ("energy_commodity", 0.15)),
             0.003),
        _Etf("EWA", "AMEX", "country", _E, "Australia", 21, 8e7,
             (("global", 0.75), ("region:Commodity Bloc", 1.0), ("gold", 0.1)), 0.004),
        _Etf("KWEB", "AMEX", "country", _E, "China internet", 45, 2e8,
             (("global", 0.7), ("region:China", 1.3), (_sec(_IT), 0.3)), 0.01),
        _Etf("EWW", "AMEX", "country", _E, "Mexico", 42, 1e8,
             (("global", 0.75), ("region:Latin America", 1.0)), 0.007),
        _Etf("EWQ", "AMEX", "country", _E, "France", 28, 3e7,
             (("global", 0.85), ("region:Europe", 1.0)), 0.004),
        _Etf("EWH", "AMEX", "country", _E, "Hong Kong", 23, 6e7,
             (("global", 0.6), ("region:China", 0.6), ("region:EM Asia", 0.3)), 0.006),
        _Etf("EWI", "AMEX", "country", _E, "Italy", 26, 3e7,
             (("global", 0.9), ("region:Europe", 1.1)), 0.006),
        _Etf("EWS", "AMEX", "country", _E, "Singapore", 22, 2e7,
             (("global", 0.65), ("region:EM Asia", 0.8)), 0.005),
        _Etf("EWP", "AMEX", "country", _E, "Spain", 26, 3e7,
             (("global", 0.85), ("region:Europe", 1.0)), 0.006),
        _Etf("EWL", "AMEX", "country", _E, "Switzerland", 33, 3e7,
             (("global", 0.7), ("region:Europe", 0.8)), 0.004),
        _Etf("EWN", "AMEX", "country", _E, "Netherlands", 29, 2e7,
             (("global", 0.9), ("region:Europe", 1.0)), 0.005),
    ),
}  # fmt: skip
#: Order in which ETF categories are drawn (round robin), so a small market keeps every class.
_ETF_ORDER = ("broad", "bond", "commodity", "sector", "country")

#: Coins by rank: ticker, name, price at the epoch (USD).
_COINS: tuple[tuple[str, str, float], ...] = (
    ("BTC", "Bitcoin", 3800.0), ("ETH", "Ethereum", 150.0), ("XRP", "XRP", 0.36),
    ("BNB", "BNB", 6.0), ("SOL", "Solana", 1.5), ("ADA", "Cardano", 0.04),
    ("DOGE", "Dogecoin", 0.0024), ("TRX", "TRON", 0.025), ("AVAX", "Avalanche", 10.0),
    ("LINK", "Chainlink", 0.4), ("DOT", "Polkadot", 4.0), ("LTC", "Litecoin", 32.0),
    ("BCH", "Bitcoin Cash", 160.0), ("XLM", "Stellar", 0.12), ("ATOM", "Cosmos", 5.0),
    ("UNI", "Uniswap", 3.0), ("ETC", "Ethereum Classic", 5.0), ("FIL", "Filecoin", 5.0),
    ("NEAR", "NEAR Protocol", 1.5), ("APT", "Aptos", 8.0), ("ARB", "Arbitrum", 1.2),
    ("OP", "Optimism", 1.5), ("AAVE", "Aave", 50.0), ("ALGO", "Algorand", 0.3),
    ("ICP", "Internet Computer", 10.0), ("HBAR", "Hedera", 0.05), ("VET", "VeChain", 0.005),
    ("SAND", "The Sandbox", 0.1), ("INJ", "Injective", 2.0), ("GRT", "The Graph", 0.1),
)  # fmt: skip


@dataclass(frozen=True)
class _Venue:
    exchange: str
    quote: str
    suffix: str
    share: float
    coverage: float
    basis_sd: float

    @property
    def instrument(self) -> str:
        return "perpetual" if self.suffix == ".P" else "spot"


_VENUES: tuple[_Venue, ...] = (
    _Venue("BINANCE", "USDT", "", 0.35, 1.0, 0.0007),
    _Venue("BINANCE", "USDT", ".P", 0.9, 1.0, 0.0015),
    _Venue("BYBIT", "USDT", "", 0.12, 0.85, 0.0008),
    _Venue("BYBIT", "USDT", ".P", 0.4, 0.6, 0.0015),
    _Venue("OKX", "USDT", "", 0.1, 0.7, 0.0008),
    _Venue("COINBASE", "USD", "", 0.12, 0.55, 0.001),
    _Venue("KRAKEN", "USD", "", 0.03, 0.4, 0.0012),
    _Venue("BITSTAMP", "USD", "", 0.015, 0.25, 0.0012),
)
#: Coins (by rank, Bitcoin excluded) also quoted in BTC on Binance.
_BTC_PAIRS = 10

#: Currencies by importance: code, USD value at the epoch, global beta, European-block beta,
#: own daily volatility.
_CURRENCIES: tuple[tuple[str, float, float, float, float], ...] = (
    ("USD", 1.0, -0.02, 0.0, 0.003), ("EUR", 1.14, 0.02, 0.9, 0.0022),
    ("JPY", 1 / 108, -0.12, 0.0, 0.004), ("GBP", 1.27, 0.04, 0.6, 0.0045),
    ("CHF", 1 / 0.99, -0.06, 0.8, 0.003), ("AUD", 0.70, 0.15, 0.0, 0.0045),
    ("CAD", 1 / 1.33, 0.08, 0.0, 0.003), ("NZD", 0.67, 0.14, 0.0, 0.0045),
    ("SEK", 1 / 9.0, 0.06, 0.7, 0.004), ("NOK", 1 / 8.6, 0.08, 0.6, 0.005),
    ("SGD", 1 / 1.36, 0.03, 0.0, 0.0018), ("HKD", 1 / 7.83, 0.0, 0.0, 0.0003),
    ("MXN", 1 / 19.5, 0.2, 0.0, 0.007), ("ZAR", 1 / 14.0, 0.25, 0.0, 0.009),
    ("PLN", 1 / 3.75, 0.08, 0.8, 0.005), ("TRY", 1 / 5.4, 0.15, 0.0, 0.011),
    ("CNH", 1 / 6.85, 0.02, 0.0, 0.002),
)  # fmt: skip
#: Market convention: the currency listed first in a pair is the one ranked first here.
_PAIR_ORDER = (
    "EUR", "GBP", "AUD", "NZD", "USD", "CAD", "CHF", "NOK", "SEK", "PLN", "SGD", "HKD", "CNH",
    "MXN", "ZAR", "TRY", "JPY",
)  # fmt: skip

#: Factor name -> (daily volatility in the NORMAL regime, Student-t degrees of freedom,
#: GARCH alpha, GARCH beta). Sector and industry factors are added from ``_SECTORS``.
_BASE_FACTORS: dict[str, tuple[float, float, float, float]] = {
    "global": (0.0095, 5.0, 0.07, 0.91),
    "rates": (0.0045, 6.0, 0.05, 0.93),
    "credit": (0.002, 5.0, 0.08, 0.90),
    "gold": (0.009, 5.0, 0.06, 0.92),
    "energy_commodity": (0.018, 5.0, 0.07, 0.91),
    "agri": (0.009, 6.0, 0.05, 0.92),
    "crypto": (0.03, 4.0, 0.10, 0.87),
    "region:Europe": (0.007, 5.0, 0.06, 0.92),
    "region:Japan": (0.007, 5.0, 0.06, 0.92),
    "region:China": (0.012, 5.0, 0.06, 0.92),
    "region:EM Asia": (0.008, 5.0, 0.06, 0.92),
    "region:Latin America": (0.012, 5.0, 0.06, 0.92),
    "region:Commodity Bloc": (0.006, 5.0, 0.06, 0.92),
    "fx:europe": (0.003, 6.0, 0.05, 0.93),
}


# --------------------------------------------------------------------------------------------
# Universe: factors, economic units and listings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    """An economic unit: its returns load on factors and add GARCH Student-t noise."""

    key: str
    exposures: tuple[tuple[str, float], ...]
    idio: float
    drift: float
    df: float
    ftq: float = 0.0
    alpha: float = 0.05
    beta: float = 0.92


@dataclass(frozen=True)
class _Model:
    """How a listing is served: its log price is ``unit[pos] - unit[neg] + basis``."""

    listing: Listing
    pos: str
    neg: str | None
    price: float
    log_dollar_volume: float
    basis_sd: float = 0.0
    gap_frac: float = 0.3
    open_noise: float = 0.12


@dataclass
class _Universe:
    factors: dict[str, tuple[float, float, float, float]]
    units: list[_Unit]
    models: list[_Model]
    coins: int = 0
    sector_counts: dict[str, int] = field(default_factory=dict)


def _stream(seed: int, *labels: str) -> np.random.Generator:
    """Return an independent generator for ``(seed, *labels)`` (stable across processes)."""
    text = "\x1f".join((str(seed), *labels))
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    words = np.frombuffer(digest[:16], dtype="<u4").astype(np.uint64)
    return np.random.default_rng(np.random.SeedSequence(words.tolist()))


def _allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` by ``weights`` (largest remainders), at least one each."""
    n = len(weights)
    if total < n:
        raise ConfigError(f"data.synthetic: {total} is fewer than the {n} groups to fill")
    raw = np.asarray(weights, dtype=float) / float(np.sum(weights)) * (total - n)
    base = np.floor(raw).astype(int)
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: (total - n) - int(base.sum())]] += 1
    return [int(b) + 1 for b in base]


def _letters_ticker(rng: np.random.Generator, length: int) -> str:
    return "".join(chr(ord("A") + int(i)) for i in rng.integers(0, 26, size=length))


def _reserved_tickers() -> set[str]:
    return {etf.ticker for group in _ETFS.values() for etf in group}


def _equities(settings: SyntheticSettings, taken: set[str]) -> tuple[list[_Unit], list[_Model]]:
    rng = _stream(settings.seed, "universe", "equities")
    counts = _allocate(settings.n_equities, [s.weight for s in _SECTORS])
    names: set[str] = set()
    units: list[_Unit] = []
    models: list[_Model] = []
    for sector, count in zip(_SECTORS, counts, strict=True):
        for _ in range(count):
            industry, suffixes = sector.industries[int(rng.integers(len(sector.industries)))]
            root = ""
            while not root or root in names:
                root = (
                    _ONSETS[int(rng.integers(len(_ONSETS)))]
                    + _CODAS[int(rng.integers(len(_CODAS)))]
                )
                if rng.random() < 0.3:
                    root += _CODAS[int(rng.integers(len(_CODAS)))]
            names.add(root)
            suffix = suffixes[int(rng.integers(len(suffixes)))]
            candidates = [root[:4].upper(), root[:3].upper(), (root[:2] + suffix[0]).upper()]
            ticker = next((c for c in candidates if c.isalpha() and c not in taken), "")
            while not ticker or ticker in taken:
                ticker = root[0].upper() + _letters_ticker(rng, int(rng.integers(2, 4)))
            taken.add(ticker)
            exchange = "NASDAQ" if rng.random() < sector.nasdaq_share else "NYSE"
            cap = float(
                np.clip(np.exp(rng.normal(math.log(1.5e10 * sector.cap_scale), 1.2)), 3e8, 3.5e12)
            )
            beta = float(np.clip(sector.beta + rng.normal(0.0, 0.2), 0.25, 2.2))
            s_load = float(np.clip(rng.normal(1.0, 0.25), 0.3, 1.8))
            i_load = float(np.clip(rng.normal(1.0, 0.3), 0.2, 2.0))
            idio_mult = 1.5 if industry == "Biotechnology" else 1.0
            idio = float(np.clip(0.007 * (cap / 1.5e10) ** -0.12 * idio_mult, 0.004, 0.03))
            exposures: list[tuple[str, float]] = [
                ("global", beta),
                (_sec(sector.name), s_load),
                (_ind(sector.name, industry), i_load),
            ]
            if sector.name == _EN:
                exposures.append(("energy_commodity", 0.35))
            if industry == "Metals & Mining":
                exposures.append(("gold", 0.25))
            symbol = f"{exchange}:{ticker}"
            name = f"{root} {suffix}"
            price = float(np.clip(np.exp(rng.normal(math.log(60.0), 0.8)), 3.0, 900.0))
            turnover = float(np.exp(rng.normal(math.log(0.006), 0.4)))
            units.append(
                _Unit(
                    symbol,
                    tuple(exposures),
                    idio,
                    float(rng.normal(0.0002, 0.00025)),
                    5.0,
                    alpha=0.05,
                    beta=0.92,
                )
            )
            models.append(
                _Model(
                    Listing(
                        symbol=symbol,
                        asset_class=AssetClass.EQUITY,
                        calendar=CalendarKind.NYSE,
                        description=(
                            f"{name}: a synthetic {industry.lower()} company "
                            f"({sector.name} sector), listed on {exchange}."
                        ),
                        sector=sector.name,
                        industry=industry,
                        market_cap=cap,
                        extra={"name": name},
                    ),
                    pos=symbol,
                    neg=None,
                    price=price,
                    log_dollar_volume=math.log(cap * turnover),
                )
            )
    return units, models


def _etf_specs(n_etfs: int, seed: int, taken: set[str]) -> list[_Etf]:
    queues = {k: list(_ETFS[k]) for k in _ETF_ORDER}
    chosen: list[_Etf] = []
    while len(chosen) < n_etfs and any(queues.values()):
        for key in _ETF_ORDER:
            if queues[key] and len(chosen) < n_etfs:
                chosen.append(queues[key].pop(0))
    rng = _stream(seed, "universe", "extra-etfs")
    k = 0
    while len(chosen) < n_etfs:  # more funds than the catalogue: sector tilts
        sector = _SECTORS[k % len(_SECTORS)]
        ticker = ""
        while not ticker or ticker in taken:
            ticker = "X" + _letters_ticker(rng, 3)
        taken.add(ticker)
        chosen.append(
            _Etf(
                ticker, "ARCA", "sector", AssetClass.ETF,
                f"US equities tilted to {sector.name}", 50.0, 5e7,
                (("global", 1.0), (_sec(sector.name), 0.8)), 0.003,
            )
        )  # fmt: skip
        k += 1
    return chosen


def _etfs(settings: SyntheticSettings, taken: set[str]) -> tuple[list[_Unit], list[_Model]]:
    units: list[_Unit] = []
    models: list[_Model] = []
    for etf in _etf_specs(settings.n_etfs, settings.seed, taken):
        symbol = f"{etf.exchange}:{etf.ticker}"
        units.append(
            _Unit(symbol, etf.exposures, etf.idio, etf.drift, 6.0, ftq=etf.ftq, alpha=0.04)
        )
        models.append(
            _Model(
                Listing(
                    symbol=symbol,
                    asset_class=etf.asset_class,
                    calendar=CalendarKind.NYSE,
                    description=f"{etf.description} (synthetic {etf.ticker}-like fund)",
                    extra={"category": etf.category},
                ),
                pos=symbol,
                neg=None,
                price=etf.price,
                log_dollar_volume=math.log(etf.dollar_volume),
                gap_frac=0.3,
                open_noise=0.08,
            )
        )
    return units, models


def _crypto(settings: SyntheticSettings) -> tuple[list[_Unit], list[_Model]]:
    rng = _stream(settings.seed, "universe", "crypto")
    n = settings.n_crypto_coins
    coins = list(_COINS[:n])
    taken = {c[0] for c in coins}
    while len(coins) < n:
        ticker = _letters_ticker(rng, 4)
        if ticker not in taken:
            taken.add(ticker)
            coins.append((ticker, f"{ticker.title()} Token", float(np.exp(rng.normal(0.0, 2.0)))))
    units: list[_Unit] = []
    models: list[_Model] = []
    for rank, (ticker, name, price) in enumerate(coins):
        beta = 1.2 if rank == 0 else float(np.clip(rng.normal(1.4, 0.2), 0.8, 2.0))
        c_load = 0.8 if rank == 0 else float(np.clip(rng.normal(1.1, 0.1), 0.8, 1.4))
        idio = 0.012 if rank == 0 else (0.02 if rank == 1 else 0.025 + 0.0007 * rank)
        drift = float(rng.normal(0.0005, 0.0008))
        cap = 1.2e12 * (rank + 1) ** -1.6
        key = f"coin:{ticker}"
        units.append(
            _Unit(
                key,
                (("global", beta), ("crypto", c_load)),
                idio,
                drift,
                4.0,
                alpha=0.08,
                beta=0.88,
            )
        )
        for venue in _VENUES:
            if rank >= max(1, math.ceil(venue.coverage * n)):
                continue
            symbol = f"{venue.exchange}:{ticker}{venue.quote}{venue.suffix}"
            models.append(
                _Model(
                    Listing(
                        symbol=symbol,
                        asset_class=AssetClass.CRYPTO,
                        calendar=CalendarKind.CRYPTO_24_7,
                        description=f"{name} / {venue.quote} {venue.instrument} on "
                        f"{venue.exchange} (synthetic)",
                        market_cap=cap,
                        base=ticker,
                        quote=venue.quote,
                        extra={"coin": ticker, "instrument": venue.instrument},
                    ),
                    pos=key,
                    neg=None,
                    price=price,
                    log_dollar_volume=math.log(cap * 0.03 * venue.share),
                    basis_sd=venue.basis_sd,
                    gap_frac=0.0,
                    open_noise=0.0,
                )
            )
        if 0 < rank <= _BTC_PAIRS:
            symbol = f"BINANCE:{ticker}BTC"
            models.append(
                _Model(
                    Listing(
                        symbol=symbol,
                        asset_class=AssetClass.CRYPTO,
                        calendar=CalendarKind.CRYPTO_24_7,
                        description=f"{name} / Bitcoin spot on BINANCE (synthetic)",
                        market_cap=cap,
                        base=ticker,
                        quote="BTC",
                        extra={"coin": ticker, "instrument": "spot"},
                    ),
                    pos=key,
                    neg=f"coin:{coins[0][0]}",
                    price=price / coins[0][2],
                    log_dollar_volume=math.log(cap * 0.03 * 0.03),
                    basis_sd=0.001,
                    gap_frac=0.0,
                    open_noise=0.0,
                )
            )
    return units, models


def _forex(settings: SyntheticSettings) -> tuple[list[_Unit], list[_Model]]:
    n = settings.n_forex
    codes = [c[0] for c in _CURRENCIES]
    m = 2
    while m * (m - 1) // 2 < n:
        m += 1
        if m > len(codes):
            limit = len(codes) * (len(codes) - 1) // 2
            raise ConfigError(f"data.synthetic.n_forex: at most {limit} pairs, got {n}")
    pairs = sorted(
        ((i, j) for j in range(m) for i in range(j)),
        key=lambda p: (max(p), 0 if 0 in p else 1, min(p)),
    )[:n]
    used = sorted({c for p in pairs for c in p})
    units = [
        _Unit(
            f"ccy:{codes[k]}",
            (("global", _CURRENCIES[k][2]), ("fx:europe", _CURRENCIES[k][3])),
            _CURRENCIES[k][4],
            0.0,
            6.0,
            alpha=0.05,
            beta=0.92,
        )
        for k in used
    ]
    models: list[_Model] = []
    for importance, (i, j) in enumerate(pairs):
        a, b = codes[i], codes[j]
        base, quote = (a, b) if _PAIR_ORDER.index(a) < _PAIR_ORDER.index(b) else (b, a)
        value = {c[0]: c[1] for c in _CURRENCIES}
        symbol = f"FX_IDC:{base}{quote}"
        models.append(
            _Model(
                Listing(
                    symbol=symbol,
                    asset_class=AssetClass.FOREX,
                    calendar=CalendarKind.FOREX_24_5,
                    description=f"{base}/{quote} spot exchange rate (synthetic)",
                    base=base,
                    quote=quote,
                ),
                pos=f"ccy:{base}",
                neg=f"ccy:{quote}",
                price=value[base] / value[quote],
                log_dollar_volume=math.log(5e9 / (1.0 + 0.3 * importance)),
                gap_frac=0.0,
                open_noise=0.03,
            )
        )
    return units, models


def _build_universe(settings: SyntheticSettings) -> _Universe:
    factors = dict(_BASE_FACTORS)
    for sector in _SECTORS:
        factors[_sec(sector.name)] = (sector.vol, 5.0, 0.07, 0.90)
        for industry, _ in sector.industries:
            factors[_ind(sector.name, industry)] = (1.0 * sector.vol, 5.0, 0.05, 0.90)
    taken = _reserved_tickers()
    parts = [
        _etfs(settings, taken),
        _equities(settings, taken),
        _crypto(settings),
        _forex(settings),
    ]
    units = [u for p in parts for u in p[0]]
    models = [m for p in parts for m in p[1]]
    symbols = [m.listing.symbol for m in models]
    if len(set(symbols)) != len(symbols):  # pragma: no cover - catalogue invariant
        dup = next(s for s, c in Counter(symbols).items() if c > 1)
        raise ConfigError(f"data.synthetic: duplicated symbol {dup}")
    sector_counts = Counter(m.listing.sector for m in models if m.listing.sector)
    return _Universe(factors, units, models, settings.n_crypto_coins, dict(sector_counts))


# --------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------


def _regime_chain(seed: int, n_days: int) -> IntArray:
    """Draw the regime index path (0 QUIET .. 3 CRISIS), starting NORMAL."""
    uniforms = _stream(seed, "regime").random(n_days)
    cumulative = np.cumsum(_TRANSITIONS, axis=1)
    cumulative[:, -1] = 1.0
    out = np.empty(n_days, dtype=np.int64)
    state = 1
    for t in range(n_days):
        state = int(np.searchsorted(cumulative[state], uniforms[t], side="right"))
        out[t] = state
    return out


def _student(rng: np.random.Generator, df: float, n: int) -> FloatArray:
    """Unit-variance Student-t draws, clipped at +-_SHOCK_CLIP."""
    draws = rng.standard_t(df, n) / math.sqrt(df / (df - 2.0))
    return np.clip(draws, -_SHOCK_CLIP, _SHOCK_CLIP)


def garch_filter(z: FloatArray, alpha: FloatArray, beta: FloatArray) -> FloatArray:
    """Filter unit-variance shocks through GARCH(1,1) recursions of unit long-run variance.

    ``e[t] = z[t] * sqrt(h[t])``, ``h[t+1] = min(1 - alpha - beta + alpha e[t]^2 + beta h[t],
    cap)``, ``h[0] = 1``: one loop over days, vectorised across series.

    Parameters
    ----------
    z : numpy.ndarray
        Shocks, days x series, unit variance.
    alpha, beta : numpy.ndarray
        Per-series coefficients, ``alpha + beta < 1``.

    Returns
    -------
    numpy.ndarray
        Volatility-clustered shocks of the same shape.
    """
    out = np.empty_like(z)
    omega = 1.0 - alpha - beta
    h = np.ones(z.shape[1])
    root = np.empty_like(h)
    for t in range(z.shape[0]):
        np.sqrt(h, out=root)
        row = out[t]
        np.multiply(z[t], root, out=row)
        h *= beta
        h += omega + alpha * row * row
        np.minimum(h, _GARCH_CAP, out=h)
    return out


def _basis(normals: FloatArray, sd: FloatArray) -> FloatArray:
    """Stationary AR(1) basis (days x listings) with standard deviation ``sd``, from day 0."""
    scale = math.sqrt(1.0 - _BASIS_RHO**2)
    shock = normals * (sd[None, :] * scale)
    out = np.empty_like(shock)
    out[0] = shock[0] / scale
    for t in range(1, shock.shape[0]):
        np.multiply(out[t - 1], _BASIS_RHO, out=out[t])
        out[t] += shock[t]
    return out


@dataclass
class _Group:
    """The served candles of the listings on one calendar."""

    kind: CalendarKind
    sessions: pd.DatetimeIndex
    ohlcv: FloatArray  # listings x sessions x 5


@dataclass
class _Market:
    days: pd.DatetimeIndex
    factor_returns: FloatArray
    groups: dict[CalendarKind, _Group]
    where: dict[str, tuple[CalendarKind, int]]


@dataclass(frozen=True)
class _FaultPlan:
    kind: FaultKind
    symbol: str
    phase: int = 0
    length: int = 0


def _unit_vols(universe: _Universe) -> dict[str, float]:
    vols = {}
    for unit in universe.units:
        var = unit.idio**2 + sum((w * universe.factors[f][0]) ** 2 for f, w in unit.exposures)
        vols[unit.key] = math.sqrt(var)
    return vols


def _factor_and_unit_returns(
    universe: _Universe, seed: int, n: int, regimes: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Simulate the factor and unit log-returns (calendar days x factors, days x units)."""
    factor_names = list(universe.factors)
    n_f, n_u = len(factor_names), len(universe.units)
    f_index = {name: k for k, name in enumerate(factor_names)}

    # shocks: factors then units, one stream each, indexed by calendar day from the epoch
    z = np.empty((n, n_f + n_u))
    alpha = np.empty(n_f + n_u)
    beta = np.empty(n_f + n_u)
    for k, name in enumerate(factor_names):
        _, df, alpha[k], beta[k] = universe.factors[name]
        z[:, k] = _student(_stream(seed, "factor", name), df, n)
    for k, unit in enumerate(universe.units):
        z[:, n_f + k] = _student(_stream(seed, "unit", unit.key), unit.df, n)
        alpha[n_f + k], beta[n_f + k] = unit.alpha, unit.beta
    shocks = garch_filter(z, alpha, beta)
    del z

    g = f_index["global"]
    f_vol = np.array([universe.factors[name][0] for name in factor_names])
    f_mult = np.tile(_FACTOR_VOL_MULT[:, None], (1, n_f))
    f_mult[:, g] = _GLOBAL_VOL_MULT
    factors = shocks[:, :n_f] * f_vol[None, :] * f_mult[regimes]
    factors[:, g] += _GLOBAL_DRIFT[regimes]

    # exposures as (slot, unit) -> factor column and weight; elementwise sums (not a BLAS
    # product, whose rounding depends on the matrix size) keep each day's value independent of
    # the length of the history
    slots = max(len(u.exposures) for u in universe.units)
    f_col = np.zeros((slots, n_u), dtype=np.int64)
    weight = np.zeros((slots, n_u))
    for k, unit in enumerate(universe.units):
        for e, (name, w) in enumerate(unit.exposures):
            f_col[e, k], weight[e, k] = f_index[name], w
    idio = np.array([u.idio for u in universe.units])
    drift = np.array([u.drift for u in universe.units])
    ftq = np.array([u.ftq for u in universe.units])
    units = factors[:, f_col[0]] * weight[0][None, :]
    for e in range(1, slots):
        units += factors[:, f_col[e]] * weight[e][None, :]
    units += shocks[:, n_f:] * idio[None, :] * _IDIO_VOL_MULT[regimes][:, None]
    units += drift[None, :]
    units += (factors[:, g] * _STRESS[regimes])[:, None] * ftq[None, :]
    return factors, units


def _listing_log_prices(
    universe: _Universe, units: FloatArray, kind_rows: Mapping[CalendarKind, IntArray]
) -> FloatArray:
    """Log prices (calendar days x listings) before basis: cumulated, damped on closed days."""
    n, n_u = units.shape
    u_index = {u.key: k for k, u in enumerate(universe.units)}
    models = universe.models
    extended = np.hstack([units, np.zeros((n, 1))])  # last column: "no unit"
    pos = np.array([u_index[m.pos] for m in models])
    neg = np.array([n_u if m.neg is None else u_index[m.neg] for m in models])
    log_ret = extended[:, pos] - extended[:, neg]
    del extended
    kinds = list(kind_rows)
    damp = np.empty((n, len(kinds)))
    for k, kind in enumerate(kinds):
        damp[:, k] = _CLOSED_DAY_SCALE[kind]
        damp[kind_rows[kind], k] = 1.0
    log_ret *= damp[:, [kinds.index(m.listing.calendar) for m in models]]
    log_price = np.cumsum(log_ret, axis=0)
    log_price += np.log([m.price for m in models])[None, :]
    return log_price


def _group_candles(
    universe: _Universe,
    seed: int,
    log_price: FloatArray,
    cols: IntArray,
    rows: IntArray,
    regimes: IntArray,
) -> FloatArray:
    """OHLCV (listings x sessions x 5) of the listings ``cols`` on the session rows ``rows``."""
    n = log_price.shape[0]
    models = [universe.models[int(c)] for c in cols]
    unit_vol = _unit_vols(universe)
    vol = np.array([math.hypot(unit_vol[m.pos], unit_vol[m.neg] if m.neg else 0.0) for m in models])
    gap_frac = np.array([m.gap_frac for m in models])[:, None]
    open_noise = (np.array([m.open_noise for m in models]) * vol)[:, None]
    log_dv = np.array([m.log_dollar_volume for m in models])[:, None]
    basis_sd = np.array([m.basis_sd for m in models])

    # per-listing noise by calendar day: 0 open, 1 high, 2 low, 3 volume, 4 basis
    noise = np.empty((len(models), n, 5))
    for j, m in enumerate(models):
        noise[j] = _stream(seed, "listing", m.listing.symbol).standard_normal((n, 5))
    lp = log_price[:, cols]
    with_basis = np.flatnonzero(basis_sd > 0)
    if with_basis.size:
        lp[:, with_basis] += _basis(noise[with_basis, :, 4].T, basis_sd[with_basis])
    lc = lp[rows].T  # listings x sessions
    nz = noise[:, rows, :4]
    del noise, lp
    ret = np.zeros_like(lc)
    ret[:, 1:] = np.diff(lc, axis=1)
    v = vol[:, None]
    lo = lc - ret + gap_frac * ret + open_noise * nz[:, :, 0]
    spread = 0.5 * v * _IDIO_VOL_MULT[regimes[rows]][None, :]
    ohlcv = np.empty((len(models), rows.size, 5))
    ohlcv[:, :, 0] = np.exp(lo)
    ohlcv[:, :, 1] = np.exp(np.maximum(lo, lc) + np.abs(nz[:, :, 1]) * spread)
    ohlcv[:, :, 2] = np.exp(np.minimum(lo, lc) - np.abs(nz[:, :, 2]) * spread)
    ohlcv[:, :, 3] = np.exp(lc)
    lv = log_dv - lc + 0.3 * nz[:, :, 3]
    lv += 0.35 * np.minimum(np.abs(ret) / v, 6.0) + _VOLUME_REGIME[regimes[rows]][None, :]
    ohlcv[:, :, 4] = np.round(np.exp(lv), 2)
    return ohlcv


def _simulate(
    universe: _Universe,
    seed: int,
    days: pd.DatetimeIndex,
    regimes: IntArray,
    spikes: Mapping[str, _FaultPlan],
) -> _Market:
    """Simulate the whole market from the epoch to ``days[-1]`` (vectorised across listings)."""
    factors, units = _factor_and_unit_returns(universe, seed, len(days), regimes)
    models = universe.models
    kinds = sorted({m.listing.calendar for m in models}, key=list(CalendarKind).index)
    kind_rows = {
        kind: np.searchsorted(days.asi8, sessions(kind, days[0], days[-1]).asi8) for kind in kinds
    }
    log_price = _listing_log_prices(universe, units, kind_rows)
    del units
    groups: dict[CalendarKind, _Group] = {}
    where: dict[str, tuple[CalendarKind, int]] = {}
    for kind in kinds:
        rows = kind_rows[kind]
        cols = np.array([c for c, m in enumerate(models) if m.listing.calendar is kind])
        ohlcv = _group_candles(universe, seed, log_price, cols, rows, regimes)
        for j, c in enumerate(cols):
            symbol = models[int(c)].listing.symbol
            where[symbol] = (kind, j)
            plan = spikes.get(symbol)
            if plan is not None:
                at = np.flatnonzero((np.arange(rows.size) - plan.phase) % SPIKE_PERIOD == 0)
                ohlcv[j, at, 3] *= SPIKE_FACTOR
                ohlcv[j, at, 1] = np.maximum(ohlcv[j, at, 1], ohlcv[j, at, 3])
        groups[kind] = _Group(kind, pd.DatetimeIndex(days[rows]), ohlcv)
    return _Market(days, factors, groups, where)


# --------------------------------------------------------------------------------------------
# The provider
# --------------------------------------------------------------------------------------------


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
        self._universe = _build_universe(settings)
        self._models = {m.listing.symbol: m for m in self._universe.models}
        self._listings = tuple(
            sorted((m.listing for m in self._universe.models), key=lambda x: x.symbol)
        )
        self._plans = self._plan_faults()
        self._regimes = _regime_chain(settings.seed, self._horizon_days)
        self._market: _Market | None = None
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
        frame = pd.DataFrame(group.ohlcv[col, rows], columns=list(_OHLCV))
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
        labels = np.array([r.value for r in _REGIMES], dtype=object)
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

    def _model(self, symbol: str) -> _Model:
        try:
            return self._models[symbol]
        except KeyError:
            raise UnknownSymbolError(
                f"synthetic provider: unknown symbol {symbol!r}"
                + ("" if ":" in str(symbol) else " (expected EXCHANGE:TICKER)")
            ) from None

    @staticmethod
    def _missing(rows: IntArray, plan: _FaultPlan) -> npt.NDArray[np.bool_]:
        return np.asarray((rows - plan.phase) % GAP_PERIOD < plan.length)

    def _plan_faults(self) -> dict[tuple[FaultKind, str], _FaultPlan]:
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
        rng = _stream(self.settings.seed, "faults")
        order = rng.permutation(len(eligible))
        plans: dict[tuple[FaultKind, str], _FaultPlan] = {}
        k = 0
        for kind, count in wanted:
            for _ in range(count):
                symbol = eligible[int(order[k])]
                k += 1
                if kind is FaultKind.MISSING_BARS:
                    plan = _FaultPlan(
                        kind,
                        symbol,
                        int(rng.integers(GAP_PERIOD)),
                        int(rng.integers(GAP_LENGTH[0], GAP_LENGTH[1] + 1)),
                    )
                elif kind is FaultKind.SPIKES:
                    plan = _FaultPlan(kind, symbol, int(rng.integers(1, SPIKE_PERIOD)))
                elif kind is FaultKind.STALE_LISTINGS:
                    lag = int(rng.integers(STALE_LAG[0], STALE_LAG[1] + 1))
                    plan = _FaultPlan(kind, symbol, 0, lag)
                else:
                    plan = _FaultPlan(kind, symbol)
                plans[(kind, symbol)] = plan
        return plans

    def _ensure_market(self) -> _Market:
        if self._market is None:
            with self._lock:
                if self._market is None:
                    days = pd.date_range(self._epoch, self._as_of, freq="D")
                    days = pd.DatetimeIndex(np.asarray(days, dtype="datetime64[ns]"))
                    spikes = {
                        p.symbol: p for (k, _), p in self._plans.items() if k is FaultKind.SPIKES
                    }
                    self._market = _simulate(
                        self._universe,
                        self.settings.seed,
                        days,
                        self._regimes[: len(days)],
                        spikes,
                    )
        return self._market


__all__ = [
    "GAP_PERIOD",
    "MARKET_SYMBOL",
    "SPIKE_FACTOR",
    "SPIKE_PERIOD",
    "STALE_LAG",
    "FaultKind",
    "FaultRecord",
    "SyntheticProvider",
]
