"""The audit gate: every constraint of ``portfolio_optimized.json`` checked, with evidence.

``make audit`` (``clusterfolio audit``) runs :func:`audit_portfolio` over the optimised portfolio
of a run. A portfolio whose audit fails must not be implemented (``accept-state`` refuses it).

Checks
------
Each check has a name, the profile it is about (``*`` for the whole document), a severity
(``fail`` or ``warn``: how serious a breach is), whether it passed, a message and the evidence
(numbers). Its status is ``pass`` when it passed, else ``warn`` or ``fail`` by its severity; the
audit passes when no check has the status ``fail``.

For every profile of the document:

``weights_finite`` (fail)
    Every held asset has a symbol (no duplicates), a finite gross weight ``>= 0`` and a finite net
    weight (``null``, NaN and inf are breaches).
``direction_consistency`` (fail)
    ``net == sign x gross`` (``sign`` +1 for LONG, -1 for SHORT; the market profile is always long).
``weights_sum`` (fail)
    The gross weights add up to one within :data:`SUM_TOL`.
``exposure_bounds`` (fail)
    The recorded ``gross_exposure`` is one and ``|net_exposure| <= 1`` (within :data:`SUM_TOL`),
    and both equal the sums recomputed from the assets.
``cluster_totals_consistent`` (fail)
    The recorded per-cluster gross and net sums equal those recomputed from the assets.
``asset_cap`` / ``cluster_cap`` (fail; every profile but ``market``)
    No gross weight above ``risk.asset_cap`` and no cluster total (recomputed from the assets'
    ``cluster``) above ``risk.cluster_cap``, within :data:`CAP_TOL`. A breach covered by a cap
    relaxation recorded in the profile (``fallbacks`` or ``diagnostics.cap_relaxations``, kind
    ``cap_relaxation``, raising that cap to ``to``) is downgraded to a warning; a breach beyond the
    recorded relaxed cap, or with none recorded, fails. A held asset without a cluster fails the
    cluster cap (the cap cannot be verified).
``data_health`` (fail)
    Every held asset is ``OK`` in ``data_health.json`` (an asset absent from it, or no health
    document at all, fails); with ``universe.json`` also every held asset is in the implementation
    universe. ``data_forward_fill`` (warn) flags held assets whose matrices were forward-filled.
``barbell_insulation`` (fail; ``barbell``)
    ``diagnostics.barbell`` names the aggressors and the core; they are disjoint, the aggressors
    sit in distinct clusters, and every held asset is one or the other.
``barbell_aggressor_share`` (fail; ``barbell``)
    The aggressors' gross weight (recomputed from the assets) equals the regime's configured
    share ``risk.barbell_aggressor_share[regime]`` within :data:`SUM_TOL`, and never exceeds the
    largest share of the table (the band). A smaller share passes with a warning only when a
    reduction is recorded (fallback ``barbell_share`` or ``barbell_aggressors``); the recorded
    ``diagnostics.barbell.aggressor_share`` must match.
``cap_effect`` (warn; ``hrp``, ``barbell``)
    The caps moved the profile at most :data:`~clusterfolio.optimize.cap_effect.MAX_CAP_MOVE` in L1
    from its unbounded allocation (:mod:`clusterfolio.audit.allocation_checks`).
``market_beta`` (warn; ``min_variance``)
    The beta of the profile's net weights to the market baseline (from ``returns.parquet``, see
    :func:`market_beta`) is at most ``risk.beta_threshold``; no returns or too few sessions is a
    warning too.
``market_baseline`` (fail; ``market``)
    The market profile is exactly 100% gross and net long the baseline (``AMEX:SPY``).

And once for the document: ``profiles_present`` (fail), every profile of ``risk.profiles`` is in
the document.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from clusterfolio.artifacts.portfolio import profiles_of
from clusterfolio.audit.allocation_checks import check_cap_effect
from clusterfolio.audit.findings import (
    CAP_TOL,
    DIRECTION_TOL,
    DOCUMENT,
    MIN_BETA_SESSIONS,
    SUM_TOL,
    AuditCheck,
    AuditReport,
)
from clusterfolio.audit.market_checks import barbell_checks, check_beta, check_market, market_beta
from clusterfolio.audit.profile_view import (
    Asset,
    assets_of,
    held_assets,
    make_check,
    num,
    recorded_relaxations,
)
from clusterfolio.enums import CheckSeverity, CheckStatus, Direction, HealthStatus, ProfileName
from clusterfolio.manifest import Settings

__all__ = [
    "BETA_PROFILES",
    "CAP_TOL",
    "DIRECTION_TOL",
    "DOCUMENT",
    "MIN_BETA_SESSIONS",
    "SUM_TOL",
    "AuditCheck",
    "AuditReport",
    "CheckSeverity",
    "CheckStatus",
    "audit_portfolio",
    "market_beta",
]

BETA_PROFILES: tuple[ProfileName, ...] = (ProfileName.MIN_VARIANCE,)
"""Profiles whose market beta is checked against ``risk.beta_threshold``."""


# --------------------------------------------------------------------------------------------
# the checks
# --------------------------------------------------------------------------------------------


def _check_finite(profile: str, assets: Sequence[Asset]) -> AuditCheck:
    bad = sorted(
        a.symbol or "<no symbol>"
        for a in assets
        if not (math.isfinite(a.gross) and math.isfinite(a.net)) or a.gross < 0 or not a.symbol
    )
    symbols = [a.symbol for a in assets]
    duplicates = sorted({s for s in symbols if symbols.count(s) > 1})
    ok = not bad and not duplicates
    message = (
        f"{len(assets)} assets, every weight finite and gross >= 0"
        if ok
        else f"non-finite or negative weights: {bad}; duplicated symbols: {duplicates}"
    )
    return make_check(
        "weights_finite",
        profile,
        ok,
        message,
        {"n_assets": len(assets), "bad": bad, "duplicates": duplicates},
    )


def _beyond(errors: Sequence[tuple[str, float]], tol: float) -> tuple[list[str], float]:
    """The labels whose error is not within ``tol`` (non-finite ones included), in order, and
    the largest finite error (0 when none)."""
    off = [label for label, err in errors if not err <= tol]
    worst = max((err for _, err in errors if math.isfinite(err)), default=0.0)
    return off, worst


def _check_direction(profile: str, assets: Sequence[Asset], *, market: bool) -> AuditCheck:
    invalid: list[str] = []
    errors: list[tuple[str, float]] = []
    for a in assets:
        if a.direction not in (Direction.LONG.value, Direction.SHORT.value):
            invalid.append(a.symbol)
            continue
        sign = 1.0 if market else float(Direction(a.direction).sign)
        errors.append((a.symbol, abs(a.net - sign * a.gross)))
    off, worst = _beyond(errors, DIRECTION_TOL)
    bad = invalid + off
    ok = not bad
    return make_check(
        "direction_consistency",
        profile,
        ok,
        "net = sign x gross for every asset"
        if ok
        else f"net weight inconsistent with direction for {sorted(bad)}",
        {"max_abs_error": worst, "tolerance": DIRECTION_TOL, "bad": sorted(bad)},
    )


def _check_sum(profile: str, assets: Sequence[Asset]) -> AuditCheck:
    total = float(sum(a.gross for a in assets))
    ok = math.isfinite(total) and abs(total - 1.0) <= SUM_TOL
    return make_check(
        "weights_sum",
        profile,
        ok,
        f"gross weights sum to {total:.9g}" + ("" if ok else f" (not 1 within {SUM_TOL:g})"),
        {"gross_sum": total, "deviation": total - 1.0, "tolerance": SUM_TOL},
    )


def _check_exposure(
    profile: str, section: Mapping[str, Any], assets: Sequence[Asset]
) -> AuditCheck:
    gross = float(sum(a.gross for a in assets))
    net = float(sum(a.net for a in assets))
    recorded_gross = num(section.get("gross_exposure"))
    recorded_net = num(section.get("net_exposure"))
    problems = []
    if not (math.isfinite(recorded_gross) and abs(recorded_gross - 1.0) <= SUM_TOL):
        problems.append(f"gross exposure {recorded_gross:.9g} is not 1")
    if not (math.isfinite(recorded_net) and abs(recorded_net) <= 1.0 + SUM_TOL):
        problems.append(f"|net exposure| {abs(recorded_net):.9g} above 1")
    if not abs(recorded_gross - gross) <= SUM_TOL:
        problems.append(f"recorded gross {recorded_gross:.9g} != assets' {gross:.9g}")
    if not abs(recorded_net - net) <= SUM_TOL:
        problems.append(f"recorded net {recorded_net:.9g} != assets' {net:.9g}")
    if not abs(net) <= 1.0 + SUM_TOL:
        problems.append(f"assets' |net| {abs(net):.9g} above 1")
    ok = not problems
    return make_check(
        "exposure_bounds",
        profile,
        ok,
        f"gross {gross:.6g}, net {net:+.6g}" if ok else "; ".join(problems),
        {
            "gross": gross,
            "net": net,
            "recorded_gross": recorded_gross,
            "recorded_net": recorded_net,
            "tolerance": SUM_TOL,
        },
    )


def _cluster_totals(assets: Sequence[Asset]) -> tuple[dict[int, float], dict[int, float]]:
    gross: dict[int, float] = {}
    net: dict[int, float] = {}
    for a in assets:
        if a.cluster is None:
            continue
        gross[a.cluster] = gross.get(a.cluster, 0.0) + a.gross
        net[a.cluster] = net.get(a.cluster, 0.0) + a.net
    return gross, net


def _check_cluster_totals(
    profile: str, section: Mapping[str, Any], assets: Sequence[Asset]
) -> AuditCheck:
    gross, net = _cluster_totals(assets)
    recorded = section.get("clusters")
    recorded = recorded if isinstance(recorded, Mapping) else {}
    errors: list[tuple[str, float]] = []
    for key in sorted({*(str(c) for c in gross), *(str(k) for k in recorded)}):
        entry = recorded.get(key)
        entry = entry if isinstance(entry, Mapping) else {}
        cluster = int(key) if key.lstrip("-").isdigit() else None
        for kind, mine in (("gross", gross), ("net", net)):
            value = mine.get(cluster, 0.0) if cluster is not None else math.nan
            errors.append((f"{key}:{kind}", abs(value - num(entry.get(kind, 0.0)))))
    mismatched, worst = _beyond(errors, SUM_TOL)
    ok = not mismatched
    return make_check(
        "cluster_totals_consistent",
        profile,
        ok,
        f"{len(gross)} cluster totals match the assets"
        if ok
        else f"recorded cluster totals differ from the assets for {mismatched}",
        {"n_clusters": len(gross), "max_abs_error": worst, "mismatched": mismatched},
    )


def _cap_check(
    name: str,
    profile: str,
    section: Mapping[str, Any],
    values: Mapping[str, float],
    cap: float,
    *,
    extra_problems: Sequence[str] = (),
) -> AuditCheck:
    """Shared logic of ``asset_cap`` and ``cluster_cap`` (``values``: item -> weight)."""
    relaxations = recorded_relaxations(section, name)
    relaxed = max([cap, *(r["to"] for r in relaxations)])
    worst_item, worst = max(values.items(), key=lambda kv: (kv[1], kv[0]), default=("", 0.0))
    over = sorted(k for k, v in values.items() if v > cap + CAP_TOL)
    beyond = sorted(k for k, v in values.items() if v > relaxed + CAP_TOL)
    evidence: dict[str, Any] = {
        "cap": cap,
        "max_weight": worst,
        "max_item": worst_item,
        "tolerance": CAP_TOL,
        "over_cap": over,
    }
    if relaxations:
        evidence["relaxed_cap"] = relaxed
        evidence["relaxations"] = [r["detail"] for r in relaxations]
    if extra_problems:
        evidence["problems"] = list(extra_problems)
        return make_check(name, profile, False, "; ".join(extra_problems), evidence)
    if not over:
        return make_check(name, profile, True, f"max {worst:.6g} <= cap {cap:.6g}", evidence)
    if beyond:
        where = "the recorded relaxation" if relaxations else "the cap (no relaxation recorded)"
        return make_check(
            name,
            profile,
            False,
            f"{len(beyond)} above {where} {relaxed:.6g}: {beyond} (max {worst:.6g})",
            {**evidence, "beyond_relaxation": beyond},
        )
    return make_check(
        name,
        profile,
        False,
        f"{over} above the configured cap {cap:.6g} but within the recorded relaxation "
        f"{relaxed:.6g}",
        evidence,
        CheckSeverity.WARN,
    )


def _check_asset_cap(
    profile: str, section: Mapping[str, Any], assets: Sequence[Asset], cap: float
) -> AuditCheck:
    return _cap_check("asset_cap", profile, section, {a.symbol: a.gross for a in assets}, cap)


def _check_cluster_cap(
    profile: str, section: Mapping[str, Any], assets: Sequence[Asset], cap: float
) -> AuditCheck:
    gross, _ = _cluster_totals(assets)
    orphans = sorted(a.symbol for a in held_assets(assets) if a.cluster is None)
    problems = [f"held assets without a cluster: {orphans}"] if orphans else []
    return _cap_check(
        "cluster_cap",
        profile,
        section,
        {str(k): v for k, v in gross.items()},
        cap,
        extra_problems=problems,
    )


def _health_map(health: Mapping[str, Any] | None) -> dict[str, str] | None:
    if health is None:
        return None
    listings = health.get("listings")
    out = {}
    for row in listings if isinstance(listings, list) else []:
        if isinstance(row, Mapping) and "symbol" in row:
            out[str(row["symbol"])] = str(row.get("status", ""))
    return out


def _check_health(
    profile: str,
    assets: Sequence[Asset],
    statuses: Mapping[str, str] | None,
    universe: Mapping[str, Any] | None,
) -> list[AuditCheck]:
    held = sorted(a.symbol for a in held_assets(assets))
    checks = []
    if statuses is None:
        checks.append(
            make_check(
                "data_health",
                profile,
                False,
                "no data health document (data_health.json): the universe is unaudited",
                {"n_held": len(held)},
            )
        )
    else:
        bad = {s: statuses.get(s, "ABSENT") for s in held if statuses.get(s) != HealthStatus.OK}
        outside: list[str] = []
        if universe is not None:
            members = {str(s) for s in universe.get("symbols", [])}
            outside = [s for s in held if s not in members]
        ok = not bad and not outside
        message = f"{len(held)} held assets, all OK"
        if not ok:
            parts = []
            if bad:
                parts.append("not OK: " + ", ".join(f"{s} {v}" for s, v in sorted(bad.items())))
            if outside:
                parts.append(f"outside the implementation universe: {outside}")
            message = "; ".join(parts)
        checks.append(
            make_check(
                "data_health",
                profile,
                ok,
                message,
                {"n_held": len(held), "not_ok": bad, "outside_universe": outside},
            )
        )
    if universe is not None:
        filled = universe.get("filled")
        filled = filled if isinstance(filled, Mapping) else {}
        touched = {s: len(filled[s]) for s in held if filled.get(s)}
        checks.append(
            make_check(
                "data_forward_fill",
                profile,
                not touched,
                "no held asset was forward-filled"
                if not touched
                else f"held assets with forward-filled sessions: {sorted(touched)}",
                {"forward_filled_sessions": touched},
                CheckSeverity.WARN,
            )
        )
    return checks


@dataclass(frozen=True)
class _Context:
    """What every profile's checks share: baseline, regime, returns, health, universe."""

    baseline: str
    regime: str
    returns: pd.DataFrame | None
    statuses: dict[str, str] | None
    universe: Mapping[str, Any] | None


def _profile_checks(
    name: str, section: Any, *, settings: Settings, context: _Context
) -> list[AuditCheck]:
    """Every check of one profile section (see the module documentation)."""
    risk = settings.risk
    if not isinstance(section, Mapping):
        return [make_check("weights_finite", name, False, "profile is not an object", {})]
    assets = assets_of(section)
    is_market = name == ProfileName.MARKET.value
    checks = [
        _check_finite(name, assets),
        _check_direction(name, assets, market=is_market),
        _check_sum(name, assets),
        _check_exposure(name, section, assets),
        _check_cluster_totals(name, section, assets),
    ]
    if is_market:
        checks.append(check_market(name, assets, context.baseline))
    else:
        checks.append(_check_asset_cap(name, section, assets, risk.asset_cap))
        checks.append(_check_cluster_cap(name, section, assets, risk.cluster_cap))
    if name == ProfileName.BARBELL.value:
        checks += barbell_checks(name, section, assets, settings=settings, regime=context.regime)
    if name in {p.value for p in BETA_PROFILES}:
        checks.append(
            check_beta(
                name,
                assets,
                context.returns,
                market=context.baseline,
                threshold=float(risk.beta_threshold),
            )
        )
    effect = check_cap_effect(name, section)
    if effect is not None:
        checks.append(effect)
    checks += _check_health(name, assets, context.statuses, context.universe)
    return checks


def _caps(portfolio: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """The configured caps, and those the document recorded when they differ."""
    risk = settings.risk
    recorded_caps = {k: portfolio.get(k) for k in ("asset_cap", "cluster_cap") if k in portfolio}
    caps: dict[str, Any] = {
        "asset_cap": risk.asset_cap,
        "cluster_cap": risk.cluster_cap,
        "beta_threshold": risk.beta_threshold,
    }
    if recorded_caps and recorded_caps != {
        "asset_cap": risk.asset_cap,
        "cluster_cap": risk.cluster_cap,
    }:
        caps["portfolio_recorded"] = recorded_caps
    return caps


def audit_portfolio(
    portfolio: Mapping[str, Any],
    *,
    settings: Settings,
    health: Mapping[str, Any] | None,
    returns: pd.DataFrame | None,
    universe: Mapping[str, Any] | None = None,
) -> AuditReport:
    """Audit every profile of an optimised portfolio (pure: reads nothing, writes nothing).

    Parameters
    ----------
    portfolio : mapping
        The ``portfolio_optimized.json`` document.
    settings : Settings
        The run's resolved settings (caps, beta threshold, aggressor share table, profiles).
    health : mapping or None
        The ``data_health.json`` document; None fails every profile's ``data_health`` check.
    returns : pandas.DataFrame or None
        The audited return matrix (``returns.parquet``) for the market beta; None is a warning.
    universe : mapping, optional
        The ``universe.json`` document: held assets must be members; forward fills are flagged.

    Returns
    -------
    AuditReport
        Every check (see the module documentation); ``report.passed`` is the verdict.
    """
    risk = settings.risk
    baseline = str(portfolio.get("baseline") or settings.backtest.baseline)
    regime = str(portfolio.get("regime", ""))
    profiles = profiles_of(portfolio)
    expected = [p.value for p in risk.profiles]
    absent = [p for p in expected if p not in profiles]
    checks: list[AuditCheck] = [
        make_check(
            "profiles_present",
            DOCUMENT,
            not absent,
            f"{len(profiles)} profiles, every configured one present"
            if not absent
            else f"configured profiles missing from the portfolio: {absent}",
            {"expected": expected, "present": sorted(profiles), "missing": absent},
        )
    ]
    statuses = _health_map(health)
    for name in sorted(profiles):
        checks += _profile_checks(
            name,
            profiles[name],
            settings=settings,
            context=_Context(baseline, regime, returns, statuses, universe),
        )
    return AuditReport(
        checks=tuple(checks),
        as_of=str(portfolio.get("as_of", "")),
        regime=regime,
        baseline=baseline,
        tolerances={"sum": SUM_TOL, "cap": CAP_TOL, "direction": DIRECTION_TOL},
        caps=_caps(portfolio, settings),
    )
