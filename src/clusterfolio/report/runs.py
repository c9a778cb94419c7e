"""Run management: the list of runs (``clusterfolio runs``) and the difference of two runs
(``clusterfolio diff RUN_A RUN_B``).

Both read run directories only (``run_manifest.json``, ``audit.json``, ``portfolio_optimized.json``,
``universe.json``, ``clusters.json``, ``regime.json``) and the accepted state; nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from clusterfolio.artifacts.audit import AUDIT_JSON
from clusterfolio.artifacts.health import UNIVERSE
from clusterfolio.artifacts.ledger import LEDGER
from clusterfolio.artifacts.portfolio import PORTFOLIO, profile_section, section_assets
from clusterfolio.artifacts.risk import CLUSTERS, REGIME
from clusterfolio.io import read_json

WEIGHT_TOL = 1e-9


def _json(path: Path) -> Any | None:
    return read_json(path) if path.is_file() else None


@dataclass(frozen=True)
class RunRow:
    """One run of the list."""

    run_id: str
    as_of: str | None
    profile: str | None
    status: str | None
    duration_s: float | None
    audit: str
    accepted: bool
    latest: bool

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _duration(ledger: Mapping[str, Any]) -> float | None:
    try:
        start = datetime.fromisoformat(str(ledger["started_at"]))
        end = datetime.fromisoformat(str(ledger["finished_at"]))
    except (KeyError, ValueError, TypeError):
        return None
    return round((end - start).total_seconds(), 3)


def list_runs(runs_dir: Path, state: Mapping[str, Any] | None = None) -> list[RunRow]:
    """Every run of ``runs_dir`` (newest first by as-of date, then id).

    Parameters
    ----------
    runs_dir : Path
        ``data/runs``.
    state : mapping, optional
        The accepted state (its ``run_id`` marks the accepted run).
    """
    latest = runs_dir / "latest"
    latest_id = latest.resolve().name if latest.exists() else None
    accepted_id = (state or {}).get("run_id")
    rows = []
    for folder in sorted(p for p in runs_dir.glob("*") if (p / LEDGER).is_file()):
        if folder.is_symlink():
            continue
        ledger = _json(folder / LEDGER) or {}
        audit = _json(folder / AUDIT_JSON)
        verdict = "not run" if audit is None else ("passed" if audit.get("passed") else "FAILED")
        rows.append(
            RunRow(
                run_id=folder.name,
                as_of=ledger.get("as_of"),
                profile=ledger.get("profile"),
                status=ledger.get("status"),
                duration_s=_duration(ledger),
                audit=verdict,
                accepted=folder.name == accepted_id,
                latest=folder.name == latest_id,
            )
        )
    return sorted(rows, key=lambda r: (str(r.as_of or ""), r.run_id), reverse=True)


def _flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(doc, Mapping):
        return {prefix: doc}
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        out.update(_flatten(value, name) if isinstance(value, Mapping) else {name: value})
    return out


def _weights(run_dir: Path, profile: str) -> dict[str, float]:
    doc = _json(run_dir / PORTFOLIO) or {}
    assets = section_assets(profile_section(doc, profile))
    return {str(a["symbol"]): float(a.get("net", 0.0)) for a in assets}


def _universe(run_dir: Path) -> set[str]:
    doc = _json(run_dir / UNIVERSE) or {}
    return {str(s) for s in doc.get("symbols", [])}


def _clusters(run_dir: Path) -> dict[str, int]:
    doc = _json(run_dir / CLUSTERS) or {}
    labels = doc.get("labels") or {}
    return {str(k): int(v) for k, v in labels.items()} if isinstance(labels, Mapping) else {}


def _partition(labels: Mapping[str, int]) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for symbol, label in labels.items():
        groups.setdefault(label, set()).add(symbol)
    return {frozenset(g) for g in groups.values()}


def diff_runs(run_a: Path, run_b: Path, *, profile: str | None = None) -> dict[str, Any]:
    """What differs between two runs: weights, universe, clusters, regime, settings.

    Parameters
    ----------
    run_a, run_b : Path
        The run directories (A is the reference).
    profile : str, optional
        The risk profile whose weights are compared; each run's accepted profile when omitted.

    Returns
    -------
    dict
        ``weights`` (symbol, a, b, change; biggest first), ``universe`` (added, removed),
        ``clusters`` (counts and whether the partition of the shared symbols is the same),
        ``regime`` (a, b), ``settings`` (dotted key, a, b).
    """
    ledger_a, ledger_b = _json(run_a / LEDGER) or {}, _json(run_b / LEDGER) or {}

    def accepted(ledger: Mapping[str, Any]) -> str:
        return str(((ledger.get("settings") or {}).get("run") or {}).get("accepted_profile", "hrp"))

    pa, pb = profile or accepted(ledger_a), profile or accepted(ledger_b)
    wa, wb = _weights(run_a, pa), _weights(run_b, pb)
    weights: list[dict[str, Any]] = [
        {
            "symbol": s,
            "a": wa.get(s, 0.0),
            "b": wb.get(s, 0.0),
            "change": wb.get(s, 0.0) - wa.get(s, 0.0),
        }
        for s in sorted(set(wa) | set(wb))
        if abs(wb.get(s, 0.0) - wa.get(s, 0.0)) > WEIGHT_TOL
    ]
    weights.sort(key=lambda r: (-abs(r["change"]), r["symbol"]))
    ua, ub = _universe(run_a), _universe(run_b)
    ca, cb = _clusters(run_a), _clusters(run_b)
    shared = set(ca) & set(cb)
    same = _partition({s: ca[s] for s in shared}) == _partition({s: cb[s] for s in shared})
    ra = (_json(run_a / REGIME) or {}).get("label")
    rb = (_json(run_b / REGIME) or {}).get("label")
    sa, sb = _flatten(ledger_a.get("settings") or {}), _flatten(ledger_b.get("settings") or {})
    settings = [
        {"key": k, "a": sa.get(k), "b": sb.get(k)}
        for k in sorted(set(sa) | set(sb))
        if sa.get(k) != sb.get(k)
    ]
    return {
        "a": {"run_id": run_a.name, "as_of": ledger_a.get("as_of"), "profile": pa},
        "b": {"run_id": run_b.name, "as_of": ledger_b.get("as_of"), "profile": pb},
        "weights": weights,
        "turnover": sum(abs(r["change"]) for r in weights) / 2.0,
        "universe": {"added": sorted(ub - ua), "removed": sorted(ua - ub)},
        "clusters": {
            "a": len(set(ca.values())),
            "b": len(set(cb.values())),
            "same_partition_of_shared": same,
        },
        "regime": {"a": ra, "b": rb, "changed": ra != rb},
        "settings": settings,
    }


def diff_lines(diff: Mapping[str, Any], *, top: int = 15) -> list[str]:
    """A diff as terminal lines."""
    a, b = diff["a"], diff["b"]
    out = [
        f"A {a['run_id']} (as of {a['as_of']}, {a['profile']})",
        f"B {b['run_id']} (as of {b['as_of']}, {b['profile']})",
        f"regime: {diff['regime']['a']} -> {diff['regime']['b']}"
        + ("" if diff["regime"]["changed"] else " (unchanged)"),
        f"weights: {len(diff['weights'])} changed, turnover {diff['turnover']:.2%}",
    ]
    for row in diff["weights"][:top]:
        out.append(
            f"  {row['symbol']:<24} {row['a']:+8.2%} -> {row['b']:+8.2%} ({row['change']:+.2%})"
        )
    uni = diff["universe"]
    out.append(f"universe: +{len(uni['added'])} -{len(uni['removed'])}")
    for key in ("added", "removed"):
        if uni[key]:
            out.append(
                f"  {key}: {', '.join(uni[key][:top])}" + (" ..." if len(uni[key]) > top else "")
            )
    cl = diff["clusters"]
    out.append(
        f"clusters: {cl['a']} -> {cl['b']}; shared symbols "
        + ("grouped the same" if cl["same_partition_of_shared"] else "regrouped")
    )
    out.append(f"settings: {len(diff['settings'])} differ")
    for row in diff["settings"]:
        out.append(f"  {row['key']}: {row['a']!r} -> {row['b']!r}")
    return out
