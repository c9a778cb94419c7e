"""Discovery: declarative screens, screener columns from candles, canonical identities, raw pool.

Modules, in the order the Discovery and Aggregation steps use them:

- :mod:`clusterfolio.discovery.screens`: TradingView ``/scan`` request bodies as typed screens
  (``configs/scanners/<class>/*.json`` with ``extends`` presets);
- :mod:`clusterfolio.discovery.columns`: TradingView screener columns computed locally from
  daily candles (daily, ``|1W`` and ``|1M``, previous-bar ``[1]`` columns);
- :mod:`clusterfolio.discovery.remote`: the same screens evaluated by a provider's remote
  scanner (TradingView), the rows normalised into the same exports and screener table;
- :mod:`clusterfolio.discovery.evaluate`: local evaluation of a screen on a screener table, one
  :class:`~clusterfolio.discovery.evaluate.ScanExport` per scanner;
- :mod:`clusterfolio.discovery.identity`: ``EXCHANGE:TICKER`` grammar and economic identities
  (venue neutrality);
- :mod:`clusterfolio.discovery.scoring`: the Alpha Discovery Score;
- :mod:`clusterfolio.discovery.pool`: the raw pool (identity merging, lead listings,
  implementation alternatives, direction conflicts, per-class caps, decision trail).
"""
