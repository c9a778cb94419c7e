"""Builds the provider named by ``data.provider`` from the data settings (imported lazily).

The protocol every provider implements is :class:`clusterfolio.data.provider.Provider`; this
module only chooses and constructs one. It takes the settings it needs, not a run context, so
``data`` stays below ``pipeline``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from clusterfolio.enums import ProviderName
from clusterfolio.errors import ConfigError

if TYPE_CHECKING:
    from clusterfolio.data.provider import Provider
    from clusterfolio.manifest import DataSettings

__all__ = ["make_provider"]


def make_provider(data: DataSettings, *, as_of: date, project_root: Path) -> Provider:
    """Return the provider of ``data.provider``.

    Parameters
    ----------
    data : DataSettings
        The ``data`` section of the resolved settings.
    as_of : date
        The run's as-of date (the synthetic market ends there).
    project_root : Path
        Relative paths of the files provider resolve against it.

    Returns
    -------
    Provider
        The synthetic, files or TradingView provider.

    Raises
    ------
    ConfigError
        An unknown provider name.
    """
    if data.provider is ProviderName.SYNTHETIC:
        from clusterfolio.data.synthetic import SyntheticProvider

        return SyntheticProvider(data.synthetic, as_of=as_of)
    if data.provider is ProviderName.FILES:
        from clusterfolio.data.files import FilesProvider

        return FilesProvider(data.files, root_dir=project_root)
    if data.provider is ProviderName.TRADINGVIEW:
        from clusterfolio.data.tradingview.provider import TradingViewProvider

        return TradingViewProvider(data.tradingview)
    raise ConfigError(f"data.provider: unknown provider {data.provider!r}")  # pragma: no cover
