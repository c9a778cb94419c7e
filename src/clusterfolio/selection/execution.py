r"""The Execution Intelligence score of natural selection.

Every candidate is scored on its **synthetic-long** returns :math:`x` (the raw returns, negated
once for a SHORT candidate), over the rows it is given (the 60-session light pass, or a training
slice), each asset on its own sessions (NaN where its market was closed). With :math:`n` the
asset's observations, :math:`R = \prod (1 + x_t) - 1` its window return and :math:`\sigma` the
sample standard deviation (``ddof=1``) of its returns:

==============  ================================================================================
component       raw signals (higher is better)
==============  ================================================================================
momentum        ``mom_risk_adjusted`` :math:`= R / (\sigma \sqrt{n})`: the window return per unit
                of window volatility (risk-adjusted momentum)
stability       ``stab_inv_vol`` :math:`= -\log \sigma` (inverse volatility, scale free) and
                ``stab_drawdown`` :math:`= -\text{MDD}` (maximum drawdown of the compounded
                synthetic-long wealth)
convexity       ``cvx_skew`` (sample skewness) and ``cvx_tail`` (tail convexity: mean of the top
                5% returns over the 95% CVaR), both from
                :func:`~clusterfolio.risk.antifragility.antifragility_table`
liquidity       ``liq_value_traded`` :math:`= \log(1 + \text{Value.Traded})` and
                ``liq_atr`` :math:`= -\log(\text{ATR} / \text{close})` (a smaller daily range
                relative to the price is cheaper to execute), from the screener
==============  ================================================================================

Normalisation of each raw signal (then a component is the mean of its normalised signals; a
signal that is missing is left out, a component without any signal is 0, neutral):

- default, **within the cluster**: the z-score among the scored members of the candidate's
  cluster (population standard deviation), clipped to ``[-3, 3]``; 0 when the cluster has fewer
  than two defined values or no dispersion (a singleton cluster scores 0 everywhere);
- ``xs_momentum=True`` (``features.feat_xs_momentum``): the **global** cross-sectional
  percentile rank over every scored candidate, centred,
  :math:`p = (\text{rank} - 0.5) / m - 0.5 \in (-0.5, 0.5)` (average ranks for ties).

Both normalisations reuse the discovery score's
(:func:`~clusterfolio.discovery.scoring.zscore_by_group`,
:func:`~clusterfolio.discovery.scoring.centred_percentile`). The score is

.. math::

    \text{execution\_score} = w_M M + w_S S + w_C C + w_L L, \qquad
    w = (0.25, 0.25, 0.25, 0.25)

(:class:`ExecutionWeights`; equal weights, nothing is fitted). Scores rank candidates of one
cluster against each other; across clusters they say how dominant a candidate is within its own
cluster (z-scores) or where it sits in the whole pool (percentiles).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clusterfolio.discovery.scoring import centred_percentile, zscore_by_group
from clusterfolio.manifest import ExecutionScoreWeights
from clusterfolio.risk.antifragility import max_drawdown

__all__ = [
    "EXECUTION_COMPONENTS",
    "EXECUTION_SIGNALS",
    "ExecutionWeights",
    "execution_scores",
    "raw_execution_signals",
    "window_statistics",
]

#: Components of the Execution Intelligence score, in the order of the formula.
EXECUTION_COMPONENTS: tuple[str, ...] = ("momentum", "stability", "convexity", "liquidity")

#: Raw signals of each component (module docstring).
EXECUTION_SIGNALS: dict[str, tuple[str, ...]] = {
    "momentum": ("mom_risk_adjusted",),
    "stability": ("stab_inv_vol", "stab_drawdown"),
    "convexity": ("cvx_skew", "cvx_tail"),
    "liquidity": ("liq_value_traded", "liq_atr"),
}


ExecutionWeights = ExecutionScoreWeights
"""Weights of the four components (``scoring.execution`` of the manifest; finite, non-negative,
not renormalised)."""


def window_statistics(returns: pd.DataFrame) -> pd.DataFrame:
    """Window statistics of each column: observations, return, volatility, drawdown, momentum.

    Parameters
    ----------
    returns : pandas.DataFrame
        Synthetic-long returns (rows = sessions, columns = symbols), NaN where closed.

    Returns
    -------
    pandas.DataFrame
        Index = columns of ``returns``; columns ``n_obs`` (int), ``total_return``
        (:math:`\\prod (1 + x) - 1`, NaN without observations), ``volatility`` (per-session
        sample standard deviation, NaN with fewer than two observations), ``max_drawdown``
        and ``momentum_raw`` (:math:`R / (\\sigma \\sqrt{n})`, NaN when :math:`\\sigma` is 0
        or undefined).
    """
    x = returns.to_numpy(dtype=np.float64)
    mask = ~np.isnan(x)
    n = mask.sum(axis=0)
    filled = np.where(mask, x, 0.0)
    total = np.prod(1.0 + filled, axis=0) - 1.0
    total = np.where(n > 0, total, np.nan)
    nf = n.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = filled.sum(axis=0) / nf
        dev = np.where(mask, x - mean, 0.0)
        var = (dev * dev).sum(axis=0) / (nf - 1.0)
        sigma = np.where(n > 1, np.sqrt(var), np.nan)
        momentum = np.where(sigma > 0, total / (sigma * np.sqrt(nf)), np.nan)
    mdd = max_drawdown(x) if x.shape[0] else np.zeros(x.shape[1])
    mdd = np.where(n > 0, mdd, np.nan)
    return pd.DataFrame(
        {
            "n_obs": n.astype(np.int64),
            "total_return": total,
            "volatility": sigma,
            "max_drawdown": mdd,
            "momentum_raw": momentum,
        },
        index=returns.columns.copy(),
    )


def _log_positive(values: pd.Series) -> pd.Series:
    arr = values.to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(arr)
    out[~np.isfinite(out)] = np.nan
    return pd.Series(out, index=values.index, dtype="float64")


def _numeric(frame: pd.DataFrame | None, column: str, index: pd.Index) -> pd.Series:
    if frame is None or column not in frame.columns:
        return pd.Series(np.nan, index=index, dtype="float64")
    values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return values.reindex(index)


def raw_execution_signals(
    stats: pd.DataFrame,
    tails: pd.DataFrame,
    screener: pd.DataFrame | None,
    *,
    value_traded: pd.Series | None = None,
) -> pd.DataFrame:
    """Raw signals of the Execution Intelligence score (table in the module docstring).

    Parameters
    ----------
    stats : pandas.DataFrame
        :func:`window_statistics` of the synthetic-long returns, indexed by symbol.
    tails : pandas.DataFrame
        :func:`~clusterfolio.risk.antifragility.antifragility_table` of the same returns
        (``skew``, ``tail_convexity``), indexed by symbol.
    screener : pandas.DataFrame or None
        Screener columns indexed by symbol (``Value.Traded``, ``ATR``, ``close``); None or a
        missing symbol gives missing liquidity signals.
    value_traded : pandas.Series, optional
        ``Value.Traded`` per symbol used where the screener has none (the raw pool's
        ``value_traded``).

    Returns
    -------
    pandas.DataFrame
        One column per signal of :data:`EXECUTION_SIGNALS`, indexed like ``stats``.
    """
    index = stats.index
    vt = _numeric(screener, "Value.Traded", index)
    if value_traded is not None:
        vt = vt.fillna(pd.to_numeric(value_traded, errors="coerce").reindex(index))
    atr_pct = _numeric(screener, "ATR", index) / _numeric(screener, "close", index)
    out = pd.DataFrame(index=index)
    out["mom_risk_adjusted"] = stats["momentum_raw"].astype("float64")
    out["stab_inv_vol"] = -_log_positive(stats["volatility"].astype("float64"))
    out["stab_drawdown"] = -stats["max_drawdown"].astype("float64")
    out["cvx_skew"] = tails["skew"].reindex(index).astype("float64")
    out["cvx_tail"] = tails["tail_convexity"].reindex(index).astype("float64")
    out["liq_value_traded"] = _log_positive(1.0 + vt.where(vt >= 0))
    out["liq_atr"] = -_log_positive(atr_pct.where(atr_pct > 0))
    return out.replace([np.inf, -np.inf], np.nan)


def execution_scores(
    raw: pd.DataFrame,
    clusters: pd.Series,
    *,
    xs_momentum: bool,
    weights: ExecutionWeights | None = None,
) -> pd.DataFrame:
    """Normalised components and the Execution Intelligence score.

    Parameters
    ----------
    raw : pandas.DataFrame
        :func:`raw_execution_signals` of the candidates being scored (and only those: the
        normalisation population is the rows given).
    clusters : pandas.Series
        Cluster id per row of ``raw`` (same index); the z-score group.
    xs_momentum : bool
        Global centred percentile ranks instead of within-cluster z-scores.
    weights : ExecutionWeights, optional
        Component weights (0.25 each by default).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`EXECUTION_COMPONENTS` and ``execution_score``, indexed like ``raw``.
    """
    weights = weights or ExecutionWeights()
    columns = [*EXECUTION_COMPONENTS, "execution_score"]
    if raw.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns}, index=raw.index)
    if xs_momentum:
        norm = centred_percentile(raw)
    else:
        norm = zscore_by_group(raw, clusters.reindex(raw.index).astype("int64"))
    out = pd.DataFrame(index=raw.index)
    score = np.zeros(len(raw), dtype=np.float64)
    for name in EXECUTION_COMPONENTS:
        block = norm.loc[:, list(EXECUTION_SIGNALS[name])]
        component = block.mean(axis=1, skipna=True).fillna(0.0).astype("float64")
        out[name] = component
        score = score + getattr(weights, name) * component.to_numpy()
    out["execution_score"] = score
    return out
