"""Exception families: data errors, configuration errors and optimisation errors are separate."""

from __future__ import annotations


class ClusterfolioError(Exception):
    """Base class of every error raised on purpose by clusterfolio."""


class ConfigError(ClusterfolioError):
    """The manifest, a profile or an override is invalid (the message names the key)."""


class DataError(ClusterfolioError):
    """Input data is unusable (the message names the file, symbol or row)."""


class SchemaError(DataError):
    """A table lacks required columns or has values of the wrong type."""


class CorruptFileError(DataError):
    """A stored file cannot be read (truncated or corrupt)."""


class ProviderError(DataError):
    """A data provider failed to deliver (after its retries)."""


class UnknownSymbolError(ProviderError):
    """A provider does not know the requested symbol."""


class HealthError(DataError):
    """The health gate failed under ``strict_health``."""


class OptimizationError(ClusterfolioError):
    """An optimisation problem could not be solved."""


class InfeasibleError(OptimizationError):
    """An optimisation problem is infeasible under its constraints."""


class PipelineError(ClusterfolioError):
    """The orchestrator cannot run as asked (unknown step, missing artifact, bad resume)."""


class RunRefusedError(PipelineError):
    """A command refused a run: another holds the project lock, or the run failed, is running
    or is stale (exit code 1, like an audit refusal)."""


class AuditError(ClusterfolioError):
    """The audit gate failed: the portfolio must not be implemented."""


class PublishError(ClusterfolioError):
    """Publishing to the Gist failed (access, remote, empty summaries)."""


def disk_error(exc: OSError) -> ClusterfolioError:
    """One line for a filesystem failure (read-only or full disk, permissions), naming the path."""
    where = f" {exc.filename}" if exc.filename else ""
    return ClusterfolioError(
        f"cannot write{where}: {exc.strerror or exc} (read-only or full disk?)"
    )
