r"""The Alpha Discovery Score: liquidity + trend + volatility + performance.

For a candidate listing ``i`` with direction sign :math:`s_i` (+1 LONG, -1 SHORT) the raw
signals are read from its screener columns:

=================  ==========================================================================
component          raw signals (direction-adjusted)
=================  ==========================================================================
liquidity          :math:`\log(1 + \text{Value.Traded})`
trend              :math:`s \cdot \text{Recommend.All}`,
                   :math:`s \cdot \log(\text{close} / \text{SMA50})`,
                   :math:`s \cdot \log(\text{close} / \text{SMA200})`
volatility         :math:`-\log(\text{ATR} / \text{close})` (penalised: a calmer listing
                   scores higher, whatever the direction)
performance        :math:`s \cdot \log(1 + \text{Perf.1M} / 100)`,
                   :math:`s \cdot \log(1 + \text{Perf.3M} / 100)`
=================  ==========================================================================

SHORT candidates therefore score on the sign-flipped trend and performance: a falling asset
is a strong SHORT exactly as a rising one is a strong LONG.

Each raw signal :math:`x` is normalised, then a component is the mean of its normalised
signals (signals that are missing are left out; a component with no signal is 0, neutral):

- default, **per asset class**: the z-score within the candidate's class,
  :math:`z = (x - \bar x_c) / \sigma_c` (population standard deviation), clipped to [-3, 3];
  0 when the class has fewer than two defined values or no dispersion. Classes are not
  compared on raw levels (forex has no volume, crypto trades 24/7);
- ``xs_momentum=True`` (feature flag ``feat_xs_momentum``): the **global cross-sectional
  percentile rank** over every candidate of every class, centred,
  :math:`p = (\text{rank} - 0.5) / n - 0.5 \in (-0.5, 0.5)` (average rank for ties).

The score is the weighted sum

.. math::

    \text{score} = w_L L + w_T T + w_V V + w_P P, \qquad w = (0.25, 0.25, 0.25, 0.25)

(:class:`ScoreWeights`, set in the manifest as ``scoring.alpha``). Scores compare candidates of one run and one mode; their scale differs
between the two modes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clusterfolio.enums import Direction
from clusterfolio.errors import SchemaError
from clusterfolio.manifest import AlphaScoreWeights

#: Score components, in the order of the formula.
COMPONENTS: tuple[str, ...] = ("liquidity", "trend", "volatility", "performance")

#: Raw signals of each component.
SIGNALS: dict[str, tuple[str, ...]] = {
    "liquidity": ("liq_value_traded",),
    "trend": ("trend_rating", "trend_sma50", "trend_sma200"),
    "volatility": ("vol_atr_pct",),
    "performance": ("perf_1m", "perf_3m"),
}

Z_CLIP = 3.0


ScoreWeights = AlphaScoreWeights
"""Weights of the four components (``scoring.alpha`` of the manifest; any non-negative numbers,
not renormalised)."""


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return pd.to_numeric(frame[name], errors="coerce").astype("float64")
    return pd.Series(np.nan, index=frame.index, dtype="float64")


def _log(values: pd.Series) -> pd.Series:
    arr = values.to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(arr)
    out[~np.isfinite(out)] = np.nan
    return pd.Series(out, index=values.index)


def raw_signals(candidates: pd.DataFrame) -> pd.DataFrame:
    """Direction-adjusted raw signals of each candidate (table in the module docstring).

    Parameters
    ----------
    candidates : pandas.DataFrame
        Screener columns plus ``direction`` (LONG/SHORT). Missing screener columns give
        missing signals.

    Returns
    -------
    pandas.DataFrame
        One column per signal of :data:`SIGNALS`.
    """
    if "direction" not in candidates.columns:
        raise SchemaError("candidates need a 'direction' column")
    sign = np.where(candidates["direction"].astype(str) == str(Direction.SHORT), -1.0, 1.0)
    close = _col(candidates, "close")
    value = _col(candidates, "Value.Traded")
    out = pd.DataFrame(index=candidates.index)
    out["liq_value_traded"] = _log(1.0 + value.where(value >= 0))
    out["trend_rating"] = sign * _col(candidates, "Recommend.All")
    out["trend_sma50"] = sign * _log(close / _col(candidates, "SMA50"))
    out["trend_sma200"] = sign * _log(close / _col(candidates, "SMA200"))
    out["vol_atr_pct"] = -_log(_col(candidates, "ATR") / close)
    out["perf_1m"] = sign * _log(1.0 + _col(candidates, "Perf.1M") / 100.0)
    out["perf_3m"] = sign * _log(1.0 + _col(candidates, "Perf.3M") / 100.0)
    return out


def zscore_by_group(values: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Column-wise z-scores within groups, clipped to ±3 (0 without dispersion)."""
    grouped = values.groupby(groups.to_numpy(), sort=False)
    mean = grouped.transform("mean")
    std = grouped.transform("std", ddof=0)
    count = grouped.transform("count")
    z = (values - mean) / std
    flat = (std == 0) | std.isna() | (count < 2)
    z = z.mask(flat & values.notna(), 0.0)
    return z.clip(-Z_CLIP, Z_CLIP)


def centred_percentile(values: pd.DataFrame) -> pd.DataFrame:
    """Column-wise global percentile ranks centred on 0: ``(rank - 0.5) / n - 0.5``."""
    ranks = values.rank(method="average")
    n = values.notna().sum()
    return (ranks - 0.5) / n - 0.5


def score_candidates(
    candidates: pd.DataFrame,
    *,
    xs_momentum: bool = False,
    weights: ScoreWeights | None = None,
) -> pd.DataFrame:
    """Add the four components and the Alpha Discovery Score to ``candidates``.

    Parameters
    ----------
    candidates : pandas.DataFrame
        One row per candidate listing: ``asset_class``, ``direction`` and screener columns
        (:data:`clusterfolio.discovery.evaluate.SCORE_COLUMNS`).
    xs_momentum : bool
        Global cross-sectional percentile ranks instead of per-class z-scores
        (``features.feat_xs_momentum``).
    weights : ScoreWeights, optional
        Component weights (0.25 each by default).

    Returns
    -------
    pandas.DataFrame
        A copy with columns ``liquidity``, ``trend``, ``volatility``, ``performance``, ``score``.
    """
    weights = weights or ScoreWeights()
    out = candidates.copy()
    if out.empty:
        for name in (*COMPONENTS, "score"):
            out[name] = pd.Series(dtype="float64")
        return out
    if "asset_class" not in out.columns:
        raise SchemaError("candidates need an 'asset_class' column")
    raw = raw_signals(out)
    if xs_momentum:
        norm = centred_percentile(raw)
    else:
        norm = zscore_by_group(raw, out["asset_class"].astype(str))
    score = pd.Series(0.0, index=out.index)
    for name in COMPONENTS:
        block = norm.loc[:, list(SIGNALS[name])]
        comp = block.mean(axis=1, skipna=True).fillna(0.0)
        out[name] = comp
        score = score + getattr(weights, name) * comp
    out["score"] = score
    return out
