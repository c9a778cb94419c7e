"""The manifest: pydantic models, profile inheritance and overrides.

The models live in :mod:`clusterfolio.manifest.settings`, the loading in
:mod:`clusterfolio.manifest.loading`; both are re-exported here.

Precedence, lowest first:

1. ``defaults`` in ``configs/manifest.json``;
2. the profile chain (``extends``), base profile first;
3. environment variables ``CLUSTERFOLIO__SECTION__KEY=value``;
4. command-line ``--set section.key=value`` (the Makefile turns ``PROFILE``, ``TOP_N``,
   ``THRESHOLD``, ``LOOKBACK``, ``STRICT_HEALTH``, ``BACKFILL``, ``GAPFILL``, ``PROVIDER``
   into ``--set``).

Every value is validated by the models (``extra="forbid"``): an unknown key or a bad value is a
:class:`~clusterfolio.errors.ConfigError` naming the key and the allowed keys or values.
"""

from __future__ import annotations

from clusterfolio.manifest.loading import (
    ENV_PREFIX,
    deep_merge,
    env_overrides,
    load,
    load_manifest_file,
    manifest_json_schema,
    parse_override,
    resolve,
)
from clusterfolio.manifest.settings import (
    DEFAULT_PROFILES,
    AlphaScoreWeights,
    BacktestSettings,
    DataSettings,
    DiscoverySettings,
    ExecutionScoreWeights,
    FaultSettings,
    FeatureFlags,
    FilesSettings,
    LotRule,
    ManifestFile,
    PortfolioSettings,
    ProfileSpec,
    PublishSettings,
    RaySettings,
    RegimeSettings,
    ResolvedManifest,
    RiskSettings,
    RunSettings,
    ScoringSettings,
    SelectionSettings,
    Settings,
    SyntheticSettings,
    TournamentSettings,
    TradingViewSettings,
)

__all__ = [
    "DEFAULT_PROFILES",
    "ENV_PREFIX",
    "AlphaScoreWeights",
    "BacktestSettings",
    "DataSettings",
    "DiscoverySettings",
    "ExecutionScoreWeights",
    "FaultSettings",
    "FeatureFlags",
    "FilesSettings",
    "LotRule",
    "ManifestFile",
    "PortfolioSettings",
    "ProfileSpec",
    "PublishSettings",
    "RaySettings",
    "RegimeSettings",
    "ResolvedManifest",
    "RiskSettings",
    "RunSettings",
    "ScoringSettings",
    "SelectionSettings",
    "Settings",
    "SyntheticSettings",
    "TournamentSettings",
    "TradingViewSettings",
    "deep_merge",
    "env_overrides",
    "load",
    "load_manifest_file",
    "manifest_json_schema",
    "parse_override",
    "resolve",
]
