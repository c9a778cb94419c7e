r"""Honest Sharpe ratios: the Probabilistic and the Deflated Sharpe Ratio of the tournament.

Every quantity here is **per period** (daily, not annualised), on the non-NaN returns
:math:`r_1 .. r_T` of one series.

Probabilistic Sharpe Ratio (Bailey and López de Prado, 2012)
    .. math::

        PSR(SR^*) = \Phi\left[\frac{(\widehat{SR} - SR^*)\sqrt{T - 1}}
        {\sqrt{1 - \gamma_3 \widehat{SR} + \frac{\gamma_4 - 1}{4}\widehat{SR}^2}}\right]

    with :math:`\widehat{SR} = \bar r / s` (sample standard deviation, ``ddof=1``: the
    tournament's Sharpe divided by :math:`\sqrt{P}`), :math:`\gamma_3` the skewness and
    :math:`\gamma_4` the kurtosis (population standardised moments; 3 for a normal law, not
    the excess kurtosis), :math:`SR^*` the benchmark Sharpe (0 by default) and :math:`\Phi`
    the standard normal CDF. NaN with fewer than three returns, a zero standard deviation or
    a non-positive denominator.

Deflated Sharpe Ratio (Bailey and López de Prado, 2014)
    :math:`DSR = PSR(SR_0)`, the PSR against the Sharpe ratio the best of :math:`N` trials
    whose true Sharpe is 0 would show by luck alone:

    .. math::

        SR_0 = \sqrt{V[\{\widehat{SR}_n\}]}\left[(1 - \gamma)\,\Phi^{-1}\left(1 -
        \frac{1}{N_{eff}}\right) + \gamma\,\Phi^{-1}\left(1 - \frac{1}{N_{eff}\,e}\right)\right]

    with :math:`V` the sample variance (``ddof=1``) of the trials' per-period Sharpe ratios,
    :math:`\gamma` the Euler-Mascheroni constant and :math:`e` Euler's number.
    :math:`SR_0 = 0` with one trial or no dispersion, and it is floored at 0 (the
    approximation dips below 0 for :math:`1 < N_{eff} < 1.3` while the best of several
    trials cannot be expected below one trial's mean, 0), so that :math:`DSR \le PSR(0)`.

Effective number of trials
    The tournament's trials (engines x profiles) share a universe and are strongly
    correlated, so they are fewer independent trials than pairs. With :math:`\bar\rho` the
    average of the off-diagonal pairwise correlations of the trials' daily return series
    (pairwise-complete observations; pairs without a defined correlation are left out),
    clipped to :math:`[0, 1]`:

    .. math::

        N_{eff} = \bar\rho + (1 - \bar\rho)\,N

    so :math:`N_{eff} = N` for uncorrelated trials and 1 for identical ones.

The PSR and :math:`SR_0` agree with ``skfolio.measures.probabilistic_sharpe_ratio`` and
``expected_max_sharpe_ratio`` to 1e-12 (tested, with skfolio's DSR for independent trials);
they are written out here (standard library normal law) because importing skfolio costs the
validation step's main process 2 to 3 s, while its engines import it only in their workers.
This module adds the effective number of trials, the floor of :math:`SR_0` and the
tournament's bookkeeping (:func:`annotate_significance`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.errors import DataError

__all__ = [
    "TRIALS_DEFINITION",
    "annotate_significance",
    "average_correlation",
    "deflated_sharpe_ratio",
    "effective_trials",
    "expected_max_sharpe",
    "probabilistic_sharpe_ratio",
    "sharpe_per_period",
]

TRIALS_DEFINITION = (
    "trials = engine x profile pairs simulated by the ranking simulator; avg_correlation = mean "
    "off-diagonal correlation of their daily returns (clipped to [0, 1]); n_eff = avg_correlation "
    "+ (1 - avg_correlation) x n; expected_max_sharpe = the per-period Sharpe the best of n_eff "
    "trials with true Sharpe 0 shows by luck (Bailey and Lopez de Prado 2014); "
    "psr = P(true Sharpe > 0); dsr = P(true Sharpe > expected_max_sharpe)"
)
"""How ``settings.trials`` of ``tournament_summary.json`` is defined (written beside it)."""

EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


def _values(returns: pd.Series | Sequence[float] | np.ndarray) -> np.ndarray:
    values = np.asarray(returns, dtype=np.float64).ravel()
    values = values[~np.isnan(values)]
    if np.isinf(values).any():
        raise DataError("returns contain infinite values")
    return values


def sharpe_per_period(returns: pd.Series | Sequence[float] | np.ndarray) -> float:
    """Per-period Sharpe ratio ``mean / std`` (``ddof=1``, NaN ignored); NaN when undefined."""
    r = _values(returns)
    if len(r) < 2 or float(np.ptp(r)) == 0.0:
        return math.nan
    std = float(r.std(ddof=1))
    return float(r.mean()) / std if std > 0 else math.nan


def probabilistic_sharpe_ratio(
    returns: pd.Series | Sequence[float] | np.ndarray, benchmark: float = 0.0
) -> float:
    """Probability that the true per-period Sharpe exceeds ``benchmark`` (module docstring).

    Parameters
    ----------
    returns : pandas.Series or array-like
        Per-period returns (NaN ignored).
    benchmark : float, default 0.0
        The benchmark Sharpe :math:`SR^*`, per period (not annualised).

    Returns
    -------
    float
        In [0, 1]; NaN with fewer than three returns, no dispersion, or a non-positive
        variance term.

    Raises
    ------
    DataError
        When a return is infinite.
    """
    r = _values(returns)
    if len(r) < 3 or not math.isfinite(benchmark) or float(np.ptp(r)) == 0.0:
        return math.nan
    std = float(r.std(ddof=1))
    deviations = r - r.mean()
    m2 = float(np.mean(deviations**2))
    if std <= 0 or m2 <= 0:
        return math.nan
    sr = float(r.mean()) / std
    skew = float(np.mean(deviations**3)) / m2**1.5
    kurt = float(np.mean(deviations**4)) / m2**2
    variance = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2
    if not variance > 0:
        return math.nan
    z = (sr - benchmark) * math.sqrt(len(r) - 1) / math.sqrt(variance)
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def expected_max_sharpe(n_trials: float, sharpe_variance: float) -> float:
    """Expected maximum per-period Sharpe of ``n_trials`` null trials, floored at 0.

    Parameters
    ----------
    n_trials : float
        Number of (effective) independent trials, at least 1 (fractional allowed).
    sharpe_variance : float
        Variance of the trials' per-period Sharpe ratios (non-negative).

    Returns
    -------
    float
        :math:`SR_0` of the module docstring.

    Raises
    ------
    DataError
        When ``n_trials < 1`` or the variance is negative or not finite.
    """
    if not math.isfinite(n_trials) or n_trials < 1:
        raise DataError(f"expected_max_sharpe: n_trials must be >= 1, got {n_trials!r}")
    if not math.isfinite(sharpe_variance) or sharpe_variance < 0:
        raise DataError(
            f"expected_max_sharpe: sharpe_variance must be finite and >= 0, got {sharpe_variance!r}"
        )
    if n_trials == 1 or sharpe_variance == 0:
        return 0.0
    value = math.sqrt(sharpe_variance) * (
        (1.0 - EULER_GAMMA) * _NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
        + EULER_GAMMA * _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    )
    return max(value, 0.0)


def deflated_sharpe_ratio(
    returns: pd.Series | Sequence[float] | np.ndarray, n_trials: float, sharpe_variance: float
) -> float:
    """:math:`PSR(SR_0)` with :math:`SR_0` = :func:`expected_max_sharpe` (module docstring)."""
    return probabilistic_sharpe_ratio(returns, expected_max_sharpe(n_trials, sharpe_variance))


def average_correlation(series: Mapping[str, pd.Series] | pd.DataFrame) -> float:
    """Mean off-diagonal pairwise correlation (pairwise-complete); NaN with fewer than 2 series.

    Pairs whose correlation is undefined (a constant series, too few common sessions) are left
    out of the mean.
    """
    frame = series if isinstance(series, pd.DataFrame) else pd.DataFrame(dict(series))
    if frame.shape[1] < 2:
        return math.nan
    corr = frame.astype(np.float64).corr(min_periods=3).to_numpy()
    upper = corr[np.triu_indices_from(corr, k=1)]
    upper = upper[np.isfinite(upper)]
    return float(upper.mean()) if len(upper) else math.nan


def effective_trials(n_trials: int, avg_correlation: float) -> float:
    """``N_eff = rho + (1 - rho) * N`` with ``rho`` clipped to [0, 1] (NaN: ``rho = 0``)."""
    if n_trials < 1:
        return float(n_trials)
    rho = 0.0 if not math.isfinite(avg_correlation) else min(max(avg_correlation, 0.0), 1.0)
    return rho + (1.0 - rho) * n_trials


def _trial_stats(series: Mapping[str, pd.Series]) -> dict[str, Any]:
    sharpes = [sharpe_per_period(s) for s in series.values()]
    finite = [s for s in sharpes if math.isfinite(s)]
    rho = average_correlation(series)
    n_eff = effective_trials(len(finite), rho)
    variance = float(np.var(finite, ddof=1)) if len(finite) > 1 else 0.0
    return {
        "n": len(finite),
        "avg_correlation": rho,
        "n_eff": n_eff,
        "sharpe_variance": variance,
        "expected_max_sharpe": expected_max_sharpe(n_eff, variance) if n_eff >= 1 else None,
    }


def annotate_significance(
    rows: list[dict[str, Any]],
    series: Mapping[str, pd.Series],
    *,
    ranking: str,
    requested: int,
    periods: int,
) -> dict[str, Any]:
    """Add ``psr`` and ``dsr`` to the metrics of every simulated summary row.

    Parameters
    ----------
    rows : list of dict
        ``tournament_summary.json`` rows (``engine``, ``profile``, ``simulator``, ``metrics``);
        a row with metrics gets ``metrics["psr"]`` and ``metrics["dsr"]`` in place.
    series : mapping of str to pandas.Series
        Daily returns by ``engine|profile|simulator``.
    ranking : str
        The simulator whose trials are reported on top (``realized``).
    requested : int
        Engine x profile pairs requested (applicable or not).
    periods : int
        Periods per year (to annualise the expected maximum Sharpe for display).

    Returns
    -------
    dict
        ``settings.trials``: the ranking simulator's ``n``, ``avg_correlation``, ``n_eff``,
        ``sharpe_variance``, ``expected_max_sharpe`` (per period) and
        ``expected_max_sharpe_annual``, plus ``requested``, ``simulator``, ``by_simulator``
        (the same figures for each simulator: each row is deflated by its own simulator's
        trials) and ``definition``.
    """
    by_simulator: dict[str, dict[str, Any]] = {}
    for simulator in sorted({str(r["simulator"]) for r in rows}):
        own = {key: s for key, s in series.items() if key.rsplit("|", 1)[-1] == simulator}
        stats = _trial_stats(own)
        by_simulator[simulator] = stats
        for row in rows:
            if row["simulator"] != simulator or not row.get("metrics"):
                continue
            key = f"{row['engine']}|{row['profile']}|{simulator}"
            returns = own.get(key)
            if returns is None:
                continue
            row["metrics"]["psr"] = probabilistic_sharpe_ratio(returns)
            benchmark = stats["expected_max_sharpe"]
            row["metrics"]["dsr"] = (
                probabilistic_sharpe_ratio(returns, benchmark) if benchmark is not None else None
            )
    top = dict(by_simulator.get(ranking) or _trial_stats({}))
    sr0 = top.get("expected_max_sharpe")
    top["expected_max_sharpe_annual"] = None if sr0 is None else sr0 * math.sqrt(periods)
    return {
        "simulator": ranking,
        "requested": requested,
        **top,
        "by_simulator": by_simulator,
        "definition": TRIALS_DEFINITION,
    }
