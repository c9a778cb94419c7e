"""The result of one profile: weights, how they were obtained, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.enums import ProfileName
from clusterfolio.optimize.problem import AllocationLevel


class FallbackKind(StrEnum):
    """Kinds of recorded fallbacks (a deviation from a profile's first-choice method)."""

    SOLVER = "solver"
    """A solver of the chain failed and the next one was tried."""
    CAP_RELAXATION = "cap_relaxation"
    """Infeasible caps were raised to the smallest feasible value plus a margin."""
    CAP_PROJECTION = "cap_projection"
    """Caps bound on a profile that does not include them; weights were projected."""
    COVARIANCE_REPAIR = "covariance_repair"
    """The pairwise covariance was not PSD and was repaired by eigenvalue clipping."""
    NO_POSITIVE_EXCESS_RETURN = "no_positive_excess_return"
    """max_sharpe had no portfolio with positive excess return; minimum variance was used."""
    BARBELL_AGGRESSORS = "barbell_aggressors"
    """Fewer aggressors than asked (too few distinct clusters or antifragility scores)."""
    BARBELL_SHARE = "barbell_share"
    """The aggressor share was reduced so that each aggressor respects its caps."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


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
    fallbacks : list of dict
        Every deviation from the first-choice method, each with ``kind`` (a
        :class:`FallbackKind` value) and ``detail`` (plus kind-specific keys).
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
    fallbacks: list[dict[str, Any]] = field(default_factory=list)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def fallback_kinds(self) -> list[str]:
        """The kinds of the recorded fallbacks, in order."""
        return [str(f["kind"]) for f in self.fallbacks]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation (plain str / float / int / bool / None, lists and dicts)."""
        return _jsonable(
            {
                "profile": self.profile.value,
                "allocation_level": self.allocation_level.value,
                "solver": self.solver,
                "weights": {str(k): float(v) for k, v in self.weights.items()},
                "net_weights": {str(k): float(v) for k, v in self.net_weights.items()},
                "cluster_gross": {str(k): float(v) for k, v in self.cluster_gross.items()},
                "cluster_net": {str(k): float(v) for k, v in self.cluster_net.items()},
                "fallbacks": [dict(f) for f in self.fallbacks],
                "diagnostics": self.diagnostics,
            }
        )
