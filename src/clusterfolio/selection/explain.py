"""What a natural selection tells: a reason per candidate, the decisions, the cluster table,
the winners and the summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.enums import Direction
from clusterfolio.manifest import SelectionSettings
from clusterfolio.risk.correlation import (
    NEUTRAL_CORRELATION,
)
from clusterfolio.selection.candidates import SelectionFate, _json, records


def _pct(value: float) -> str:
    return f"{value:+.1%}" if np.isfinite(value) else "n/a"


def _score(value: float) -> str:
    return f"{value:+.3f}" if np.isfinite(value) else "n/a"


def _leaders(cand: pd.DataFrame) -> dict[tuple[int, str], list[str]]:
    """The selected symbols of each ``(cluster, direction)``, by rank."""
    leaders: dict[tuple[int, str], list[str]] = {}
    kept = cand[cand["fate"] == str(SelectionFate.SELECTED)].sort_values("rank", kind="mergesort")
    for row in records(kept):
        leaders.setdefault((int(row["cluster"]), str(row["direction"])), []).append(
            str(row["symbol"])
        )
    return leaders


def _history_reason(row: dict[str, Any], settings: SelectionSettings) -> str:
    if int(row["n_obs"]) == 0:
        return "no returns in the return matrix: cannot be correlated or scored"
    return (
        f"{int(row['n_obs'])} return observations, fewer than "
        f"min_overlap={settings.min_overlap}: cannot be correlated reliably"
    )


def _baseline_reason(row: dict[str, Any], baseline: str) -> str:
    where = (
        f"in cluster {int(row['cluster'])}"
        if not pd.isna(row["cluster"])
        else f"not clustered ({int(row['n_obs'])} return observations)"
    )
    note = (
        "; the pool's SHORT candidate on it is not traded"
        if str(row["pool_direction"]) == str(Direction.SHORT)
        else ""
    )
    return (
        f"market baseline {baseline}: always carried LONG, not counted against a "
        f"cluster ({where}){note}"
    )


@dataclass(frozen=True)
class _Reasons:
    """What a candidate's reason is told against: the settings, the market baseline and the
    selected symbols of each ``(cluster, direction)`` (:func:`_leaders`)."""

    settings: SelectionSettings
    baseline: str
    leaders: dict[tuple[int, str], list[str]]

    def of(self, row: dict[str, Any]) -> str:
        """The reason of one candidate, naming the rule and the numbers behind its fate."""
        fate = SelectionFate(str(row["fate"]))
        if fate is SelectionFate.DUPLICATE_IDENTITY:
            return (
                f"identity {row['identity']} ({row['asset_class']}) already represented by "
                f"{row['kept_listing']}: one listing per identity"
            )
        if fate is SelectionFate.INSUFFICIENT_HISTORY:
            return _history_reason(row, self.settings)
        if fate is SelectionFate.MOMENTUM_GATE:
            held = "synthetic-long " if str(row["direction"]) == str(Direction.SHORT) else ""
            return (
                f"{int(row['n_obs'])}-session {held}return {_pct(float(row['total_return']))} "
                f"is below the momentum gate {_pct(float(self.settings.momentum_gate))} "
                f"(cluster {int(row['cluster'])})"
            )
        if fate is SelectionFate.BASELINE:
            return _baseline_reason(row, self.baseline)
        return self._ranked(row, fate)

    def _ranked(self, row: dict[str, Any], fate: SelectionFate) -> str:
        direction = str(row["direction"])
        top_n = self.settings.top_n
        group = (
            f"rank {int(row['rank'])} of {int(row['group_size'])} {direction} candidates in "
            f"cluster {int(row['cluster'])} (execution score "
            f"{_score(float(row['execution_score']))})"
        )
        if fate is SelectionFate.SELECTED:
            return f"{group}: within top_n={top_n}"
        if fate is SelectionFate.BELOW_TOP_N:
            names = ", ".join(self.leaders.get((int(row["cluster"]), direction), [])) or "none"
            return f"{group}: beyond top_n={top_n} (kept: {names})"
        return (
            f"{group}: within top_n={top_n} but beyond the global cap "
            f"max_winners={self.settings.max_winners} (kept by asset-class floor, rank, then "
            f"global score {_score(float(row['global_score']))})"
        )


def _reasons(cand: pd.DataFrame, settings: SelectionSettings, baseline: str) -> list[str]:
    """One reason per candidate, naming the rule and the numbers behind its fate."""
    reasons = _Reasons(settings, baseline, _leaders(cand))
    return [reasons.of(row) for row in records(cand)]


def _ordered(cand: pd.DataFrame) -> pd.DataFrame:
    return (
        cand.assign(
            _cluster=cand["cluster"].astype("float64").fillna(np.inf),
            _rank=cand["rank"].astype("float64").fillna(np.inf),
        )
        .sort_values(["_cluster", "direction", "_rank", "symbol"], kind="mergesort")
        .drop(columns=["_cluster", "_rank"])
        .reset_index(drop=True)
    )


def _cluster_table(cand: pd.DataFrame, corr: pd.DataFrame) -> pd.DataFrame:
    """One row per cluster (vectorised: members are contiguous blocks once sorted by cluster)."""
    clustered = cand[cand["cluster"].notna()]
    if clustered.empty:
        return pd.DataFrame(
            {
                "cluster": pd.Series(dtype="int64"),
                "size": pd.Series(dtype="int64"),
                "members": pd.Series(dtype=object),
                "selected": pd.Series(dtype=object),
                "mean_correlation": pd.Series(dtype="float64"),
            }
        )
    labels = clustered["cluster"].astype("int64").to_numpy()
    symbols = clustered["symbol"].astype(str).to_numpy()
    chosen = clustered["selected"].to_numpy(dtype=bool)
    order = np.lexsort((symbols, labels))
    labels, symbols, chosen = labels[order], symbols[order], chosen[order]
    position = pd.Index(corr.columns).get_indexer(pd.Index(symbols))
    rho = corr.to_numpy()
    ids, starts, sizes = np.unique(labels, return_index=True, return_counts=True)
    members, selected, means = [], [], np.full(ids.size, np.nan)
    for k, (a, n) in enumerate(zip(starts, sizes, strict=True)):
        members.append(",".join(symbols[a : a + n]))
        selected.append(",".join(symbols[a : a + n][chosen[a : a + n]]))
        if n > 1:  # symmetric block: the off-diagonal mean is the mean over pairs
            pos = position[a : a + n]
            block = rho[np.ix_(pos, pos)]
            defined = np.isfinite(block)
            np.fill_diagonal(defined, False)
            if defined.any():
                means[k] = float(block[defined].mean())
    return pd.DataFrame(
        {
            "cluster": ids.astype(np.int64),
            "size": sizes.astype(np.int64),
            "members": members,
            "selected": selected,
            "mean_correlation": means,
        }
    )


def _candidate_decision(rec: dict[str, Any]) -> dict[str, Any]:
    """The decision record of one candidate."""
    return {
        "subject": str(rec["symbol"]),
        "action": str(rec["fate"]),
        "reason": str(rec["reason"]),
        "details": {
            "identity": str(rec["identity"]),
            "asset_class": str(rec["asset_class"]),
            "direction": str(rec["direction"]),
            "cluster": _json(rec["cluster"]),
            "rank": _json(rec["rank"]),
            "execution_score": _json(rec["execution_score"]),
            "total_return": _json(rec["total_return"]),
            "n_obs": _json(rec["n_obs"]),
            "selected": bool(rec["selected"]),
            "baseline": bool(rec["baseline"]),
        },
    }


def _clustering_decision(
    n_clustered: int,
    n_clusters: int,
    neutral: int,
    settings: SelectionSettings,
    xs_momentum: bool,
) -> dict[str, Any]:
    """The decision record of the clustering as a whole."""
    return {
        "subject": "natural_selection",
        "action": "clustered",
        "reason": (
            f"{n_clustered} candidates in {n_clusters} clusters (Ward on the "
            f"intersection-correlation distance, threshold {settings.threshold:g}); "
            f"{neutral} pairs below min_overlap={settings.min_overlap} shared sessions "
            f"at the neutral correlation {NEUTRAL_CORRELATION:g}; normalisation "
            f"{'global percentile ranks' if xs_momentum else 'z-scores within the cluster'}"
        ),
        "details": {
            "clusters": n_clusters,
            "clustered": n_clustered,
            "neutral_pairs": int(neutral),
            "threshold": float(settings.threshold),
            "min_overlap": int(settings.min_overlap),
            "xs_momentum": bool(xs_momentum),
        },
    }


def _decisions(
    cand: pd.DataFrame,
    clusters: pd.DataFrame,
    neutral: int,
    settings: SelectionSettings,
    xs_momentum: bool,
    n_capped: int,
) -> list[dict[str, Any]]:
    out = [_candidate_decision(rec) for rec in records(cand)]
    n_clustered = int(cand["cluster"].notna().sum())
    out.append(_clustering_decision(n_clustered, len(clusters), neutral, settings, xs_momentum))
    if n_capped:
        out.append(
            {
                "subject": "max_winners",
                "action": "global_cap",
                "reason": (
                    f"{n_capped} candidates within top_n were dropped by the global cap "
                    f"max_winners={settings.max_winners} (kept by asset-class floor, rank, then global score)"
                ),
                "details": {"dropped": int(n_capped), "max_winners": int(settings.max_winners)},
            }
        )
    return out


def _winners(cand: pd.DataFrame) -> list[dict[str, Any]]:
    kept = cand[cand["selected"]]
    kept = pd.concat([kept[~kept["baseline"]], kept[kept["baseline"]]])
    out = []
    for rec in records(kept):
        out.append(
            {
                "symbol": str(rec["symbol"]),
                "identity": str(rec["identity"]),
                "asset_class": str(rec["asset_class"]),
                "direction": str(rec["direction"]),
                "kind": str(rec["kind"]),
                "exchange": str(rec["exchange"]),
                "cluster": _json(rec["cluster"]),
                "execution_score": _json(rec["execution_score"]),
                "rank": _json(rec["rank"]),
                "alpha_score": _json(rec["alpha_score"]),
                "baseline": bool(rec["baseline"]),
                "reason": str(rec["reason"]),
            }
        )
    return out


def _summary(
    cand: pd.DataFrame,
    clusters: pd.DataFrame,
    neutral: int,
    sessions: int,
    settings: SelectionSettings,
    xs_momentum: bool,
) -> dict[str, Any]:
    fates = {str(f): int((cand["fate"] == str(f)).sum()) for f in SelectionFate}
    return {
        "candidates": len(cand),
        "sessions": int(sessions),
        "clustered": int(cand["cluster"].notna().sum()),
        "clusters": len(clusters),
        "neutral_pairs": int(neutral),
        "selected": fates[str(SelectionFate.SELECTED)],
        "winners": int(cand["selected"].sum()),
        "fates": fates,
        "settings": {**settings.model_dump(mode="json"), "xs_momentum": bool(xs_momentum)},
    }
