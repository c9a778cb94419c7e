"""Data layer: providers, lakehouse, calendars, health and repair."""
