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

from dataclasses import dataclass
from typing import Any

import pandas as pd

from clusterfolio.artifacts.fallbacks import fallbacks_of
from clusterfolio.artifacts.matrices import RETURNS
from clusterfolio.artifacts.portfolio import PORTFOLIO, write_portfolio
from clusterfolio.artifacts.risk import ANTIFRAGILITY, CLUSTERS, REGIME
from clusterfolio.artifacts.selection import WINNERS
from clusterfolio.enums import Direction, ProfileName, Regime, StepName
from clusterfolio.errors import OptimizationError
from clusterfolio.io import read_json, read_parquet
from clusterfolio.pipeline.context import RunContext
from clusterfolio.pipeline.registry import External, Step
from clusterfolio.pipeline.steps.risk import directions_of, synthetic_long, winner_table


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


@dataclass(frozen=True)
class _Inputs:
    """What the step reads: the audited returns, risk buckets, regime, statistics, winners."""

    returns: pd.DataFrame
    buckets: dict[str, Any]
    regime: Regime
    table: pd.DataFrame
    winners: dict[str, dict[str, Any]]
    clusters: dict[str, int]
    directions: dict[str, Direction]
    leads: set[str]

    @classmethod
    def read(cls, ctx: RunContext) -> _Inputs:
        """Read the step's artifacts."""
        buckets = read_json(ctx.artifact(CLUSTERS))
        winners = winner_table(ctx)
        clusters = {str(k): int(v) for k, v in buckets["labels"].items()}
        return cls(
            returns=read_parquet(ctx.artifact(RETURNS)),
            buckets=buckets,
            regime=Regime(read_json(ctx.artifact(REGIME))["label"]),
            table=read_parquet(ctx.artifact(ANTIFRAGILITY)),
            winners=winners,
            clusters=clusters,
            directions=directions_of(winners, sorted(clusters)),
            leads={str(c["lead_asset"]) for c in buckets["clusters"]},
        )


def _problem(ctx: RunContext, inputs: _Inputs) -> Any:
    """The optimisation problem of every profile but ``market`` (turnover against the state)."""
    from clusterfolio.audit.state import held_weights
    from clusterfolio.backtest.costs import CostModel
    from clusterfolio.optimize.problem import OptimizationProblem
    from clusterfolio.optimize.turnover import previous_in_long_frame

    settings = ctx.settings
    symbols = sorted(inputs.clusters)
    held = held_weights(ctx.lakehouse_root)
    turnover_cost = None
    previous = None
    if settings.features.feat_turnover_penalty and held is not None:
        turnover_cost = CostModel.from_settings(settings.backtest).per_unit
        previous = previous_in_long_frame(held, inputs.directions)
    return OptimizationProblem.from_settings(
        settings.risk,
        returns=synthetic_long(inputs.returns[symbols], inputs.directions),
        clusters=inputs.clusters,
        directions=inputs.directions,
        execution_scores={
            s: float(inputs.winners.get(s, {}).get("execution_score", 0.0) or 0.0) for s in symbols
        },
        fragility={str(k): float(v) for k, v in inputs.table["fragility"].dropna().items()},
        antifragility={str(k): float(v) for k, v in inputs.table["antifragility"].dropna().items()},
        regime=inputs.regime,
        previous_weights=previous,
        turnover_cost=turnover_cost,
        market_symbol=settings.backtest.baseline,
    )


def _market_problem(ctx: RunContext, inputs: _Inputs) -> Any:
    """The market profile's problem: 100% of the baseline, from the raw returns."""
    from clusterfolio.optimize.problem import OptimizationProblem

    baseline = ctx.settings.backtest.baseline
    if baseline not in inputs.returns.columns:
        raise OptimizationError(f"market profile needs {baseline} in {RETURNS}")
    return OptimizationProblem.from_settings(
        ctx.settings.risk,
        returns=inputs.returns[[baseline]],
        clusters={baseline: 0},
        directions={baseline: Direction.LONG},
        execution_scores={},
        fragility={},
        antifragility={},
        regime=inputs.regime,
        market_symbol=baseline,
    )


def _section(
    ctx: RunContext, profile: ProfileName, result: Any, assets: list[dict[str, Any]]
) -> dict[str, Any]:
    """The profile's section of the document; its fallbacks and decision recorded."""
    for fallback in fallbacks_of(result.fallbacks):
        ctx.recorder.fallback(f"{profile.value}:{fallback.kind}", fallback.detail or "")
    doc = result.to_dict()
    net = sum(a["net"] for a in assets)
    gross = sum(a["gross"] for a in assets)
    ctx.recorder.decide(
        profile.value,
        "optimised",
        f"{sum(1 for a in assets if a['gross'] > 0)} assets, solver {doc['solver']}, "
        f"net {net:+.3f} / gross {gross:.3f}",
    )
    return {
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


def run(ctx: RunContext) -> None:
    """Solve every profile and write ``portfolio_optimized.json``."""
    from clusterfolio.optimize.profiles import optimize_profile

    settings = ctx.settings
    baseline = settings.backtest.baseline
    inputs = _Inputs.read(ctx)
    problem = _problem(ctx, inputs)
    profiles: dict[str, Any] = {}
    for profile in settings.risk.profiles:
        if profile is ProfileName.MARKET:
            result = optimize_profile(_market_problem(ctx, inputs), profile)
            cluster_map = {baseline: 0}
        else:
            result = optimize_profile(problem, profile)
            cluster_map = inputs.clusters
        assets = _asset_rows(result, cluster_map, inputs.winners, inputs.leads)
        profiles[profile.value] = _section(ctx, profile, result, assets)
    write_portfolio(
        ctx.artifact(PORTFOLIO),
        {
            "as_of": ctx.as_of.isoformat(),
            "regime": inputs.regime.value,
            "baseline": baseline,
            "cluster_cap": settings.risk.cluster_cap,
            "asset_cap": settings.risk.asset_cap,
            "turnover_penalty": problem.turnover_cost is not None,
            "clusters": inputs.buckets["clusters"],
            "profiles": profiles,
        },
    )
    ctx.recorder.counts.update({"profiles": len(profiles), "assets": len(inputs.clusters)})


STEP = Step(
    name=StepName.OPTIMIZATION,
    reads=(RETURNS, CLUSTERS, REGIME, ANTIFRAGILITY),
    optional_reads=(WINNERS,),
    writes=(PORTFOLIO,),
    external_reads=(
        External.ACCEPTED_STATE,
        External.MANIFEST,
        External.LAKEHOUSE,
    ),  # held weights: the turnover penalty
    run=run,
    config_sections=("risk", "features", "backtest"),
    uses_data=True,
    description="Cluster-aware profiles: 25% cluster caps, CVaR fragility penalty, barbell.",
)
