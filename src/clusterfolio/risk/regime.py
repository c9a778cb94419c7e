"""Market regime: a composite stress score on a market proxy, read point in time.

Market proxy
------------
:func:`market_proxy` reads the market on one business-day calendar: the sessions on which some
exchange or forex asset traded (every weekday when all are 24/7). A 24/7 asset's weekend and
holiday moves are compounded into the next business day
(:func:`clusterfolio.risk.calendar_base.fold_to_business_days`), so a weekend is never one coin
read as the market. The proxy is the weighted mean of the LONG assets observed that day, with
point-in-time inverse-volatility weights (each asset's standard deviation over its previous 60
returns, before the date) capped at ``min(1, 2 / n)``: a volatile asset contributes about as much
risk as any other and no asset holds more than twice the equal weight. SHORT candidates are left
out so that a bearish screen does not flip the sign of the market; a symbol absent from
``directions`` counts as LONG.

Windows (every quantity at date ``t`` uses the inputs up to ``t`` only)
---------------------------------------------------------------------
``recent`` is the last ``window`` returns (``RegimeSettings.window``, 60), ``short`` the last
``short_window`` returns (20), ``baseline`` the last ``baseline`` returns (250; it contains the
recent window; while fewer returns exist, the whole history is the baseline, which is reported as
``baseline_sessions``). The *recent volatility* is the geometric mean
``sqrt(std(short) * std(recent))`` (ddof 1): the short window makes the read responsive (a
synthetic crisis lasts about 20 sessions), the 60-session window steadies it.

Warm-up: a date is labelled from the ``short_window``-th return on. While fewer than ``window``
returns exist the recent window is the whole history so far and the read is flagged
``warming_up``; while fewer than ``2 * window`` exist, the reference of ``vol_level`` is shrunk
towards the prior :data:`PRIOR_DAILY_VOL` (weight ``1 - returns / (2 window)``, recorded as
``level_prior_weight``), so that a shock at the start of the history is measured against a
typical market rather than against itself.

Features and their stress scores in ``[0, 1]`` (``clip`` to ``[0, 1]``; NaN scores 0.5)
--------------------------------------------------------------------------------------
``vol_ratio`` (relative volatility)
    ``recent volatility / std(baseline)``. Score ``0.5 + 0.5 log2(ratio)``: 0.5 when recent
    volatility equals the baseline, 1 when it has doubled, 0 when it has halved.
``vol_level`` (absolute volatility level)
    ``recent volatility / median`` of the recent volatility over the last ``level_history``
    labelled dates up to ``t`` (1000; fewer while the history is shorter, reported as
    ``level_sessions``; shrunk to the prior during the warm-up): the proxy's own typical level, robust to the stress episodes the history
    contains. Unlike ``vol_ratio`` it does not fade once a long stressed stretch fills the
    baseline, and it reads a calm stretch as calm. Score ``0.5 + 0.25 log2(level)``: 0.5 at the
    median level, 1 at four times it, 0 at a quarter of it. Its reference needs history: while
    the history is a single regime (the first months), that regime reads as typical.
``turbulence``
    Wavelet spectral turbulence: each window is demeaned and decomposed with ``pywt.wavedec``
    (``db4``, ``mode="periodization"``, two levels); the fine share is the energy of the two
    finest detail levels (periods of 2 to 8 sessions) over the total coefficient energy, and the
    feature is ``share(recent) / share(baseline)``. Score ``0.5 + log2(ratio)``: 0.5 when the
    spectrum matches the baseline, 1 when the fine share is ``sqrt(2)`` times larger.
``vol_clustering``
    Mean autocorrelation of ``|r|`` at lags 1 to 5 over the recent window. Score
    ``acf / 0.4``: 0 for independent returns, 1 at crisis-like clustering (0.4 or more).
``entropy``
    Normalised permutation entropy of order 3 (delay 1; ties ordered by position) over the
    recent window, in ``[0, 1]``; lower entropy means a more structured, trending market.
    Score ``(1 - H) / 0.1``: 0 for a disordered (noise-like) window, 1 at ``H <= 0.9``.
The composite score is the weighted mean of the feature scores with ``RegimeSettings.weights``
(weights need not sum to 1; unknown keys are a :class:`~clusterfolio.errors.ConfigError`; a
feature without a weight has weight 0).

Labels
------
The *raw label* of a score: ``CRISIS`` when ``score >= crisis_above``; ``TURBULENT`` when
``score >= turbulent_above``; ``QUIET`` when ``score < quiet_below``; otherwise ``NORMAL``.
``TURBULENT`` exists only when the ``feat_spectral_regimes`` flag is on (``spectral=True``). With
the flag off the turbulent band ``[turbulent_above, crisis_above)`` is split at its midpoint: its
lower half reads ``NORMAL`` and its upper half ``CRISIS`` (the composite score itself does not
depend on the flag). :func:`applied_thresholds` gives the bands actually applied (with the flag
off, CRISIS starts at the midpoint), which is what the regime artifact records and reports print.

Persistence (hysteresis): the label is the raw label of the first labelled date, then changes
only when the score has stayed beyond a threshold for ``persistence`` consecutive sessions (3):
with ``lo`` and ``hi`` the calmest and the most stressed raw label of the last ``persistence``
dates, the label rises to ``lo`` when ``lo`` is above it, falls to ``hi`` when ``hi`` is below it,
and is kept otherwise (``persistence=1``: the raw label). It cuts the label changes on the
synthetic market by about two thirds at a cost of about 0.01 in balanced accuracy. The recursion
runs from the first labelled date, so :func:`detect_regime` reads the whole history it is given.

``short_window``, ``level_history`` and ``persistence`` are keyword parameters; when omitted they
come from ``RegimeSettings`` fields of those names if the manifest has them, else from
:data:`DEFAULT_SHORT_WINDOW`, :data:`DEFAULT_LEVEL_HISTORY` and :data:`DEFAULT_PERSISTENCE`.

Calibration (``tests/risk/test_regime_synthetic.py``)
----------------------------------------------------
:data:`CALIBRATED_WEIGHTS` (``vol_level`` 0.5, ``vol_ratio`` 0.2, ``turbulence``,
``vol_clustering`` and ``entropy`` 0.1 each) and :data:`CALIBRATED_THRESHOLDS`
(0.37, 0.48, 0.59) were chosen on the embedded synthetic market (proxy of its first 120
equities, NYSE sessions, as of 2026-11-20) against its recorded regime path over seeds 1 to 12,
then checked on stationary returns and on the M6 ETFs. With ``spectral=True`` the balanced
accuracy (mean per-regime recall; chance 0.25) was 0.48 on average over the seeds (0.39 to
0.58); with the business-day, inverse-volatility proxy and the warm-up rule it is 0.49 (0.39 to
0.62; measured on 2026-12-03 over seeds 1 to 12), against 0.30 (0.25 to 0.35) for the former 60-session relative score; pooled over the seeds, 60%
of the QUIET days read QUIET and 67% of the CRISIS days read CRISIS or TURBULENT (with
``spectral=False``, 51% read CRISIS). The balanced-accuracy optimum is flat and narrows the
NORMAL band: ``turbulent_above`` 0.46 would catch more CRISIS days (75%) but reads about one
stationary session in seven as stressed; 0.48 keeps that near one in twenty-five (86% read
NORMAL). ``quiet_below`` 0.37 (flat from 0.35 to 0.38) keeps the calm end of 2017 mostly
QUIET on the M6 ETFs, whose history starts in April 2017.

The ceiling is low by construction: a synthetic regime lasts a few weeks and the simulated GARCH
volatility moves within a regime as much as between regimes (a QUIET stretch can be as volatile
as a NORMAL one), so a Markov-switching filter given the generator's own transition matrix and
volatility multipliers reaches only about 0.51. When the history opens with a long QUIET stretch
(seed 7), that stretch is its own reference and reads NORMAL (the ``vol_level`` cold start).

Considered and left out: a cross-sectional dispersion feature (the cross-sectional standard
deviation of the proxy's members, against its own median) lifts the synthetic agreement to about
0.55, because the generator scales idiosyncratic volatility with the regime independently of the
index's GARCH; but on the M6 ETFs, a multi-asset universe, it read most of 2018 as CRISIS and the
calm end of 2017 as NORMAL, and it would need the return matrix next to the proxy.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from clusterfolio.enums import CalendarKind, Direction, Regime
from clusterfolio.errors import ConfigError, DataError
from clusterfolio.manifest import RegimeSettings
from clusterfolio.risk.calendar_base import assign_calendars, fold_to_business_days

__all__ = [
    "CALIBRATED_THRESHOLDS",
    "CALIBRATED_WEIGHTS",
    "DEFAULT_LEVEL_HISTORY",
    "DEFAULT_PERSISTENCE",
    "DEFAULT_SHORT_WINDOW",
    "FEATURES",
    "PRIOR_DAILY_VOL",
    "RegimeResult",
    "applied_thresholds",
    "apply_persistence",
    "classify",
    "composite_score",
    "confusion_matrix",
    "detect_regime",
    "feature_scores",
    "market_proxy",
    "regime_series",
]

#: Feature names, as used in ``RegimeSettings.weights``.
FEATURES: tuple[str, ...] = ("vol_ratio", "vol_level", "turbulence", "vol_clustering", "entropy")

#: Calibrated feature weights (the defaults ``RegimeSettings.weights`` should carry).
CALIBRATED_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"vol_ratio": 0.2, "vol_level": 0.5, "turbulence": 0.1, "vol_clustering": 0.1, "entropy": 0.1}
)
#: Calibrated ``quiet_below``, ``turbulent_above`` and ``crisis_above``.
CALIBRATED_THRESHOLDS: Mapping[str, float] = MappingProxyType(
    {"quiet_below": 0.37, "turbulent_above": 0.48, "crisis_above": 0.59}
)
#: Defaults of the settings ``RegimeSettings`` may not carry: the short window of the recent
#: volatility, the number of dates of the volatility-level median and the persistence.
DEFAULT_SHORT_WINDOW = 20
DEFAULT_LEVEL_HISTORY = 1000
DEFAULT_PERSISTENCE = 3

#: Wavelet, decomposition depth (finest detail levels counted) and boundary mode.
WAVELET = "db4"
FINE_LEVELS = 2
WAVELET_MODE = "periodization"
#: Lags of the absolute-return autocorrelation.
CLUSTERING_LAGS = 5
#: Mean autocorrelation of |r| that scores 1.
CLUSTERING_FULL = 0.4
#: Permutation entropy order and the entropy deficit ``1 - H`` that scores 1.
ENTROPY_ORDER = 3
ENTROPY_FULL_DEFICIT = 0.1
#: Score slope of ``vol_level`` per doubling of the volatility level.
LEVEL_SLOPE = 0.25

#: Prior daily volatility of the proxy (about 13% a year): the volatility-level reference of
#: the first reads, before the history holds ``2 * window`` returns.
PRIOR_DAILY_VOL = 0.008

#: Trailing returns of an asset's volatility in the proxy weights, and the fewest that count.
PROXY_VOL_WINDOW = 60
PROXY_VOL_MIN = 10

#: Regimes from calm to stressed (the order of the persistence rule).
_ORDER: tuple[Regime, ...] = (Regime.QUIET, Regime.NORMAL, Regime.TURBULENT, Regime.CRISIS)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


# --------------------------------------------------------------------------- market proxy


def _proxy_weights(folded: pd.DataFrame) -> pd.DataFrame:
    """Point-in-time inverse-volatility weights, each capped at ``min(1, 2 / n_t)``.

    The volatility of a date is the standard deviation of the asset's previous
    :data:`PROXY_VOL_WINDOW` returns (at least :data:`PROXY_VOL_MIN` of them; the cross-sectional
    median volatility of that date before), so no weight reads its own date or a later one. The
    weights of the assets observed on a date sum to one; an asset above the cap is held at it
    and the excess spread over the others in proportion to their weights.
    """
    vol = folded.rolling(PROXY_VOL_WINDOW, min_periods=PROXY_VOL_MIN).std().shift(1)
    vol = vol.where(vol > 0)
    vol = vol.T.fillna(vol.median(axis=1)).T.fillna(1.0)
    raw = (1.0 / vol).where(folded.notna(), 0.0).to_numpy(dtype=np.float64)
    n_obs = (raw > 0).sum(axis=1)
    cap = np.minimum(1.0, 2.0 / np.maximum(n_obs, 1))[:, None]
    weights = np.zeros_like(raw)
    free = raw > 0
    remaining = np.ones(raw.shape[0])
    for _ in range(raw.shape[1] + 1):
        base = np.where(free, raw, 0.0)
        total = base.sum(axis=1, keepdims=True)
        share = np.divide(base, total, out=np.zeros_like(base), where=total > 0)
        share *= remaining[:, None]
        over = free & (share > cap + 1e-15)
        if not over.any():
            weights = np.where(free, share, weights)
            break
        weights = np.where(over, cap, weights)
        remaining -= np.where(over, cap, 0.0).sum(axis=1)
        free &= ~over
    return pd.DataFrame(weights, index=folded.index, columns=folded.columns)


def market_proxy(
    returns: pd.DataFrame,
    *,
    directions: Mapping[str, Direction | str] | None = None,
    calendars: Mapping[str, CalendarKind] | None = None,
) -> pd.Series:
    """Market proxy of the LONG assets on one business-day calendar, no asset dominating.

    Parameters
    ----------
    returns : pandas.DataFrame
        Raw (not direction-adjusted) return matrix, NaN where an asset did not trade.
    directions : mapping of str to Direction, optional
        Direction per symbol; SHORT symbols are left out. A symbol absent from the mapping (or
        every symbol when it is None) counts as LONG.
    calendars : mapping of str to CalendarKind, optional
        Calendar of a symbol overriding its exchange's
        (:func:`clusterfolio.risk.calendar_base.assign_calendars`).

    Returns
    -------
    pandas.Series
        On the business days (see the module documentation): the inverse-volatility weighted
        mean of the LONG assets' returns, 24/7 assets' weekend moves folded into the next
        session, each weight capped at ``min(1, 2 / n)``. Named ``"market_proxy"``; sessions
        where none traded are dropped.

    Raises
    ------
    DataError
        When no column is LONG.
    """
    if directions is None:
        longs = list(returns.columns)
    else:
        longs = [
            c
            for c in returns.columns
            if Direction(directions.get(c, Direction.LONG)) is Direction.LONG
        ]
    if not longs:
        raise DataError("market proxy: no LONG asset in the return matrix")
    frame = returns.loc[:, longs].astype(np.float64)
    if not isinstance(frame.index, pd.DatetimeIndex):
        proxy = frame.mean(axis=1, skipna=True).dropna()
        proxy.name = "market_proxy"
        return proxy
    folded = fold_to_business_days(frame, assign_calendars(frame, calendars))
    weights = _proxy_weights(folded)
    values = (folded.fillna(0.0) * weights).sum(axis=1)
    proxy = values[folded.notna().any(axis=1)]
    proxy.name = "market_proxy"
    return proxy


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class _Params:
    """Resolved windows of one read."""

    window: int
    short_window: int
    baseline: int
    level_history: int
    persistence: int


def _setting(settings: RegimeSettings, name: str, given: int | None, default: int) -> int:
    """An explicit keyword, else the settings field when the manifest has it, else the default."""
    if given is not None:
        return int(given)
    return int(getattr(settings, name, default))


def _params(
    settings: RegimeSettings,
    short_window: int | None,
    level_history: int | None,
    persistence: int | None,
) -> _Params:
    window = int(settings.window)
    params = _Params(
        window=window,
        short_window=_setting(settings, "short_window", short_window, DEFAULT_SHORT_WINDOW),
        baseline=max(int(settings.baseline), window),
        level_history=_setting(settings, "level_history", level_history, DEFAULT_LEVEL_HISTORY),
        persistence=_setting(settings, "persistence", persistence, DEFAULT_PERSISTENCE),
    )
    if not 2 <= params.short_window <= window:
        raise ConfigError(
            f"regime short_window must lie in [2, window={window}], got {params.short_window}"
        )
    if params.level_history < 1:
        raise ConfigError(f"regime level_history must be >= 1, got {params.level_history}")
    if params.persistence < 1:
        raise ConfigError(f"regime persistence must be >= 1, got {params.persistence}")
    return params


# --------------------------------------------------------------------------- feature kernels
# Every kernel takes a C-contiguous (k, L) array of k windows and returns k values.


def _std(windows: FloatArray) -> FloatArray:
    return np.asarray(np.std(windows, axis=1, ddof=1), dtype=np.float64)


def _fine_share(windows: FloatArray) -> FloatArray:
    """Share of the energy in the FINE_LEVELS finest wavelet detail levels, per window."""
    import pywt

    centred = windows - windows.mean(axis=1, keepdims=True)
    max_level = pywt.dwt_max_level(windows.shape[1], pywt.Wavelet(WAVELET).dec_len)
    level = max(1, min(FINE_LEVELS, max_level))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # boundary-effect notice on short windows
        coeffs = pywt.wavedec(centred, WAVELET, mode=WAVELET_MODE, level=level, axis=1)
    energies = np.stack([np.einsum("ij,ij->i", c, c) for c in coeffs], axis=1)
    total = energies.sum(axis=1)
    fine = energies[:, 1:].sum(axis=1)  # coeffs = [cA_level, cD_level, ..., cD_1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, fine / total, np.nan)


def _vol_clustering(windows: FloatArray) -> FloatArray:
    """Mean autocorrelation of |r| at lags 1..CLUSTERING_LAGS, per window."""
    a = np.abs(windows)
    a = a - a.mean(axis=1, keepdims=True)
    denom = np.einsum("ij,ij->i", a, a)
    lags = min(CLUSTERING_LAGS, windows.shape[1] - 1)
    acf = np.stack([np.einsum("ij,ij->i", a[:, :-k], a[:, k:]) for k in range(1, lags + 1)])
    with np.errstate(divide="ignore", invalid="ignore"):
        out = acf.mean(axis=0) / denom
    return np.where(denom > 0, out, 0.0)


def _permutation_entropy(windows: FloatArray) -> FloatArray:
    """Normalised permutation entropy of order ENTROPY_ORDER, per window."""
    from math import factorial

    order = ENTROPY_ORDER
    emb = np.lib.stride_tricks.sliding_window_view(windows, order, axis=1)  # (k, L-o+1, o)
    perm = np.argsort(emb, axis=2, kind="stable")
    codes = (perm * (order ** np.arange(order - 1, -1, -1))).sum(axis=2)  # (k, L-o+1)
    n_codes = order**order
    counts = np.stack([(codes == c).sum(axis=1) for c in range(n_codes)], axis=1)
    probs = counts / codes.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(probs > 0, -probs * np.log(probs), 0.0)
    return np.asarray(terms.sum(axis=1) / np.log(factorial(order)), dtype=np.float64)


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """``num / den`` with ``0 / 0 = 1`` and ``x / 0 = inf``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.where(num > 0, np.inf, 1.0))


def _transform(name: str, values: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "vol_ratio":
            return 0.5 + 0.5 * np.log2(values)
        if name == "vol_level":
            return 0.5 + LEVEL_SLOPE * np.log2(values)
        if name == "turbulence":
            return 0.5 + np.log2(values)
        if name == "vol_clustering":
            return values / CLUSTERING_FULL
        return (1.0 - values) / ENTROPY_FULL_DEFICIT  # entropy


def feature_scores(raw: Mapping[str, npt.ArrayLike]) -> dict[str, FloatArray]:
    """Map raw features to stress scores in ``[0, 1]`` (transforms in the module docstring).

    A NaN raw value (a feature that cannot be read at that date) scores a neutral 0.5.

    Parameters
    ----------
    raw : mapping of str to array_like
        Raw values of some of :data:`FEATURES`; other keys are ignored.

    Returns
    -------
    dict of str to numpy.ndarray
        One score array per feature given, in :data:`FEATURES` order.
    """
    out: dict[str, FloatArray] = {}
    for name in FEATURES:
        if name in raw:
            score = _transform(name, np.asarray(raw[name], dtype=np.float64))
            out[name] = np.clip(np.nan_to_num(score, nan=0.5, posinf=1.0, neginf=0.0), 0.0, 1.0)
    return out


def _weights(settings: RegimeSettings) -> dict[str, float]:
    unknown = sorted(set(settings.weights) - set(FEATURES))
    if unknown:
        raise ConfigError(
            f"risk.regime.weights has unknown features {unknown}; allowed: {list(FEATURES)}"
        )
    weights = {name: float(settings.weights.get(name, 0.0)) for name in FEATURES}
    if any(w < 0 or not np.isfinite(w) for w in weights.values()) or sum(weights.values()) <= 0:
        raise ConfigError(
            f"risk.regime.weights must be finite, non-negative and not all zero, got {weights}"
        )
    return weights


def composite_score(scores: Mapping[str, npt.ArrayLike], settings: RegimeSettings) -> FloatArray:
    """Weighted mean of the feature scores with ``settings.weights`` (in ``[0, 1]``).

    Parameters
    ----------
    scores : mapping of str to array_like
        Score arrays; those of the features with a positive weight are required.
    settings : RegimeSettings
        The weights (they need not sum to 1).

    Returns
    -------
    numpy.ndarray
        Composite score per date.

    Raises
    ------
    ConfigError
        On unknown, negative, non-finite or all-zero weights.
    """
    weights = {n: w for n, w in _weights(settings).items() if w > 0}
    total = sum(weights.values())
    acc = sum(w * np.asarray(scores[name], dtype=np.float64) for name, w in weights.items())
    return np.asarray(acc, dtype=np.float64) / total


def _check_thresholds(settings: RegimeSettings) -> None:
    if not settings.quiet_below <= settings.turbulent_above <= settings.crisis_above:
        raise ConfigError(
            "risk.regime thresholds must satisfy quiet_below <= turbulent_above <= crisis_above, "
            f"got {settings.quiet_below}, {settings.turbulent_above}, {settings.crisis_above}"
        )


def applied_thresholds(settings: RegimeSettings, *, spectral: bool) -> dict[str, float | None]:
    """The score thresholds :func:`classify` applies (not merely the configured ones).

    Returns
    -------
    dict
        ``quiet_below``, ``turbulent_above`` (None when TURBULENT does not exist, i.e. with the
        spectral flag off) and ``crisis_above`` (the midpoint of the turbulent band when the
        flag is off).
    """
    _check_thresholds(settings)
    if spectral:
        return {
            "quiet_below": float(settings.quiet_below),
            "turbulent_above": float(settings.turbulent_above),
            "crisis_above": float(settings.crisis_above),
        }
    midpoint = 0.5 * (settings.turbulent_above + settings.crisis_above)
    return {
        "quiet_below": float(settings.quiet_below),
        "turbulent_above": None,
        "crisis_above": float(midpoint),
    }


def classify(score: float, settings: RegimeSettings, *, spectral: bool) -> Regime:
    """Raw label of a composite score (rules in the module docstring).

    Parameters
    ----------
    score : float
        Composite score in ``[0, 1]``.
    settings : RegimeSettings
        Thresholds.
    spectral : bool
        The ``feat_spectral_regimes`` flag: whether ``TURBULENT`` exists.

    Returns
    -------
    Regime
    """
    _check_thresholds(settings)
    if score >= settings.crisis_above:
        return Regime.CRISIS
    if score >= settings.turbulent_above:
        if spectral:
            return Regime.TURBULENT
        midpoint = 0.5 * (settings.turbulent_above + settings.crisis_above)
        return Regime.CRISIS if score >= midpoint else Regime.NORMAL
    if score < settings.quiet_below:
        return Regime.QUIET
    return Regime.NORMAL


def apply_persistence(raw: npt.ArrayLike, persistence: int) -> IntArray:
    """Hysteresis on a path of ordinal labels (0 calmest), read point in time.

    Parameters
    ----------
    raw : array_like of int
        Raw ordinal labels in date order.
    persistence : int
        Number of consecutive sessions a score must stay beyond a threshold to change the label
        (1: the raw labels).

    Returns
    -------
    numpy.ndarray
        The persisted labels: the first raw label, then at each date the calmest raw label of
        the last ``persistence`` dates when it is above the current label, the most stressed one
        when it is below, else the current label.
    """
    path = np.asarray(raw, dtype=np.int64)
    if persistence <= 1 or path.size == 0:
        return path.copy()
    # calmest and most stressed raw label of the last `persistence` dates (fewer at the start)
    padded = np.concatenate([np.full(persistence - 1, path[0]), path])
    last = np.lib.stride_tricks.sliding_window_view(padded, persistence)
    lows, highs = last.min(axis=1).tolist(), last.max(axis=1).tolist()
    out: list[int] = []
    current = int(path[0])
    for lo, hi in zip(lows, highs, strict=True):
        if lo > current:
            current = lo
        elif hi < current:
            current = hi
        out.append(current)
    return np.asarray(out, dtype=np.int64)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class RegimeResult:
    """Regime read at one date.

    Attributes
    ----------
    date : pandas.Timestamp or None
        Date of the last return used (None when the proxy has no date index).
    label : Regime
        The regime (after persistence).
    score : float
        Composite score in ``[0, 1]``.
    features : dict of str to float
        Raw features (``vol_ratio``, ``vol_level``, ``turbulence``, ``vol_clustering``,
        ``entropy``), their scores (``<name>_score``), ``baseline_sessions``,
        ``level_sessions``, ``warming_up`` (1.0 while fewer than ``window`` returns exist) and
        ``level_prior_weight``.
    warming_up : bool
        True when the read used fewer than ``window`` returns (see "Warm-up").
    """

    date: pd.Timestamp | None
    label: Regime
    score: float
    features: dict[str, float] = field(default_factory=dict)
    warming_up: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record."""
        return {
            "date": None if self.date is None else self.date.isoformat(),
            "label": self.label.value,
            "score": float(self.score),
            "warming_up": bool(self.warming_up),
            "features": {k: float(v) for k, v in self.features.items()},
        }


def _clean_proxy(proxy: pd.Series, params: _Params) -> pd.Series:
    if not isinstance(proxy, pd.Series):
        raise TypeError(f"proxy must be a pandas Series, got {type(proxy).__name__}")
    clean = proxy.astype(np.float64).dropna()
    if np.isinf(clean.to_numpy()).any():
        raise DataError("market proxy has infinite values")
    if len(clean) < params.short_window:
        raise DataError(
            f"market proxy has {len(clean)} returns; the regime needs {params.short_window} "
            f"(short_window) to warm up and {params.window} (window) for a full read"
        )
    return clean


def _window_features(values: FloatArray, params: _Params) -> dict[str, FloatArray]:
    """Recent volatility and the window features of every date from ``short_window - 1`` on.

    A date with fewer than ``window`` returns so far (warming up) reads all of them as its recent
    window; the others read the last ``window``.
    """
    w, s = params.window, params.short_window
    n = values.size
    parts: dict[str, list[FloatArray]] = {k: [] for k in ("vol", "share", "clus", "ent")}
    for end in range(s - 1, min(w - 1, n)):  # warm-up: the whole history so far
        recent = np.ascontiguousarray(values[: end + 1])[None, :]
        short = np.ascontiguousarray(values[end + 1 - s : end + 1])[None, :]
        parts["vol"].append(np.sqrt(_std(short) * _std(recent)))
        parts["share"].append(_fine_share(recent))
        parts["clus"].append(_vol_clustering(recent))
        parts["ent"].append(_permutation_entropy(recent))
    if n >= w:
        recent = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(values, w))
        short = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(values, s)[w - s :])
        parts["vol"].append(np.sqrt(_std(short) * _std(recent)))
        parts["share"].append(_fine_share(recent))
        parts["clus"].append(_vol_clustering(recent))
        parts["ent"].append(_permutation_entropy(recent))
    return {k: np.concatenate(v) for k, v in parts.items()}


def _level_reference(recent_vol: FloatArray, ends: IntArray, params: _Params) -> FloatArray:
    """Median recent volatility of the last ``level_history`` dates, shrunk to the prior early.

    While fewer than ``2 * window`` returns exist the reference is the geometric blend
    ``exp(π log(prior) + (1 - π) log(median))`` with ``π = 1 - returns / (2 window)``:
    the first reads are measured against :data:`PRIOR_DAILY_VOL`, so a shock at the start of the
    history is not its own reference.
    """
    median = (
        pd.Series(recent_vol)
        .rolling(params.level_history, min_periods=1)
        .median()
        .to_numpy(dtype=np.float64)
    )
    prior_weight = np.clip(1.0 - (ends + 1) / (2.0 * params.window), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        blended = np.exp(
            prior_weight * np.log(PRIOR_DAILY_VOL) + (1 - prior_weight) * np.log(median)
        )
    return np.asarray(np.where(prior_weight > 0, blended, median), dtype=np.float64)


def _feature_frame(values: FloatArray, params: _Params) -> dict[str, FloatArray]:
    """Raw features, scores and history lengths for every date from ``short_window - 1`` on."""
    w, b = params.window, params.baseline
    n = values.size
    ends = np.arange(params.short_window - 1, n)  # index of the last return of each read
    win = _window_features(values, params)
    recent_vol = win["vol"]
    base_std = np.empty(ends.size)
    base_share = np.empty(ends.size)
    warm = ends < b - 1
    for k in np.nonzero(warm)[0]:  # warm-up: the baseline is the whole history so far
        window = np.ascontiguousarray(values[: ends[k] + 1])[None, :]
        base_std[k] = _std(window)[0]
        base_share[k] = _fine_share(window)[0]
    if (~warm).any():
        full = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(values, b))
        base_std[~warm] = _std(full)
        base_share[~warm] = _fine_share(full)
    level_ref = _level_reference(recent_vol, ends, params)
    with np.errstate(divide="ignore", invalid="ignore"):
        turbulence = np.where(base_share > 0, win["share"] / base_share, 1.0)
    raw = {
        "vol_ratio": _ratio(recent_vol, base_std),
        "vol_level": _ratio(recent_vol, level_ref),
        "turbulence": np.where(np.isnan(turbulence), 1.0, turbulence),
        "vol_clustering": win["clus"],
        "entropy": win["ent"],
    }
    scores = feature_scores(raw)
    out: dict[str, FloatArray] = {}
    for name in FEATURES:
        out[name] = raw[name]
        out[f"{name}_score"] = scores[name]
    out["baseline_sessions"] = np.minimum(ends + 1, b).astype(np.float64)
    out["level_sessions"] = np.minimum(np.arange(1, ends.size + 1), params.level_history).astype(
        np.float64
    )
    out["warming_up"] = (ends + 1 < w).astype(np.float64)
    out["level_prior_weight"] = np.clip(1.0 - (ends + 1) / (2.0 * w), 0.0, 1.0)
    return out


def _series(
    proxy: pd.Series,
    settings: RegimeSettings,
    spectral: bool,
    overrides: tuple[int | None, int | None, int | None],
) -> pd.DataFrame:
    params = _params(settings, *overrides)
    clean = _clean_proxy(proxy, params)
    _weights(settings)
    _check_thresholds(settings)
    frame = _feature_frame(clean.to_numpy(dtype=np.float64), params)
    scores = composite_score({n: frame[f"{n}_score"] for n in FEATURES}, settings)
    rank = {regime: k for k, regime in enumerate(_ORDER)}
    raw = np.array(
        [rank[classify(float(x), settings, spectral=spectral)] for x in scores], dtype=np.int64
    )
    held = apply_persistence(raw, params.persistence)
    names = np.array([r.value for r in _ORDER], dtype=object)
    return pd.DataFrame(
        {"label": names[held], "raw_label": names[raw], "score": scores, **frame},
        index=clean.index[params.short_window - 1 :],
    )


def detect_regime(
    proxy: pd.Series,
    settings: RegimeSettings,
    *,
    spectral: bool,
    short_window: int | None = None,
    level_history: int | None = None,
    persistence: int | None = None,
) -> RegimeResult:
    """Regime at the last date of ``proxy``, from the data up to that date.

    It is the last row of :func:`regime_series` on the same proxy (the level medians and the
    persistence read the whole history given).

    Parameters
    ----------
    proxy : pandas.Series
        Market proxy returns in date order (see :func:`market_proxy`); NaN are dropped.
    settings : RegimeSettings
        Window, baseline, thresholds and weights.
    spectral : bool
        The ``feat_spectral_regimes`` flag (whether ``TURBULENT`` exists).
    short_window, level_history, persistence : int, optional
        Override the settings field of that name; when the settings lack it, the defaults
        :data:`DEFAULT_SHORT_WINDOW`, :data:`DEFAULT_LEVEL_HISTORY` and
        :data:`DEFAULT_PERSISTENCE` apply.

    Returns
    -------
    RegimeResult

    Raises
    ------
    DataError
        When fewer than ``settings.window`` returns are available.
    ConfigError
        On unknown weight keys, unordered thresholds or out-of-range windows.
    """
    series = _series(proxy, settings, spectral, (short_window, level_history, persistence))
    last = series.iloc[-1]
    keys = [
        *FEATURES,
        *(f"{n}_score" for n in FEATURES),
        "baseline_sessions",
        "level_sessions",
        "warming_up",
        "level_prior_weight",
    ]
    features = {key: float(last[key]) for key in keys}
    date = series.index[-1]
    return RegimeResult(
        date=pd.Timestamp(date) if isinstance(date, pd.Timestamp | np.datetime64) else None,
        label=Regime(str(last["label"])),
        score=float(last["score"]),
        features=features,
        warming_up=bool(last["warming_up"]),
    )


def regime_series(
    proxy: pd.Series,
    settings: RegimeSettings,
    *,
    spectral: bool,
    short_window: int | None = None,
    level_history: int | None = None,
    persistence: int | None = None,
) -> pd.DataFrame:
    """Point-in-time regime for every date of the proxy.

    The row of date ``t`` uses the proxy up to ``t`` only and equals
    ``detect_regime(proxy.loc[:t], ...)``. Computed on sliding windows (no recomputation from
    scratch per date).

    Parameters
    ----------
    proxy : pandas.Series
        Market proxy returns in date order; NaN are dropped.
    settings : RegimeSettings
        Window, baseline, thresholds and weights.
    spectral : bool
        The ``feat_spectral_regimes`` flag.
    short_window, level_history, persistence : int, optional
        As in :func:`detect_regime`.

    Returns
    -------
    pandas.DataFrame
        Indexed by the proxy dates from the ``window``-th return on, columns ``label`` (the
        regime value as a string, after persistence), ``raw_label`` (before persistence),
        ``score``, the raw features, their ``<name>_score``, ``baseline_sessions`` and
        ``level_sessions``.

    Raises
    ------
    DataError
        When fewer than ``settings.window`` returns are available.
    ConfigError
        On unknown weight keys, unordered thresholds or out-of-range windows.
    """
    return _series(proxy, settings, spectral, (short_window, level_history, persistence))


def confusion_matrix(predicted: pd.Series, truth: pd.Series) -> pd.DataFrame:
    """Counts of true versus predicted regimes on the dates both series label.

    Parameters
    ----------
    predicted : pandas.Series
        Predicted labels (Regime or its string value), indexed by date.
    truth : pandas.Series
        Ground-truth labels, indexed by date.

    Returns
    -------
    pandas.DataFrame
        Rows = true regime, columns = predicted regime, both in :class:`Regime` order (calmest
        first, all four present); integer counts.
    """
    joined = pd.concat({"predicted": predicted, "truth": truth}, axis=1, join="inner").dropna()
    names = [r.value for r in Regime]
    truth_labels = pd.Series([Regime(v).value for v in joined["truth"]], name="truth", dtype=object)
    pred_labels = pd.Series(
        [Regime(v).value for v in joined["predicted"]], name="predicted", dtype=object
    )
    table = pd.crosstab(truth_labels, pred_labels).reindex(index=names, columns=names, fill_value=0)
    table.index.name = "truth"
    table.columns.name = "predicted"
    return table.astype(np.int64)
