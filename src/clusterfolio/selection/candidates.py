"""The candidates of a natural selection: the raw pool as a frame, one listing per identity."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, cast

import numpy as np
import pandas as pd

from clusterfolio.enums import AssetClass, Direction
from clusterfolio.errors import DataError, SchemaError


def _json(value: Any) -> Any:
    """A JSON-safe plain value (NaN and NA become None)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as dictionaries keyed by column name."""
    return cast(list[dict[str, Any]], frame.to_dict(orient="records"))


def _text_column(frame: pd.DataFrame, name: str, default: str = "") -> pd.Series:
    if name not in frame.columns:
        return pd.Series(default, index=frame.index, dtype=object)
    return frame[name].map(lambda v: default if v is None or v is pd.NA else str(v)).astype(object)


def _float_column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    return pd.to_numeric(frame[name], errors="coerce").astype("float64")


def _ticker(symbol: str) -> str:
    return symbol.split(":", 1)[1] if ":" in symbol else symbol


def _prepare(
    pool_frame: pd.DataFrame, screener: pd.DataFrame | None, baseline: str
) -> pd.DataFrame:
    """Candidate rows (one per pool row, plus the baseline), sorted by symbol."""
    if "symbol" in pool_frame.columns:
        symbols = pool_frame["symbol"]
    elif "lead_symbol" in pool_frame.columns:
        symbols = pool_frame["lead_symbol"]
    else:
        raise SchemaError("raw pool frame needs a 'symbol' (or 'lead_symbol') column")
    missing = [c for c in ("identity", "asset_class", "direction") if c not in pool_frame.columns]
    if missing:
        raise SchemaError(f"raw pool frame lacks columns {missing}")
    cand = pd.DataFrame(
        {
            "symbol": symbols.astype(str).to_numpy(),
            "identity": _text_column(pool_frame, "identity").to_numpy(),
            "asset_class": _text_column(pool_frame, "asset_class").to_numpy(),
            "direction": _text_column(pool_frame, "direction").str.upper().to_numpy(),
            "kind": _text_column(pool_frame, "kind").to_numpy(),
            "exchange": _text_column(pool_frame, "exchange").to_numpy(),
            "alpha_score": _float_column(pool_frame, "score").to_numpy(),
            "value_traded": _float_column(pool_frame, "value_traded").to_numpy(),
        }
    )
    bad = sorted(set(cand["direction"]) - {str(Direction.LONG), str(Direction.SHORT)})
    if bad:
        raise SchemaError(f"raw pool frame has directions {bad}; allowed: LONG, SHORT")
    dupes = cand["symbol"][cand["symbol"].duplicated()]
    if not dupes.empty:
        raise DataError(f"raw pool frame lists symbols more than once: {sorted(set(dupes))}")
    cand["pool_direction"] = cand["direction"]
    cand["baseline"] = cand["symbol"] == baseline
    if not cand["baseline"].any():
        klass = str(AssetClass.ETF)
        if (
            screener is not None
            and "asset_class" in screener.columns
            and baseline in screener.index
        ):
            value = screener.loc[baseline, "asset_class"]
            klass = str(value) if isinstance(value, str) and value else klass
        row = {
            "symbol": baseline,
            "identity": _ticker(baseline),
            "asset_class": klass,
            "direction": str(Direction.LONG),
            "kind": "etf" if klass in (str(AssetClass.ETF), str(AssetClass.BOND)) else "",
            "exchange": baseline.split(":", 1)[0] if ":" in baseline else "",
            "alpha_score": np.nan,
            "value_traded": np.nan,
            "pool_direction": "",
            "baseline": True,
        }
        cand = pd.concat([cand, pd.DataFrame([row])], ignore_index=True)
    cand.loc[cand["baseline"], "direction"] = str(Direction.LONG)
    return cand.sort_values("symbol", kind="mergesort").reset_index(drop=True)


def _dedupe(cand: pd.DataFrame) -> pd.Series:
    """Symbol of the listing kept for each row's ``(asset_class, identity)``."""
    order = cand.assign(
        _not_base=~cand["baseline"],
        _alpha=cand["alpha_score"].fillna(-np.inf),
        _vt=cand["value_traded"].fillna(-np.inf),
    ).sort_values(
        ["asset_class", "identity", "_not_base", "_alpha", "_vt", "symbol"],
        ascending=[True, True, True, False, False, True],
        kind="mergesort",
    )
    keeper = order.groupby(["asset_class", "identity"], sort=False)["symbol"].transform("first")
    return keeper.reindex(cand.index)


class SelectionFate(StrEnum):
    """What natural selection did with a candidate (exactly one per candidate)."""

    SELECTED = "selected"
    BASELINE = "baseline"
    DUPLICATE_IDENTITY = "duplicate_identity"
    INSUFFICIENT_HISTORY = "insufficient_history"
    MOMENTUM_GATE = "momentum_gate"
    BELOW_TOP_N = "below_top_n"
    GLOBAL_CAP = "global_cap"


#: Fates of the winners.
KEPT_FATES: frozenset[SelectionFate] = frozenset({SelectionFate.SELECTED, SelectionFate.BASELINE})
