"""clusterfolio."""
