"""The explicit run context handed to every step (no globals)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clusterfolio.artifacts.encoding import record
from clusterfolio.artifacts.fallbacks import Fallback
from clusterfolio.io import atomic_write_text, canonical_json
from clusterfolio.manifest import ResolvedManifest, Settings
from clusterfolio.pipeline.reads import ReadSet

if TYPE_CHECKING:
    from clusterfolio.data.provider import Provider
    from clusterfolio.data.source import SourceIdentity


@dataclass
class Decision:
    """One entry of the decision trail: what happened to ``subject`` and why."""

    step: str
    subject: str
    action: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary (its fields in order)."""
        return record(self)


@dataclass
class StepRecorder:
    """Collects a step's decisions, warnings, fallbacks and counts for the ledger."""

    step: str
    decisions: list[Decision] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fallbacks: list[Fallback] = field(default_factory=list)
    counts: dict[str, int | float] = field(default_factory=dict)

    def decide(self, subject: str, action: str, reason: str, **details: Any) -> None:
        """Record a decision about ``subject`` (a symbol, identity, cluster or profile)."""
        self.decisions.append(Decision(self.step, subject, action, reason, dict(details)))

    def warn(self, message: str) -> None:
        """Record a warning shown in the ledger and the reports."""
        self.warnings.append(message)

    def fallback(self, kind: str, detail: str, **extra: Any) -> None:
        """Record a fallback (solver, relaxation, repair ...): never silent."""
        self.fallbacks.append(Fallback(kind, detail, extra))
        self.decide(kind, "fallback", detail, **extra)
        self.warnings.append(f"fallback {kind}: {detail}")


@dataclass
class RunContext:
    """Everything a step may use: resolved manifest, folders, provider, date, seed, logger.

    Parameters
    ----------
    manifest : ResolvedManifest
        The resolved profile.
    run_id : str
        Identifier of the run (folder name under ``runs_dir``).
    run_dir : Path
        The run's artifact folder.
    project_root : Path
        Root that relative paths of the manifest are resolved against.
    as_of : date
        Decision date; nothing after it is used.
    logger : logging.Logger
        The run's logger (also writes ``run.log``).
    provider_factory : callable
        Builds the provider on first use (so steps that need none never touch it).
    reads : ReadSet
        What the step read from the lakehouse (windows per listing, gaps asked): recorded by the
        data steps, signed into the ledger, checked by a same-day rerun
        (:mod:`clusterfolio.pipeline.reads`).
    """

    manifest: ResolvedManifest
    run_id: str
    run_dir: Path
    project_root: Path
    as_of: date
    logger: logging.Logger
    provider_factory: Callable[[RunContext], Provider]
    recorder: StepRecorder = field(default_factory=lambda: StepRecorder("none"))
    progress: Callable[[str, int, int], None] | None = None
    data_signature: str = ""
    config_root: Path | None = None
    reads: ReadSet = field(default_factory=ReadSet)
    _provider: Provider | None = None

    @property
    def settings(self) -> Settings:
        """The resolved settings."""
        return self.manifest.settings

    @property
    def seed(self) -> int:
        """The run's seed."""
        return self.settings.run.seed

    @property
    def lakehouse_root(self) -> Path:
        """Folder of the candle cache and the accepted state."""
        return self.resolve_path(self.settings.data.lakehouse)

    @property
    def source(self) -> SourceIdentity:
        """Identity of the run's candle source (see :mod:`clusterfolio.data.source`)."""
        from clusterfolio.data.source import source_identity

        return source_identity(self.settings.data, self.resolve_path)

    @property
    def candle_root(self) -> Path:
        """The source's own namespace of the lakehouse: candle files and sync state."""
        return self.lakehouse_root / self.source.namespace

    @property
    def quarantine_root(self) -> Path:
        """Where the source's corrupt candle files are moved, each with its reason."""
        from clusterfolio.data.source import QUARANTINE_DIR

        return self.lakehouse_root / QUARANTINE_DIR / self.source.namespace

    def resolve_config_path(self, value: str | Path) -> Path:
        """Resolve a configuration path (scanners ...) against the manifest's project."""
        path = Path(value)
        return path if path.is_absolute() else (self.config_root or self.project_root) / path

    def resolve_path(self, value: str | Path) -> Path:
        """Resolve a manifest path against the project root (URIs are left alone by callers)."""
        path = Path(value)
        return path if path.is_absolute() else self.project_root / path

    @property
    def provider(self) -> Provider:
        """The data provider, built on first use."""
        if self._provider is None:
            self._provider = self.provider_factory(self)
        return self._provider

    def artifact(self, name: str) -> Path:
        """Path of an artifact of this run."""
        return self.run_dir / name

    def tick(self, label: str, done: int, total: int) -> None:
        """Report per-item progress (per symbol, per window ...)."""
        if self.progress is not None:
            self.progress(label, done, total)


def write_decisions(path: Path, decisions: list[Decision]) -> None:
    """Write decisions as JSON lines, atomically and deterministically."""
    text = "".join(
        canonical_json(d.as_dict()).replace("\n", "").replace("  ", "") + "\n" for d in decisions
    )
    atomic_write_text(path, text)


def default_provider(ctx: RunContext) -> Provider:
    """The provider of ``ctx.settings.data.provider``, built from the settings it needs.

    The run context's usual ``provider_factory``: :func:`clusterfolio.data.provider_factory.make_provider`
    receives the data settings, the as-of date and the project root, never the context.

    Parameters
    ----------
    ctx : RunContext
        The run.

    Returns
    -------
    Provider
    """
    from clusterfolio.data.provider_factory import make_provider

    return make_provider(ctx.settings.data, as_of=ctx.as_of, project_root=ctx.project_root)


class RunProviders:
    """The provider factory of one run: the synthetic market is built once for all its steps.

    Every step gets its own :class:`RunContext`, and :func:`default_provider` builds a new
    provider for each; the synthetic provider simulates its whole market on the first candles
    asked (about 10 s of CPU and 0.5 GB at 5,000 listings), so a run whose discovery, deep pass
    and tournament history all ask for candles would simulate it three times. This factory
    keeps the synthetic provider of each (market settings, as-of date) for the steps after the
    first; the other providers are built per step, as before. One instance serves one run (the
    orchestrator holds it): nothing is shared between runs.
    """

    def __init__(self) -> None:
        self._synthetic: dict[tuple[str, str], Provider] = {}

    def __call__(self, ctx: RunContext) -> Provider:
        """Return the provider of ``ctx`` (see the class docstring)."""
        from clusterfolio.enums import ProviderName

        data = ctx.settings.data
        if data.provider is not ProviderName.SYNTHETIC:
            return default_provider(ctx)
        key = (data.synthetic.model_dump_json(), ctx.as_of.isoformat())
        if key not in self._synthetic:
            self._synthetic[key] = default_provider(ctx)
        return self._synthetic[key]
