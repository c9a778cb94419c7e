"""clusterfolio: daily multi-asset portfolio generator (Discovery → Cluster → Risk → Audit).

The Python API (:mod:`clusterfolio.api`) is imported on first use, so ``import clusterfolio``
stays light::

    from clusterfolio import load_run, run_pipeline

    run = load_run("latest")
    run.weights()      # the accepted profile, one row per symbol
    run.orders()       # side, quantity, notional, estimated cost
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clusterfolio._version import __version__

__all__ = ["Run", "__version__", "load_run", "run_pipeline"]

if TYPE_CHECKING:
    from clusterfolio.api import Run, load_run, run_pipeline

_API = frozenset({"Run", "load_run", "run_pipeline"})


def __getattr__(name: str) -> Any:
    """Import the API lazily (PEP 562)."""
    if name in _API:
        from clusterfolio import api

        return getattr(api, name)
    raise AttributeError(f"module 'clusterfolio' has no attribute {name!r}")
