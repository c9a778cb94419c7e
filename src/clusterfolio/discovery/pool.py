"""The raw pool: scanner hits merged into economic identities (venue neutrality).

:func:`build_raw_pool` turns the scanner exports into one row per identity:

1. *hits*: every row of every export that did not fail (a failed export is recorded as
   ``skipped_scanner``). The same listing found by several scanners in the same direction is
   one candidate (``duplicate_hit``, the scanners are kept; the row of the first scanner in name
   order is used);
2. *class and identity*: the class is the listing's (``listings[symbol]``), else the export's
   (``no_listing``). The identity is :func:`~clusterfolio.discovery.identity.identity_of` of
   the parsed symbol (known crypto bases: :data:`~clusterfolio.discovery.identity.DEFAULT_KNOWN_BASES`,
   the listings' own ``base`` fields and the universe's unambiguous tickers); an unparsable
   symbol is its own identity (``unparsable_symbol``). Candidates group by
   **(asset class, identity)**, so an equity ticker never merges with a coin;
3. *liquidity floor*: with ``min_value_traded > 0`` a candidate whose ``Value.Traded`` is below
   the floor or unknown is dropped (``dropped_liquidity``);
4. *score*: :func:`~clusterfolio.discovery.scoring.score_candidates` (per class, or global ranks
   with ``xs_momentum``);
5. *direction conflict*: an identity with LONG and SHORT candidates keeps the direction whose
   best candidate scores higher; an exact tie drops the identity (contradictory evidence)
   (``direction_conflict``, both scores in the details);
6. *lead and alternatives*: within an identity the lead listing is the best by (score desc,
   Value.Traded desc, spot before perpetual before future, exchange name, symbol); every other
   listing is an implementation alternative (``merged`` into the lead, ``lead`` recorded too);
7. *caps*: per asset class at most ``max_per_class[class]`` identities, by (score desc,
   Value.Traded desc, identity); the others are ``dropped_class_cap``. A class absent from the
   mapping is not capped.

Every decision is a dict ``{subject, action, reason, details}`` in :attr:`RawPool.decisions`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

import numpy as np
import pandas as pd

from clusterfolio.data.schema import Listing
from clusterfolio.discovery.evaluate import SCORE_COLUMNS, ScanExport, ScanStatus
from clusterfolio.discovery.identity import (
    SymbolKind,
    SymbolParseError,
    identity_of,
    infer_known_bases,
    parse_symbol,
)
from clusterfolio.discovery.raw_pool import RawPool, pool_summary
from clusterfolio.discovery.scoring import COMPONENTS, ScoreWeights, score_candidates
from clusterfolio.enums import AssetClass, Direction

__all__ = [
    "ALTERNATIVE_COLUMNS",
    "KIND_RANK",
    "POOL_COLUMNS",
    "PoolAction",
    "RawPool",
    "build_raw_pool",
    "pool_summary",
]

#: Order of listing kinds in the lead tie rule (lower first).
KIND_RANK: dict[str, int] = {
    str(SymbolKind.SPOT): 0,
    str(SymbolKind.EQUITY): 0,
    str(SymbolKind.ETF): 0,
    str(SymbolKind.FOREX): 0,
    str(SymbolKind.INDEX): 0,
    str(SymbolKind.PERPETUAL): 1,
    str(SymbolKind.FUTURE): 2,
}

POOL_COLUMNS: tuple[str, ...] = (
    "identity",
    "lead_symbol",
    "asset_class",
    "direction",
    "score",
    *COMPONENTS,
    "n_alternatives",
    "value_traded",
    "kind",
    "exchange",
    "scanners",
)

ALTERNATIVE_COLUMNS: tuple[str, ...] = (
    "identity",
    "asset_class",
    "symbol",
    "exchange",
    "kind",
    "direction",
    "is_lead",
    "score",
    "volume",
    "value_traded",
    "scanners",
)


class PoolAction(StrEnum):
    """Actions recorded in the raw pool's decision trail."""

    SKIPPED_SCANNER = "skipped_scanner"
    DUPLICATE_HIT = "duplicate_hit"
    NO_LISTING = "no_listing"
    UNPARSABLE = "unparsable_symbol"
    DROPPED_LIQUIDITY = "dropped_liquidity"
    DIRECTION_CONFLICT = "direction_conflict"
    LEAD = "lead"
    MERGED = "merged"
    DROPPED_CLASS_CAP = "dropped_class_cap"


def _decide(
    decisions: list[dict[str, Any]], subject: str, action: PoolAction, reason: str, **details: Any
) -> None:
    """Append one decision ``{subject, action, reason, details}`` to the trail."""
    decisions.append(
        {"subject": subject, "action": str(action), "reason": reason, "details": details}
    )


@dataclass(frozen=True)
class _RowRule:
    """A decision taken once per row of a frame.

    ``subject`` is the column naming the subject, ``details`` maps each detail (a column of the
    same name) to its type, ``reason`` tells the reason from the row (details converted).
    """

    subject: str
    details: Mapping[str, Callable[[Any], Any]]
    reason: Callable[[dict[str, Any]], str]


_ROW_RULES: dict[PoolAction, _RowRule] = {
    PoolAction.LEAD: _RowRule(
        "identity",
        {"symbol": str, "asset_class": str, "direction": str, "score": float},
        lambda r: (
            f"lead listing {r['symbol']} (best score among {int(r['n_listings'])} listing(s))"
        ),
    ),
    PoolAction.MERGED: _RowRule(
        "symbol",
        {"identity": str, "lead": str, "score": float, "asset_class": str},
        lambda r: f"merged into {r['identity']} (lead {r['lead']})",
    ),
    PoolAction.DROPPED_CLASS_CAP: _RowRule(
        "identity",
        {"asset_class": str, "lead": str, "score": float, "rank": int, "cap": int},
        lambda r: f"rank {r['rank']} in {r['asset_class']} exceeds the cap {r['cap']}",
    ),
}


def _decide_rows(decisions: list[dict[str, Any]], action: PoolAction, rows: pd.DataFrame) -> None:
    """One decision per row of ``rows`` by the rule of ``action`` (:data:`_ROW_RULES`)."""
    rule = _ROW_RULES[action]
    for rec in _records(rows):
        details = {key: kind(rec[key]) for key, kind in rule.details.items()}
        reason = rule.reason({**rec, **details})
        _decide(decisions, str(rec[rule.subject]), action, reason, **details)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as dicts with string keys."""
    return [{str(k): v for k, v in rec.items()} for rec in frame.to_dict(orient="records")]


def _empty_pool(decisions: list[dict[str, Any]], xs_momentum: bool) -> RawPool:
    return RawPool(
        frame=pd.DataFrame({c: pd.Series(dtype="object") for c in POOL_COLUMNS}),
        alternatives=pd.DataFrame({c: pd.Series(dtype="object") for c in ALTERNATIVE_COLUMNS}),
        decisions=decisions,
        xs_momentum=xs_momentum,
    )


def _collect_hits(exports: Sequence[ScanExport], decisions: list[dict[str, Any]]) -> pd.DataFrame:
    frames = []
    for export in sorted(exports, key=lambda e: e.scanner):
        if export.status is ScanStatus.FAILED:
            _decide(
                decisions,
                export.scanner,
                PoolAction.SKIPPED_SCANNER,
                "scanner failed; its candidates are not in the pool",
                error=export.error,
            )
            continue
        if export.rows.empty:
            continue
        rows = export.rows.copy()
        rows.index = rows.index.astype(str)
        keep = [c for c in SCORE_COLUMNS if c in rows.columns]
        part = rows.loc[:, keep].copy()
        part["symbol"] = rows.index.to_numpy()
        part["direction"] = str(export.direction)
        part["scanner"] = export.scanner
        part["export_class"] = str(export.asset_class) if export.asset_class is not None else ""
        frames.append(part.reset_index(drop=True))
    if not frames:
        return pd.DataFrame()
    hits = pd.concat(frames, ignore_index=True, sort=False)
    for col in SCORE_COLUMNS:
        if col not in hits.columns:
            hits[col] = np.nan
    return hits


def _dedupe(hits: pd.DataFrame, decisions: list[dict[str, Any]]) -> pd.DataFrame:
    hits = hits.sort_values(["symbol", "direction", "scanner"], kind="mergesort")
    scanners = hits.groupby(["symbol", "direction"], sort=True)["scanner"].agg(
        lambda s: sorted(set(s))
    )
    first = hits.drop_duplicates(["symbol", "direction"], keep="first").set_index(
        ["symbol", "direction"]
    )
    first["scanners"] = scanners
    for key, names in scanners.items():
        symbol, direction = cast(tuple[str, str], key)
        if len(names) > 1:
            _decide(
                decisions,
                str(symbol),
                PoolAction.DUPLICATE_HIT,
                f"found {direction} by {len(names)} scanners; kept once",
                scanners=list(names),
                direction=str(direction),
            )
    return first.reset_index()


def _identify(
    cands: pd.DataFrame, listings: Mapping[str, Listing], decisions: list[dict[str, Any]]
) -> pd.DataFrame:
    symbols = sorted(set(cands["symbol"]))
    known = set(infer_known_bases(symbols))
    known |= {
        lst.base.upper()
        for lst in listings.values()
        if lst.asset_class is AssetClass.CRYPTO and lst.base and lst.quote
    }
    export_class = cands.drop_duplicates("symbol").set_index("symbol")["export_class"]
    info: dict[str, dict[str, str]] = {}
    for symbol in symbols:
        listing = listings.get(symbol)
        if listing is not None:
            klass: AssetClass | None = listing.asset_class
        else:
            raw = str(export_class.get(symbol, ""))
            klass = AssetClass(raw) if raw else None
            _decide(
                decisions,
                symbol,
                PoolAction.NO_LISTING,
                "no listing metadata; asset class taken from the scanner",
                asset_class=raw or None,
            )
        try:
            parsed = parse_symbol(
                symbol,
                klass,
                known_bases=known,
                base_hint=listing.base if listing is not None else "",
                quote_hint=listing.quote if listing is not None else "",
            )
            identity, kind, exchange = identity_of(parsed), str(parsed.kind), parsed.exchange
            klass = klass or parsed.asset_class
        except SymbolParseError as exc:
            identity, kind = symbol.upper(), ""
            exchange = symbol.upper().split(":", 1)[0] if ":" in symbol else ""
            _decide(
                decisions,
                symbol,
                PoolAction.UNPARSABLE,
                "symbol does not follow its grammar; kept as its own identity",
                error=str(exc),
            )
        info[symbol] = {
            "identity": identity,
            "kind": kind,
            "exchange": exchange,
            "asset_class": str(klass) if klass is not None else "",
        }
    meta = pd.DataFrame.from_dict(info, orient="index")
    return cands.join(meta, on="symbol")


def _apply_floor(
    cands: pd.DataFrame, min_value_traded: float, decisions: list[dict[str, Any]]
) -> pd.DataFrame:
    if min_value_traded <= 0:
        return cands
    value = pd.to_numeric(cands["Value.Traded"], errors="coerce")
    low = ~(value >= min_value_traded)
    for rec in _records(cands.loc[low].assign(_vt=value.loc[low])):
        vt = float(rec["_vt"])
        _decide(
            decisions,
            str(rec["symbol"]),
            PoolAction.DROPPED_LIQUIDITY,
            f"Value.Traded below the floor {min_value_traded:g}",
            value_traded=vt if np.isfinite(vt) else None,
            direction=str(rec["direction"]),
        )
    return cands.loc[~low]


def _resolve_directions(cands: pd.DataFrame, decisions: list[dict[str, Any]]) -> pd.DataFrame:
    best = cands.groupby(["asset_class", "identity", "direction"], sort=True)["score"].max()
    table = best.unstack("direction")
    if str(Direction.LONG) not in table.columns or str(Direction.SHORT) not in table.columns:
        return cands
    both = table.dropna(subset=[str(Direction.LONG), str(Direction.SHORT)])
    resolved: dict[tuple[str, str], str | None] = {}
    for key, long_s, short_s in zip(
        both.index,
        both[str(Direction.LONG)].astype(float),
        both[str(Direction.SHORT)].astype(float),
        strict=True,
    ):
        klass, identity = cast(tuple[str, str], key)
        if long_s > short_s:
            kept: str | None = str(Direction.LONG)
        elif short_s > long_s:
            kept = str(Direction.SHORT)
        else:
            kept = None
        resolved[(str(klass), str(identity))] = kept
        reason = (
            f"LONG and SHORT candidates; kept {kept} (higher best score)"
            if kept
            else "LONG and SHORT candidates with equal best scores; identity dropped"
        )
        _decide(
            decisions,
            str(identity),
            PoolAction.DIRECTION_CONFLICT,
            reason,
            asset_class=str(klass),
            long_score=long_s,
            short_score=short_s,
            kept=kept,
        )
    if not resolved:
        return cands
    keep = [
        (k, i) not in resolved or resolved[(k, i)] == d
        for k, i, d in zip(cands["asset_class"], cands["identity"], cands["direction"], strict=True)
    ]
    return cands.loc[keep].reset_index(drop=True)


def _lead_order(cands: pd.DataFrame) -> pd.DataFrame:
    order = cands.assign(
        _vt=pd.to_numeric(cands["Value.Traded"], errors="coerce").fillna(-np.inf),
        _kind=cands["kind"].map(KIND_RANK).fillna(9),
    )
    order = order.sort_values(
        ["asset_class", "identity", "score", "_vt", "_kind", "exchange", "symbol"],
        ascending=[True, True, False, False, True, True, True],
        kind="mergesort",
    )
    return order.drop(columns=["_vt", "_kind"]).reset_index(drop=True)


def build_raw_pool(
    exports: Sequence[ScanExport],
    listings: Mapping[str, Listing],
    *,
    max_per_class: Mapping[str, int] | Mapping[AssetClass, int] | None = None,
    xs_momentum: bool = False,
    min_value_traded: float = 0.0,
    weights: ScoreWeights | None = None,
) -> RawPool:
    """Merge scanner exports into the raw pool (rules in the module docstring).

    Parameters
    ----------
    exports : sequence of ScanExport
        The Discovery step's exports.
    listings : mapping of str to Listing
        Metadata per symbol (class, base/quote hints).
    max_per_class : mapping, optional
        Identity cap per asset class (``DiscoverySettings.max_per_class``); None: no caps.
    xs_momentum : bool
        ``features.feat_xs_momentum``: global percentile ranks instead of per-class z-scores.
    min_value_traded : float
        ``DiscoverySettings.min_value_traded``: liquidity floor on ``Value.Traded`` (0: off).
    weights : ScoreWeights, optional
        Score weights.

    Returns
    -------
    RawPool
    """
    decisions: list[dict[str, Any]] = []
    hits = _collect_hits(exports, decisions)
    if hits.empty:
        return _empty_pool(decisions, xs_momentum)
    cands = _dedupe(hits, decisions)
    cands = _identify(cands, listings, decisions)
    cands = _apply_floor(cands, float(min_value_traded), decisions)
    if cands.empty:
        return _empty_pool(decisions, xs_momentum)
    cands = score_candidates(cands, xs_momentum=xs_momentum, weights=weights)
    cands = _resolve_directions(cands, decisions)
    if cands.empty:
        return _empty_pool(decisions, xs_momentum)
    cands = _lead_order(cands)
    leads = _mark_leads(cands, decisions)
    leads = _apply_caps(leads, max_per_class, decisions)
    kept = set(zip(leads["asset_class"], leads["identity"], strict=True))
    in_pool = [(k, i) in kept for k, i in zip(cands["asset_class"], cands["identity"], strict=True)]
    return RawPool(
        frame=_pool_frame(leads),
        alternatives=_alternatives_frame(cands.loc[in_pool]),
        decisions=decisions,
        xs_momentum=xs_momentum,
    )


def _mark_leads(cands: pd.DataFrame, decisions: list[dict[str, Any]]) -> pd.DataFrame:
    """The lead listing of each identity (``is_lead`` and ``n_listings`` set on ``cands`` in
    place); a decision per lead and per merged listing."""
    group = cands.groupby(["asset_class", "identity"], sort=False)
    cands["is_lead"] = group.cumcount() == 0
    n_listings = group["symbol"].transform("size")
    scanners = group["scanners"].agg(lambda s: sorted({n for names in s for n in names}))

    cands["n_listings"] = n_listings.astype(int)
    leads = cands.loc[cands["is_lead"]].copy()
    leads["n_alternatives"] = leads["n_listings"] - 1
    leads = leads.join(scanners.rename("all_scanners"), on=["asset_class", "identity"])
    _decide_rows(decisions, PoolAction.LEAD, leads)
    lead = leads.set_index(["asset_class", "identity"])["symbol"].rename("lead")
    merged = cands.loc[~cands["is_lead"]].join(lead, on=["asset_class", "identity"])
    _decide_rows(decisions, PoolAction.MERGED, merged)
    return leads


def _pool_frame(leads: pd.DataFrame) -> pd.DataFrame:
    """The pool: one row per kept identity (its lead listing), by class then score."""
    rows = leads.assign(lead_symbol=leads["symbol"], scanners=leads["all_scanners"])
    return (
        _typed(rows, POOL_COLUMNS)
        .sort_values(
            ["asset_class", "score", "identity"], ascending=[True, False, True], kind="mergesort"
        )
        .reset_index(drop=True)
    )


def _alternatives_frame(alt: pd.DataFrame) -> pd.DataFrame:
    """Every listing of the kept identities, the lead marked."""
    return _typed(alt, ALTERNATIVE_COLUMNS).reset_index(drop=True)


#: Types of the pool's and the alternatives' columns other than text (the default).
_TYPES: dict[str, type] = {
    "score": float,
    **dict.fromkeys(COMPONENTS, float),
    "n_alternatives": int,
    "is_lead": bool,
}
#: Columns read from a column of another name.
_SOURCES = {"value_traded": "Value.Traded"}


def _typed(rows: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``columns`` of ``rows`` in that order and typed (:data:`_TYPES`, else text):
    ``value_traded`` and ``volume`` numeric (unknown: NaN), ``scanners`` joined by commas."""
    out: dict[str, Any] = {}
    for name in columns:
        values = rows[_SOURCES.get(name, name)]
        if name == "scanners":
            out[name] = [",".join(s) for s in values]
        elif name in ("value_traded", "volume"):
            out[name] = pd.to_numeric(values, errors="coerce")
        else:
            out[name] = values.astype(_TYPES.get(name, str))
    return pd.DataFrame(out)


def _apply_caps(
    leads: pd.DataFrame,
    max_per_class: Mapping[str, int] | Mapping[AssetClass, int] | None,
    decisions: list[dict[str, Any]],
) -> pd.DataFrame:
    if not max_per_class:
        return leads
    caps = {str(k): int(v) for k, v in max_per_class.items()}
    ordered = leads.assign(
        _vt=pd.to_numeric(leads["Value.Traded"], errors="coerce").fillna(-np.inf)
    ).sort_values(
        ["asset_class", "score", "_vt", "identity"],
        ascending=[True, False, False, True],
        kind="mergesort",
    )
    ordered["_rank"] = ordered.groupby("asset_class", sort=False).cumcount() + 1
    ordered["_cap"] = ordered["asset_class"].map(caps)
    over = ordered["_cap"].notna() & (ordered["_rank"] > ordered["_cap"].fillna(np.inf))
    capped = ordered.loc[over].rename(columns={"symbol": "lead", "_rank": "rank", "_cap": "cap"})
    _decide_rows(decisions, PoolAction.DROPPED_CLASS_CAP, capped)
    return ordered.loc[~over].drop(columns=["_vt", "_rank", "_cap"])
