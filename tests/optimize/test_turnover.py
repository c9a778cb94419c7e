"""The turnover penalty of every profile, against the signed previous book."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from clusterfolio.enums import Direction, ProfileName
from clusterfolio.optimize import optimize_profile
from clusterfolio.optimize.turnover import previous_in_long_frame

TRADED = (
    ProfileName.MIN_VARIANCE,
    ProfileName.HRP,
    ProfileName.RISK_PARITY,
    ProfileName.MAX_SHARPE,
    ProfileName.BARBELL,
    ProfileName.EQUAL_WEIGHT,
)


@pytest.fixture
def returns(make_returns: Any) -> pd.DataFrame:
    frame = make_returns(12, 300, seed=5)
    return frame[sorted(frame.columns)]


def test_a_flip_is_a_trade_of_twice_the_weight() -> None:
    held = {"A": 0.1, "B": -0.2, "GONE": 0.05}
    directions = {"A": Direction.SHORT, "B": Direction.SHORT}
    frame = previous_in_long_frame(held, directions)
    assert frame == {"A": -0.1, "B": 0.2, "GONE": 0.05}
    # holding A long 0.1 and going short 0.1: |0.1 - (-0.1)| = 0.2 traded
    assert abs(0.1 - frame["A"]) == pytest.approx(0.2)


@pytest.mark.parametrize("profile", TRADED)
def test_every_profile_trades_off_against_the_turnover_cost(
    returns: pd.DataFrame, make_problem: Any, profile: ProfileName
) -> None:
    symbols = list(returns.columns)
    ramp = np.arange(1, len(symbols) + 1, dtype=float)
    previous = dict(zip(symbols, ramp / ramp.sum(), strict=True))
    free = optimize_profile(
        make_problem(returns, previous_weights=previous, cluster_cap=0.5), profile
    )
    penalised = optimize_profile(
        make_problem(returns, previous_weights=previous, turnover_cost=0.0003, cluster_cap=0.5),
        profile,
    )
    info = penalised.diagnostics["turnover_penalty"]
    assert info["active"] is True and info["inactive"] is False, info
    assert info["effect_l1"] > 1e-4
    with_penalty = info["l1_to_previous_with_penalty"]
    without = info["l1_to_previous_without_penalty"]
    assert with_penalty < without
    assert without == pytest.approx(free.diagnostics["turnover"]["l1_to_previous"], abs=1e-6)
    caps = penalised.diagnostics["effective_caps"]
    assert penalised.weights.max() <= caps["asset_cap"] + 1e-7
    assert "cap_projection" not in penalised.fallback_kinds


def test_a_signed_previous_book_counts_the_flip(returns: pd.DataFrame, make_problem: Any) -> None:
    symbols = list(returns.columns)
    flipped = symbols[0]
    held = {s: 1.0 / len(symbols) for s in symbols}
    directions = {s: Direction.LONG for s in symbols}
    directions[flipped] = Direction.SHORT
    previous = previous_in_long_frame(held, directions)
    problem = make_problem(
        returns, directions=directions, previous_weights=previous, turnover_cost=0.002
    )
    result = optimize_profile(problem, ProfileName.HRP)
    w = result.weights
    expected = float(np.abs(w - pd.Series(previous)).sum())
    assert result.diagnostics["turnover"]["l1_to_previous"] == pytest.approx(expected)
    assert abs(w[flipped] - previous[flipped]) == pytest.approx(w[flipped] + held[flipped])
