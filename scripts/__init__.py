"""Thin shims for the commands the runbook names."""
