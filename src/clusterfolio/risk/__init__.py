"""Risk analytics: intersection correlation, hierarchical clustering, antifragility, regimes.

Modules
-------
correlation
    Pairwise-complete ("intersection") Pearson correlation computed with masked matrix
    products, correlation distance and its average over several lookbacks.
clustering
    Ward linkage, deterministic cluster labels, leaf order, adaptive thresholds and the cluster
    registry (lead asset, intra-cluster correlation, volatility, fragility, sector homogeneity).
antifragility
    Per-asset tail statistics (skew, tail gain, historical VaR/CVaR, tail ratio, drawdown) and
    the fragility / antifragility scores.
regime
    Market proxy, composite regime score (volatility ratio, wavelet turbulence, volatility
    clustering, permutation entropy) and point-in-time regime labels.

Every function is point in time: it uses only the rows it is given.
"""
