"""The tournament's slippage decay: idealized versus realized CAGR, and the cost sensitivity.

``decay`` of ``tournament_summary.json`` (:func:`decay_rows`) and ``slippage_decay.json``
(:func:`slippage_decay`, ``features.feat_decay_audit``); layouts in
:mod:`clusterfolio.backtest.tournament`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from clusterfolio.backtest.costs import CostModel
from clusterfolio.backtest.metrics import summary_metrics
from clusterfolio.backtest.simulators import SimulationResult
from clusterfolio.backtest.tournament_engines import EngineOutcome
from clusterfolio.backtest.tournament_types import SENSITIVITY_BPS
from clusterfolio.enums import SimulatorName

__all__ = ["decay_rows", "slippage_decay"]


def _cagr(result: SimulationResult | None, periods: int) -> float | None:
    if result is None:
        return None
    value = summary_metrics(result.returns, periods=periods)["cagr"]
    return value if math.isfinite(value) else None


def decay_rows(outcomes: list[EngineOutcome], periods: int) -> list[dict[str, Any]]:
    """``decay`` of the summary: idealized versus realized CAGR per engine and profile."""
    out: list[dict[str, Any]] = []
    for outcome in outcomes:
        idealized = outcome.simulations.get(SimulatorName.IDEALIZED)
        realized = outcome.simulations.get(SimulatorName.REALIZED)
        if idealized is None or realized is None:
            continue
        reference = outcome.simulations.get(SimulatorName.CVXPORTFOLIO)
        ideal_cagr, real_cagr = _cagr(idealized, periods), _cagr(realized, periods)
        agreement = None
        if reference is not None:  # compared over the same (reference) span
            ours = outcome.reference_realized or realized
            agreement = float(
                np.max(np.abs(reference.returns.to_numpy() - ours.returns.to_numpy()))
            )
        out.append(
            {
                "engine": outcome.engine.value,
                "profile": outcome.profile.value,
                "idealized_cagr": ideal_cagr,
                "realized_cagr": real_cagr,
                "decay": None
                if ideal_cagr is None or real_cagr is None
                else ideal_cagr - real_cagr,
                "costs": realized.total_costs,
                "cvxportfolio_cagr": _cagr(reference, periods),
                "realized_vs_cvxportfolio_max_abs_diff": agreement,
            }
        )
    return out


def _sensitivity(
    outcome: EngineOutcome, ideal: float | None, periods: int, cost_model: CostModel
) -> list[dict[str, Any]]:
    """The realized CAGR and decay at each slippage level of the cost sensitivity."""
    levels = []
    for bps in sorted({*outcome.sensitivity, *outcome.sensitivity_errors}):
        level: dict[str, Any] = {
            "slippage_bps": bps,
            "per_unit": bps / 1e4 + cost_model.commission,
            "cagr": None,
            "decay": None,
            "costs": None,
            "error": outcome.sensitivity_errors.get(bps),
        }
        if bps in outcome.sensitivity:
            result = outcome.sensitivity[bps]
            cagr = _cagr(result, periods)
            level.update(
                cagr=cagr,
                decay=None if ideal is None or cagr is None else ideal - cagr,
                costs=result.total_costs,
            )
        levels.append(level)
    return levels


def _slippage_row(
    outcome: EngineOutcome, periods: int, cost_model: CostModel
) -> dict[str, Any] | None:
    """One engine and profile of ``slippage_decay.json`` (None without both simulators)."""
    idealized = outcome.simulations.get(SimulatorName.IDEALIZED)
    realized = outcome.simulations.get(SimulatorName.REALIZED)
    if idealized is None or realized is None:
        return None
    ideal = _cagr(idealized, periods)
    real = _cagr(realized, periods)
    stats = summary_metrics(realized.returns, periods=periods, turnover=realized.turnover)
    turnover_annual = stats["turnover_annual"]
    decay = None if ideal is None or real is None else ideal - real
    return {
        "engine": outcome.engine.value,
        "profile": outcome.profile.value,
        "turnover_annual": turnover_annual,
        "turnover_total": stats["turnover_total"],
        "idealized_cagr": ideal,
        "realized_cagr": real,
        "decay": decay,
        "decay_per_turnover": (
            decay / turnover_annual
            if decay is not None and turnover_annual and math.isfinite(turnover_annual)
            else None
        ),
        "costs": realized.total_costs,
        "sensitivity": _sensitivity(outcome, ideal, periods, cost_model),
    }


def _fit(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Least squares of decay on annual turnover across the rows."""
    points = [
        (r["turnover_annual"], r["decay"])
        for r in rows
        if r["decay"] is not None and math.isfinite(r["turnover_annual"])
    ]
    fit: dict[str, Any] = {"n": len(points), "slope": None, "intercept": None, "r2": None}
    if len(points) >= 2:
        x = np.array([p[0] for p in points], dtype=np.float64)
        y = np.array([p[1] for p in points], dtype=np.float64)
        if float(np.ptp(x)) > 0:
            slope, intercept = np.polyfit(x, y, 1)
            residual = y - (slope * x + intercept)
            total = float(np.sum((y - y.mean()) ** 2))
            fit.update(
                slope=float(slope),
                intercept=float(intercept),
                r2=1.0 - float(np.sum(residual**2)) / total if total > 0 else None,
            )
    return fit


def slippage_decay(
    outcomes: list[EngineOutcome], periods: int, cost_model: CostModel
) -> dict[str, Any]:
    """``slippage_decay.json``: per engine and profile, the decay and its cost sensitivity."""
    rows = [
        row for row in (_slippage_row(o, periods, cost_model) for o in outcomes) if row is not None
    ]
    return {
        "cost_model": {
            "slippage": cost_model.slippage,
            "commission": cost_model.commission,
            "per_unit": cost_model.per_unit,
        },
        "sensitivity_bps": list(SENSITIVITY_BPS),
        "definition": (
            "decay = idealized CAGR - realized CAGR; turnover_annual = one-way turnover "
            "annualised; sensitivity re-simulates the same weights with the slippage at each "
            "level and the manifest's commission; fit = least squares of decay on "
            "turnover_annual across engines and profiles"
        ),
        "fit": _fit(rows),
        "rows": rows,
    }
