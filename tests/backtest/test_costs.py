"""The one cost model: formula, validation, settings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clusterfolio.backtest.costs import CostModel
from clusterfolio.errors import ConfigError, DataError
from clusterfolio.manifest import BacktestSettings


def test_cost_rebuilt_by_hand() -> None:
    model = CostModel(slippage=0.0005, commission=0.0001)
    trades = np.array([0.10, -0.05, 0.0, 0.25])
    value = 2.5
    by_hand = (0.0005 + 0.0001) * (0.10 + 0.05 + 0.0 + 0.25) * 2.5
    assert model.per_unit == pytest.approx(0.0006, rel=0, abs=1e-18)
    assert model.cost(trades, portfolio_value=value) == pytest.approx(by_hand, rel=1e-15)


def test_cost_in_currency_units_with_unit_value() -> None:
    model = CostModel(slippage=0.001, commission=0.0)
    assert model.cost([100.0, -50.0]) == pytest.approx(0.15, rel=1e-15)


def test_from_settings_reads_the_manifest_frictions() -> None:
    settings = BacktestSettings(slippage=0.0005, commission=0.0001)
    model = CostModel.from_settings(settings)
    assert model == CostModel(slippage=0.0005, commission=0.0001)
    default = CostModel.from_settings(BacktestSettings())
    assert default.per_unit == pytest.approx(BacktestSettings().slippage + 0.0001)


@pytest.mark.parametrize("bad", [-1e-4, float("nan"), float("inf")])
def test_invalid_rates_are_config_errors(bad: float) -> None:
    with pytest.raises(ConfigError, match="slippage"):
        CostModel(slippage=bad, commission=0.0)
    with pytest.raises(ConfigError, match="commission"):
        CostModel(slippage=0.0, commission=bad)


def test_non_finite_trades_are_data_errors() -> None:
    with pytest.raises(DataError, match="NaN"):
        CostModel(0.001, 0.0).cost(np.array([0.1, np.nan]))


def test_model_is_frozen() -> None:
    model = CostModel(0.001, 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.slippage = 0.5  # type: ignore[misc]


@given(
    trades=st.lists(st.floats(-1.0, 1.0, allow_nan=False), min_size=1, max_size=20),
    value=st.floats(0.01, 1e6),
)
def test_cost_is_symmetric_and_homogeneous(trades: list[float], value: float) -> None:
    model = CostModel(slippage=0.0005, commission=0.0001)
    arr = np.array(trades)
    cost = model.cost(arr, portfolio_value=value)
    assert cost >= 0.0
    assert model.cost(-arr, portfolio_value=value) == pytest.approx(cost, rel=1e-12, abs=1e-300)
    assert model.cost(2 * arr, portfolio_value=value) == pytest.approx(2 * cost, rel=1e-12)
