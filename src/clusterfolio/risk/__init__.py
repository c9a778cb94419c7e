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
    Market proxy and cross-sectional dispersion on one business-day calendar, composite regime
    score (dispersion, volatility level and ratio, drawdown, wavelet turbulence, volatility
    clustering, permutation entropy) and point-in-time regime labels; the calibration study is
    ``docs/regime-calibration.md``.

Every function is point in time: it uses only the rows it is given.
"""
