"""Auditing one listing: every check of :mod:`clusterfolio.data.health.checks` on its candles."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from clusterfolio.data.health.checks import (
    corporate_action_finding,
    coverage_findings,
    duplicate_finding,
    jump_findings,
    price_findings,
    unexpected_finding,
)
from clusterfolio.data.health.findings import DEFAULT_SPLIT_FACTORS, Finding, ListingHealth
from clusterfolio.data.health.sessions import as_sessions, coerce_candles, partition_missing
from clusterfolio.errors import DataError

if TYPE_CHECKING:
    from clusterfolio.manifest import DataSettings


def _bar_findings(
    in_window: pd.DataFrame,
    window: pd.DatetimeIndex,
    *,
    zscore: float,
    factors: Sequence[float],
    split_tolerance: float,
    revert_tolerance: float,
    corporate_action_move: float | None,
) -> list[Finding]:
    """The checks of the bars inside the window: prices, duplicates, off-calendar sessions,
    jumps and (when asked) corporate actions."""
    findings = price_findings(in_window)
    findings += [
        f
        for f in (duplicate_finding(in_window), unexpected_finding(in_window, window))
        if f is not None
    ]
    findings += jump_findings(
        in_window,
        window,
        zscore=zscore,
        factors=factors,
        split_tolerance=split_tolerance,
        revert_tolerance=revert_tolerance,
    )
    if corporate_action_move is not None:
        action = corporate_action_finding(
            in_window, window, threshold=corporate_action_move, zscore=zscore
        )
        findings += [action] if action is not None else []
    return findings


def audit_listing(
    symbol: str,
    candles: pd.DataFrame,
    expected: pd.DatetimeIndex,
    *,
    min_days_floor: int,
    stale_tolerance_sessions: int,
    spike_zscore: float,
    required_sessions: int,
    split_tolerance: float = 0.03,
    split_factors: Sequence[float] = DEFAULT_SPLIT_FACTORS,
    revert_tolerance: float = 0.5,
    corporate_action_move: float | None = None,
) -> ListingHealth:
    """Audit one listing's candles against the sessions its calendar expects.

    Parameters
    ----------
    symbol : str
        ``EXCHANGE:TICKER`` (named in the verdict and in errors).
    candles : pandas.DataFrame
        Stored candles (:data:`~clusterfolio.data.schema.CANDLE_COLUMNS`); may be empty, unsorted,
        or hold duplicated sessions and bad values (those are findings, not errors).
    expected : pandas.DatetimeIndex
        Sessions the listing's calendar says should exist, ending at the expected last session as
        of the run date.
    min_days_floor : int
        Fewer present window sessions than ``min(min_days_floor, window length)``: ``MISSING``.
    stale_tolerance_sessions : int
        More expected sessions than this after the last stored bar: ``STALE``.
    spike_zscore : float
        Robust z-score (median/MAD of log returns) above which a return is an outlier.
    required_sessions : int
        Length of the audited window: the last ``required_sessions`` sessions of ``expected``.
    split_tolerance : float
        Relative distance of a price ratio to a split factor for a suspected split.
    split_factors : sequence of float
        Split factors (> 1); their inverses are included.
    revert_tolerance : float
        A spike reverts when ``|r_t + r_{t+1}| <= revert_tolerance * |r_t|`` with opposite signs.
    corporate_action_move : float, optional
        One-session move above which a non-reverting jump is a suspected corporate action
        (``None``: not checked).

    Returns
    -------
    ListingHealth
        Status is the most severe of the findings (``MISSING > ANOMALOUS > STALE > GAPPED > OK``).

    Raises
    ------
    DataError
        ``expected`` holds no session.
    SchemaError
        ``candles`` lacks a column or has an unparsable session.
    ValueError
        A threshold is out of range.
    """
    if required_sessions < 1 or min_days_floor < 1 or stale_tolerance_sessions < 0:
        raise ValueError(
            "audit_listing: required_sessions and min_days_floor must be >= 1 and "
            f"stale_tolerance_sessions >= 0 (got {required_sessions}, {min_days_floor}, "
            f"{stale_tolerance_sessions})"
        )
    if spike_zscore <= 0 or split_tolerance < 0 or revert_tolerance < 0:
        raise ValueError("audit_listing: spike_zscore must be > 0 and tolerances >= 0")
    calendar = as_sessions(expected)
    if len(calendar) == 0:
        raise DataError(f"{symbol}: no expected session to audit against")
    window = calendar[-required_sessions:]
    frame = coerce_candles(candles, source=symbol)
    miss = partition_missing(window, frame["session"].to_numpy())
    findings = coverage_findings(
        miss,
        frame,
        floor=min(min_days_floor, len(window)),
        stale_tolerance=stale_tolerance_sessions,
    )
    in_window = frame.loc[frame["session"].between(window[0], window[-1])]
    if not in_window.empty:
        findings += _bar_findings(
            in_window,
            window,
            zscore=spike_zscore,
            factors=split_factors,
            split_tolerance=split_tolerance,
            revert_tolerance=revert_tolerance,
            corporate_action_move=corporate_action_move,
        )
    return ListingHealth(
        symbol,
        tuple(findings),
        sessions_expected=len(window),
        sessions_present=len(miss.present),
        last_session=miss.present[-1].date() if len(miss.present) else None,
    )


#: An audit bound to its thresholds: ``(symbol, candles, expected) -> ListingHealth``.
Auditor = Callable[[str, pd.DataFrame, pd.DatetimeIndex], ListingHealth]


def auditor_from_settings(
    settings: DataSettings,
    *,
    required_sessions: int,
    asset_classes: Mapping[str, str] | None = None,
) -> Auditor:
    """Bind :func:`audit_listing` to the thresholds of the manifest's ``data`` section.

    Parameters
    ----------
    settings : DataSettings
        Supplies ``min_days_floor``, ``stale_tolerance_sessions``, ``spike_zscore`` and
        ``corporate_action_move`` (per asset class).
    required_sessions : int
        Audited window length (e.g. ``lookback_days`` for the deep pass).
    asset_classes : mapping, optional
        Symbol -> asset class, for the corporate-action threshold (unknown: the equity one).

    Returns
    -------
    Auditor
        ``(symbol, candles, expected) -> ListingHealth``.
    """

    def audit(symbol: str, candles: pd.DataFrame, expected: pd.DatetimeIndex) -> ListingHealth:
        return audit_listing(
            symbol,
            candles,
            expected,
            min_days_floor=settings.min_days_floor,
            stale_tolerance_sessions=settings.stale_tolerance_sessions,
            spike_zscore=settings.spike_zscore,
            required_sessions=required_sessions,
            corporate_action_move=moves.get(classes.get(symbol, "equity"), moves.get("equity")),
        )

    classes = dict(asset_classes or {})
    moves = dict(settings.corporate_action_move)
    return audit
