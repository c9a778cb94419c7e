"""Constructed pools with a known factor structure for the selection tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

BASELINE = "AMEX:SPY"


@dataclass
class Market:
    """A constructed raw pool, its light-pass returns and its screener table."""

    pool: pd.DataFrame
    returns: pd.DataFrame
    screener: pd.DataFrame


def build_market(
    blocks: Sequence[Sequence[tuple[str, str]]],
    *,
    seed: int = 11,
    n_rows: int = 60,
    noise: float = 0.002,
    drift: float = 0.002,
    baseline_block: int | None = 0,
    classes: dict[str, str] | None = None,
) -> Market:
    """Factor blocks of candidates: ``blocks[k]`` lists ``(symbol, direction)`` of factor ``k``.

    A LONG candidate's raw returns are ``factor_k + noise``; a SHORT candidate's raw returns are
    ``-(factor_k + noise)``, so its synthetic-long series belongs to block ``k`` too. Each factor
    drifts up by ``drift`` per session (positive window returns, above the default gate).
    The baseline ``AMEX:SPY`` follows ``baseline_block`` (not in the pool); None leaves it out
    of the return matrix.
    """
    rng = np.random.default_rng(seed)
    factors = rng.normal(drift, 0.01, size=(n_rows, len(blocks)))
    index = pd.bdate_range("2026-08-03", periods=n_rows, name="session")
    cols: dict[str, np.ndarray] = {}
    rows = []
    for k, block in enumerate(blocks):
        for symbol, direction in block:
            series = factors[:, k] + rng.normal(0.0, noise, n_rows)
            cols[symbol] = -series if direction == "SHORT" else series
            ticker = symbol.split(":", 1)[1]
            rows.append(
                {
                    "symbol": symbol,
                    "identity": ticker,
                    "asset_class": (classes or {}).get(symbol, "equity"),
                    "direction": direction,
                    "score": float(rng.normal()),
                    "value_traded": float(np.exp(rng.normal(18.0, 1.0))),
                    "kind": "equity",
                    "exchange": symbol.split(":", 1)[0],
                }
            )
    if baseline_block is not None:
        cols[BASELINE] = factors[:, baseline_block] + rng.normal(0.0, noise, n_rows)
    returns = pd.DataFrame(cols, index=index)
    pool = pd.DataFrame(rows)
    screener = pd.DataFrame(
        {
            "Value.Traded": pool["value_traded"].to_numpy(),
            "ATR": np.exp(rng.normal(0.0, 0.3, len(pool))),
            "close": np.exp(rng.normal(3.5, 0.5, len(pool))),
        },
        index=pd.Index(pool["symbol"], name="symbol"),
    )
    return Market(pool=pool, returns=returns, screener=screener)
