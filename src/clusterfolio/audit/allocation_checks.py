"""Audit checks on how a profile was allocated, read from its recorded diagnostics.

``cap_effect`` (warn; profiles whose allocator records ``diagnostics.<allocator>.cap_effect``,
``hrp`` and the ``barbell`` core)
    The caps moved the profile at most :data:`~clusterfolio.optimize.cap_effect.MAX_CAP_MOVE` in
    L1 from its unbounded allocation (:mod:`clusterfolio.optimize.cap_effect`). Above it, the caps
    rather than the profile decided most of the weights: the warning names the assets the caps cut
    and those that received the excess, with their volatility and share of the risk, so a PM can
    judge whether the profile still is what its name says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clusterfolio.artifacts.portfolio import recorded_cap_effect
from clusterfolio.audit.findings import AuditCheck
from clusterfolio.audit.profile_view import make_check
from clusterfolio.enums import CheckSeverity
from clusterfolio.optimize.cap_effect import MAX_CAP_MOVE, caps_decided, describe_cap_effect

__all__ = ["check_cap_effect"]


def check_cap_effect(profile: str, section: Mapping[str, Any]) -> AuditCheck | None:
    """The ``cap_effect`` check of one profile (``None`` when its allocator records none)."""
    recorded = recorded_cap_effect(section)
    if recorded is None:
        return None
    allocator, effect = recorded
    evidence = {"allocator": allocator, "limit": MAX_CAP_MOVE, **effect}
    passed = not caps_decided(effect)
    message = describe_cap_effect(effect, allocator)
    return make_check("cap_effect", profile, passed, message, evidence, CheckSeverity.WARN)
