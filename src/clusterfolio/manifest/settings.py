"""The settings models of the manifest: one pydantic model per section, the profiles, the file.

Every model forbids unknown keys (``extra="forbid"``); :mod:`clusterfolio.manifest.loading`
merges the layers and turns a validation error into a :class:`~clusterfolio.errors.ConfigError`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from clusterfolio.enums import (
    AssetClass,
    BaselineFallback,
    EngineName,
    ExecutorName,
    ProfileName,
    ProviderName,
    Regime,
    SimulatorName,
    UniverseMode,
)
from clusterfolio.io import canonical_json, sha256_text

DEFAULT_PROFILES: tuple[ProfileName, ...] = (
    ProfileName.MIN_VARIANCE,
    ProfileName.HRP,
    ProfileName.MAX_SHARPE,
    ProfileName.BARBELL,
    ProfileName.RISK_PARITY,
    ProfileName.EQUAL_WEIGHT,
    ProfileName.MARKET,
)
"""The seven profiles solved (``risk.profiles``) and raced (``tournament.profiles``) by default."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=False)


class FaultSettings(_Model):
    """Fault injection of the synthetic market (exercises detection and repair)."""

    missing_bars: int = Field(4, ge=0, description="listings with a run of missing bars")
    stale_listings: int = Field(2, ge=0, description="listings whose history stops early")
    spikes: int = Field(2, ge=0, description="listings with a one-bar spike that reverts")
    duplicated_rows: int = Field(2, ge=0, description="listings served with a duplicated session")


class SyntheticSettings(_Model):
    """The embedded deterministic market."""

    seed: int = 7
    start: str = Field("2019-01-02", description="first session generated (fixed epoch)")
    n_equities: int = Field(600, ge=11, description="US equities over the 11 GICS sectors")
    n_etfs: int = Field(
        100, ge=4, description="funds (equity, bond, commodity); beyond the catalogue: sector tilts"
    )
    n_crypto_coins: int = Field(
        50, ge=2, description="coins; each is listed on up to eight venues (spot, perpetual, BTC)"
    )
    n_forex: int = Field(28, ge=2, description="forex pairs among 17 currencies (at most 136)")
    faults: FaultSettings = FaultSettings()


class FilesSettings(_Model):
    """The ``files`` provider: a folder of CSV or Parquet candles."""

    root: str = "../shared/data"
    patterns: list[str] = Field(
        default_factory=lambda: [
            "etfs/m6_universe/*.csv.gz",
            "crypto/cryptodatadownload/*/*.csv.gz",
            "forex/yahoo/*.csv.gz",
            "crypto/tradingview/*.parquet",
        ]
    )
    column_map: dict[str, str] = Field(default_factory=dict, description="source -> canonical")
    default_exchange: str = Field(
        "",
        description="exchange of files whose name states none (AAPL.csv); empty: FILES",
    )
    symbol_columns: list[str] = Field(
        default_factory=lambda: ["symbol", "ticker", "name"],
        description="columns naming the listing in a long (tidy) file, case-insensitive",
    )
    layout: Literal["auto", "per_symbol", "long", "wide"] = Field(
        "auto", description="file layout; auto detects it per file (recorded)"
    )


class TradingViewSettings(_Model):
    """The ``tradingview`` provider (scanner over HTTP, candles over the chart websocket)."""

    scanner_url: str = "https://scanner.tradingview.com"
    websocket_url: str = "wss://data.tradingview.com/socket.io/websocket"
    token_env: str = "TRADINGVIEW_TOKEN"
    adjustment: Literal["splits", "dividends"] = "splits"
    timeout_s: float = Field(20.0, gt=0)
    max_retries: int = Field(5, ge=0)
    backoff_base_s: float = Field(0.5, ge=0)
    backoff_max_s: float = Field(20.0, ge=0)
    rate_limit_per_s: float = Field(5.0, gt=0)
    concurrency: int = Field(4, ge=1)
    bars_per_request: int = Field(5000, ge=10)
    page_size: int = Field(500, ge=1)


class DataSettings(_Model):
    """Data acquisition, lakehouse and health."""

    provider: ProviderName = ProviderName.SYNTHETIC
    lakehouse: str = "data/lakehouse"
    lookback_days: int = Field(500, ge=20, description="deep pass sessions")
    light_lookback_days: int = Field(60, ge=10, description="light pass sessions")
    strict_health: bool = False
    min_days_floor: int = Field(40, ge=1, description="fewer sessions than this: MISSING")
    backfill: bool = True
    gapfill: bool = True
    max_ffill_sessions: int = Field(0, ge=0, description="bounded forward fill (0: never)")
    stale_tolerance_sessions: int = Field(1, ge=0)
    spike_zscore: float = Field(12.0, gt=0)
    corporate_action_move: dict[str, float] = Field(
        default_factory=lambda: {
            "equity": 0.4,
            "etf": 0.4,
            "bond": 0.4,
            "commodity": 0.4,
            "index": 0.4,
            "forex": 0.4,
            "crypto": 0.75,
        },
        description="one-session |return| above which a move that does not revert is a "
        "SUSPECT_CORPORATE_ACTION, per asset class",
    )
    recover_attempts: int = Field(3, ge=1)
    synthetic: SyntheticSettings = SyntheticSettings()
    files: FilesSettings = FilesSettings()
    tradingview: TradingViewSettings = TradingViewSettings()


def _component_weight(description: str) -> Any:
    """A score component's weight field: 0.25 by default, finite and non-negative."""
    return Field(0.25, ge=0, allow_inf_nan=False, description=description)


class AlphaScoreWeights(_Model):
    """Weights of the raw pool's alpha score components (not renormalised; see
    :mod:`clusterfolio.discovery.scoring`)."""

    liquidity: float = _component_weight("weight of the liquidity component")
    trend: float = _component_weight("weight of the trend component")
    volatility: float = _component_weight("weight of the (low) volatility component")
    performance: float = _component_weight("weight of the 1- and 3-month performance")


class ExecutionScoreWeights(_Model):
    """Weights of the Execution Intelligence score components (not renormalised; see
    :mod:`clusterfolio.selection.execution`)."""

    momentum: float = _component_weight("weight of the risk-adjusted momentum")
    stability: float = _component_weight("weight of stability (inverse vol, drawdown)")
    convexity: float = _component_weight("weight of convexity (skew, tail ratio)")
    liquidity: float = _component_weight("weight of liquidity (value traded, ATR)")


class ScoringSettings(_Model):
    """Weights of the two scores that rank candidates (each component weighted 0.25 by default)."""

    alpha: AlphaScoreWeights = Field(
        default_factory=AlphaScoreWeights,
        description="the raw pool's alpha score (step 3; the tournament's windows too)",
    )
    execution: ExecutionScoreWeights = Field(
        default_factory=ExecutionScoreWeights,
        description="the Execution Intelligence score of natural selection (step 5, the windows)",
    )


class DiscoverySettings(_Model):
    """Scanners and the raw pool."""

    scanners_dir: str = "configs/scanners"
    scanners: list[str] = Field(default_factory=list, description="names; empty means all")
    max_per_class: dict[str, int] = Field(
        default_factory=lambda: {
            "equity": 520,
            "etf": 120,
            "bond": 60,
            "commodity": 40,
            "crypto": 120,
            "forex": 60,
        }
    )
    min_value_traded: float = Field(0.0, ge=0)
    history_days: int = Field(
        400, ge=30, description="calendar days of candles behind the screener columns"
    )


class SelectionSettings(_Model):
    """Natural selection on the light pass."""

    top_n: int = Field(3, ge=1)
    threshold: float = Field(0.4, gt=0, le=2.0)
    min_overlap: int = Field(20, ge=2)
    momentum_gate: float = Field(-0.5, description="minimum 60-day return kept")
    max_winners: int = Field(40, ge=2, description="global cap (~40 diverse winners)")


class RegimeSettings(_Model):
    """Regime detection thresholds on the composite score (0 calm .. 1 stressed).

    Calibrated against the synthetic market's recorded regime path (thresholds fitted on seeds
    1-12, checked on seeds 13-24) and on real shocks; see ``docs/regime-calibration.md``.
    """

    window: int = Field(60, ge=20)
    short_window: int = Field(20, ge=2, description="fast volatility window (<= window)")
    baseline: int = Field(250, ge=40)
    level_history: int = Field(1000, ge=1, description="sessions behind the volatility level")
    persistence: int = Field(3, ge=1, description="sessions a new label must hold")
    quiet_below: float = 0.35
    turbulent_above: float = 0.47
    crisis_above: float = 0.61
    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "vol_ratio": 0.07,
            "vol_level": 0.17,
            "turbulence": 0.03,
            "vol_clustering": 0.03,
            "entropy": 0.03,
            "dispersion": 0.5,
            "drawdown": 0.17,
        }
    )


class RiskSettings(_Model):
    """Factor analysis, regime and optimisation."""

    lookbacks: list[int] = Field(default_factory=lambda: [60, 120, 200])
    base_threshold: float = Field(0.5, gt=0)
    threshold_by_regime: dict[Regime, float] = Field(
        default_factory=lambda: {
            Regime.QUIET: 1.15,
            Regime.NORMAL: 1.0,
            Regime.TURBULENT: 0.9,
            Regime.CRISIS: 0.8,
        },
        description="multiplier of base_threshold",
    )
    cluster_cap: float = Field(0.25, gt=0, le=1)
    asset_cap: float = Field(0.15, gt=0, le=1)
    fragility_penalty: float = Field(0.5, ge=0)
    risk_free_rate: float = 0.0
    beta_threshold: float = Field(0.8, ge=0)
    barbell_aggressor_share: dict[Regime, float] = Field(
        default_factory=lambda: {
            Regime.QUIET: 0.15,
            Regime.NORMAL: 0.10,
            Regime.TURBULENT: 0.07,
            Regime.CRISIS: 0.05,
        }
    )
    barbell_aggressors: int = Field(3, ge=1)
    within_cluster_momentum_weight: float = Field(0.3, ge=0, le=1)
    profiles: list[ProfileName] = Field(default_factory=lambda: list(DEFAULT_PROFILES))
    regime: RegimeSettings = RegimeSettings()


class BacktestSettings(_Model):
    """Walk-forward windows and frictions."""

    train: int = Field(252, ge=20)
    test: int = Field(20, ge=1)
    step: int = Field(20, ge=1)
    realized_target: int | None = Field(
        None,
        ge=1,
        description=(
            "test sessions the walk-forward covers (the last windows); null: every window that "
            "fits in the history (backtest.history_days)"
        ),
    )
    slippage: float = Field(0.0005, ge=0)
    commission: float = Field(0.0001, ge=0)
    baseline: str = Field(
        "AMEX:SPY", description="market baseline: a symbol, or universe_equal_weight"
    )
    baseline_fallback: BaselineFallback = Field(
        BaselineFallback.CANDIDATE_OR_UNIVERSE,
        description="files provider, configured baseline absent: error, candidate (SPY, IVV, "
        "VOO ...), or candidate else universe_equal_weight; the choice is recorded",
    )
    baseline_requested: str = Field(
        "", description="set by the run: the configured baseline when it was replaced"
    )
    universe: UniverseMode = Field(
        UniverseMode.POINT_IN_TIME,
        description=(
            "point_in_time: every window re-runs the screens, the raw pool and natural "
            "selection on data up to its training end; as_of_winners: the as-of winners and "
            "directions in every window (look-ahead, flagged in every report)"
        ),
    )
    reselect_every: int = Field(
        3,
        ge=1,
        description=(
            "point_in_time: windows between two universe choices (screens, raw pool, natural "
            "selection); the windows in between keep the last universe chosen before them"
        ),
    )
    reference_sessions: int | None = Field(
        200,
        ge=1,
        description=(
            "test sessions the cvxportfolio reference simulator replays (the latest windows, "
            "compared with our realized simulator over the same span); null: all"
        ),
    )
    history_days: int = Field(
        1095,
        ge=60,
        description=(
            "calendar days of history before the as-of date the point-in-time walk-forward "
            "covers (training of the first window included); the screens read "
            "discovery.history_days more before each training end"
        ),
    )
    plausibility_sharpe_excess: float = Field(
        1.5,
        gt=0,
        description=(
            "flag a tournament row as suspicious when its out-of-sample Sharpe exceeds the "
            "market baseline's by more than this (annualised Sharpe units)"
        ),
    )
    plausibility_sharpe_max: float = Field(
        3.0,
        gt=0,
        description="flag a tournament row as suspicious when its out-of-sample Sharpe exceeds this",
    )


class RaySettings(_Model):
    """The Ray cluster of ``tournament.executor: ray``."""

    address: str | None = Field(
        None,
        description=(
            "address of a running Ray cluster to join (the head's host:port, as printed by "
            "`ray start --head`, or ray://host:10001); the RAY_ADDRESS environment variable wins "
            "over it; null: a local Ray with tournament.n_jobs CPUs is started for the run"
        ),
    )


class TournamentSettings(_Model):
    """Engines x profiles x simulators."""

    engines: list[EngineName] = Field(default_factory=lambda: list(EngineName))
    profiles: list[ProfileName] = Field(default_factory=lambda: list(DEFAULT_PROFILES))
    simulators: list[SimulatorName] = Field(default_factory=lambda: list(SimulatorName))
    executor: ExecutorName = ExecutorName.LOCAL
    n_jobs: int = Field(2, ge=1)
    ray: RaySettings = Field(default_factory=RaySettings)
    peer_budget_seconds: float | None = Field(
        10.0,
        gt=0,
        description=(
            "seconds a peer engine's fit (skfolio, riskfolio, pyportfolioopt, cvxportfolio) may "
            "take in one window; it runs in a worker process that is killed at the deadline and "
            "the window is recorded as timeout (null: fits run inline, without a budget)"
        ),
    )
    peer_max_timeouts: int = Field(
        2,
        ge=0,
        description=(
            "after this many consecutive timeouts of one engine and profile, its later windows "
            "are recorded as timeout without a fit (0: every window is tried)"
        ),
    )


class PublishSettings(_Model):
    """Gist publishing."""

    enabled: bool = False
    gist_id: str = ""
    remote: str = ""
    allow_empty: bool = False
    branch: str = "main"


class FeatureFlags(_Model):
    """Feature flags of the 2026 roll-out."""

    feat_turnover_penalty: bool = False
    feat_partial_rebalance: bool = False
    feat_xs_momentum: bool = False
    feat_spectral_regimes: bool = False
    feat_decay_audit: bool = False


class RunSettings(_Model):
    """Run directories and reproducibility."""

    runs_dir: str = "data/runs"
    summaries_dir: str = "summaries"
    retention: int = Field(10, ge=1)
    seed: int = 42
    accepted_profile: ProfileName = ProfileName.HRP


class LotRule(_Model):
    """How one asset class trades: the lot size and the smallest order worth sending."""

    lot_size: float = Field(1.0, gt=0, description="quantities are multiples of this")
    min_trade_value: float = Field(
        0.0, ge=0, description="an order below this value (base currency) is not sent"
    )


def _default_lots() -> dict[AssetClass, LotRule]:
    return {
        AssetClass.EQUITY: LotRule(lot_size=1.0, min_trade_value=100.0),
        AssetClass.ETF: LotRule(lot_size=1.0, min_trade_value=100.0),
        AssetClass.BOND: LotRule(lot_size=1.0, min_trade_value=100.0),
        AssetClass.COMMODITY: LotRule(lot_size=1.0, min_trade_value=100.0),
        AssetClass.INDEX: LotRule(lot_size=1.0, min_trade_value=100.0),
        AssetClass.CRYPTO: LotRule(lot_size=0.0001, min_trade_value=50.0),
        AssetClass.FOREX: LotRule(lot_size=1000.0, min_trade_value=1000.0),
    }


class PortfolioSettings(_Model):
    """The money behind the weights: capital, base currency and how each asset class trades."""

    capital: float = Field(1_000_000.0, gt=0, description="portfolio value in base currency")
    base_currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    fractional_units: bool = Field(
        False, description="quantities are not rounded to lots (smallest step 1e-6)"
    )
    lots: dict[AssetClass, LotRule] = Field(default_factory=_default_lots)


class Settings(_Model):
    """A fully resolved configuration."""

    data: DataSettings = DataSettings()
    discovery: DiscoverySettings = DiscoverySettings()
    selection: SelectionSettings = SelectionSettings()
    scoring: ScoringSettings = ScoringSettings()
    risk: RiskSettings = RiskSettings()
    backtest: BacktestSettings = BacktestSettings()
    tournament: TournamentSettings = TournamentSettings()
    publish: PublishSettings = PublishSettings()
    features: FeatureFlags = FeatureFlags()
    run: RunSettings = RunSettings()
    portfolio: PortfolioSettings = PortfolioSettings()


class ProfileSpec(_Model):
    """A named profile: overrides on top of its parent (``extends``) or of the defaults."""

    description: str = ""
    extends: str | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)
    reasons: dict[str, str] = Field(
        default_factory=dict,
        description="why an override has its value (key: the override's dotted key)",
    )

    @model_validator(mode="after")
    def _reasons_name_overrides(self) -> ProfileSpec:
        stray = sorted(set(self.reasons) - set(self.overrides))
        if stray:
            raise ValueError(f"reasons for keys that are not overrides: {stray}")
        return self


class ManifestFile(_Model):
    """The on-disk manifest ``configs/manifest.json``."""

    schema_: str | None = Field(None, alias="$schema")
    default_profile: str
    defaults: dict[str, Any] = Field(default_factory=dict)
    profiles: dict[str, ProfileSpec]


class ResolvedManifest(_Model):
    """A profile resolved with its overrides, ready for a run."""

    profile: str
    settings: Settings
    overrides: list[str] = Field(default_factory=list)

    @property
    def config_hash(self) -> str:
        """SHA-256 of the canonical JSON of the resolved settings."""
        return sha256_text(canonical_json(self.settings.model_dump(mode="json")))
