r"""The one transaction cost model (optimiser turnover penalty and realized simulator).

The model is linear in traded notional. Trading the weight change :math:`\Delta w` (a vector of
net weight changes, cash excluded) on a portfolio worth :math:`V` before the trade costs

.. math::

    C(\Delta w) = (s + c) \, \lVert \Delta w \rVert_1 \, V
               = (s + c) \sum_i \lvert \Delta w_i \rvert \, V ,

where :math:`s` is the slippage (half spread plus impact, as a fraction of traded value) and
:math:`c` the commission (fraction of traded value). Buys and sells pay the same rate, a short
sale pays like a sale, and the cash leg of a trade is free. The cost is paid from cash at the
rebalance, before that session's return. This is exactly ``cvxportfolio``'s
``TransactionCost(a=s + c, b=None)`` (first term only: :math:`a \sum_i |u_i|` on the traded
values :math:`u_i = \Delta w_i V`, cash excluded), which the reference simulator uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from clusterfolio.errors import ConfigError, DataError
from clusterfolio.manifest import BacktestSettings

__all__ = ["CostModel"]


@dataclass(frozen=True, slots=True)
class CostModel:
    r"""Linear transaction costs: ``(slippage + commission) * sum(|trades|) * portfolio_value``.

    Parameters
    ----------
    slippage : float
        Slippage as a fraction of traded value (``0.0005`` is 5 bps). Non-negative, finite.
    commission : float
        Commission as a fraction of traded value (``0.0001`` is 1 bp). Non-negative, finite.

    Notes
    -----
    Trading the net weight changes :math:`\Delta w` (cash excluded) on a portfolio worth
    :math:`V` costs :math:`(s + c) \sum_i |\Delta w_i| V`. Turnover penalties in the optimiser
    use :attr:`per_unit` as the coefficient of :math:`\lVert \Delta w \rVert_1`, so the
    optimiser and the simulator price a trade identically.

    Examples
    --------
    >>> import numpy as np
    >>> model = CostModel(slippage=0.0005, commission=0.0001)
    >>> round(model.cost(np.array([0.10, -0.05]), portfolio_value=2.0), 12)
    0.00018
    """

    slippage: float
    commission: float

    def __post_init__(self) -> None:
        for name in ("slippage", "commission"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(f"CostModel.{name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"CostModel.{name} must be finite and >= 0, got {value!r}")

    @property
    def per_unit(self) -> float:
        """Cost per unit of traded value: ``slippage + commission``."""
        return float(self.slippage) + float(self.commission)

    def cost(self, trades: npt.ArrayLike, *, portfolio_value: float = 1.0) -> float:
        r"""Cost of a trade, in the currency of ``portfolio_value``.

        Parameters
        ----------
        trades : array_like
            Net weight changes :math:`\Delta w` of the assets (cash excluded; signed, a sale or
            a short sale is negative). With ``portfolio_value=1`` the trades may equally be given
            in currency units (traded values :math:`u = \Delta w V`).
        portfolio_value : float, default 1.0
            Value :math:`V` of the portfolio before the trade.

        Returns
        -------
        float
            :math:`(s + c) \sum_i |\Delta w_i| V`.

        Raises
        ------
        DataError
            When a trade is NaN or infinite.
        """
        arr = np.asarray(trades, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise DataError("CostModel.cost: trades contain NaN or infinite values")
        return self.per_unit * float(np.abs(arr).sum()) * float(portfolio_value)

    @classmethod
    def from_settings(cls, settings: BacktestSettings) -> CostModel:
        """Build the model from the manifest's ``backtest`` section (slippage, commission)."""
        return cls(slippage=float(settings.slippage), commission=float(settings.commission))
