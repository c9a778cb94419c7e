"""clusterfolio: daily multi-asset portfolio generator (Discovery → Cluster → Risk → Audit)."""

__version__ = "0.1.0"
