"""The optimised portfolio (step 11): ``portfolio_optimized.json``.

One document per run: the as-of date, regime, baseline, caps, the risk buckets, and one section
per profile (assets with gross and net weights, cluster totals, exposures, solver, allocation
level, fallbacks, diagnostics). :class:`PortfolioDocument` is its schema: the optimisation step
writes through :func:`write_portfolio`, which validates the document before writing it (the bytes
are those of the plain document). Readers go through :func:`read_portfolio` and the
accessors :func:`profiles_of`, :func:`profile_section`, :func:`section_assets` and
:func:`section_clusters`, which tolerate a malformed document (an absent or mistyped part reads
as empty); the audit reads the document as stored (a malformed weight is one of its findings, not
a read error).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from clusterfolio.errors import CorruptFileError
from clusterfolio.io import atomic_write_json, read_json

__all__ = [
    "PORTFOLIO",
    "PortfolioAsset",
    "PortfolioDocument",
    "ProfileSection",
    "profile_section",
    "profiles_of",
    "read_portfolio",
    "recorded_cap_effect",
    "section_assets",
    "section_clusters",
    "write_portfolio",
]

PORTFOLIO = "portfolio_optimized.json"


class PortfolioAsset(BaseModel):
    """One held asset of a profile (extra keys allowed: sector, identity, alternatives ...)."""

    model_config = ConfigDict(extra="allow")

    symbol: str
    gross: float
    net: float
    direction: str
    cluster: int | None = None


class ClusterTotals(BaseModel):
    """Gross and net weight of one cluster in a profile."""

    model_config = ConfigDict(extra="forbid")

    gross: float
    net: float


class ProfileSection(BaseModel):
    """The section of one profile."""

    model_config = ConfigDict(extra="allow")

    assets: list[PortfolioAsset]
    clusters: dict[str, ClusterTotals]
    gross_exposure: float
    net_exposure: float
    solver: str
    allocation_level: str
    fallbacks: list[dict[str, Any]]
    diagnostics: dict[str, Any]


class PortfolioDocument(BaseModel):
    """The whole ``portfolio_optimized.json``."""

    model_config = ConfigDict(extra="forbid")

    as_of: str
    regime: str
    baseline: str
    cluster_cap: float
    asset_cap: float
    turnover_penalty: bool
    clusters: list[dict[str, Any]]
    profiles: dict[str, ProfileSection]


def write_portfolio(path: Path, doc: dict[str, Any]) -> None:
    """Validate ``doc`` against :class:`PortfolioDocument` and write it atomically."""
    try:
        PortfolioDocument.model_validate(doc)
    except ValidationError as exc:
        raise ValueError(f"{path}: the portfolio document breaks its schema: {exc}") from exc
    atomic_write_json(path, doc)


def read_portfolio(run_dir: Path) -> dict[str, Any] | None:
    """The document as stored (``None`` when the run has none)."""
    path = Path(run_dir) / PORTFOLIO
    if not path.is_file():
        return None
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise CorruptFileError(f"{path}: not a JSON object")
    return doc


def profiles_of(doc: Mapping[str, Any] | None) -> dict[str, Any]:
    """The profile sections of a document, by profile name (empty for none)."""
    if not doc:
        return {}
    raw = doc.get("profiles")
    return raw if isinstance(raw, dict) else {}


def profile_section(doc: Mapping[str, Any] | None, profile: str) -> dict[str, Any]:
    """The section of ``profile`` (empty when the document or the profile is absent)."""
    section = profiles_of(doc).get(profile)
    return section if isinstance(section, dict) else {}


def section_assets(section: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The asset rows of a profile section in their stored order (rows that are not objects are
    left out; empty when the section has no ``assets`` list)."""
    raw = (section or {}).get("assets")
    return [row for row in raw if isinstance(row, dict)] if isinstance(raw, list) else []


def section_clusters(section: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The cluster totals (``gross``, ``net``) of a profile section, by cluster id."""
    raw = (section or {}).get("clusters")
    if not isinstance(raw, dict):
        return {}
    return {str(cid): totals for cid, totals in raw.items() if isinstance(totals, dict)}


def recorded_cap_effect(section: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]] | None:
    """``(allocator, cap_effect)`` recorded in a profile section's diagnostics (``None``: none;
    see :mod:`clusterfolio.optimize.cap_effect`)."""
    diagnostics = (section or {}).get("diagnostics")
    if not isinstance(diagnostics, Mapping):
        return None
    for allocator, block in diagnostics.items():
        if isinstance(block, Mapping) and isinstance(block.get("cap_effect"), Mapping):
            return str(allocator), dict(block["cap_effect"])
    return None
