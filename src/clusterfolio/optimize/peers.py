"""Adapters to the peer optimisation libraries for the tournament (imported lazily).

:func:`peer_weights` returns a peer's gross weights for a profile, or None when the pair is not
supported (:func:`capabilities` lists the supported pairs). ``cvxportfolio`` is handled by the
simulator (no pair here); the custom engine is :func:`clusterfolio.optimize.optimize_profile`.

Data
----
Peers receive already-cleaned returns: the synthetic-long matrix with every row that holds a NaN
dropped (the peers estimate moments on complete rows only; our engine uses pairwise-complete
moments instead). Moments are the peers' own sample estimators on those rows; annualisation does
not change any of these optimal weights, and the annual ``risk_free_rate`` is divided by 252
where a peer works in daily units.

Constraints (long-only, fully invested everywhere)
--------------------------------------------------

=================  ============  ==========================================  ==================
engine             profile       method                                      caps applied
=================  ============  ==========================================  ==================
skfolio            min_variance  ``MeanRisk`` (variance)                     asset + cluster
skfolio            max_sharpe    ``MeanRisk`` (``MAXIMIZE_RATIO``)           asset + cluster
skfolio            risk_parity   ``RiskBudgeting`` (variance)                asset + cluster
skfolio            hrp           ``HierarchicalRiskParity`` (variance)       asset only
riskfolio          min_variance  ``Portfolio.optimization`` MV ``MinRisk``   asset + cluster
riskfolio          max_sharpe    ``Portfolio.optimization`` MV ``Sharpe``    asset + cluster
riskfolio          risk_parity   ``Portfolio.rp_optimization`` MV            asset + cluster
riskfolio          hrp           ``HCPortfolio`` HRP, pearson, MV            asset only
pyportfolioopt     min_variance  ``EfficientFrontier.min_volatility``        asset + cluster
pyportfolioopt     max_sharpe    ``EfficientFrontier.max_sharpe``            asset + cluster
pyportfolioopt     hrp           ``HRPOpt``                                  none
=================  ============  ==========================================  ==================

Cluster caps go through skfolio's ``groups`` + ``linear_constraints``, Riskfolio-Lib's
``assets_classes`` + ``assets_constraints`` and PyPortfolioOpt's ``add_sector_constraints``. The
hierarchical peers take no group constraint (skfolio and Riskfolio-Lib take weight bounds;
PyPortfolioOpt's ``HRPOpt`` takes nothing), so their cluster caps are not enforced: the
tournament's audit sees it. HRP uses the same linkage method as ours and the plain leaf order
(skfolio ``optimal_ordering=False``, Riskfolio ``leaf_order=False``). Infeasible caps are not
relaxed here: the peer's own error is raised as :class:`~clusterfolio.errors.OptimizationError`.

Solvers: the convex peers solve with Clarabel, as our engine does (PyPortfolioOpt
``solver="CLARABEL"``, Riskfolio-Lib ``solvers=[CLARABEL]``: :data:`RISKFOLIO_SOLVERS`; skfolio's
default is Clarabel). A Clarabel failure is the window's recorded failure, never answered by
another solver in silence; a slow fit is bounded by the tournament's
``tournament.peer_budget_seconds``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.data.calendars import EXCHANGE_PERIODS_PER_YEAR as PERIODS_PER_YEAR
from clusterfolio.enums import EngineName, ProfileName
from clusterfolio.errors import DataError, OptimizationError

_CAPABILITIES: dict[EngineName, frozenset[ProfileName]] = {
    EngineName.SKFOLIO: frozenset(
        {ProfileName.MIN_VARIANCE, ProfileName.MAX_SHARPE, ProfileName.RISK_PARITY, ProfileName.HRP}
    ),
    EngineName.RISKFOLIO: frozenset(
        {ProfileName.MIN_VARIANCE, ProfileName.MAX_SHARPE, ProfileName.RISK_PARITY, ProfileName.HRP}
    ),
    EngineName.PYPORTFOLIOOPT: frozenset(
        {ProfileName.MIN_VARIANCE, ProfileName.MAX_SHARPE, ProfileName.HRP}
    ),
    EngineName.CVXPORTFOLIO: frozenset(),
}

RISKFOLIO_SOLVERS: tuple[str, ...] = ("CLARABEL",)
"""The solvers Riskfolio-Lib may use (its own default tries CLARABEL, ECOS, SCS, OSQP, CVXOPT in
turn and returns the first answer: a silent fallback, and at 500 assets x 252 sessions its
maximum Sharpe fails in CLARABEL after 7 s and is answered by SCS after 34 more)."""

_NO_CLUSTER_CAPS = frozenset(
    {
        (EngineName.SKFOLIO, ProfileName.HRP),
        (EngineName.RISKFOLIO, ProfileName.HRP),
        (EngineName.PYPORTFOLIOOPT, ProfileName.HRP),
    }
)
_NO_ASSET_CAPS = frozenset({(EngineName.PYPORTFOLIOOPT, ProfileName.HRP)})


def capabilities() -> dict[EngineName, set[ProfileName]]:
    """Profiles each peer engine supports through :func:`peer_weights`."""
    return {engine: set(profiles) for engine, profiles in _CAPABILITIES.items()}


def enforced_caps(engine: EngineName, profile: ProfileName) -> dict[str, bool]:
    """Which caps a supported pair enforces: ``{"asset_cap": bool, "cluster_cap": bool}``."""
    pair = (EngineName(engine), ProfileName(profile))
    return {"asset_cap": pair not in _NO_ASSET_CAPS, "cluster_cap": pair not in _NO_CLUSTER_CAPS}


def clean_returns(returns: pd.DataFrame) -> pd.DataFrame:
    """Drop every row with a NaN (the peers need complete rows); at least 3 must remain."""
    complete = returns.dropna(how="any")
    if complete.shape[0] < 3:
        raise DataError(
            f"peers need complete rows: {complete.shape[0]} of {returns.shape[0]} sessions "
            "have no NaN"
        )
    return complete.astype(np.float64)


def _cluster_names(columns: pd.Index, clusters: Mapping[str, int]) -> list[str]:
    missing = [str(c) for c in columns if str(c) not in clusters]
    if missing:
        raise DataError(f"no cluster for {missing}")
    return [f"cluster_{int(clusters[str(c)])}" for c in columns]


@dataclass(frozen=True)
class _PeerProblem:
    """What every peer adapter receives: the profile, the cleaned returns and the caps."""

    profile: ProfileName
    returns: pd.DataFrame
    names: list[str]
    """Cluster name of each column of ``returns`` (``cluster_<id>``)."""
    cluster_cap: float
    asset_cap: float
    risk_free_rate: float
    """Annual."""
    linkage_method: str


# ------------------------------------------------------------------------------------ skfolio


def _skfolio(p: _PeerProblem) -> np.ndarray:
    """skfolio's weights (``MeanRisk``, ``RiskBudgeting`` or ``HierarchicalRiskParity``)."""
    from skfolio.measures import RiskMeasure

    groups = [p.names]
    constraints = [f"{g} <= {p.cluster_cap!r}" for g in sorted(set(p.names))]
    if p.profile is ProfileName.HRP:
        from skfolio.cluster import HierarchicalClustering, LinkageMethod
        from skfolio.distance import PearsonDistance
        from skfolio.optimization import HierarchicalRiskParity
        from skfolio.seriation import HierarchicalSeriation

        model: Any = HierarchicalRiskParity(
            risk_measure=RiskMeasure.VARIANCE,
            distance_estimator=PearsonDistance(),
            seriation_estimator=HierarchicalSeriation(
                hierarchical_clustering_estimator=HierarchicalClustering(
                    linkage_method=LinkageMethod(p.linkage_method)
                ),
                optimal_ordering=False,
            ),
            max_weights=p.asset_cap,
        )
    elif p.profile is ProfileName.RISK_PARITY:
        from skfolio.optimization import RiskBudgeting

        model = RiskBudgeting(
            risk_measure=RiskMeasure.VARIANCE,
            max_weights=p.asset_cap,
            groups=groups,
            linear_constraints=constraints,
        )
    else:
        from skfolio.optimization import MeanRisk, ObjectiveFunction

        objective = (
            ObjectiveFunction.MAXIMIZE_RATIO
            if p.profile is ProfileName.MAX_SHARPE
            else ObjectiveFunction.MINIMIZE_RISK
        )
        model = MeanRisk(
            objective_function=objective,
            risk_measure=RiskMeasure.VARIANCE,
            risk_free_rate=p.risk_free_rate / PERIODS_PER_YEAR,
            max_weights=p.asset_cap,
            groups=groups,
            linear_constraints=constraints,
        )
    model.fit(p.returns)
    return np.asarray(model.weights_, dtype=np.float64)


# ---------------------------------------------------------------------------------- riskfolio


def _riskfolio(p: _PeerProblem) -> np.ndarray:
    """Riskfolio-Lib's weights (``Portfolio`` or ``HCPortfolio``)."""
    import riskfolio as rp

    columns = list(p.returns.columns)
    if p.profile is ProfileName.HRP:
        hc = rp.HCPortfolio(returns=p.returns, w_max=p.asset_cap)
        # riskfolio's own sample covariance, handed over column-major: its copy keeps that
        # layout on pandas 2 and 3 alike, so the products on its blocks round the same
        sample = p.returns.cov()
        cov = pd.DataFrame(
            np.asfortranarray(sample.to_numpy()), index=sample.index, columns=sample.columns
        )
        frame = hc.optimization(
            model="HRP",
            codependence="pearson",
            method_cov="custom_cov",
            custom_cov=cov,
            rm="MV",
            rf=0,
            linkage=p.linkage_method,
            leaf_order=False,
        )
        return frame["weights"].reindex(columns).to_numpy(dtype=np.float64)
    port = rp.Portfolio(returns=p.returns)
    port.assets_stats(method_mu="hist", method_cov="hist")
    port.solvers = list(RISKFOLIO_SOLVERS)
    port.upperlng = p.asset_cap
    classes = pd.DataFrame({"Assets": columns, "Cluster": p.names})
    rows = sorted(set(p.names))
    count = len(rows) + 1
    # one row per cluster, and "All Assets" for the asset cap (rp_optimization ignores upperlng)
    table = pd.DataFrame(
        {
            "Disabled": [False] * count,
            "Type": ["Classes"] * len(rows) + ["All Assets"],
            "Set": ["Cluster"] * len(rows) + [""],
            "Position": [*rows, ""],
            "Sign": ["<="] * count,
            "Weight": [p.cluster_cap] * len(rows) + [p.asset_cap],
            "Type Relative": [""] * count,
            "Relative Set": [""] * count,
            "Relative": [""] * count,
            "Factor": [""] * count,
        }
    )
    a, b = rp.assets_constraints(table, classes)
    port.ainequality = a
    port.binequality = b
    daily_rf = p.risk_free_rate / PERIODS_PER_YEAR
    if p.profile is ProfileName.RISK_PARITY:
        frame = port.rp_optimization(model="Classic", rm="MV", rf=daily_rf, b=None, hist=True)
    else:
        obj = "Sharpe" if p.profile is ProfileName.MAX_SHARPE else "MinRisk"
        frame = port.optimization(model="Classic", rm="MV", obj=obj, rf=daily_rf, hist=True)
    if frame is None:
        raise OptimizationError(f"riskfolio {p.profile.value}: no solution")
    return frame["weights"].reindex(columns).to_numpy(dtype=np.float64)


# ---------------------------------------------------------------------------- pyportfolioopt


def _pypfopt(p: _PeerProblem) -> np.ndarray:
    """PyPortfolioOpt's weights (``EfficientFrontier`` or ``HRPOpt``)."""
    columns = list(p.returns.columns)
    if p.profile is ProfileName.HRP:
        from pypfopt import HRPOpt

        weights = HRPOpt(p.returns).optimize(linkage_method=p.linkage_method)
        return pd.Series(weights).reindex(columns).to_numpy(dtype=np.float64)
    from pypfopt import EfficientFrontier

    mu = p.returns.mean() * PERIODS_PER_YEAR
    cov = p.returns.cov() * PERIODS_PER_YEAR
    ef = EfficientFrontier(mu, cov, weight_bounds=(0.0, p.asset_cap), solver="CLARABEL")
    mapper = dict(zip(columns, p.names, strict=True))
    ef.add_sector_constraints(mapper, {}, {g: p.cluster_cap for g in sorted(set(p.names))})
    if p.profile is ProfileName.MAX_SHARPE:
        weights = ef.max_sharpe(risk_free_rate=p.risk_free_rate)
    else:
        weights = ef.min_volatility()
    return pd.Series(weights).reindex(columns).to_numpy(dtype=np.float64)


_ADAPTERS: dict[EngineName, Callable[[_PeerProblem], np.ndarray]] = {
    EngineName.SKFOLIO: _skfolio,
    EngineName.RISKFOLIO: _riskfolio,
    EngineName.PYPORTFOLIOOPT: _pypfopt,
}


def peer_weights(
    engine: EngineName,
    profile: ProfileName,
    returns: pd.DataFrame,
    *,
    clusters: Mapping[str, int],
    cluster_cap: float,
    asset_cap: float,
    risk_free_rate: float = 0.0,
    linkage_method: str = "ward",
) -> pd.Series | None:
    """Gross weights of ``profile`` computed by the peer ``engine``.

    Parameters
    ----------
    engine : EngineName
        ``skfolio``, ``riskfolio`` or ``pyportfolioopt`` (others: None).
    profile : ProfileName
        The profile (unsupported pairs: None, see :func:`capabilities`).
    returns : pandas.DataFrame
        Synthetic-long returns; rows with a NaN are dropped (:func:`clean_returns`).
    clusters : Mapping[str, int]
        Cluster of each symbol (for the cluster caps).
    cluster_cap, asset_cap : float
        Caps, applied where the peer supports them (see the module table).
    risk_free_rate : float, default 0.0
        Annual risk-free rate (max_sharpe).
    linkage_method : str, default "ward"
        Linkage of the hierarchical peers.

    Returns
    -------
    pandas.Series or None
        Weights indexed like ``returns.columns`` (the peer's raw output, zeros for symbols it did
        not return), or None for an unsupported pair.

    Raises
    ------
    OptimizationError
        When the peer fails (its message included).
    DataError
        When fewer than 3 complete rows remain or a symbol has no cluster.
    """
    engine, profile = EngineName(engine), ProfileName(profile)
    if profile not in _CAPABILITIES.get(engine, frozenset()):
        return None
    clean = clean_returns(returns)
    clean.columns = [str(c) for c in clean.columns]
    problem = _PeerProblem(
        profile=profile,
        returns=clean,
        names=_cluster_names(clean.columns, clusters),
        cluster_cap=cluster_cap,
        asset_cap=asset_cap,
        risk_free_rate=risk_free_rate,
        linkage_method=linkage_method,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = _ADAPTERS[engine](problem)
    except OptimizationError:
        raise
    except Exception as exc:  # the peers raise their own exception types
        raise OptimizationError(f"{engine.value} {profile.value} failed: {exc}") from exc
    values = np.nan_to_num(values, nan=0.0)
    return pd.Series(values, index=returns.columns, name=f"{engine.value}:{profile.value}")
