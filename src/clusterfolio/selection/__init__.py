"""Natural selection (step 5), enrichment (step 6) and the selection decision trail.

Modules
-------
execution
    The Execution Intelligence score: momentum, stability, convexity and liquidity signals of
    each candidate, normalised within its cluster (or by global percentile ranks with
    ``features.feat_xs_momentum``), and their weighted sum.
natural
    :func:`~clusterfolio.selection.natural.natural_selection`: synthetic-long returns, the
    intersection-correlation Ward clusters of the raw pool, the history filter, the momentum
    gate, the top ``N`` per cluster and direction, one listing per identity, the global cap and
    the always-carried market baseline. Pure and deterministic (the tournament re-runs it on a
    training slice).
enrichment
    Sector, industry and description of every winner from the provider's metadata, with
    documented fallbacks by asset class (each one recorded).
trail
    The selection audit (Markdown), the decisions about merged listings, and
    :func:`~clusterfolio.selection.trail.explain`, which answers "why is X in and Y out?" from
    a run's artifacts.
"""
