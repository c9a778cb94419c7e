"""The result of one profile: weights, how they were obtained, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from clusterfolio.artifacts.encoding import jsonable
from clusterfolio.artifacts.fallbacks import Fallback, FallbackKind
from clusterfolio.enums import ProfileName
from clusterfolio.optimize.problem import AllocationLevel

__all__ = ["FallbackKind", "ProfileResult"]


@dataclass(frozen=True, eq=False)
class ProfileResult:
    """Weights of one profile with their provenance.

    Attributes
    ----------
    profile : ProfileName
        The profile.
    weights : pandas.Series
        Gross weights (long-only, sum one), indexed by symbol, sorted; every symbol of the
        universe appears (zeros included).
    net_weights : pandas.Series
        ``direction sign x gross`` (the market baseline is always long).
    cluster_gross, cluster_net : dict[int, float]
        Per-cluster sums of gross and net weights.
    solver : str
        What produced the weights: a cvxpy solver name (``CLARABEL``, ``SCS``, ``OSQP``) or a
        closed-form method (``hrp:numpy``, ``erc:newton``, ``equal_weight``, ``market``,
        ``barbell:hrp``).
    allocation_level : AllocationLevel
        Asset- or cluster-level allocation.
    fallbacks : list of Fallback
        Every deviation from the first-choice method: its ``kind`` (a :class:`FallbackKind`),
        ``detail`` and kind-specific ``extra`` keys; stored as :meth:`Fallback.to_record`.
    diagnostics : dict
        Risk contributions, objective value, effective caps, cap relaxations and projections,
        portfolio statistics and profile-specific explanations.
    """

    profile: ProfileName
    weights: pd.Series
    net_weights: pd.Series
    cluster_gross: dict[int, float]
    cluster_net: dict[int, float]
    solver: str
    allocation_level: AllocationLevel
    fallbacks: list[Fallback] = field(default_factory=list)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def fallback_kinds(self) -> list[str]:
        """The kinds of the recorded fallbacks, in order."""
        return [str(f.kind) for f in self.fallbacks]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation (plain str / float / int / bool / None, lists and dicts)."""
        return jsonable(
            {
                "profile": self.profile.value,
                "allocation_level": self.allocation_level.value,
                "solver": self.solver,
                "weights": {str(k): float(v) for k, v in self.weights.items()},
                "net_weights": {str(k): float(v) for k, v in self.net_weights.items()},
                "cluster_gross": {str(k): float(v) for k, v in self.cluster_gross.items()},
                "cluster_net": {str(k): float(v) for k, v in self.cluster_net.items()},
                "fallbacks": [f.to_record() for f in self.fallbacks],
                "diagnostics": self.diagnostics,
            }
        )
