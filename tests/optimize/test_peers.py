"""Peer adapters: every supported pair gives valid weights and honours the caps it claims."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from clusterfolio.enums import EngineName, ProfileName
from clusterfolio.errors import DataError
from clusterfolio.optimize import AllocationLevel, optimize_profile
from clusterfolio.optimize.peers import capabilities, clean_returns, enforced_caps, peer_weights

pytest.importorskip("skfolio")
pytest.importorskip("riskfolio")
pytest.importorskip("pypfopt")

PAIRS = [(e, p) for e, profiles in capabilities().items() for p in sorted(profiles)]


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, dict[str, int]]:
    rng = np.random.default_rng(4)
    n, t = 12, 260
    values = (
        rng.normal(size=(t, 3)) @ rng.normal(scale=0.01, size=(3, n))
        + rng.normal(scale=0.01, size=(t, n))
        + 0.0005
    )
    symbols = [f"NYSE:P{i:02d}" for i in range(n)]
    returns = pd.DataFrame(values, columns=symbols)
    returns.iloc[:4, 1] = np.nan
    return returns, {s: i % 4 for i, s in enumerate(symbols)}


def test_capabilities() -> None:
    caps = capabilities()
    assert caps[EngineName.CVXPORTFOLIO] == set()
    assert ProfileName.RISK_PARITY not in caps[EngineName.PYPORTFOLIOOPT]
    assert all(ProfileName.BARBELL not in v and ProfileName.MARKET not in v for v in caps.values())
    assert enforced_caps(EngineName.SKFOLIO, ProfileName.HRP) == {
        "asset_cap": True,
        "cluster_cap": False,
    }


@pytest.mark.parametrize(("engine", "profile"), PAIRS)
def test_pair_gives_valid_capped_weights(
    data: tuple[pd.DataFrame, dict[str, int]], engine: EngineName, profile: ProfileName
) -> None:
    returns, clusters = data
    w = peer_weights(
        engine,
        profile,
        returns,
        clusters=clusters,
        cluster_cap=0.3,
        asset_cap=0.14,
        risk_free_rate=0.01,
    )
    assert w is not None and list(w.index) == list(returns.columns)
    assert np.all(np.isfinite(w)) and w.min() >= -1e-6
    assert w.sum() == pytest.approx(1.0, abs=1e-6)
    enforced = enforced_caps(engine, profile)
    if enforced["asset_cap"]:
        assert w.max() <= 0.14 + 1e-6
    if enforced["cluster_cap"]:
        assert w.groupby(pd.Series(clusters)).sum().max() <= 0.3 + 1e-6


def test_unsupported_pairs_return_none(data: tuple[pd.DataFrame, dict[str, int]]) -> None:
    returns, clusters = data
    kwargs: dict[str, Any] = {"clusters": clusters, "cluster_cap": 0.3, "asset_cap": 0.14}
    assert (
        peer_weights(EngineName.PYPORTFOLIOOPT, ProfileName.RISK_PARITY, returns, **kwargs) is None
    )
    assert peer_weights(EngineName.CVXPORTFOLIO, ProfileName.HRP, returns, **kwargs) is None
    assert peer_weights(EngineName.SKFOLIO, ProfileName.BARBELL, returns, **kwargs) is None
    assert peer_weights(EngineName.CUSTOM, ProfileName.HRP, returns, **kwargs) is None


def test_peers_use_complete_rows(
    data: tuple[pd.DataFrame, dict[str, int]], make_problem: Any
) -> None:
    returns, clusters = data
    clean = clean_returns(returns)
    assert clean.shape[0] == returns.shape[0] - 4 and not clean.isna().any().any()
    # on the complete rows, the custom asset-level min variance solves skfolio's problem at
    # least as well (skfolio's default solver tolerances leave ~1e-4 in the weights)
    peer = peer_weights(
        EngineName.SKFOLIO,
        ProfileName.MIN_VARIANCE,
        returns,
        clusters=clusters,
        cluster_cap=0.3,
        asset_cap=0.14,
    )
    problem = make_problem(
        clean,
        clusters=clusters,
        asset_cap=0.14,
        cluster_cap=0.3,
        fragility_penalty=0.0,
        allocation_levels={ProfileName.MIN_VARIANCE: AllocationLevel.ASSET},
    )
    ours = optimize_profile(problem, ProfileName.MIN_VARIANCE).weights
    assert peer is not None
    cov = clean.cov().to_numpy()
    ours_np = ours.reindex(peer.index).to_numpy()
    assert ours_np @ cov @ ours_np <= peer.to_numpy() @ cov @ peer.to_numpy() * (1 + 1e-9)
    np.testing.assert_allclose(ours_np, peer, atol=2e-3)


def test_too_few_complete_rows(data: tuple[pd.DataFrame, dict[str, int]]) -> None:
    returns, clusters = data
    broken = returns.copy()
    broken.iloc[2:, 0] = np.nan
    with pytest.raises(DataError, match="complete rows"):
        peer_weights(
            EngineName.SKFOLIO,
            ProfileName.MIN_VARIANCE,
            broken,
            clusters=clusters,
            cluster_cap=0.3,
            asset_cap=0.14,
        )
