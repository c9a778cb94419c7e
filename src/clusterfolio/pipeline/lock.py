"""The project lock: one run, staged command, clean or acceptance at a time per checkout.

``<project root>/.clusterfolio.lock`` is created exclusively (``O_CREAT | O_EXCL``) and holds who
took it: process id, its start time, host, command, run id and when. A second taker gets
:class:`RunLockedError` ("run X in progress since T"). A lock whose process is gone (killed)
is *stale*: it is detected (no such process on this host, or another process now has that id)
and taken over, and the takeover is reported. The holding process may take the lock again
(nested commands share it).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from clusterfolio.errors import PipelineError, RunRefusedError

__all__ = ["LOCK_NAME", "LockInfo", "ProjectLock", "RunLockedError"]

LOCK_NAME = ".clusterfolio.lock"


class RunLockedError(RunRefusedError):
    """Another live process holds the project lock."""


def _process_start(pid: int) -> str:
    """Start time of ``pid`` in clock ticks since boot (Linux); ``""`` when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""
    return stat.rpartition(")")[2].split()[19]


@dataclass
class LockInfo:
    """Who holds the lock."""

    pid: int
    host: str
    what: str
    run_id: str = ""
    started_at: str = ""
    process_start: str = ""
    command: list[str] = field(default_factory=list)

    @classmethod
    def mine(cls, what: str, run_id: str) -> LockInfo:
        """The record of the calling process."""
        pid = os.getpid()
        return cls(
            pid=pid,
            host=socket.gethostname(),
            what=what,
            run_id=run_id,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            process_start=_process_start(pid),
            command=list(sys.argv),
        )

    def alive(self) -> bool:
        """Whether the holder still runs (a lock of another host is assumed alive)."""
        if self.host != socket.gethostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        now = _process_start(self.pid)
        return not (self.process_start and now and now != self.process_start)

    def describe(self) -> str:
        """``run X in progress since T (pid N, command)``."""
        subject = f"run {self.run_id}" if self.run_id else self.what
        return f"{subject} in progress since {self.started_at} (pid {self.pid}, {self.what})"


class ProjectLock:
    """The lock of one project checkout (a context manager).

    Parameters
    ----------
    project_root : Path
        The project (``data/``, ``configs/`` live there).
    what : str
        What takes it (``run``, ``clean``, ``accept-state`` ...), shown to a second taker.
    run_id : str
        The run concerned, when there is one.
    """

    def __init__(self, project_root: Path, what: str, run_id: str = "") -> None:
        self.path = Path(project_root) / LOCK_NAME
        self.what = what
        self.run_id = run_id
        self.notice = ""
        self._owned = False

    def holder(self) -> LockInfo | None:
        """The current holder (``None``: free; an unreadable lock reads as a dead holder)."""
        try:
            raw: Any = json.loads(self.path.read_text(encoding="utf-8"))
            return LockInfo(**raw)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError):
            return LockInfo(pid=-1, host=socket.gethostname(), what="unreadable lock")

    def acquire(self) -> ProjectLock:
        """Take the lock, taking over a stale one (see :attr:`notice`).

        Raises
        ------
        RunLockedError
            Another live process holds it.
        """
        mine = LockInfo.mine(self.what, self.run_id)
        for _ in range(3):
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                held = self.holder()
                if held is None:
                    continue
                if held.pid == mine.pid and held.host == mine.host:
                    return self  # nested: the outer taker releases it
                if held.alive():
                    raise RunLockedError(
                        f"{held.describe()}: wait for it to finish (lock {self.path})"
                    ) from None
                self.notice = f"stale lock removed: {held.describe()}, but that process is gone"
                with suppress(FileNotFoundError):
                    self.path.unlink()
                continue
            except OSError as exc:
                raise PipelineError(
                    f"cannot take the project lock {self.path}: {exc.strerror or exc} "
                    "(is the project folder read-only or the disk full?)"
                ) from None
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(asdict(mine), handle)
            self._owned = True
            return self
        raise RunLockedError(f"could not take the project lock {self.path}")

    def release(self) -> None:
        """Give the lock back (only when this object took it)."""
        if self._owned:
            with suppress(FileNotFoundError):
                self.path.unlink()
            self._owned = False

    def __enter__(self) -> ProjectLock:
        return self.acquire()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
