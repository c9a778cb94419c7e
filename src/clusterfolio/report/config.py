"""What the reports need to know about the run besides its artifacts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clusterfolio.enums import EngineName, ProfileName, SimulatorName
from clusterfolio.manifest import Settings

__all__ = ["ReportConfig"]


@dataclass(frozen=True)
class ReportConfig:
    """Settings of the run that shape the reports.

    Parameters
    ----------
    run_id, as_of, manifest_profile : str
        Identity of the run (shown in the headers; never a wall-clock time).
    baseline : str
        The market baseline symbol (``backtest.baseline``).
    accepted_profile : str
        The profile implemented by ``accept-state`` (``run.accepted_profile``), highlighted.
    profiles : tuple of str
        The risk profiles of the run (``risk.profiles``), in order.
    decay_audit : bool
        ``features.feat_decay_audit``.
    slippage, commission : float
        The realized simulator's frictions (``backtest``), quoted in the tournament reports.
    use_quantstats : bool or None
        Tear-sheet statistics through ``quantstats.stats`` (None: when it is installed).
    """

    run_id: str = ""
    as_of: str = ""
    manifest_profile: str = ""
    baseline: str = "AMEX:SPY"
    accepted_profile: str = ProfileName.HRP.value
    profiles: tuple[str, ...] = field(
        default_factory=lambda: tuple(p.value for p in Settings().risk.profiles)
    )
    decay_audit: bool = False
    slippage: float = 0.0005
    commission: float = 0.0001
    use_quantstats: bool | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        run_id: str = "",
        as_of: str = "",
        manifest_profile: str = "",
        use_quantstats: bool | None = None,
    ) -> ReportConfig:
        """Build the configuration from resolved settings."""
        return cls(
            run_id=run_id,
            as_of=as_of,
            manifest_profile=manifest_profile,
            baseline=settings.backtest.baseline,
            accepted_profile=settings.run.accepted_profile.value,
            profiles=tuple(p.value for p in settings.risk.profiles),
            decay_audit=settings.features.feat_decay_audit,
            slippage=settings.backtest.slippage,
            commission=settings.backtest.commission,
            use_quantstats=use_quantstats,
        )

    @classmethod
    def from_ledger(
        cls, ledger: dict[str, Any], *, use_quantstats: bool | None = None
    ) -> ReportConfig:
        """Build the configuration from a run ledger (``run_manifest.json``).

        The few settings the reports need are read from the ledger's resolved settings one by
        one (defaults where absent), so the ledger of a run made by an older or newer version of
        the manifest models still renders.
        """
        raw = ledger.get("settings") or {}
        defaults = Settings()

        def get(section: str, key: str, default: Any) -> Any:
            block = raw.get(section) if isinstance(raw, dict) else None
            return block.get(key, default) if isinstance(block, dict) else default

        profiles = get("risk", "profiles", [p.value for p in defaults.risk.profiles])
        return cls(
            run_id=str(ledger.get("run_id", "")),
            as_of=str(ledger.get("as_of", "")),
            manifest_profile=str(ledger.get("profile", "")),
            baseline=str(get("backtest", "baseline", defaults.backtest.baseline)),
            accepted_profile=str(
                get("run", "accepted_profile", defaults.run.accepted_profile.value)
            ),
            profiles=tuple(str(p) for p in profiles),
            decay_audit=bool(get("features", "feat_decay_audit", False)),
            slippage=float(get("backtest", "slippage", defaults.backtest.slippage)),
            commission=float(get("backtest", "commission", defaults.backtest.commission)),
            use_quantstats=use_quantstats,
        )

    @property
    def production_profiles(self) -> tuple[str, ...]:
        """The run's profiles without the market (whose tear sheet is the market row)."""
        return tuple(p for p in self.profiles if p != ProfileName.MARKET.value)

    @property
    def essential_combinations(self) -> tuple[tuple[str, str, str], ...]:
        """``(engine, profile, simulator)`` of the essential tear sheets.

        The custom engine on every production profile with the realized simulator, plus the
        market engine's market profile with the realized simulator.
        """
        realized = SimulatorName.REALIZED.value
        out = [(EngineName.CUSTOM.value, p, realized) for p in self.production_profiles]
        out.append((EngineName.MARKET.value, ProfileName.MARKET.value, realized))
        return tuple(out)
