"""Enumerations shared across the package (no magic strings)."""

from __future__ import annotations

from enum import StrEnum


class AssetClass(StrEnum):
    """Broad asset class of a listing."""

    EQUITY = "equity"
    ETF = "etf"
    BOND = "bond"
    COMMODITY = "commodity"
    CRYPTO = "crypto"
    FOREX = "forex"
    INDEX = "index"


class Direction(StrEnum):
    """Direction of a candidate: LONG holds the asset, SHORT holds its negation."""

    LONG = "LONG"
    SHORT = "SHORT"

    @property
    def sign(self) -> int:
        """Return +1 for LONG and -1 for SHORT."""
        return 1 if self is Direction.LONG else -1


class Side(StrEnum):
    """What a drift line asks for: the side of an order (``HOLD``: no order)."""

    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"


class CalendarKind(StrEnum):
    """Trading calendar family of a listing."""

    NYSE = "XNYS"
    LSE = "XLON"
    CRYPTO_24_7 = "24/7"
    FOREX_24_5 = "24/5"


class ProviderName(StrEnum):
    """Data providers."""

    SYNTHETIC = "synthetic"
    FILES = "files"
    TRADINGVIEW = "tradingview"


class BaselineFallback(StrEnum):
    """What a run does when ``backtest.baseline`` is not among the provider's listings."""

    #: Stop with an error naming the setting and the candidates found.
    ERROR = "error"
    #: Use the first broad-market candidate found (SPY, IVV, VOO ...); error when none.
    CANDIDATE = "candidate"
    #: A candidate, else the equal-weighted universe the provider serves.
    CANDIDATE_OR_UNIVERSE = "candidate_or_universe"


class StepStatus(StrEnum):
    """Ledger status of a pipeline step."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    SKIPPED = "skipped"
    FAILED = "failed"
    STALE = "stale"


class HealthStatus(StrEnum):
    """Health verdict of one listing."""

    OK = "OK"
    STALE = "STALE"
    MISSING = "MISSING"
    GAPPED = "GAPPED"
    ANOMALOUS = "ANOMALOUS"


class CheckSeverity(StrEnum):
    """How serious a breach of a portfolio audit check is."""

    FAIL = "fail"
    WARN = "warn"


class CheckStatus(StrEnum):
    """Outcome of an audit check: it passed, or it did not and is a warning or a failure."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


class Regime(StrEnum):
    """Market regime labels, calmest first."""

    QUIET = "QUIET"
    NORMAL = "NORMAL"
    TURBULENT = "TURBULENT"
    CRISIS = "CRISIS"


class ProfileName(StrEnum):
    """Risk profiles produced by the optimiser."""

    MIN_VARIANCE = "min_variance"
    HRP = "hrp"
    RISK_PARITY = "risk_parity"
    MAX_SHARPE = "max_sharpe"
    BARBELL = "barbell"
    EQUAL_WEIGHT = "equal_weight"
    MARKET = "market"


class EngineName(StrEnum):
    """Optimisation engines of the tournament."""

    CUSTOM = "custom"
    SKFOLIO = "skfolio"
    RISKFOLIO = "riskfolio"
    PYPORTFOLIOOPT = "pyportfolioopt"
    CVXPORTFOLIO = "cvxportfolio"
    MARKET = "market"


class SimulatorName(StrEnum):
    """Backtest simulators of the tournament."""

    IDEALIZED = "idealized"
    REALIZED = "realized"
    CVXPORTFOLIO = "cvxportfolio"


class ExecutorName(StrEnum):
    """Executors for the tournament."""

    LOCAL = "local"
    RAY = "ray"


class UniverseMode(StrEnum):
    """Where each walk-forward window's universe and directions come from."""

    POINT_IN_TIME = "point_in_time"
    """Re-decided in every window from data up to its training end (screens, pool, selection)."""
    AS_OF_WINNERS = "as_of_winners"
    """The as-of ``winners.json`` in every window: look-ahead, labelled in every report."""


class StepName(StrEnum):
    """The 13 steps of the Golden Path, in order."""

    CLEANUP = "cleanup"
    DISCOVERY = "discovery"
    AGGREGATION = "aggregation"
    LIGHT_PREP = "light_prep"
    NATURAL_SELECTION = "natural_selection"
    ENRICHMENT = "enrichment"
    DEEP_PREP = "deep_prep"
    HEALTH_AUDIT = "health_audit"
    FACTOR_ANALYSIS = "factor_analysis"
    REGIME_DETECTION = "regime_detection"
    OPTIMIZATION = "optimization"
    VALIDATION = "validation"
    REPORTING = "reporting"
