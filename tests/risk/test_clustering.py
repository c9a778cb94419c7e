"""Tests of Ward clustering, deterministic labels and the cluster registry."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.cluster.hierarchy import fcluster, leaves_list, linkage
from scipy.spatial.distance import squareform

from clusterfolio.enums import Regime
from clusterfolio.errors import ConfigError, DataError
from clusterfolio.manifest import RiskSettings
from clusterfolio.risk.clustering import (
    ClusterInfo,
    adaptive_threshold,
    cluster_labels,
    cluster_registry,
    cut,
    quasi_diag_order,
    registry_records,
    ward_linkage,
)
from clusterfolio.risk.correlation import averaged_distance, intersection_correlation


def _three_blocks(seed: int = 3, n_rows: int = 120) -> pd.DataFrame:
    """Returns of three factor blocks (two symbols in a block share a factor)."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n_rows, 3)) * 0.01
    cols = {}
    names = {0: ["NASDAQ:AAPL", "NASDAQ:MSFT", "NASDAQ:NVDA"], 1: ["AMEX:GLD", "AMEX:SLV"]}
    names[2] = ["BINANCE:BTCUSDT.P", "BINANCE:ETHUSDT.P", "COINBASE:SOLUSD"]
    for k, symbols in names.items():
        for s in symbols:
            cols[s] = factors[:, k] + rng.normal(size=n_rows) * 0.003
    frame = pd.DataFrame(cols)
    frame.iloc[::7, 0] = np.nan  # a few closed sessions
    return frame


def test_ward_linkage_is_order_invariant_and_matches_scipy() -> None:
    returns = _three_blocks()
    dist = averaged_distance(returns, [60, 120], min_overlap=20)
    z = ward_linkage(dist)
    shuffled = dist.iloc[::-1, ::-1]
    np.testing.assert_array_equal(ward_linkage(shuffled), z)
    order = sorted(dist.columns)
    ref = linkage(squareform(dist.loc[order, order].to_numpy(), checks=False), method="ward")
    np.testing.assert_allclose(z, ref, rtol=0, atol=1e-15)


def test_cut_renumbers_by_first_sorted_symbol() -> None:
    returns = _three_blocks()
    dist = averaged_distance(returns, [120], min_overlap=20)
    labels = cluster_labels(dist, threshold=0.5)
    assert list(labels.index) == sorted(returns.columns)
    assert labels.iloc[0] == 1
    assert labels.nunique() == 3
    first_seen = labels.drop_duplicates().tolist()
    assert first_seen == sorted(first_seen) == [1, 2, 3]
    assert labels["AMEX:GLD"] == labels["AMEX:SLV"] == 1
    assert labels["BINANCE:BTCUSDT.P"] == labels["COINBASE:SOLUSD"] == 2
    assert labels["NASDAQ:AAPL"] == labels["NASDAQ:NVDA"] == 3
    # same partition as fcluster, whatever its raw numbering
    z = ward_linkage(dist)
    raw = fcluster(z, t=0.5, criterion="distance")
    assert pd.crosstab(raw, labels.to_numpy()).gt(0).sum(axis=1).eq(1).all()
    pd.testing.assert_series_equal(cluster_labels(dist.iloc[::-1, ::-1], 0.5), labels)
    assert cut(z, 0.0).tolist() == list(range(1, len(labels) + 1))
    assert set(cut(z, 1e9).tolist()) == {1}


def test_single_symbol_and_bad_distances() -> None:
    one = pd.DataFrame([[0.0]], index=["A"], columns=["A"])
    z = ward_linkage(one)
    assert z.shape == (0, 4)
    assert cut(z, 0.5).tolist() == [1]
    assert quasi_diag_order(z) == [0]
    bad = pd.DataFrame([[0.0, np.nan], [np.nan, 0.0]], index=["A", "B"], columns=["A", "B"])
    with pytest.raises(DataError):
        ward_linkage(bad)
    asym = pd.DataFrame([[0.0, 0.2], [0.3, 0.0]], index=["A", "B"], columns=["A", "B"])
    with pytest.raises(DataError, match="symmetric"):
        ward_linkage(asym)
    with pytest.raises(ValueError):
        cut(np.zeros((1, 4)), -1.0)


def test_quasi_diag_order() -> None:
    dist = averaged_distance(_three_blocks(), [120], min_overlap=20)
    z = ward_linkage(dist)
    order = quasi_diag_order(z)
    assert sorted(order) == list(range(dist.shape[0]))
    assert order == leaves_list(z).tolist()


def test_adaptive_threshold() -> None:
    risk = RiskSettings()
    assert adaptive_threshold(0.5, Regime.CRISIS, risk.threshold_by_regime) == pytest.approx(0.4)
    assert adaptive_threshold(0.5, Regime.QUIET, risk.threshold_by_regime) == pytest.approx(0.575)
    with pytest.raises(ConfigError, match="TURBULENT"):
        adaptive_threshold(0.5, Regime.TURBULENT, {Regime.NORMAL: 1.0})
    with pytest.raises(ConfigError):
        adaptive_threshold(-0.5, Regime.NORMAL, {Regime.NORMAL: 1.0})


def test_cluster_registry() -> None:
    returns = _three_blocks()
    labels = cluster_labels(averaged_distance(returns, [120], min_overlap=20), threshold=0.5)
    scores = {"NASDAQ:MSFT": 2.0, "NASDAQ:NVDA": 2.0, "NASDAQ:AAPL": 1.0, "AMEX:SLV": 0.3}
    fragility = {"AMEX:GLD": 0.2, "AMEX:SLV": 0.6, "NASDAQ:AAPL": float("nan")}
    sectors = {
        "NASDAQ:AAPL": "Technology",
        "NASDAQ:MSFT": "Technology",
        "NASDAQ:NVDA": "Semiconductors",
        "AMEX:GLD": "Commodities",
        "AMEX:SLV": "Unclassified",  # the enrichment's placeholder counts as no sector
    }
    reg = cluster_registry(
        returns, labels, lead_scores=scores, fragility=fragility, sectors=sectors
    )
    assert [c.id for c in reg] == [1, 2, 3]
    metals, crypto, tech = reg
    assert metals.members == ("AMEX:GLD", "AMEX:SLV")
    assert metals.lead_asset == "AMEX:SLV"  # GLD has no score
    assert crypto.lead_asset == "BINANCE:BTCUSDT.P"  # no scores: first symbol
    assert tech.lead_asset == "NASDAQ:MSFT"  # tie with NVDA broken by symbol
    assert metals.mean_fragility == pytest.approx(0.4)
    assert tech.mean_fragility is None  # only a NaN fragility
    assert tech.sector_homogeneity == pytest.approx(2 / 3)
    assert tech.dominant_sector == "Technology"
    assert metals.sector_homogeneity == pytest.approx(0.5)
    # no member has a sector: Unclassified, with no homogeneity (never 1.0)
    assert crypto.sector_homogeneity is None and crypto.dominant_sector == "Unclassified"

    corr = intersection_correlation(returns[list(tech.members)], min_overlap=20).to_numpy()
    assert tech.mean_intra_correlation == pytest.approx(corr[np.triu_indices(3, k=1)].mean())
    ew = returns[list(tech.members)].mean(axis=1).dropna()
    assert tech.volatility == pytest.approx(ew.std(ddof=1) * np.sqrt(252))
    assert tech.size == 3

    records = registry_records(reg)
    json.dumps(records, allow_nan=False)
    assert records[0]["members"] == ["AMEX:GLD", "AMEX:SLV"]

    single = cluster_registry(returns[["AMEX:GLD"]], {"AMEX:GLD": 1})
    assert single == [
        ClusterInfo(
            id=1,
            members=("AMEX:GLD",),
            lead_asset="AMEX:GLD",
            mean_intra_correlation=None,
            volatility=single[0].volatility,
            mean_fragility=None,
            sector_homogeneity=None,
        )
    ]
    with pytest.raises(DataError, match="absent"):
        cluster_registry(returns, {"NYSE:XOM": 1})
