"""A profile section of ``portfolio_optimized.json`` as the audit reads it (leniently).

The audit reads the document as stored: a weight that is not a number becomes NaN (a breach the
checks report), a row that is not an object is skipped, fallbacks are typed records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clusterfolio.artifacts.fallbacks import Fallback, FallbackKind, fallbacks_of
from clusterfolio.artifacts.portfolio import section_assets
from clusterfolio.audit.findings import AuditCheck
from clusterfolio.enums import CheckSeverity, Direction


def num(value: Any) -> float:
    """A float, or NaN for anything that is not a real number (``None``, strings, bools)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return math.nan
    return float(value)


@dataclass(frozen=True)
class Asset:
    """One asset row of a profile (NaN for a weight that is not a number)."""

    symbol: str
    gross: float
    net: float
    cluster: int | None
    direction: str


def assets_of(section: Mapping[str, Any]) -> list[Asset]:
    """The asset rows of a profile section (rows that are not objects are skipped)."""
    out = []
    for row in section_assets(section):
        cluster = row.get("cluster")
        out.append(
            Asset(
                symbol=str(row.get("symbol") or ""),
                gross=num(row.get("gross")),
                net=num(row.get("net")),
                cluster=int(cluster)
                if isinstance(cluster, int | str) and str(cluster).lstrip("-").isdigit()
                else None,
                direction=str(row.get("direction", Direction.LONG.value)),
            )
        )
    return out


def held_assets(assets: Sequence[Asset]) -> list[Asset]:
    """The assets with a finite, positive gross weight."""
    return [a for a in assets if math.isfinite(a.gross) and a.gross > 0]


def fallbacks_in(section: Mapping[str, Any]) -> list[Fallback]:
    """The fallbacks of a profile and the cap relaxations of its diagnostics."""
    found = fallbacks_of(section.get("fallbacks"))
    diagnostics = section.get("diagnostics")
    if isinstance(diagnostics, Mapping):
        found += fallbacks_of(diagnostics.get("cap_relaxations"))
    return found


def recorded_relaxations(section: Mapping[str, Any], cap: str) -> list[dict[str, Any]]:
    """Recorded relaxations of ``cap`` (deduplicated: fallbacks and diagnostics repeat them)."""
    seen: dict[tuple[float, float, str], dict[str, Any]] = {}
    for record in fallbacks_in(section):
        if not record.is_kind(FallbackKind.CAP_RELAXATION) or record.get("cap") != cap:
            continue
        to = num(record.get("to"))
        if not math.isfinite(to):
            continue
        key = (num(record.get("from")), to, record.detail or "")
        seen[key] = {"from": key[0], "to": to, "detail": key[2]}
    return [seen[k] for k in sorted(seen, key=lambda k: (k[1], k[2]))]


def make_check(
    name: str,
    profile: str,
    passed: bool,
    message: str,
    evidence: dict[str, Any],
    severity: CheckSeverity = CheckSeverity.FAIL,
) -> AuditCheck:
    """An :class:`AuditCheck` (severity ``fail`` unless told)."""
    return AuditCheck(name, profile, severity, bool(passed), message, evidence)
