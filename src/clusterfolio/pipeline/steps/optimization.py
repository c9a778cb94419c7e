"""Step 11: cluster-aware optimisation with the custom engine (``make optimize-v2``).

Every profile of ``risk.profiles`` is solved on the synthetic-long returns of the audited
universe with the risk buckets of step 9, the regime of step 10 and the antifragility statistics.
The market profile is 100% ``AMEX:SPY`` from the raw data, never direction-flipped. With
``feat_turnover_penalty`` every profile but ``market`` trades off against the turnover cost
relative to the accepted state's SIGNED book (a flip trades twice the weight), its strength from
the realized simulator's cost model. Every fallback (solver, cap relaxation, projection) is
recorded. Output: ``portfolio_optimized.json``.
"""

from __future__ import annotations

from typing import Any

from clusterfolio.artifacts.fallbacks import fallbacks_of
from clusterfolio.artifacts.portfolio import PORTFOLIO, write_portfolio
from clusterfolio.enums import Direction, ProfileName, Regime, StepName
from clusterfolio.errors import OptimizationError
from clusterfolio.io import read_json, read_parquet
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.registry import External, Step
from clusterfolio.pipeline.steps._common import WINNERS
from clusterfolio.pipeline.steps.health import RETURNS
from clusterfolio.pipeline.steps.risk import (
    ANTIFRAGILITY,
    CLUSTERS,
    REGIME,
    directions_of,
    synthetic_long,
    winner_table,
)


def _asset_rows(
    result: Any, clusters: dict[str, int], winners: dict[str, dict[str, Any]], leads: set[str]
) -> list[dict[str, Any]]:
    rows = []
    for symbol, gross in result.weights.items():
        info = winners.get(symbol, {})
        rows.append(
            {
                "symbol": symbol,
                "identity": info.get("identity", symbol.split(":", 1)[-1]),
                "asset_class": info.get("asset_class", ""),
                "sector": info.get("sector", ""),
                "cluster": clusters.get(symbol),
                "direction": info.get("direction", Direction.LONG.value),
                "gross": float(gross),
                "net": float(result.net_weights[symbol]),
                "lead": symbol in leads,
                "alternatives": info.get("alternatives", []),
            }
        )
    rows.sort(key=lambda r: (-r["gross"], r["symbol"]))
    return rows


def run(ctx: RunContext) -> None:
    """Solve every profile and write ``portfolio_optimized.json``."""
    from clusterfolio.audit.state import held_weights
    from clusterfolio.backtest.costs import CostModel
    from clusterfolio.optimize.problem import OptimizationProblem
    from clusterfolio.optimize.profiles import optimize_profile
    from clusterfolio.optimize.turnover import previous_in_long_frame

    settings = ctx.settings
    baseline = settings.backtest.baseline
    returns = read_parquet(ctx.artifact(RETURNS))
    buckets = read_json(ctx.artifact(CLUSTERS))
    regime_doc = read_json(ctx.artifact(REGIME))
    table = read_parquet(ctx.artifact(ANTIFRAGILITY))
    winners = winner_table(ctx)
    clusters = {str(k): int(v) for k, v in buckets["labels"].items()}
    symbols = sorted(clusters)
    directions = directions_of(winners, symbols)
    regime = Regime(regime_doc["label"])
    leads = {str(c["lead_asset"]) for c in buckets["clusters"]}
    held = held_weights(ctx.lakehouse_root)
    turnover_cost = None
    previous = None
    if settings.features.feat_turnover_penalty and held is not None:
        turnover_cost = CostModel.from_settings(settings.backtest).per_unit
        previous = previous_in_long_frame(held, directions)
    problem = OptimizationProblem.from_settings(
        settings.risk,
        returns=synthetic_long(returns[symbols], directions),
        clusters=clusters,
        directions=directions,
        execution_scores={
            s: float(winners.get(s, {}).get("execution_score", 0.0) or 0.0) for s in symbols
        },
        fragility={str(k): float(v) for k, v in table["fragility"].dropna().items()},
        antifragility={str(k): float(v) for k, v in table["antifragility"].dropna().items()},
        regime=regime,
        previous_weights=previous,
        turnover_cost=turnover_cost,
        market_symbol=baseline,
    )
    profiles: dict[str, Any] = {}
    for profile in settings.risk.profiles:
        if profile is ProfileName.MARKET:
            if baseline not in returns.columns:
                raise OptimizationError(f"market profile needs {baseline} in {RETURNS}")
            market_problem = OptimizationProblem.from_settings(
                settings.risk,
                returns=returns[[baseline]],
                clusters={baseline: 0},
                directions={baseline: Direction.LONG},
                execution_scores={},
                fragility={},
                antifragility={},
                regime=regime,
                market_symbol=baseline,
            )
            result = optimize_profile(market_problem, profile)
            cluster_map = {baseline: 0}
        else:
            result = optimize_profile(problem, profile)
            cluster_map = clusters
        for fallback in fallbacks_of(result.fallbacks):
            ctx.recorder.fallback(f"{profile.value}:{fallback.kind}", fallback.detail or "")
        doc = result.to_dict()
        assets = _asset_rows(result, cluster_map, winners, leads)
        net = sum(a["net"] for a in assets)
        gross = sum(a["gross"] for a in assets)
        profiles[profile.value] = {
            "assets": [a for a in assets if a["gross"] > 0],
            "clusters": {
                str(c): {"gross": doc["cluster_gross"][str(c)], "net": doc["cluster_net"][str(c)]}
                for c in sorted({int(k) for k in doc["cluster_gross"]})
            },
            "gross_exposure": gross,
            "net_exposure": net,
            "solver": doc["solver"],
            "allocation_level": doc["allocation_level"],
            "fallbacks": doc["fallbacks"],
            "diagnostics": doc["diagnostics"],
        }
        ctx.recorder.decide(
            profile.value,
            "optimised",
            f"{sum(1 for a in assets if a['gross'] > 0)} assets, solver {doc['solver']}, "
            f"net {net:+.3f} / gross {gross:.3f}",
        )
    write_portfolio(
        ctx.artifact(PORTFOLIO),
        {
            "as_of": ctx.as_of.isoformat(),
            "regime": regime.value,
            "baseline": baseline,
            "cluster_cap": settings.risk.cluster_cap,
            "asset_cap": settings.risk.asset_cap,
            "turnover_penalty": turnover_cost is not None,
            "clusters": buckets["clusters"],
            "profiles": profiles,
        },
    )
    ctx.recorder.counts.update({"profiles": len(profiles), "assets": len(symbols)})


STEP = Step(
    name=StepName.OPTIMIZATION,
    reads=(RETURNS, CLUSTERS, REGIME, ANTIFRAGILITY),
    optional_reads=(WINNERS,),
    writes=(PORTFOLIO,),
    external_reads=(External.ACCEPTED_STATE,),  # held weights: the turnover penalty
    run=run,
    config_sections=("risk", "features", "backtest"),
    uses_data=True,
    description="Cluster-aware profiles: 25% cluster caps, CVaR fragility penalty, barbell.",
)
