"""How far the caps moved a profile from its unbounded allocation, and where the weight went.

A bounded allocator (HRP with the caps inside the recursive bisection) honours the caps by
construction, so no projection is recorded; the caps may still decide most of the portfolio. When
the unbounded allocation puts more than a cap on an asset, the bisection hands the excess to the
sibling branch of the leaf order, which can be a single volatile asset: on real data the unbounded
HRP held 80% of a short-dated Treasury fund and the bounded one gave the excess to two single-stock
shorts that carry most of the profile's risk. :func:`cap_effect` records that move, so the audit
can warn (``cap_effect``) and the report can say which assets gave and which received.

The move is the L1 distance ``sum |w - w_unbounded|`` between the final and the unbounded gross
weights (0 when no cap binds; 2 at most). Each listed asset carries its unbounded and final weight;
the receivers also carry their annualised volatility and their share of the profile's risk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from clusterfolio.optimize.risk_parity import risk_contributions

__all__ = ["MAX_CAP_MOVE", "MOST_MOVED", "cap_effect", "caps_decided", "describe_cap_effect"]

MOST_MOVED = 3
"""How many assets :func:`cap_effect` lists on each side (cut by the caps, and receiving)."""

MAX_CAP_MOVE = 1.0
"""Largest L1 move from the unbounded allocation that leaves the profile deciding its weights:
above it, more than half of the weight was placed by the caps (audit ``cap_effect`` warns)."""

_MOVE_TOL = 1e-9


def cap_effect(
    symbols: Sequence[str], unbounded: np.ndarray, final: np.ndarray, cov: np.ndarray
) -> dict[str, Any]:
    """The move from ``unbounded`` to ``final`` gross weights (see the module docstring).

    Parameters
    ----------
    symbols : sequence of str
        The assets, in the order of the weight vectors and of ``cov``.
    unbounded, final : numpy.ndarray
        Gross weights of the allocator without and with the caps (each sums to one).
    cov : numpy.ndarray
        The annualised covariance the allocator used.

    Returns
    -------
    dict
        ``l1`` (the move), ``cut`` and ``received`` (up to :data:`MOST_MOVED` assets each, the
        largest moves first) and ``definition``.
    """
    delta = final - unbounded
    share = risk_contributions(final, cov)
    volatility = np.sqrt(np.clip(np.diag(cov), 0.0, None))

    def row(i: int) -> dict[str, Any]:
        return {
            "symbol": symbols[i],
            "unbounded": float(unbounded[i]),
            "final": float(final[i]),
            "volatility": float(volatility[i]),
            "risk_share": float(share[i]),
        }

    order = np.argsort(delta, kind="stable")
    cut = [row(int(i)) for i in order[:MOST_MOVED] if delta[i] < -_MOVE_TOL]
    received = [row(int(i)) for i in order[::-1][:MOST_MOVED] if delta[i] > _MOVE_TOL]
    return {
        "l1": float(np.abs(delta).sum()),
        "cut": cut,
        "received": received,
        "definition": "L1 distance between the final and the unbounded gross weights (0 to 2)",
    }


def _finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite real number (not a bool), else ``None``."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def caps_decided(effect: Mapping[str, Any]) -> bool:
    """Whether the recorded move is above :data:`MAX_CAP_MOVE` (or not a number)."""
    l1 = _finite(effect.get("l1"))
    return l1 is None or l1 > MAX_CAP_MOVE


def _pct(value: Any) -> str:
    number = _finite(value)
    return "n/a" if number is None else f"{number:.1%}"


def _moves(rows: Any, *, risk: bool) -> str:
    """``SYMBOL 80.4% -> 15.0%`` for each listed asset (with volatility and risk share)."""
    out = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, Mapping):
            continue
        text = f"{row.get('symbol')} {_pct(row.get('unbounded'))} -> {_pct(row.get('final'))}"
        if risk:
            text += (
                f" (volatility {_pct(row.get('volatility'))}, "
                f"{_pct(row.get('risk_share'))} of the risk)"
            )
        out.append(text)
    return ", ".join(out) or "none listed"


def describe_cap_effect(effect: Mapping[str, Any], allocator: str) -> str:
    """One sentence on the move: its size and, above :data:`MAX_CAP_MOVE`, who gave and received.

    Parameters
    ----------
    effect : mapping
        A recorded :func:`cap_effect` (as stored: values may be missing or malformed).
    allocator : str
        The allocator it was recorded for (``hrp``).

    Returns
    -------
    str
        The sentence the audit check and the portfolio report print.
    """
    l1 = _finite(effect.get("l1"))
    size = "n/a" if l1 is None else f"{l1:.2f}"
    if not caps_decided(effect):
        return f"the caps moved {size} of L1 from the unbounded {allocator} (at most {MAX_CAP_MOVE:.2f})"
    return (
        f"the caps decided most of the weights: they moved {size} of L1 (of at most 2) from the "
        f"unbounded {allocator}; cut {_moves(effect.get('cut'), risk=False)}; the excess went to "
        f"{_moves(effect.get('received'), risk=True)}"
    )
