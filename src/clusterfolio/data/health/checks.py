"""The checks of a listing's data-health audit (:mod:`clusterfolio.data.health`): each returns findings."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clusterfolio.data.health.findings import (
    _MAD_TO_SIGMA,
    _OHLC_RTOL,
    _SHOWN,
    DEFAULT_SPLIT_FACTORS,
    LOCAL_WINDOW,
    MIN_RETURN_SCALE,
    Finding,
    FindingKind,
    SessionRun,
)
from clusterfolio.data.health.sessions import MissingSessions, _runs
from clusterfolio.data.schema import PRICE_COLUMNS

if TYPE_CHECKING:
    pass


def _dates(sessions: Iterable[Any]) -> tuple[date, ...]:
    return tuple(pd.Timestamp(s).date() for s in sessions)


def _fmt_dates(sessions: Sequence[date], limit: int = _SHOWN) -> str:
    shown = ", ".join(s.isoformat() for s in sessions[:limit])
    more = len(sessions) - limit
    return f"{shown} (+{more} more)" if more > 0 else shown


def _fmt_runs(runs: Sequence[SessionRun], limit: int = _SHOWN) -> str:
    shown = ", ".join(str(r) for r in runs[:limit])
    more = len(runs) - limit
    return f"{shown} (+{more} more runs)" if more > 0 else shown


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def _no_data_finding(frame: pd.DataFrame, window: pd.DatetimeIndex) -> Finding:
    """No bar in the audit window: none stored at all, or only before it."""
    if frame.empty:
        detail = "no bars stored"
    else:
        last = pd.Timestamp(frame["session"].iloc[-1]).date().isoformat()
        detail = (
            f"no bar in the audit window {window[0].date()}..{window[-1].date()} "
            f"(last stored bar {last})"
        )
    return Finding(FindingKind.NO_DATA, (), detail)


def _missing_finding(
    kind: FindingKind, missing: pd.DatetimeIndex, window: pd.DatetimeIndex, detail: str
) -> Finding:
    """A finding on missing sessions, with their runs."""
    return Finding(kind, _dates(missing), detail, _runs(missing, window))


def coverage_findings(
    miss: MissingSessions,
    frame: pd.DataFrame,
    *,
    floor: int,
    stale_tolerance: int,
) -> list[Finding]:
    window = miss.window
    n_present = len(miss.present)
    if n_present == 0:
        return [_no_data_finding(frame, window)]
    findings: list[Finding] = []
    if n_present < floor:
        findings.append(
            Finding(
                FindingKind.TOO_SHORT,
                _dates(miss.present),
                f"{n_present} of {len(window)} window sessions stored, fewer than the floor of {floor}",
            )
        )
    if len(miss.leading):
        detail = (
            f"history starts {miss.present[0].date()}: {_plural(len(miss.leading), 'session')} "
            f"of the window precede the first stored bar (not gaps)"
        )
        findings.append(_missing_finding(FindingKind.SHORT_HISTORY, miss.leading, window, detail))
    if len(miss.interior):
        runs = _runs(miss.interior, window)
        detail = (
            f"{_plural(len(miss.interior), 'missing session')} in "
            f"{_plural(len(runs), 'run')}: {_fmt_runs(runs)}"
        )
        findings.append(_missing_finding(FindingKind.GAP, miss.interior, window, detail))
    if len(miss.trailing) > stale_tolerance:
        detail = (
            f"last bar {miss.present[-1].date()} is {_plural(len(miss.trailing), 'session')} "
            f"behind the expected last session {window[-1].date()} "
            f"(tolerance {stale_tolerance})"
        )
        findings.append(_missing_finding(FindingKind.STALE, miss.trailing, window, detail))
    return findings


def price_findings(frame: pd.DataFrame) -> list[Finding]:
    sessions = frame["session"].to_numpy()
    prices = frame.loc[:, list(PRICE_COLUMNS)].to_numpy(dtype="float64")
    findings: list[Finding] = []
    finite = np.isfinite(prices)
    bad_rows = ~finite.all(axis=1)
    if bad_rows.any():
        findings.append(
            _row_finding(FindingKind.NON_FINITE_PRICE, frame, bad_rows, finite, "missing")
        )
    positive = ~finite | (prices > 0)
    nonpos_rows = ~positive.all(axis=1)
    if nonpos_rows.any():
        findings.append(
            _row_finding(FindingKind.NON_POSITIVE_PRICE, frame, nonpos_rows, positive, "<= 0")
        )
    usable = finite.all(axis=1) & (prices > 0).all(axis=1)
    o, h, lo, c = (prices[:, i] for i in range(4))
    top = np.maximum(o, c)
    bottom = np.minimum(o, c)
    high_low = h < top * (1 - _OHLC_RTOL)
    low_high = lo > bottom * (1 + _OHLC_RTOL)
    low_above = lo > h * (1 + _OHLC_RTOL)
    inconsistent = usable & (high_low | low_high | low_above)
    if inconsistent.any():
        rows = np.flatnonzero(inconsistent)
        examples = []
        for i in rows[:_SHOWN]:
            why = []
            if high_low[i]:
                why.append("high < max(open, close)")
            if low_high[i]:
                why.append("low > min(open, close)")
            if low_above[i]:
                why.append("low > high")
            examples.append(
                f"{pd.Timestamp(sessions[i]).date()} ({' and '.join(why)}: "
                f"O={o[i]:.6g} H={h[i]:.6g} L={lo[i]:.6g} C={c[i]:.6g})"
            )
        more = len(rows) - _SHOWN
        findings.append(
            Finding(
                FindingKind.OHLC_INCONSISTENT,
                _dates(np.unique(sessions[rows])),
                f"{_plural(len(rows), 'bar')} with impossible OHLC: "
                + ", ".join(examples)
                + (f" (+{more} more)" if more > 0 else ""),
            )
        )
    return findings


def _row_finding(
    kind: FindingKind, frame: pd.DataFrame, rows: np.ndarray, ok: np.ndarray, what: str
) -> Finding:
    sessions = frame["session"].to_numpy()
    idx = np.flatnonzero(rows)
    examples = [
        f"{pd.Timestamp(sessions[i]).date()} ("
        + ", ".join(col for col, good in zip(PRICE_COLUMNS, ok[i], strict=True) if not good)
        + ")"
        for i in idx[:_SHOWN]
    ]
    more = len(idx) - _SHOWN
    return Finding(
        kind,
        _dates(np.unique(sessions[idx])),
        f"{_plural(len(idx), 'bar')} with prices {what}: "
        + ", ".join(examples)
        + (f" (+{more} more)" if more > 0 else ""),
    )


def duplicate_finding(frame: pd.DataFrame) -> Finding | None:
    dup = frame["session"].duplicated(keep=False)
    if not dup.any():
        return None
    counts = frame.loc[dup, "session"].value_counts().sort_index()
    sessions = _dates(counts.index)
    shown = ", ".join(f"{d.isoformat()} x{int(n)}" for d, n in zip(sessions, counts, strict=True))
    return Finding(
        FindingKind.DUPLICATE_SESSION,
        sessions,
        f"{_plural(len(sessions), 'session')} stored more than once "
        f"({int(dup.sum())} rows): {shown if len(sessions) <= _SHOWN else _fmt_dates(sessions)}",
    )


def unexpected_finding(frame: pd.DataFrame, window: pd.DatetimeIndex) -> Finding | None:
    off = ~frame["session"].isin(window)
    if not off.any():
        return None
    sessions = _dates(pd.DatetimeIndex(frame.loc[off, "session"]).unique())
    labels = [f"{d.isoformat()} ({d.strftime('%a')})" for d in sessions[:_SHOWN]]
    more = len(sessions) - _SHOWN
    return Finding(
        FindingKind.UNEXPECTED_SESSION,
        sessions,
        f"{_plural(len(sessions), 'bar')} on sessions not in the calendar: "
        + ", ".join(labels)
        + (f" (+{more} more)" if more > 0 else ""),
    )


@dataclass(frozen=True)
class _Jumps:
    returns: np.ndarray
    zscores: np.ndarray
    spike: np.ndarray
    split: np.ndarray


def _jumps(
    closes: np.ndarray,
    *,
    zscore: float,
    factors: np.ndarray,
    split_tolerance: float,
    revert_tolerance: float,
) -> _Jumps:
    """Classify each close-to-close log return (vectorised); see the module docstring."""
    r = np.diff(np.log(closes))
    n = r.size
    if n < 3:
        none = np.zeros(n, dtype=bool)
        return _Jumps(r, np.zeros(n), none, none.copy())
    med = float(np.median(r))
    dev = np.abs(r - med)
    global_scale = _MAD_TO_SIGMA * float(np.median(dev))
    local = pd.Series(dev).rolling(LOCAL_WINDOW, center=True, min_periods=1).median()
    scale = np.maximum(_MAD_TO_SIGMA * local.to_numpy(), max(global_scale, MIN_RETURN_SCALE))
    z = (r - med) / scale
    big = np.abs(z) > zscore
    nxt = np.append(r[1:], np.nan)
    with np.errstate(invalid="ignore"):
        reverts = (r * nxt < 0) & (np.abs(r + nxt) <= revert_tolerance * np.abs(r))
    spike = big & reverts
    spike[1:] &= ~spike[:-1]  # the reverting return of a spike is not a second spike
    ratio = np.exp(r)
    near = (np.abs(ratio[:, None] / factors[None, :] - 1.0) <= split_tolerance).any(axis=1)
    prev_big = np.concatenate(([False], big[:-1]))
    next_big = np.concatenate((big[1:], [False]))
    split = big & near & ~reverts & ~prev_big & ~next_big
    return _Jumps(r, z, spike, split)


def _window_closes(frame: pd.DataFrame, window: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Sessions and closes of the window's usable bars (positive, finite, last of a duplicate)."""
    close = frame["close"].to_numpy()
    keep = (
        frame["session"].isin(window).to_numpy()
        & np.isfinite(close)
        & (close > 0)
        & ~frame["session"].duplicated(keep="last").to_numpy()
    )
    series = frame.loc[keep, ["session", "close"]]
    return series["session"].to_numpy(), series["close"].to_numpy(dtype="float64")


def _jump_finding(
    kind: FindingKind,
    what: str,
    sessions: np.ndarray,
    idx: np.ndarray,
    describe: Callable[[int], str],
) -> Finding:
    """A finding on the sessions after ``idx``: ``what``, then the first few described."""
    examples = [f"{pd.Timestamp(sessions[i + 1]).date()} ({describe(i)})" for i in idx[:_SHOWN]]
    more = len(idx) - _SHOWN
    return Finding(
        kind,
        _dates(sessions[idx + 1]),
        what + ", ".join(examples) + (f" (+{more} more)" if more > 0 else ""),
    )


def jump_findings(
    frame: pd.DataFrame,
    window: pd.DatetimeIndex,
    *,
    zscore: float,
    factors: Sequence[float],
    split_tolerance: float,
    revert_tolerance: float,
) -> list[Finding]:
    sessions, closes = _window_closes(frame, window)
    all_factors = np.asarray(factors, dtype="float64")
    jumps = _jumps(
        closes,
        zscore=zscore,
        factors=np.concatenate((all_factors, 1.0 / all_factors)),
        split_tolerance=split_tolerance,
        revert_tolerance=revert_tolerance,
    )
    r, z = jumps.returns, jumps.zscores
    findings: list[Finding] = []
    if jumps.spike.any():
        idx = np.flatnonzero(jumps.spike)
        what = f"{_plural(len(idx), 'one-bar spike')} that revert (|z| > {zscore:g}): "
        findings.append(
            _jump_finding(
                FindingKind.SPIKE,
                what,
                sessions,
                idx,
                lambda i: f"{np.expm1(r[i]):+.1%} then {np.expm1(r[i + 1]):+.1%}, z={z[i]:.1f}",
            )
        )
    if jumps.split.any():
        idx = np.flatnonzero(jumps.split)
        what = (
            f"{_plural(len(idx), 'one-way jump')} at a split ratio, not reverted "
            "(unadjusted split or reverse split?): "
        )
        findings.append(
            _jump_finding(
                FindingKind.SUSPECTED_SPLIT,
                what,
                sessions,
                idx,
                lambda i: (
                    f"close x{np.exp(r[i]):.4f}, ~{_ratio_label(float(np.exp(r[i])))}, z={z[i]:.1f}"
                ),
            )
        )
    return findings


#: Sessions within which a large move that comes back is not a corporate action.
REVERT_SESSIONS = 5


def corporate_action_finding(
    frame: pd.DataFrame, window: pd.DatetimeIndex, *, threshold: float, zscore: float
) -> Finding | None:
    """One-way moves beyond ``threshold`` that are no spike and no split (module docstring)."""
    keep = frame["session"].isin(window).to_numpy() & (frame["close"].to_numpy() > 0)
    series = frame.loc[keep & ~frame["session"].duplicated(keep="last").to_numpy()]
    close = series["close"].to_numpy(dtype="float64")
    if close.size < 2:
        return None
    logs = np.log(close)
    r = np.diff(logs)
    big = np.flatnonzero(np.abs(np.expm1(r)) > threshold)
    factors = np.asarray(DEFAULT_SPLIT_FACTORS)
    sessions = series["session"].to_numpy()
    hits = []
    for i in big:
        after = logs[i + 2 : i + 2 + REVERT_SESSIONS] - logs[i]
        before = logs[i + 1] - logs[max(0, i - REVERT_SESSIONS) : i]
        if (after.size and (np.abs(after) <= 0.5 * abs(r[i])).any()) or (
            before.size and (np.abs(before) <= 0.5 * abs(r[i])).any()
        ):
            continue  # goes back, or back to a recent level: a spike or a bad print
        ratio = float(np.exp(r[i]))
        near_split = np.abs(np.concatenate((factors, 1 / factors)) / ratio - 1).min() <= 0.03
        if near_split:
            continue  # reported as a suspected split
        hits.append(i)
    if not hits:
        return None
    examples = [f"{pd.Timestamp(sessions[i + 1]).date()} ({np.expm1(r[i]):+.1%})" for i in hits]
    return Finding(
        FindingKind.SUSPECT_CORPORATE_ACTION,
        _dates(sessions[np.asarray(hits) + 1]),
        f"{_plural(len(hits), 'one-session move')} beyond {threshold:.0%} that never reverts "
        f"(unadjusted spin-off, special dividend or merger?): "
        + ", ".join(examples[:_SHOWN])
        + (f" (+{len(hits) - _SHOWN} more)" if len(hits) > _SHOWN else ""),
    )


def _ratio_label(ratio: float) -> str:
    """Name the split a price ratio suggests: 0.5 is a 2:1 split, 4.0 a 1:4 reverse split."""
    if ratio < 1:
        return f"{round(1 / ratio)}:1 split"
    return f"1:{round(ratio)} reverse split"
