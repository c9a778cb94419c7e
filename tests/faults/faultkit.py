"""Test doubles of the fault suite: fingerprints of stored bytes, a tiny synthetic market."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from clusterfolio.data.lakehouse import Lakehouse
from clusterfolio.data.source import SourceIdentity, source_identity
from clusterfolio.data.synthetic import SyntheticProvider
from clusterfolio.manifest import DataSettings

AS_OF = date(2026, 11, 20)
SYMBOLS = ("AMEX:SPY", "NYSE:CORI", "BINANCE:BTCUSDT")


def fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (relative path -> digest)."""
    if not folder.exists():
        return {}
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def tiny_data(seed: int = 7, n_equities: int = 11) -> DataSettings:
    """A small synthetic market (``n_equities`` changes the source)."""
    data = DataSettings()
    data.synthetic.seed = seed
    data.synthetic.n_equities = n_equities
    data.synthetic.n_etfs = 4
    data.synthetic.n_crypto_coins = 2
    data.synthetic.n_forex = 2
    return data


def source_of(data: DataSettings, root: Path) -> SourceIdentity:
    """Identity of ``data``'s source, paths resolved against ``root``."""
    return source_identity(data, lambda v: root / v)


def store_for(lake_root: Path, source: SourceIdentity) -> Lakehouse:
    """The lakehouse namespace of ``source`` (as a run builds it)."""
    return Lakehouse(
        lake_root / source.namespace,
        source=source.key,
        quarantine_root=lake_root / "quarantine" / source.namespace,
    )


def provider_for(data: DataSettings) -> SyntheticProvider:
    """The synthetic provider of ``data``."""
    return SyntheticProvider(data.synthetic, as_of=AS_OF)
