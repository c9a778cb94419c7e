"""Health audit artifacts (step 8)."""

HEALTH_JSON = "data_health.json"
"""Per-symbol health status, gaps, repairs and the strict gate's verdict."""
HEALTH_MD = "data_health.md"
"""The health audit, for people."""
UNIVERSE = "universe.json"
"""The implementation universe: the symbols every later step may hold."""
