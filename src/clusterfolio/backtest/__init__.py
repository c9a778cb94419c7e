"""Walk-forward backtesting: windows, the one cost model, simulators, metrics and executors.

Modules
-------
costs
    :class:`~clusterfolio.backtest.costs.CostModel`, the single linear cost model shared by the
    optimiser's turnover penalty and the realized simulator.
windows
    :func:`~clusterfolio.backtest.windows.walk_forward_windows`, anchored at the last session.
simulators
    The idealized and realized simulators (numpy, vectorised per window) and the
    ``cvxportfolio`` reference simulator.
metrics
    Performance statistics that agree with QuantStats, and tear-sheet tables.
executors
    Local (process pool) and Ray executors mapping a pure function over tasks, in task order.

Heavy libraries (cvxportfolio, quantstats, ray) are imported lazily inside functions only.
"""
