"""Properties: random valid portfolios pass the audit; one weight pushed beyond a cap fails it."""

from __future__ import annotations

from typing import Any

import audit_factory as af
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterfolio.audit.checks import CheckStatus, audit_portfolio
from clusterfolio.enums import ProfileName

ASSET_CAP = 0.15
CLUSTER_CAP = 0.25
SETTINGS = af.settings(profiles=[ProfileName.HRP], asset_cap=ASSET_CAP, cluster_cap=CLUSTER_CAP)


def _waterfill(total: float, base: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Split ``total`` in proportion to ``base`` without exceeding ``caps``."""
    out = np.zeros_like(base)
    free = np.ones(base.shape[0], dtype=bool)
    remaining = total
    while remaining > 1e-15 and free.any():
        share = remaining * base[free] / base[free].sum()
        idx = np.flatnonzero(free)
        over = share > caps[idx]
        if not over.any():
            out[idx] += share
            break
        hit = idx[over]
        out[hit] = caps[hit]
        remaining -= float(caps[hit].sum())
        free[hit] = False
    return out


@st.composite
def valid_weights(draw: st.DrawFn) -> tuple[dict[str, float], dict[str, int], dict[str, str]]:
    """Random weights inside the caps over a random cluster structure (with SHORTs)."""
    sizes = draw(st.lists(st.integers(1, 4), min_size=4, max_size=10))
    capacity = sum(min(CLUSTER_CAP, ASSET_CAP * s) for s in sizes)
    if capacity < 1.02:
        sizes = [*sizes, 4, 4, 4]
    groups = np.repeat(np.arange(len(sizes)), sizes)
    n = groups.shape[0]
    raw = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=n, max_size=n)))
    totals = np.bincount(groups, weights=raw)
    room = np.minimum(CLUSTER_CAP, ASSET_CAP * np.asarray(sizes, dtype=float))
    cluster_w = _waterfill(1.0, totals, room)
    w = np.zeros(n)
    for g in range(len(sizes)):
        members = np.flatnonzero(groups == g)
        w[members] = _waterfill(cluster_w[g], raw[members], np.full(members.size, ASSET_CAP))
    shorts = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    symbols = [f"NYSE:S{i:03d}" for i in range(n)]
    return (
        dict(zip(symbols, w.tolist(), strict=True)),
        {s: int(g) + 1 for s, g in zip(symbols, groups, strict=True)},
        {s: "SHORT" if short else "LONG" for s, short in zip(symbols, shorts, strict=True)},
    )


def _document(
    weights: dict[str, float], clusters: dict[str, int], directions: dict[str, str]
) -> dict[str, Any]:
    return {
        "as_of": "2026-11-20",
        "regime": "NORMAL",
        "baseline": af.BASELINE,
        "profiles": {"hrp": af.section(weights, clusters, directions=directions)},
    }


def _health(symbols: list[str]) -> dict[str, Any]:
    return {"listings": [{"symbol": s, "status": "OK"} for s in symbols]}


@settings(max_examples=60, deadline=None)
@given(case=valid_weights())
def test_random_valid_portfolios_pass(
    case: tuple[dict[str, float], dict[str, int], dict[str, str]],
) -> None:
    weights, clusters, directions = case
    report = audit_portfolio(
        _document(weights, clusters, directions),
        settings=SETTINGS,
        health=_health(list(weights)),
        returns=None,
    )
    assert report.passed, report.failure_summary()
    assert not report.warnings


@settings(max_examples=60, deadline=None)
@given(case=valid_weights(), pick=st.integers(0, 10_000), excess=st.floats(1e-4, 0.3))
def test_one_weight_beyond_the_asset_cap_fails(
    case: tuple[dict[str, float], dict[str, int], dict[str, str]], pick: int, excess: float
) -> None:
    weights, clusters, directions = case
    symbols = list(weights)
    victim = symbols[pick % len(symbols)]
    new = ASSET_CAP + excess
    scale = (1.0 - new) / (1.0 - weights[victim])
    perturbed = {s: (new if s == victim else w * scale) for s, w in weights.items()}
    report = audit_portfolio(
        _document(perturbed, clusters, directions),
        settings=SETTINGS,
        health=_health(symbols),
        returns=None,
    )
    assert not report.passed
    asset = next(c for c in report.checks if c.name == "asset_cap")
    assert asset.status is CheckStatus.FAIL
    assert victim in asset.evidence["over_cap"]
    assert report.failures  # and the gate says why


@settings(max_examples=60, deadline=None)
@given(case=valid_weights(), pick=st.integers(0, 10_000), excess=st.floats(1e-4, 0.3))
def test_one_cluster_beyond_the_cluster_cap_fails(
    case: tuple[dict[str, float], dict[str, int], dict[str, str]], pick: int, excess: float
) -> None:
    weights, clusters, directions = case
    labels = sorted(set(clusters.values()))
    target = labels[pick % len(labels)]
    members = [s for s in weights if clusters[s] == target]
    inside = sum(weights[s] for s in members)
    new_total = CLUSTER_CAP + excess
    perturbed = {}
    for s, w in weights.items():
        if clusters[s] == target:
            perturbed[s] = new_total / len(members) if inside == 0 else w * new_total / inside
        else:
            perturbed[s] = w * (1.0 - new_total) / (1.0 - inside)
    report = audit_portfolio(
        _document(perturbed, clusters, directions),
        settings=SETTINGS,
        health=_health(list(weights)),
        returns=None,
    )
    cluster = next(c for c in report.checks if c.name == "cluster_cap")
    assert cluster.status is CheckStatus.FAIL
    assert str(target) in cluster.evidence["over_cap"]
    assert not report.passed
