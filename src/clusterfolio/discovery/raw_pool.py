"""The raw pool of a run (:class:`RawPool`), its summary and its JSON document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Order of listing kinds in the lead tie rule (lower first).


def _json_value(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


@dataclass
class RawPool:
    """The raw pool of one run.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per identity (:data:`POOL_COLUMNS`), sorted by asset class, score desc,
        identity.
    alternatives : pandas.DataFrame
        Every listing of every pooled identity (:data:`ALTERNATIVE_COLUMNS`), the lead flagged
        ``is_lead``; sorted by identity then the lead rule.
    decisions : list of dict
        ``{subject, action, reason, details}`` in the order they were taken.
    xs_momentum : bool
        Normalisation mode of the scores.
    """

    frame: pd.DataFrame
    alternatives: pd.DataFrame
    decisions: list[dict[str, Any]] = field(default_factory=list)
    xs_momentum: bool = False

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def identities(self) -> list[str]:
        """Identities in the pool, in frame order."""
        return [str(v) for v in self.frame["identity"]]

    @property
    def lead_symbols(self) -> list[str]:
        """Lead listings, in frame order."""
        return [str(v) for v in self.frame["lead_symbol"]]

    def alternatives_of(self, identity: str) -> pd.DataFrame:
        """Listings of ``identity`` other than the lead."""
        alt = self.alternatives
        return alt.loc[(alt["identity"] == identity) & ~alt["is_lead"]].reset_index(drop=True)

    def decisions_for(self, subject: str) -> list[dict[str, Any]]:
        """Decisions whose subject is ``subject`` (a symbol, identity or scanner)."""
        return [d for d in self.decisions if d["subject"] == subject]

    def to_frame(self) -> pd.DataFrame:
        """The identity table (a copy)."""
        return self.frame.copy()

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-safe document: identities with their alternatives, decisions and a summary."""
        alts: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for rec in self.alternatives.to_dict(orient="records"):
            key = (str(rec["asset_class"]), str(rec["identity"]))
            alts.setdefault(key, []).append({str(k): _json_value(v) for k, v in rec.items()})
        identities = []
        for rec in self.frame.to_dict(orient="records"):
            row = {str(k): _json_value(v) for k, v in rec.items()}
            row["alternatives"] = [
                a
                for a in alts.get((str(rec["asset_class"]), str(rec["identity"])), [])
                if not a["is_lead"]
            ]
            identities.append(row)
        return {
            "xs_momentum": self.xs_momentum,
            "summary": pool_summary(self),
            "identities": identities,
            "decisions": [_json_value(d) for d in self.decisions],
        }


def pool_summary(pool: RawPool) -> dict[str, Any]:
    """Counts of a raw pool: identities, listings, by class, by direction, decisions by action."""
    frame = pool.frame
    actions: dict[str, int] = {}
    for d in pool.decisions:
        actions[d["action"]] = actions.get(d["action"], 0) + 1
    return {
        "identities": len(frame),
        "listings": len(pool.alternatives),
        "by_asset_class": {
            str(k): int(v) for k, v in frame["asset_class"].value_counts().sort_index().items()
        },
        "by_direction": {
            str(k): int(v) for k, v in frame["direction"].value_counts().sort_index().items()
        },
        "decisions": dict(sorted(actions.items())),
    }
