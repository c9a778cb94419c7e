"""Audit: weight, cluster, barbell and data checks; accepted state; drift.

Public API (import from the submodules; nothing is imported here, so that reading the accepted
state stays cheap):

* :mod:`clusterfolio.audit.checks` - :func:`~clusterfolio.audit.checks.audit_portfolio` (pure)
  returning an :class:`~clusterfolio.audit.checks.AuditReport` of
  :class:`~clusterfolio.audit.checks.AuditCheck` (``to_json_dict``, ``to_markdown``, ``passed``),
  and :func:`~clusterfolio.audit.checks.market_beta`.
* :mod:`clusterfolio.audit.drift` - :func:`~clusterfolio.audit.drift.drift` returning a
  :class:`~clusterfolio.audit.drift.DriftReport` (lines, churn, dust, ``orders_csv``) and
  :func:`~clusterfolio.audit.drift.write_drift`.
* :mod:`clusterfolio.audit.state` - the accepted state: ``accept``, ``load_state``,
  ``held_weights``, ``backups``.
* :mod:`clusterfolio.audit.gate` - the same over a run directory: ``load_run_inputs``,
  ``audit_run`` (writes ``audit.json`` / ``audit.md``), ``current_verdict``, ``accept_run``,
  ``drift_run``.

The commands ``clusterfolio audit``, ``accept-state`` and ``drift`` are in
:mod:`clusterfolio.cli_audit`.
"""
