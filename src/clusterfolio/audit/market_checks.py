"""The audit's checks of the barbell and the market: insulation, aggressor share, beta, baseline."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.artifacts.fallbacks import FallbackKind
from clusterfolio.audit.findings import MIN_BETA_SESSIONS, SUM_TOL, AuditCheck
from clusterfolio.audit.profile_view import Asset, fallbacks_in, held_assets, make_check, num
from clusterfolio.enums import CheckSeverity, Regime
from clusterfolio.manifest import Settings


def barbell_checks(
    profile: str,
    section: Mapping[str, Any],
    assets: Sequence[Asset],
    *,
    settings: Settings,
    regime: str,
) -> list[AuditCheck]:
    """``barbell_insulation`` and ``barbell_aggressor_share`` of the barbell profile."""
    diagnostics = section.get("diagnostics")
    barbell = diagnostics.get("barbell") if isinstance(diagnostics, Mapping) else None
    if not isinstance(barbell, Mapping):
        missing = "no diagnostics.barbell: aggressors and core are not recorded"
        return [
            make_check("barbell_insulation", profile, False, missing, {}),
            make_check("barbell_aggressor_share", profile, False, missing, {}),
        ]
    return [
        _insulation(profile, barbell, assets),
        _aggressor_share(profile, section, barbell, assets, settings=settings, regime=regime),
    ]


def _insulation(profile: str, barbell: Mapping[str, Any], assets: Sequence[Asset]) -> AuditCheck:
    """Aggressors and core are disjoint, cover the held assets, aggressors in distinct clusters."""
    aggressors = [str(s) for s in barbell.get("aggressors", []) or []]
    core = [str(s) for s in barbell.get("core", []) or []]
    by_symbol = {a.symbol: a for a in assets}
    overlap = sorted(set(aggressors) & set(core))
    held = {a.symbol for a in held_assets(assets)}
    unclassified = sorted(held - set(aggressors) - set(core))
    agg_clusters = [by_symbol[s].cluster for s in aggressors if s in by_symbol]
    shared_aggressor_clusters = sorted(
        {c for c in agg_clusters if c is not None and agg_clusters.count(c) > 1}
    )
    core_clusters = {by_symbol[s].cluster for s in core if s in by_symbol and s in held}
    problems = []
    if overlap:
        problems.append(f"aggressors also in the core: {overlap}")
    if unclassified:
        problems.append(f"held assets neither aggressor nor core: {unclassified}")
    if shared_aggressor_clusters:
        problems.append(f"several aggressors in clusters {shared_aggressor_clusters}")
    return make_check(
        "barbell_insulation",
        profile,
        not problems,
        f"{len(aggressors)} aggressors and {len(core)} core assets, disjoint"
        if not problems
        else "; ".join(problems),
        {
            "aggressors": aggressors,
            "n_core": len(core),
            "overlap": overlap,
            "unclassified": unclassified,
            "aggressor_clusters": [c for c in agg_clusters if c is not None],
            "clusters_shared_with_core": sorted(
                c for c in set(agg_clusters) & core_clusters if c is not None
            ),
        },
    )


def _aggressor_share(
    profile: str,
    section: Mapping[str, Any],
    barbell: Mapping[str, Any],
    assets: Sequence[Asset],
    *,
    settings: Settings,
    regime: str,
) -> AuditCheck:
    """The aggressors' weight equals the regime's configured share (a recorded cut warns)."""
    aggressors = [str(s) for s in barbell.get("aggressors", []) or []]
    by_symbol = {a.symbol: a for a in assets}
    share = float(sum(by_symbol[s].gross for s in aggressors if s in by_symbol))
    table = {Regime(k).value: float(v) for k, v in settings.risk.barbell_aggressor_share.items()}
    expected = table.get(regime, math.nan)
    band = (min(table.values(), default=0.0), max(table.values(), default=0.0))
    recorded = num(barbell.get("aggressor_share"))
    reductions = [
        f.text
        for f in fallbacks_in(section)
        if f.is_kind(FallbackKind.BARBELL_SHARE, FallbackKind.BARBELL_AGGRESSORS)
    ]
    evidence: dict[str, Any] = {
        "share": share,
        "expected": expected,
        "regime": regime,
        "band": list(band),
        "recorded_share": recorded,
        "tolerance": SUM_TOL,
    }
    if reductions:
        evidence["recorded_reductions"] = reductions
    severity = CheckSeverity.FAIL
    if not math.isfinite(expected):
        ok, message = False, f"no configured aggressor share for regime {regime!r}"
    elif not abs(recorded - share) <= SUM_TOL:
        ok, message = False, f"recorded share {recorded:.6g} != aggressors' weight {share:.6g}"
    elif share > band[1] + SUM_TOL:
        ok, message = False, f"aggressor share {share:.6g} above the band maximum {band[1]:.6g}"
    elif abs(share - expected) <= SUM_TOL:
        ok, message = True, f"aggressor share {share:.6g} = configured {expected:.6g} ({regime})"
    elif share < expected and reductions:
        ok, severity = False, CheckSeverity.WARN
        message = f"aggressor share {share:.6g} below configured {expected:.6g}: reduction recorded"
    else:
        ok = False
        message = (
            f"aggressor share {share:.6g} differs from configured {expected:.6g} ({regime}) "
            "and no reduction is recorded"
        )
    return make_check("barbell_aggressor_share", profile, ok, message, evidence, severity)


def market_beta(weights: Mapping[str, float], returns: pd.DataFrame, market: str) -> dict[str, Any]:
    """Beta of a portfolio (net weights) to the market, on the market's own sessions.

    Each asset's simple returns are compounded over the interval between two consecutive
    market sessions (an asset's closed days are no move, never a zero-padded session), the
    portfolio return of the interval is ``sum_i w_i R_i`` and
    ``beta = cov(r_p, r_m) / var(r_m)`` (sample moments).

    Parameters
    ----------
    weights : mapping
        Net weight per symbol (SHORT positions negative).
    returns : pandas.DataFrame
        Simple returns, index sorted session dates, one column per symbol, NaN where closed.
    market : str
        The market column (``AMEX:SPY``).

    Returns
    -------
    dict
        ``beta`` (None when it cannot be estimated, with ``reason``), ``n_sessions``,
        ``missing`` (held symbols without returns) and ``missing_weight``.
    """
    held = {str(s): float(w) for s, w in weights.items() if w != 0 and math.isfinite(w)}
    missing = sorted(s for s in held if s not in returns.columns)
    out: dict[str, Any] = {
        "beta": None,
        "n_sessions": 0,
        "missing": missing,
        "missing_weight": float(sum(abs(held[s]) for s in missing)),
    }
    if market not in returns.columns:
        return {**out, "reason": f"{market} not in the returns"}
    frame = returns.sort_index()
    on_market = frame[market].notna().to_numpy()
    symbols = sorted(s for s in held if s in frame.columns)
    growth = (1.0 + frame[symbols].astype(np.float64).fillna(0.0)).cumprod()
    sampled = growth.loc[on_market]
    if len(sampled) < 2:
        return {**out, "reason": "fewer than two market sessions"}
    interval = sampled.to_numpy()[1:] / sampled.to_numpy()[:-1] - 1.0
    r_p = interval @ np.array([held[s] for s in symbols]) if symbols else np.zeros(len(interval))
    r_m = frame[market].to_numpy(dtype=np.float64)[on_market][1:]
    out["n_sessions"] = len(r_m)
    if len(r_m) < MIN_BETA_SESSIONS:
        return {**out, "reason": f"{len(r_m)} market sessions (< {MIN_BETA_SESSIONS})"}
    var_m = float(np.var(r_m, ddof=1))
    if not var_m > 0:
        return {**out, "reason": "the market returns have no variance"}
    cov = float(np.cov(r_p, r_m, ddof=1)[0, 1])
    return {**out, "beta": cov / var_m}


def check_beta(
    profile: str,
    assets: Sequence[Asset],
    returns: pd.DataFrame | None,
    *,
    market: str,
    threshold: float,
) -> AuditCheck:
    if returns is None:
        return make_check(
            "market_beta",
            profile,
            False,
            "no returns matrix: the market beta could not be measured",
            {"threshold": threshold},
            CheckSeverity.WARN,
        )
    estimate = market_beta({a.symbol: a.net for a in held_assets(assets)}, returns, market)
    beta = estimate["beta"]
    evidence = {"beta": beta, "threshold": threshold, "market": market, **estimate}
    evidence.pop("reason", None)
    if beta is None:
        return make_check(
            "market_beta",
            profile,
            False,
            f"market beta not measurable: {estimate.get('reason')}",
            evidence,
            CheckSeverity.WARN,
        )
    ok = beta <= threshold and not estimate["missing"]
    message = f"beta to {market} {beta:.3f} (threshold {threshold:.3g})"
    if beta > threshold:
        message += ": above the threshold"
    if estimate["missing"]:
        message += f"; held without returns: {estimate['missing']}"
    return make_check("market_beta", profile, ok, message, evidence, CheckSeverity.WARN)


def check_market(profile: str, assets: Sequence[Asset], baseline: str) -> AuditCheck:
    held = held_assets(assets)
    gross = float(sum(a.gross for a in held if a.symbol == baseline))
    net = float(sum(a.net for a in held if a.symbol == baseline))
    others = sorted(a.symbol for a in held if a.symbol != baseline)
    ok = not others and abs(gross - 1.0) <= SUM_TOL and abs(net - 1.0) <= SUM_TOL
    return make_check(
        "market_baseline",
        profile,
        ok,
        f"100% long {baseline}"
        if ok
        else f"market profile is not 100% long {baseline}: gross {gross:.6g}, net {net:+.6g}, "
        f"other assets {others}",
        {"baseline": baseline, "gross": gross, "net": net, "other_assets": others},
    )
