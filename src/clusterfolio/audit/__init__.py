"""Audit: weight, cluster, barbell and data checks; accepted state; drift."""
