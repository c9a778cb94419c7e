"""The tournament's engines: one interface, one adapter per optimisation library.

Every engine answers ``weights(train_returns, decision, profile)`` with **gross** long-only
weights summing to one over the window's universe (:attr:`DecisionInputs.symbols`), computed on
the synthetic-long training returns (:meth:`DecisionInputs.synthetic_long`: a SHORT candidate is
negated exactly once), with the window's clusters and the manifest's caps
(``risk.asset_cap``, ``risk.cluster_cap``). The tournament turns them into net weights the same
way for every engine (:meth:`DecisionInputs.net_weights`, ``sign x gross``; the baseline is
never flipped) and the simulators apply those to the raw returns. An engine returns None for a
profile it does not implement: the pair is *not applicable*, never answered by another engine.

Capabilities
------------

==============  ===================================================  ======================
engine          profiles                                             caps enforced
==============  ===================================================  ======================
custom          every profile (:func:`~clusterfolio.optimize.        asset + cluster (with
                profiles.optimize_profile`), ``market`` as step 11   the recorded
                (100% baseline from the raw returns)                 relaxation)
skfolio         min_variance, max_sharpe, risk_parity, hrp           see
riskfolio       min_variance, max_sharpe, risk_parity, hrp           :mod:`clusterfolio.
pyportfolioopt  min_variance, max_sharpe, hrp                        optimize.peers`
cvxportfolio    min_variance                                         asset + cluster
market          market (100% ``backtest.baseline``, raw, long)       none (one asset)
==============  ===================================================  ======================

``cvxportfolio`` is a back-tester whose policies maximise a return forecast minus risk and cost
terms; the only profile it can state exactly is minimum variance: a
``SinglePeriodOptimization`` maximising ``-FullCovariance(Σ)`` under ``LongOnly`` (cash
included) and ``NoCash`` (fully invested), ``MaxWeights(asset_cap)`` and one
``FactorMaxLimit`` row per cluster (indicator exposures, limit ``cluster_cap``), executed
offline (``market_data=None``) from all cash at the last training session. ``Σ`` is the sample
covariance of the complete rows of the synthetic-long slice, the very data the peers receive
(:func:`~clusterfolio.optimize.peers.clean_returns`). Maximum Sharpe, risk parity and the
hierarchical profiles have no exact ``cvxportfolio`` statement: not applicable. Infeasible caps
are not relaxed by the peers nor by ``cvxportfolio``: their error is the window's failure.

Output checks (every engine): weights must be finite, at least ``-1e-6`` and sum to one within
``1e-3``; tiny negatives are set to zero and the sum is rescaled to one (solver rounding).
Anything else is an :class:`~clusterfolio.errors.OptimizationError`.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clusterfolio.backtest.costs import CostModel
from clusterfolio.backtest.decision import DecisionInputs
from clusterfolio.enums import Direction, EngineName, ProfileName
from clusterfolio.errors import DataError, OptimizationError
from clusterfolio.manifest import Settings

if TYPE_CHECKING:
    from clusterfolio.optimize.problem import OptimizationProblem

__all__ = [
    "CVXPORTFOLIO_PROFILES",
    "CustomEngine",
    "CvxportfolioEngine",
    "Engine",
    "EngineCall",
    "MarketEngine",
    "PeerEngine",
    "caps_enforced",
    "check_gross",
    "engine_capabilities",
    "make_engine",
]

CVXPORTFOLIO_PROFILES: frozenset[ProfileName] = frozenset({ProfileName.MIN_VARIANCE})
"""Profiles the cvxportfolio adapter states exactly."""

NEGATIVE_TOL = 1e-6
SUM_TOL = 1e-3


@dataclass(frozen=True)
class EngineCall:
    """One question to an engine: the arguments of :meth:`Engine.weights` for one window.

    What an engine's own ``_gross`` receives, for a profile the engine implements.
    """

    train_returns: pd.DataFrame
    decision: DecisionInputs
    profile: ProfileName
    previous: pd.Series | None = None


class Engine(ABC):
    """An optimisation engine of the tournament.

    Parameters
    ----------
    settings : Settings
        The manifest's settings (each engine says which it reads).
    """

    name: EngineName

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    @abstractmethod
    def profiles(self) -> frozenset[ProfileName]:
        """Profiles this engine implements."""

    def weights(
        self,
        train_returns: pd.DataFrame,
        decision: DecisionInputs,
        profile: ProfileName,
        *,
        previous: pd.Series | None = None,
    ) -> pd.Series | None:
        """Gross weights of ``profile`` for one window, or None when not implemented.

        Parameters
        ----------
        train_returns : pandas.DataFrame
            Raw returns of the training slice (the baseline included).
        decision : DecisionInputs
            The window's point-in-time decision.
        profile : ProfileName
            The profile.
        previous : pandas.Series, optional
            Net (signed) weights of the previous window (turnover penalty, where supported).

        Returns
        -------
        pandas.Series or None
            Gross float64 weights indexed by symbol (text); ``attrs["fallbacks"]`` may list
            recorded fallbacks.
        """
        profile = ProfileName(profile)
        if profile not in self.profiles:
            return None
        out = self._gross(EngineCall(train_returns, decision, profile, previous))
        if out is None:
            return None
        out = out.astype(np.float64).copy()
        out.index = pd.Index([str(s) for s in out.index])
        return out

    @abstractmethod
    def _gross(self, call: EngineCall) -> pd.Series | None:
        """The engine's own answer for a profile it implements (None: no answer)."""


def _cluster_cap_mapping(decision: DecisionInputs) -> dict[str, int]:
    return {s: int(decision.clusters[s]) for s in decision.symbols}


class CustomEngine(Engine):
    """The custom cluster-aware engine (:func:`~clusterfolio.optimize.profiles.optimize_profile`).

    Parameters
    ----------
    settings : Settings
        ``risk`` (caps, penalties, barbell), ``backtest`` (baseline, cost model) and
        ``features.feat_turnover_penalty``: when on, the previous window's signed book (in this
        window's synthetic-long frame, so a direction flip is a trade) is penalised with the cost
        model's per-unit cost, as step 11 does against the accepted state.
    """

    name = EngineName.CUSTOM

    @property
    def profiles(self) -> frozenset[ProfileName]:
        """Every profile."""
        return frozenset(ProfileName)

    def _gross(self, call: EngineCall) -> pd.Series:
        """Gross weights of the profile (see :class:`Engine`)."""
        from clusterfolio.optimize.profiles import optimize_profile

        market = call.profile is ProfileName.MARKET
        problem = self._market_problem(call) if market else self._problem(call)
        result = optimize_profile(problem, call.profile)
        out = result.weights.copy()
        out.attrs["fallbacks"] = [str(k) for k in result.fallback_kinds]
        return out

    def _market_problem(self, call: EngineCall) -> OptimizationProblem:
        """The ``market`` profile: the baseline alone, long, on its raw returns."""
        from clusterfolio.optimize.problem import OptimizationProblem

        baseline = call.decision.baseline
        if baseline not in call.train_returns.columns:
            raise DataError(f"market profile needs {baseline} in the returns")
        return OptimizationProblem.from_settings(
            self.settings.risk,
            returns=call.train_returns.loc[:, [baseline]],
            clusters={baseline: 0},
            directions={baseline: Direction.LONG},
            execution_scores={},
            fragility={},
            antifragility={},
            regime=call.decision.regime,
            market_symbol=baseline,
        )

    def _problem(self, call: EngineCall) -> OptimizationProblem:
        """Every other profile: the window's universe on its synthetic-long returns."""
        from clusterfolio.optimize.problem import OptimizationProblem
        from clusterfolio.optimize.turnover import previous_in_long_frame

        decision, previous = call.decision, call.previous
        turnover_cost = None
        held = None
        if self.settings.features.feat_turnover_penalty and previous is not None:
            turnover_cost = CostModel.from_settings(self.settings.backtest).per_unit
            # the signed previous book in today's synthetic-long frame: a flip is a trade
            held = previous_in_long_frame(
                {s: float(previous.get(s, 0.0)) for s in decision.symbols},
                {s: Direction(decision.directions[s]) for s in decision.symbols},
            )
        return OptimizationProblem.from_settings(
            self.settings.risk,
            returns=decision.synthetic_long(call.train_returns),
            clusters=_cluster_cap_mapping(decision),
            directions=dict(decision.directions),
            execution_scores=dict(decision.execution_scores),
            fragility=dict(decision.fragility),
            antifragility=dict(decision.antifragility),
            regime=decision.regime,
            previous_weights=held,
            turnover_cost=turnover_cost,
            market_symbol=decision.baseline,
        )


class PeerEngine(Engine):
    """skfolio, Riskfolio-Lib or PyPortfolioOpt through :func:`~clusterfolio.optimize.peers.peer_weights`.

    Parameters
    ----------
    name : EngineName
        ``skfolio``, ``riskfolio`` or ``pyportfolioopt``.
    settings : Settings
        ``risk.asset_cap``, ``risk.cluster_cap`` and ``risk.risk_free_rate``.
    """

    def __init__(self, name: EngineName, settings: Settings) -> None:
        name = EngineName(name)
        if name not in (EngineName.SKFOLIO, EngineName.RISKFOLIO, EngineName.PYPORTFOLIOOPT):
            raise ValueError(f"PeerEngine does not adapt {name.value}")
        super().__init__(settings)
        self.name: EngineName = name

    @property
    def profiles(self) -> frozenset[ProfileName]:
        """The peer's supported profiles (:func:`~clusterfolio.optimize.peers.capabilities`)."""
        from clusterfolio.optimize.peers import capabilities

        return frozenset(capabilities().get(self.name, set()))

    def _gross(self, call: EngineCall) -> pd.Series | None:
        """Gross weights of the profile (see :class:`Engine`); the previous book is not used."""
        from clusterfolio.optimize.peers import peer_weights

        risk = self.settings.risk
        return peer_weights(
            self.name,
            call.profile,
            call.decision.synthetic_long(call.train_returns),
            clusters=_cluster_cap_mapping(call.decision),
            cluster_cap=risk.cluster_cap,
            asset_cap=risk.asset_cap,
            risk_free_rate=risk.risk_free_rate,
        )


class CvxportfolioEngine(Engine):
    """Minimum variance with ``cvxportfolio.SinglePeriodOptimization`` (see the module notes).

    Parameters
    ----------
    settings : Settings
        ``risk.asset_cap`` and ``risk.cluster_cap``.
    """

    name = EngineName.CVXPORTFOLIO

    @property
    def profiles(self) -> frozenset[ProfileName]:
        """``min_variance`` only."""
        return CVXPORTFOLIO_PROFILES

    def _gross(self, call: EngineCall) -> pd.Series:
        """Minimum-variance gross weights (see :class:`Engine`); the previous book is not used."""
        import cvxportfolio as cvx

        from clusterfolio.backtest.simulators import CVX_CASH_KEY
        from clusterfolio.optimize.peers import clean_returns

        risk = self.settings.risk
        decision = call.decision
        clean = clean_returns(decision.synthetic_long(call.train_returns))
        symbols = [str(c) for c in clean.columns]
        sigma = pd.DataFrame(clean.cov().to_numpy(), index=symbols, columns=symbols)
        ids = sorted({int(decision.clusters[s]) for s in symbols})
        exposure = pd.DataFrame(0.0, index=symbols, columns=[f"cluster_{c}" for c in ids])
        for s in symbols:
            exposure.loc[s, f"cluster_{int(decision.clusters[s])}"] = 1.0
        policy = cvx.SinglePeriodOptimization(
            objective=-1.0 * cvx.FullCovariance(sigma),
            constraints=[
                cvx.LongOnly(applies_to_cash=True),
                cvx.NoCash(),
                cvx.MaxWeights(float(risk.asset_cap)),
                cvx.FactorMaxLimit(
                    exposure, pd.Series(float(risk.cluster_cap), index=exposure.columns)
                ),
            ],
            include_cash_return=False,
            solver="CLARABEL",
        )
        holdings = pd.Series(0.0, index=[*symbols, CVX_CASH_KEY])
        holdings[CVX_CASH_KEY] = 1.0
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                trades, _, _ = policy.execute(
                    holdings, market_data=None, t=pd.Timestamp(decision.train_end)
                )
        except Exception as exc:  # cvxportfolio raises its own types (ProgramInfeasible ...)
            raise OptimizationError(
                f"cvxportfolio min_variance failed: {type(exc).__name__}: {exc}"
            ) from exc
        post = (holdings + trades) / float(holdings.sum())
        out = post.loc[symbols].astype(np.float64)
        return pd.Series(out.to_numpy(), index=pd.Index(symbols), name="cvxportfolio")


class MarketEngine(Engine):
    """The market baseline: 100% ``backtest.baseline``, long, from the raw returns.

    Parameters
    ----------
    settings : Settings
        ``backtest.baseline``.
    """

    name = EngineName.MARKET

    @property
    def profiles(self) -> frozenset[ProfileName]:
        """``market`` only."""
        return frozenset({ProfileName.MARKET})

    def _gross(self, call: EngineCall) -> pd.Series:
        """``{baseline: 1.0}`` (the ``market`` profile)."""
        baseline = self.settings.backtest.baseline
        if baseline not in call.train_returns.columns:
            raise DataError(f"the market engine needs {baseline} in the returns")
        return pd.Series([1.0], index=pd.Index([baseline]), name="market")


def make_engine(name: EngineName, settings: Settings) -> Engine:
    """Build the engine ``name`` for ``settings``."""
    name = EngineName(name)
    if name is EngineName.CUSTOM:
        return CustomEngine(settings)
    if name is EngineName.CVXPORTFOLIO:
        return CvxportfolioEngine(settings)
    if name is EngineName.MARKET:
        return MarketEngine(settings)
    return PeerEngine(name, settings)


def engine_capabilities(
    engines: list[EngineName] | None = None, settings: Settings | None = None
) -> dict[EngineName, list[ProfileName]]:
    """Profiles each engine implements, in :class:`ProfileName` order."""
    settings = settings or Settings()
    names = list(EngineName) if engines is None else [EngineName(e) for e in engines]
    out: dict[EngineName, list[ProfileName]] = {}
    for name in names:
        supported = make_engine(name, settings).profiles
        out[name] = [p for p in ProfileName if p in supported]
    return out


def caps_enforced(engine: EngineName, profile: ProfileName) -> dict[str, bool]:
    """Which caps an engine enforces for a profile: ``{"asset_cap": .., "cluster_cap": ..}``."""
    engine, profile = EngineName(engine), ProfileName(profile)
    if engine is EngineName.MARKET or profile is ProfileName.MARKET:
        return {"asset_cap": False, "cluster_cap": False}
    if engine in (EngineName.CUSTOM, EngineName.CVXPORTFOLIO):
        return {"asset_cap": True, "cluster_cap": True}
    from clusterfolio.optimize.peers import enforced_caps

    return enforced_caps(engine, profile)


def check_gross(weights: pd.Series, allowed: Mapping[str, Any] | list[str]) -> pd.Series:
    """Validate and tidy an engine's gross weights (rules in the module notes).

    Parameters
    ----------
    weights : pandas.Series
        The engine's output.
    allowed : list of str or mapping
        The symbols the engine may hold (the universe, or the baseline for ``market``).

    Returns
    -------
    pandas.Series
        Sorted by symbol, float64, non-negative, summing to one; ``attrs`` kept.

    Raises
    ------
    OptimizationError
        When a weight is not finite, clearly negative, names a symbol outside ``allowed``, or
        the weights do not sum to one.
    """
    names = set(allowed)
    attrs = dict(weights.attrs)
    outside = sorted(str(s) for s in weights.index if str(s) not in names)
    if outside:
        raise OptimizationError(f"weights name symbols outside the universe: {outside}")
    values = weights.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise OptimizationError("weights contain NaN or infinite values")
    if values.size and values.min() < -NEGATIVE_TOL:
        raise OptimizationError(
            f"weights are not long-only (min {values.min():.3g} < -{NEGATIVE_TOL:g})"
        )
    values = np.maximum(values, 0.0)
    total = float(values.sum())
    if abs(total - 1.0) > SUM_TOL:
        raise OptimizationError(f"gross weights sum to {total:.6g}, not 1 (tolerance {SUM_TOL:g})")
    out = pd.Series(values / total, index=pd.Index([str(s) for s in weights.index]), name="gross")
    out = out.sort_index(kind="mergesort")
    out.attrs.update(attrs)
    return out
