"""``portfolio_report.md``: the implementation dashboard a trader reads first.

Sections: the data health line and audit verdict, the regime, a summary of every profile, the
cluster grid (lead asset, fragility marker, weight of each profile), the Shared Cluster Reference
(implementation alternatives of every member), then one section per profile with its exposures,
risk against the market baseline, the sectors holding 80 % of the weight, the top-3
concentration, and text concentration bars per cluster and per asset by asset class.

Conventions: a position or cluster *is used* when its gross weight is at least
:data:`MIN_WEIGHT` (0.01 %: solver dust below it is not a position); a cluster is marked
fragile (``⚠``) when its mean fragility is at least :data:`FRAGILE_AT` (the top third of the
cross-sectional fragility score, see :mod:`clusterfolio.risk.antifragility`). Statistics are
defined in :mod:`clusterfolio.report.analytics`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from clusterfolio.artifacts.fallbacks import Fallback, fallbacks_of
from clusterfolio.artifacts.portfolio import (
    profile_section,
    profiles_of,
    recorded_cap_effect,
    section_assets,
    section_clusters,
)
from clusterfolio.artifacts.risk import cluster_records
from clusterfolio.optimize.cap_effect import caps_decided, describe_cap_effect
from clusterfolio.report import analytics
from clusterfolio.report.artifacts import (
    AUDIT_JSON,
    CLUSTERS,
    HEALTH_JSON,
    PORTFOLIO,
    REGIME,
    RETURNS,
    UNIVERSE,
    RunArtifacts,
)
from clusterfolio.report.config import ReportConfig
from clusterfolio.report.lookup import AssetInfo, asset_table, describe_alternative
from clusterfolio.report.markdown import Markdown, bar, fmt_float, fmt_pct, is_number
from clusterfolio.report.verdicts import audit_verdict, health_line

__all__ = [
    "FRAGILE_AT",
    "MIN_WEIGHT",
    "SECTOR_SHARE",
    "ProfileStats",
    "fragility_marker",
    "ordered_profiles",
    "profile_stats",
    "render_portfolio_report",
]

MIN_WEIGHT = 1e-4
FRAGILE_AT = 2.0 / 3.0
SECTOR_SHARE = 0.80
TOP_N = 3


@dataclass
class ProfileStats:
    """Figures of one profile shown in the report (and checked by the tests)."""

    name: str
    n_assets: int
    clusters_used: list[str]
    net_exposure: float
    gross_exposure: float
    long_gross: float
    short_gross: float
    top3: float
    top3_assets: list[tuple[str, float]]
    sectors_80: list[tuple[str, float]]
    volatility: float
    periods: int
    beta: float
    correlation: float
    beta_periods: int
    fallbacks: list[Fallback] = field(default_factory=list)


def ordered_profiles(portfolio: dict[str, Any], config: ReportConfig) -> list[str]:
    """Profiles of the portfolio in the run's order (unknown ones after, sorted)."""
    present = list(profiles_of(portfolio))
    known = [p for p in config.profiles if p in present]
    return known + sorted(p for p in present if p not in known)


def fragility_marker(value: Any) -> str:
    """``⚠ 0.71`` for a fragile cluster, ``0.45`` otherwise, ``n/a`` when unknown."""
    if not is_number(value):
        return "n/a"
    text = fmt_float(value, 2)
    return f"⚠ {text}" if float(value) >= FRAGILE_AT else text


def _used(assets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in assets if float(a.get("gross", 0.0)) >= MIN_WEIGHT]


def profile_stats(
    name: str,
    doc: dict[str, Any],
    returns: pd.DataFrame | None,
    baseline: str,
    assets: dict[str, AssetInfo],
) -> ProfileStats:
    """Compute the figures of one profile (see the module docstring)."""
    rows = _used(section_assets(doc))
    gross_by_asset = {str(a["symbol"]): float(a["gross"]) for a in rows}
    clusters = {c: float(v.get("gross", 0.0)) for c, v in section_clusters(doc).items()}
    used_clusters = sorted(
        (c for c, g in clusters.items() if g >= MIN_WEIGHT), key=lambda c: (-clusters[c], c)
    )
    sectors: dict[str, float] = {}
    for row in rows:
        symbol = str(row["symbol"])
        label = assets[symbol].sector_label if symbol in assets else "unclassified"
        sectors[label] = sectors.get(label, 0.0) + float(row["gross"])
    top = sorted(gross_by_asset.items(), key=lambda x: (-x[1], x[0]))[:TOP_N]
    volatility, periods = float("nan"), 0
    beta = analytics.BetaStats(float("nan"), float("nan"), 0)
    if returns is not None:
        weights = {str(a["symbol"]): float(a["net"]) for a in section_assets(doc)}
        series = analytics.portfolio_returns(returns, weights)
        volatility, periods = analytics.series_volatility(series)
        if baseline in returns.columns:
            beta = analytics.beta_correlation(series, returns[baseline])
    return ProfileStats(
        name=name,
        n_assets=len(rows),
        clusters_used=used_clusters,
        net_exposure=float(doc.get("net_exposure", sum(float(a["net"]) for a in rows))),
        gross_exposure=float(doc.get("gross_exposure", sum(gross_by_asset.values()))),
        long_gross=sum(float(a["gross"]) for a in rows if float(a["net"]) > 0),
        short_gross=sum(float(a["gross"]) for a in rows if float(a["net"]) < 0),
        top3=analytics.top_share(gross_by_asset, TOP_N),
        top3_assets=top,
        sectors_80=analytics.smallest_cover(sectors, SECTOR_SHARE),
        volatility=volatility,
        periods=periods,
        beta=beta.beta,
        correlation=beta.correlation,
        beta_periods=beta.n_periods,
        fallbacks=fallbacks_of(doc.get("fallbacks")),
    )


def _header(
    md: Markdown, arts: RunArtifacts, config: ReportConfig, portfolio: dict[str, Any]
) -> None:
    as_of = config.as_of or str(portfolio.get("as_of", ""))
    md.h1(f"Portfolio report: {as_of}")
    meta = [f"as of **{as_of}**"]
    if config.run_id:
        meta.append(f"run `{config.run_id}`")
    if config.manifest_profile:
        meta.append(f"manifest profile `{config.manifest_profile}`")
    meta.append(f"market baseline `{portfolio.get('baseline', config.baseline)}`")
    caps = (
        f"caps: cluster {fmt_pct(portfolio.get('cluster_cap'), 0)}, "
        f"asset {fmt_pct(portfolio.get('asset_cap'), 0)}"
    )
    meta.append(caps)
    md.add(" · ".join(meta))
    health = arts.json(HEALTH_JSON)
    md.add(f"> **Data health:** {health_line(health, arts.json(UNIVERSE))}.")
    audit = arts.json(AUDIT_JSON)
    if audit is None:
        md.add(
            f"> **Audit:** not available in this run: `{AUDIT_JSON}` (run `make audit`; "
            "never implement a portfolio whose audit has not passed)."
        )
    else:
        verdict = audit_verdict(audit, arts.run_dir)
        if verdict.stale:
            md.add(
                f"> **Audit: STALE** — `{AUDIT_JSON}` was written for other inputs "
                f"({', '.join(verdict.stale)} changed since): run `make audit` again."
            )
        elif verdict.passed:
            warned = f"; warnings: {'; '.join(verdict.warnings)}" if verdict.warnings else ""
            md.add(f"> **Audit:** PASSED ({verdict.n_checks} checks{warned}).")
        else:
            failed = "; ".join(verdict.failed_checks) or "audit.json says passed is not true"
            md.add(f"> **Audit: FAILED** — do not implement this portfolio. Failing: {failed}.")


def _regime(md: Markdown, arts: RunArtifacts) -> None:
    md.h2("Regime")
    regime = arts.json(REGIME)
    if not isinstance(regime, dict):
        md.missing(REGIME)
        return
    thresholds = regime.get("thresholds") or {}
    spectral = bool(regime.get("spectral"))
    text = (
        f"**{regime.get('label', 'n/a')}** (composite score {fmt_float(regime.get('score'), 3)}; "
        f"QUIET below {fmt_float(thresholds.get('quiet_below'), 2)}, "
        + (
            f"TURBULENT above {fmt_float(thresholds.get('turbulent_above'), 2)}, "
            if spectral
            else "TURBULENT off (feat_spectral_regimes), "
        )
        + f"CRISIS above {fmt_float(thresholds.get('crisis_above'), 2)}). "
        f"Barbell aggressor share {fmt_pct(regime.get('aggressor_share'), 1)}."
    )
    md.add(text)
    features = regime.get("features") or {}
    names = sorted({k[: -len("_score")] for k in features if k.endswith("_score")})
    if names:
        md.table(
            ["Component", "Value", "Score (0 calm .. 1 stressed)"],
            [
                [n, fmt_float(features.get(n), 4), fmt_float(features.get(f"{n}_score"), 3)]
                for n in names
            ],
            "lrr",
        )


def _summary(
    md: Markdown, stats: list[ProfileStats], config: ReportConfig, solvers: dict[str, str]
) -> None:
    md.h2("Profiles at a glance")
    rows = []
    for s in stats:
        mark = " (accepted)" if s.name == config.accepted_profile else ""
        rows.append(
            [
                f"{s.name}{mark}",
                solvers.get(s.name, ""),
                s.n_assets,
                len(s.clusters_used),
                fmt_pct(s.net_exposure, 1),
                fmt_pct(s.gross_exposure, 1),
                fmt_pct(s.top3, 1),
                fmt_pct(s.volatility, 2),
                fmt_float(s.beta, 2),
                fmt_float(s.correlation, 2),
                f"⚠ {len(s.fallbacks)}" if s.fallbacks else "0",
            ]
        )
    md.table(
        [
            "Profile",
            "Solver",
            "Assets",
            "Clusters used",
            "Net",
            "Gross",
            "Top-3",
            "Volatility",
            f"Beta ({config.baseline})",
            f"Corr ({config.baseline})",
            "Fallbacks",
        ],
        rows,
        "llrrrrrrrrr",
    )
    md.add(
        f"Assets and clusters count positions of at least {fmt_pct(MIN_WEIGHT, 2)} gross. "
        "Volatility, beta and correlation hold today's net weights constant over the audited "
        "return history (`returns.parquet`); beta and correlation are measured on the "
        "baseline's sessions."
    )


def _cluster_grid(
    md: Markdown,
    clusters: list[dict[str, Any]],
    profiles: list[str],
    portfolio: dict[str, Any],
    assets: dict[str, AssetInfo],
) -> None:
    md.h2("Cluster grid")
    md.add(
        "Trade the **lead asset** of each cluster first. Fragility is the members' mean "
        f"fragility score (0 robust .. 1 fragile); ⚠ marks the top third (≥ {fmt_float(FRAGILE_AT, 2)})."
    )
    headers = ["Cluster", "Size", "Lead asset", "Fragility", "Volatility", "Members", *profiles]
    rows = []
    for c in clusters:
        cid = str(c["id"])
        members = [
            assets[m].name if m in assets else m.split(":", 1)[-1] for m in c.get("members", [])
        ]
        weights = []
        for p in profiles:
            entry = section_clusters(profile_section(portfolio, p)).get(cid) or {}
            gross = entry.get("gross")
            used = is_number(gross) and float(gross or 0.0) >= MIN_WEIGHT
            weights.append(fmt_pct(gross, 1) if used else "—")
        rows.append(
            [
                cid,
                c.get("size", len(members)),
                c.get("lead_asset", ""),
                fragility_marker(c.get("mean_fragility")),
                fmt_pct(c.get("volatility"), 1),
                ", ".join(members),
                *weights,
            ]
        )
    md.table(headers, rows, "rrllrl" + "r" * len(profiles))


def _cluster_reference(
    md: Markdown, clusters: list[dict[str, Any]], assets: dict[str, AssetInfo]
) -> None:
    md.h2("Shared Cluster Reference")
    md.add(
        "Implementation alternatives: other venues or listings of the same economic identity "
        "(merged by the raw pool). Use one when the lead asset lacks liquidity; the other "
        "members are substitutes of the lead within the risk bucket."
    )
    rows = []
    n_alts = 0
    for c in clusters:
        from_clusters = c.get("alternatives") or {}
        lead = str(c.get("lead_asset", ""))
        directions = c.get("directions") or {}
        others = [m for m in c.get("members", []) if m != lead]
        venues = []
        for member in c.get("members", []):
            alts = from_clusters.get(member) or (
                assets[member].alternatives if member in assets else []
            )
            if alts:
                n_alts += len(alts)
                listed = ", ".join(describe_alternative(a) for a in alts)
                venues.append(f"{member} → {listed}")
        side = directions.get(lead) or (assets[lead].side if lead in assets else "LONG")
        rows.append(
            [str(c["id"]), f"{lead} ({side})", ", ".join(others) or "—", "; ".join(venues) or "—"]
        )
    md.table(
        ["Cluster", "Lead asset", "Other members", "Implementation alternatives"], rows, "rlll"
    )
    if n_alts == 0:
        md.add("No member has an alternative listing in this run's raw pool.")


def _only_asset(doc: dict[str, Any], cluster: str) -> str:
    """The lead of a cluster absent from ``clusters.json`` (the market's): its largest asset."""
    members = [a for a in section_assets(doc) if str(a.get("cluster")) == cluster]
    if not members:
        return "—"
    return str(max(members, key=lambda a: (float(a["gross"]), str(a["symbol"])))["symbol"])


def _profile_section(
    md: Markdown,
    name: str,
    doc: dict[str, Any],
    stats: ProfileStats,
    clusters: dict[str, dict[str, Any]],
    assets: dict[str, AssetInfo],
    config: ReportConfig,
) -> None:
    accepted = " (accepted profile)" if name == config.accepted_profile else ""
    md.h2(f"Profile: {name}{accepted}")
    lines = [
        f"Solver: `{doc.get('solver', 'n/a')}` · allocation level: {doc.get('allocation_level', 'n/a')}",
        f"Net exposure: {fmt_pct(stats.net_exposure, 2)} · gross exposure: "
        f"{fmt_pct(stats.gross_exposure, 2)} (long {fmt_pct(stats.long_gross, 2)}, "
        f"short {fmt_pct(stats.short_gross, 2)})",
        f"Volatility: {fmt_pct(stats.volatility, 2)} annualised ({stats.periods} sessions per year)",
        f"Beta to {config.baseline}: {fmt_float(stats.beta, 3)} · correlation to "
        f"{config.baseline}: {fmt_float(stats.correlation, 3)} ({stats.beta_periods} baseline sessions)",
        f"Clusters used: {len(stats.clusters_used)} of {len(clusters)}",
        f"Top-3 concentration: {fmt_pct(stats.top3, 2)} ("
        + ", ".join(f"{s} {fmt_pct(w, 2)}" for s, w in stats.top3_assets)
        + ")",
        f"Sectors holding {fmt_pct(SECTOR_SHARE, 0)} of the weight: "
        + (", ".join(f"{s} {fmt_pct(w, 2)}" for s, w in stats.sectors_80) or "n/a"),
    ]
    md.bullets(lines)
    if stats.fallbacks:
        md.add(
            "\n".join(
                f"> ⚠ **Fallback** `{fb.kind or '?'}`: {fb.detail or ''}" for fb in stats.fallbacks
            )
        )
    recorded = recorded_cap_effect(doc)
    if recorded is not None and caps_decided(recorded[1]):
        allocator, effect = recorded
        md.add(f"> ⚠ **Caps** (audit `cap_effect`): {describe_cap_effect(effect, allocator)}")
    _cluster_concentration(md, doc, stats, clusters)
    _positions_by_class(md, doc, assets)


def _cluster_concentration(
    md: Markdown, doc: dict[str, Any], stats: ProfileStats, clusters: dict[str, dict[str, Any]]
) -> None:
    """One row per cluster used: lead asset, fragility, net and gross weight."""
    md.h3("Concentration by cluster")
    entries = section_clusters(doc)
    rows = []
    for cid in stats.clusters_used:
        entry = entries[cid]
        info = clusters.get(cid, {})
        lead = info.get("lead_asset") or _only_asset(doc, cid)
        rows.append(
            [
                cid,
                lead,
                fragility_marker(info.get("mean_fragility")),
                fmt_pct(entry.get("net"), 2),
                bar(entry.get("gross")),
            ]
        )
    md.table(["Cluster", "Lead asset", "Fragility", "Net", "Gross"], rows, "rllrl")


def _positions_by_class(md: Markdown, doc: dict[str, Any], assets: dict[str, AssetInfo]) -> None:
    """The positions grouped by asset class, heaviest class first."""
    md.h3("Positions by asset class")
    by_class: dict[str, list[dict[str, Any]]] = {}
    for row in _used(section_assets(doc)):
        symbol = str(row["symbol"])
        klass = assets[symbol].class_label if symbol in assets else "unknown"
        by_class.setdefault(klass, []).append(row)
    order = sorted(by_class, key=lambda k: (-sum(float(r["gross"]) for r in by_class[k]), k))
    for klass in order:
        rows_c = by_class[klass]
        gross = sum(float(r["gross"]) for r in rows_c)
        noun = "position" if len(rows_c) == 1 else "positions"
        md.add(f"**{klass}** — {len(rows_c)} {noun}, gross {fmt_pct(gross, 2)}")
        table_rows = []
        for r in sorted(rows_c, key=lambda x: (-float(x["gross"]), str(x["symbol"]))):
            symbol = str(r["symbol"])
            meta = assets.get(symbol)
            table_rows.append(
                [
                    symbol,
                    meta.sector_label if meta else "unclassified",
                    r.get("cluster", ""),
                    "lead" if r.get("lead") else "",
                    r.get("direction", "LONG"),
                    fmt_pct(r.get("net"), 2),
                    bar(r.get("gross")),
                ]
            )
        md.table(
            ["Asset", "Sector", "Cluster", "Role", "Direction", "Net", "Gross"],
            table_rows,
            "llrllrl",
        )


def render_portfolio_report(arts: RunArtifacts, config: ReportConfig) -> str:
    """Render ``portfolio_report.md`` from the run's artifacts.

    Parameters
    ----------
    arts : RunArtifacts
        The run (``portfolio_optimized.json`` and ``clusters.json`` are required).
    config : ReportConfig
        Run identity, baseline and profiles.

    Returns
    -------
    str
        The Markdown document.
    """
    portfolio = arts.require_json(PORTFOLIO)
    cluster_doc = arts.require_json(CLUSTERS)
    returns = arts.parquet(RETURNS)
    assets = asset_table(arts)
    profiles = ordered_profiles(portfolio, config)
    clusters = cluster_records(cluster_doc)
    by_id = {str(c["id"]): c for c in clusters}
    baseline = str(portfolio.get("baseline", config.baseline))
    stats = [
        profile_stats(p, profiles_of(portfolio)[p], returns, baseline, assets) for p in profiles
    ]
    md = Markdown()
    _header(md, arts, config, portfolio)
    _regime(md, arts)
    if returns is None:
        md.add(f"> Volatility, beta and correlation: not available in this run: `{RETURNS}`.")
    _summary(
        md, stats, config, {p: str(profiles_of(portfolio)[p].get("solver", "")) for p in profiles}
    )
    _cluster_grid(md, clusters, profiles, portfolio, assets)
    _cluster_reference(md, clusters, assets)
    for name, s in zip(profiles, stats, strict=True):
        _profile_section(md, name, profiles_of(portfolio)[name], s, by_id, assets, config)
    return md.render()
