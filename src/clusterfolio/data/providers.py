"""Builds the provider named by ``data.provider`` (imported lazily)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clusterfolio.enums import ProviderName
from clusterfolio.errors import ConfigError

if TYPE_CHECKING:
    from clusterfolio.data.provider import Provider
    from clusterfolio.pipeline.context import RunContext


def make_provider(ctx: RunContext) -> Provider:
    """Return the provider of ``ctx.settings.data.provider`` for the run's as-of date."""
    data = ctx.settings.data
    if data.provider is ProviderName.SYNTHETIC:
        from clusterfolio.data.synthetic import SyntheticProvider

        return SyntheticProvider(data.synthetic, as_of=ctx.as_of)
    if data.provider is ProviderName.FILES:
        from clusterfolio.data.files import FilesProvider

        return FilesProvider(data.files, root_dir=ctx.project_root)
    if data.provider is ProviderName.TRADINGVIEW:
        from clusterfolio.data.tradingview.provider import TradingViewProvider

        return TradingViewProvider(data.tradingview)
    raise ConfigError(f"data.provider: unknown provider {data.provider!r}")  # pragma: no cover
