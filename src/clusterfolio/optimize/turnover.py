"""The turnover penalty of every profile: trading the profile's target off against the cost.

The previous book is SIGNED. Decisions are taken in the synthetic-long frame (gross weights
``w >= 0``, net weight ``s_i w_i``), so a previous net position ``h_i`` is ``s_i h_i`` in that
frame (:func:`previous_in_long_frame`): a position held in the opposite direction of today's is
negative, and flipping it costs ``|w_i - s_i h_i| = w_i + |h_i|``, twice the weight for a full
flip. The trade is ``||w - w_prev||₁`` in that frame, equal to the net-weight L1 distance.

Cost (the one cost model)
-------------------------
The per-unit cost ``c`` (slippage + commission of :class:`~clusterfolio.backtest.costs.CostModel`,
the same object the realized simulator charges) amortised over ``H`` sessions and annualised is
``c * 252 / H`` per unit of weight traded, in the objective's units divided by the average asset
variance ``v̄``: ``τ = c * (252 / H) / v̄``.

Profiles
--------
``min_variance`` carries ``τ ||w - w_prev||₁`` in its own objective. Every other capped profile
(``hrp``, ``risk_parity``, ``max_sharpe``, ``barbell``, ``equal_weight``) has a target ``w*``
given by its definition; with the penalty on it trades towards it:

.. math:: \\min_w (w - w^*)^\\top \\Sigma (w - w^*) / \\bar v + \\tau \\|w - w_{prev}\\|_1

under the same caps, i.e. the tracking-error variance to the profile's allocation (what departing
from the profile's objective costs, in the units of ``min_variance``'s objective) against the
cost of the trade. With a zero cost the target itself is returned. ``market`` never trades off.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from clusterfolio.enums import Direction
from clusterfolio.optimize.solvers import LinearCaps, SolveOutcome, SolveRun, solve_min_variance

TURNOVER_EFFECT_TOL = 1e-9
"""A turnover penalty that moves the weights by less than this (L1) is flagged inactive."""


def previous_in_long_frame(
    held_net: Mapping[str, float], directions: Mapping[str, Direction]
) -> dict[str, float]:
    """The signed previous book in the synthetic-long frame: ``s_i h_i`` (negative for a flip).

    Parameters
    ----------
    held_net : Mapping[str, float]
        Net weights held (signed).
    directions : Mapping[str, Direction]
        Today's direction of each symbol of the universe; a held symbol outside it keeps its
        absolute weight (it is sold whatever the direction).

    Returns
    -------
    dict
        Symbol -> previous weight in the frame of today's gross weights.
    """
    out: dict[str, float] = {}
    for symbol, value in held_net.items():
        direction = directions.get(symbol)
        out[symbol] = float(abs(value) if direction is None else direction.sign * value)
    return out


def trade_towards(
    target: np.ndarray,
    scaled_cov: np.ndarray,
    previous: np.ndarray,
    tau: float,
    caps: LinearCaps,
    run: SolveRun,
) -> tuple[np.ndarray, SolveOutcome]:
    """Weights trading the target ``w*`` off against the turnover cost (see module doc).

    Parameters
    ----------
    target : numpy.ndarray
        The profile's allocation ``w*`` (within the caps).
    scaled_cov : numpy.ndarray
        Covariance divided by the average asset variance.
    previous : numpy.ndarray
        Previous weights in the synthetic-long frame (signed).
    tau : float
        Turnover weight ``τ``.
    caps : LinearCaps
        The profile's caps.
    run : SolveRun
        Solver chain, fallback records and the program's name.

    Returns
    -------
    tuple
        ``(weights, outcome)``.
    """
    linear = -2.0 * (scaled_cov @ target)
    return solve_min_variance(
        scaled_cov,
        caps,
        run,
        linear=linear,
        turnover=(np.eye(target.shape[0]), previous, tau),
    )


def effect_record(
    penalised: np.ndarray, unpenalised: np.ndarray, previous: np.ndarray, outside: float
) -> dict[str, Any]:
    """Distances moved with and without the penalty (L1 to the previous book) and the effect."""
    effect = float(np.abs(penalised - unpenalised).sum())
    record: dict[str, Any] = {
        "effect_l1": effect,
        "l1_to_previous_with_penalty": float(np.abs(penalised - previous).sum() + outside),
        "l1_to_previous_without_penalty": float(np.abs(unpenalised - previous).sum() + outside),
        "inactive": effect < TURNOVER_EFFECT_TOL,
    }
    if record["inactive"]:
        record["reason"] = "the penalised and unpenalised solutions coincide"
    return record
