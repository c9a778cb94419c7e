"""The synthetic market's simulation: the regime chain, GARCH factors and units, served candles.

:func:`simulate` runs the whole market from the epoch to the last day asked, vectorised across
listings (see :mod:`clusterfolio.data.synthetic` for the model); the fault constants and
:class:`FaultKind` live here because the simulation injects the spikes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

from clusterfolio.data.calendars import sessions
from clusterfolio.data.synthetic_universe import Universe, stream
from clusterfolio.enums import CalendarKind, Regime

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Close multiplier of an injected spike.
SPIKE_FACTOR = 1.8
#: A spike listing has one spike every this many sessions (so the last 120 sessions hold one).
SPIKE_PERIOD = 100
#: A missing-bars listing misses a run every this many sessions (the last 60 sessions hold one).
GAP_PERIOD = 50
#: Length range (inclusive) of a run of missing sessions.
GAP_LENGTH = (3, 6)
#: Range (inclusive) of the number of final sessions a stale listing does not serve.
STALE_LAG = (5, 10)
#: Default length of the fixed simulation horizon after the epoch.
HORIZON_YEARS = 12

OHLCV = ("open", "high", "low", "close", "volume")
REGIMES: tuple[Regime, ...] = (Regime.QUIET, Regime.NORMAL, Regime.TURBULENT, Regime.CRISIS)
#: Daily transition matrix of the regime chain (rows: from, columns: to, order of REGIMES).
_TRANSITIONS = np.array(
    [
        [0.986, 0.014, 0.000, 0.000],
        [0.007, 0.986, 0.007, 0.000],
        [0.000, 0.022, 0.966, 0.012],
        [0.000, 0.006, 0.030, 0.964],
    ]
)
_GLOBAL_VOL_MULT = np.array([0.6, 1.0, 1.5, 2.2])
_FACTOR_VOL_MULT = np.array([0.75, 1.0, 1.3, 1.7])
_IDIO_VOL_MULT = np.array([0.85, 1.0, 1.15, 1.35])
_GLOBAL_DRIFT = np.array([0.0007, 0.0004, -0.0006, -0.0035])
_STRESS = np.array([0.0, 0.0, 0.5, 1.0])
_VOLUME_REGIME = np.array([-0.1, 0.0, 0.15, 0.35])
#: Scale of the log-return of a day on which the listing's market is closed.
_CLOSED_DAY_SCALE: dict[CalendarKind, float] = {
    CalendarKind.NYSE: 0.3,
    CalendarKind.LSE: 0.3,
    CalendarKind.FOREX_24_5: 0.15,
    CalendarKind.CRYPTO_24_7: 1.0,
}
_BASIS_RHO = 0.7
_SHOCK_CLIP = 4.5
#: Cap of the GARCH variance multiplier (keeps a run of extreme shocks from exploding).
_GARCH_CAP = 4.0


class FaultKind(StrEnum):
    """Kinds of injected faults (the field names of ``FaultSettings``)."""

    MISSING_BARS = "missing_bars"
    STALE_LISTINGS = "stale_listings"
    SPIKES = "spikes"
    DUPLICATED_ROWS = "duplicated_rows"


def regime_chain(seed: int, n_days: int) -> IntArray:
    """Draw the regime index path (0 QUIET .. 3 CRISIS), starting NORMAL."""
    uniforms = stream(seed, "regime").random(n_days)
    cumulative = np.cumsum(_TRANSITIONS, axis=1)
    cumulative[:, -1] = 1.0
    out = np.empty(n_days, dtype=np.int64)
    state = 1
    for t in range(n_days):
        state = int(np.searchsorted(cumulative[state], uniforms[t], side="right"))
        out[t] = state
    return out


def _student(rng: np.random.Generator, df: float, n: int) -> FloatArray:
    """Unit-variance Student-t draws, clipped at +-_SHOCK_CLIP."""
    draws = rng.standard_t(df, n) / math.sqrt(df / (df - 2.0))
    return np.clip(draws, -_SHOCK_CLIP, _SHOCK_CLIP)


def garch_filter(z: FloatArray, alpha: FloatArray, beta: FloatArray) -> FloatArray:
    """Filter unit-variance shocks through GARCH(1,1) recursions of unit long-run variance.

    ``e[t] = z[t] * sqrt(h[t])``, ``h[t+1] = min(1 - alpha - beta + alpha e[t]^2 + beta h[t],
    cap)``, ``h[0] = 1``: one loop over days, vectorised across series.

    Parameters
    ----------
    z : numpy.ndarray
        Shocks, days x series, unit variance.
    alpha, beta : numpy.ndarray
        Per-series coefficients, ``alpha + beta < 1``.

    Returns
    -------
    numpy.ndarray
        Volatility-clustered shocks of the same shape.
    """
    out = np.empty_like(z)
    omega = 1.0 - alpha - beta
    h = np.ones(z.shape[1])
    root = np.empty_like(h)
    for t in range(z.shape[0]):
        np.sqrt(h, out=root)
        row = out[t]
        np.multiply(z[t], root, out=row)
        h *= beta
        h += omega + alpha * row * row
        np.minimum(h, _GARCH_CAP, out=h)
    return out


def _basis(normals: FloatArray, sd: FloatArray) -> FloatArray:
    """Stationary AR(1) basis (days x listings) with standard deviation ``sd``, from day 0."""
    scale = math.sqrt(1.0 - _BASIS_RHO**2)
    shock = normals * (sd[None, :] * scale)
    out = np.empty_like(shock)
    out[0] = shock[0] / scale
    for t in range(1, shock.shape[0]):
        np.multiply(out[t - 1], _BASIS_RHO, out=out[t])
        out[t] += shock[t]
    return out


@dataclass
class Group:
    """The served candles of the listings on one calendar."""

    kind: CalendarKind
    sessions: pd.DatetimeIndex
    ohlcv: FloatArray  # listings x sessions x 5


@dataclass
class Market:
    days: pd.DatetimeIndex
    factor_returns: FloatArray
    groups: dict[CalendarKind, Group]
    where: dict[str, tuple[CalendarKind, int]]


@dataclass(frozen=True)
class FaultPlan:
    kind: FaultKind
    symbol: str
    phase: int = 0
    length: int = 0


def _unit_vols(universe: Universe) -> dict[str, float]:
    vols = {}
    for unit in universe.units:
        var = unit.idio**2 + sum((w * universe.factors[f][0]) ** 2 for f, w in unit.exposures)
        vols[unit.key] = math.sqrt(var)
    return vols


def _factor_and_unit_returns(
    universe: Universe, seed: int, n: int, regimes: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Simulate the factor and unit log-returns (calendar days x factors, days x units)."""
    factor_names = list(universe.factors)
    n_f, n_u = len(factor_names), len(universe.units)
    f_index = {name: k for k, name in enumerate(factor_names)}

    # shocks: factors then units, one stream each, indexed by calendar day from the epoch
    z = np.empty((n, n_f + n_u))
    alpha = np.empty(n_f + n_u)
    beta = np.empty(n_f + n_u)
    for k, name in enumerate(factor_names):
        _, df, alpha[k], beta[k] = universe.factors[name]
        z[:, k] = _student(stream(seed, "factor", name), df, n)
    for k, unit in enumerate(universe.units):
        z[:, n_f + k] = _student(stream(seed, "unit", unit.key), unit.df, n)
        alpha[n_f + k], beta[n_f + k] = unit.alpha, unit.beta
    shocks = garch_filter(z, alpha, beta)
    del z

    g = f_index["global"]
    f_vol = np.array([universe.factors[name][0] for name in factor_names])
    f_mult = np.tile(_FACTOR_VOL_MULT[:, None], (1, n_f))
    f_mult[:, g] = _GLOBAL_VOL_MULT
    factors = shocks[:, :n_f] * f_vol[None, :] * f_mult[regimes]
    factors[:, g] += _GLOBAL_DRIFT[regimes]

    # exposures as (slot, unit) -> factor column and weight; elementwise sums (not a BLAS
    # product, whose rounding depends on the matrix size) keep each day's value independent of
    # the length of the history
    slots = max(len(u.exposures) for u in universe.units)
    f_col = np.zeros((slots, n_u), dtype=np.int64)
    weight = np.zeros((slots, n_u))
    for k, unit in enumerate(universe.units):
        for e, (name, w) in enumerate(unit.exposures):
            f_col[e, k], weight[e, k] = f_index[name], w
    idio = np.array([u.idio for u in universe.units])
    drift = np.array([u.drift for u in universe.units])
    ftq = np.array([u.ftq for u in universe.units])
    units = factors[:, f_col[0]] * weight[0][None, :]
    for e in range(1, slots):
        units += factors[:, f_col[e]] * weight[e][None, :]
    units += shocks[:, n_f:] * idio[None, :] * _IDIO_VOL_MULT[regimes][:, None]
    units += drift[None, :]
    units += (factors[:, g] * _STRESS[regimes])[:, None] * ftq[None, :]
    return factors, units


def _listing_log_prices(
    universe: Universe, units: FloatArray, kind_rows: Mapping[CalendarKind, IntArray]
) -> FloatArray:
    """Log prices (calendar days x listings) before basis: cumulated, damped on closed days."""
    n, n_u = units.shape
    u_index = {u.key: k for k, u in enumerate(universe.units)}
    models = universe.models
    extended = np.hstack([units, np.zeros((n, 1))])  # last column: "no unit"
    pos = np.array([u_index[m.pos] for m in models])
    neg = np.array([n_u if m.neg is None else u_index[m.neg] for m in models])
    log_ret = extended[:, pos] - extended[:, neg]
    del extended
    kinds = list(kind_rows)
    damp = np.empty((n, len(kinds)))
    for k, kind in enumerate(kinds):
        damp[:, k] = _CLOSED_DAY_SCALE[kind]
        damp[kind_rows[kind], k] = 1.0
    log_ret *= damp[:, [kinds.index(m.listing.calendar) for m in models]]
    log_price = np.cumsum(log_ret, axis=0)
    log_price += np.log([m.price for m in models])[None, :]
    return log_price


def _group_candles(
    universe: Universe,
    seed: int,
    log_price: FloatArray,
    cols: IntArray,
    rows: IntArray,
    regimes: IntArray,
) -> FloatArray:
    """OHLCV (listings x sessions x 5) of the listings ``cols`` on the session rows ``rows``."""
    n = log_price.shape[0]
    models = [universe.models[int(c)] for c in cols]
    unit_vol = _unit_vols(universe)
    vol = np.array([math.hypot(unit_vol[m.pos], unit_vol[m.neg] if m.neg else 0.0) for m in models])
    gap_frac = np.array([m.gap_frac for m in models])[:, None]
    open_noise = (np.array([m.open_noise for m in models]) * vol)[:, None]
    log_dv = np.array([m.log_dollar_volume for m in models])[:, None]
    basis_sd = np.array([m.basis_sd for m in models])

    # per-listing noise by calendar day: 0 open, 1 high, 2 low, 3 volume, 4 basis
    noise = np.empty((len(models), n, 5))
    for j, m in enumerate(models):
        noise[j] = stream(seed, "listing", m.listing.symbol).standard_normal((n, 5))
    lp = log_price[:, cols]
    with_basis = np.flatnonzero(basis_sd > 0)
    if with_basis.size:
        lp[:, with_basis] += _basis(noise[with_basis, :, 4].T, basis_sd[with_basis])
    lc = lp[rows].T  # listings x sessions
    nz = noise[:, rows, :4]
    del noise, lp
    ret = np.zeros_like(lc)
    ret[:, 1:] = np.diff(lc, axis=1)
    v = vol[:, None]
    lo = lc - ret + gap_frac * ret + open_noise * nz[:, :, 0]
    spread = 0.5 * v * _IDIO_VOL_MULT[regimes[rows]][None, :]
    ohlcv = np.empty((len(models), rows.size, 5))
    ohlcv[:, :, 0] = np.exp(lo)
    ohlcv[:, :, 1] = np.exp(np.maximum(lo, lc) + np.abs(nz[:, :, 1]) * spread)
    ohlcv[:, :, 2] = np.exp(np.minimum(lo, lc) - np.abs(nz[:, :, 2]) * spread)
    ohlcv[:, :, 3] = np.exp(lc)
    lv = log_dv - lc + 0.3 * nz[:, :, 3]
    lv += 0.35 * np.minimum(np.abs(ret) / v, 6.0) + _VOLUME_REGIME[regimes[rows]][None, :]
    ohlcv[:, :, 4] = np.round(np.exp(lv), 2)
    return ohlcv


def simulate(
    universe: Universe,
    seed: int,
    days: pd.DatetimeIndex,
    regimes: IntArray,
    spikes: Mapping[str, FaultPlan],
) -> Market:
    """Simulate the whole market from the epoch to ``days[-1]`` (vectorised across listings)."""
    factors, units = _factor_and_unit_returns(universe, seed, len(days), regimes)
    models = universe.models
    kinds = sorted({m.listing.calendar for m in models}, key=list(CalendarKind).index)
    kind_rows = {
        kind: np.searchsorted(days.asi8, sessions(kind, days[0], days[-1]).asi8) for kind in kinds
    }
    log_price = _listing_log_prices(universe, units, kind_rows)
    del units
    groups: dict[CalendarKind, Group] = {}
    where: dict[str, tuple[CalendarKind, int]] = {}
    for kind in kinds:
        rows = kind_rows[kind]
        cols = np.array([c for c, m in enumerate(models) if m.listing.calendar is kind])
        ohlcv = _group_candles(universe, seed, log_price, cols, rows, regimes)
        for j, c in enumerate(cols):
            symbol = models[int(c)].listing.symbol
            where[symbol] = (kind, j)
            plan = spikes.get(symbol)
            if plan is not None:
                at = np.flatnonzero((np.arange(rows.size) - plan.phase) % SPIKE_PERIOD == 0)
                ohlcv[j, at, 3] *= SPIKE_FACTOR
                ohlcv[j, at, 1] = np.maximum(ohlcv[j, at, 1], ohlcv[j, at, 3])
        groups[kind] = Group(kind, pd.DatetimeIndex(days[rows]), ohlcv)
    return Market(days, factors, groups, where)
