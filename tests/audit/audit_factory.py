"""Builders of small, valid ``portfolio_optimized.json`` documents and their companions.

The universe: 8 clusters (ids 1..8) of 2 assets each plus the market baseline ``AMEX:SPY``
(cluster 0, held only by the market profile). With the default caps (asset 15%, cluster 25%)
every profile built here is valid.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.io import atomic_write_json, atomic_write_parquet
from clusterfolio.manifest import Settings

BASELINE = "AMEX:SPY"
N_CLUSTERS = 8
CLUSTERS: dict[str, int] = {
    f"NASDAQ:C{c}A{i}": c for c in range(1, N_CLUSTERS + 1) for i in range(2)
}
SYMBOLS = sorted(CLUSTERS)
AGGRESSORS = ["NASDAQ:C1A0", "NASDAQ:C2A0", "NASDAQ:C3A0"]
PROFILES = ("min_variance", "hrp", "max_sharpe", "barbell", "risk_parity", "equal_weight")
RUN_ID = "2026-11-20_test_0000000000"


def section(
    weights: Mapping[str, float],
    clusters: Mapping[str, int] | None = None,
    *,
    directions: Mapping[str, str] | None = None,
    fallbacks: list[dict[str, Any]] | None = None,
    diagnostics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A profile section with consistent assets, cluster totals and exposures."""
    clusters = CLUSTERS if clusters is None else clusters
    directions = directions or {}
    assets: list[dict[str, Any]] = []
    for symbol, gross in weights.items():
        if gross <= 0:
            continue
        sign = -1.0 if directions.get(symbol) == "SHORT" else 1.0
        assets.append(
            {
                "symbol": symbol,
                "cluster": clusters.get(symbol),
                "direction": directions.get(symbol, "LONG"),
                "gross": float(gross),
                "net": sign * float(gross),
            }
        )
    totals: dict[str, dict[str, float]] = {}
    for a in assets:
        if a["cluster"] is None:
            continue
        entry = totals.setdefault(str(a["cluster"]), {"gross": 0.0, "net": 0.0})
        entry["gross"] += a["gross"]
        entry["net"] += a["net"]
    return {
        "assets": assets,
        "clusters": totals,
        "gross_exposure": float(sum(a["gross"] for a in assets)),
        "net_exposure": float(sum(a["net"] for a in assets)),
        "solver": "test",
        "allocation_level": "asset",
        "fallbacks": list(fallbacks or []),
        "diagnostics": dict(diagnostics or {}),
    }


def equal_weights(symbols: list[str] | None = None) -> dict[str, float]:
    """1/N over ``symbols`` (the whole universe by default)."""
    symbols = SYMBOLS if symbols is None else symbols
    return {s: 1.0 / len(symbols) for s in symbols}


def barbell_weights(share: float = 0.10) -> dict[str, float]:
    """``share`` over the aggressors, the rest equally over the core."""
    core = [s for s in SYMBOLS if s not in AGGRESSORS]
    out = {s: share / len(AGGRESSORS) for s in AGGRESSORS}
    out.update({s: (1.0 - share) / len(core) for s in core})
    return out


def barbell_section(
    share: float = 0.10,
    *,
    recorded_share: float | None = None,
    fallbacks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A barbell profile with its diagnostics."""
    core = [s for s in SYMBOLS if s not in AGGRESSORS]
    return section(
        barbell_weights(share),
        fallbacks=fallbacks,
        diagnostics={
            "barbell": {
                "aggressors": list(AGGRESSORS),
                "core": core,
                "aggressor_share": share if recorded_share is None else recorded_share,
                "configured_share": 0.10,
                "regime": "NORMAL",
            }
        },
    )


def market_section() -> dict[str, Any]:
    """100% long the baseline."""
    return section({BASELINE: 1.0}, {BASELINE: 0})


def portfolio() -> dict[str, Any]:
    """A valid portfolio holding every default profile."""
    rng = np.random.default_rng(3)
    raw = rng.uniform(0.5, 1.5, size=len(SYMBOLS))
    mv = dict(zip(SYMBOLS, raw / raw.sum(), strict=True))
    profiles = {name: section(equal_weights()) for name in PROFILES}
    profiles["min_variance"] = section(mv)
    profiles["barbell"] = barbell_section()
    profiles["market"] = market_section()
    return {
        "as_of": "2026-11-20",
        "regime": "NORMAL",
        "baseline": BASELINE,
        "asset_cap": 0.15,
        "cluster_cap": 0.25,
        "clusters": [],
        "profiles": profiles,
    }


def with_profile(doc: Mapping[str, Any], name: str, new: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``doc`` with profile ``name`` replaced."""
    out = copy.deepcopy(dict(doc))
    out["profiles"][name] = new
    return out


def health(bad: Mapping[str, str] | None = None, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """``data_health.json``: every symbol OK except ``bad``; ``drop`` removes listings."""
    bad = bad or {}
    listings = [
        {"symbol": s, "status": bad.get(s, "OK"), "findings": []}
        for s in [*SYMBOLS, BASELINE]
        if s not in drop
    ]
    return {"listings": listings, "n_listings": len(listings)}


def universe(filled: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    """``universe.json`` holding every symbol."""
    return {"symbols": [*SYMBOLS, BASELINE], "excluded": {}, "filled": dict(filled or {})}


def returns(n: int = 160, *, seed: int = 0, market_loading: float = 0.0) -> pd.DataFrame:
    """Business-day returns; each asset is ``market_loading x market + noise``."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2026-04-01", periods=n)
    market = rng.normal(0.0003, 0.01, size=n)
    data = {BASELINE: market}
    for s in SYMBOLS:
        data[s] = market_loading * market + rng.normal(0.0, 0.01, size=n)
    return pd.DataFrame(data, index=index)


def settings(**risk: Any) -> Settings:
    """Default settings with ``risk`` fields replaced."""
    base = Settings()
    return base.model_copy(update={"risk": base.risk.model_copy(update=risk)})


def write_run(
    root: Path,
    doc: Mapping[str, Any] | None = None,
    *,
    run_id: str = RUN_ID,
    settings_doc: Settings | None = None,
    health_doc: Mapping[str, Any] | None = None,
) -> Path:
    """Write a run directory under ``root/data/runs`` (with ``latest``) and return it."""
    runs = root / "data" / "runs"
    run_dir = runs / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(run_dir / "portfolio_optimized.json", doc if doc is not None else portfolio())
    atomic_write_json(run_dir / "data_health.json", health_doc or health())
    atomic_write_json(run_dir / "universe.json", universe())
    atomic_write_parquet(run_dir / "returns.parquet", returns())
    atomic_write_json(
        run_dir / "run_manifest.json",
        {
            "run_id": run_id,
            "profile": "test",
            "as_of": "2026-11-20",
            "seed": 42,
            "config_hash": "0" * 64,
            "settings": (settings_doc or Settings()).model_dump(mode="json"),
            "overrides": [],
            "code_version": "test",
            "status": "completed",
            "steps": {},
        },
    )
    latest = runs / "latest"
    latest.unlink(missing_ok=True)
    latest.symlink_to(run_id)
    return run_dir
