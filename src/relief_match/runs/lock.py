"""One lock per output directory, so two runs never write the same OUT at once.

The lock is an ``flock`` on ``OUT/.relief-match.lock`` (the ``filelock``
package): the kernel releases it when the holding process ends, however it
ends, so there is never a stale lock to clean up by hand. Beside it,
``OUT/.relief-match.lock.json`` records the holder (PID, command, start time,
run id) for the message the second process prints; it may outlive its
holder and is only information.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from filelock import FileLock, Timeout

from relief_match.errors import OutputLockedError
from relief_match.runs.files import SHARED, read_json, write_json

LOCK_NAME = ".relief-match.lock"
HOLDER_NAME = ".relief-match.lock.json"


def pid_alive(pid: object) -> bool:
    """Whether a process with this PID exists (on this host)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder(out: Path) -> dict[str, Any] | None:
    """What the lock's sidecar says about the last process that took the lock."""
    return read_json(out / HOLDER_NAME)


@dataclass
class OutputLock:
    """``with OutputLock(out, "run"):`` holds ``out``'s lock or raises :class:`OutputLockedError`."""

    out: Path
    command: str
    run_id: str | None = None
    _lock: FileLock | None = field(default=None, repr=False)

    def __enter__(self) -> OutputLock:
        self._lock = FileLock(
            str(self.out / LOCK_NAME),
            timeout=0,
            mode=0o600,
            thread_local=False,
            preserve_lock_file=True,  # deleting it on release would let two runs lock two inodes
        )
        try:
            self._lock.acquire()
        except Timeout:
            raise OutputLockedError(self._busy_message()) from None
        self.note()
        return self

    def note(self, run_id: str | None = None) -> None:
        """Record this process as the holder (and, once known, its run id)."""
        if run_id is not None:
            self.run_id = run_id
        write_json(
            self.out / HOLDER_NAME,
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "command": self.command,
                "run_id": self.run_id,
                "since": datetime.now().isoformat(timespec="seconds"),
            },
            SHARED,
        )

    def _busy_message(self) -> str:
        h = holder(self.out) or {}
        who = f"PID {h.get('pid', '?')}"
        if h.get("command"):
            who += f", relief-match {h['command']}"
        if h.get("since"):
            who += f", started {h['since']}"
        if h.get("run_id"):
            who += f", run {h['run_id']}"
        return (
            f"another relief-match process ({who}) is writing to {self.out};"
            " this one stops without touching it"
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
