"""A small, complete, deterministic run directory for tests and demonstrations of the reports.

:func:`make_sample_run` writes every artifact the reports read, in the layouts the steps write
them (portfolio, clusters, regime, health, returns, selection, decisions and ledger) and in the
layouts documented for the tournament (``tournament_results.parquet``,
``tournament_summary.json``, ``tournament_returns.parquet``, ``slippage_decay.json``) and the
audit (``audit.json``, ``audit.md``, ``drift.json``, ``drift.md``, ``orders.csv``). Each group
can be left out to exercise the "not available in this run" paths.

The numbers are generated from a seeded random market; the tournament's figures are computed
from its own return series with :func:`clusterfolio.backtest.metrics.summary_metrics`, so the
reports can be checked against them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.io import (
    atomic_write_json,
    atomic_write_parquet,
    atomic_write_text,
    canonical_json,
)
from clusterfolio.manifest import Settings
from clusterfolio.report import artifacts as A
from clusterfolio.report.artifacts import RunArtifacts
from clusterfolio.report.config import ReportConfig

__all__ = ["SAMPLE_AS_OF", "SAMPLE_SYMBOLS", "SampleRun", "make_sample_run", "sample_config"]

SAMPLE_AS_OF = date(2026, 11, 20)
BASELINE = "AMEX:SPY"

#: symbol -> (asset class, sector, calendar kind, direction, annual vol, beta to the market)
SAMPLE_SYMBOLS: dict[str, tuple[str, str, str, str, float, float]] = {
    BASELINE: ("etf", "Broad Market", "exchange", "LONG", 0.16, 1.0),
    "NASDAQ:AAPL": ("equity", "Information Technology", "exchange", "LONG", 0.28, 1.2),
    "NASDAQ:MSFT": ("equity", "Information Technology", "exchange", "LONG", 0.25, 1.1),
    "NYSE:XOM": ("equity", "Energy", "exchange", "LONG", 0.27, 0.7),
    "AMEX:TLT": ("bond", "Government Bonds", "exchange", "LONG", 0.14, -0.3),
    "BINANCE:BTCUSDT.P": ("crypto", "Crypto", "24/7", "LONG", 0.60, 0.4),
    "BINANCE:ETHUSDT": ("crypto", "Crypto", "24/7", "SHORT", 0.75, 0.5),
    "FX_IDC:EURUSD": ("forex", "Currencies", "24/5", "LONG", 0.08, 0.1),
}
PROFILES = ("min_variance", "hrp", "max_sharpe", "barbell", "risk_parity", "equal_weight", "market")
ENGINES = ("custom", "skfolio", "riskfolio", "market")
SIMULATORS = ("idealized", "realized")


@dataclass(frozen=True)
class SampleRun:
    """Where the sample run lives and what it holds."""

    run_dir: Path
    run_id: str
    as_of: str
    symbols: tuple[str, ...]
    tournament: bool
    audit: bool
    selection: bool


def _sessions(start: str, end: date) -> pd.DatetimeIndex:
    return pd.date_range(start, pd.Timestamp(end), freq="D")


def _returns(seed: int, days: pd.DatetimeIndex) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(days)
    weekday = days.dayofweek < 5
    market = rng.standard_t(5, n) * 0.16 / math.sqrt(252) * 0.8 + 0.0003
    crypto_factor = rng.standard_t(4, n) * 0.5 / math.sqrt(365)
    columns = {}
    for symbol, (klass, _, calendar, _, vol, beta) in SAMPLE_SYMBOLS.items():
        daily = vol / math.sqrt(365 if calendar == "24/7" else 252)
        idio = rng.standard_t(5, n) * daily * 0.6
        if klass == "crypto":
            r = beta * market + crypto_factor * (1.3 if "ETH" in symbol else 1.0) + idio
        else:
            r = beta * market + idio
        series = pd.Series(r, index=days)
        if calendar != "24/7":
            series[~weekday] = np.nan
        columns[symbol] = series
    frame = pd.DataFrame(columns)
    frame.index = pd.DatetimeIndex(frame.index, name="session")
    frame.columns.name = "symbol"
    return frame.iloc[1:]


def _clusters(returns: pd.DataFrame) -> dict[str, Any]:
    from scipy.cluster.hierarchy import fcluster, leaves_list, linkage
    from scipy.spatial.distance import squareform

    symbols = sorted(s for s in returns.columns if s != BASELINE)
    synth = returns[symbols].copy()
    for s in symbols:
        if SAMPLE_SYMBOLS[s][3] == "SHORT":
            synth[s] = -synth[s]
    corr = synth.corr(min_periods=20).to_numpy()
    distance = np.sqrt(np.clip(0.5 * (1.0 - corr), 0.0, None))
    np.fill_diagonal(distance, 0.0)
    z = linkage(squareform(distance, checks=False), method="ward")
    labels = fcluster(z, 4, criterion="maxclust")
    order = [symbols[i] for i in leaves_list(z)]
    records = []
    vols = synth.std() * math.sqrt(252)
    for cid in sorted(set(int(x) for x in labels)):
        members = [s for s, c in zip(symbols, labels, strict=True) if int(c) == cid]
        lead = members[0]
        records.append(
            {
                "id": cid,
                "size": len(members),
                "members": members,
                "lead_asset": lead,
                "mean_fragility": round(0.3 + 0.15 * cid, 6),
                "mean_intra_correlation": (
                    float(synth[members].corr().to_numpy()[np.triu_indices(len(members), 1)].mean())
                    if len(members) > 1
                    else None
                ),
                "volatility": float(vols[members].mean()),
                "dominant_sector": SAMPLE_SYMBOLS[lead][1],
                "sector_homogeneity": 1.0,
                "alternatives": {m: [] for m in members},
                "directions": {m: SAMPLE_SYMBOLS[m][3] for m in members},
            }
        )
    matrix = pd.DataFrame(distance, index=symbols, columns=symbols).loc[order, order]
    matrix.index.name = "symbol"
    return {
        "doc": {
            "threshold": 0.6,
            "base_threshold": 0.5,
            "regime": "NORMAL",
            "lookbacks": [60, 120, 200],
            "labels": {s: int(c) for s, c in zip(symbols, labels, strict=True)},
            "linkage": [[float(x) for x in row] for row in z],
            "leaf_order": order,
            "clusters": records,
        },
        "matrix": matrix,
    }


def _profile_weights(symbols: list[str]) -> dict[str, dict[str, float]]:
    n = len(symbols)
    base = {
        "min_variance": [0.05, 0.10, 0.15, 0.25, 0.05, 0.25, 0.15],
        "hrp": [0.12, 0.10, 0.10, 0.22, 0.06, 0.25, 0.15],
        "max_sharpe": [0.25, 0.0, 0.25, 0.15, 0.10, 0.25, 0.0],
        "barbell": [0.15, 0.05, 0.10, 0.30, 0.10, 0.20, 0.10],
        "risk_parity": [0.10, 0.10, 0.12, 0.20, 0.08, 0.25, 0.15],
        "equal_weight": [1.0 / n] * n,
    }
    return {p: dict(zip(symbols, w, strict=True)) for p, w in base.items()}


def _portfolio(symbols: list[str], clusters: dict[str, Any], as_of: str) -> dict[str, Any]:
    labels = clusters["labels"]
    leads = {c["lead_asset"] for c in clusters["clusters"]}
    profiles: dict[str, Any] = {}
    for name, weights in _profile_weights(symbols).items():
        assets = []
        for symbol, gross in weights.items():
            klass, sector, _, direction, _, _ = SAMPLE_SYMBOLS[symbol]
            sign = -1.0 if direction == "SHORT" else 1.0
            assets.append(
                {
                    "symbol": symbol,
                    "identity": symbol.split(":", 1)[-1].replace("USDT.P", "").replace("USDT", ""),
                    "asset_class": klass,
                    "sector": sector,
                    "cluster": labels[symbol],
                    "direction": direction,
                    "gross": gross,
                    "net": sign * gross,
                    "lead": symbol in leads,
                    "alternatives": [],
                }
            )
        assets.sort(key=lambda a: (-a["gross"], a["symbol"]))
        by_cluster: dict[str, dict[str, float]] = {}
        for a in assets:
            entry = by_cluster.setdefault(str(a["cluster"]), {"gross": 0.0, "net": 0.0})
            entry["gross"] += a["gross"]
            entry["net"] += a["net"]
        fallbacks = (
            [
                {
                    "kind": "cap_projection",
                    "detail": "barbell core: caps bound; weights projected",
                    "moved_l1": 0.12,
                }
            ]
            if name == "barbell"
            else []
        )
        profiles[name] = {
            "assets": [a for a in assets if a["gross"] > 0],
            "clusters": dict(sorted(by_cluster.items())),
            "gross_exposure": sum(a["gross"] for a in assets),
            "net_exposure": sum(a["net"] for a in assets),
            "solver": "CLARABEL" if name in ("min_variance", "max_sharpe") else name,
            "allocation_level": "cluster",
            "fallbacks": fallbacks,
            "diagnostics": {},
        }
    profiles["market"] = {
        "assets": [
            {
                "symbol": BASELINE,
                "identity": "SPY",
                "asset_class": "etf",
                "sector": "Broad Market",
                "cluster": 0,
                "direction": "LONG",
                "gross": 1.0,
                "net": 1.0,
                "lead": False,
                "alternatives": [],
            }
        ],
        "clusters": {"0": {"gross": 1.0, "net": 1.0}},
        "gross_exposure": 1.0,
        "net_exposure": 1.0,
        "solver": "market",
        "allocation_level": "asset",
        "fallbacks": [],
        "diagnostics": {},
    }
    return {
        "as_of": as_of,
        "regime": "NORMAL",
        "baseline": BASELINE,
        "cluster_cap": 0.25,
        "asset_cap": 0.25,
        "turnover_penalty": False,
        "clusters": clusters["clusters"],
        "profiles": profiles,
    }


def _regime_series(index: pd.DatetimeIndex) -> pd.DataFrame:
    n = len(index)
    t = np.arange(n)
    score = 0.42 + 0.12 * np.sin(t / 23.0) + 0.4 * np.exp(-(((t - 0.7 * n) / 12.0) ** 2))
    labels = np.where(
        score > 0.72,
        "CRISIS",
        np.where(score > 0.55, "TURBULENT", np.where(score < 0.32, "QUIET", "NORMAL")),
    )
    frame = pd.DataFrame({"label": labels, "score": score}, index=index)
    frame.index.name = "session"
    return frame


def _tournament(
    returns: pd.DataFrame, weights: dict[str, dict[str, float]], settings: Settings
) -> dict[str, Any]:
    from clusterfolio.backtest.metrics import summary_metrics

    test = returns.index[-200:]
    windows = [(test[i], test[min(i + 19, len(test) - 1)]) for i in range(0, len(test), 20)]
    cost = settings.backtest.slippage + settings.backtest.commission
    columns: dict[str, pd.Series] = {}
    rows: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    decay: list[dict[str, Any]] = []
    frame = returns.loc[test].fillna(0.0)
    for engine in ENGINES:
        profiles = ("market",) if engine == "market" else PROFILES[:-1]
        for profile in profiles:
            if engine == "market":
                w = {BASELINE: 1.0}
            else:
                tilt = {"custom": 0.0, "skfolio": 0.02, "riskfolio": -0.02}[engine]
                w = {
                    s: (1.0 if SAMPLE_SYMBOLS[s][3] == "LONG" else -1.0) * max(v + tilt, 0.0)
                    for s, v in weights[profile].items()
                }
            failed = engine == "riskfolio" and profile == "max_sharpe"
            ideal = frame[list(w)].to_numpy() @ np.array(list(w.values()))
            cagr: dict[str, float] = {}
            for simulator in SIMULATORS:
                series = pd.Series(ideal, index=test, dtype=float)
                turnover = 0.2 if engine != "market" else 0.0
                if simulator == "realized":
                    starts = {w0 for w0, _ in windows}
                    series = series - np.where(
                        series.index.isin(list(starts)), cost * turnover * 2, 0.0
                    )
                if failed:
                    rows.append(
                        {
                            "engine": engine,
                            "profile": profile,
                            "simulator": simulator,
                            "status": "failed",
                            "error": "InfeasibleError: cluster caps infeasible",
                            "metrics": {},
                        }
                    )
                    continue
                columns[f"{engine}|{profile}|{simulator}"] = series
                m = summary_metrics(series, periods=365, windows=windows)
                costs = cost * turnover * 2 * len(windows) if simulator == "realized" else 0.0
                metrics = {
                    "cagr": m["cagr"],
                    "volatility": m["volatility"],
                    "sharpe": m["sharpe"],
                    "sortino": m["sortino"],
                    "calmar": m["calmar"],
                    "max_drawdown": m["max_drawdown"],
                    "turnover": turnover * len(windows),
                    "costs": costs,
                    "win_rate": m["window_win_rate"],
                }
                cagr[simulator] = m["cagr"]
                rows.append(
                    {
                        "engine": engine,
                        "profile": profile,
                        "simulator": simulator,
                        "status": "ok",
                        "error": None,
                        "metrics": metrics,
                    }
                )
                for start, end in windows:
                    chunk = series.loc[start:end]
                    results.append(
                        {
                            "engine": engine,
                            "profile": profile,
                            "simulator": simulator,
                            "window": len([x for x in windows if x[0] <= start]) - 1,
                            "test_start": start,
                            "test_end": end,
                            "period_return": float(np.prod(1.0 + chunk.to_numpy()) - 1.0),
                            "turnover": turnover,
                            "costs": cost * turnover * 2 if simulator == "realized" else 0.0,
                            "status": "ok",
                            "error": None,
                        }
                    )
            if len(cagr) == 2:
                decay.append(
                    {
                        "engine": engine,
                        "profile": profile,
                        "idealized_cagr": cagr["idealized"],
                        "realized_cagr": cagr["realized"],
                        "decay": cagr["idealized"] - cagr["realized"],
                    }
                )
    returns_frame = pd.DataFrame(columns)
    returns_frame.index = pd.DatetimeIndex(returns_frame.index, name="session")
    summary = {
        "baseline": BASELINE,
        "periods_per_year": 365,
        "windows": [
            {"test_start": a.date().isoformat(), "test_end": b.date().isoformat()}
            for a, b in windows
        ],
        "capabilities": {
            e: {"long_short": e != "market", "cluster_caps": e in ("custom", "skfolio")}
            for e in ENGINES
        },
        "rows": rows,
        "decay": decay,
    }
    return {"summary": summary, "returns": returns_frame, "results": pd.DataFrame(results)}


def _decisions(run_dir: Path) -> None:
    entries: dict[str, list[tuple[str, str, str, str, dict[str, Any]]]] = {
        "02_discovery": [("discovery", "equity_trend_long", "scanned", "12 rows", {"rows": 12})],
        "03_aggregation": [
            (
                "aggregation",
                "BTC",
                "lead",
                "lead listing BINANCE:BTCUSDT.P",
                {"symbol": "BINANCE:BTCUSDT.P"},
            ),
            (
                "aggregation",
                "BYBIT:BTCUSDT.P",
                "merged",
                "merged into BTC (lead BINANCE:BTCUSDT.P)",
                {},
            ),
        ],
        "05_natural_selection": [
            (
                "natural_selection",
                "NASDAQ:AAPL",
                "selected",
                "top 3 of cluster 1 by execution score",
                {"rank": 1},
            ),
            (
                "natural_selection",
                "NASDAQ:INTC",
                "rejected",
                "rank 4 of cluster 1 (top_n 3)",
                {"rank": 4},
            ),
        ],
        "06_enrichment": [
            (
                "enrichment",
                "BINANCE:BTCUSDT.P",
                "enrichment_fallback",
                "sector from the crypto defaults",
                {"fields": ["sector"]},
            ),
        ],
        "08_health_audit": [
            (
                "health_audit",
                "forward_fill",
                "fallback",
                "FX_IDC:EURUSD: 1 session forward-filled (2026-05-01)",
                {"symbol": "FX_IDC:EURUSD"},
            ),
            (
                "health_audit",
                "NYSE:BAD",
                "excluded",
                "health GAPPED",
                {"evidence": "gap: 12 missing sessions"},
            ),
        ],
        "11_optimization": [
            (
                "optimization",
                "barbell:cap_projection",
                "fallback",
                "barbell core: caps bound; weights projected",
                {},
            ),
            ("optimization", "hrp", "optimised", "7 assets, solver hrp", {}),
        ],
    }
    for name, items in entries.items():
        text = "".join(
            canonical_json({"step": s, "subject": sub, "action": a, "reason": r, "details": d})
            .replace("\n", "")
            .replace("  ", "")
            + "\n"
            for s, sub, a, r, d in items
        )
        atomic_write_text(run_dir / A.DECISIONS_DIR / f"{name}.jsonl", text)


def make_sample_run(
    run_dir: Path,
    *,
    seed: int = 11,
    tournament: bool = True,
    audit: bool = True,
    audit_passed: bool = True,
    selection: bool = True,
    decay_audit: bool = True,
) -> SampleRun:
    """Write a complete sample run into ``run_dir`` (see the module docstring).

    Parameters
    ----------
    run_dir : Path
        Destination (created).
    seed : int
        Seed of the random market.
    tournament, audit, selection : bool
        Write the tournament, audit and natural-selection artifacts.
    audit_passed : bool
        The audit's verdict.
    decay_audit : bool
        ``features.feat_decay_audit`` (and ``slippage_decay.json`` with the tournament).

    Returns
    -------
    SampleRun
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    as_of = SAMPLE_AS_OF.isoformat()
    settings = Settings()
    settings.features.feat_decay_audit = decay_audit
    run_id = f"{as_of}_sample_0123456789"
    days = _sessions("2025-05-01", SAMPLE_AS_OF)
    returns = _returns(seed, days)
    symbols = [s for s in SAMPLE_SYMBOLS if s != BASELINE]
    cl = _clusters(returns)
    portfolio = _portfolio(symbols, cl["doc"], as_of)
    atomic_write_parquet(run_dir / A.RETURNS, returns)
    atomic_write_json(run_dir / A.CLUSTERS, cl["doc"])
    atomic_write_parquet(run_dir / A.CLUSTERMAP, cl["matrix"])
    from clusterfolio.risk.antifragility import antifragility_table

    synth = returns[symbols].copy()
    synth["BINANCE:ETHUSDT"] = -synth["BINANCE:ETHUSDT"]
    atomic_write_parquet(run_dir / A.ANTIFRAGILITY, antifragility_table(synth))
    atomic_write_json(run_dir / A.PORTFOLIO, portfolio)
    series = _regime_series(pd.DatetimeIndex(returns.index[-336:]))
    atomic_write_parquet(run_dir / A.REGIME_SERIES, series)
    atomic_write_json(
        run_dir / A.REGIME,
        {
            "label": "NORMAL",
            "score": float(series["score"].iloc[-1]),
            "date": f"{as_of}T00:00:00",
            "features": {
                "vol_ratio": 1.01,
                "vol_ratio_score": 0.5,
                "entropy": 0.98,
                "entropy_score": 0.2,
            },
            "spectral": True,
            "thresholds": settings.risk.regime.model_dump(mode="json"),
            "aggressor_share": 0.1,
            "label_counts": {
                str(k): int(v) for k, v in series["label"].value_counts().sort_index().items()
            },
        },
    )
    listings = [
        {
            "symbol": s,
            "status": "OK",
            "findings": [],
            "sessions_expected": 300,
            "sessions_present": 300,
            "last_session": as_of,
        }
        for s in [*SAMPLE_SYMBOLS, "NYSE:BAD"]
    ]
    listings[-1]["status"] = "GAPPED"
    atomic_write_json(
        run_dir / A.HEALTH_JSON,
        {
            "counts": {
                "MISSING": 0,
                "ANOMALOUS": 0,
                "STALE": 0,
                "GAPPED": 1,
                "OK": len(SAMPLE_SYMBOLS),
            },
            "listings": listings,
            "n_listings": len(listings),
            "severity_order": ["MISSING", "ANOMALOUS", "STALE", "GAPPED", "OK"],
            "repairs": {},
        },
    )
    atomic_write_text(
        run_dir / A.HEALTH_MD,
        "## Data health\n\n| Status | Listings |\n| --- | ---: |\n| OK | 8 |\n| GAPPED | 1 |\n",
    )
    atomic_write_json(
        run_dir / A.UNIVERSE,
        {
            "symbols": list(SAMPLE_SYMBOLS),
            "excluded": {"NYSE:BAD": {"status": "GAPPED", "evidence": "gap: 12 missing sessions"}},
            "filled": {"FX_IDC:EURUSD": ["2026-05-01"]},
            "n_sessions": 300,
        },
    )
    pool = pd.DataFrame(
        [
            {
                "symbol": s,
                "identity": s.split(":", 1)[-1],
                "asset_class": v[0],
                "direction": v[3],
                "score": 0.5,
            }
            for s, v in SAMPLE_SYMBOLS.items()
        ]
    )
    atomic_write_parquet(run_dir / A.RAW_POOL, pool, index=False)
    atomic_write_json(
        run_dir / A.RAW_POOL_JSON,
        {
            "identities": [
                {
                    "identity": "BTCUSDT.P",
                    "lead_symbol": "BINANCE:BTCUSDT.P",
                    "asset_class": "crypto",
                    "alternatives": [
                        {
                            "symbol": "BYBIT:BTCUSDT.P",
                            "kind": "perpetual",
                            "direction": "LONG",
                            "is_lead": False,
                        },
                        {
                            "symbol": "COINBASE:BTCUSD",
                            "kind": "spot",
                            "direction": "LONG",
                            "is_lead": False,
                        },
                    ],
                }
            ],
            "decisions": [],
            "summary": {},
        },
    )
    if selection:
        atomic_write_json(
            run_dir / A.WINNERS,
            {
                "winners": [
                    {
                        "symbol": s,
                        "identity": s.split(":", 1)[-1],
                        "asset_class": v[0],
                        "sector": v[1],
                        "direction": v[3],
                    }
                    for s, v in SAMPLE_SYMBOLS.items()
                    if s != BASELINE
                ]
            },
        )
        atomic_write_text(
            run_dir / A.SELECTION_AUDIT, "# Selection audit\n\nNASDAQ:AAPL selected (rank 1).\n"
        )
    _decisions(run_dir)
    steps = {
        "cleanup": {"status": "completed", "warnings": [], "fallbacks": [], "counts": {}},
        "discovery": {
            "status": "completed",
            "warnings": ["scanner bond_short returned no rows"],
            "fallbacks": [],
            "counts": {},
        },
        "health_audit": {
            "status": "completed",
            "warnings": ["NYSE:BAD: GAPPED - gap: 12 missing sessions"],
            "fallbacks": [],
            "counts": {},
        },
        "optimization": {
            "status": "completed",
            "warnings": ["fallback barbell:cap_projection: caps bound"],
            "fallbacks": [],
            "counts": {},
        },
    }
    atomic_write_json(
        run_dir / A.LEDGER,
        {
            "run_id": run_id,
            "profile": "sample",
            "as_of": as_of,
            "seed": 42,
            "config_hash": "0123456789abcdef",
            "settings": settings.model_dump(mode="json"),
            "overrides": [],
            "code_version": "test",
            "command": [],
            "data_signature": "",
            "status": "completed",
            "started_at": "",
            "finished_at": "",
            "steps": steps,
        },
    )
    if tournament:
        t = _tournament(returns, _profile_weights(symbols), settings)
        atomic_write_json(run_dir / A.TOURNAMENT_SUMMARY, t["summary"])
        atomic_write_parquet(run_dir / A.TOURNAMENT_RETURNS, t["returns"])
        atomic_write_parquet(run_dir / A.TOURNAMENT_RESULTS, t["results"], index=False)
        if decay_audit:
            atomic_write_json(
                run_dir / A.SLIPPAGE_DECAY,
                {
                    "feat_decay_audit": True,
                    "slippage_bps": 5.0,
                    "commission_bps": 1.0,
                    "rows": t["summary"]["decay"],
                },
            )
    if audit:
        from clusterfolio.io import sha256_file

        def check(name: str, profile: str, passed: bool, message: str) -> dict[str, Any]:
            status = "pass" if passed else "fail"
            return {
                "name": name,
                "profile": profile,
                "severity": "fail",
                "passed": passed,
                "status": status,
                "message": message,
                "evidence": {},
            }

        checks = [
            check("profiles_present", "*", True, "7 profiles"),
            check("cluster_cap", "hrp", True, "every cluster <= 25%"),
            check(
                "barbell_insulation",
                "barbell",
                audit_passed,
                "aggressors isolated" if audit_passed else "aggressor share 14% > 10%",
            ),
        ]
        inputs = {
            name: sha256_file(run_dir / name)
            for name in (A.PORTFOLIO, A.HEALTH_JSON, A.UNIVERSE, A.RETURNS)
        }
        atomic_write_json(
            run_dir / A.AUDIT_JSON,
            {
                "passed": audit_passed,
                "checks": checks,
                "counts": {
                    "pass": 3 - (not audit_passed),
                    "warn": 0,
                    "fail": int(not audit_passed),
                },
                "meta": {"inputs": inputs, "run_id": run_id, "settings_hash": "sample"},
            },
        )
        atomic_write_text(
            run_dir / A.AUDIT_MD, "# Audit\n\n" + ("PASSED\n" if audit_passed else "FAILED\n")
        )
        lines = [
            {
                "symbol": "NASDAQ:AAPL",
                "side": "BUY",
                "action": "BUY",
                "actual": 0.10,
                "target": 0.12,
                "delta": 0.02,
                "skipped": False,
                "reason": "rebalance",
            },
            {
                "symbol": "AMEX:TLT",
                "side": "SELL",
                "action": "SELL",
                "actual": 0.25,
                "target": 0.22,
                "delta": -0.03,
                "skipped": False,
                "reason": "rebalance",
            },
        ]
        atomic_write_json(
            run_dir / A.DRIFT_JSON,
            {
                "has_state": True,
                "baseline": "accepted state of 2026-11-19",
                "dust": 0.01,
                "partial_rebalance": False,
                "lines": lines,
                "summary": {"churn": 0.025, "n_buy": 1, "n_sell": 1, "n_hold": 5},
                "meta": {"profile": "hrp", "run_id": run_id, "implementable": audit_passed},
            },
        )
        atomic_write_text(
            run_dir / A.DRIFT_MD, "# Drift: hrp target vs accepted state\n\n- churn 2.5%\n"
        )
        atomic_write_text(
            run_dir / A.ORDERS_CSV,
            "symbol,side,delta_weight,target,actual,skipped,reason\n"
            "NASDAQ:AAPL,BUY,0.02,0.12,0.10,false,rebalance\n"
            "AMEX:TLT,SELL,-0.03,0.22,0.25,false,rebalance\n",
        )
    return SampleRun(
        run_dir=run_dir,
        run_id=run_id,
        as_of=as_of,
        symbols=tuple(SAMPLE_SYMBOLS),
        tournament=tournament,
        audit=audit,
        selection=selection,
    )


def sample_config(run_dir: Path, *, use_quantstats: bool | None = False) -> ReportConfig:
    """The :class:`~clusterfolio.report.config.ReportConfig` of a run, from its ledger."""
    ledger = RunArtifacts(run_dir).ledger()
    if ledger is None:
        return ReportConfig(use_quantstats=use_quantstats)
    return ReportConfig.from_ledger(ledger, use_quantstats=use_quantstats)
