"""Price and return matrices (Parquet, one column per symbol, the union of sessions as index).

The light pass (step 4) covers the raw pool, the deep pass (step 7) the winners; the health
audit (step 8) writes the audited matrices every later step reads. Each pass also writes what it
synchronised (``sync_*.json``).
"""

LIGHT_RETURNS = "returns_light.parquet"
LIGHT_PRICES = "prices_light.parquet"
LIGHT_SYNC = "sync_light.json"
DEEP_RETURNS = "returns_deep.parquet"
DEEP_PRICES = "prices_deep.parquet"
DEEP_SYNC = "sync_deep.json"
RETURNS = "returns.parquet"
"""The audited return matrix of the implementation universe (steps 9 to 13, the audit)."""
PRICES = "prices.parquet"
"""The audited close prices (the orders' reference prices)."""
