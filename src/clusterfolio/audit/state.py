"""The accepted state: the last implemented portfolio, ``<lakehouse>/portfolio_actual_state.json``.

``accept-state`` snapshots one profile's target weights as the portfolio now held; the previous
snapshot is kept as a dated backup (``portfolio_actual_state.<as_of>.json``). Writes are atomic.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from clusterfolio.errors import AuditError, DataError
from clusterfolio.io import atomic_write_json, read_json

STATE_FILE = "portfolio_actual_state.json"


def state_path(lakehouse_root: Path) -> Path:
    """Path of the accepted state."""
    return lakehouse_root / STATE_FILE


def load_state(lakehouse_root: Path) -> dict[str, Any] | None:
    """The accepted state, or None when nothing was accepted yet."""
    path = state_path(lakehouse_root)
    if not path.exists():
        return None
    state = read_json(path)
    if not isinstance(state, dict) or "weights" not in state:
        raise DataError(f"{path}: not an accepted state (no 'weights')")
    return state


def held_weights(lakehouse_root: Path) -> dict[str, float] | None:
    """Net weights held (symbol -> weight), or None."""
    state = load_state(lakehouse_root)
    if state is None:
        return None
    return {str(k): float(v) for k, v in state["weights"].items()}


def accept(
    lakehouse_root: Path,
    portfolio: dict[str, Any],
    *,
    profile: str,
    run_id: str,
    audit_passed: bool,
) -> Path:
    """Snapshot ``profile`` of an optimised portfolio as the accepted state.

    Parameters
    ----------
    lakehouse_root : Path
        Folder of the state file.
    portfolio : dict
        The ``portfolio_optimized.json`` document.
    profile : str
        The profile implemented.
    run_id : str
        The run it comes from.
    audit_passed : bool
        The audit verdict of that run; a failed audit is never accepted.

    Returns
    -------
    Path
        The state file.
    """
    if not audit_passed:
        raise AuditError(f"run {run_id} failed its audit: its portfolio must not be accepted")
    profiles = portfolio.get("profiles", {})
    if profile not in profiles:
        raise DataError(f"profile {profile!r} not in the portfolio; profiles: {sorted(profiles)}")
    chosen = profiles[profile]
    path = state_path(lakehouse_root)
    previous = load_state(lakehouse_root)
    if previous is not None:
        backup = lakehouse_root / f"portfolio_actual_state.{previous.get('as_of', 'unknown')}.json"
        shutil.copyfile(path, backup)
    state = {
        "as_of": portfolio.get("as_of"),
        "run_id": run_id,
        "profile": profile,
        "weights": {a["symbol"]: a["net"] for a in chosen["assets"] if abs(a["net"]) > 0},
        "gross_weights": {a["symbol"]: a["gross"] for a in chosen["assets"] if a["gross"] > 0},
    }
    atomic_write_json(path, state)
    return path
