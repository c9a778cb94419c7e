"""Fixtures of the optimiser tests: seeded factor-model returns and problems built from them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest

from clusterfolio.enums import Direction, Regime
from clusterfolio.optimize import OptimizationProblem

ReturnsFactory = Callable[..., pd.DataFrame]
ProblemFactory = Callable[..., OptimizationProblem]


def factor_returns(
    n_assets: int,
    n_obs: int,
    *,
    seed: int = 0,
    n_factors: int = 3,
    drift: float = 0.0004,
    with_market: bool = True,
) -> pd.DataFrame:
    """Daily returns of a factor model (distinct volatilities, positive drift on average)."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(scale=0.01, size=(n_obs, n_factors))
    loadings = rng.normal(scale=0.6, size=(n_factors, n_assets))
    idio = rng.normal(size=(n_obs, n_assets)) * rng.uniform(0.005, 0.02, size=n_assets)
    drifts = drift + rng.normal(scale=0.0004, size=n_assets)
    values = factors @ loadings + idio + drifts
    symbols = [f"NASDAQ:A{i:03d}" for i in range(n_assets)]
    if with_market:
        symbols[-1] = "AMEX:SPY"
    index = pd.bdate_range("2021-01-04", periods=n_obs)
    return pd.DataFrame(values, index=index, columns=symbols)


@pytest.fixture
def make_returns() -> ReturnsFactory:
    """Factory of factor-model returns (see :func:`factor_returns`)."""
    return factor_returns


def build_problem(
    returns: pd.DataFrame,
    *,
    clusters: Mapping[str, int] | None = None,
    n_clusters: int | None = None,
    seed: int = 1,
    **overrides: Any,
) -> OptimizationProblem:
    """A problem over ``returns`` with seeded signals; ``overrides`` set any field."""
    rng = np.random.default_rng(seed)
    symbols = [str(c) for c in returns.columns]
    if clusters is None:
        k = n_clusters if n_clusters is not None else max(1, len(symbols) // 3)
        clusters = {s: i % k for i, s in enumerate(symbols)}
    fields: dict[str, Any] = {
        "returns": returns,
        "clusters": clusters,
        "directions": {s: Direction.LONG for s in symbols},
        "execution_scores": {s: float(rng.uniform(0, 1)) for s in symbols},
        "fragility": {s: float(rng.uniform(0, 1)) for s in symbols},
        "antifragility": {s: float(rng.normal()) for s in symbols},
        "regime": Regime.NORMAL,
    }
    fields.update(overrides)
    return OptimizationProblem(**fields)


@pytest.fixture
def make_problem() -> ProblemFactory:
    """Factory of problems (see :func:`build_problem`)."""
    return build_problem
