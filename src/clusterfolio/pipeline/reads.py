"""What a data step read from the lakehouse, and whether it would read the same again.

A step that reads candles records its *read set* on its context (:class:`ReadSet`): for each
listing, the window of sessions it synced or read (``start`` to the run's as-of date, namespace:
the run's source), the gap ranges it asked the provider for through the sync state, and whether
it asked the provider for something live that no sync state remembers (a remote screener). The
ledger keeps the read set and a *read signature*: a SHA-256 over each listing's stored bars
inside its window, taken when the step finished (:meth:`LakeView.signature`).

A step of a same-day rerun is reused only when its read set would give the same data again
(:meth:`LakeView.why_changed`):

1. no sync of it would ask the provider for anything (:func:`~clusterfolio.data.sync.missing_ranges`
   empty for every synced window, every asked gap range covered by the sync state, no file
   shorter than the sync state says it stored), and nothing live was asked;
2. the stored bars inside each window are unchanged (the signature recomputed from the lakehouse
   now equals the recorded one).

Why windows, not whole files: the steps after discovery extend the stored history of listings
backwards (the deep pass to 500 sessions, the tournament to its whole history), so a whole-file
signature of what discovery read would change during every run. Why at the step's end, not at
the run's end: a bar that a later step adds *inside* an earlier step's window (a gap the deep
pass fetched again) was not seen by the earlier step; signing at the run's end would claim it
was, and reuse an artifact computed without it. Signed at the step's end, the earlier step
reruns on the next run and sees it. Bars after the as-of date are outside every window (a step
never reads them: point in time).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clusterfolio.data.lakehouse import Coverage, Lakehouse
from clusterfolio.data.sync import SyncState, missing_ranges, stored_bars_lost
from clusterfolio.errors import DataError
from clusterfolio.io import canonical_json, sha256_text

__all__ = ["LakeView", "ReadSet"]


class ReadSet:
    """The lakehouse reads of one step, collected while it runs (``ctx.reads``)."""

    def __init__(self) -> None:
        self.windows: dict[tuple[str, str, bool], set[str]] = {}
        self.asked: set[tuple[str, str, str]] = set()
        self.live = ""

    def __bool__(self) -> bool:
        return bool(self.windows or self.asked or self.live)

    def window(self, symbols: Iterable[str], start: date, last: date, *, synced: bool) -> None:
        """Record that ``symbols`` were read from ``start`` on (``last``: the window's last
        expected session; ``synced``: a sync of that window ran first)."""
        key = (start.isoformat(), last.isoformat(), synced)
        self.windows.setdefault(key, set()).update(symbols)

    def ask(self, symbol: str, start: date, end: date) -> None:
        """Record a range asked for through the sync state (a gap fetched again)."""
        self.asked.add((symbol, start.isoformat(), end.isoformat()))

    def ask_live(self, why: str) -> None:
        """Record a provider request no sync state remembers (the step is never reused)."""
        self.live = why

    def to_record(self, signature: str) -> dict[str, Any]:
        """The ledger form, with the read signature."""
        if not self:
            return {}
        return {
            "windows": [
                {"start": s, "last": last, "synced": synced, "symbols": sorted(symbols)}
                for (s, last, synced), symbols in sorted(self.windows.items())
            ],
            "asked": [list(a) for a in sorted(self.asked)],
            "live": self.live,
            "signature": signature,
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> ReadSet:
        """Inverse of :meth:`to_record` (the signature is read with ``data["signature"]``)."""
        out = cls()
        for w in data.get("windows", []):
            key = (str(w["start"]), str(w["last"]), bool(w["synced"]))
            out.windows.setdefault(key, set()).update(str(s) for s in w["symbols"])
        out.asked = {(str(a[0]), str(a[1]), str(a[2])) for a in data.get("asked", [])}
        out.live = str(data.get("live", ""))
        return out

    def symbols(self) -> set[str]:
        """Every listing read."""
        return set().union(*self.windows.values()) if self.windows else set()


class LakeView:
    """The run's lakehouse as one freshness pass sees it: each file read at most once.

    Parameters
    ----------
    lake : Lakehouse
        The run's source namespace.
    state_path : Path
        Its ``_sync_state.json``.
    as_of : date
        The run's date: every window ends there.
    """

    def __init__(self, lake: Lakehouse, state_path: Path, as_of: date) -> None:
        self.lake = lake
        self.state_path = state_path
        self.as_of = as_of
        self._frames: dict[str, pd.DataFrame | DataError] = {}
        self._digests: dict[tuple[str, str], str] = {}
        self._state: SyncState | None = None

    def _frame(self, symbol: str) -> pd.DataFrame | DataError:
        if symbol not in self._frames:
            try:
                self._frames[symbol] = self.lake.read(symbol, missing_ok=True)
            except DataError as exc:
                self._frames[symbol] = exc
        return self._frames[symbol]

    def preload(self, symbols: Iterable[str]) -> None:
        """Read the files of ``symbols`` not read yet, concurrently."""
        todo = sorted(set(symbols) - set(self._frames))
        # on a failure, each file is read alone on demand and keeps its own error
        with contextlib.suppress(DataError):
            self._frames.update(self.lake.read_many(todo, missing_ok=True))

    def digest(self, symbol: str, start: str) -> str:
        """SHA-256 of the stored bars of ``symbol`` from ``start`` to the as-of date."""
        key = (symbol, start)
        if key not in self._digests:
            frame = self._frame(symbol)
            if isinstance(frame, DataError):
                self._digests[key] = f"unreadable: {frame}"
            else:
                sessions = frame["session"]
                inside = frame[
                    (sessions >= pd.Timestamp(start)) & (sessions <= pd.Timestamp(self.as_of))
                ]
                h = hashlib.sha256()
                for column in inside.columns:
                    values = inside[column].to_numpy()
                    if values.dtype.kind == "M":
                        values = values.astype("datetime64[ns]").view("i8")
                    h.update(column.encode())
                    h.update(np.ascontiguousarray(values).tobytes())
                self._digests[key] = h.hexdigest()
        return self._digests[key]

    def signature(self, reads: ReadSet) -> str:
        """SHA-256 over every read listing's bars inside its windows (``""``: nothing read)."""
        if not reads.windows:
            return ""
        self.preload(reads.symbols())
        rows = sorted(
            {
                (s, start, self.digest(s, start))
                for (start, _, _), ss in reads.windows.items()
                for s in ss
            }
        )
        return sha256_text(canonical_json([list(r) for r in rows]))

    @property
    def state(self) -> SyncState:
        """The sync state (read once)."""
        if self._state is None:
            self._state = SyncState(self.state_path)
        return self._state

    def _coverage(self, symbol: str) -> Coverage:
        frame = self._frame(symbol)
        if isinstance(frame, DataError):
            raise frame
        if frame.empty:
            return Coverage(None, None, 0)
        sessions = frame["session"]
        return Coverage(sessions.iloc[0].date(), sessions.iloc[-1].date(), len(frame))

    def _would_fetch(self, symbol: str, start: str, last: str) -> bool:
        """Whether a sync of ``symbol`` over ``[start, last]`` would ask the provider."""
        cov = self._coverage(symbol)
        if stored_bars_lost(symbol, cov, self.state):
            return True  # a sync forgets the state and fetches the listing again
        a, b = date.fromisoformat(start), date.fromisoformat(last)
        return bool(missing_ranges(symbol, cov, a, b, self.as_of, self.state))

    def why_changed(self, data: dict[str, Any]) -> str:
        """Why a recorded read set would not read the same now (``""``: it would).

        Parameters
        ----------
        data : dict
            The ledger's record (:meth:`ReadSet.to_record`).
        """
        reads = ReadSet.from_record(data)
        if reads.live:
            return f"it asked the provider live ({reads.live})"
        self.preload(reads.symbols())
        try:
            for (start, last, synced), symbols in sorted(reads.windows.items()):
                fetch = [s for s in sorted(symbols) if synced and self._would_fetch(s, start, last)]
                if fetch:
                    return f"its sync would ask the provider for {_names(fetch)}"
        except DataError as exc:
            return f"a listing it read is unreadable now ({exc})"
        gaps = sorted(a[0] for a in reads.asked if not self.state.covers(a[0], *_dates(a)))
        if gaps:
            return f"gaps it fetched would be asked for again ({_names(gaps)})"
        if self.signature(reads) != data.get("signature", ""):
            return f"stored bars inside the windows of the {len(reads.symbols())} listings it read changed"
        return ""


def _dates(asked: tuple[str, str, str]) -> tuple[date, date]:
    return date.fromisoformat(asked[1]), date.fromisoformat(asked[2])


def _names(symbols: list[str]) -> str:
    head = ", ".join(symbols[:5])
    return head + (f" and {len(symbols) - 5} more" if len(symbols) > 5 else "")
