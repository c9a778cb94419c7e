"""How far the caps moved a profile from its unbounded allocation (``diagnostics.hrp.cap_effect``).

Golden values on a three-asset case; the invariant that ``l1`` is the distance between the bounded
and the unbounded HRP of the same tree; and the real-data pathology it reports: one very calm
asset takes most of the unbounded HRP, the caps cut it and the excess lands elsewhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from clusterfolio.enums import ProfileName
from clusterfolio.optimize import optimize_profile
from clusterfolio.optimize.cap_effect import (
    MAX_CAP_MOVE,
    cap_effect,
    caps_decided,
    describe_cap_effect,
)
from clusterfolio.optimize.hrp import hrp_weights

SYMBOLS = ["A", "B", "C"]


def test_golden_move_cut_and_receivers() -> None:
    cov = np.diag([0.01, 0.04, 0.09])
    effect = cap_effect(SYMBOLS, np.array([0.8, 0.1, 0.1]), np.array([0.4, 0.3, 0.3]), cov)
    assert effect["l1"] == pytest.approx(0.8)
    assert [r["symbol"] for r in effect["cut"]] == ["A"]
    assert effect["cut"][0]["unbounded"] == pytest.approx(0.8)
    assert effect["cut"][0]["final"] == pytest.approx(0.4)
    assert [r["symbol"] for r in effect["received"]] == ["C", "B"]  # equal moves: stable order
    c = effect["received"][0]
    assert c["volatility"] == pytest.approx(0.3)
    assert c["risk_share"] == pytest.approx(0.0081 / 0.0133)  # w_i^2 s_i^2 / w'Sw, diagonal


def test_no_binding_cap_is_no_move() -> None:
    w = np.array([0.5, 0.3, 0.2])
    effect = cap_effect(SYMBOLS, w, w.copy(), np.eye(3) * 0.04)
    assert effect["l1"] == 0.0 and effect["cut"] == [] and effect["received"] == []
    assert not caps_decided(effect)
    assert describe_cap_effect(effect, "hrp") == (
        f"the caps moved 0.00 of L1 from the unbounded hrp (at most {MAX_CAP_MOVE:.2f})"
    )


@pytest.mark.parametrize(
    ("l1", "decided"),
    [(MAX_CAP_MOVE, False), (MAX_CAP_MOVE + 0.01, True), ("x", True), (None, True)],
)
def test_the_threshold_and_a_malformed_record(l1: Any, decided: bool) -> None:
    effect = {"l1": l1, "cut": [{"symbol": "A", "unbounded": "?", "final": 0.15}], "received": 3}
    assert caps_decided(effect) is decided
    if decided:
        text = describe_cap_effect(effect, "hrp")
        assert "cut A n/a -> 15.0%" in text and "went to none listed" in text


@pytest.fixture
def calm_one(make_returns: Any) -> pd.DataFrame:
    """Twelve assets, one of them (``NASDAQ:A003``) fifty times calmer than the others."""
    frame = make_returns(12, 400, seed=5)
    frame["NASDAQ:A003"] = frame["NASDAQ:A003"] * 0.02
    return frame


def test_hrp_records_how_far_the_caps_moved_it(calm_one: pd.DataFrame, make_problem: Any) -> None:
    problem = make_problem(calm_one, n_clusters=4, asset_cap=0.15, cluster_cap=0.4)
    result = optimize_profile(problem, ProfileName.HRP)
    effect = result.diagnostics["hrp"]["cap_effect"]
    calm = effect["cut"][0]
    assert calm["symbol"] == "NASDAQ:A003" and calm["unbounded"] > 0.8
    assert calm["final"] == pytest.approx(result.weights["NASDAQ:A003"], abs=1e-12)
    assert calm["final"] <= 0.15 + 1e-9
    # the cut alone moves 2 x (unbounded - final): the excess had to land on other assets
    assert effect["l1"] >= 2 * (calm["unbounded"] - calm["final"]) - 1e-9
    assert caps_decided(effect)
    for row in effect["received"]:
        assert row["final"] == pytest.approx(result.weights[row["symbol"]], abs=1e-12)
        assert row["final"] > row["unbounded"] and row["final"] <= 0.15 + 1e-9


def test_l1_is_the_distance_to_the_unbounded_tree(make_returns: Any) -> None:
    frame = make_returns(10, 300, seed=2)
    cov = frame.cov().to_numpy() * 252
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    free, _ = hrp_weights(cov, corr)
    bounded, _ = hrp_weights(cov, corr, upper=np.full(10, 0.12))
    effect = cap_effect(list(frame.columns), free, bounded, cov)
    assert effect["l1"] == pytest.approx(float(np.abs(bounded - free).sum()), abs=1e-15)
    shares = [r["risk_share"] for r in effect["received"]]
    assert all(0.0 <= s <= 1.0 for s in shares)


def test_barbell_records_the_move_of_its_core(calm_one: pd.DataFrame, make_problem: Any) -> None:
    problem = make_problem(calm_one, n_clusters=4, asset_cap=0.15, cluster_cap=0.4)
    result = optimize_profile(problem, ProfileName.BARBELL)
    barbell = result.diagnostics["barbell"]
    effect = barbell["cap_effect"]
    moved = {r["symbol"] for r in effect["cut"] + effect["received"]}
    assert not moved & set(barbell["aggressors"])  # the aggressors' share is not the caps' doing
    assert "NASDAQ:A003" in barbell["core"] and effect["cut"][0]["symbol"] == "NASDAQ:A003"
    core_share = 1.0 - barbell["aggressor_share"]
    assert effect["cut"][0]["unbounded"] > 0.8 * core_share
    assert caps_decided(effect)
