"""The accepted state: the last implemented portfolio, ``<lakehouse>/portfolio_actual_state.json``.

``accept-state`` snapshots one profile's target weights as the portfolio now held, with the
quantities they buy at the run's prices (``quantities``, ``prices``, ``capital``); ``holdings
import`` writes a broker's positions (``source: holdings``). A state written before quantities
were kept (weights only) is still read: its quantities are derived at today's prices. The previous
snapshot is kept as a dated backup (``portfolio_actual_state.<as_of>.json``, the as-of date of the
snapshot it preserves; ``portfolio_actual_state.<as_of>.<n>.json`` when that name is taken by a
different snapshot). Writes, the backup included, are atomic: the backup is written before the
new state replaces the old one, so a crash leaves either the old state (and maybe its backup) or
the new state and the backup.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from clusterfolio.artifacts.state import ACCEPTED_STATE_BACKUP_PREFIX, ACCEPTED_STATE_FILE
from clusterfolio.errors import AuditError, DataError
from clusterfolio.io import atomic_write_bytes, atomic_write_json, read_json


def state_path(lakehouse_root: Path) -> Path:
    """Path of the accepted state."""
    return lakehouse_root / ACCEPTED_STATE_FILE


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


def backups(lakehouse_root: Path) -> list[Path]:
    """The dated backups of earlier accepted states, sorted by name."""
    return sorted(
        p
        for p in Path(lakehouse_root).glob(f"{ACCEPTED_STATE_BACKUP_PREFIX}*.json")
        if p.name != ACCEPTED_STATE_FILE
    )


def _backup_path(lakehouse_root: Path, as_of: str, content: bytes) -> Path:
    """A free dated name for a backup of ``content`` (an identical backup is reused)."""
    candidate = lakehouse_root / f"{ACCEPTED_STATE_BACKUP_PREFIX}{as_of}.json"
    n = 2
    while candidate.exists() and candidate.read_bytes() != content:
        candidate = lakehouse_root / f"{ACCEPTED_STATE_BACKUP_PREFIX}{as_of}.{n}.json"
        n += 1
    return candidate


def _backup_previous(lakehouse_root: Path) -> None:
    """Keep the current state (if any) as a dated backup before it is replaced."""
    path = state_path(lakehouse_root)
    previous = load_state(lakehouse_root)
    if previous is not None:
        content = path.read_bytes()
        atomic_write_bytes(
            _backup_path(lakehouse_root, str(previous.get("as_of") or "unknown"), content),
            content,
        )


def save_state(lakehouse_root: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` as the accepted state (the previous one kept as a dated backup).

    Raises
    ------
    DataError
        When ``state`` has no ``weights`` mapping or a weight is not finite.
    """
    weights = state.get("weights")
    if not isinstance(weights, dict):
        raise DataError("an accepted state needs a 'weights' mapping")
    bad = sorted(k for k, v in weights.items() if not math.isfinite(float(v)))
    if bad:
        raise DataError(f"accepted state has non-finite weights for {bad}")
    _backup_previous(lakehouse_root)
    path = state_path(lakehouse_root)
    atomic_write_json(path, state)
    return path


def accept(
    lakehouse_root: Path,
    portfolio: dict[str, Any],
    *,
    profile: str,
    run_id: str,
    audit_passed: bool,
    audit: dict[str, Any] | None = None,
    holdings: dict[str, Any] | None = None,
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
    audit : dict, optional
        Provenance of that verdict (input hashes, counts), stored with the state.
    holdings : dict, optional
        The money side stored with the weights (``quantities``, ``prices``, ``capital``,
        ``base_currency``, ``asset_classes``): the state keeps quantities, not only weights.

    Returns
    -------
    Path
        The state file.

    Raises
    ------
    AuditError
        When ``audit_passed`` is False.
    DataError
        When ``profile`` is not in the portfolio or holds a non-finite weight.
    """
    if not audit_passed:
        raise AuditError(f"run {run_id} failed its audit: its portfolio must not be accepted")
    profiles = portfolio.get("profiles", {})
    if profile not in profiles:
        raise DataError(f"profile {profile!r} not in the portfolio; profiles: {sorted(profiles)}")
    chosen = profiles[profile]
    bad = sorted(
        str(a.get("symbol"))
        for a in chosen["assets"]
        if not all(
            isinstance(a.get(k), int | float) and math.isfinite(a[k]) for k in ("net", "gross")
        )
    )
    if bad:
        raise DataError(f"profile {profile!r} has non-finite weights for {bad}")
    path = state_path(lakehouse_root)
    _backup_previous(lakehouse_root)
    state: dict[str, Any] = {
        "as_of": portfolio.get("as_of"),
        "run_id": run_id,
        "profile": profile,
        "weights": {a["symbol"]: a["net"] for a in chosen["assets"] if abs(a["net"]) > 0},
        "gross_weights": {a["symbol"]: a["gross"] for a in chosen["assets"] if a["gross"] > 0},
    }
    if audit is not None:
        state["audit"] = audit
    if holdings is not None:
        state.update(holdings)
    atomic_write_json(path, state)
    return path
