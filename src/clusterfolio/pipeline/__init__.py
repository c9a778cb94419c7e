"""Orchestration: step registry, run context, run ledger and resume."""
