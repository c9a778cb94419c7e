"""Sessions of a candle file from unix times or date texts."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from clusterfolio.data.formats.issues import IssueKind, Severity, _Issues


def _unix_to_sessions(values: np.ndarray, issues: _Issues, rows: np.ndarray) -> np.ndarray:
    """Convert unix times to sessions, choosing the unit of each row by its magnitude."""
    out = np.full(values.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    finite = np.isfinite(values)
    mag = np.abs(np.where(finite, values, 0.0))
    units = {
        "s": mag < 1e11,
        "ms": (mag >= 1e11) & (mag < 1e14),
        "us": (mag >= 1e14) & (mag < 1e17),
    }
    units["ns"] = mag >= 1e17
    scale = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}
    used = {}
    for unit, mask in units.items():
        mask = mask & finite
        if mask.any():
            used[unit] = int(mask.sum())
            out[mask] = (
                (np.round(values[mask] * scale[unit])).astype("int64").astype("datetime64[ns]")
            )
    if len(used) > 1:
        counts = ", ".join(f"{n} rows in {u}" for u, n in used.items())
        issues.add(
            None,
            IssueKind.MIXED_TIME_UNITS,
            f"unix times mix units ({counts}); converted per row",
            Severity.INFO,
        )
    elif used:
        issues.add(
            None,
            IssueKind.INFERRED,
            f"unix times read as {next(iter(used))} (by magnitude), converted to UTC dates",
            Severity.INFO,
        )
    return out.astype("datetime64[D]").astype("datetime64[ns]")


_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_days(items: list[str]) -> np.ndarray | None:
    """Fast path: every text is exactly ``YYYY-MM-DD`` (None when one is not, or is no date)."""
    try:
        days = np.array(items, dtype="datetime64[D]")
    except ValueError:
        return None
    if np.isnat(days).any() or any(
        len(t) != 10 or t[4] != "-" for t in items[:: max(1, len(items) // 50)]
    ):
        return None
    return days.astype("datetime64[ns]")


def _text_to_sessions(
    texts: Sequence[str] | np.ndarray, dayfirst: bool | None = None
) -> np.ndarray:
    """Parse date texts: ISO (``YYYY-MM-DD``, a time may follow) or slashed ``DD/MM/YYYY``.

    Slashed dates are day-first unless ``dayfirst`` is false or, when it is ``None``, the file
    proves them month-first (a second field above 12 and no first field above 12).
    Unparsable texts give NaT.
    """
    items = [str(t).strip() for t in texts]
    out = np.full(len(items), np.datetime64("NaT"), dtype="datetime64[ns]")
    if not items:
        return out
    fast = _iso_days(items)
    if fast is not None:
        return fast
    if sum("/" in t[:10] for t in items) * 2 > len(items):
        parts = [_SLASHED.match(t) for t in items]
        ok = np.array([m is not None for m in parts], dtype=bool)
        nums = np.array(
            [[int(g) for g in m.groups()] if m else [0, 0, 0] for m in parts], dtype=np.int64
        )
        if dayfirst is None:
            dayfirst = not (bool((nums[ok, 1] > 12).any()) and not bool((nums[ok, 0] > 12).any()))
        day, month = (nums[:, 0], nums[:, 1]) if dayfirst else (nums[:, 1], nums[:, 0])
        frame = pd.DataFrame({"year": nums[:, 2], "month": month, "day": day})[ok]
        parsed = pd.to_datetime(frame, errors="coerce").to_numpy(dtype="datetime64[ns]")
        out[ok] = parsed
        return out
    ok = np.array([_ISO.match(t) is not None for t in items], dtype=bool)
    if ok.any():
        heads = [t[:10] for t, good in zip(items, ok, strict=True) if good]
        try:
            out[ok] = np.array(heads, dtype="datetime64[D]").astype("datetime64[ns]")
        except ValueError:  # an impossible date such as 2021-02-30: parse one by one
            out[ok] = pd.to_datetime(pd.Series(heads), format="%Y-%m-%d", errors="coerce").to_numpy(
                dtype="datetime64[ns]"
            )
    return out
