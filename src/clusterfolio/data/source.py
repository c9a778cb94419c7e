"""The identity of a candle source, and the lakehouse namespace it owns.

Two runs share stored candles only when their source is the same: the same provider and the same
settings that decide its data. A synthetic market is defined by its seed, start, size and
injected faults; a ``files`` provider by its resolved root, file patterns and column map;
TradingView by its price adjustment. Each source gets a namespace (a folder) under the lakehouse
root, ``<provider>-<key>``, and every candle file it writes carries the key in its Parquet
metadata, so a run reads and writes only its own source's series.

Layout of the lakehouse root::

    data/lakehouse/
      portfolio_actual_state.json        the accepted state (shared by every source)
      synthetic-3f9a0c1d2e4b/            one namespace per source: candle files, sync state
      files-0b1c2d3e4f5a/
      quarantine/<namespace>/            corrupt files moved aside, each with a .reason.txt
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clusterfolio.enums import ProviderName
from clusterfolio.io import canonical_json, sha256_text
from clusterfolio.manifest import DataSettings

__all__ = ["QUARANTINE_DIR", "SourceIdentity", "source_identity"]

#: Folder under the lakehouse root that receives corrupt files (one sub-folder per namespace).
QUARANTINE_DIR = "quarantine"
_KEY_CHARS = 12


@dataclass(frozen=True)
class SourceIdentity:
    """A candle source: provider and the parameters that decide its data.

    Attributes
    ----------
    provider : ProviderName
        The provider.
    params : dict
        What defines the data (JSON-ready).
    """

    provider: ProviderName
    params: dict[str, Any]

    @property
    def key(self) -> str:
        """Short hash of provider and parameters (stored in every candle file)."""
        payload = canonical_json({"provider": self.provider.value, "params": self.params})
        return sha256_text(payload)[:_KEY_CHARS]

    @property
    def namespace(self) -> str:
        """Folder name of the source's series under the lakehouse root."""
        return f"{self.provider.value}-{self.key}"

    def describe(self) -> str:
        """One line naming the source (for messages)."""
        return f"{self.namespace} {json.dumps(self.params, sort_keys=True)}"


def source_identity(data: DataSettings, resolve: Callable[[str], Path]) -> SourceIdentity:
    """Return the identity of the source ``data`` configures.

    Parameters
    ----------
    data : DataSettings
        The ``data`` section of the settings.
    resolve : callable
        Resolves a manifest path against the project (the files root).

    Returns
    -------
    SourceIdentity
    """
    if data.provider is ProviderName.SYNTHETIC:
        params: dict[str, Any] = data.synthetic.model_dump(mode="json")
    elif data.provider is ProviderName.FILES:
        files = data.files
        params = {
            "root": resolve(files.root).resolve().as_posix(),
            "patterns": list(files.patterns),
            "column_map": dict(sorted(files.column_map.items())),
        }
    else:
        params = {"adjustment": data.tradingview.adjustment}
    return SourceIdentity(provider=data.provider, params=params)
