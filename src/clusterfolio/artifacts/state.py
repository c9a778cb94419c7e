"""The files kept in the lakehouse across runs (two different states, two different names).

- the **accepted state** ``<lakehouse>/portfolio_actual_state.json``: the last implemented
  portfolio (``accept-state``), with timestamped backups beside it;
- the **sync state** ``<lakehouse>/<source>/_sync_state.json``: what the lakehouse stores per
  listing of one source (first and last session, fetch notes in ``_sync_notes.json``).
"""

ACCEPTED_STATE_FILE = "portfolio_actual_state.json"
ACCEPTED_STATE_BACKUP_PREFIX = "portfolio_actual_state."
SYNC_STATE_FILE = "_sync_state.json"
SYNC_NOTES_FILE = "_sync_notes.json"
