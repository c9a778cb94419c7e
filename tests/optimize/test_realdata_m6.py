"""Every profile on the M6 universe: it solves, and the caps hold without a projection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterfolio.enums import Direction, ProfileName, Regime
from clusterfolio.optimize import OptimizationProblem, optimize_all, optimize_profile
from clusterfolio.optimize.cap_effect import caps_decided
from clusterfolio.risk.clustering import cluster_labels


def _m6(root: Path, as_of: str, sessions: int = 500) -> OptimizationProblem:
    folder = root / "etfs" / "m6_universe"
    universe = pd.read_csv(folder / "M6_Universe.csv", encoding="utf-8-sig")
    columns = {}
    for ticker, kind in zip(universe["symbol"], universe["class"], strict=True):
        raw = pd.read_csv(folder / f"{ticker}.csv.gz", parse_dates=["Date"])
        close = raw.set_index("Date")["Adjusted_close"].sort_index()
        close = close[~close.index.duplicated(keep="last")]
        exchange = "LSE" if ticker.endswith(".L") else ("AMEX" if kind == "ETF" else "NYSE")
        columns[f"{exchange}:{ticker.removesuffix('.L')}"] = close.pct_change(fill_method=None)
    frame = pd.DataFrame(columns).sort_index().replace(0.0, np.nan).loc[:as_of].iloc[-sessions:]
    frame = frame.loc[:, frame.notna().sum() >= 0.9 * len(frame)]
    corr = frame.corr().to_numpy()
    distance = pd.DataFrame(np.sqrt(np.clip(0.5 * (1 - corr), 0, 1)), frame.columns, frame.columns)
    clusters = cluster_labels(distance, 0.5)
    return OptimizationProblem(
        returns=frame,
        clusters={str(s): int(c) for s, c in clusters.items()},
        directions={str(s): Direction.LONG for s in frame.columns},
        execution_scores={str(s): float(v) for s, v in frame.iloc[-60:].sum().items()},
        fragility={},
        antifragility={str(s): float(v) for s, v in frame.skew().items()},
        regime=Regime.CRISIS,
        market_symbol="AMEX:IVV",
    )


@pytest.mark.slow
@pytest.mark.realdata
def test_every_profile_solves_on_m6_in_march_2020(shared_data: Path) -> None:
    problem = _m6(shared_data, "2020-03-20")
    results = optimize_all(problem, list(ProfileName))
    for profile, result in results.items():
        moved = result.diagnostics.get("cap_projection", {}).get("moved_l1", 0.0)
        assert moved <= 0.05, (profile, moved)
        assert "cap_projection" not in result.fallback_kinds, profile
        if profile is not ProfileName.MARKET:
            assert result.weights.max() <= problem.asset_cap + 1e-7
            assert max(result.cluster_gross.values()) <= problem.cluster_cap + 1e-7


@pytest.mark.slow
@pytest.mark.realdata
def test_hrp_on_m6_records_that_the_caps_placed_most_of_its_weight(shared_data: Path) -> None:
    """March 2020: the unbounded HRP puts most of the book in SHY; the caps, not HRP, decide."""
    problem = _m6(shared_data, "2020-03-20")
    result = optimize_profile(problem, ProfileName.HRP)
    effect = result.diagnostics["hrp"]["cap_effect"]
    calmest = problem.returns.std().idxmin()
    cut = effect["cut"][0]
    assert cut["symbol"] == calmest == "AMEX:SHY"
    assert cut["unbounded"] > 0.8 and cut["final"] <= problem.asset_cap + 1e-9
    assert effect["l1"] >= 2 * (cut["unbounded"] - cut["final"]) - 1e-9 and caps_decided(effect)
    for row in effect["received"]:
        assert row["final"] == pytest.approx(result.weights[row["symbol"]], abs=1e-12)
